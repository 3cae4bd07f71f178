"""tfgen preflight against the emulator, one problem at a time: each FAIL or WARN with its
fix, exit 1 only on a FAIL, and nothing but read calls (and the IAM simulator). (The whole brownfield account, fixed
and applied, is tests/test_sandbox_brownfield.py.)"""

from __future__ import annotations

import json

import boto3
import yaml
from click.testing import CliRunner

from generator.account import preflight as preflight_module
from generator.cli import cli
from generator.config.loader import load_environment
from generator.design.builder import design
from sandbox import lifecycle
from sandbox.emulator import boto_client
from tests.conftest import inline_policy

REGION = "eu-west-1"


def run(sb, *args: str):
    return CliRunner().invoke(cli, ["--config-dir", str(sb.config_dir), "preflight", "sandbox", *args],
                              catch_exceptions=False)


def checks_of(sb) -> tuple[int, dict[str, dict]]:
    result = run(sb, "--format", "json")
    return result.exit_code, {c["what"]: c for c in json.loads(result.output)["results"]}


def edit_yaml(sb, change) -> None:
    path = sb.config_dir / "sandbox.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_a_ready_account_passes_with_exit_0(emulator, tmp_path):
    sb = lifecycle.prepare(emulator, tmp_path)
    code, checks = checks_of(sb)
    assert code == 0
    assert {c["status"] for c in checks.values()} == {"PASS"}
    text = run(sb).output
    assert text.splitlines()[-1] == f"{len(checks)} checks: {len(checks)} passed, 0 warnings, 0 failed, 0 skipped"


def test_route_tables_a_subnet_outside_the_yaml_fails_an_unused_one_warns(emulator, tmp_path):
    sb = lifecycle.prepare(emulator, tmp_path)
    ec2 = boto_client(emulator, "ec2", REGION)
    net = yaml.safe_load((sb.config_dir / "sandbox.yaml").read_text())["network"]
    other = ec2.create_route_table(VpcId=net["vpc_id"])["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=other, SubnetId=net["private_subnets"][1]["id"])
    unused = ec2.create_route_table(VpcId=net["vpc_id"])["RouteTable"]["RouteTableId"]
    edit_yaml(sb, lambda d: d["network"].update(route_table_ids=[*net["route_table_ids"], unused]))
    code, checks = checks_of(sb)
    assert code == 1
    subnet = net["private_subnets"][1]["id"]
    assert checks[f"route table of {subnet}"] == {
        "what": f"route table of {subnet}", "status": "FAIL", "module": "network",
        "detail": f"{subnet} routes through {other}, which network.route_table_ids does not name: its jobs get no "
                 "S3 gateway route",
        "fix": f"add {other} to network.route_table_ids", "switch_path": [], "switch_value": None}
    assert checks[f"route table {unused}"]["status"] == "WARN"


def test_subnets_in_one_zone_fail_the_cross_zone_check(emulator, tmp_path):
    sb = lifecycle.prepare(emulator, tmp_path, zones="a")
    code, checks = checks_of(sb)
    assert code == 1
    assert checks["subnets across zones"]["status"] == "FAIL"
    assert "1 availability zone (eu-west-1a)" in checks["subnets across zones"]["detail"]


def test_a_subnet_in_another_zone_than_the_yaml_says_fails_naming_both_with_the_accounts_zones(emulator, tmp_path):
    """DescribeSubnets' AvailabilityZone is the subnet's zone (EC2 API reference, Subnet)."""
    sb = lifecycle.prepare(emulator, tmp_path)
    subnets = yaml.safe_load((sb.config_dir / "sandbox.yaml").read_text())["network"]["private_subnets"]
    swapped = [{"id": subnets[0]["id"], "zone": subnets[1]["zone"]}, {"id": subnets[1]["id"], "zone": subnets[0]["zone"]}]
    edit_yaml(sb, lambda d: d["network"].update(private_subnets=swapped))
    code, checks = checks_of(sb)
    assert code == 1
    zones = checks["subnet zones"]
    assert zones["status"] == "FAIL" and zones["module"] == "network"
    assert zones["detail"] == (f"{subnets[0]['id']} is in {REGION}a, the YAML says {REGION}b; {subnets[1]['id']} is in "
                               f"{REGION}b, the YAML says {REGION}a: render picks each endpoint's subnets, one a zone, "
                               "by the YAML's zones")
    assert (zones["switch_path"], zones["switch_value"]) == (["network", "private_subnets"], subnets)
    assert zones["fix"].startswith("set network.private_subnets: [{id: ")


def test_a_zone_left_out_of_an_endpoint_that_its_service_is_offered_in_warns(emulator, tmp_path):
    sb = lifecycle.prepare(emulator, tmp_path)
    edit_yaml(sb, lambda d: d.update(vpc_endpoints={"zones_not_offered": {"sts": [f"{REGION}b"]}}))
    code, checks = checks_of(sb)
    assert code == 0  # a WARN alone does not fail
    sts = checks["endpoint sts zones"]
    assert sts["status"] == "WARN"
    assert sts["detail"].startswith(f"com.amazonaws.{REGION}.sts is offered in {REGION}a, {REGION}b, {REGION}c: the "
                                    f"YAML leaves {REGION}b out of its endpoint")
    assert (sts["switch_path"], sts["switch_value"]) == (["vpc_endpoints", "zones_not_offered", "sts"], [])


def test_a_service_offered_in_none_of_the_subnets_zones_fails_naming_where_it_is(emulator, tmp_path):
    sb = lifecycle.prepare(emulator, tmp_path)
    for zone in "ab":
        emulator.withhold_zone(f"com.amazonaws.{REGION}.logs", f"{REGION}{zone}")
    code, checks = checks_of(sb)
    assert code == 1
    logs = checks["endpoint logs zones"]
    assert logs["status"] == "FAIL" and logs["switch_path"] == []
    assert logs["detail"].startswith(f"com.amazonaws.{REGION}.logs is offered in {REGION}c: no private subnet is in")
    assert logs["fix"] == f"add a private subnet in {REGION}c to network.private_subnets"


def test_the_vpc_must_exist_and_have_the_yaml_cidr(emulator, tmp_path):
    sb = lifecycle.prepare(emulator, tmp_path)
    edit_yaml(sb, lambda d: d["network"].update(vpc_cidr="10.98.0.0/16"))
    code, checks = checks_of(sb)
    assert (code, checks["vpc"]["status"]) == (1, "FAIL")
    assert checks["vpc"]["detail"].endswith("has 10.99.0.0/16, the YAML says 10.98.0.0/16")
    edit_yaml(sb, lambda d: d["network"].update(vpc_id="vpc-0123456789abcdef0"))
    code, checks = checks_of(sb)
    assert checks["vpc"]["status"] == "FAIL" and "vpc dns" not in checks  # nothing else to read in a missing VPC


def test_roles_missing_not_trusting_sagemaker_or_already_there(emulator, tmp_path):
    sb = lifecycle.prepare(emulator, tmp_path)
    iam = boto_client(emulator, "iam", REGION)
    iam.delete_role(RoleName="acme-sagemaker-algo")
    iam.update_assume_role_policy(RoleName="acme-sagemaker-rc", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))
    iam.create_role(RoleName="acme-sm-rc-anti-money-laundering-execution", AssumeRolePolicyDocument="{}")
    code, checks = checks_of(sb)
    assert code == 1
    assert checks["execution role acme-sagemaker-algo"]["detail"] == "not found; algo/recommendation-engine run as it"
    assert checks["execution role acme-sagemaker-algo"]["fix"] == ("create the role, or name the existing one in "
                                                                   "teams.algo.execution_role")
    assert checks["execution role acme-sagemaker-rc"]["detail"] == ("does not trust sagemaker.amazonaws.com: jobs "
                                                                   "cannot run as it")
    created = checks["execution role acme-sm-rc-anti-money-laundering-execution"]
    assert created["status"] == "FAIL" and created["fix"] == (
        "replace teams.rc.projects.anti-money-laundering.create_execution_role with execution_role: "
        "arn:aws:iam::123456789012:role/acme-sm-rc-anti-money-laundering-execution")


def test_adopting_what_does_not_exist_fails_before_the_import_would(emulator, tmp_path):
    sb = lifecycle.prepare(emulator, tmp_path)

    def adopt(d: dict) -> None:
        d["network"]["adopt_existing"] = {"vpc_endpoints": {"sts": "vpce-0123456789abcdef0"}}
        d["logs"] = {"adopt_existing_job_log_groups": True}

    edit_yaml(sb, adopt)
    code, checks = checks_of(sb)
    assert code == 1
    assert checks["endpoint sts"]["fix"] == "remove network.adopt_existing.vpc_endpoints.sts"
    assert checks["log group /aws/sagemaker/TrainingJobs"]["detail"] == ("adopted in the YAML but does not exist: the "
                                                                        "import would fail")


def test_an_endpoint_without_private_dns_only_warns(emulator, tmp_path):
    sb = lifecycle.prepare(emulator, tmp_path)
    net = yaml.safe_load((sb.config_dir / "sandbox.yaml").read_text())["network"]
    sts = boto_client(emulator, "ec2", REGION).create_vpc_endpoint(
        VpcId=net["vpc_id"], ServiceName=f"com.amazonaws.{REGION}.sts", VpcEndpointType="Interface",
        SubnetIds=[s["id"] for s in net["private_subnets"]], PrivateDnsEnabled=False)["VpcEndpoint"]["VpcEndpointId"]
    code, checks = checks_of(sb)
    assert code == 0  # a WARN alone does not fail
    assert checks["endpoint sts"]["status"] == "WARN"
    assert checks["endpoint sts"]["switch_path"] == ["network", "adopt_existing", "vpc_endpoints", "sts"]
    assert checks["endpoint sts"]["switch_value"] == sts


def test_preflight_only_reads(emulator, tmp_path):
    sb = lifecycle.prepare(emulator, tmp_path)
    session = boto3.session.Session(region_name=REGION)
    calls: list[str] = []
    session.events.register("before-call", lambda model, **_: calls.append(model.name))
    preflight_module.preflight(design(load_environment(sb.config_dir, "sandbox")), session)
    assert calls[0] == "GetCallerIdentity"  # the account guard, before anything is read
    # SimulatePrincipalPolicy evaluates policies and changes nothing (IAM API reference).
    assert calls and all(name.startswith(("Describe", "Get", "List")) or name == "SimulatePrincipalPolicy"
                         for name in calls), sorted(set(calls))
    assert "SimulatePrincipalPolicy" in calls


def test_an_s3_gateway_on_other_route_tables_is_no_obstacle(emulator, tmp_path):
    """Two S3 gateways in one VPC on different route tables: AWS allows it, so preflight passes it."""
    sb = lifecycle.prepare(emulator, tmp_path)
    net = yaml.safe_load((sb.config_dir / "sandbox.yaml").read_text())["network"]
    ec2 = boto_client(emulator, "ec2", REGION)
    other = ec2.create_route_table(VpcId=net["vpc_id"])["RouteTable"]["RouteTableId"]
    gateway = ec2.create_vpc_endpoint(VpcId=net["vpc_id"], ServiceName=f"com.amazonaws.{REGION}.s3",
                                      VpcEndpointType="Gateway", RouteTableIds=[other])["VpcEndpoint"]["VpcEndpointId"]
    code, checks = checks_of(sb)
    assert code == 0
    assert checks["endpoint s3"]["detail"] == (f"{gateway} serves other route tables; tfgen adds one for "
                                              "network.route_table_ids")


def test_a_role_whose_own_inline_policies_leave_no_room_fails(emulator, tmp_path):
    """IAM holds one role's inline policies to 10,240 characters in all: the team role's own
    9,500 and tfgen's workload policy (about 1,200) do not fit, and apply would fail part-way.
    A policy under tfgen's own name is replaced by apply, so it does not count."""
    sb = lifecycle.prepare(emulator, tmp_path)
    iam = boto_client(emulator, "iam", REGION)
    iam.put_role_policy(RoleName="acme-sagemaker-rc", PolicyName="rc-fraud-detection-workload",
                        PolicyDocument=json.dumps(inline_policy(9_000)))
    code, checks = checks_of(sb)
    assert code == 0, checks
    assert checks["execution role acme-sagemaker-rc"]["status"] == "PASS"
    assert "(0 in 0 of its own" in checks["execution role acme-sagemaker-rc"]["detail"]

    iam.delete_role_policy(RoleName="acme-sagemaker-rc", PolicyName="rc-fraud-detection-workload")
    iam.put_role_policy(RoleName="acme-sagemaker-rc", PolicyName="data-access",
                        PolicyDocument=json.dumps(inline_policy(9_500), indent=2))  # white space is not counted
    code, checks = checks_of(sb)
    role = checks["execution role acme-sagemaker-rc"]
    assert code == 1 and role["status"] == "FAIL"
    assert "(9,500 in 1 of its own" in role["detail"] and "apply would fail part-way" in role["detail"]
    assert role["fix"] == ("move its own inline policies (data-access) into managed policies, or give some of "
                           "rc/fraud-detection an execution_role of their own")


def test_a_role_whose_own_policy_denies_what_the_jobs_need_fails_naming_the_request(emulator, tmp_path):
    """AWS evaluates the role's own policies with tfgen's: an explicit deny there wins
    (IAM's policy evaluation logic), and the jobs could not register a tagged version."""
    sb = lifecycle.prepare(emulator, tmp_path)
    iam = boto_client(emulator, "iam", REGION)
    iam.put_role_policy(RoleName="acme-sagemaker-rc", PolicyName="no-tagging", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Sid": "NoTags", "Effect": "Deny", "Action": "sagemaker:AddTags",
                                                "Resource": "*"}]}))
    code, checks = checks_of(sb)
    assert code == 1
    failed = checks["role acme-sagemaker-rc: sagemaker:AddTags on "
                    "arn:aws:sagemaker:eu-west-1:123456789012:model-package/rc-fraud-detection/1"]
    assert failed["status"] == "FAIL"
    assert "is explicitly denied by no-tagging; it must be allowed (§4 register a model version" in failed["detail"]
    assert checks["role acme-sagemaker-algo simulated"]["status"] == "PASS"


def test_a_role_whose_own_policy_reaches_other_projects_warns(emulator, tmp_path):
    sb = lifecycle.prepare(emulator, tmp_path)
    iam = boto_client(emulator, "iam", REGION)
    iam.put_role_policy(RoleName="acme-sagemaker-algo", PolicyName="sagemaker-everything", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sagemaker:Describe*", "Resource": "*"}]}))
    code, checks = checks_of(sb)
    assert code == 0
    warned = checks["role acme-sagemaker-algo: other projects' requests"]
    assert warned["status"] == "WARN" and "is allowed by sagemaker-everything; it must be refused" in warned["detail"]
    # DescribeModelPackageGroup of the three neighbours: rc's two projects and a made-up algo-recommendation-engine-x
    assert warned["detail"].startswith("3 of them allowed")
    assert warned["fix"] == "narrow sagemaker-everything if algo/recommendation-engine must be kept from other projects"
