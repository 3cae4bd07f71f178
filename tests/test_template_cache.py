"""tfgen render's compiled templates, kept in $XDG_CACHE_HOME/tfgen/templates (as `tfgen render
--help` says): written by one render, loaded by the next, and never a cause of different output
or of an error. Each test runs the command and looks at the Terraform it writes and at the
cache's files: one rewritten was compiled again, one left as it was was loaded."""

from __future__ import annotations

import os
from pathlib import Path

import jinja2.bccache

from tests.conftest import ENVIRONMENTS, OUT, run_python

LONG_AGO = 1_000_000_000  # 2001: a cache file that still says so was not written again


def render_all(out: Path, cache_home: Path) -> dict[str, bytes]:
    """`tfgen render --all` with this cache home: the Terraform it wrote."""
    run_python("-c", "from generator.cli import main; main()", "--config-dir", str(ENVIRONMENTS), "--out-dir",
               str(out), "render", "--all", env={"XDG_CACHE_HOME": str(cache_home)})
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.tf"))}


def committed() -> dict[str, bytes]:
    return {str(p.relative_to(OUT)): p.read_bytes() for p in sorted(OUT.rglob("*.tf")) if ".terraform" not in p.parts}


def cached(cache_home: Path) -> list[Path]:
    return sorted((cache_home / "tfgen" / "templates").iterdir())


def backdate(paths: list[Path]) -> None:
    for path in paths:
        os.utime(path, (LONG_AGO, LONG_AGO))


def rewritten(paths: list[Path]) -> list[Path]:
    return [path for path in paths if path.stat().st_mtime != LONG_AGO]


def test_a_render_keeps_the_compiled_templates_and_the_next_loads_them(tmp_path):
    first = render_all(tmp_path / "first", tmp_path)
    files = cached(tmp_path)
    assert len(files) >= 15  # every template the examples use
    assert all(path.stat().st_mode & 0o077 == 0 for path in files)  # written for this user alone
    backdate(files)
    assert render_all(tmp_path / "again", tmp_path) == first == committed()
    assert rewritten(files) == [] and cached(tmp_path) == files


def test_a_damaged_cache_renders_the_same_terraform(tmp_path):
    """Every compiled template overwritten with garbage, cut short, emptied, or damaged just
    after jinja's header: each is a miss, compiled again and written afresh, and the
    Terraform is byte for byte the committed one."""
    render_all(tmp_path / "first", tmp_path)
    files = cached(tmp_path)
    header = len(jinja2.bccache.bc_magic)
    for index, path in enumerate(files):
        data = path.read_bytes()
        path.write_bytes([b"garbage", data[: len(data) // 2], b"", data[:header] + b"\xff" * 40][index % 4])
    backdate(files)
    assert render_all(tmp_path / "again", tmp_path) == committed()
    assert rewritten(files) == files


def test_a_cache_folder_that_cannot_be_made_is_no_cache(tmp_path):
    (tmp_path / "tfgen").write_text("a file where the cache folder would be\n")
    assert render_all(tmp_path / "out", tmp_path) == committed()
    assert (tmp_path / "tfgen").read_text() == "a file where the cache folder would be\n"


def test_compiled_templates_that_cannot_be_written_change_nothing_but_the_time(tmp_path):
    """A folder where each compiled template would be written: none can be read or written,
    and every render still gives the committed Terraform."""
    render_all(tmp_path / "first", tmp_path / "elsewhere")
    folder = tmp_path / "tfgen" / "templates"
    folder.mkdir(parents=True, mode=0o700)
    for path in cached(tmp_path / "elsewhere"):
        (folder / path.name).mkdir()
    for attempt in ("out", "again"):
        assert render_all(tmp_path / attempt, tmp_path) == committed()
    assert all(path.is_dir() for path in cached(tmp_path))
