"""Adopting what AWS already created: SageMaker makes the job log groups at the first job,
and a project's repositories or group may predate tfgen. With the YAML switches, apply
imports them instead of failing with ResourceAlreadyExistsException."""

from __future__ import annotations

from sandbox import emulator as emulator_module
from sandbox import lifecycle
from sandbox.emulator import boto_client

REGION = "eu-west-1"


def test_existing_log_groups_repositories_and_group_are_adopted(tmp_path):
    with emulator_module.start() as emulator:
        logs = boto_client(emulator, "logs", REGION)
        for name in ("/aws/sagemaker/TrainingJobs", "/aws/sagemaker/ProcessingJobs"):
            logs.create_log_group(logGroupName=name)  # as SageMaker does at the first job
        ecr = boto_client(emulator, "ecr", REGION)
        ecr.create_repository(repositoryName="acme-sm-rc-anti-money-laundering/training")
        boto_client(emulator, "sagemaker", REGION).create_model_package_group(
            ModelPackageGroupName="rc-anti-money-laundering")

        def edit(data: dict) -> None:
            data["protected"] = False
            data["logs"] = {"adopt_existing_job_log_groups": True}
            data["ecr"] = {"shared_repos": [], "project_repos": ["training"]}
            data["teams"] = {"rc": {"projects": {"anti-money-laundering": {"adopt_existing": True}}}}

        sb = lifecycle.prepare(emulator, tmp_path, edit=edit)
        lifecycle.render_sandbox(sb)
        for root in sb.roots():
            lifecycle.init(sb, root)
            lifecycle.apply(sb, root)
            changed, output = lifecycle.plan_changes(sb, root)
            assert not changed, output
        retention = {g["logGroupName"]: g.get("retentionInDays") for g in logs.describe_log_groups(
            logGroupNamePrefix="/aws/sagemaker/")["logGroups"] if g["logGroupName"].endswith("Jobs")}
        assert retention == {"/aws/sagemaker/ProcessingJobs": 30, "/aws/sagemaker/TrainingJobs": 90}
        state = sb.terraform("teams/rc", "state", "list").stdout.split()
        assert "aws_ecr_repository.anti_money_laundering_training" in state
        assert "aws_sagemaker_model_package_group.anti_money_laundering" in state
        repo = ecr.describe_repositories(repositoryNames=["acme-sm-rc-anti-money-laundering/training"])
        assert repo["repositories"][0]["imageTagMutability"] == "IMMUTABLE"  # now managed as designed


def test_without_the_switch_the_apply_fails_as_aws_does(tmp_path):
    """The reason for the switch, shown: creating an existing log group is refused."""
    with emulator_module.start() as emulator:
        boto_client(emulator, "logs", REGION).create_log_group(logGroupName="/aws/sagemaker/TrainingJobs")

        def edit(data: dict) -> None:
            data["protected"] = False
            data["ecr"] = {"enabled": False}
            data["alarms"] = {"enabled": False}
            data["teams"] = {}

        sb = lifecycle.prepare(emulator, tmp_path, edit=edit)
        lifecycle.render_sandbox(sb)
        lifecycle.init(sb, "platform")
        failed = sb.terraform("platform", "apply", "-auto-approve", "-input=false", "-no-color", check=False)
        assert failed.returncode == 1
        assert "ResourceAlreadyExistsException" in failed.stderr
