"""`tfgen check ENV --plan FILE` on plans that are not what they should be (issue 22, classes 5
and 6): any malformed JSON is an error naming the file, never a traceback, and a plan of
another environment or account is named as such instead of being judged against this one's
YAML. The plans are written in the shape of Terraform's "JSON Output Format" documentation
(format_version, planned_values.root_module.resources, configuration.provider_config)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from tests.conftest import ENVIRONMENTS, OUT


def check_with_plan(plan: object, tmp_path: Path, env: str = "dev"):
    path = tmp_path / "plan.json"
    path.write_text(plan if isinstance(plan, str) else json.dumps(plan))
    return CliRunner().invoke(cli, ["--config-dir", str(ENVIRONMENTS), "--out-dir", str(OUT), "check", env,
                                    "--no-checkov", "--plan", str(path)])


def provider(environment: str, account: str, team: str = "platform") -> dict:
    """The aws provider block as terraform show -json writes tfgen's providers.tf."""
    return {"aws": {"name": "aws", "full_name": "registry.terraform.io/hashicorp/aws", "expressions": {
        "region": {"constant_value": "eu-west-1"},
        "allowed_account_ids": {"constant_value": [account]},
        "default_tags": [{"tags": {"constant_value": {"Company": "acme", "Environment": environment,
                                                       "Team": team, "ManagedBy": "tfgen"}}}]}}}


def plan_of(environment: str, account: str, resources: list | None = None) -> dict:
    return {"format_version": "1.2", "terraform_version": "1.11.4",
            "planned_values": {"root_module": {"resources": resources or []}},
            "configuration": {"provider_config": provider(environment, account), "root_module": {"resources": []}}}


@pytest.mark.parametrize("plan", [
    "null", "[]", "7", '"text"', "{", {"planned_values": None}, {"planned_values": {"root_module": []}},
    '{"planned_values": ' + "[" * 100_000 + "]" * 100_000 + "}",  # deeper than Python's json recurses
    {"planned_values": {"root_module": {"resources": [5]}}},
    {"planned_values": {"root_module": {"resources": [{"address": 1, "type": [], "name": {}}]}}},
    {"planned_values": {}, "configuration": []},
    {"planned_values": {}, "configuration": {"provider_config": {"aws": {"expressions": {"default_tags": 3}}}}},
    {"planned_values": {}, "configuration": {"provider_config": {"aws": {"expressions": {
        "default_tags": [{"tags": {"constant_value": ["Team"]}}]}}}}},
    {**plan_of("dev", "111111111111"), "configuration": {"provider_config": provider("dev", "111111111111"),
                                                          "root_module": {"resources": [{"address": None}]}}},
], ids=lambda plan: json.dumps(plan)[:60])
def test_a_malformed_plan_is_an_error_naming_the_file_never_a_traceback(plan, tmp_path):
    result = check_with_plan(plan, tmp_path)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.output.startswith(f"Error: {tmp_path / 'plan.json'}"), result.output


@pytest.mark.parametrize(("environment", "account", "named"), [
    ("staging", "222222222222", "a plan of environment staging in account 222222222222, not of dev in 111111111111"),
    ("dev", "222222222222", "a plan of environment dev in account 222222222222, not of dev in 111111111111"),
    ("prod", "111111111111", "a plan of environment prod in account 111111111111, not of dev in 111111111111"),
])
def test_a_plan_of_another_environment_or_account_is_named_as_such(environment, account, named, tmp_path):
    """Before: staging's plan checked as dev's gave 39 violations and no word of the mismatch."""
    result = check_with_plan(plan_of(environment, account), tmp_path)
    assert result.exit_code == 1, result.output
    assert named in result.output


def test_a_plan_of_this_environment_is_read(tmp_path):
    """The same plan shape, of dev in dev's account, is taken in place of the platform's HCL."""
    result = check_with_plan(plan_of("dev", "111111111111"), tmp_path)
    assert "(plans for platform, HCL for the rest)" in result.output, result.output
