"""A render's commit: all or nothing against a crash at any point, a kill -9 or a power cut.

Per environment, in this order, each step on disk (fsync) before the next begins:

1. the journal, `out/ENV/.tfgen-journal.json`: the temporary each new file is written to and
   the file it becomes (the manifest last), each file to delete with the hash it had when
   render checked it, and each folder the commit creates;
2. the temporaries: new files (O_EXCL, a random name beside their target), complete;
3. the commit point, `out/ENV/.tfgen-journal.committed`, a new empty file;
4. the journal played forward: the renames, then the deletions (each folder a deletion
   empties removed, the folder above synced);
5. the journal removed, then its mark.

With several environments (`render --all`), every one is staged, then every one marked, then
every one played forward: no rename happens before the last mark, so a failure until then
(a full disk at a mark) removes the marks already made and undoes every stage.

Before a render reads out/ENV, under the environment's lock, `recover` finishes what a
crashed one left: a journal with its mark is played forward (every temporary it names is
complete, the mark being made only after them), one without is rolled back (its temporaries
and the folders it made are removed, nothing else was touched). Playing forward twice does
what playing it once does, so a crash while recovering is recovered the same way. A journal
is read as what a hostile commit could make it: every path it names is checked against what
render writes (tree.renderable) before any is used.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field

from generator.errors import TfgenError
from generator.render.tree import NOT_A_FILE, Tree, failed, renderable, writable

JOURNAL = ".tfgen-journal.json"
COMMITTED = ".tfgen-journal.committed"
_TEMPORARY = re.compile(r"\.[0-9a-f]{16}\.tfgen-tmp")
_OLD_TEMPORARY = re.compile(r"\.(.+)\.tfgen-tmp")  # tfgen before the journal: `.NAME.tfgen-tmp` beside NAME
DIGEST = re.compile(r"[0-9a-f]{64}")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(eq=False)
class Change:
    """What one environment's commit does: files to write (in order, the manifest last) and
    files to delete (path -> the hash render saw)."""

    tree: Tree
    writes: dict[str, bytes]
    deletions: dict[str, str]
    renames: list[tuple[str, str]] = field(default_factory=list)  # (temporary, target), once staged
    folders: list[str] = field(default_factory=list)  # created by this commit, outermost first


def temporary(path: str) -> str:
    """A fresh name beside path: hidden, random, and never a name terraform reads."""
    folder, _, name = path.rpartition("/")
    hidden = name if name.startswith(".") else f".{name}"
    return f"{folder + '/' if folder else ''}{hidden}.{secrets.token_hex(8)}.tfgen-tmp"


def _is_temporary_of(temporary_path: str, target: str) -> bool:
    folder, _, name = target.rpartition("/")
    tmp_folder, _, tmp_name = temporary_path.rpartition("/")
    hidden = name if name.startswith(".") else f".{name}"
    return (tmp_folder == folder and tmp_name.startswith(hidden)
            and bool(_TEMPORARY.fullmatch(tmp_name[len(hidden):])))


def commit(changes: list[Change]) -> None:
    """Every environment staged (journal, temporaries), then every one marked, then every one
    played forward. A failure before the last mark undoes them all: nothing was changed. One
    after leaves the environments not yet played forward marked: the next render completes each."""
    try:
        for change in changes:
            _stage(change)
        for change in changes:
            change.tree.write_file(COMMITTED, b"")
            change.tree.sync({COMMITTED})
    except BaseException as exc:
        left = _undo(changes)
        if left:  # a mark that could not be removed: that environment is completed next time
            raise _interrupted(left, exc) from None
        if isinstance(exc, OSError):
            where = exc.filename if isinstance(exc.filename, str) else ", ".join(str(c.tree.out_env) for c in changes)
            raise TfgenError(f"cannot write {where}: {exc.strerror or exc}; nothing was changed "
                             "(what was written is removed)") from None
        raise
    for at, change in enumerate(changes):
        try:
            _play_forward(change.tree, change.renames, change.deletions)
            _finish(change.tree)
        except (OSError, TfgenError) as exc:
            raise _interrupted(changes[at:], exc) from None


def _interrupted(changes: list[Change], exc: BaseException) -> TfgenError:
    """The environments left marked, each completed by its next render."""
    them = "it" if len(changes) == 1 else "them"
    return TfgenError(f"render of {', '.join(c.tree.env for c in changes)} was interrupted writing "
                      f"{', '.join(str(c.tree.out_env) for c in changes)}: "
                      f"{failed(exc) if isinstance(exc, OSError) else exc}; render {them} again to finish {them}")


def recover(tree: Tree) -> str:
    """Finish what a crashed render left in this environment: "completed", "rolled back" or ""."""
    marked, journal = tree.kind(COMMITTED), tree.entry(JOURNAL)
    for name, found in ((COMMITTED, marked), (JOURNAL, journal.kind)):
        if found not in ("missing", "file"):
            raise TfgenError(f"{tree.where(name)} is {NOT_A_FILE[found]}: remove it, then render again")
    if journal.kind == "missing":
        if marked == "file":  # a crash after the journal's removal: all was done
            tree.unlink(COMMITTED)  # only when there: unlinkat fails on a read-only tree even for no file
            tree.sync({COMMITTED})
        return ""
    parsed = _read(tree, journal.data or b"", marked == "file")
    if parsed is None:  # the crash came while the journal was written: nothing else was
        _finish(tree)
        return "rolled back"
    renames, deletions, folders = parsed
    if marked == "file":
        _play_forward(tree, renames, deletions)
    else:
        _roll_back(tree, renames, folders)
    _finish(tree)
    return "completed" if marked == "file" else "rolled back"


def remove_old_temporaries(tree: Tree) -> None:
    """What tfgen before the journal left when killed: `.NAME.tfgen-tmp` beside a file render
    writes, as a regular file; a link, a folder or any other name is left as it is."""
    for path, kind in tree.listing():
        folder, _, name = path.rpartition("/")
        old = _OLD_TEMPORARY.fullmatch(name)
        if kind == "file" and old and writable(f"{folder}/{old[1]}" if folder else old[1]):
            tree.unlink(path)


def temporaries_of(tree: Tree, name: str) -> list[str]:
    """The regular files a killed writer of `name` (in out/ENV itself) left beside it:
    `.NAME.<16 hex>.tfgen-tmp`, or `.NAME.tfgen-tmp` from tfgen before the journal."""
    return [found for found, kind in tree.names("")
            if kind == "file" and (_is_temporary_of(found, name) or found == f".{name}.tfgen-tmp")]


def interrupted(tree: Tree) -> str:
    """The journal (or its mark) a crashed render left, "" when there is none."""
    return next((name for name in (JOURNAL, COMMITTED) if tree.kind(name) != "missing"), "")


def _stage(change: Change) -> None:
    tree = change.tree
    change.folders = _new_folders(tree, change.writes)
    change.renames = [(temporary(path), path) for path in change.writes]
    tree.write_file(JOURNAL, json.dumps({
        "note": "A render of this folder in progress; the next render finishes it, or undoes it.",
        "renames": change.renames, "deletions": sorted(change.deletions.items()), "folders": change.folders,
    }, indent=1).encode())
    tree.sync({JOURNAL})
    for (temporary_path, _), data in zip(change.renames, change.writes.values()):
        tree.write_file(temporary_path, data)
    tree.sync({t for t, _ in change.renames} | set(change.folders))


def _undo(changes: list[Change]) -> list[Change]:
    """Changes staged, partly staged or marked, none played forward, removed: every mark first,
    on disk, so that no environment is completed while another is rolled back; then each
    stage. Returns the changes still marked; one whose undoing failed otherwise is rolled back
    by the next render."""
    left = []
    for change in changes:
        try:
            if change.tree.kind(COMMITTED) != "missing":
                change.tree.unlink(COMMITTED)
                change.tree.sync({COMMITTED})
        except (OSError, TfgenError):
            left.append(change)
    for change in changes:
        try:
            if change not in left and change.tree.kind(JOURNAL) == "file":
                _roll_back(change.tree, change.renames, change.folders)
                _finish(change.tree)
        except (OSError, TfgenError):
            pass
    return left


def _new_folders(tree: Tree, writes: dict[str, bytes]) -> list[str]:
    found: list[str] = []
    for path in writes:
        parts = path.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            folder = "/".join(parts[:depth])
            if folder not in found and tree.folder(folder) is None:
                found.append(folder)
    return found


def _play_forward(tree: Tree, renames: list[tuple[str, str]], deletions: dict[str, str]) -> None:
    for temporary_path, target in renames:
        if tree.kind(temporary_path) == "file":  # else renamed already, before a crash
            tree.rename(temporary_path, target)
    tree.sync({target for _, target in renames})
    for path, digest in sorted(deletions.items()):
        entry = tree.entry(path)
        if entry.kind == "file" and sha256(entry.data or b"") == digest:  # as render saw it, nothing since
            tree.unlink(path)
        if tree.kind(path) == "missing":  # its folder too, when this emptied it (or a crash came between)
            tree.remove_empty_folders(path)
    tree.sync(set(deletions))


def _roll_back(tree: Tree, renames: list[tuple[str, str]], folders: list[str]) -> None:
    for temporary_path, _ in renames:
        if tree.kind(temporary_path) == "file":
            tree.unlink(temporary_path)
    for folder in reversed(folders):
        tree.remove_folder(folder)
    tree.sync({t for t, _ in renames} | set(folders))


def _finish(tree: Tree) -> None:
    """The journal removed, on disk, before its mark: a mark alone is only cleaned up, while a
    journal alone would be rolled back."""
    tree.unlink(JOURNAL)
    tree.sync({JOURNAL})
    if tree.kind(COMMITTED) != "missing":
        tree.unlink(COMMITTED)
        tree.sync({COMMITTED})


def _read(tree: Tree, data: bytes, marked: bool):
    """The journal's renames, deletions and folders, each path checked; None for a journal
    cut short before its mark (a crash while it was written)."""
    try:
        document = json.loads(data)
        renames = [(str(temporary_path), str(target)) for temporary_path, target in document["renames"]]
        deletions = {str(path): str(digest) for path, digest in document["deletions"]}
        folders = [str(folder) for folder in document["folders"]]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:  # json recurses: `[[[...` 100,000 deep
        if not marked:
            return None
        raise _not_a_journal(tree, "nested too deeply" if isinstance(exc, RecursionError) else str(exc)) from None
    bad = [t for t, target in renames if not writable(target) or not _is_temporary_of(t, target)]
    bad += [path for path in deletions if not renderable(path)]
    bad += [folder for folder in folders if folder != "teams" and not renderable(f"{folder}/x.tf")]
    if bad:
        raise TfgenError(f"{tree.where(JOURNAL)} names paths render never writes: {', '.join(map(repr, bad))}; "
                         "nothing was done: remove it, then render again")
    digests = sorted(path for path, digest in deletions.items() if not DIGEST.fullmatch(digest))
    if digests:
        raise _not_a_journal(tree, f"the hash of {', '.join(map(repr, digests))} is not a SHA-256 digest")
    return renames, deletions, folders


def _not_a_journal(tree: Tree, why: str) -> TfgenError:
    return TfgenError(f"{tree.where(JOURNAL)} is not a journal tfgen wrote ({why}); remove it, restore "
                     f"{tree.out_env} from git, then render again")
