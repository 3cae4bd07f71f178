"""The passing half of every rule's fixtures, the report formats, and `tfgen check`."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.config.loader import load_environment
from generator.render.templates import render
from generator.render.writer import write
from policies.engine import Report, evaluate
from policies.findings import Finding
from policies.formats import FORMATTERS
from policies.expected import Expected
from generator.read.inventory import from_hcl
from policies.rules import RULES, Violation, rule_ids
from tests.conftest import ENVIRONMENTS, EXAMPLE_ENVS, MINIMAL, OUT


@pytest.mark.parametrize("env", EXAMPLE_ENVS)
def test_every_rule_passes_on_the_committed_render(env):
    expected = Expected(env, load_environment(ENVIRONMENTS, env).config)
    assert evaluate(from_hcl(OUT / env), expected) == []


VARIANTS = {
    "ecr off": "ecr:\n  enabled: false\n",
    "alarms on": "alarms:\n  enabled: true\n  emails: [a@b.example]\n",
    "protected": "protected: true\n",
    "existing role": "",
    "created role": "",
    "own stages and retention": "",
    # Every project of a team retired in a protected environment: the team's root keeps only its
    # `removed` blocks, and its provider's tags still name the team (TFG-PROV-002 once expected '?').
    "a team with only retired projects": "protected: true\n",
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_rule_passes_on_other_valid_configurations(variant, config_dir, tmp_path):
    text = MINIMAL + VARIANTS[variant]
    if variant == "existing role":
        text = text.replace("fraud-detection: {}", "fraud-detection:\n        execution_role: ds-role")
    if variant == "created role":
        text = text.replace("fraud-detection: {}", "fraud-detection:\n        create_execution_role: true\n"
                                                   "        data_buckets: [ml-data]\n        kms_key_arns: "
                                                   "[arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab]")
    if variant == "a team with only retired projects":
        text = text.replace("fraud-detection: {}", "fraud-detection:\n        retired: true")
    if variant == "own stages and retention":
        text = text.replace("fraud-detection: {}", "fraud-detection:\n        repos: [training]\n"
                                                   "        image_retention: 3\n        endpoints:\n          e1: {}")
    (config_dir / "test.yaml").write_text(text)
    rendered = render(config_dir, "test")
    write(rendered, tmp_path / "out" / "test")
    expected = Expected("test", load_environment(config_dir, "test").config)
    assert evaluate(from_hcl(tmp_path / "out" / "test"), expected) == []
    if variant == "a team with only retired projects":
        assert "teams/rc/retired.tf" in rendered.files and "teams/rc/iam.tf" not in rendered.files


def test_rules_have_stable_ids_and_statements():
    assert len(RULES) >= 20
    for policy_rule in RULES:
        assert policy_rule.id.startswith("TFG-") and policy_rule.statement.endswith(".")
    assert rule_ids()[:4] == ["TFG-SG-001", "TFG-SG-002", "TFG-SG-003", "TFG-SG-004"]


def test_a_rule_id_registered_twice_is_refused_naming_both_checks():
    from policies.rules import DuplicateRule, rule

    def again(inventory, expected):
        return iter(())
    registered = list(RULES)
    with pytest.raises(DuplicateRule, match="TFG-SG-003 is registered twice: by policies.rules.security_groups.world "
                                            "and by tests.policies.test_policies.*again"):
        rule("TFG-SG-003", "Registered again.")(again)
    assert RULES == registered


def sample_report(tmp_path) -> Report:
    finding = Finding("tfgen", "TFG-SG-003", "platform", "aws_vpc_security_group_ingress_rule.x", "platform/sg.tf", 12,
                      "ingress tcp/22 from 0.0.0.0/0: no ingress from the internet",
                      yaml_file="environments/prod.yaml", yaml_line=7)
    return Report("prod", tmp_path / "out" / "prod", len(RULES), 84, [finding])


def test_text_format_is_a_table_and_a_summary(tmp_path):
    text = FORMATTERS["text"](sample_report(tmp_path))
    lines = text.splitlines()
    assert lines[0].split() == ["RULE", "RESOURCE", "LOCATION", "DECLARED", "PROBLEM"]
    assert f"{tmp_path}/out/prod/platform/sg.tf:12" in lines[1] and "environments/prod.yaml:7" in lines[1]
    assert lines[-1] == f"prod: {len(RULES)} rules run, 84 resources seen (HCL), 1 violation"


def test_json_junit_and_sarif(tmp_path):
    report = sample_report(tmp_path)
    data = json.loads(FORMATTERS["json"](report))
    assert data["passed"] is False and data["violations"][0]["rule"] == "TFG-SG-003"
    suite = ElementTree.fromstring(FORMATTERS["junit"](report))
    assert suite.get("tests") == str(len(RULES)) and suite.get("failures") == "1"
    failed = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert [c.get("name").split(":")[0] for c in failed] == ["TFG-SG-003"]
    sarif = json.loads(FORMATTERS["sarif"](report))
    result = sarif["runs"][0]["results"][0]
    assert result["ruleId"] == "TFG-SG-003"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 12
    assert set(rule_ids()) <= {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}


def test_check_cli_exit_codes(tmp_path):
    out = tmp_path / "out"
    runner = CliRunner()
    args = ["--config-dir", str(ENVIRONMENTS), "--out-dir", str(out)]
    assert runner.invoke(cli, [*args, "render", "prod"]).exit_code == 0
    clean = runner.invoke(cli, [*args, "check", "prod", "--no-checkov"])
    assert clean.exit_code == 0, clean.output
    # platform 51 (5 groups, 17 rules, 11 endpoints, 6 ECR, 2 log groups, 10 for alarms); rc 22 (2 projects of
    # 3 repositories, 3 lifecycle policies, 1 group; fraud's log group and 3 alarms; fraud's policy on its team's
    # role, anti-money-laundering's own role with its 2 policies); algo 11.
    assert clean.output == f"prod: {len(RULES)} rules run, 84 resources seen (HCL), 0 violations\n"
    sg = out / "prod/platform/security_groups.tf"
    sg.write_text(sg.read_text().replace('"10.30.0.0/16"', '"0.0.0.0/0"', 1))
    broken = runner.invoke(cli, [*args, "check", "prod", "--no-checkov"])
    assert broken.exit_code == 1
    assert "TFG-SG-003" in broken.output and broken.output.endswith("violations\n")
    usage = runner.invoke(cli, [*args, "check", "prod", "--format", "xml"])
    assert usage.exit_code == 2
    missing = runner.invoke(cli, [*args, "check", "dev", "--no-checkov"])
    assert missing.exit_code == 1
    assert missing.output == f"Error: {out}/dev does not exist: run `tfgen render dev` first\n"
