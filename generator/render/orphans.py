"""Nothing orphaned: a team root leaves out/ENV only after a render that emptied it.

A root's folder holds its backend: the only way to the state that tracks its resources.
Removing the root while that state still holds them leaves them in AWS, unmanaged, with
nothing left to destroy them. So a team keeps its root while it is in the YAML, emptied
(versions, providers, backend, and `emptied.tf`, no resources) once it has no project left to
manage: its apply destroys what the state holds. A team deleted from the YAML may take its
root with it only if the root's last render, as the manifest records it, was such an emptied
one; otherwise render refuses, and says how to take the team out in two steps.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from generator.errors import TfgenError
from generator.render.templates import EMPTIED, Rendered
from generator.render.tree import MANIFEST, Tree, renderable


def orphaned_roots(rendered: Rendered, previous: Iterable[str]) -> list[str]:
    """The team roots the previous render wrote (the paths its manifest lists) that this one
    drops while their last render was not an emptied one. Paths render never writes are the
    writer's to refuse."""
    before: dict[str, set[str]] = {}
    for path in previous:
        root, _, name = path.rpartition("/")
        if root.startswith("teams/") and renderable(path):
            before.setdefault(root, set()).add(name)
    now = set(rendered.roots())
    return sorted(root for root, names in before.items() if root not in now and EMPTIED not in names)


def refuse_orphans(targets: list[tuple[Rendered, Path]]) -> list[tuple[Rendered, Path]]:
    """The targets as they are, or TfgenError naming each team root that would be orphaned."""
    for rendered, out_env in targets:
        orphaned = orphaned_roots(rendered, previous_paths(out_env))
        if orphaned:
            raise TfgenError(_refusal(rendered, out_env, orphaned))
    return targets


def previous_paths(out_env: Path) -> list[str]:
    """The paths the committed manifest lists, read without following a link. Whatever keeps it
    from being read (no manifest, a link, not one, too deep) is left to the writer, which
    refuses it in its own words: this check never speaks first."""
    try:
        tree = Tree.opened(out_env, create=False)
        if tree is None:
            return []
        try:
            entry = tree.entry(MANIFEST)
        finally:
            tree.close()
        files = json.loads(entry.data or b"")["files"] if entry.kind == "file" else {}
    except (OSError, TfgenError, ValueError, KeyError, TypeError, RecursionError):
        return []
    return [path for path in files if isinstance(path, str)] if isinstance(files, dict) else []


def _refusal(rendered: Rendered, out_env: Path, orphaned: list[str]) -> str:
    teams = [root.split("/", 1)[1] for root in orphaned]
    if rendered.protected:
        first = ("keep it in the YAML with each of its projects marked `retired: true` (their images, model "
                 "versions and logs stay in AWS), render, and apply its root: the apply destroys the rest")
    else:
        first = (f"keep it in the YAML with no projects ({teams[0]}: {{}}) or with each project marked "
                 "`retired: true`, render, and apply its root: emptied (its backend, no resources), its apply "
                 "destroys what its state holds")
    return (f"refusing to render {rendered.env}: {'team ' if len(teams) == 1 else 'teams '}{', '.join(teams)} "
            f"{'is' if len(teams) == 1 else 'are'} no longer in the YAML, but the last render of "
            f"{'its root' if len(teams) == 1 else 'their roots'} still managed resources:\n"
            + "".join(f"  {out_env / root}\n" for root in orphaned)
            + "Removing a root would leave what its state holds in AWS, unmanaged, with nothing left to destroy "
              f"it. Take a team out in two steps:\n  1. {first};\n  2. once `terraform state list` in its root "
              "prints nothing, delete the team from the YAML and render again: render then removes the root "
              "(docs/safety.md, \"Nothing orphaned\").")
