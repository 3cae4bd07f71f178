"""What changes, and where it is planned: `tfgen diff` (a render against out/ENV), `tfgen affected` (roots
changed since a git revision) and `tfgen atlantis` (the repository's atlantis.yaml)."""
