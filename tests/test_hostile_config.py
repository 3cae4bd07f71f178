"""YAML and file names as a careless or hostile user writes them (issue 22, classes 3 and 5):
names that would become paths or HCL, inherits: outside the folder, keys YAML 1.1 converts,
tags, impossible values, aliases and nesting that used to end in a traceback. Each is an
error naming the file (and line where there is one), exit 1, and nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.config.loader import load_environment
from tests.conftest import MINIMAL


def render(config_dir: Path, out: Path, *args: str):
    return CliRunner().invoke(cli, ["--config-dir", str(config_dir), "--out-dir", str(out), "render", *args])


def written(tmp_path: Path) -> set[str]:
    return {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")} - {"environments"} - {
        str(p.relative_to(tmp_path)) for p in (tmp_path / "environments").rglob("*")}


def assert_refused(result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.output.startswith("Error: "), result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


@pytest.mark.parametrize("name", ["...", "..", "prod\nresource \"x\" \"y\" {}", "-prod", "a b", "prod.old"])
def test_a_file_whose_name_cannot_be_an_environment_is_refused_and_nothing_is_rendered(config_dir, tmp_path, name):
    """The name becomes out/NAME and the header comment of every file: `...yaml` rendered into
    out/.., a newline put HCL into every rendered file."""
    (config_dir / f"{name}.yaml").write_text(MINIMAL)
    result = render(config_dir, tmp_path / "out", "--all")
    assert_refused(result, f"{name}.yaml", "cannot be an environment's name")
    assert written(tmp_path) == set()


def test_a_folder_or_a_dangling_link_named_like_an_environment_is_an_error(config_dir, tmp_path):
    (config_dir / "dir.yaml").mkdir()
    assert_refused(render(config_dir, tmp_path / "out", "test"), "dir.yaml", "is not a file")
    (config_dir / "dir.yaml").rmdir()
    (config_dir / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
    assert_refused(render(config_dir, tmp_path / "out", "test"), "gone.yaml", "is not a file")
    assert written(tmp_path) == set()


@pytest.mark.parametrize("parent", ["../outside", "/etc/passwd", "sub/_shared", "_shared.yaml"])
def test_inherits_names_a_file_in_the_same_folder_only(config_dir, tmp_path, parent):
    (tmp_path / "outside.yaml").write_text(MINIMAL)
    (config_dir / "sub").mkdir()
    (config_dir / "sub" / "_shared.yaml").write_text(MINIMAL)
    (config_dir / "test.yaml").write_text(f"inherits: {parent}\n" + MINIMAL)
    assert_refused(render(config_dir, tmp_path / "out", "test"), "test.yaml:1: inherits:", "same folder")


def test_keys_are_the_strings_written_not_what_yaml_1_1_makes_of_them(config_dir):
    """YAML 1.1 reads `007` as the number 7 and `no` as false: team 007 rendered as teams/7."""
    text = MINIMAL.replace("  rc:\n", "  '007':\n    execution_role: r\n    projects:\n      p1: {}\n  rc:\n")
    text = text.replace("      fraud-detection: {}\n", "      fraud-detection: {}\n  no:\n    execution_role: r\n"
                                                        "    projects:\n      p2: {}\n")
    (config_dir / "test.yaml").write_text(text.replace("'007'", "007"))
    assert sorted(load_environment(config_dir, "test").config.teams) == ["007", "no", "rc"]


@pytest.mark.parametrize(("value", "message"), [
    ("!foo bar", "the YAML tag !foo is not supported"),
    ("!!int ten", "'ten' is not a valid int"),
    ("2026-02-30", "'2026-02-30' is not a valid timestamp"),
    ("!!python/object/apply:os.system [echo hacked]", "is not supported"),
])
def test_tags_and_impossible_values_are_located_errors(config_dir, tmp_path, value, message):
    (config_dir / "test.yaml").write_text(MINIMAL + f"protected: {value}\n")
    assert_refused(render(config_dir, tmp_path / "out", "test"), "test.yaml:15: protected: ", message)
    assert written(tmp_path) == set()


def test_an_alias_that_contains_itself_is_an_error(config_dir, tmp_path):
    (config_dir / "test.yaml").write_text(MINIMAL + "vpc_endpoints:\n  extra: &loop [*loop]\n")
    assert_refused(render(config_dir, tmp_path / "out", "test"), "test.yaml:16: ", "nested deeper than")


def test_fifty_thousand_nested_lists_are_an_error_not_a_crash(config_dir, tmp_path):
    """libyaml composes in C, where no RecursionError can stop it: its scanner refuses such a
    depth itself, and that is a located error too, in a process of its own, as a user runs it."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    (config_dir / "test.yaml").write_text(MINIMAL + "tags: " + "[" * 50_000 + "]" * 50_000 + "\n")
    result = subprocess.run([sys.executable, "-c", "from generator.cli import main; main()", "--config-dir",
                             str(config_dir), "--out-dir", str(tmp_path / "out"), "render", "test"],
                            capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 1, (result.returncode, result.stderr[-500:])
    assert "test.yaml:15: invalid YAML: while increasing flow level exceeded maximum nesting depth" \
        in result.stderr, result.stderr


def test_six_hundred_nested_mappings_are_an_error_not_a_recursion_error(config_dir, tmp_path):
    (config_dir / "test.yaml").write_text(MINIMAL + "tags:" + " {a:" * 600 + " 1" + "}" * 600 + "\n")
    assert_refused(render(config_dir, tmp_path / "out", "test"), "test.yaml", "nested deeper than")



def test_a_rendered_file_that_is_not_utf8_is_an_error_of_check_at_its_line(tmp_path):
    """Terraform reads configuration as UTF-8; a stray byte used to be a UnicodeDecodeError."""
    import shutil

    from tests.conftest import ENVIRONMENTS, OUT

    shutil.copytree(OUT / "dev", tmp_path / "dev")
    (tmp_path / "dev/platform/bad.tf").write_bytes(b'resource "x" "y" {\n  a = "\xff"\n}\n')
    result = CliRunner().invoke(cli, ["--config-dir", str(ENVIRONMENTS), "--out-dir", str(tmp_path), "check", "dev",
                                      "--no-checkov"])
    assert_refused(result, f"{tmp_path}/dev/platform/bad.tf:2: not UTF-8 (byte 0xff)")
