"""What changes: `tfgen diff` (a render against out/ENV) and `tfgen affected` (roots changed since a git revision)."""
