"""The lifecycle against the AWS emulator (moto server): apply, converge, verify, drift,
outputs, the plan's acceptance steps, and rollback. Nothing here is skipped: terraform and
the emulator are part of `make test`.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.read.inventory import from_hcl
from policies.rules import RULES
from sandbox import emulator as emulator_module
from sandbox import lifecycle
from sandbox.emulator import boto_client
from tests.test_sandbox_account import assert_table_is_the_json

REGION = "eu-west-1"


@pytest.fixture(scope="module")
def emulator():
    with emulator_module.start() as started:
        saved = {k: os.environ.get(k) for k in started.env()}
        os.environ.update(started.env())  # for tfgen verify, which reads the account with boto3
        yield started
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def sandbox(emulator, tmp_path_factory):
    """The protected sandbox: plans saved before the first apply, then every root applied."""
    sb = lifecycle.prepare(emulator, tmp_path_factory.mktemp("sandbox"))
    lifecycle.render_sandbox(sb)
    sb.plans = {}
    for root in sb.roots():
        lifecycle.init(sb, root)
        sb.plans[root] = save_plan(sb, root, sb.workdir / f"{root.replace('/', '-')}.json")
    for root in sb.roots():
        lifecycle.apply(sb, root)
    return sb


def save_plan(sb, root: str, path: Path, cwd: Path | None = None) -> Path:
    folder = cwd or sb.out_env / root
    from generator.support import terraform

    terraform.run(["plan", "-out=tfplan", "-input=false", "-no-color"], cwd=folder, state_dir=sb.state_dir,
                  extra_env=sb.emulator.env())
    shown = terraform.run(["show", "-json", "tfplan"], cwd=folder, state_dir=sb.state_dir, extra_env=sb.emulator.env())
    path.write_text(shown.stdout)
    return path


def tfgen(sb, *args: str):
    return CliRunner().invoke(cli, ["--config-dir", str(sb.config_dir), "--out-dir", str(sb.out_env.parent), *args],
                              catch_exceptions=False)


def test_every_root_applied_and_replans_with_no_changes(sandbox):
    for root in sandbox.roots():
        changed, output = lifecycle.plan_changes(sandbox, root)
        assert not changed, f"{root} does not converge:\n{output}"


def test_verify_finds_everything_as_designed(sandbox):
    result = tfgen(sandbox, "verify", "sandbox")
    assert result.exit_code == 0, result.output
    # 5 groups, 8 endpoints, 12 repositories, 3 model package groups, 4 role policies (3 workload policies, 2 on
    # the teams' existing roles, and the runtime policy of the role tfgen creates), 4 log groups, the topic,
    # 2 event rules, 5 alarms (fraud-scoring's three, recommendations' two).
    assert result.output.splitlines()[-1] == "44 checks: 44 passed, 0 warnings, 0 failed, 0 skipped"


def test_check_reads_plans_with_the_same_rules(sandbox):
    plans = [arg for path in sandbox.plans.values() for arg in ("--plan", str(path))]
    result = tfgen(sandbox, "check", "sandbox", "--no-checkov", *plans)
    assert result.exit_code == 0, result.output
    in_hcl = len(from_hcl(sandbox.out_env).resources)  # a plan holds the very same resources
    assert result.output == (f"sandbox: {len(RULES)} rules run, {in_hcl} resources seen "
                             "(plans for platform, teams/algo, teams/rc, HCL for the rest), 0 violations\n")


def test_check_catches_a_violation_in_a_plan(sandbox, tmp_path):
    bad = tmp_path / "platform"
    shutil.copytree(sandbox.out_env / "platform", bad,
                    ignore=shutil.ignore_patterns(".terraform", "terraform.tfstate*", "tfplan"))
    sg = bad / "security_groups.tf"
    sg.write_text(sg.read_text() + '\nresource "aws_vpc_security_group_ingress_rule" "training_ssh" {\n'
                  "  security_group_id = aws_security_group.training.id\n"
                  '  ip_protocol       = "tcp"\n  from_port         = 22\n  to_port           = 22\n'
                  '  cidr_ipv4         = "0.0.0.0/0"\n}\n')
    from generator.support import terraform

    terraform.run(["init", "-input=false", "-no-color"], cwd=bad, state_dir=sandbox.state_dir)
    plan = save_plan(sandbox, "platform", tmp_path / "plan.json", cwd=bad)
    result = tfgen(sandbox, "check", "sandbox", "--no-checkov", "--plan", str(plan))
    assert result.exit_code == 1
    assert ["TFG-SG-003", "platform/aws_vpc_security_group_ingress_rule.training_ssh"] in [
        line.split()[:2] for line in result.output.splitlines()]
    assert "ingress tcp/22 from 0.0.0.0/0: no ingress from the internet" in result.output


def test_preflight_after_the_apply_recognises_what_tfgen_made(sandbox):
    """Run again once applied (say, before adding a team), preflight does not take tfgen's own
    resources for obstacles: their ManagedBy and Environment tags say whose they are."""
    result = tfgen(sandbox, "preflight", "sandbox", "--format", "json")
    assert result.exit_code == 0, result.output
    checks = {c["what"]: c for c in json.loads(result.output)["results"]}
    managed = {name for name, c in checks.items() if c["detail"].startswith("exists, managed by tfgen")}
    assert {"security group acme-sm-training", "endpoint s3", "endpoint sagemaker.api",
            "repository acme-sm-rc-fraud-detection/training", "model package group rc-fraud-detection",
            "log group /aws/sagemaker/TrainingJobs", "log group /aws/sagemaker/Endpoints/fraud-scoring",
            "execution role acme-sm-rc-anti-money-laundering-execution"} <= managed
    assert all(c["status"] == "PASS" for c in checks.values())


def test_outputs_writes_the_five_group_ids(sandbox):
    result = tfgen(sandbox, "outputs", "sandbox")
    assert result.exit_code == 0, result.output
    env_file = sandbox.out_env / "security-groups.env"
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if not line.startswith("#"))
    ec2 = boto_client(sandbox.emulator, "ec2", REGION)
    live = {g["GroupName"]: g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]}
    assert values == {
        "SG_SAGEMAKER_STUDIO": live["acme-sm-studio"], "SG_VPC_ENDPOINTS": live["acme-sm-vpc-endpoints"],
        "SG_TRAINING": live["acme-sm-training"], "SG_PROCESSING": live["acme-sm-processing"],
        "SG_INFERENCE": live["acme-sm-inference"],
    }


def test_the_account_holds_each_resources_team_and_project_for_cost_allocation(sandbox):
    """AWS's cost allocation reports split by the tags the account holds: every project's
    repositories, model package group, endpoint log groups and alarms, and the role created for
    it, carry its Team and Project (the names in the YAML); the platform's carry Team =
    platform and no Project. Read back from the emulator after the apply, not from the HCL."""
    from generator.config.loader import load_environment

    cfg = load_environment(sandbox.config_dir, "sandbox").config
    ecr, sagemaker, logs, cloudwatch, iam = (boto_client(sandbox.emulator, service, REGION) for service in
                                             ("ecr", "sagemaker", "logs", "cloudwatch", "iam"))

    def pairs(tags: list[dict]) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in tags}

    def repository(name: str) -> dict[str, str]:
        arn = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]["repositoryArn"]
        return pairs(ecr.list_tags_for_resource(resourceArn=arn)["tags"])

    def log_group(name: str) -> dict[str, str]:
        group = next(g for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
                     if g["logGroupName"] == name)
        return logs.list_tags_for_resource(resourceArn=group["arn"].removesuffix(":*"))["tags"]

    alarms = {a["AlarmName"]: a["AlarmArn"] for a in cloudwatch.describe_alarms()["MetricAlarms"]}
    checked = 0
    for team_name, team in cfg.teams.items():
        for project_name, project in team.projects.items():
            stages = project.repos if project.repos is not None else cfg.ecr.project_repos
            held = {f"repository {stage}": repository(f"{cfg.company}-sm-{team_name}-{project_name}/{stage}")
                    for stage in stages}
            group = sagemaker.describe_model_package_group(ModelPackageGroupName=f"{team_name}-{project_name}")
            held["model package group"] = pairs(sagemaker.list_tags(ResourceArn=group["ModelPackageGroupArn"])["Tags"])
            for endpoint in project.endpoints:
                held[f"log group of {endpoint}"] = log_group(f"/aws/sagemaker/Endpoints/{endpoint}")
                theirs = {name: arn for name, arn in alarms.items() if name.startswith(f"{cfg.tag_prefix}-{endpoint}-")}
                assert theirs, endpoint
                held |= {f"alarm {name}": pairs(cloudwatch.list_tags_for_resource(ResourceARN=arn)["Tags"])
                         for name, arn in theirs.items()}
            if project.create_execution_role or (team.create_execution_role and not project.execution_role):
                role = f"{cfg.tag_prefix}-{team_name}-{project_name}-execution"
                held["execution role"] = pairs(iam.list_role_tags(RoleName=role)["Tags"])
            for what, tags in held.items():
                assert (tags.get("Team"), tags.get("Project")) == (team_name, project_name), \
                    f"{team_name}/{project_name} {what}: {tags}"
            checked += len(held)
    # 9 repositories, 3 model package groups, 2 endpoint log groups, 5 alarms, 1 created role.
    assert checked == 20
    platform = [repository(f"{cfg.company}-sagemaker-shared/{name}") for name in cfg.ecr.shared_repos]
    platform += [log_group(f"/aws/sagemaker/{kind}") for kind in ("TrainingJobs", "ProcessingJobs")]
    assert [(tags.get("Team"), "Project" in tags) for tags in platform] == [("platform", False)] * 5


# --- the plan's acceptance steps (tfgen accept), and the deliveries they rely on ---------------


def test_the_live_lifecycle_policies_keep_the_newest_builds_after_any_releases(sandbox):
    """The policy as ECR received it from terraform, evaluated as ECR documents it
    (tests/ecr_lifecycle.py): the YAML's N newest builds survive 40 releases and 40 untagged
    pushes made after them; the builds before them go."""
    from generator.config.loader import load_environment
    from tests.ecr_lifecycle import Image, expired
    from tests.test_image_lifecycle import NOW, ago, builds

    ecr_cfg = load_environment(sandbox.config_dir, "sandbox").config.ecr
    ecr = boto_client(sandbox.emulator, "ecr", REGION)
    names = [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]]
    assert names
    for name in names:
        policy = json.loads(ecr.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"])
        older, newest = builds(3, 40, label="old"), builds(ecr_cfg.image_retention, 30)
        later = [Image(f"release {n}", (f"release-{n}",), ago(10, hours=-n)) for n in range(40)]
        later += [Image(f"untagged {n}", (), ago(0, hours=n)) for n in range(40)]
        gone = expired(policy, older + newest + later, NOW)
        assert gone == {i.name for i in older}, name


def account_snapshot(sb) -> dict:
    """Every image, model version and alarm state the sandbox's account holds."""
    ecr = boto_client(sb.emulator, "ecr", REGION)
    sagemaker = boto_client(sb.emulator, "sagemaker", REGION)
    cloudwatch = boto_client(sb.emulator, "cloudwatch", REGION)
    repos = [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]]
    return {
        "images": {r: sorted(i.get("imageDigest", "") for i in ecr.list_images(repositoryName=r)["imageIds"])
                   for r in repos},
        "model versions": sorted(p["ModelPackageArn"] for p in sagemaker.list_model_packages()["ModelPackageSummaryList"]),
        "alarms": {a["AlarmName"]: a["StateValue"] for a in cloudwatch.describe_alarms()["MetricAlarms"]},
    }


@pytest.fixture
def alarm_queue(sandbox):
    """An SQS queue subscribed to the alarm topic: a subscriber whose mail can be read."""
    reader = lifecycle.subscribe_alarm_reader(sandbox)
    yield reader.queue_url
    lifecycle.unsubscribe_alarm_reader(sandbox, reader)


def test_accept_refuses_a_protected_environment_without_the_flag(sandbox):
    before = account_snapshot(sandbox)
    result = CliRunner().invoke(cli, ["--config-dir", str(sandbox.config_dir), "--out-dir",
                                      str(sandbox.out_env.parent), "accept", "sandbox"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: sandbox is protected: accept pushes test images") and \
        "pass --allow-protected" in result.output
    assert account_snapshot(sandbox) == before


def test_accept_runs_the_plans_acceptance_and_leaves_nothing_behind(sandbox, alarm_queue):
    assert tfgen(sandbox, "outputs", "sandbox").exit_code == 0  # the ID file the network step reads
    before = account_snapshot(sandbox)
    result = tfgen(sandbox, "accept", "sandbox", "--allow-protected", "--queue-url", alarm_queue,
                   "--format", "json")
    assert result.exit_code == 0, result.output
    results = json.loads(result.output)["results"]
    by_module: dict[str, list] = {}
    for r in results:
        by_module.setdefault(r["module"], []).append(r)
    # From the sandbox's YAML: 5 groups; 3 execution roles (two existing, one created); 3 projects with their
    # repositories (3 stages each, 9 in all: fraud-detection, anti-money-laundering, recommendation-engine);
    # 3 groups; 2 teams with alarms.
    assert [len(by_module[m]) for m in ("network", "iam", "ecr", "registry", "alarms", "cleanup")] == [5, 3, 9, 3, 2, 1]
    assert all(r["status"] == "PASS" for r in results), results
    fraud = next(r for r in by_module["alarms"] if "fraud-scoring" in r["what"])
    assert fraud["detail"] == "OK -> ALARM -> OK; alarm-reader received ['ALARM', 'OK']"
    assert account_snapshot(sandbox) == before  # every image, version and alarm state as it was


def test_accept_fails_a_role_that_the_account_denies_what_its_jobs_need(sandbox):
    """The account, not the rendered code, decides: a deny on the role itself (here an inline
    policy; on a real account also a permissions boundary or an SCP) refuses the jobs'
    requests, and accept names each refused request with the policy that refused it."""
    iam = boto_client(sandbox.emulator, "iam", REGION)
    iam.put_role_policy(RoleName="acme-sagemaker-algo", PolicyName="no-pulls", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "ecr:BatchGetImage", "Resource": "*"}]}))
    try:
        assert tfgen(sandbox, "outputs", "sandbox").exit_code == 0
        result = tfgen(sandbox, "accept", "sandbox", "--allow-protected", "--format", "json")
    finally:
        iam.delete_role_policy(RoleName="acme-sagemaker-algo", PolicyName="no-pulls")
    assert result.exit_code == 1
    iam_rows = [r for r in json.loads(result.output)["results"] if r["module"] == "iam"]
    failed = [r for r in iam_rows if r["status"] == "FAIL"]
    # The project's three repositories and the sandbox's three shared ones.
    assert len(failed) == 6 and all("ecr:BatchGetImage" in r["what"] and "explicitly denied by no-pulls" in r["detail"]
                                    for r in failed)
    assert sorted(r["what"] for r in iam_rows if r["status"] == "PASS") == [
        "role acme-sagemaker-rc: the jobs' requests", "role acme-sm-rc-anti-money-laundering-execution: the jobs' requests"]


def test_accept_cleans_up_when_a_step_fails_halfway(sandbox):
    """The registry step fails after every image is pushed: the images still go. (Its report,
    with FAILs and PASSes in every module, is also the one whose table and JSON must agree.)"""
    import boto3

    from generator.account import accept
    from generator.account.report import PASS, Result, as_json, table
    from generator.config.loader import load_environment
    from generator.design.builder import design

    class FailingRegistry:
        def __init__(self, session):
            self.session = session

        def client(self, service, **kwargs):
            client = self.session.client(service, **kwargs)
            if service == "sagemaker":
                def refuse(**kwargs):
                    raise RuntimeError("the registry is down")
                client.create_model_package = refuse
            return client

    assert tfgen(sandbox, "outputs", "sandbox").exit_code == 0
    before = account_snapshot(sandbox)
    the_design = design(load_environment(sandbox.config_dir, "sandbox"))
    report = accept.accept(the_design, sandbox.out_env, allow_protected=True,
                           boto_session=FailingRegistry(boto3.session.Session(region_name=REGION)))
    results = report.results
    registry = [r for r in results if r.module == "registry"]
    assert registry and all(r.status == "FAIL" and r.detail == "RuntimeError: the registry is down"
                            for r in registry)
    assert [r.status for r in results if r.module == "ecr"] == ["PASS"] * 9
    assert results[-1] == Result(results[-1].what, PASS, "", module="cleanup")
    assert account_snapshot(sandbox) == before
    assert_table_is_the_json(table(report), json.loads(as_json(report)))


def test_a_failed_training_job_reaches_the_subscribers_and_a_completed_one_does_not(sandbox, alarm_queue):
    events = boto_client(sandbox.emulator, "events", REGION)
    sqs = boto_client(sandbox.emulator, "sqs", REGION)

    def job_event(status: str) -> dict:
        # The shape SageMaker sends (AWS's "SageMaker Training Job State Change" event, detail abridged).
        return {"Source": "aws.sagemaker", "DetailType": "SageMaker Training Job State Change",
                "Detail": json.dumps({"TrainingJobName": f"churn-{status.lower()}", "TrainingJobStatus": status,
                                      "SecondaryStatus": status, "FailureReason": "AlgorithmError" if
                                      status == "Failed" else None})}

    assert events.put_events(Entries=[job_event("Completed"), job_event("Failed")])["FailedEntryCount"] == 0
    received = [json.loads(json.loads(m["Body"])["Message"]) for m in
                sqs.receive_message(QueueUrl=alarm_queue, MaxNumberOfMessages=10, WaitTimeSeconds=2)["Messages"]]
    assert [(e["detail-type"], e["detail"]["TrainingJobName"]) for e in received] == [
        ("SageMaker Training Job State Change", "churn-failed")]


# --- the plan's job tests: tfgen accept --jobs ----------------------------------------------

# AWS's "Docker Registry Paths and Example Code" page, scikit-learn in eu-west-1 (AWS's registry account).
SKLEARN_IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
AML = "rc/anti-money-laundering"


def job_expectations(sb) -> dict:
    """What the plan and the YAML say a job of rc/anti-money-laundering runs with: its role (the one
    tfgen creates, {tag_prefix}-{team}-{project}-execution), the workload groups ({tag_prefix}-processing,
    -training, their IDs as EC2 has them), every private subnet, and its data bucket."""
    from generator.config.loader import load_environment

    cfg = load_environment(sb.config_dir, "sandbox").config
    ec2 = boto_client(sb.emulator, "ec2", REGION)
    groups = {g["GroupName"]: g["GroupId"] for g in ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [cfg.network.vpc_id]}])["SecurityGroups"]}
    return {"role": f"arn:aws:iam::{cfg.account_id}:role/{cfg.tag_prefix}-rc-anti-money-laundering-execution",
            "processing": groups[f"{cfg.tag_prefix}-processing"], "training": groups[f"{cfg.tag_prefix}-training"],
            "subnets": list(cfg.network.subnet_ids),
            "bucket": cfg.teams["rc"].projects["anti-money-laundering"].data_buckets[0]}


def run_leftovers(sb, bucket: str) -> list[str]:
    s3 = boto_client(sb.emulator, "s3", REGION)
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="tfgen-accept-").get("Contents", [])]


def test_accept_jobs_runs_a_processing_and_a_two_instance_training_job_in_the_vpc(sandbox):
    """The requests SageMaker is sent, held to the plan and the YAML; the jobs' results read back;
    the cost said first; nothing left in the bucket."""
    assert tfgen(sandbox, "outputs", "sandbox").exit_code == 0
    want = job_expectations(sandbox)
    with sandbox.emulator.recording() as seen:
        result = tfgen(sandbox, "accept", "sandbox", "--allow-protected", "--jobs", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = [r for r in json.loads(result.stdout)["results"] if r["module"] in ("jobs", "cleanup")]
    # The sandbox's YAML names a data bucket for rc/anti-money-laundering only: the other two are skipped, saying how.
    assert [(r["status"], r["what"].split(":")[0]) for r in rows[:-1]] == [
        ("SKIP", "algo/recommendation-engine"), ("SKIP", "rc/fraud-detection"), ("PASS", AML), ("PASS", AML)]
    assert (rows[-1]["module"], rows[-1]["status"]) == ("cleanup", "PASS")
    assert "data_buckets" in rows[0]["fix"] and "--bucket" in rows[0]["fix"]
    processing, training = rows[2], rows[3]
    assert "1 x ml.m5.large" in processing["what"] and "2 x ml.m5.large" in training["what"]
    role = want["role"].rsplit("/", 1)[1]
    for row in (processing, training):
        assert ": Completed" in row["detail"] and f"as assumed-role/{role}" in row["detail"]
    assert "log stream" in processing["detail"] and "2 log streams" in training["detail"]
    assert "reached each other on tcp/" in training["detail"]
    # The cost before the jobs, then the progress line, on stderr.
    said = result.stderr
    assert said.startswith("tfgen accept --jobs: 1 project (rc/anti-money-laundering)") and "3 instances" in said
    assert "expected 5 to 10 minutes" in said and "rough cost" in said and "\njobs, " in said

    requests = {s.operation: s.params for s in seen if s.operation in ("CreateProcessingJob", "CreateTrainingJob")}
    assert str(seen[0]) == "sts:GetCallerIdentity"
    p, t = requests["CreateProcessingJob"], requests["CreateTrainingJob"]
    assert p["RoleArn"] == t["RoleArn"] == want["role"]
    assert p["AppSpecification"]["ImageUri"] == t["AlgorithmSpecification"]["TrainingImage"] == SKLEARN_IMAGE
    assert p["NetworkConfig"]["VpcConfig"] == {"SecurityGroupIds": [want["processing"]], "Subnets": want["subnets"]}
    assert t["VpcConfig"] == {"SecurityGroupIds": [want["training"]], "Subnets": want["subnets"]}
    # The script must reach S3 and STS: no network isolation (AWS's API reference: isolation blocks all calls).
    assert p["NetworkConfig"]["EnableNetworkIsolation"] is False and t["EnableNetworkIsolation"] is False
    assert t["EnableInterContainerTrafficEncryption"] is False
    assert p["ProcessingResources"]["ClusterConfig"] == {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                                        "VolumeSizeInGB": p["ProcessingResources"]["ClusterConfig"][
                                                            "VolumeSizeInGB"]}
    assert (t["ResourceConfig"]["InstanceCount"], t["ResourceConfig"]["InstanceType"]) == (2, "ml.m5.large")
    bucket = f"s3://{want['bucket']}/"
    uris = [i["S3Input"]["S3Uri"] for i in p["ProcessingInputs"]] + \
        [o["S3Output"]["S3Uri"] for o in p["ProcessingOutputConfig"]["Outputs"]] + \
        [t["OutputDataConfig"]["S3OutputPath"], t["HyperParameters"]["sagemaker_submit_directory"]]
    assert uris and all(uri.startswith(bucket) for uri in uris)
    assert 0 < p["StoppingCondition"]["MaxRuntimeInSeconds"] <= 3600 and \
        0 < t["StoppingCondition"]["MaxRuntimeInSeconds"] <= 3600
    assert run_leftovers(sandbox, want["bucket"]) == []


@pytest.mark.parametrize(("denied", "reason"), [
    ("s3:PutObject", "AccessDenied"),  # the script's write to the bucket, judged by the role's policies
    ("ecr:BatchGetImage", f"may not ecr:BatchGetImage on arn:aws:ecr:{REGION}:141502667606:repository/"
                          "sagemaker-scikit-learn"),  # SageMaker pulling AWS's image as the role
    ("logs:PutLogEvents", "Completed in"),  # the job runs, its logs do not arrive: still a FAIL
])
def test_accept_jobs_reports_a_failed_job_with_its_reason_and_removes_what_it_wrote(sandbox, denied, reason):
    want = job_expectations(sandbox)
    iam = boto_client(sandbox.emulator, "iam", REGION)
    role = want["role"].rsplit("/", 1)[1]
    iam.put_role_policy(RoleName=role, PolicyName="no-jobs", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": denied, "Resource": "*"}]}))
    try:
        assert tfgen(sandbox, "outputs", "sandbox").exit_code == 0
        result = tfgen(sandbox, "accept", "sandbox", "--allow-protected", "--jobs", "--project", AML,
                       "--format", "json")
    finally:
        iam.delete_role_policy(RoleName=role, PolicyName="no-jobs")
    assert result.exit_code == 1
    rows = [r for r in json.loads(result.stdout)["results"] if r["module"] in ("jobs", "cleanup")]
    assert [r["status"] for r in rows] == ["FAIL", "FAIL", "PASS"]
    assert all(reason in r["detail"] for r in rows[:2]), rows
    if denied == "logs:PutLogEvents":
        assert all("0 log streams with lines" in r["detail"] for r in rows[:2]), rows
    else:
        assert all(": Failed" in r["detail"] for r in rows[:2]), rows
    assert run_leftovers(sandbox, want["bucket"]) == []


def test_accept_jobs_stops_the_jobs_still_running_at_the_timeout(sandbox):
    from sandbox import job_runs

    want = job_expectations(sandbox)
    assert tfgen(sandbox, "outputs", "sandbox").exit_code == 0
    with job_runs.held(), sandbox.emulator.recording() as seen:
        result = tfgen(sandbox, "accept", "sandbox", "--allow-protected", "--jobs", "--project", AML,
                       "--jobs-timeout", "1", "--format", "json")
    assert result.exit_code == 1
    rows = [r for r in json.loads(result.stdout)["results"] if r["module"] in ("jobs", "cleanup")]
    assert [r["status"] for r in rows] == ["FAIL", "FAIL", "PASS"]
    assert all(r["detail"].endswith("still InProgress after 0m 1s: stopped") for r in rows[:2]), rows
    names = {s.operation: s.params for s in seen if s.operation.startswith(("Stop", "Create")) and
             s.operation.endswith("Job")}
    assert names["StopProcessingJob"]["ProcessingJobName"] == names["CreateProcessingJob"]["ProcessingJobName"]
    assert names["StopTrainingJob"]["TrainingJobName"] == names["CreateTrainingJob"]["TrainingJobName"]
    sagemaker = boto_client(sandbox.emulator, "sagemaker", REGION)
    assert sagemaker.describe_processing_job(ProcessingJobName=names["StopProcessingJob"]["ProcessingJobName"])[
        "ProcessingJobStatus"] == "Stopped"
    assert sagemaker.describe_training_job(TrainingJobName=names["StopTrainingJob"]["TrainingJobName"])[
        "TrainingJobStatus"] == "Stopped"
    assert "InProgress" in result.stderr  # the progress line, while it waited
    assert run_leftovers(sandbox, want["bucket"]) == []


def register_model_and_push_image(sb, group: str = "rc-fraud-detection",
                                  repository: str = "acme-sm-rc-fraud-detection/inference") -> tuple[str, str]:
    """The plan's acceptance steps: a model version in the group, an image in the repository."""
    sagemaker = boto_client(sb.emulator, "sagemaker", REGION)
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=group, ModelPackageDescription="acceptance test",
        InferenceSpecification={"Containers": [{"Image": f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/"
                                                         f"{repository}:v1"}],
                                "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
    )["ModelPackageArn"]
    ecr = boto_client(sb.emulator, "ecr", REGION)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                           "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1,
                                      "digest": "sha256:" + "a" * 64}, "layers": []})
    ecr.put_image(repositoryName=repository, imageManifest=manifest, imageTag="v1")
    return arn, "v1"


def test_protected_destroy_is_refused_and_nothing_is_lost(sandbox):
    model_arn, tag = register_model_and_push_image(sandbox)
    refused = sandbox.terraform("teams/rc", "destroy", "-auto-approve", "-input=false", "-no-color", check=False)
    assert refused.returncode != 0
    assert "Instance cannot be destroyed" in refused.stderr
    sagemaker = boto_client(sandbox.emulator, "sagemaker", REGION)
    versions = sagemaker.list_model_packages(ModelPackageGroupName="rc-fraud-detection")["ModelPackageSummaryList"]
    assert [v["ModelPackageArn"] for v in versions] == [model_arn]
    images = boto_client(sandbox.emulator, "ecr", REGION).list_images(
        repositoryName="acme-sm-rc-fraud-detection/inference")["imageIds"]
    assert [i.get("imageTag") for i in images] == [tag]
    assert tfgen(sandbox, "verify", "sandbox").exit_code == 0


def test_drift_behind_terraforms_back_is_found(sandbox):
    """It changes the account behind Terraform's back, then puts it back: the other tests run in any order."""
    ec2 = boto_client(sandbox.emulator, "ec2", REGION)
    training = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["acme-sm-training"]}])
    ssh = ec2.authorize_security_group_ingress(GroupId=training["SecurityGroups"][0]["GroupId"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    try:
        check_drift_is_found(sandbox)
    finally:
        ec2.revoke_security_group_ingress(GroupId=training["SecurityGroups"][0]["GroupId"],
                                          SecurityGroupRuleIds=[ssh["SecurityGroupRules"][0]["SecurityGroupRuleId"]])
        for root in ("platform", "teams/rc"):
            lifecycle.apply(sandbox, root)  # retention and the lifecycle policy as designed again
    assert tfgen(sandbox, "verify", "sandbox").exit_code == 0


def check_drift_is_found(sandbox) -> None:
    boto_client(sandbox.emulator, "logs", REGION).put_retention_policy(
        logGroupName="/aws/sagemaker/TrainingJobs", retentionInDays=1)
    boto_client(sandbox.emulator, "ecr", REGION).delete_lifecycle_policy(
        repositoryName="acme-sm-rc-fraud-detection/training")

    text, result = tfgen(sandbox, "verify", "sandbox"), tfgen(sandbox, "verify", "sandbox", "--format", "json")
    assert text.exit_code == result.exit_code == 1
    report = json.loads(result.output)
    assert_table_is_the_json(text.output, report)
    failed = {r["what"]: r["detail"] for r in report["results"] if r["status"] == "FAIL"}
    assert failed == {"security group acme-sm-training": "different: extra ingress tcp/22 from 0.0.0.0/0",
                      "log group /aws/sagemaker/TrainingJobs": "different: expected 90 days, found 1 days",
                      "repository acme-sm-rc-fraud-detection/training": "different: no lifecycle policy"}
    assert text.output.splitlines()[-1] == "44 checks: 41 passed, 0 warnings, 3 failed, 0 skipped"
    for root in ("platform", "teams/rc"):
        changed, _ = lifecycle.plan_changes(sandbox, root)
        assert changed, f"terraform plan of {root} does not see the drift"


@pytest.fixture(scope="module")
def unprotected(emulator, tmp_path_factory):
    """A second, non-protected environment in its own VPC of the same emulated account."""
    def edit(data: dict) -> None:
        data["protected"] = False
        data["tag_prefix"] = "acme-dev"
        data["teams"] = {"ops": {"execution_role": "ops-sagemaker",
                                 "projects": {"churn": {"endpoints": {"churn-scoring": {}}}}}}
        data["ecr"] = {"shared_repos": []}

    sb = lifecycle.prepare(emulator, tmp_path_factory.mktemp("unprotected"), edit=edit)
    lifecycle.render_sandbox(sb)
    return sb


def test_destroying_a_team_root_removes_its_resources(unprotected):
    sb = unprotected
    lifecycle.init(sb, "teams/ops")
    lifecycle.apply(sb, "teams/ops")
    sagemaker = boto_client(sb.emulator, "sagemaker", REGION)
    assert sagemaker.describe_model_package_group(ModelPackageGroupName="ops-churn")["ModelPackageGroupStatus"]
    sb.terraform("teams/ops", "destroy", "-auto-approve", "-input=false", "-no-color")
    result = tfgen(sb, "verify", "sandbox", "--format", "json")
    assert result.exit_code == 1
    missing = {r["what"]: r["detail"] for r in json.loads(result.output)["results"]
               if r["status"] == "FAIL" and r["detail"].startswith("missing")}
    assert missing["model package group ops-churn"] == (
        "missing: ValidationException: ModelPackageGroup "
        "arn:aws:sagemaker:eu-west-1:123456789012:model-package-group/ops-churn does not exist.")
    for name in ("acme-sm-ops-churn/preprocessing", "acme-sm-ops-churn/training", "acme-sm-ops-churn/inference"):
        assert missing[f"repository {name}"] == "missing"
    assert missing["log group /aws/sagemaker/Endpoints/churn-scoring"] == "missing"
    assert missing["alarm acme-dev-churn-scoring-5xx-rate"] == "missing"


def test_an_emptied_team_root_destroys_its_resources_and_leaves_no_state(unprotected):
    """ops's last project retired: its root stays, emptied (its backend, no resources), and its apply
    destroys what the state held. Deleting the team before that is refused; after it, the team's
    root goes with it. The YAML is put back afterwards: the tests run in any order."""
    import yaml
    from botocore.exceptions import ClientError

    sb = unprotected
    path = sb.config_dir / "sandbox.yaml"
    original = path.read_text()
    data = yaml.safe_load(original)
    without_ops = dict(data, teams={name: team for name, team in data["teams"].items() if name != "ops"})
    try:
        lifecycle.init(sb, "teams/ops")
        lifecycle.apply(sb, "teams/ops")
        assert sb.terraform("teams/ops", "state", "list").stdout.split()
        path.write_text(yaml.safe_dump(without_ops, sort_keys=False))
        refused = tfgen(sb, "render", "sandbox")
        assert refused.exit_code == 1 and "team ops is no longer in the YAML" in refused.output
        data["teams"]["ops"]["projects"]["churn"]["retired"] = True
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        assert tfgen(sb, "render", "sandbox").exit_code == 0
        assert sorted(p.name for p in (sb.out_env / "teams/ops").glob("*.tf")) == [
            "backend.tf", "emptied.tf", "providers.tf", "versions.tf"]
        sb.terraform("teams/ops", "apply", "-auto-approve", "-input=false", "-no-color")

        assert sb.terraform("teams/ops", "state", "list").stdout.split() == []
        sagemaker = boto_client(sb.emulator, "sagemaker", REGION)
        with pytest.raises(ClientError):
            sagemaker.describe_model_package_group(ModelPackageGroupName="ops-churn")
        ecr = boto_client(sb.emulator, "ecr", REGION)
        for stage in ("preprocessing", "training", "inference"):
            with pytest.raises(ecr.exceptions.RepositoryNotFoundException):
                ecr.describe_repositories(repositoryNames=[f"acme-sm-ops-churn/{stage}"])
        logs = boto_client(sb.emulator, "logs", REGION)
        assert logs.describe_log_groups(logGroupNamePrefix="/aws/sagemaker/Endpoints/churn-scoring")["logGroups"] == []
        alarms = boto_client(sb.emulator, "cloudwatch", REGION).describe_alarms(AlarmNamePrefix="acme-dev-churn-")
        assert alarms["MetricAlarms"] == []
        changed, output = lifecycle.plan_changes(sb, "teams/ops")
        assert not changed, output

        path.write_text(yaml.safe_dump(without_ops, sort_keys=False))
        assert tfgen(sb, "render", "sandbox").exit_code == 0
        assert list((sb.out_env / "teams/ops").glob("*.tf")) == []
    finally:
        path.write_text(original)
        lifecycle.render_sandbox(sb)


@pytest.fixture(scope="module")
def retiring(emulator, tmp_path_factory):
    """A protected environment of its own (its own VPC and names in the same emulated account),
    teams/ret applied, with a model version in its group and an image in its repository: the
    retirement tests change it for good, each in its own team's root (rex's: the endpoint test's),
    so it shares it with no other test."""
    def edit(data: dict) -> None:
        data["protected"] = True
        data["tag_prefix"] = "acme-ret"
        data["ecr"] = {"shared_repos": []}
        data["teams"] = {"ret": {"execution_role": "ret-sagemaker",
                                 "projects": {"churn": {"endpoints": {"churn-api": {}}}}},
                         "rex": {"execution_role": "rex-sagemaker",
                                 "projects": {"scoring": {"endpoints": {"rex-api": {}}}}}}

    sb = lifecycle.prepare(emulator, tmp_path_factory.mktemp("retiring"), edit=edit)
    lifecycle.render_sandbox(sb)
    lifecycle.init(sb, "teams/ret")
    lifecycle.apply(sb, "teams/ret")
    sb.model_arn, sb.tag = register_model_and_push_image(sb, "ret-churn", "acme-sm-ret-churn/inference")
    return sb


def test_retiring_a_protected_project_keeps_its_data(retiring):
    """Retire ret/churn, whose group holds a model version and whose repository holds an image;
    apply; everything is still in the account, no longer in the state."""
    import yaml

    sb = retiring
    path = sb.config_dir / "sandbox.yaml"
    data = yaml.safe_load(path.read_text())
    data["teams"]["ret"]["projects"]["churn"]["retired"] = True
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    lifecycle.render_sandbox(sb)
    retired = (sb.out_env / "teams/ret/retired.tf").read_text()
    # three repositories, their three lifecycle policies, the group, the endpoint's log group
    assert retired.count("removed {") == 8 and retired.count("destroy = false") == 8
    sb.terraform("teams/ret", "apply", "-auto-approve", "-input=false", "-no-color")

    sagemaker = boto_client(sb.emulator, "sagemaker", REGION)
    versions = sagemaker.list_model_packages(ModelPackageGroupName="ret-churn")["ModelPackageSummaryList"]
    assert [v["ModelPackageArn"] for v in versions] == [sb.model_arn]
    ecr = boto_client(sb.emulator, "ecr", REGION)
    images = ecr.list_images(repositoryName="acme-sm-ret-churn/inference")["imageIds"]
    assert [i.get("imageTag") for i in images] == [sb.tag]
    for stage in ("preprocessing", "training"):
        ecr.describe_repositories(repositoryNames=[f"acme-sm-ret-churn/{stage}"])
    logs = boto_client(sb.emulator, "logs", REGION)
    assert logs.describe_log_groups(logGroupNamePrefix="/aws/sagemaker/Endpoints/churn-api")["logGroups"]
    state = sb.terraform("teams/ret", "state", "list").stdout.split()
    assert not [address for address in state if "churn" in address]
    changed, output = lifecycle.plan_changes(sb, "teams/ret")
    assert not changed, output


def test_retiring_and_renaming_a_protected_endpoint_keeps_its_log_group(retiring):
    """rex-api renamed rex-api-v2 in a protected environment: the old name retired, the new one
    declared. Its log group, with the events in it, is still in the account and no longer in the
    state; its alarms are gone; the new endpoint's log group and alarms are made; the next plan
    is empty."""
    import time

    import yaml

    sb = retiring
    lifecycle.init(sb, "teams/rex")
    lifecycle.apply(sb, "teams/rex")
    logs = boto_client(sb.emulator, "logs", REGION)
    group = "/aws/sagemaker/Endpoints/rex-api"
    logs.create_log_stream(logGroupName=group, logStreamName="AllTraffic/i-0123456789abcdef0")
    put = logs.put_log_events(logGroupName=group, logStreamName="AllTraffic/i-0123456789abcdef0",
                              logEvents=[{"timestamp": int(time.time() * 1000), "message": "served"}])
    assert "rejectedLogEventsInfo" not in put
    path = sb.config_dir / "sandbox.yaml"
    data = yaml.safe_load(path.read_text())
    data["teams"]["rex"]["projects"]["scoring"]["endpoints"] = {"rex-api": {"retired": True}, "rex-api-v2": {}}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    rendered = tfgen(sb, "render", "sandbox")
    assert rendered.exit_code == 0, rendered.output
    assert "from = aws_cloudwatch_log_group.rex_api\n" in (sb.out_env / "teams/rex/retired.tf").read_text()
    sb.terraform("teams/rex", "apply", "-auto-approve", "-input=false", "-no-color")

    events = logs.get_log_events(logGroupName=group, logStreamName="AllTraffic/i-0123456789abcdef0")["events"]
    assert [e["message"] for e in events] == ["served"]
    assert logs.describe_log_groups(logGroupNamePrefix=f"{group}-v2")["logGroups"]
    alarms = boto_client(sb.emulator, "cloudwatch", REGION).describe_alarms(AlarmNamePrefix="acme-ret-rex-api-")
    assert sorted(a["AlarmName"] for a in alarms["MetricAlarms"]) == [
        "acme-ret-rex-api-v2-5xx-rate", "acme-ret-rex-api-v2-p99-latency"]
    state = sb.terraform("teams/rex", "state", "list").stdout.split()
    assert "aws_cloudwatch_log_group.rex_api" not in state and "aws_cloudwatch_log_group.rex_api_v2" in state
    changed, output = lifecycle.plan_changes(sb, "teams/rex")
    assert not changed, output
