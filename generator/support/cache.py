"""Where tfgen keeps what it can always rebuild, only to start faster: AWS's IAM catalogue
for `tfgen check` (policies/iam_catalogue.py) and the compiled templates for `tfgen render`
(generator/render/templates.py). Nothing in it is ever the only copy of anything: deleting it is safe,
and a folder that cannot be written means no cache, never an error. A cache file someone
else could have written is not read (trusted())."""

from __future__ import annotations

import os
import stat


def cache_dir() -> str:
    """$XDG_CACHE_HOME/tfgen, else ~/.cache/tfgen."""
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                        "tfgen")


def trusted(path: str) -> bool:
    """Whether a cache file may be believed: a regular file (not a link), and it and its folder
    owned by this user and writable by nobody else. tfgen executes its compiled templates and
    takes its catalogues' and limits' copies as AWS's word: a cache another user or a shared
    CI cache can write is no cache (the same trust jinja gives its own default cache folder)."""
    try:
        for item in (path, os.path.dirname(path)):
            info = os.lstat(item)
            kind = stat.S_ISREG if item == path else stat.S_ISDIR
            if not kind(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
                return False
    except OSError:
        return False
    return True


def read_trusted(path: str) -> bytes | None:
    """A cache file's bytes, if it is trusted(); else None, as for a file that is not there."""
    if not trusted(path):
        return None
    try:
        with open(path, "rb") as cached:
            return cached.read()
    except OSError:
        return None


def make_folder(folder: str) -> None:
    """The cache's folder, made for this user alone (raises OSError where it cannot be made)."""
    os.makedirs(folder, mode=0o700, exist_ok=True)
