"""`tfgen check`'s findings where people work: each names the YAML line its resource was declared
at, SARIF carries a run per tool, and the YAML's waivers accept a finding until a date.

SARIF's shape is the OASIS SARIF 2.1.0 standard's (locations, relatedLocations, suppressions
with kind "external" and status "accepted"; one run per tool); the waiver semantics are
docs/policies.md's ("Waivers").
"""

from __future__ import annotations

import datetime
import json
import re
import shutil
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.config.loader import load_environment
from generator.design.builder import design
from generator.design.origins import yaml_origins
from generator.read.inventory import from_hcl
from policies.engine import check
from tests.conftest import ENVIRONMENTS, EXAMPLE_ENVS, OUT, REPO

SSH_RULES = """
resource "aws_vpc_security_group_ingress_rule" "training_ssh" {
  # checkov:skip=CKV_AWS_24: added by hand
  description       = "ssh"
  security_group_id = aws_security_group.training.id
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_ingress_rule" "training_ssh_open" {
  description       = "ssh"
  security_group_id = aws_security_group.training.id
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = "0.0.0.0/0"
}
"""


@pytest.fixture
def workspace(tmp_path):
    """The example environments and prod rendered from them, in tmp_path."""
    config = shutil.copytree(ENVIRONMENTS, tmp_path / "environments")
    out = tmp_path / "out"
    assert tfgen(config, out, "render", "prod").exit_code == 0
    return config, out


# OASIS's schema of SARIF 2.1.0 (errata 01), from oasis-tcs/sarif-spec, sarif-2.1/schema/.
SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())


def sarif_of(result) -> dict:
    """The SARIF log a check printed, held to the standard's schema first."""
    log = json.loads(result.output)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    return log


def tfgen(config: Path, out: Path, *args: str):
    return CliRunner().invoke(cli, ["--config-dir", str(config), "--out-dir", str(out), *args])


def line_of(path: Path, pattern: str, after: int = 0) -> int:
    """The number of the first line at or after line `after` that matches."""
    lines = path.read_text().splitlines()
    return next(n for n, text in enumerate(lines, 1) if n >= after and re.search(pattern, text))


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def forget_to_render(config: Path) -> int:
    """Processing logs kept 60 days in prod.yaml, not rendered: the line someone changed."""
    append(config / "prod.yaml", "logs:\n  retention_days:\n    processing_jobs: 60\n")
    return line_of(config / "prod.yaml", r"^    processing_jobs: 60")


# --- where a finding was declared --------------------------------------------------------


@pytest.mark.parametrize("env", EXAMPLE_ENVS)
def test_every_rendered_resource_has_a_yaml_line(env):
    loaded = load_environment(ENVIRONMENTS, env)
    origins = yaml_origins(design(loaded))
    resources = from_hcl(OUT / env).resources
    assert resources
    missing = [r.address for r in resources if origins.of(r.root, r.local_address) is None
               or loaded.where(origins.of(r.root, r.local_address))[1] is None]
    assert missing == []


def test_a_project_resource_is_declared_at_its_project_and_an_alarm_at_its_endpoint():
    loaded = load_environment(ENVIRONMENTS, "prod")
    origins = yaml_origins(design(loaded))
    shared = ENVIRONMENTS / "_shared.yaml"
    group = loaded.where(origins.of("teams/rc", "aws_sagemaker_model_package_group.fraud_detection"))
    # prod.yaml writes fraud-detection too (its image_retention): the line there is the nearer one.
    assert Path(group[0]).name == "prod.yaml"
    assert group[1] == line_of(ENVIRONMENTS / "prod.yaml", r"^      fraud-detection:")
    alarm = next(r for r in from_hcl(OUT / "prod").resources
                 if r.root == "teams/algo" and r.type == "aws_cloudwatch_metric_alarm")
    file, line = loaded.where(origins.of(alarm.root, alarm.local_address))
    assert Path(file).name == "_shared.yaml"
    assert shared.read_text().splitlines()[line - 1].strip().startswith("recommendations:")


def test_a_finding_on_a_file_as_rendered_points_first_at_the_yaml_line(workspace):
    config, out = workspace
    changed = forget_to_render(config)
    text = tfgen(config, out, "check", "prod", "--no-checkov")
    assert text.exit_code == 1
    row = next(line for line in text.output.splitlines() if line.startswith("TFG-LOG-001"))
    assert f"prod.yaml:{changed}" in row and "platform/aws_cloudwatch_log_group.processing_jobs" in row
    sarif = sarif_of(tfgen(config, out, "check", "prod", "--no-checkov", "--format", "sarif"))
    result = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "TFG-LOG-001")
    primary = result["locations"][0]["physicalLocation"]
    assert primary["artifactLocation"]["uri"].endswith("prod.yaml") and primary["region"]["startLine"] == changed
    related = result["relatedLocations"][0]["physicalLocation"]
    assert related["artifactLocation"]["uri"] == f"{(out / 'prod').as_posix()}/platform/logs.tf"
    assert related["region"]["startLine"] == line_of(out / "prod/platform/logs.tf", '"processing_jobs"')
    data = json.loads(tfgen(config, out, "check", "prod", "--no-checkov", "--format", "json").output)
    found = next(v for v in data["violations"] if v["rule"] == "TFG-LOG-001")
    assert found["yaml_file"].endswith("prod.yaml") and found["yaml_line"] == changed
    junit = tfgen(config, out, "check", "prod", "--no-checkov", "--format", "junit").output
    assert f"prod.yaml:{changed}" in junit


def test_a_finding_in_a_file_edited_by_hand_points_first_at_the_file_then_the_yaml(workspace):
    config, out = workspace
    groups = out / "prod/platform/security_groups.tf"
    groups.write_text(groups.read_text().replace('"10.30.0.0/16"', '"0.0.0.0/0"', 1))
    sarif = sarif_of(tfgen(config, out, "check", "prod", "--no-checkov", "--format", "sarif"))
    result = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "TFG-SG-003")
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("security_groups.tf")
    related = result["relatedLocations"][0]["physicalLocation"]
    # The rule let the VPC's CIDR in: declared where the YAML writes the CIDR.
    assert related["artifactLocation"]["uri"].endswith("prod.yaml")
    assert related["region"]["startLine"] == line_of(config / "prod.yaml", r"^  vpc_cidr:")


# --- one SARIF log, every tool -------------------------------------------------------------


def test_sarif_holds_checkovs_findings_in_a_run_of_its_own_and_inline_skips_fail(workspace):
    config, out = workspace
    append(out / "prod/platform/security_groups.tf", SSH_RULES)
    sarif = tfgen(config, out, "check", "prod", "--format", "sarif")
    assert sarif.exit_code == 1
    runs = {run["tool"]["driver"]["name"]: run for run in sarif_of(sarif)["runs"]}
    assert set(runs) == {"tfgen", "checkov"}
    checkov = {(r["ruleId"], r["message"]["text"].split(":")[0]): r for r in runs["checkov"]["results"]}
    open_rule = checkov[("CKV_AWS_24", "platform/aws_vpc_security_group_ingress_rule.training_ssh_open")]
    location = open_rule["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == f"{(out / 'prod').as_posix()}/platform/security_groups.tf"
    assert location["region"]["startLine"] == line_of(out / "prod/platform/security_groups.tf",
                                                      '"training_ssh_open"')
    assert "CKV_AWS_24" in {r["id"] for r in runs["checkov"]["tool"]["driver"]["rules"]}
    # The rule skipped by a comment is a finding too: rendered code carries no inline skip.
    skipped = checkov[("CKV_AWS_24", "platform/aws_vpc_security_group_ingress_rule.training_ssh")]
    assert "inline checkov:skip" in skipped["message"]["text"] and "suppressions" not in skipped
    junit = ElementTree.fromstring(tfgen(config, out, "check", "prod", "--format", "junit").output)
    failed = {case.get("name") for case in junit.iter("testcase") if case.find("failure") is not None}
    assert "CKV_AWS_24" in failed


def test_rendered_code_carries_no_inline_checkov_skip():
    """docs/policies.md: checkov's skips are policies/checkov.yaml's, each with its reason; none inline."""
    found = [str(p) for p in [*OUT.rglob("*.tf"), *(REPO / "templates").rglob("*.j2")] if "checkov:skip" in p.read_text()]
    assert found == []
    assert "no inline `checkov:skip`" in (REPO / "docs/policies.md").read_text()


# --- waivers -------------------------------------------------------------------------------


def waiver(rule: str, address: str, expires: str, owner: str = "ml-platform@acme.example") -> str:
    return (f"  - rule: {rule}\n    address: {address}\n    reason: retention review with audit\n"
            f"    owner: {owner}\n    expires: {expires}\n")


LOG_GROUP = "platform/aws_cloudwatch_log_group.processing_jobs"


def test_a_waived_finding_passes_the_gate_and_is_reported_as_suppressed(workspace):
    config, out = workspace
    forget_to_render(config)
    append(config / "prod.yaml", "waivers:\n" + waiver("TFG-LOG-001", LOG_GROUP, "2999-12-31"))
    text = tfgen(config, out, "check", "prod", "--no-checkov")
    assert text.exit_code == 0, text.output
    assert "Waived (1)" in text.output and "retention review with audit" in text.output
    assert text.output.splitlines()[-1].endswith("0 violations, 1 waived")
    sarif = sarif_of(tfgen(config, out, "check", "prod", "--no-checkov", "--format", "sarif"))
    result = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "TFG-LOG-001")
    assert result["suppressions"] == [{"kind": "external", "status": "accepted", "justification":
                                       "retention review with audit (ml-platform@acme.example, until 2999-12-31)"}]
    junit = ElementTree.fromstring(tfgen(config, out, "check", "prod", "--no-checkov", "--format", "junit").output)
    case = next(c for c in junit.iter("testcase") if c.get("name").startswith("TFG-LOG-001"))
    assert case.find("skipped") is not None and case.find("failure") is None
    assert junit.get("failures") == "0"


def test_an_expired_waiver_fails_the_gate_naming_its_owner(workspace):
    config, out = workspace
    forget_to_render(config)
    append(config / "prod.yaml", "waivers:\n" + waiver("TFG-LOG-001", LOG_GROUP, "2020-01-31", "data-eng@acme.example"))
    at = line_of(config / "prod.yaml", r"^  - rule: TFG-LOG-001")
    text = tfgen(config, out, "check", "prod", "--no-checkov")
    assert text.exit_code == 1
    assert re.search(rf"prod\.yaml:{at}: EXPIRED: .*expired on 2020-01-31: data-eng@acme\.example", text.output)
    assert next(line for line in text.output.splitlines() if line.startswith("TFG-LOG-001"))  # fails again
    sarif = sarif_of(tfgen(config, out, "check", "prod", "--no-checkov", "--format", "sarif"))
    expired = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "waiver-expired")
    assert expired["level"] == "error" and "data-eng@acme.example" in expired["message"]["text"]
    assert expired["locations"][0]["physicalLocation"]["region"]["startLine"] == at


def test_a_waiver_holds_through_its_last_day(workspace):
    config, out = workspace
    forget_to_render(config)
    append(config / "prod.yaml", "waivers:\n" + waiver("TFG-LOG-001", LOG_GROUP, "2027-03-31"))
    loaded = load_environment(config, "prod")
    assert not check(loaded, out / "prod", run_checkov=False, today=datetime.date(2027, 3, 31)).failed
    assert check(loaded, out / "prod", run_checkov=False, today=datetime.date(2027, 4, 1)).failed


def test_a_waiver_that_matches_nothing_is_reported_without_failing(workspace):
    config, out = workspace
    append(config / "prod.yaml", "waivers:\n" + waiver("TFG-LOG-001", LOG_GROUP, "2999-12-31"))
    at = line_of(config / "prod.yaml", r"^  - rule: TFG-LOG-001")
    text = tfgen(config, out, "check", "prod", "--no-checkov")
    assert text.exit_code == 0, text.output
    assert f"prod.yaml:{at}: unused: " in text.output and "matches no finding" in text.output
    sarif = sarif_of(tfgen(config, out, "check", "prod", "--no-checkov", "--format", "sarif"))
    assert [r["level"] for r in sarif["runs"][0]["results"] if r["ruleId"] == "waiver-unmatched"] == ["warning"]


@pytest.mark.parametrize("entry, field, message", [
    (waiver("TFG-LOG-001", LOG_GROUP, "2027-02-30"), "waivers.0.expires", "not a valid"),
    (waiver("TFG-LOG-1", LOG_GROUP, "2027-01-01"), "waivers.0.rule", "does not match"),
    (waiver("TFG-LOG-001", "platform:aws_cloudwatch_log_group.x", "2027-01-01"), "waivers.0.address", "does not match"),
    (waiver("TFG-LOG-001", LOG_GROUP, "2027-01-01").replace("reason: retention review with audit", 'reason: ""'),
     "waivers.0.reason", "at least 1"),
    (waiver("TFG-LOG-001", LOG_GROUP, "2027-01-01").replace("    owner: ml-platform@acme.example\n", ""),
     "waivers.0.owner", "required"),
    (waiver("TFG-LOG-001", LOG_GROUP, "2027-01-01") + "    until: 2028-01-01\n", "waivers.0.until", "unknown key"),
])
def test_a_malformed_waiver_is_an_error_at_its_line(workspace, entry, field, message):
    config, out = workspace
    append(config / "prod.yaml", "waivers:\n" + entry)
    result = tfgen(config, out, "check", "prod", "--no-checkov")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert re.search(rf"prod\.yaml:\d+: {re.escape(field)}: .*{message}", result.output), result.output


@pytest.mark.parametrize("entries, index, field, message", [
    (waiver("TFG-ZZZ-001", LOG_GROUP, "2027-01-01"), 0, "waivers.0.rule", "not one of tfgen's rules"),
    (waiver("TFG-LOG-001", LOG_GROUP, "2027-01-01") * 2, 1, "waivers.1", "a second waiver"),
])
def test_a_waiver_of_no_rule_or_twice_the_same_is_an_error_at_its_line(workspace, entries, index, field, message):
    config, out = workspace
    append(config / "prod.yaml", "waivers:\n" + entries)
    result = tfgen(config, out, "check", "prod", "--no-checkov")
    at = [n for n, line in enumerate((config / "prod.yaml").read_text().splitlines(), 1) if line.startswith("  - rule")]
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"prod.yaml:{at[index]}: {field}: " in result.output and message in result.output


def test_one_run_writes_every_report_asked_for(workspace, tmp_path):
    config, out = workspace
    forget_to_render(config)
    sarif, junit = tmp_path / "prod.sarif", tmp_path / "prod-junit.xml"
    result = tfgen(config, out, "check", "prod", "--no-checkov", "--report", f"sarif={sarif}",
                   "--report", f"junit={junit}")
    assert result.exit_code == 1 and "TFG-LOG-001" in result.output
    alone = tfgen(config, out, "check", "prod", "--no-checkov", "--format", "sarif")
    assert sarif.read_text() == alone.output
    assert junit.read_text() == tfgen(config, out, "check", "prod", "--no-checkov", "--format", "junit").output
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


@pytest.mark.parametrize("value", ["sarif", "xml=report.xml", "sarif="])
def test_a_report_not_written_as_format_and_path_is_a_usage_error(workspace, value):
    config, out = workspace
    result = tfgen(config, out, "check", "prod", "--no-checkov", "--report", value)
    assert result.exit_code == 2 and "FORMAT=PATH" in result.output


def test_a_report_that_cannot_be_written_is_a_clear_error(workspace, tmp_path):
    config, out = workspace
    result = tfgen(config, out, "check", "prod", "--no-checkov", "--report", f"sarif={tmp_path}/no/such/dir/x.sarif")
    assert result.exit_code == 1 and "cannot write the report" in result.output and "Traceback" not in result.output


def test_each_environments_sarif_is_a_category_of_its_own(workspace):
    """Code scanning keeps one analysis per tool and category (automationDetails.id)."""
    config, out = workspace
    assert tfgen(config, out, "render", "dev").exit_code == 0
    ids = {env: {run["automationDetails"]["id"] for run in
                 sarif_of(tfgen(config, out, "check", env, "--no-checkov", "--format", "sarif"))["runs"]}
           for env in ("dev", "prod")}
    assert len(ids["dev"]) == len(ids["prod"]) == 1 and ids["dev"] != ids["prod"]
