"""Which files Terraform reads in a folder, and what tfgen's manifest says of each under out/ENV.

Terraform's "Files and Directories" and "Override Files": a root (a module) is every `.tf`
and `.tf.json` file directly in its folder, never those of a subfolder (a subfolder is another
module, read only when a module call names it); `override.tf`, `override.tf.json`,
`*_override.tf` and `*_override.tf.json` are skipped at first and then merged over the others,
one file after another in lexicographical order. Terraform ignores names that start with `.`,
end with `~`, or start and end with `#` (editors' files: its configs package, IsIgnoredFile),
and loads `terraform.tfvars`, `terraform.tfvars.json` and `*.auto.tfvars(.json)` unasked.

`read_sources` lists every such file in every folder under out/ENV (`.terraform/` aside:
terraform's own downloads), each with the hash of its bytes, and the manifest render wrote
(`.tfgen-manifest.json`: the hash of each file it wrote), so that the gate can tell whether
what Terraform would read is what tfgen rendered. State, lock files, plans and anything else
Terraform does not read as configuration are not listed.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from generator.render.tree import MANIFEST

_CONFIGURATION = (".tf", ".tf.json")
_VARIABLES = (".auto.tfvars", ".auto.tfvars.json")


def ignored(name: str) -> bool:
    """A name Terraform skips in a module's folder: hidden files and editors' backups."""
    return name.startswith(".") or name.endswith("~") or (name.startswith("#") and name.endswith("#"))


def configuration(name: str) -> bool:
    """A file Terraform reads as part of the module in its folder."""
    return name.endswith(_CONFIGURATION) and not ignored(name)


def override(name: str) -> bool:
    """One of Terraform's override files (merged over the others), by its name."""
    stem = name.removesuffix(".json").removesuffix(".tf")
    return stem == "override" or stem.endswith("_override")


def read_by_terraform(name: str) -> bool:
    """Configuration, or a file of variable values Terraform loads without being asked."""
    return configuration(name) or (not ignored(name) and (
        name in ("terraform.tfvars", "terraform.tfvars.json") or name.endswith(_VARIABLES)))


def configuration_files(folder: Path) -> list[Path]:
    """The configuration files of one folder in the order Terraform takes them: the others by
    name, then the override files by name (each merged over what came before)."""
    try:
        # A link to a file counts: terraform follows it.
        names = sorted(entry.name for entry in os.scandir(folder) if configuration(entry.name) and entry.is_file())
    except OSError:
        return []
    return [folder / name for name in names if not override(name)] + [folder / name for name in names if override(name)]


def configuration_folders(out_env: Path) -> list[str]:
    """Every folder under out_env that holds configuration (out_env itself "."), `.terraform/`
    not entered, links not followed: each is a module Terraform could be run in or called with."""
    found = []
    for folder, folders, files in os.walk(out_env):
        folders[:] = sorted(name for name in folders if name != ".terraform")
        if any(configuration(name) for name in files):
            found.append(os.path.relpath(folder, out_env).replace(os.sep, "/"))
    return sorted(found)


@dataclass(frozen=True)
class Source:
    path: str  # relative to out/ENV
    kind: str  # "file", "link" (a symbolic link Terraform would follow), "folder link", "other" (a pipe...)
    sha256: str | None = None  # a regular file's


@dataclass
class Sources:
    """What Terraform reads under out/ENV, and the manifest's word on it."""
    files: list[Source] = field(default_factory=list)
    manifest: dict[str, str] | None = None  # {path: sha256} of the files render wrote; None when unreadable
    problem: str | None = None  # why the manifest cannot be read


def read_sources(out_env: Path) -> Sources:
    sources = Sources()
    sources.manifest, sources.problem = _manifest(out_env / MANIFEST)
    _walk(out_env, "", sources.files)
    return sources


def _walk(folder: Path, relative: str, found: list[Source]) -> None:
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError:
        return
    for entry in entries:
        path = f"{relative}/{entry.name}" if relative else entry.name
        if entry.is_symlink():
            if read_by_terraform(entry.name):
                found.append(Source(path, "link"))
            elif entry.is_dir() and entry.name != ".terraform":  # a folder elsewhere, run or called as one of out/ENV's
                found.append(Source(path, "folder link"))
        elif entry.is_dir():
            if entry.name != ".terraform":
                _walk(Path(entry.path), path, found)
        elif read_by_terraform(entry.name):
            digest = _sha256(Path(entry.path))
            found.append(Source(path, "file" if digest else "other", digest))


def _sha256(path: Path) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None  # a pipe or a device: never read
        return hashlib.sha256(handle.read()).hexdigest()


def _manifest(path: Path) -> tuple[dict[str, str] | None, str | None]:
    if path.is_symlink():
        return None, f"{MANIFEST} is a symbolic link, not the manifest tfgen writes"
    try:
        files = json.loads(path.read_bytes())["files"]
        return {str(name): str(digest) for name, digest in dict(files).items()}, None
    except FileNotFoundError:
        return None, f"{MANIFEST} is missing: no file here is known to be one tfgen rendered"
    except OSError as exc:
        return None, f"{MANIFEST} cannot be read ({exc.strerror or exc})"
    except RecursionError:  # JSON nested deeper than Python recurses
        return None, f"{MANIFEST} is not a tfgen manifest (nested too deep)"
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return None, f"{MANIFEST} is not a tfgen manifest ({exc})"
