"""Write a rendered environment into out/ENV safely.

Everything is checked before the first byte is written, so a refusal leaves `out/ENV` as
it was (but for a crashed render's commit, finished first, under the lock, and reported).
tfgen writes only the files it generates and records each one's hash in a manifest: files
it did not write (`.terraform/`, state, lock files, anything else) are never touched, a
generated file edited by hand is not overwritten without --force, and files it no longer
generates are removed.

Where it writes: regular files strictly inside out/ENV, reached without following a link
(tree.py); a manifest naming any other path is refused. How: one render of an environment
at a time (its lock), and all or nothing against a crash at any point (journal.py).
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
from dataclasses import dataclass, replace
from pathlib import Path

from generator.errors import TfgenError
from generator.render.journal import (DIGEST, Change, commit, interrupted, recover, remove_old_temporaries, sha256,
                                      temporaries_of, temporary)
from generator.render.orphans import refuse_orphans
from generator.render.templates import Rendered
from generator.render.tree import LARGEST, MANIFEST, NOT_A_FILE, Entry, Tree, failed, renderable

__all__ = ["MANIFEST", "WriteReport", "atomic_write", "differences", "manifest_text", "write", "write_all"]

# Files terraform reads in a root: a foreign one would be applied with what tfgen rendered.
TERRAFORM_FILES = ("*.tf", "*.tf.json", "*.tfvars", "*.tfvars.json")


def manifest_text(rendered: Rendered) -> str:
    return json.dumps({
        "generated_by": f"tfgen render {rendered.env}",
        "note": "Hashes of the files tfgen wrote; render refuses to overwrite a file edited since.",
        "files": {path: sha256(content.encode()) for path, content in rendered.files.items()},
        "stateful": rendered.stateful,
    }, indent=2, sort_keys=True) + "\n"


@dataclass(frozen=True)
class WriteReport:
    written: list[str]
    unchanged: list[str]
    removed: list[str]
    recovered: str = ""  # "completed" or "rolled back": what this render did with a crashed one's commit


def write(rendered: Rendered, out_env: Path, force: bool = False) -> WriteReport:
    return write_all([(rendered, out_env)], force)[0]


def write_all(targets: list[tuple[Rendered, Path]], force: bool = False) -> list[WriteReport]:
    """Write each rendered environment into its out/ENV, under each one's lock: a crashed
    render's commit is finished first, then every refusal is decided for every environment
    before anything is written, then one commit writes them all (journal.py)."""
    for rendered, _ in targets:
        _held_to_what_render_writes(rendered)
    trees: dict[Path, Tree] = {}
    recovered: dict[Path, str] = {}
    try:
        for out_env in sorted({out_env for _, out_env in targets}):  # one order: two --all renders never cross
            trees[out_env] = Tree.opened(out_env, create=True)
            trees[out_env].lock(exclusive=True)
        for out_env, tree in trees.items():
            recovered[out_env] = _recover(tree)
        refuse_orphans(targets)  # under the lock, after recovery: by the manifest no other render can change
        planned = [_plan(trees[out_env], rendered, force) for rendered, out_env in targets]
        commit([change for change, _ in planned if change.writes or change.deletions])
        return [replace(report, recovered=recovered[out_env]) for (_, report), (_, out_env) in zip(planned, targets)]
    except OSError as exc:  # reading the tree: recovery and the commit word their own
        raise _after_recoveries(_cannot_read(exc, [out_env for _, out_env in targets]), recovered) from None
    except TfgenError as exc:
        raise _after_recoveries(exc, recovered) from None
    finally:
        for tree in trees.values():
            tree.close()


def differences(rendered: Rendered, out_env: Path) -> list[tuple[str, str]]:
    """(path, what) for every file where out/ENV is not what this render gives. Writes
    nothing, and reads under the environment's lock, shared: never a render's half-done tree."""
    _held_to_what_render_writes(rendered)
    tree = Tree.opened(out_env, create=False)
    if tree is None:
        return [(path, "missing") for path in rendered.files] + [(MANIFEST, "missing")]
    try:
        tree.lock(exclusive=False)
        return _differences(tree, rendered)
    except OSError as exc:
        raise _cannot_read(exc, [out_env]) from None
    finally:
        tree.close()


def _recover(tree: Tree) -> str:
    """What a crashed render left, finished (journal.py), and an older tfgen's temporaries removed."""
    try:
        done = recover(tree)
        remove_old_temporaries(tree)
    except OSError as exc:
        raise TfgenError(f"cannot finish the render interrupted in {tree.out_env}: {failed(exc)}") from None
    return done


def _cannot_read(exc: OSError, out_envs: list[Path]) -> TfgenError:
    where = exc.filename if isinstance(exc.filename, str) else ", ".join(map(str, out_envs))
    return TfgenError(f"cannot read {where}: {exc.strerror or exc}")


def _after_recoveries(exc: TfgenError, recovered: dict[Path, str]) -> TfgenError:
    """A refusal or a failure after this render finished a crashed one's commit says so: out/ENV
    was changed all the same."""
    done = "".join(f"\n(Before this, {out_env.name}: {what} the render interrupted in {out_env}.)"
                   for out_env, what in recovered.items() if what)
    return TfgenError(exc.message + done) if done else exc


def _differences(tree: Tree, rendered: Rendered) -> list[tuple[str, str]]:
    found = []
    left = interrupted(tree)
    if left:
        found.append((left, f"interrupted render (`tfgen render {rendered.env}` finishes it)"))
    previous = _manifest(tree)["files"]
    for path, content in rendered.files.items():
        entry = tree.entry(path)
        if entry.kind == "missing":
            found.append((path, "missing"))
        elif entry.kind != "file":
            found.append((path, NOT_A_FILE[entry.kind]))
        elif entry.data != content.encode():
            found.append((path, "differs"))
    for path in sorted(set(previous) - set(rendered.files)):
        kind = tree.kind(path)
        if kind != "missing":
            found.append((path, "no longer generated" if kind == "file" else NOT_A_FILE[kind]))
    found += [(path, "not written by tfgen") for path in _foreign_terraform(tree, rendered, previous)]
    manifest = tree.entry(MANIFEST)
    if manifest.data != manifest_text(rendered).encode():
        found.append((MANIFEST, "differs" if manifest.kind != "missing" else "missing"))
    return found


def _plan(tree: Tree, rendered: Rendered, force: bool) -> tuple[Change, WriteReport]:
    """Every refusal happens here: a protected resource dropped, a generated file edited by
    hand, a foreign Terraform file in a root, a link where render writes. Nothing is written."""
    manifest = _manifest(tree)
    if rendered.protected:
        _refuse_to_destroy(rendered, manifest["stateful"])
    previous = manifest["files"]
    out_env = tree.out_env
    extra = _foreign_terraform(tree, rendered, previous)
    if extra:
        raise TfgenError("refusing to render: terraform would apply files tfgen did not write along with what it "
                         "renders:\n" + "\n".join(f"  {out_env / p}" for p in extra)
                         + "\nMove what they hold into the YAML (or out of this folder); tfgen never deletes a "
                           "file it did not write, with or without --force.")
    entries: dict[str, Entry] = {path: tree.entry(path) for path in sorted(set(rendered.files) | set(previous))}
    links = [path for path, entry in entries.items() if entry.kind not in ("missing", "file")]
    if links:
        raise TfgenError("refusing to render: where tfgen writes, these are not files it wrote, and it never writes "
                         "through, replaces or deletes them, with or without --force:\n"
                         + "\n".join(f"  {out_env / p} ({NOT_A_FILE[entries[p].kind]})" for p in links)
                         + "\nRemove them (a link's target is left as it is), then render again.")
    edited = [path for path, digest in sorted(previous.items())
              if entries[path].kind == "file" and sha256(entries[path].data or b"") != digest]
    foreign = [path for path in rendered.files if path not in previous and entries[path].kind == "file"]
    if (edited or foreign) and not force:
        lines = [f"  {out_env / p} (edited since tfgen wrote it)" for p in edited]
        lines += [f"  {out_env / p} (not written by tfgen)" for p in foreign]
        raise TfgenError("refusing to overwrite files tfgen did not write as they are:\n" + "\n".join(lines)
                         + "\nMove the changes into the YAML (or keep them elsewhere), then render again; "
                           "--force overwrites them.")
    writes: dict[str, bytes] = {}
    unchanged = []
    for path, content in rendered.files.items():
        data = content.encode()
        if entries[path].data == data:
            unchanged.append(path)
        else:
            writes[path] = data
    removed = [path for path in sorted(set(previous) - set(rendered.files)) if entries[path].kind == "file"]
    manifest_data = manifest_text(rendered).encode()
    if writes or removed or tree.entry(MANIFEST).data != manifest_data:
        writes[MANIFEST] = manifest_data  # last: the manifest names what the commit wrote
    change = Change(tree, writes, {path: sha256(entries[path].data or b"") for path in removed})
    return change, WriteReport([p for p in writes if p != MANIFEST], unchanged, removed)


def _manifest(tree: Tree) -> dict:
    """The previous render's manifest: {"files": {path: sha256}, "stateful": {root: [address]}},
    every path in it one render writes: it is committed, so anyone may have written it."""
    where, entry = tree.where(MANIFEST), tree.entry(MANIFEST)
    if entry.kind == "missing":
        return {"files": {}, "stateful": {}}
    if entry.kind != "file":
        raise TfgenError(f"{where} is {NOT_A_FILE[entry.kind]}; remove it, then render again")
    try:
        manifest = _shaped(entry.data or b"")
    except ValueError as exc:
        raise TfgenError(f"{where} is not a tfgen manifest ({exc}); restore it from git or delete it") from None
    files = manifest["files"]
    bad = sorted(path for path in files if not renderable(path))
    if bad:
        raise TfgenError(f"{where} lists paths tfgen never writes: {', '.join(map(repr, bad))}; render reads, writes "
                         "and deletes none of them, with or without --force: take them out of the manifest (or "
                         "restore it from git), then render again")
    digests = sorted(path for path, digest in files.items() if not DIGEST.fullmatch(digest))
    if digests:
        raise TfgenError(f"{where} is not a tfgen manifest (the hash of {', '.join(map(repr, digests))} is not a "
                         "SHA-256 digest); restore it from git or delete it")
    return manifest


def _shaped(data: bytes) -> dict:
    """The manifest's JSON, held to its shape; ValueError saying how it is not."""
    try:
        document = json.loads(data)
    except RecursionError:  # json recurses: `[[[...` 100,000 deep
        raise ValueError("nested too deeply") from None
    files = document.get("files") if isinstance(document, dict) else None
    stateful = document.get("stateful", {}) if isinstance(document, dict) else None
    if not (isinstance(files, dict) and _strings(files.values())):
        raise ValueError('"files" is not an object of paths and their hashes')
    if not (isinstance(stateful, dict) and all(isinstance(a, list) and _strings(a) for a in stateful.values())):
        raise ValueError('"stateful" is not an object of roots and lists of addresses')
    return {"files": files, "stateful": stateful}


def _strings(values) -> bool:
    return all(isinstance(value, str) for value in values)


def _held_to_what_render_writes(rendered: Rendered) -> None:
    bad = sorted(path for path in rendered.files if not renderable(path))
    if bad:
        raise TfgenError(f"refusing to render {rendered.env}: it would write paths render never writes: "
                         + ", ".join(map(repr, bad)))
    large = sorted(path for path, content in rendered.files.items() if len(content.encode()) > LARGEST)
    if large:  # the next render would not read it back (tree.LARGEST)
        raise TfgenError(f"refusing to render {rendered.env}: {', '.join(large)} would be over 64 MiB")


def _foreign_terraform(tree: Tree, rendered: Rendered, previous: dict[str, str]) -> list[str]:
    """Terraform files under out/ENV (links too) that tfgen neither generates now nor wrote before."""
    return sorted(path for path, _ in tree.listing()
                  if any(fnmatch.fnmatchcase(path.rpartition("/")[2], pattern) for pattern in TERRAFORM_FILES)
                  and path not in rendered.files and path not in previous)


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


def atomic_write(target: Path, data: bytes) -> None:
    """One file outside the manifest (`tfgen outputs`' security-groups.env), under the
    environment's lock as a render: a new temporary beside it, then renamed over it; never
    through a link, in a folder that is none. What a killed one left beside it goes first."""
    tree = Tree.opened(target.parent, create=False)
    if tree is None:
        raise TfgenError(f"cannot write {target}: {target.parent} does not exist")
    name, staged = target.name, temporary(target.name)
    try:
        tree.lock(exclusive=True)
        kind = tree.kind(name)
        if kind not in ("missing", "file"):
            raise TfgenError(f"{target} is {NOT_A_FILE[kind]}; remove it, then run this again")
        for left in temporaries_of(tree, name):
            tree.unlink(left)
        tree.write_file(staged, data)
        tree.rename(staged, name)
        tree.sync({name})
    except OSError as exc:
        with contextlib.suppress(OSError):
            tree.unlink(staged)
        raise TfgenError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        tree.close()
