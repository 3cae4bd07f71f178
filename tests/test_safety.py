"""render never destroys what it does not own, and a protected environment never loses data
by a deleted line of YAML."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.errors import TfgenError
from generator.render.templates import render
from generator.render.writer import write
from tests.conftest import MINIMAL, copy_root, tf

PROTECTED = MINIMAL.replace("      fraud-detection: {}\n", "      fraud-detection:\n        endpoints: {scoring: {}}\n"
                                                          "      aml: {}\n") + "protected: true\n"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_write_that_fails_midway_changes_nothing(config_dir, tmp_path, monkeypatch):
    """A full disk at any write of a render (the journal, any temporary): exit 1 with the error,
    out/ENV exactly as it was, no temporary left; the render after it writes everything."""
    out = tmp_path / "out"
    args = ["--config-dir", str(config_dir), "--out-dir", str(out), "render", "test"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    before = snapshot(out / "test"), sorted(p for p in out.rglob("*"))
    (config_dir / "test.yaml").write_text(MINIMAL.replace("10.0.0.0/16", "10.1.0.0/16")
                                          + "  algo:\n    execution_role: algo-sagemaker\n    projects:\n      recs: {}\n"
                                          + "ecr:\n  image_retention: 3\n")
    real_write, failing_at = os.write, 0
    while True:
        failing_at += 1
        calls = []

        def full_disk(fd, data):
            calls.append(fd)
            if len(calls) == failing_at:
                raise OSError(28, "No space left on device")
            return real_write(fd, data)

        monkeypatch.setattr(os, "write", full_disk)
        result = CliRunner().invoke(cli, args)
        monkeypatch.setattr(os, "write", real_write)
        if len(calls) < failing_at:  # no write failed: past the last one, the render went through
            break
        assert result.exit_code == 1
        assert re.fullmatch(rf"Error: cannot write {re.escape(str(out / 'test'))}/[^:]+: No space left on device; "
                            r"nothing was changed \(what was written is removed\)\n", result.output), result.output
        assert (snapshot(out / "test"), sorted(p for p in out.rglob("*"))) == before
    assert result.exit_code == 0 and failing_at > 5, result.output
    assert "teams/algo/iam.tf" in snapshot(out / "test")


MARK = ".tfgen-journal.committed"  # docs/safety.md: a commit's point of no return


def render_all(config_dir: Path, out: Path):
    return CliRunner().invoke(cli, ["--config-dir", str(config_dir), "--out-dir", str(out), "render", "--all"])


def two_environments(config_dir: Path, tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """`other` and `test` rendered, then both YAML files changed: the next `render --all` writes both."""
    (config_dir / "other.yaml").write_text(MINIMAL)
    out = tmp_path / "out"
    assert render_all(config_dir, out).exit_code == 0
    for name in ("other", "test"):
        (config_dir / f"{name}.yaml").write_text(MINIMAL.replace("10.0.0.0/16", "10.1.0.0/16")
                                                 + "  algo:\n    execution_role: algo-sagemaker\n    projects:\n"
                                                   "      recs: {}\n")
    return out, snapshot(out)


@pytest.mark.parametrize("failing", [1, 2], ids=["first mark", "second mark"])
def test_a_full_disk_at_a_commit_mark_changes_no_environment(config_dir, tmp_path, monkeypatch, failing):
    """`render --all` marks every environment's commit before it renames anything: a full disk at
    the second environment's mark left the first one marked (completed by its next render while
    the second was rolled back), though docs/safety.md says such a failure changes none."""
    out, before = two_environments(config_dir, tmp_path)
    real_open, marks = os.open, []

    def full_disk_at_a_mark(path, flags, mode=0o777, *, dir_fd=None):
        if path == MARK:
            marks.append(path)
            if len(marks) == failing:
                raise OSError(errno.EDQUOT if failing == 2 else errno.ENOSPC, "No space left on device")
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", full_disk_at_a_mark)
    result = render_all(config_dir, out)
    monkeypatch.setattr(os, "open", real_open)
    assert result.exit_code == 1
    assert result.output.endswith("; nothing was changed (what was written is removed)\n"), result.output
    assert snapshot(out) == before and sorted(p.name for p in out.rglob(".*")) == [".tfgen-manifest.json"] * 2
    again = render_all(config_dir, out)
    assert again.exit_code == 0 and "interrupted" not in again.output, again.output


def test_a_failure_after_the_marks_names_every_environment_left_to_finish(config_dir, tmp_path, monkeypatch):
    """Past the marks, a failure (here the first rename) leaves each environment not yet played
    forward marked: the error names them all, and the next render completes each."""
    out, _ = two_environments(config_dir, tmp_path)
    real_replace = os.replace

    def failing_once(*args, **kwargs):
        monkeypatch.setattr(os, "replace", real_replace)
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "replace", failing_once)
    result = render_all(config_dir, out)
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: render of other, test was interrupted writing {out / 'other'}, "
                                    f"{out / 'test'}: Input/output error"), result.output
    assert result.output.endswith("render them again to finish them\n"), result.output
    again = render_all(config_dir, out)
    assert again.exit_code == 0, again.output
    for name in ("other", "test"):
        assert f"{name}: completed the render interrupted in {out / name}\n" in again.output


def test_an_up_to_date_render_writes_nothing_so_a_read_only_tree_passes(config_dir, tmp_path, monkeypatch):
    """A render with nothing to change changes nothing on disk: on a read-only file system (here
    every call that would change the disk fails as one does, EROFS) it exits 0; it used to remove
    the commit mark, absent or not, and unlinkat fails with EROFS even for a missing name."""
    out = tmp_path / "out"
    args = ["--config-dir", str(config_dir), "--out-dir", str(out), "render", "test"]
    assert CliRunner().invoke(cli, args).exit_code == 0

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    real_open, real_stat = os.open, os.stat

    def open_read_only(path, flags, mode=0o777, *, dir_fd=None):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC):
            read_only()
        return real_open(path, flags, mode, dir_fd=dir_fd)

    def mkdir_read_only(path, mode=0o777, *, dir_fd=None):  # Linux says EEXIST first, as here
        try:
            real_stat(path, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            read_only()
        raise FileExistsError(errno.EEXIST, "File exists", str(path))

    for name in ("write", "replace", "rename", "unlink", "rmdir", "truncate", "symlink", "link"):
        monkeypatch.setattr(os, name, read_only)
    monkeypatch.setattr(os, "open", open_read_only)
    monkeypatch.setattr(os, "mkdir", mkdir_read_only)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0 and "(0 written, 15 unchanged, 0 removed)" in result.output, result.output
    assert CliRunner().invoke(cli, [*args, "--check"]).exit_code == 0


@pytest.mark.parametrize("check", [False, True], ids=["render", "check"])
def test_an_error_reading_out_env_names_the_path(config_dir, tmp_path, monkeypatch, check):
    """Files are opened by name within their folder, so an error named the bare name: `Permission
    denied (iam.tf)`, which of the roots' iam.tf unsaid. It names the path in out/ENV."""
    out = tmp_path / "out"
    args = ["--config-dir", str(config_dir), "--out-dir", str(out), "render", "test", *(["--check"] if check else [])]
    assert CliRunner().invoke(cli, args[:-1] if check else args).exit_code == 0
    real_open = os.open

    def denied(path, flags, mode=0o777, *, dir_fd=None):
        if path == "iam.tf" and dir_fd is not None:
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", denied)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert result.output == f"Error: cannot read {out / 'test' / 'teams/rc/iam.tf'}: Permission denied\n"


def test_removing_a_project_from_a_protected_environment_is_refused(config_dir, tmp_path):
    (config_dir / "test.yaml").write_text(PROTECTED)
    out = tmp_path / "out" / "test"
    write(render(config_dir, "test"), out)
    before = snapshot(out)
    (config_dir / "test.yaml").write_text(PROTECTED.replace("      aml: {}\n", ""))
    with pytest.raises(TfgenError) as caught:
        write(render(config_dir, "test"), out)
    assert caught.value.message == (
        "refusing to render test: it is protected, and applying this would destroy resources that hold images, "
        "model versions or logs:\n"
        "  teams/rc: aws_ecr_repository.aml_inference\n"
        "  teams/rc: aws_ecr_repository.aml_preprocessing\n"
        "  teams/rc: aws_ecr_repository.aml_training\n"
        "  teams/rc: aws_sagemaker_model_package_group.aml\n"
        "To stop managing a project and keep its resources, mark it `retired: true` in the YAML instead of "
        "deleting it.")
    assert snapshot(out) == before


def test_removing_a_whole_team_is_refused_too(config_dir, tmp_path):
    (config_dir / "test.yaml").write_text(PROTECTED.replace("protected: true\n", "")
                                          + "  algo:\n    execution_role: algo-sagemaker\n    projects:\n      recs: {}\n"
                                          "protected: true\n")
    out = tmp_path / "out" / "test"
    write(render(config_dir, "test"), out)
    (config_dir / "test.yaml").write_text(PROTECTED)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(TfgenError) as caught:
        write(render(config_dir, "test"), out)
    assert "team algo is no longer in the YAML, but the last render of its root still managed resources" \
        in caught.value.message
    assert f"{out}/teams/algo" in caught.value.message
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_retired_project_becomes_removed_blocks_that_keep_everything(config_dir, tmp_path, tf_state_dir):
    (config_dir / "test.yaml").write_text(PROTECTED)
    out = tmp_path / "out" / "test"
    write(render(config_dir, "test"), out)
    (config_dir / "test.yaml").write_text(PROTECTED.replace("        endpoints: {scoring: {}}\n",
                                                            "        endpoints: {scoring: {}}\n        retired: true\n"))
    result = CliRunner().invoke(cli, ["--config-dir", str(config_dir), "--out-dir", str(tmp_path / "out"),
                                      "render", "test"])
    assert result.exit_code == 0, result.output
    retired = (out / "teams/rc/retired.tf").read_text()
    addresses = [line.split("= ")[1] for line in retired.splitlines() if line.strip().startswith("from =")]
    assert addresses == [
        "aws_ecr_repository.fraud_detection_preprocessing", "aws_ecr_repository.fraud_detection_training",
        "aws_ecr_repository.fraud_detection_inference", "aws_sagemaker_model_package_group.fraud_detection",
        "aws_cloudwatch_log_group.scoring", "aws_ecr_lifecycle_policy.fraud_detection_preprocessing",
        "aws_ecr_lifecycle_policy.fraud_detection_training", "aws_ecr_lifecycle_policy.fraud_detection_inference"]
    assert retired.count("destroy = false") == len(addresses)
    assert "fraud_detection" not in (out / "teams/rc/ecr.tf").read_text()
    work = copy_root(out / "teams/rc", tmp_path / "rc")
    tf(["init", "-backend=false", "-input=false", "-no-color"], cwd=work, state_dir=tf_state_dir)
    assert tf(["validate", "-no-color"], cwd=work, state_dir=tf_state_dir, check=False).returncode == 0
    assert tf(["fmt", "-check", "-no-color"], cwd=work, state_dir=tf_state_dir, check=False).returncode == 0


def test_retiring_outside_protection_simply_stops_rendering(config_dir):
    (config_dir / "test.yaml").write_text(MINIMAL + "      aml:\n        retired: true\n")
    files = render(config_dir, "test").files
    assert "teams/rc/retired.tf" not in files
    assert "acme-sm-rc-aml/" not in files["teams/rc/ecr.tf"]
    assert "acme-sm-rc-fraud-detection/" in files["teams/rc/ecr.tf"]


def test_adoption_renders_import_blocks(config_dir):
    (config_dir / "test.yaml").write_text(
        MINIMAL.replace("fraud-detection: {}", "fraud-detection:\n        adopt_existing: true\n"
                                               "        endpoints: {scoring: {adopt_existing_log_group: true}}")
        + "logs:\n  adopt_existing_job_log_groups: true\n")
    files = render(config_dir, "test").files
    platform = files["platform/imports.tf"]
    assert 'to = aws_cloudwatch_log_group.training_jobs\n  id = "/aws/sagemaker/TrainingJobs"' in platform
    team = files["teams/rc/imports.tf"]
    assert team.count("import {") == 5  # three repositories, the group, the endpoint's log group
    assert 'to = aws_sagemaker_model_package_group.fraud_detection\n  id = "rc-fraud-detection"' in team
