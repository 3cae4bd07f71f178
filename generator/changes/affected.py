"""tfgen affected: the Terraform roots whose rendered files differ from a git revision, so
a CI matrix plans and applies only those, each with its own state."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from generator.changes.git import run_git
from generator.errors import TfgenError
from generator.read.sources import read_by_terraform


class UnknownRevision(TfgenError):
    """A --base git cannot resolve: a usage error (exit 2), not a failed command."""

    exit_code = 2


@dataclass(frozen=True)
class AffectedRoot:
    root: str  # e.g. out/prod/teams/rc
    env: str
    status: str  # "changed", "added" or "removed"


def _run_git(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return run_git(args, cwd, "`tfgen affected` compares out/ with a git revision")


def _git(args: list[str], cwd: Path) -> str:
    completed = _run_git(args, cwd)
    if completed.returncode != 0:
        raise TfgenError(f"git {' '.join(args)}: {completed.stderr.strip()}")
    return completed.stdout


def root_of(path: str, out_dir: str) -> tuple[str, str] | None:
    """(root, env) of a file under out/, or None for files outside any root (the manifest)."""
    parts = Path(path).parts
    base = len(Path(out_dir).parts)
    if len(parts) < base + 3 or parts[:base] != Path(out_dir).parts:
        return None
    env, kind = parts[base], parts[base + 1]
    if kind == "platform":
        return str(Path(*parts[: base + 2])), env
    if kind == "teams" and len(parts) >= base + 4:
        return str(Path(*parts[: base + 3])), env
    return None


def affected(base: str, out_dir: Path) -> list[AffectedRoot]:
    top = Path(_git(["rev-parse", "--show-toplevel"], out_dir if out_dir.is_dir() else Path.cwd()).strip())
    relative = str(out_dir.resolve().relative_to(top))
    check = _run_git(["rev-parse", f"{base}^{{commit}}", "--"], top)
    if base.startswith("-") or check.returncode != 0:
        reason = check.stderr.strip().splitlines()[-1].removeprefix("fatal: ").replace("^{commit}", "") \
            if check.stderr.strip() else "not a revision"
        raise UnknownRevision(f"--base {base}: {reason} (git cannot find a commit named {base!r}; fetch it, or "
                              "give a branch, tag or commit that exists)")
    changed = _git(["diff", "--name-status", "--no-renames", base, "--", relative], top).splitlines()
    # A file not yet committed changes a root only if Terraform reads it: a local plan
    # (tfplan, plan.json) or a note beside the root's files does not.
    changed += [f"A\t{p}" for p in _git(["ls-files", "--others", "--exclude-standard", "--", relative], top).splitlines()
                if read_by_terraform(PurePosixPath(p).name) and root_of(p, relative) is not None
                and str(PurePosixPath(p).parent) == root_of(p, relative)[0]]
    before = {root_of(p, relative) for p in _git(["ls-tree", "-r", "--name-only", base, "--", relative], top).splitlines()}
    now = {root_of(p, relative) for p in _git(["ls-files", "--", relative], top).splitlines()}
    now |= {root_of(line.split("\t", 1)[1], relative) for line in changed if line.startswith("A")}
    roots: dict[str, AffectedRoot] = {}
    for line in changed:
        status, path = line.split("\t", 1)
        found = root_of(path, relative)
        if found is None or path.endswith((".tfstate", ".terraform.lock.hcl")):
            continue
        root, env = found
        if found not in before:
            kind = "added"
        elif found not in now or not (top / root).is_dir() or not any((top / root).glob("*.tf")):
            kind = "removed"
        else:
            kind = "changed"
        roots[root] = AffectedRoot(root, env, kind)
    return sorted(roots.values(), key=lambda r: (r.env, r.root != f"{relative}/{r.env}/platform", r.root))
