"""Write a rendered environment into out/ENV safely.

Everything is checked before the first byte is written, so a refusal leaves `out/ENV` as
it was. tfgen writes only the files it generates and records each one's hash in a
manifest: files it did not write (`.terraform/`, state, lock files, anything else) are
never touched, a generated file edited by hand is not overwritten without --force, and
files it no longer generates are removed.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from generator.errors import TfgenError
from generator.render.templates import Rendered

MANIFEST = ".tfgen-manifest.json"

def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_manifest(out_env: Path) -> dict:
    """The previous render's manifest: {"files": {path: sha256}, "stateful": {root: [address]}}."""
    path = out_env / MANIFEST
    if not path.is_file():
        return {"files": {}, "stateful": {}}
    try:
        manifest = json.loads(path.read_text())
        return {"files": dict(manifest["files"]), "stateful": dict(manifest.get("stateful", {}))}
    except (ValueError, KeyError, TypeError) as exc:
        raise TfgenError(f"{path} is not a tfgen manifest ({exc}); restore it from git or delete it") from None


def manifest_text(rendered: Rendered) -> str:
    return json.dumps({
        "generated_by": f"tfgen render {rendered.env}",
        "note": "Hashes of the files tfgen wrote; render refuses to overwrite a file edited since.",
        "files": {path: _sha256(content.encode()) for path, content in rendered.files.items()},
        "stateful": rendered.stateful,
    }, indent=2, sort_keys=True) + "\n"


# Files terraform reads in a root: a foreign one would be applied with what tfgen rendered.
TERRAFORM_FILES = ("*.tf", "*.tf.json", "*.tfvars", "*.tfvars.json")


def foreign_terraform(rendered: Rendered, out_env: Path, previous: dict[str, str]) -> list[str]:
    """Terraform files under out/ENV that tfgen neither generates now nor wrote before."""
    if not out_env.is_dir():
        return []
    found = {str(path.relative_to(out_env)) for pattern in TERRAFORM_FILES for path in out_env.rglob(pattern)
             if ".terraform" not in path.relative_to(out_env).parts}
    return sorted(found - set(rendered.files) - set(previous))


def differences(rendered: Rendered, out_env: Path) -> list[tuple[str, str]]:
    """(path, what) for every file where out/ENV is not what this render gives."""
    found = []
    for path, content in rendered.files.items():
        target = out_env / path
        if not target.is_file():
            found.append((path, "missing"))
        elif target.read_bytes() != content.encode():
            found.append((path, "differs"))
    previous = read_manifest(out_env)["files"]
    for path in sorted(set(previous) - set(rendered.files)):
        if (out_env / path).is_file():
            found.append((path, "no longer generated"))
    found += [(path, "not written by tfgen") for path in foreign_terraform(rendered, out_env, previous)]
    manifest = out_env / MANIFEST
    if not manifest.is_file() or manifest.read_text() != manifest_text(rendered):
        found.append((MANIFEST, "differs" if manifest.is_file() else "missing"))
    return found


@dataclass(frozen=True)
class WriteReport:
    written: list[str]
    unchanged: list[str]
    removed: list[str]


@dataclass(frozen=True)
class WritePlan:
    """What writing one environment will do, decided and checked before anything is written."""

    out_env: Path
    changed: dict[Path, bytes]
    removed: list[str]
    manifest: bytes
    report: WriteReport


def plan_write(rendered: Rendered, out_env: Path, force: bool = False) -> WritePlan:
    """Every refusal happens here: a protected resource dropped, a generated file edited by
    hand, a foreign Terraform file in a root. Nothing is written."""
    manifest = read_manifest(out_env)
    if rendered.protected:
        _refuse_to_destroy(rendered, manifest["stateful"])
    previous = manifest["files"]
    extra = foreign_terraform(rendered, out_env, previous)
    if extra:
        raise TfgenError("refusing to render: terraform would apply files tfgen did not write along with what it "
                         "renders:\n" + "\n".join(f"  {out_env / p}" for p in extra)
                         + "\nMove what they hold into the YAML (or out of this folder); tfgen never deletes a "
                           "file it did not write, with or without --force.")
    edited = [path for path, digest in sorted(previous.items())
              if (out_env / path).is_file() and _sha256((out_env / path).read_bytes()) != digest]
    foreign = [path for path in rendered.files if path not in previous and (out_env / path).exists()]
    if (edited or foreign) and not force:
        lines = [f"  {out_env / p} (edited since tfgen wrote it)" for p in edited]
        lines += [f"  {out_env / p} (not written by tfgen)" for p in foreign]
        raise TfgenError("refusing to overwrite files tfgen did not write as they are:\n" + "\n".join(lines)
                         + "\nMove the changes into the YAML (or keep them elsewhere), then render again; "
                           "--force overwrites them.")
    written, unchanged = [], []
    changed: dict[Path, bytes] = {}
    for path, content in rendered.files.items():
        target, data = out_env / path, content.encode()
        if target.is_file() and target.read_bytes() == data:
            unchanged.append(path)
        else:
            changed[target] = data
            written.append(path)
    removed = [path for path in sorted(set(previous) - set(rendered.files)) if (out_env / path).is_file()]
    return WritePlan(out_env, changed, removed, manifest_text(rendered).encode(),
                     WriteReport(written, unchanged, removed))


def commit(plans: list[WritePlan]) -> None:
    """Write every planned environment in one two-phase write (manifests last), then remove
    the files no longer generated."""
    files = {target: data for plan in plans for target, data in plan.changed.items()}
    files.update({plan.out_env / MANIFEST: plan.manifest for plan in plans})
    _write_all(files)
    for plan in plans:
        for path in plan.removed:
            target = plan.out_env / path
            target.unlink()
            _remove_empty_parents(target.parent, plan.out_env)


def write(rendered: Rendered, out_env: Path, force: bool = False) -> WriteReport:
    plan = plan_write(rendered, out_env, force)
    commit([plan])
    return plan.report


def _refuse_to_destroy(rendered: Rendered, before: dict[str, list[str]]) -> None:
    """In a protected environment, a resource that holds data may only leave by retirement."""
    lost = []
    for root, addresses in sorted(before.items()):
        kept = set(rendered.stateful.get(root, [])) | set(rendered.retained.get(root, []))
        lost += [f"  {root}: {address}" for address in addresses if address not in kept]
    if lost:
        raise TfgenError(
            f"refusing to render {rendered.env}: it is protected, and applying this would destroy resources that "
            "hold images, model versions or logs:\n" + "\n".join(lost)
            + "\nTo stop managing a project and keep its resources, mark it `retired: true` in the YAML "
              "instead of deleting it.")


def _write_all(files: dict[Path, bytes]) -> None:
    """Two phases: every file to a temporary beside its target, then renames. A failure while
    writing (a full disk, a permission) removes the temporaries and changes nothing."""
    staged: list[tuple[Path, Path]] = []
    made: set[Path] = set()
    try:
        for target, data in files.items():
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            tmp = target.with_name(f".{target.name}.tfgen-tmp")
            staged.append((tmp, target))
            with open(tmp, "wb") as handle:
                handle.write(data)
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, target in staged:
        os.replace(tmp, target)


def atomic_write(target: Path, data: bytes) -> None:
    """One file: written beside its target, then renamed over it."""
    _write_all({target: data})


def _remove_empty_parents(folder: Path, stop: Path) -> None:
    while folder != stop and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
