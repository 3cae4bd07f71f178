"""The tools that fit tfgen into a platform engineer's day: render --check, diff, affected,
schema, and the colour rule (on a terminal only)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from generator.cli import cli
from generator.config.schema import schema_text
from tests.conftest import ENVIRONMENTS, MINIMAL, REPO

SCHEMA = REPO / "schema" / "environment.schema.json"


def invoke(config_dir: Path, out: Path, *args: str, color: bool = False):
    return CliRunner().invoke(cli, ["--config-dir", str(config_dir), "--out-dir", str(out), *args],
                              catch_exceptions=False, color=color)


@pytest.fixture
def rendered(config_dir, tmp_path):
    out = tmp_path / "out"
    assert invoke(config_dir, out, "render", "test").exit_code == 0
    return config_dir, out


# --- render --check ------------------------------------------------------------------------


def test_render_check_passes_when_out_is_current(rendered):
    config_dir, out = rendered
    result = invoke(config_dir, out, "render", "test", "--check")
    assert result.exit_code == 0
    assert result.output == f"test: up to date ({out / 'test'})\n"


def test_render_check_lists_what_differs_and_writes_nothing(rendered):
    config_dir, out = rendered
    edited = out / "test/platform/logs.tf"
    edited.write_text(edited.read_text() + "# hand edit\n")
    (config_dir / "test.yaml").write_text(MINIMAL + "  algo:\n    execution_role: algo-sagemaker\n"
                                                    "    projects:\n      recs: {}\n")
    before = sorted(p for p in out.rglob("*") if p.is_file())
    result = invoke(config_dir, out, "render", "test", "--check")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert f"differs: {edited}" in lines
    assert f"missing: {out / 'test/teams/algo/iam.tf'}" in lines
    assert f"differs: {out / 'test/.tfgen-manifest.json'}" in lines
    assert lines[-1].endswith("files not as the YAML gives: run `tfgen render test` and commit")
    everything = invoke(config_dir, out, "render", "--all", "--check")
    assert everything.output.splitlines()[-1].endswith("run `tfgen render --all` and commit")  # a real command
    assert sorted(p for p in out.rglob("*") if p.is_file()) == before


def test_render_check_sees_files_no_longer_generated(rendered):
    config_dir, out = rendered
    (config_dir / "test.yaml").write_text(MINIMAL + "ecr:\n  enabled: false\n")
    result = invoke(config_dir, out, "render", "--all", "--check")
    assert result.exit_code == 1
    assert f"no longer generated: {out / 'test/platform/ecr.tf'}" in result.output.splitlines()


def test_the_committed_examples_are_current():
    result = CliRunner().invoke(cli, ["--config-dir", str(ENVIRONMENTS), "--out-dir", str(REPO / "out"),
                                      "render", "--all", "--check"])
    assert result.exit_code == 0, result.output


# --- diff ----------------------------------------------------------------------------------


def test_diff_speaks_in_the_platforms_terms(rendered):
    config_dir, out = rendered
    (config_dir / "test.yaml").write_text(
        MINIMAL.replace("10.0.0.0/16", "10.1.0.0/16")
        + "      credit-scoring:\n        endpoints:\n          credit-api: {}\n")
    result = invoke(config_dir, out, "diff", "test", "--summary-only")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    # The project runs as its team's existing role: it gets a policy on it, not a role.
    assert "+ project rc/credit-scoring: 3 repositories, 1 model package group, 1 role policy" in lines
    assert "+ endpoint credit-api (teams/rc): 1 log group" in lines
    assert ("~ acme-sm-training group: + ingress tcp/443 from 10.1.0.0/16; - ingress tcp/443 from 10.0.0.0/16"
            in lines)
    full = invoke(config_dir, out, "diff", "test").output
    assert f"--- a/{out / 'test/platform/security_groups.tf'}" in full
    assert '+  cidr_ipv4         = "10.1.0.0/16"' in full
    assert not (out / "test/teams/rc/ecr.tf").read_text().count("credit")  # diff writes nothing


def test_diff_json_and_no_changes(rendered):
    config_dir, out = rendered
    assert invoke(config_dir, out, "diff", "test").output == "test: no changes\n"
    (config_dir / "test.yaml").write_text(MINIMAL.replace("fraud-detection: {}",
                                                          "fraud-detection:\n        image_retention: 3"))
    data = json.loads(invoke(config_dir, out, "diff", "test", "--format", "json").output)
    assert data["files"] == ["teams/rc/ecr.tf"]
    assert data["summary"] == [  # what changed, from what to what, inside the policy document
        f"~ lifecycle policy acme-sm-rc-fraud-detection/{stage} (teams/rc): policy.rules[3].description: Keep the "
        "10 most recent images tagged build-* -> Keep the 3 most recent images tagged build-*; "
        "policy.rules[3].selection.countNumber: 10 -> 3"
        for stage in ("inference", "preprocessing", "training")]


def test_diff_gives_a_project_its_own_resources_beside_a_longer_name(rendered):
    """`fraud` beside `fraud-detection`: fraud_detection_* labels are fraud-detection's, not fraud's."""
    config_dir, out = rendered
    (config_dir / "test.yaml").write_text(MINIMAL + "  ds:\n    execution_role: ds-sagemaker\n    projects:\n"
                                                    "      fraud: {}\n      fraud-detection: {}\n")
    lines = invoke(config_dir, out, "diff", "test", "--summary-only").output.splitlines()
    assert lines == ["+ project ds/fraud: 3 repositories, 1 model package group, 1 role policy",
                     "+ project ds/fraud-detection: 3 repositories, 1 model package group, 1 role policy"]
    (config_dir / "test.yaml").write_text(MINIMAL.replace("      fraud-detection: {}\n", "      fraud: {}\n"))
    lines = invoke(config_dir, out, "diff", "test", "--summary-only").output.splitlines()
    assert lines == ["+ project rc/fraud: 3 repositories, 1 model package group, 1 role policy",
                     "- project rc/fraud-detection: 3 repositories, 1 model package group, 1 role policy "
                     "(apply destroys them)"]


def test_diff_tells_retiring_from_deleting_and_from_dropping_a_retired_project(rendered):
    config_dir, out = rendered
    protected = MINIMAL + "protected: true\n"
    (config_dir / "test.yaml").write_text(protected)
    invoke(config_dir, out, "render", "test")
    (config_dir / "test.yaml").write_text(protected.replace("fraud-detection: {}",
                                                            "fraud-detection:\n        retired: true"))
    lines = invoke(config_dir, out, "diff", "test", "--summary-only").output.splitlines()
    # The removed blocks keep its repositories and group (AWS keeps them); its role policy the apply deletes.
    assert lines == ["- project rc/fraud-detection retired: 3 repositories, 1 model package group stay in AWS, no "
                     "longer managed; 1 role policy deleted by the apply"]
    invoke(config_dir, out, "render", "test")
    # Every copy applied the retirement; the project leaves the YAML, and its removed blocks go with it.
    (config_dir / "test.yaml").write_text(protected.replace("      fraud-detection: {}\n", "      other: {}\n"))
    lines = invoke(config_dir, out, "diff", "test", "--summary-only").output.splitlines()
    assert "- retired project rc/fraud-detection (teams/rc): its 7 removed blocks go; what they kept stays in AWS, " \
           "unmanaged" in lines


def test_diff_retiring_a_project_and_its_endpoint_says_what_stays_and_what_is_deleted(rendered):
    """Protected, alarms on: the project's repositories and group, and its endpoint's log group, stay in
    AWS (removed blocks); its role policy and the endpoint's alarms, the 5XX rate on metric math among
    them, are deleted. `churn-api` starts with its project's name `churn`: still the endpoint's own line."""
    config_dir, out = rendered
    ops = ("  ops:\n    execution_role: ops-sagemaker\n    projects:\n      churn:\n"
           "        endpoints: {churn-api: {}}\n")
    protected = MINIMAL + ops + "protected: true\nalarms: {enabled: true, emails: [a@b.example]}\n"
    (config_dir / "test.yaml").write_text(protected)
    invoke(config_dir, out, "render", "test")
    assert "metric_query" in (out / "test/teams/ops/endpoints.tf").read_text()  # the 5XX rate: metric math
    (config_dir / "test.yaml").write_text(protected.replace("      churn:\n", "      churn:\n        retired: true\n"))
    lines = invoke(config_dir, out, "diff", "test", "--summary-only").output.splitlines()
    assert lines == [
        "- project ops/churn retired: 3 repositories, 1 model package group stay in AWS, no longer managed; "
        "1 role policy deleted by the apply",
        "- endpoint churn-api (teams/ops) retired: its log group stays in AWS, no longer managed; 2 alarms deleted "
        "by the apply"]


def test_diff_lists_an_endpoints_alarms_under_it_those_on_metric_math_too(rendered):
    """The 5XX rate is an alarm on metric math (its endpoint named in its queries, not its dimensions):
    it is counted with its endpoint, never a line of its own."""
    config_dir, out = rendered
    alarms = "alarms: {enabled: true, emails: [a@b.example]}\n"
    (config_dir / "test.yaml").write_text(MINIMAL + alarms)
    invoke(config_dir, out, "render", "test")
    (config_dir / "test.yaml").write_text(MINIMAL.replace(
        "fraud-detection: {}", "fraud-detection:\n        endpoints: {scoring: {alarm_on_no_invocations: true}}")
        + alarms)
    lines = invoke(config_dir, out, "diff", "test", "--summary-only").output.splitlines()
    assert lines == ["+ endpoint scoring (teams/rc): 1 log group, 3 alarms"]
    invoke(config_dir, out, "render", "test")
    assert "metric_query" in (out / "test/teams/rc/endpoints.tf").read_text()
    (config_dir / "test.yaml").write_text(MINIMAL + alarms)
    lines = invoke(config_dir, out, "diff", "test", "--summary-only").output.splitlines()
    assert lines == ["- endpoint scoring (teams/rc): 1 log group, 3 alarms (apply destroys them)"]


def test_diff_names_platform_resources_as_the_platform_does(rendered):
    config_dir, out = rendered
    (config_dir / "test.yaml").write_text(MINIMAL + "vpc_endpoints:\n  extra: [kms, studio]\n")
    lines = invoke(config_dir, out, "diff", "test", "--summary-only").output.splitlines()
    assert lines == ["+ VPC endpoint kms (platform)", "+ VPC endpoint studio (platform)"]


# --- affected ------------------------------------------------------------------------------


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def test_affected_lists_the_roots_that_changed_since_a_revision(tmp_path):
    repo = tmp_path / "platform-repo"
    (repo / "environments").mkdir(parents=True)
    (repo / "environments" / "test.yaml").write_text(
        MINIMAL + "  algo:\n    execution_role: algo-sagemaker\n    projects:\n      recs: {}\n"
        "  ops:\n    execution_role: ops-sagemaker\n    projects:\n      churn: {}\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "ci@example.com")
    git(repo, "config", "user.name", "ci")

    def render_and_commit(message: str) -> None:
        result = CliRunner().invoke(cli, ["--config-dir", str(repo / "environments"), "--out-dir",
                                          str(repo / "out"), "render", "test"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", message)

    render_and_commit("first")
    text = (repo / "environments" / "test.yaml").read_text()
    text = text.replace("      recs: {}\n", "      recs:\n        image_retention: 4\n")  # algo changes
    text = text.replace("      churn: {}\n", "      churn:\n        retired: true\n")  # ops empties (not protected)
    text += "  new:\n    execution_role: new-sagemaker\n    projects:\n      thing: {}\n"  # a new team
    (repo / "environments" / "test.yaml").write_text(text)
    render_and_commit("second")

    result = CliRunner().invoke(cli, ["--out-dir", str(repo / "out"), "affected", "--base", "HEAD~1"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "out/test/teams/algo", "out/test/teams/new (added)", "out/test/teams/ops"]
    data = json.loads(CliRunner().invoke(cli, ["--out-dir", str(repo / "out"), "affected", "--base", "HEAD~1",
                                               "--format", "json"]).output)
    assert data[0] == {"root": "out/test/teams/algo", "env": "test", "status": "changed"}
    none = CliRunner().invoke(cli, ["--out-dir", str(repo / "out"), "affected", "--base", "HEAD"])
    assert none.exit_code == 0 and none.output == ""
    bad = CliRunner().invoke(cli, ["--out-dir", str(repo / "out"), "affected", "--base", "nope"])
    assert bad.exit_code == 2  # a usage error, with git's reason
    assert bad.output == ("Error: --base nope: bad revision 'nope' (git cannot find a commit named 'nope'; fetch "
                          "it, or give a branch, tag or commit that exists)\n")


# --- schema --------------------------------------------------------------------------------


def test_the_committed_schema_is_generated_from_the_models():
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0
    assert result.output == schema_text() == SCHEMA.read_text(), "regenerate: tfgen schema > schema/environment.schema.json"


def test_every_example_file_names_the_schema_and_fits_it():
    import jsonschema

    schema = json.loads(SCHEMA.read_text())
    for path in sorted(ENVIRONMENTS.glob("*.yaml")):
        assert path.read_text().startswith("# yaml-language-server: $schema=../schema/environment.schema.json\n")
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"ecr": {"image_retension": 3}}, schema)


# --- terminal output -----------------------------------------------------------------------


def test_colour_on_a_terminal_only(rendered):
    config_dir, out = rendered
    (config_dir / "test.yaml").write_text(MINIMAL.replace("10.0.0.0/16", "10.1.0.0/16"))
    plain = invoke(config_dir, out, "diff", "test", "--summary-only")
    coloured = invoke(config_dir, out, "diff", "test", "--summary-only", color=True)
    assert "\x1b[" not in plain.output
    assert "\x1b[33m~ acme-sm-training group" in coloured.output


def test_the_example_ci_and_hook_files_parse():
    workflow = yaml.safe_load((REPO / "docs/ci/tfgen.yml").read_text())
    steps = " ".join(str(s.get("run", "")) for s in workflow["jobs"]["gate"]["steps"])
    for command in ("tfgen render --all --check", "--report sarif=", "--report junit=", "tfgen affected"):
        assert command in steps
    # Plan and apply: one matrix entry per affected root, each in its own environment (and so with that
    # environment's role), never one role for every environment.
    for job in ("plan", "apply"):
        assert workflow["jobs"][job]["strategy"]["matrix"] == {"include": "${{ fromJson(needs.gate.outputs.roots) }}"}
        assert "matrix.env" in workflow["jobs"][job]["environment"]
    assert "{root, env}" in steps
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert {h["id"] for h in hooks} == {"tfgen-render-check", "tfgen-check"}
    assert shutil.which("git")


def test_affected_ignores_local_plan_files_but_not_terraform_files_it_would_read(tmp_path):
    """A `terraform plan -out=tfplan` and its `show -json` beside the root's files change
    nothing Terraform reads; an uncommitted x.tf.json does."""
    repo = tmp_path / "platform-repo"
    (repo / "environments").mkdir(parents=True)
    (repo / "environments" / "test.yaml").write_text(MINIMAL)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "ci@example.com")
    git(repo, "config", "user.name", "ci")
    rendered = CliRunner().invoke(cli, ["--config-dir", str(repo / "environments"), "--out-dir", str(repo / "out"),
                                        "render", "test"])
    assert rendered.exit_code == 0, rendered.output
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "first")
    (repo / "out/test/teams/rc/tfplan").write_bytes(b"PK\x03\x04 a saved plan")
    (repo / "out/test/teams/rc/plan.json").write_text("{}")

    def affected() -> str:
        result = CliRunner().invoke(cli, ["--out-dir", str(repo / "out"), "affected", "--base", "HEAD"])
        assert result.exit_code == 0, result.output
        return result.output

    assert affected() == ""
    (repo / "out/test/platform/extra.tf.json").write_text("{}")
    assert affected() == "out/test/platform\n"


OPS = "  ops:\n    execution_role: ops-sagemaker\n    projects:\n      churn: {}\n"


def platform_repo(tmp_path: Path, yaml_text: str):
    """A repository of environments/ and out/, its .gitignore this repository's (no state, no
    .terraform/); returns it and a function that writes the YAML, renders and commits."""
    repo = tmp_path / "platform-repo"
    (repo / "environments").mkdir(parents=True)
    (repo / ".gitignore").write_text(".terraform/\n*.tfstate\n*.tfstate.*\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "ci@example.com")
    git(repo, "config", "user.name", "ci")

    def render_and_commit(text: str, message: str) -> None:
        (repo / "environments" / "test.yaml").write_text(text)
        result = CliRunner().invoke(cli, ["--config-dir", str(repo / "environments"), "--out-dir",
                                          str(repo / "out"), "render", "test"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", message)

    render_and_commit(yaml_text, "first")
    return repo, render_and_commit


def test_affected_lists_an_emptied_root_as_changed_and_removed_only_after(tmp_path):
    """Retiring a team's last project used to delete its root: `affected` said removed and the CI
    example skipped it, leaving its resources in AWS with their state. The root is emptied now
    (its backend, no resources) and changed, so CI plans and applies it, destroying them."""
    repo, render_and_commit = platform_repo(tmp_path, MINIMAL + OPS)

    def affected(*extra: str) -> str:
        result = CliRunner().invoke(cli, ["--out-dir", str(repo / "out"), "affected", "--base", "HEAD~1", *extra])
        assert result.exit_code == 0, result.output
        return result.output

    render_and_commit(MINIMAL + OPS.replace("churn: {}", "churn:\n        retired: true"), "ops retires churn")
    assert affected() == "out/test/teams/ops\n"
    assert json.loads(affected("--format", "json")) == [{"root": "out/test/teams/ops", "env": "test",
                                                         "status": "changed"}]
    render_and_commit(MINIMAL, "ops goes, its emptied root applied")
    assert json.loads(affected("--format", "json")) == [{"root": "out/test/teams/ops", "env": "test",
                                                         "status": "removed"}]


def ci_step(job: str, name: str) -> str:
    steps = yaml.safe_load((REPO / "docs/ci/tfgen.yml").read_text())["jobs"][job]["steps"]
    return next(step["run"] for step in steps if step.get("name") == name)


def test_the_example_ci_skips_a_removed_root_only_once_its_state_is_empty(tmp_path, tf_state_dir):
    """The CI example skipped every removed root. Now a removed root's state is read, with its
    backend at the base revision, before anything is planned: resources left in it fail the run."""
    jobs = yaml.safe_load((REPO / "docs/ci/tfgen.yml").read_text())["jobs"]
    listed = ci_step("gate", "Affected roots, each with its environment")
    assert 'removed=$(jq -c \'[.[] | select(.status == "removed") | {root, env}]\' affected.json)' in listed
    assert jobs["gate"]["outputs"]["removed"] == "${{ steps.affected.outputs.removed }}"
    assert jobs["removed"]["strategy"]["matrix"] == {"include": "${{ fromJson(needs.gate.outputs.removed) }}"}
    assert "matrix.env" in jobs["removed"]["environment"]
    # Nothing is planned, so nothing applied, when the check fails; a skipped check (none removed) stops nothing.
    assert "removed" in jobs["plan"]["needs"] and jobs["plan"]["if"].startswith("${{ !failure() && !cancelled()")
    assert "plan" in jobs["apply"]["needs"] and jobs["apply"]["if"].startswith("${{ !failure() && !cancelled()")

    # The check, run as the job runs it, in a repository where ops's root was deleted by hand
    # while its (local) state still held what its apply had made.
    from generator.support import terraform

    repo, _ = platform_repo(tmp_path, MINIMAL + OPS)
    state = repo / "out/test/teams/ops/terraform.tfstate"
    resource = {"mode": "managed", "type": "aws_sagemaker_model_package_group", "name": "churn",
                "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
                "instances": [{"schema_version": 0, "attributes": {"id": "ops-churn"}, "sensitive_attributes": []}]}

    def state_holding(*resources: dict) -> None:
        state.write_text(json.dumps({"version": 4, "terraform_version": "1.11.4", "serial": 1, "outputs": {},
                                     "lineage": "8b3c0d2e-5a4f-4e27-9a0b-6f1d2c3e4a5b", "resources": resources}))

    state_holding(resource)
    base = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "rm", "-r", "-q", "out/test/teams/ops")
    git(repo, "commit", "-q", "-m", "ops deleted by hand")
    script = ci_step("removed", "Its state holds nothing").replace(
        "${{ needs.gate.outputs.base }}", base).replace("${{ matrix.root }}", "out/test/teams/ops")

    def check() -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-e", "-c", script], cwd=repo, capture_output=True, text=True,
                              env=terraform.environment(tf_state_dir))

    left = check()
    assert left.returncode == 1, left.stderr
    assert "::error::out/test/teams/ops is removed, but its state still holds what it managed" in left.stdout
    assert left.stdout.splitlines()[-1] == "aws_sagemaker_model_package_group.churn"
    state_holding()  # what the emptied root's apply leaves
    empty = check()
    assert empty.returncode == 0, empty.stdout + empty.stderr


def test_affected_without_git_on_path_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no git on it
    result = CliRunner().invoke(cli, ["--out-dir", str(tmp_path), "affected", "--base", "HEAD"])
    assert result.exit_code == 1
    assert result.output == ("Error: git is not on PATH: `tfgen affected` compares out/ with a git revision; "
                             "install git, or run it where git is\n")


def test_the_pre_commit_hook_checks_every_environment_not_one_named_in_it(tmp_path):
    """The hook used to run `tfgen check prod`: a repository without prod failed every commit,
    and one with more environments had only prod checked."""
    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    command = [*hooks["tfgen-check"]["entry"].split(), *hooks["tfgen-check"]["args"]]
    assert command[:2] == ["tfgen", "check"]
    config_dir = tmp_path / "environments"
    config_dir.mkdir()
    for name in ("one", "two"):
        (config_dir / f"{name}.yaml").write_text(MINIMAL)
    base = ["--config-dir", str(config_dir), "--out-dir", str(tmp_path / "out")]
    assert CliRunner().invoke(cli, [*base, "render", "--all"]).exit_code == 0
    clean = CliRunner().invoke(cli, [*base, *command[1:]])
    assert clean.exit_code == 0, clean.output
    assert [line.split(":")[0] for line in clean.output.splitlines()] == ["one", "two"]
    sg = tmp_path / "out/two/platform/security_groups.tf"
    sg.write_text(sg.read_text().replace('cidr_ipv4         = "10.0.0.0/16"', 'cidr_ipv4         = "0.0.0.0/0"', 1))
    dirty = CliRunner().invoke(cli, [*base, *command[1:]])
    assert dirty.exit_code == 1 and "two:" in dirty.output and "one: " in dirty.output, dirty.output


def test_the_example_ci_applies_the_reviewed_plan_not_a_fresh_one():
    """The apply job used to run `apply -auto-approve`, a new plan nobody reviewed."""
    jobs = yaml.safe_load((REPO / "docs/ci/tfgen.yml").read_text())["jobs"]
    plan_steps, apply_steps = jobs["plan"]["steps"], jobs["apply"]["steps"]
    uploaded = next(s for s in plan_steps if s.get("uses", "").startswith("actions/upload-artifact"))["with"]
    downloaded = next(s for s in apply_steps if s.get("uses", "").startswith("actions/download-artifact"))["with"]
    assert downloaded["name"] == uploaded["name"]
    # The plan and the lock file it was made with, downloaded where apply reads them, before init.
    assert uploaded["path"].splitlines() == [f"{downloaded['path']}/tfplan", f"{downloaded['path']}/.terraform.lock.hcl"]
    assert uploaded["include-hidden-files"] is True
    order = [s.get("uses", s.get("run", "")) for s in apply_steps]
    assert order.index(next(o for o in order if o.startswith("actions/download-artifact"))) < \
        order.index("terraform -chdir=${{ matrix.root }} init -input=false")
    applies = [s["run"] for s in apply_steps if "apply" in s.get("run", "")]
    assert applies == ["terraform -chdir=${{ matrix.root }} apply -input=false tfplan"]
    assert any("tfgen check ${{ matrix.env }}" in s.get("run", "") and "--plan" in s["run"] for s in plan_steps)


def test_terraform_refuses_a_saved_plan_once_the_state_moved_on(tmp_path, tf_state_dir):
    """What the CI example's apply relies on (Terraform's documentation of `apply PLAN`: a
    saved plan is applied exactly, and refused when stale), shown with a root that needs
    no provider: two plans from one state, the second applied after the first."""
    from tests.conftest import tf

    (tmp_path / "main.tf").write_text('resource "terraform_data" "x" {\n  input = "one"\n}\n')
    tf(["init", "-input=false"], tmp_path, tf_state_dir)
    tf(["plan", "-input=false", "-out=reviewed"], tmp_path, tf_state_dir)
    tf(["plan", "-input=false", "-out=other"], tmp_path, tf_state_dir)
    tf(["apply", "-input=false", "other"], tmp_path, tf_state_dir)
    stale = tf(["apply", "-input=false", "-no-color", "reviewed"], tmp_path, tf_state_dir, check=False)
    assert stale.returncode == 1
    assert "Saved plan is stale" in stale.stderr
