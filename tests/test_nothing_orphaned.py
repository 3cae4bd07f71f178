"""Nothing orphaned: a team's root stays, with its backend and no resources, until its apply
has destroyed what its state held; and in a protected environment an endpoint leaves, or is
renamed, by retirement, its log group kept (docs/safety.md, "Nothing orphaned")."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from tests.conftest import MINIMAL, copy_root, tf

OPS = "  ops:\n    execution_role: ops-sagemaker\n    projects:\n      churn:\n        endpoints: {churn-api: {}}\n"
WITH_OPS = MINIMAL + OPS
# How a team is left with no project to manage: its last project retired, or its projects gone.
EMPTIED_OPS = {
    "its last project retired": MINIMAL + OPS.replace("endpoints: {churn-api: {}}", "retired: true"),
    "no projects": MINIMAL + "  ops: {}\n",
}
SCORING = MINIMAL.replace("      fraud-detection: {}\n", "      fraud-detection:\n        endpoints: {scoring: {}}\n")
PROTECTED = SCORING + "protected: true\nalarms: {enabled: true, emails: [ml-platform@acme.example]}\n"
BLOCKS = re.compile(r"^(resource|data|module|import|removed|moved) ", re.MULTILINE)


@pytest.fixture
def tfgen(config_dir: Path, tmp_path: Path):
    out = tmp_path / "out"

    def invoke(*args: str, yaml: str | None = None):
        if yaml is not None:
            (config_dir / "test.yaml").write_text(yaml)
        return CliRunner().invoke(cli, ["--config-dir", str(config_dir), "--out-dir", str(out), *args],
                                  catch_exceptions=False)

    invoke.out = out / "test"
    return invoke


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def words(path: Path) -> str:
    """A file's comments as one line of words."""
    return " ".join(path.read_text().replace("#", " ").split())


def applied_state(root: Path) -> None:
    """What `terraform apply` leaves in a root with local state: the state file and .terraform/
    (render never touches either)."""
    (root / "terraform.tfstate").write_text('{"version": 4, "resources": ["..."]}\n')
    (root / ".terraform").mkdir()
    (root / ".terraform" / "terraform.tfstate").write_text("{}\n")


# --- a team's root ---------------------------------------------------------------------------


@pytest.mark.parametrize("how", sorted(EMPTIED_OPS))
def test_a_team_with_no_project_left_keeps_its_root_with_its_backend_and_no_resources(tfgen, how, tmp_path,
                                                                                        tf_state_dir):
    """Retiring a team's last project (outside protection) used to delete the whole root, backend.tf
    included: nothing was left to destroy what its state held."""
    assert tfgen("render", "test", yaml=WITH_OPS).exit_code == 0
    ops = tfgen.out / "teams/ops"
    backend = (ops / "backend.tf").read_bytes()
    applied_state(ops)
    result = tfgen("render", "test", yaml=EMPTIED_OPS[how])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in ops.iterdir()) == [
        ".terraform", "backend.tf", "emptied.tf", "providers.tf", "terraform.tfstate", "versions.tf"]
    assert (ops / "backend.tf").read_bytes() == backend  # the same state, so its apply destroys what it holds
    assert [path.name for path in ops.glob("*.tf") if BLOCKS.search(path.read_text())] == []
    assert "its apply destroys whatever its state still holds" in words(ops / "emptied.tf")
    # A root Terraform takes as it is, and the gate passes.
    work = copy_root(ops, tmp_path / "ops")
    tf(["init", "-backend=false", "-input=false", "-no-color"], cwd=work, state_dir=tf_state_dir)
    assert tf(["validate", "-no-color"], cwd=work, state_dir=tf_state_dir, check=False).returncode == 0
    assert tf(["fmt", "-check", "-no-color"], cwd=work, state_dir=tf_state_dir, check=False).returncode == 0
    assert tfgen("check", "test", "--no-checkov").exit_code == 0
    assert "  teams/ops: emptied, no project left to manage" in tfgen("list").output.splitlines()


@pytest.mark.parametrize("protected", [False, True], ids=["unprotected", "protected"])
def test_deleting_a_team_whose_root_still_manages_resources_is_refused_and_nothing_is_written(tfgen, protected):
    extra = "protected: true\n" if protected else ""
    assert tfgen("render", "test", yaml=WITH_OPS + extra).exit_code == 0
    applied_state(tfgen.out / "teams/ops")
    before = snapshot(tfgen.out)
    result = tfgen("render", "test", yaml=MINIMAL + extra)
    assert result.exit_code == 1
    first = ("keep it in the YAML with each of its projects marked `retired: true` (their images, model versions "
             "and logs stay in AWS), render, and apply its root: the apply destroys the rest") if protected else (
             "keep it in the YAML with no projects (ops: {}) or with each project marked `retired: true`, render, "
             "and apply its root: emptied (its backend, no resources), its apply destroys what its state holds")
    assert result.output == (
        "Error: refusing to render test: team ops is no longer in the YAML, but the last render of its root still "
        f"managed resources:\n  {tfgen.out / 'teams/ops'}\n"
        "Removing a root would leave what its state holds in AWS, unmanaged, with nothing left to destroy it. "
        f"Take a team out in two steps:\n  1. {first};\n"
        "  2. once `terraform state list` in its root prints nothing, delete the team from the YAML and render "
        "again: render then removes the root (docs/safety.md, \"Nothing orphaned\").\n")
    assert snapshot(tfgen.out) == before
    assert tfgen("diff", "test", "--summary-only").output.splitlines()[0] == (
        "! teams/ops: its team is no longer in the YAML, but its root still manages resources: render refuses to "
        "remove it until a render has emptied it (docs/safety.md, \"Nothing orphaned\")")
    # Renaming a team is deleting one: refused the same way.
    renamed = tfgen("render", "test", yaml=WITH_OPS.replace("  ops:\n", "  operations:\n") + extra)
    assert renamed.exit_code == 1 and "team ops is no longer in the YAML" in renamed.output
    assert snapshot(tfgen.out) == before


def test_a_team_deleted_once_its_root_was_emptied_takes_the_root_with_it(tfgen):
    assert tfgen("render", "test", yaml=WITH_OPS).exit_code == 0
    ops = tfgen.out / "teams/ops"
    applied_state(ops)
    assert tfgen("render", "test", yaml=EMPTIED_OPS["its last project retired"]).exit_code == 0
    result = tfgen("render", "test", yaml=MINIMAL)
    assert result.exit_code == 0, result.output
    assert "4 removed" in result.output
    assert sorted(p.name for p in ops.iterdir()) == [".terraform", "terraform.tfstate"]  # never render's to delete
    manifest = json.loads((tfgen.out / ".tfgen-manifest.json").read_text())
    assert [path for path in manifest["files"] if path.startswith("teams/ops/")] == []
    assert tfgen("render", "test", "--check").exit_code == 0


def test_a_protected_team_whose_projects_are_all_retired_is_emptied_and_keeps_their_data(tfgen):
    assert tfgen("render", "test", yaml=WITH_OPS + "protected: true\n").exit_code == 0
    retired = EMPTIED_OPS["its last project retired"].replace("        retired: true\n",
                                                              "        endpoints: {churn-api: {}}\n"
                                                              "        retired: true\n")
    result = tfgen("render", "test", yaml=retired + "protected: true\n")
    assert result.exit_code == 0, result.output
    ops = tfgen.out / "teams/ops"
    assert sorted(p.name for p in ops.glob("*.tf")) == [
        "backend.tf", "emptied.tf", "providers.tf", "retired.tf", "versions.tf"]
    assert "aws_cloudwatch_log_group.churn_api" in (ops / "retired.tf").read_text()
    assert "but for what retired.tf keeps" in words(ops / "emptied.tf")
    # Its removed blocks are all it held: once applied, the team may leave the YAML.
    assert tfgen("render", "test", yaml=MINIMAL + "protected: true\n").exit_code == 0
    assert list(ops.glob("*.tf")) == []


# --- endpoints in a protected environment ----------------------------------------------------


def removed_blocks(text: str) -> list[tuple[str, str]]:
    """(from, destroy) of each `removed` block."""
    return re.findall(r"removed \{\n\s+from\s+= (\S+)\n\n\s+lifecycle \{\n\s+destroy = (\w+)", text)


def test_retiring_an_endpoint_of_a_protected_environment_keeps_its_log_group(tfgen, tmp_path, tf_state_dir):
    """Removing an endpoint was refused ("mark it retired") while endpoints had no `retired`."""
    assert tfgen("render", "test", yaml=PROTECTED).exit_code == 0
    result = tfgen("render", "test", yaml=PROTECTED.replace("{scoring: {}}", "{scoring: {retired: true}}"))
    assert result.exit_code == 0, result.output
    rc = tfgen.out / "teams/rc"
    assert removed_blocks((rc / "retired.tf").read_text()) == [("aws_cloudwatch_log_group.scoring", "false")]
    assert "# rc/fraud-detection: endpoint scoring (retired)" in (rc / "retired.tf").read_text()
    assert not (rc / "endpoints.tf").exists()  # its alarms go; its log group stays in AWS
    assert tfgen("check", "test", "--no-checkov").exit_code == 0
    work = copy_root(rc, tmp_path / "rc")
    tf(["init", "-backend=false", "-input=false", "-no-color"], cwd=work, state_dir=tf_state_dir)
    assert tf(["validate", "-no-color"], cwd=work, state_dir=tf_state_dir, check=False).returncode == 0


def test_renaming_an_endpoint_of_a_protected_environment_is_retiring_the_old_name(tfgen):
    assert tfgen("render", "test", yaml=PROTECTED).exit_code == 0
    before = snapshot(tfgen.out)
    renamed = tfgen("render", "test", yaml=PROTECTED.replace("{scoring: {}}", "{scoring-v2: {}}"))
    assert renamed.exit_code == 1
    assert "  teams/rc: aws_cloudwatch_log_group.scoring\n" in renamed.output
    assert snapshot(tfgen.out) == before
    renamed = PROTECTED.replace("{scoring: {}}", "{scoring: {retired: true}, scoring-v2: {}}")
    result = tfgen("render", "test", yaml=renamed)
    assert result.exit_code == 0, result.output
    rc = tfgen.out / "teams/rc"
    assert removed_blocks((rc / "retired.tf").read_text()) == [("aws_cloudwatch_log_group.scoring", "false")]
    endpoints = (rc / "endpoints.tf").read_text()
    assert '"/aws/sagemaker/Endpoints/scoring-v2"' in endpoints
    assert '"/aws/sagemaker/Endpoints/scoring"' not in endpoints
    assert tfgen("check", "test", "--no-checkov").exit_code == 0


def test_retiring_a_project_keeps_the_log_groups_of_its_retired_endpoints_too(tfgen):
    yaml = PROTECTED.replace("{scoring: {}}", "{scoring: {}, batch: {retired: true}}")
    assert tfgen("render", "test", yaml=yaml).exit_code == 0
    retired = yaml.replace("        endpoints:", "        retired: true\n        endpoints:")
    result = tfgen("render", "test", yaml=retired)
    assert result.exit_code == 0, result.output
    kept = [address for address, _ in removed_blocks((tfgen.out / "teams/rc/retired.tf").read_text())]
    assert {"aws_cloudwatch_log_group.scoring", "aws_cloudwatch_log_group.batch"} <= set(kept)
    assert len(kept) == len(set(kept)) == 9  # 3 repositories and their policies, the group, two log groups


def test_a_retired_endpoint_outside_protection_is_destroyed_as_usual(tfgen):
    assert tfgen("render", "test", yaml=SCORING).exit_code == 0
    assert tfgen("render", "test", yaml=SCORING.replace("{scoring: {}}", "{scoring: {retired: true}}")).exit_code == 0
    assert sorted(p.name for p in (tfgen.out / "teams/rc").glob("*.tf")) == [
        "backend.tf", "ecr.tf", "iam.tf", "model_registry.tf", "outputs.tf", "providers.tf", "versions.tf"]


def test_an_endpoint_retired_where_its_team_still_declares_it_is_refused_at_its_line(tfgen):
    """A `removed` block and a resource at one address: Terraform refuses the root. An endpoint
    that moves between a team's projects keeps its log group's address, so needs no retirement."""
    yaml = PROTECTED.replace("{scoring: {}}", "{scoring: {retired: true}}").replace(
        "    projects:\n", "    projects:\n      moved:\n        endpoints: {scoring: {}}\n")
    result = tfgen("render", "test", yaml=yaml)
    assert result.exit_code == 1
    line = yaml.splitlines().index("        endpoints: {scoring: {retired: true}}") + 1
    assert result.output == (
        f"Error: {tfgen.out.parent.parent / 'environments/test.yaml'}:{line}: "
        "teams.rc.projects.fraud-detection.endpoints.scoring.retired: rc/moved declares this endpoint's log group "
        "again, in the same root: an endpoint that moves between a team's projects keeps its log group as it is; "
        "delete this retired entry\n")


def test_an_endpoints_retired_must_be_true_or_false_at_its_line(tfgen):
    yaml = PROTECTED.replace("{scoring: {}}", "{scoring: {retired: maybe}}")
    result = tfgen("render", "test", yaml=yaml)
    assert result.exit_code == 1
    line = yaml.splitlines().index("        endpoints: {scoring: {retired: maybe}}") + 1
    assert result.output.startswith(f"Error: {tfgen.out.parent.parent / 'environments/test.yaml'}:{line}: "
                                    "teams.rc.projects.fraud-detection.endpoints.scoring.retired: ")


def test_diff_tells_a_retired_endpoint_from_a_removed_one(tfgen):
    """Each endpoint's alarms are its own, those on metric math (the 5XX rate) too."""
    assert tfgen("render", "test", yaml=PROTECTED).exit_code == 0
    (tfgen.out.parent.parent / "environments/test.yaml").write_text(
        PROTECTED.replace("{scoring: {}}", "{scoring: {retired: true}, scoring-v2: {}}"))
    assert tfgen("diff", "test", "--summary-only").output.splitlines() == [
        "+ endpoint scoring-v2 (teams/rc): 1 log group, 2 alarms",
        "- endpoint scoring (teams/rc) retired: its log group stays in AWS, no longer managed; 2 alarms deleted by "
        "the apply"]
    assert tfgen("render", "test", yaml=SCORING).exit_code == 0
    (tfgen.out.parent.parent / "environments/test.yaml").write_text(SCORING.replace("{scoring: {}}", "{}"))
    assert tfgen("diff", "test", "--summary-only").output.splitlines() == [
        "- endpoint scoring (teams/rc): 1 log group (apply destroys them)"]
