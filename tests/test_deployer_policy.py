"""`tfgen deployer-policy`: what whoever runs terraform in a root needs, from the resource types
the root renders, the provider's calls and AWS's catalogue. The sandbox applies with nothing
else in tests/test_sandbox_deployer.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.account import deployer_policy
from generator.cli import cli
from generator.config.loader import load_environment
from generator.design.builder import design
from generator.read.inventory import from_hcl
from policies import iam_catalogue
from tests.conftest import ENVIRONMENTS, EXAMPLE_ENVS, MINIMAL, OUT, REPO

DOC = REPO / "docs" / "real-account.md"


def example(env: str):
    return design(load_environment(ENVIRONMENTS, env))


def policies(env: str) -> dict[str, dict]:
    """Every root's policy. Built in the test, not at collection: before the suite's own cache
    folder is set (conftest.py), nothing may be read that tfgen caches."""
    return deployer_policy.policies(example(env))


def tfgen(*args: str, config_dir: Path = ENVIRONMENTS):
    return CliRunner().invoke(cli, ["--config-dir", str(config_dir), "deployer-policy", *args])


def grants(document: dict) -> dict[str, set[str]]:
    """{action: the resources it is granted on}."""
    found: dict[str, set[str]] = {}
    for statement in document["Statement"]:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in statement["Action"]:
            found.setdefault(action, set()).update(resources)
    return found


@pytest.mark.parametrize("env", EXAMPLE_ENVS)
def test_the_table_knows_every_resource_type_each_root_renders(env):
    """What the design says a root holds is what its rendered HCL declares."""
    the_design = example(env)
    rendered = from_hcl(OUT / env)
    assert set(deployer_policy.roots(the_design)) == set(rendered.roots)
    for root in deployer_policy.roots(the_design):
        declared = {r.type for r in rendered.resources if r.root == root}
        assert declared <= set(deployer_policy.CALLS), declared - set(deployer_policy.CALLS)
        assert set(deployer_policy.root_scope(the_design, root).arns) == declared, root


@pytest.mark.parametrize("env", EXAMPLE_ENVS)
def test_the_gates_own_catalogue_check_finds_nothing(env):
    """parliament, as tfgen check runs it: every action known, each on resources of its own
    types (RESOURCE_MISMATCH), never * where it has a resource type (RESOURCE_STAR)."""
    documents = policies(env)
    assert {root: iam_catalogue.findings(document) for root, document in documents.items()} == \
        dict.fromkeys(documents, [])


@pytest.mark.parametrize("env", EXAMPLE_ENVS)
def test_star_exactly_where_the_catalogue_gives_no_resource_type(env):
    for root, document in policies(env).items():
        for action, resources in grants(document).items():
            if deployer_policy.resource_types(action):
                assert "*" not in resources and all(arn.startswith("arn:aws:") for arn in resources), (root, action)
            else:
                assert resources == {"*"}, (root, action)


@pytest.mark.parametrize("env", EXAMPLE_ENVS)
def test_every_dependent_action_the_catalogue_lists_is_granted_or_excused(env):
    for root, document in policies(env).items():
        granted = deployer_policy.action_names(document)
        for action in granted:
            for dependent in deployer_policy.dependent_actions(action, deployer_policy.resource_types(action)):
                assert dependent in granted or (action, dependent) in deployer_policy.EXCLUDED_DEPENDENTS, \
                    (root, action, dependent)


def test_the_tags_the_provider_sets_on_every_create_are_granted():
    """The issue's item 3: with default_tags, creating a group, a rule or an endpoint tags it
    (ec2:CreateTags), and creating a model package group tags it (sagemaker:AddTags)."""
    the_design = example("prod")
    ec2 = "arn:aws:ec2:eu-west-1:333333333333"
    platform = grants(deployer_policy.policy(the_design, "platform"))
    assert platform["ec2:CreateTags"] == {f"{ec2}:security-group/*", f"{ec2}:security-group-rule/*",
                                          f"{ec2}:vpc-endpoint/*"}
    team = grants(deployer_policy.policy(the_design, "teams/rc"))
    assert team["sagemaker:AddTags"] == {
        "arn:aws:sagemaker:eu-west-1:333333333333:model-package-group/rc-anti-money-laundering",
        "arn:aws:sagemaker:eu-west-1:333333333333:model-package-group/rc-fraud-detection"}


def test_each_action_is_scoped_to_the_names_tfgen_renders():
    the_design = example("prod")
    team = grants(deployer_policy.policy(the_design, "teams/rc"))
    role = "arn:aws:iam::333333333333:role"
    created = {f"{role}/acme-sm-rc-anti-money-laundering-execution"}
    # Writing the workload policies: on the roles they go on; creating a role: only on tfgen's.
    assert team["iam:PutRolePolicy"] == created | {f"{role}/acme-sagemaker-rc"}
    assert team["iam:CreateRole"] == team["iam:DeleteRole"] == created
    assert team["ecr:CreateRepository"] == {f"arn:aws:ecr:eu-west-1:333333333333:repository/acme-sm-rc-{p}/{s}"
                                            for p in ("fraud-detection", "anti-money-laundering")
                                            for s in ("preprocessing", "training", "inference")}
    assert team["cloudwatch:PutMetricAlarm"] == {f"arn:aws:cloudwatch:eu-west-1:333333333333:alarm:acme-sm-{a}"
                                                 for a in ("fraud-scoring-5xx-rate", "fraud-scoring-p99-latency",
                                                           "fraud-scoring-no-invocations")}
    assert "ec2:CreateSecurityGroup" not in team and "kms:CreateKey" not in team  # the platform's, not a team's
    platform = grants(deployer_policy.policy(the_design, "platform"))
    assert platform["sns:CreateTopic"] == {"arn:aws:sns:eu-west-1:333333333333:acme-sm-alarms"}
    assert platform["ec2:CreateVpcEndpoint"] >= {"arn:aws:ec2:eu-west-1:333333333333:vpc/vpc-0c1b2c3d4e5f60001"}
    assert "iam:PutRolePolicy" not in platform


def test_the_state_backend_key_and_lock_file_when_a_bucket_is_set():
    team = grants(deployer_policy.policy(example("prod"), "teams/rc"))
    bucket = "arn:aws:s3:::acme-terraform-state-prod"
    key = f"{bucket}/tfgen/prod/teams/rc/terraform.tfstate"
    assert team["s3:ListBucket"] == {bucket}
    assert team["s3:GetObject"] == team["s3:PutObject"] == {key, f"{key}.tflock"}
    assert team["s3:DeleteObject"] == {f"{key}.tflock"}  # the state itself is never deleted
    assert not {a for a in grants(deployer_policy.policy(example("sandbox"), "teams/rc")) if a.startswith("s3:")}


def test_a_retired_projects_resources_are_read_not_written(tmp_path):
    """Until the apply that forgets them, plan refreshes them: read access, nothing more."""
    config_dir = tmp_path / "environments"
    config_dir.mkdir()
    (config_dir / "test.yaml").write_text("protected: true\n" + MINIMAL + "      churn:\n        retired: true\n")
    team = grants(deployer_policy.policy(design(load_environment(config_dir, "test")), "teams/rc"))
    retired = "arn:aws:ecr:eu-west-1:123456789012:repository/acme-sm-rc-churn/training"
    assert retired in team["ecr:DescribeRepositories"] and retired in team["ecr:GetLifecyclePolicy"]
    assert retired not in team["ecr:CreateRepository"] and retired not in team["ecr:DeleteRepository"]
    group = "arn:aws:sagemaker:eu-west-1:123456789012:model-package-group/rc-churn"
    assert group in team["sagemaker:DescribeModelPackageGroup"] and group not in team["sagemaker:AddTags"]


def test_one_root_prints_its_policy_document_alone():
    result = tfgen("sandbox", "--root", "teams/algo")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document == deployer_policy.policy(example("sandbox"), "teams/algo")
    assert document["Version"] == "2012-10-17" and all(re.fullmatch(r"[A-Za-z0-9]+", s["Sid"])
                                                       for s in document["Statement"])


def test_every_root_prints_a_json_object_keyed_by_root():
    result = tfgen("sandbox")
    assert result.exit_code == 0, result.output
    assert list(json.loads(result.stdout)) == ["platform", "teams/algo", "teams/rc"]


def test_an_unknown_root_is_a_usage_error_that_lists_the_roots():
    result = tfgen("sandbox", "--root", "teams/nope")
    assert result.exit_code == 2
    assert "Invalid value for --root: sandbox renders no root 'teams/nope'; its roots: platform, teams/algo, " \
           "teams/rc" in result.output


def test_a_policy_too_large_for_a_managed_policy_is_printed_with_a_warning(monkeypatch):
    monkeypatch.setattr(deployer_policy, "MANAGED_POLICY_MAX", 2_500)
    result = tfgen("sandbox", "--root", "teams/rc")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["Statement"]
    assert result.stderr == ("Warning: the teams/rc policy is over the 2,500 characters of an IAM managed policy: "
                             "attach it inline to the role that applies (10,240 characters)\n")


def test_the_real_account_guide_shows_what_the_command_prints():
    """docs/real-account.md, section 4-6, lists the permissions by running the command."""
    doc = DOC.read_text()
    command = "tfgen deployer-policy prod --format text"
    assert f"$ {command}\n" in doc
    shown = doc.split(f"$ {command}\n", 1)[1].split("```", 1)[0]
    result = tfgen("prod", "--format", "text")
    assert result.exit_code == 0, result.output
    assert shown == result.stdout, "docs/real-account.md is stale: paste the output of " + command
