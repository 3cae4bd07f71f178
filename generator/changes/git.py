"""git, for the commands that compare with or place files in the repository (affected, atlantis)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from generator.errors import TfgenError


def run_git(args: list[str], cwd: Path, needed_for: str) -> subprocess.CompletedProcess:
    """`git ARGS` in `cwd`, its output captured; no git on PATH is said with what needed it. Asked
    before running, so that a `cwd` that is not there stays an OSError of its own."""
    if shutil.which("git") is None:
        raise TfgenError(f"git is not on PATH: {needed_for}; install git, or run it where git is")
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
