"""out/ENV as render sees it: regular files and folders strictly inside it, never a link.

The folder is opened once (refused when it is a symbolic link), and every path below it is
reached from there one name at a time, each folder opened with O_NOFOLLOW and each file
operation relative to its folder's descriptor: neither a link committed in the tree nor one
swapped in while render runs leads anywhere else. No os call is ever given dir_fd=None (the
current directory): a folder that is not there is FileNotFoundError. A path is a relative
POSIX string (`platform/providers.tf`); only paths of the shape render writes are ever
written or deleted (`renderable`), so state, lock files and `.terraform/` are out of reach
whatever a manifest or a journal says; only the folders Terraform reads as roots and render
writes are listed (`listing`), and a file larger than any render writes is never read.
An OSError names the path in out/ENV it failed on (`out/ENV/teams/rc/iam.tf`).

The folder's descriptor also carries the lock that makes renders of one environment take
turns (flock: exclusive for render and `tfgen outputs`, shared for `render --check`); the
lock goes with the process, so a killed render never leaves it held.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from generator.errors import TfgenError

# What render writes: `platform/NAME.tf` and `teams/TEAM/NAME.tf` (a team is a slug), never
# Terraform's override files; nothing else is ever written or deleted.
RENDERED = re.compile(r"(platform|teams/[a-z0-9]+(-[a-z0-9]+)*)/[a-z0-9_]+\.tf")
MANIFEST = ".tfgen-manifest.json"
# Far above any file render writes (the account's quotas bound them to a few MB); a larger one
# at a path render writes is not one it wrote, and is never read into memory.
LARGEST = 64 * 2**20
NOT_A_FILE = {"link": "a symbolic link, not a file tfgen wrote", "other": "not a regular file",
              "large": "over 64 MiB, not a file tfgen wrote"}

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def renderable(path: str) -> bool:
    """A path render may write or delete: the shape of what it renders, and nothing else."""
    name = path.rsplit("/", 1)[-1]
    return bool(RENDERED.fullmatch(path)) and name != "override.tf" and not name.endswith("_override.tf")


def writable(path: str) -> bool:
    """What a render's commit may write: a rendered file, or the manifest."""
    return path == MANIFEST or renderable(path)


@dataclass(frozen=True)
class Entry:
    kind: str  # "missing", "file", "link" (a symbolic link), "other" (a folder, a pipe, a device), "large"
    data: bytes | None = None  # a file's bytes


MISSING = Entry("missing")


def failed(exc: OSError) -> str:
    """An OSError in words, with the path it failed on when it names one."""
    where = f" ({exc.filename})" if isinstance(exc.filename, str) else ""
    return f"{exc.strerror or exc}{where}"


def _names_its_path(method):
    """An OSError from a call relative to a folder names a bare name (`iam.tf`) or none (a write):
    it is given the path in out/ENV it failed on; an inner call's own naming is kept."""
    @functools.wraps(method)
    def named(self, path, *args, **kwargs):
        try:
            return method(self, path, *args, **kwargs)
        except OSError as exc:
            if exc.filename is None or exc.filename == path.rpartition("/")[2]:
                exc.filename = str(self.where(path))
            raise
    return named


class Tree:
    """One out/ENV, opened. Use `opened()`; close() releases the lock with the descriptors."""

    def __init__(self, out_env: Path, fd: int):
        self.out_env, self.fd = out_env, fd
        self.env = out_env.name
        self._folders: dict[str, int] = {"": fd}
        self.created = False  # made by this render: removed again when it stays empty (a refusal)

    # --- opening and locking ---------------------------------------------------------------

    @classmethod
    def opened(cls, out_env: Path, create: bool) -> Tree | None:
        """out/ENV opened without following a link; None when it does not exist (and create is off)."""
        if out_env.name in ("", ".", ".."):
            raise TfgenError(f"{out_env} is not a folder of one environment")
        if create:
            try:
                out_env.parent.mkdir(parents=True, exist_ok=True)  # --out-dir: wherever the user puts it
            except OSError as exc:
                raise TfgenError(f"cannot create {out_env.parent}: {exc.strerror or exc}") from None
            try:
                os.mkdir(out_env)
                created = True
            except FileExistsError:
                created = False  # a folder, or not: opening it tells
            except OSError as exc:
                raise TfgenError(f"cannot create {out_env}: {exc.strerror}") from None
        try:
            fd = os.open(out_env, _DIRECTORY)
        except FileNotFoundError:
            if create:
                raise TfgenError(f"cannot create {out_env}: it was removed while render ran") from None
            return None
        except OSError as exc:
            raise _not_a_folder(out_env, exc, os.lstat) from None
        tree = cls(out_env, fd)
        tree.created = create and created
        return tree

    def lock(self, exclusive: bool) -> None:
        """Take the environment's lock without waiting: a second render is refused, not queued."""
        try:
            fcntl.flock(self.fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            pid, writing = _holder(self.fd)  # best effort: not every file system's numbers match the table's
            running = f" (pid {pid})" if pid else ""
            who = (f"another render of {self.env} is running{running}" if writing or not pid
                   else f"a `render --check` of {self.env} is reading it{running}")
            raise TfgenError(f"{who}: {self.out_env} is in use; wait for it to finish, then run this again") from None
        if not self._still_at_its_path():  # moved between open and flock: the lock would guard another folder
            raise TfgenError(f"{self.out_env} was moved or replaced while tfgen opened it: nothing was read or "
                             "written; run this again")

    def _still_at_its_path(self) -> bool:
        try:
            now, opened = os.lstat(self.out_env), os.fstat(self.fd)
        except OSError:
            return False
        return (now.st_dev, now.st_ino) == (opened.st_dev, opened.st_ino)

    def close(self) -> None:
        for fd in self._folders.values():
            if fd != self.fd:
                os.close(fd)
        self._folders = {}
        if self.created and self._still_at_its_path():  # still under the lock
            try:
                os.rmdir(self.out_env)
            except OSError:
                pass  # not empty: written
        os.close(self.fd)  # the lock goes with it

    # --- reading ---------------------------------------------------------------------------

    def where(self, path: str) -> Path:
        return self.out_env / path if path else self.out_env

    @_names_its_path
    def folder(self, path: str, create: bool = False) -> int | None:
        """The descriptor of a folder below out/ENV (cached), None when it does not exist;
        a link or a file on the way is an error naming it."""
        if path in self._folders:
            return self._folders[path]
        parent, _, name = path.rpartition("/")
        above = self.folder(parent, create)
        if above is None:
            return None
        try:
            fd = os.open(name, _DIRECTORY, dir_fd=above)
        except FileNotFoundError:
            if not create:
                return None
            try:
                os.mkdir(name, dir_fd=above)
            except FileExistsError:
                pass
            return self.folder(path)
        except OSError as exc:
            raise _not_a_folder(self.where(path), exc, lambda _: os.stat(name, dir_fd=above, follow_symlinks=False))
        self._folders[path] = fd
        return fd

    def _split(self, path: str, create: bool = False) -> tuple[int, str]:
        """The descriptor of the folder holding path, and path's name in it. A missing folder is
        FileNotFoundError, never None: os would take dir_fd=None for the current directory."""
        parent, _, name = path.rpartition("/")
        fd = self.folder(parent, create)
        if fd is None:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(self.where(parent)))
        return fd, name

    @_names_its_path
    def kind(self, path: str) -> str:
        """"missing", "file", "link" or "other", from the entry itself (lstat), nothing followed."""
        try:
            folder, name = self._split(path)
            mode = os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode
        except FileNotFoundError:
            return "missing"
        return "file" if stat.S_ISREG(mode) else "link" if stat.S_ISLNK(mode) else "other"

    @_names_its_path
    def entry(self, path: str) -> Entry:
        """What stands at a path, a regular file's bytes with it; nothing is followed or opened
        that is not a regular file (a pipe would block, a device could act), and nothing larger
        than LARGEST is read ("large")."""
        kind = self.kind(path)
        if kind != "file":
            return Entry(kind)
        try:
            folder, name = self._split(path)
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder)
        except FileNotFoundError:
            return MISSING
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # replaced by a link since
                return Entry("link")
            raise
        with os.fdopen(fd, "rb") as handle:
            found = os.fstat(fd)
            if not stat.S_ISREG(found.st_mode):
                return Entry("other")
            if found.st_size > LARGEST:
                return Entry("large")
            data = handle.read(LARGEST + 1)  # it may have grown since
            return Entry("file", data) if len(data) <= LARGEST else Entry("large")

    @_names_its_path
    def names(self, path: str) -> list[tuple[str, str]]:
        """(name, kind) of what one folder holds, kind "file" (regular), "folder", "link" or
        "other"; nothing followed. A folder not open before is closed again: only listed."""
        was_open = path in self._folders
        fd = self.folder(path)
        if fd is None:
            return []
        try:
            with os.scandir(fd) as entries:
                return sorted((e.name, "link" if e.is_symlink() else "folder" if e.is_dir(follow_symlinks=False)
                               else "file" if e.is_file(follow_symlinks=False) else "other") for e in entries)
        finally:
            if not was_open and path in self._folders:
                os.close(self._folders.pop(path))

    def listing(self) -> list[tuple[str, str]]:
        """(path, kind) of what stands in the folders Terraform reads as roots and render writes:
        out/ENV, platform/, teams/ and each teams/TEAM/, folders left out. Nothing deeper is
        entered: a tree of any depth or width costs a listing of these."""
        found = []
        for folder in ("", "platform", "teams"):
            for name, kind in self.names(folder):
                path = f"{folder}/{name}" if folder else name
                if kind != "folder":
                    found.append((path, kind))
                elif folder == "teams":
                    found += [(f"{path}/{inner}", what) for inner, what in self.names(path) if what != "folder"]
        return found

    # --- writing ---------------------------------------------------------------------------

    @_names_its_path
    def write_file(self, path: str, data: bytes) -> None:
        """A new regular file, on disk before this returns, its folders made as needed: O_EXCL,
        so nothing that stands at the name, a link included, is opened."""
        folder, name = self._split(path, create=True)
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666, dir_fd=folder)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)

    @_names_its_path
    def rename(self, source: str, target: str) -> None:
        """Within one folder: the file at source takes the target's name (a link there is replaced, not followed)."""
        folder, old = self._split(source)
        os.replace(old, target.rpartition("/")[2], src_dir_fd=folder, dst_dir_fd=folder)

    @_names_its_path
    def unlink(self, path: str) -> None:
        try:
            folder, name = self._split(path)
            os.unlink(name, dir_fd=folder)
        except FileNotFoundError:
            pass

    @_names_its_path
    def remove_folder(self, path: str) -> bool:
        """An empty folder removed, and the folder above synced (the name's removal is a change
        to it, on disk only then); False when the folder is not empty (.terraform/, state), or
        it or the folder above is gone."""
        try:
            above, name = self._split(path)
            os.rmdir(name, dir_fd=above)
        except OSError:
            return False
        if path in self._folders:
            os.close(self._folders.pop(path))
        os.fsync(above)
        return True

    def remove_empty_folders(self, path: str) -> None:
        """The folder holding path and those above it, while they are empty (out/ENV stays)."""
        parent = path.rpartition("/")[0]
        while parent and self.remove_folder(parent):
            parent = parent.rpartition("/")[0]

    def sync(self, paths: set[str]) -> None:
        """The folders of these paths on disk: their names (created, renamed, removed) survive a power cut."""
        for folder in sorted({p.rpartition("/")[0] for p in paths}):
            self._sync_folder(folder)

    @_names_its_path
    def _sync_folder(self, folder: str) -> None:
        fd = self.folder(folder)
        if fd is not None:
            os.fsync(fd)


def _holder(fd: int) -> tuple[str, bool]:
    """(pid, exclusive) of whoever holds a lock on this folder, from the kernel's table of locks
    (/proc/locks, Linux: "1: FLOCK  ADVISORY  WRITE 4242 fe:00:2146661 0 EOF"); ("", False) elsewhere."""
    found = os.fstat(fd)
    key = f"{os.major(found.st_dev):02x}:{os.minor(found.st_dev):02x}:{found.st_ino}"
    try:
        with open("/proc/locks") as table:
            for line in table:
                fields = line.split()
                if "FLOCK" in fields and key in fields and "->" not in fields:
                    at = fields.index(key)
                    if fields[at - 1].isdigit() and fields[at - 1] != "0":
                        return fields[at - 1], fields[at - 2] == "WRITE"
    except OSError:
        pass
    return "", False


def _not_a_folder(where: Path, exc: OSError, lstat) -> TfgenError:
    if exc.errno not in (errno.ENOTDIR, errno.ELOOP):
        return TfgenError(f"cannot open {where}: {exc.strerror}")
    try:
        is_link = stat.S_ISLNK(lstat(where).st_mode)
    except OSError:
        is_link = False
    if is_link:
        return TfgenError(f"{where} is a symbolic link: tfgen never follows one out of the folder it writes; "
                          "replace it with a folder (or pass --out-dir), then run this again")
    return TfgenError(f"{where} is not a folder: tfgen writes a folder there; move it away, then run this again")
