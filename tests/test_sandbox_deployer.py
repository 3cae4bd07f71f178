"""The deployer's policy, proven in the emulator: the sandbox's platform root and teams/rc,
applied by an IAM user that holds only what `tfgen deployer-policy` prints, with moto's IAM
enforcement on (sandbox/iam_enforcement.py); and refused once one action is taken out of it.
What this proves and what it does not: docs/sandbox.md, "The deployer's policy"."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from click.testing import CliRunner

from generator.account import deployer_policy
from generator.support import terraform
from generator.cli import cli
from generator.config.loader import load_environment
from generator.design.builder import design
from sandbox import emulator as emulator_module
from sandbox import iam_enforcement, lifecycle
from sandbox.emulator import boto_client

REGION = "eu-west-1"
ROOTS = ("platform", "teams/rc")


@pytest.fixture
def emulator():
    """An emulator of the test's own: it starts from an empty account."""
    with emulator_module.start() as started:
        yield started


def prepared(emulator, workdir, **kwargs):
    sb = lifecycle.prepare(emulator, workdir, **kwargs)
    lifecycle.render_sandbox(sb)
    for root in ROOTS:
        lifecycle.init(sb, root)  # the local backend: no AWS call
    return sb


@pytest.fixture
def sandbox(emulator, tmp_path):
    """The sandbox environment, rendered and initialised: nothing applied."""
    return prepared(emulator, tmp_path / "protected")


@pytest.fixture
def unprotected(emulator, tmp_path):
    """The sandbox environment without prevent_destroy, in its own VPC of the same emulator."""
    return prepared(emulator, tmp_path / "unprotected", edit=lambda data: data.update(protected=False))


def printed_policy(sb, root: str) -> dict:
    result = CliRunner().invoke(cli, ["--config-dir", str(sb.config_dir), "deployer-policy", sb.env, "--root", root])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def without(document: dict, action: str) -> dict:
    statements = [{**s, "Action": [a for a in s["Action"] if a != action]} for s in document["Statement"]]
    assert sum(len(s["Action"]) for s in statements) == sum(len(s["Action"]) for s in document["Statement"]) - 1
    return {**document, "Statement": [s for s in statements if s["Action"]]}


def deployer(sb, root: str, document: dict) -> dict[str, str]:
    """An IAM user holding this one managed policy, made with the emulator's unrestricted key;
    the environment terraform runs with as that user (no session token: a user's own key)."""
    iam = boto_client(sb.emulator, "iam", REGION)
    name = "deployer-" + root.replace("/", "-")
    iam.create_user(UserName=name)
    arn = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    iam.attach_user_policy(UserName=name, PolicyArn=arn)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {**sb.emulator.env(), "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"], "AWS_SESSION_TOKEN": ""}


def run_as(sb, root: str, credentials: dict[str, str], *args: str):
    return terraform.run([*args, "-input=false", "-no-color"], cwd=sb.out_env / root, state_dir=sb.state_dir,
                         extra_env=credentials, check=False)


def apply_as(sb, root: str, credentials: dict[str, str]):
    return run_as(sb, root, credentials, "apply", "-auto-approve")


def test_the_printed_policy_is_all_the_platform_and_a_team_need(unprotected, tmp_path):
    """Apply, re-plan (no changes), change a default tag (every resource's tags are updated),
    destroy: each root as its own deployer. The sandbox without prevent_destroy, so that
    destroy runs too; its policies are the protected sandbox's, name for name."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    sb = unprotected
    documents = {root: printed_policy(sb, root) for root in ROOTS}
    protected = shutil.copytree(sb.config_dir, tmp_path / "protected-twin")
    (protected / "sandbox.yaml").write_text((protected / "sandbox.yaml").read_text()
                                            .replace("protected: false", "protected: true"))
    the_design = design(load_environment(protected, "sandbox"))
    assert the_design.protected
    assert documents == {root: deployer_policy.policy(the_design, root) for root in ROOTS}
    credentials = {root: deployer(sb, root, documents[root]) for root in ROOTS}
    before = settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count
    with iam_enforcement.enforced():
        for root in ROOTS:
            applied = apply_as(sb, root, credentials[root])
            assert applied.returncode == 0, f"{root}:\n{applied.stderr}"
            planned = run_as(sb, root, credentials[root], "plan", "-detailed-exitcode")
            assert planned.returncode == 0, f"{root} does not converge:\n{planned.stdout}{planned.stderr}"
        # Enforcement is on: the platform's deployer may not read a team's resources.
        refused = run_as(sb, "teams/rc", credentials["platform"], "plan")
        assert refused.returncode == 1 and "is not authorized to perform" in refused.stderr
        for root in ROOTS:
            providers = sb.out_env / root / "providers.tf"
            providers.write_text(providers.read_text().replace('ManagedBy   = "tfgen"', 'ManagedBy   = "tfgen-2"'))
            retagged = apply_as(sb, root, credentials[root])
            assert retagged.returncode == 0, f"{root}:\n{retagged.stderr}"
            assert "0 changed" not in retagged.stdout
        for root in reversed(ROOTS):
            destroyed = run_as(sb, root, credentials[root], "destroy", "-auto-approve")
            assert destroyed.returncode == 0, f"{root}:\n{destroyed.stderr}"
    # Put back for the rest of the suite: the emulator's unrestricted key works again.
    assert (settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count) == before
    groups = boto_client(sb.emulator, "ec2", REGION).describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["acme-sm-*"]}])["SecurityGroups"]
    assert groups == []


@pytest.mark.parametrize("root, action, refused_at", [
    # The item 3: tags on create are authorised as a call of their own.
    ("platform", "ec2:CreateTags", "creating Security Group"),
    ("teams/rc", "sagemaker:AddTags", "creating SageMaker AI Model Package Group"),
    ("teams/rc", "ecr:CreateRepository", "creating ECR Repository"),
])
def test_the_apply_is_refused_without_any_one_action(sandbox, root, action, refused_at):
    credentials = deployer(sandbox, root, without(printed_policy(sandbox, root), action))
    with iam_enforcement.enforced():
        refused = apply_as(sandbox, root, credentials)
    assert refused.returncode == 1
    errors = [line for line in refused.stderr.splitlines() if line.startswith("Error: ")]
    assert errors and any(refused_at in line for line in errors), refused.stderr
    # Every failure is that action refused, nothing else.
    assert all(re.search(rf"StatusCode: 403.*is not authorized to perform: {action}$", line) for line in errors), \
        refused.stderr


def test_moto_checks_the_role_a_request_names(sandbox):
    """IAM's role actions are the ones whose resource moto works out: the workload policies
    granted on tfgen's own role only, the one for the team's existing role is refused."""
    document = printed_policy(sandbox, "teams/rc")
    existing = "arn:aws:iam::123456789012:role/acme-sagemaker-rc"
    statement = next(s for s in document["Statement"] if "iam:PutRolePolicy" in s["Action"])
    statement["Resource"] = [arn for arn in statement["Resource"] if arn != existing]
    credentials = deployer(sandbox, "teams/rc", document)
    with iam_enforcement.enforced():
        refused = apply_as(sandbox, "teams/rc", credentials)
    errors = [line for line in refused.stderr.splitlines() if line.startswith("Error: ")]
    assert refused.returncode == 1 and len(errors) == 1, refused.stderr
    assert errors[0].startswith("Error: putting IAM Role (acme-sagemaker-rc) Policy (rc-fraud-detection-workload)")
    assert errors[0].endswith("is not authorized to perform: iam:PutRolePolicy"), errors[0]


def test_a_request_with_tags_needs_the_tagging_actions_the_catalogue_lists():
    """The shim's two halves: which actions a create with tags also needs, and which requests
    carry tags (EC2's query protocol, the JSON services' Tags)."""
    assert iam_enforcement.tagging_dependents("ec2:CreateSecurityGroup") == ("ec2:CreateTags",)
    assert iam_enforcement.tagging_dependents("ec2:CreateVpcEndpoint") == ("ec2:CreateTags",)  # route53's is Write
    assert iam_enforcement.tagging_dependents("sagemaker:CreateModelPackageGroup") == ("sagemaker:AddTags",)
    assert iam_enforcement.tagging_dependents("ec2:DescribeVpcs") == ()
    assert iam_enforcement.carries_tags({"TagSpecification.1.ResourceType": ["security-group"]}, b"")
    assert iam_enforcement.carries_tags({}, b'{"Tags": [{"Key": "Team", "Value": "rc"}]}')
    assert not iam_enforcement.carries_tags({"GroupName": ["acme-sm-training"]}, b"")
    assert not iam_enforcement.carries_tags({}, b'{"Tags": []}')
