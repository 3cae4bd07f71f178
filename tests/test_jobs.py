"""tfgen accept --jobs without an account: which image, what the execution role may pull, what it
costs and when it refuses. The jobs themselves run against the emulator in tests/test_sandbox.py
(the requests, their results, a failed job, the timeout)."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.config import aws_images
from generator.config.loader import load_environment
from generator.design.builder import design
from generator.design.iam import policy_document
from generator.errors import TfgenError
from policies.iam_evaluation import Request, evaluate
from tests.conftest import ENVIRONMENTS, MINIMAL

# AWS's "Docker Registry Paths and Example Code" pages (SageMaker developer guide), scikit-learn:
# the registry account of each region; the SDK's image_uri_config/sklearn.json says the same.
SKLEARN_EU_WEST_1 = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
SKLEARN_REPOSITORY_EU_WEST_1 = "arn:aws:ecr:eu-west-1:141502667606:repository/sagemaker-scikit-learn"
OFFLINE = {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y",
           "AWS_MAX_ATTEMPTS": "1", "AWS_SESSION_TOKEN": None, "AWS_PROFILE": None}  # None: unset


def tfgen(*args: str, config_dir=ENVIRONMENTS):
    return CliRunner().invoke(cli, ["--config-dir", str(config_dir), *args], env=OFFLINE)


def test_the_image_is_the_scikit_learn_image_aws_provides_in_the_region():
    assert aws_images.sklearn_image("eu-west-1") == SKLEARN_EU_WEST_1
    assert aws_images.sklearn_image("us-east-1") == \
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    with pytest.raises(TfgenError, match="no scikit-learn image AWS provides for SageMaker is known in il-central-1"):
        aws_images.sklearn_image("il-central-1")


def test_a_region_without_an_aws_image_is_refused_before_any_call(config_dir):
    (config_dir / "test.yaml").write_text(MINIMAL.replace("eu-west-1", "il-central-1"))
    result = tfgen("accept", "test", "--jobs", config_dir=config_dir)
    assert result.exit_code == 1
    assert result.output.startswith("Error: no scikit-learn image AWS provides for SageMaker is known in "
                                    "il-central-1: the SageMaker Python SDK's image_uri_config/sklearn.json")


def test_an_unknown_project_is_an_error_before_any_call():
    result = tfgen("accept", "prod", "--allow-protected", "--jobs", "--project", "rc/no-such-project")
    assert result.exit_code == 1
    # The YAML's three projects (environments/_shared.yaml), and no word of AWS: nothing was asked.
    assert result.output == ("Error: --project rc/no-such-project: prod has no such project (TEAM/PROJECT): its "
                             "projects are algo/recommendation-engine, rc/anti-money-laundering, rc/fraud-detection\n")


@pytest.mark.parametrize("option", [["--project", "rc/fraud-detection"], ["--bucket", "b"], ["--jobs-timeout", "5"]])
def test_the_job_options_need_jobs(option):
    result = tfgen("accept", "prod", "--allow-protected", *option)
    assert result.exit_code == 2
    assert "--project, --bucket and --jobs-timeout go with --jobs" in result.output


def test_the_cost_is_said_before_anything_is_asked():
    """Instance type, count, expected time and a rough cost, on stderr, before the first call (which
    here cannot reach AWS): the command's only output besides the error."""
    result = tfgen("accept", "prod", "--allow-protected", "--jobs")
    assert result.exit_code == 1 and result.stdout == ""
    said, error = result.stderr.split("Error: ")
    assert error.startswith("cannot reach AWS")
    # prod's YAML: only rc/anti-money-laundering names a data bucket (acme-ml-rc-aml).
    assert said.startswith("tfgen accept --jobs: 1 project (rc/anti-money-laundering), each a processing job "
                           "(1 x ml.m5.large) and a training job (2 x ml.m5.large) in the VPC, all at once: "
                           f"3 instances, image {SKLEARN_EU_WEST_1}.\n")
    assert "expected 5 to 10 minutes" in said and "tfgen waits at most 30m 0s" in said
    costs = re.findall(r"\$(\d+\.\d\d)", said)
    # 3 instances for at most 10 minutes at about $0.14 an hour (docs/real-account.md): under ten cents.
    assert float(costs[0]) <= 0.10
    assert said.rstrip().endswith("skipped, no data bucket to write to: algo/recommendation-engine, rc/fraud-detection")


def role_policies(d, project_name: str) -> list[tuple[str, dict]]:
    project = next(p for t in d.teams for p in t.projects if p.name == project_name)
    return [(policy.name, policy_document(policy)) for policy in project.policies]


def test_a_created_role_may_pull_the_image_aws_provides_and_no_other_of_its_registry():
    """AWS's "How to use SageMaker AI execution roles": scope the role's ECR permissions to the job's
    image (AppSpecification.ImageUri, AlgorithmSpecification.TrainingImage), here in AWS's registry
    account, not the environment's; the role's own repositories come from the workload policy."""
    d = design(load_environment(ENVIRONMENTS, "prod"))
    created = role_policies(d, "anti-money-laundering")
    for action in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"):
        assert evaluate(created, Request(action, SKLEARN_REPOSITORY_EU_WEST_1)).allowed, action
    assert evaluate(created, Request("ecr:GetAuthorizationToken", "*")).allowed
    for other in (SKLEARN_REPOSITORY_EU_WEST_1.replace("scikit-learn", "xgboost"),
                  SKLEARN_REPOSITORY_EU_WEST_1.replace("eu-west-1:141502667606", "us-east-1:683313688378")):
        assert not evaluate(created, Request("ecr:BatchGetImage", other)).allowed, other
    # An existing role is the team's: tfgen adds no runtime statement to it.
    existing = role_policies(d, "fraud-detection")
    assert not evaluate(existing, Request("ecr:BatchGetImage", SKLEARN_REPOSITORY_EU_WEST_1)).allowed


def test_with_ecr_off_a_created_role_still_gets_the_registry_token(config_dir):
    """The login token comes with the workload policy only while ECR is on; pulling AWS's image needs it too."""
    text = MINIMAL.replace("    execution_role: rc-sagemaker\n", "") \
        .replace("fraud-detection: {}", "fraud-detection:\n        create_execution_role: true\n"
                                         "        data_buckets: [acme-fd-data]") + "ecr:\n  enabled: false\n"
    (config_dir / "test.yaml").write_text(text)
    created = role_policies(design(load_environment(config_dir, "test")), "fraud-detection")
    assert evaluate(created, Request("ecr:GetAuthorizationToken", "*")).allowed
    assert evaluate(created, Request("ecr:BatchGetImage", SKLEARN_REPOSITORY_EU_WEST_1)).allowed
    assert json.dumps(created).count('"ecr:GetAuthorizationToken"') == 1
