"""The account the plan describes, not an empty one: a VPC with DNS hostnames off, subnets
in three zones, the execution roles, the job log groups a first job made, an S3 gateway
and a sagemaker.api endpoint with private DNS, a model package group with a project's
name, and a security group with tfgen's name. `tfgen preflight` names every problem with
its fix; once the fixes are made (the YAML switches it prints, and the two changes in AWS),
apply adopts what exists, a re-plan shows no changes and `tfgen verify` passes.

The emulator refuses what AWS refuses (sandbox/emulator.py), so the apply here fails or
succeeds as it would on a real account.
"""

from __future__ import annotations

import json

import yaml
from click.testing import CliRunner

from generator.cli import cli
from sandbox import lifecycle
from sandbox.emulator import boto_client

REGION = "eu-west-1"


def tfgen(sb, *args: str):
    return CliRunner().invoke(cli, ["--config-dir", str(sb.config_dir), "--out-dir", str(sb.out_env.parent), *args],
                              catch_exceptions=False)


def preflight(sb) -> tuple[int, dict[str, dict]]:
    result = tfgen(sb, "preflight", "sandbox", "--format", "json")
    return result.exit_code, {c["what"]: c for c in json.loads(result.output)["results"]}


def set_switch(data: dict, path: list[str], value: object) -> None:
    for key in path[:-1]:
        data = data.setdefault(key, {})
    data[path[-1]] = value


def seed_brownfield(emulator, sb) -> dict[str, str]:
    """What a real account has before tfgen: returns the IDs it made."""
    net = yaml.safe_load((sb.config_dir / "sandbox.yaml").read_text())["network"]
    ec2 = boto_client(emulator, "ec2", REGION)
    vpc, tables = net["vpc_id"], net["route_table_ids"]
    ids = {"s3": ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.s3",
                                         VpcEndpointType="Gateway", RouteTableIds=tables)["VpcEndpoint"]["VpcEndpointId"]}
    # A private-DNS endpoint needs DNS hostnames on (the emulator refuses it otherwise, as AWS
    # does); this account had them on when the endpoint was made and off since.
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    ids["sagemaker.api"] = ec2.create_vpc_endpoint(
        VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.sagemaker.api", VpcEndpointType="Interface",
        SubnetIds=[net["private_subnets"][0]["id"]], PrivateDnsEnabled=True)["VpcEndpoint"]["VpcEndpointId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": False})
    # A training group someone made by hand: HTTPS from the VPC, and AWS's default egress rule.
    ids["training"] = ec2.create_security_group(GroupName="acme-sm-training", Description="training (by hand)",
                                                VpcId=vpc)["GroupId"]
    ids["https_from_vpc"] = ec2.authorize_security_group_ingress(GroupId=ids["training"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": net["vpc_cidr"]}]}
    ])["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    ids["default_egress"] = next(
        r["SecurityGroupRuleId"] for r in ec2.describe_security_group_rules(
            Filters=[{"Name": "group-id", "Values": [ids["training"]]}])["SecurityGroupRules"] if r["IsEgress"])
    logs = boto_client(emulator, "logs", REGION)
    for name in ("/aws/sagemaker/TrainingJobs", "/aws/sagemaker/ProcessingJobs"):
        logs.create_log_group(logGroupName=name)  # as SageMaker does at the first job
    boto_client(emulator, "sagemaker", REGION).create_model_package_group(
        ModelPackageGroupName="rc-fraud-detection", ModelPackageGroupDescription="made before tfgen")
    return ids


def test_a_brownfield_account_is_named_fixed_adopted_and_converges(emulator, tmp_path):
    sb = lifecycle.prepare(emulator, tmp_path, zones="abc", dns_hostnames=False)
    ids = seed_brownfield(emulator, sb)

    code, checks = preflight(sb)
    assert code == 1
    failed = {name for name, c in checks.items() if c["status"] == "FAIL"}
    assert failed == {
        "vpc dns", "security group acme-sm-training", f"security group acme-sm-training rule {ids['default_egress']}",
        "endpoint s3", "endpoint sagemaker.api", "model package group rc-fraud-detection",
        "log group /aws/sagemaker/TrainingJobs", "log group /aws/sagemaker/ProcessingJobs",
    }
    assert checks["vpc dns"]["detail"] == "enableDnsHostnames off: interface endpoints with private DNS need both on"
    assert checks["subnets across zones"]["status"] == "PASS"
    assert checks["subnets across zones"]["detail"].startswith("3 subnets in 3 zones")
    assert checks["execution role acme-sagemaker-rc"]["status"] == "PASS"  # the plan's roles exist
    assert checks["execution role acme-sm-rc-anti-money-laundering-execution"]["status"] == "PASS"  # to be created
    # Each switch names exactly what exists, with its ID.
    assert checks["endpoint sagemaker.api"]["switch_value"] == ids["sagemaker.api"]
    assert checks["endpoint s3"]["switch_value"] == ids["s3"]
    assert checks["security group acme-sm-training"]["switch_value"] == {
        "id": ids["training"], "rules": {"https_from_vpc": ids["https_from_vpc"]}, "description": "training (by hand)"}
    assert checks["model package group rc-fraud-detection"]["switch_value"] == ["model_package_group"]
    assert checks["log group /aws/sagemaker/TrainingJobs"]["switch_value"] == ["processing_jobs", "training_jobs"]
    assert "revoke-security-group-egress" in checks[f"security group acme-sm-training rule {ids['default_egress']}"]["fix"]

    # Make the fixes preflight names: two in AWS, the rest as YAML switches, exactly as printed.
    ec2 = boto_client(emulator, "ec2", REGION)
    net = yaml.safe_load((sb.config_dir / "sandbox.yaml").read_text())["network"]
    ec2.modify_vpc_attribute(VpcId=net["vpc_id"], EnableDnsHostnames={"Value": True})
    ec2.revoke_security_group_egress(GroupId=ids["training"], SecurityGroupRuleIds=[ids["default_egress"]])
    path = sb.config_dir / "sandbox.yaml"
    data = yaml.safe_load(path.read_text())
    for check in checks.values():
        if check["status"] == "FAIL" and check["switch_path"]:
            set_switch(data, check["switch_path"], check["switch_value"])
    path.write_text(yaml.safe_dump(data, sort_keys=False))

    code, checks = preflight(sb)
    assert code == 0, [c for c in checks.values() if c["status"] == "FAIL"]
    assert checks["endpoint sagemaker.api"]["detail"] == f"{ids['sagemaker.api']} exists and is adopted"

    lifecycle.render_sandbox(sb)
    for root in sb.roots():
        lifecycle.init(sb, root)
        lifecycle.apply(sb, root)
    for root in sb.roots():
        changed, output = lifecycle.plan_changes(sb, root)
        assert not changed, f"{root} does not converge:\n{output}"
    result = tfgen(sb, "verify", "sandbox")
    assert result.exit_code == 0, result.output

    # What existed is what is now managed: same IDs, nothing made twice.
    state = sb.terraform("platform", "show", "-json").stdout
    for key in ("s3", "sagemaker.api", "training", "https_from_vpc"):
        assert f'"id":"{ids[key]}"' in state, key
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [net["vpc_id"]]}])["VpcEndpoints"]
    services = [e["ServiceName"] for e in endpoints if e["State"].lower() not in ("deleted", "deleting")]
    assert len(services) == len(set(services)) == 8  # the S3 gateway and the 7 interface endpoints, once each
    api = next(e for e in endpoints if e["VpcEndpointId"] == ids["sagemaker.api"])
    assert sorted(api["SubnetIds"]) == sorted(s["id"] for s in net["private_subnets"])  # onto the YAML's, one a zone


def test_without_adoption_the_apply_fails_as_aws_would(emulator, tmp_path):
    """Why preflight matters: the same account, rendered without the switches, refuses the apply."""
    sb = lifecycle.prepare(emulator, tmp_path, zones="abc")
    net = yaml.safe_load((sb.config_dir / "sandbox.yaml").read_text())["network"]
    ec2 = boto_client(emulator, "ec2", REGION)
    ec2.create_vpc_endpoint(VpcId=net["vpc_id"], ServiceName=f"com.amazonaws.{REGION}.sagemaker.api",
                            VpcEndpointType="Interface", SubnetIds=[net["private_subnets"][0]["id"]],
                            PrivateDnsEnabled=True)
    lifecycle.render_sandbox(sb)
    lifecycle.init(sb, "platform")
    failed = sb.terraform("platform", "apply", "-auto-approve", "-input=false", "-no-color", check=False)
    assert failed.returncode == 1
    assert "there is already a conflicting DNS domain for sagemaker.api.eu-west-1.amazonaws.com" in failed.stderr
