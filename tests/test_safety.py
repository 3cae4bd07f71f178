"""render never destroys what it does not own, and a protected environment never loses data
by a deleted line of YAML."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.render import writer as render_module
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
    out = tmp_path / "out" / "test"
    write(render(config_dir, "test"), out)
    before = snapshot(out)
    (config_dir / "test.yaml").write_text(MINIMAL.replace("10.0.0.0/16", "10.1.0.0/16") + "ecr:\n  image_retention: 3\n")
    rendered = render(config_dir, "test")
    real_open, calls = open, []

    def failing_open(path, *args, **kwargs):
        calls.append(path)
        handle = real_open(path, *args, **kwargs)
        if len(calls) == 3:  # the third file: created, then the disk is full
            handle.close()
            raise OSError(28, "No space left on device")
        return handle

    monkeypatch.setattr(render_module, "open", failing_open, raising=False)
    with pytest.raises(OSError):
        write(rendered, out)
    assert snapshot(out) == before  # no file changed, no temporary left behind
    monkeypatch.undo()
    write(rendered, out)
    assert snapshot(out) != before


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
    with pytest.raises(TfgenError) as caught:
        write(render(config_dir, "test"), out)
    assert "  teams/algo: aws_sagemaker_model_package_group.recs\n" in caught.value.message


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
