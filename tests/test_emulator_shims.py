"""The emulator refuses what AWS refuses, with AWS's error, and still allows what AWS allows.

moto 5.2.5 accepts each of these; a real account does not (see sandbox/emulator.py)."""

from __future__ import annotations

import json

import botocore.exceptions
import pytest

from sandbox import emulator as emulator_module
from sandbox import network
from sandbox.emulator import boto_client
from tests.conftest import inline_policy

REGION = "eu-west-1"


@pytest.fixture
def emulator():
    with emulator_module.start() as started:
        yield started


def error_of(call, **kwargs) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def interface(net, service: str, private_dns: bool = True) -> dict:
    return dict(VpcId=net.vpc_id, ServiceName=f"com.amazonaws.{REGION}.{service}", VpcEndpointType="Interface",
                SubnetIds=list(net.private_subnet_ids), PrivateDnsEnabled=private_dns)


def test_private_dns_needs_dns_support_and_hostnames(emulator):
    net = network.create(emulator, REGION, "10.50.0.0/16", dns_hostnames=False)
    ec2 = boto_client(emulator, "ec2", REGION)
    assert error_of(ec2.create_vpc_endpoint, **interface(net, "sts")) == (
        "InvalidParameter", "Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC "
                            f"attributes set to true for {net.vpc_id}")
    ec2.create_vpc_endpoint(**interface(net, "sts", private_dns=False))  # without private DNS, AWS allows it
    ec2.modify_vpc_attribute(VpcId=net.vpc_id, EnableDnsHostnames={"Value": True})
    ec2.create_vpc_endpoint(**interface(net, "logs"))


def test_a_second_private_dns_endpoint_for_a_service_is_refused(emulator):
    net = network.create(emulator, REGION, "10.51.0.0/16")
    ec2 = boto_client(emulator, "ec2", REGION)
    first = ec2.create_vpc_endpoint(**interface(net, "sagemaker.api"))["VpcEndpoint"]["VpcEndpointId"]
    assert error_of(ec2.create_vpc_endpoint, **interface(net, "sagemaker.api")) == (
        "InvalidParameter", "private-dns-enabled cannot be set because there is already a conflicting DNS domain for "
                            f"sagemaker.api.{REGION}.amazonaws.com in the VPC {net.vpc_id}")
    ec2.create_vpc_endpoint(**interface(net, "sagemaker.runtime"))  # another service is fine
    ec2.delete_vpc_endpoints(VpcEndpointIds=[first])
    ec2.create_vpc_endpoint(**interface(net, "sagemaker.api"))  # and the same one once the first is gone


def test_a_second_s3_gateway_on_a_route_table_is_refused(emulator):
    net = network.create(emulator, REGION, "10.52.0.0/16")
    ec2 = boto_client(emulator, "ec2", REGION)
    s3 = dict(VpcId=net.vpc_id, ServiceName=f"com.amazonaws.{REGION}.s3", VpcEndpointType="Gateway")
    ec2.create_vpc_endpoint(**s3, RouteTableIds=list(net.route_table_ids))
    code, message = error_of(ec2.create_vpc_endpoint, **s3, RouteTableIds=list(net.route_table_ids))
    assert code == "RouteAlreadyExists"
    assert message.startswith(f"route table {net.route_table_ids[0]} already has a route with destination-prefix-list-id pl-")
    other = ec2.create_route_table(VpcId=net.vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_vpc_endpoint(**s3, RouteTableIds=[other])  # a table without an S3 route may get one


def test_a_model_package_group_name_is_taken_once(emulator):
    sagemaker = boto_client(emulator, "sagemaker", REGION)
    arn = sagemaker.create_model_package_group(ModelPackageGroupName="rc-fraud-detection")["ModelPackageGroupArn"]
    assert error_of(sagemaker.create_model_package_group, ModelPackageGroupName="rc-fraud-detection") == (
        "ValidationException", f"Model Package Group already exists: {arn}")


def lifecycle_rule(priority: int, status: str, **selection) -> dict:
    count = {"countType": "imageCountMoreThan", "countNumber": 10}
    return {"rulePriority": priority, "selection": {"tagStatus": status, **count, **selection},
            "action": {"type": "expire"}}


@pytest.mark.parametrize("rules, problem", [
    ([lifecycle_rule(1, "any"), lifecycle_rule(2, "tagged", tagPrefixList=["v"])],
     "a rule with tagStatus any must have the highest rulePriority"),
    ([lifecycle_rule(1, "tagged", tagPrefixList=["v"]), lifecycle_rule(1, "any")],
     "rulePriority must be unique across rules"),
    ([lifecycle_rule(1, "tagged"), lifecycle_rule(2, "any")],
     "a rule with tagStatus tagged must have a tagPrefixList or tagPatternList"),
    ([lifecycle_rule(1, "untagged", tagPrefixList=["v"])],
     "a rule with tagStatus untagged must not have a tagPrefixList or tagPatternList"),
], ids=["any-not-last", "priority-twice", "tagged-without-prefix", "untagged-with-prefix"])
def test_a_lifecycle_policy_aws_would_refuse_is_refused(emulator, rules, problem):
    ecr = boto_client(emulator, "ecr", REGION)
    ecr.create_repository(repositoryName="acme-sm-rc-fraud-detection/training")
    code, message = error_of(ecr.put_lifecycle_policy, repositoryName="acme-sm-rc-fraud-detection/training",
                             lifecyclePolicyText=json.dumps({"rules": rules}))
    assert code == "InvalidParameterException" and message.endswith(f"Lifecycle policy validation failure: {problem}'")


def test_the_rendered_lifecycle_policy_is_accepted(emulator):
    from generator.config.loader import load_environment
    from generator.design.builder import design
    from tests.conftest import ENVIRONMENTS

    repo = design(load_environment(ENVIRONMENTS, "prod")).platform.shared_repositories[0]
    rules = [{"rulePriority": r.priority, "description": r.description, "action": {"type": "expire"},
              "selection": {"tagStatus": r.tag_status, "countType": r.count_type, "countNumber": r.count_number,
                            **({"tagPrefixList": [r.tag_prefix]} if r.tag_prefix else {}),
                            **({"countUnit": "days"} if r.count_type == "sinceImagePushed" else {})}}
             for r in repo.lifecycle]
    ecr = boto_client(emulator, "ecr", REGION)
    ecr.create_repository(repositoryName=repo.name)
    ecr.put_lifecycle_policy(repositoryName=repo.name, lifecyclePolicyText=json.dumps({"rules": rules}))
    assert [r["selection"]["tagStatus"] for r in rules] == ["untagged", "tagged", "tagged", "tagged"]


def test_a_roles_inline_policies_stop_at_10240_characters(emulator):
    """IAM's quota: one role's inline policies, together, at most 10,240 characters, white
    space not counted; a policy put again under its name replaces the old one."""
    iam = boto_client(emulator, "iam", REGION)
    iam.create_role(RoleName="acme-sagemaker-rc", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))
    put = iam.put_role_policy
    put(RoleName="acme-sagemaker-rc", PolicyName="a", PolicyDocument=json.dumps(inline_policy(6_000), indent=4))
    put(RoleName="acme-sagemaker-rc", PolicyName="b", PolicyDocument=json.dumps(inline_policy(4_240)))  # 10,240
    assert error_of(put, RoleName="acme-sagemaker-rc", PolicyName="b",
                    PolicyDocument=json.dumps(inline_policy(4_241))) == (
        "LimitExceeded", "Maximum policy size of 10240 bytes exceeded for role acme-sagemaker-rc")
    put(RoleName="acme-sagemaker-rc", PolicyName="a", PolicyDocument=json.dumps(inline_policy(5_000)))  # replaced
    put(RoleName="acme-sagemaker-rc", PolicyName="c", PolicyDocument=json.dumps(inline_policy(1_000)))
    assert sorted(iam.list_role_policies(RoleName="acme-sagemaker-rc")["PolicyNames"]) == ["a", "b", "c"]


def test_the_policy_simulator_decides_as_iam_documents(emulator):
    """moto has no SimulatePrincipalPolicy; the shim answers as IAM's evaluation logic does: the
    role's inline and attached policies and the PolicyInputList allow, an explicit deny wins, a
    permissions boundary must allow too, a condition on an absent context key is false."""
    iam = boto_client(emulator, "iam", REGION)
    document = lambda *statements: json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    boundary = iam.create_policy(PolicyName="boundary", PolicyDocument=document(
        {"Effect": "Allow", "Action": ["s3:*", "sagemaker:*"], "Resource": "*"}))["Policy"]["Arn"]
    arn = iam.create_role(RoleName="jobs", AssumeRolePolicyDocument=document(),
                          PermissionsBoundary=boundary)["Role"]["Arn"]
    iam.put_role_policy(RoleName="jobs", PolicyName="own", PolicyDocument=document(
        {"Effect": "Allow", "Action": ["s3:GetObject", "ecr:BatchGetImage"], "Resource": "*"},
        {"Effect": "Allow", "Action": "sagemaker:AddTags", "Resource": "*",
         "Condition": {"StringEquals": {"aws:TagKeys": "Project"}}}))
    managed = iam.create_policy(PolicyName="managed", PolicyDocument=document(
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::secret/*"}))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="jobs", PolicyArn=managed)

    def decision(action, resource="*", context=(), extra=()):
        result = iam.simulate_principal_policy(
            PolicySourceArn=arn, ActionNames=[action], ResourceArns=[resource], PolicyInputList=list(extra),
            ContextEntries=[{"ContextKeyName": k, "ContextKeyValues": [v], "ContextKeyType": "string"}
                            for k, v in context])["EvaluationResults"][0]
        return result["EvalDecision"], [s["SourcePolicyId"] for s in result["MatchedStatements"]]

    assert decision("s3:GetObject", "arn:aws:s3:::data/k") == ("allowed", ["own"])
    assert decision("s3:GetObject", "arn:aws:s3:::secret/k") == ("explicitDeny", ["managed"])
    assert decision("ecr:BatchGetImage")[0] == "implicitDeny"  # the boundary does not allow ECR
    assert decision("s3:PutObject")[0] == "implicitDeny"
    assert decision("s3:PutObject", extra=[document({"Effect": "Allow", "Action": "s3:PutObject",
                                                     "Resource": "*"})]) == ("allowed", ["PolicyInputList.1"])
    assert decision("sagemaker:AddTags")[0] == "implicitDeny"  # aws:TagKeys absent: the condition is false
    assert decision("sagemaker:AddTags", context=[("aws:TagKeys", "Project")])[0] == "allowed"
    assert error_of(iam.simulate_principal_policy, PolicySourceArn="arn:aws:iam::123456789012:role/none",
                    ActionNames=["s3:GetObject"]) == (
        "NoSuchEntity", "The role with ARN arn:aws:iam::123456789012:role/none cannot be found.")


# AWS: an interface endpoint takes subnets "in different Availability Zones (as supported by the
# service)" (Amazon VPC User Guide, "Interface VPC endpoints"). Its errors, as AWS words them:
# DuplicateSubnetsInSameZone, "Found another VPC endpoint subnet in the availability zone of
# subnet-...", and InvalidParameter, "The VPC endpoint service ... does not support the
# availability zone of the subnet: subnet-...".
def duplicate_zone(subnet: str) -> tuple[str, str]:
    return ("DuplicateSubnetsInSameZone", f"Found another VPC endpoint subnet in the availability zone of {subnet}. "
                                          "VPC endpoint subnets should be in different availability zones supported "
                                          "by the VPC endpoint service.")


def test_an_interface_endpoint_takes_one_subnet_a_zone(emulator):
    net = network.create(emulator, REGION, "10.53.0.0/16", zones="aab")
    first_a, second_a, b = net.private_subnet_ids
    ec2 = boto_client(emulator, "ec2", REGION)
    assert error_of(ec2.create_vpc_endpoint, **interface(net, "sts")) == duplicate_zone(second_a)
    sts = ec2.create_vpc_endpoint(**{**interface(net, "sts"), "SubnetIds": [first_a, b]})["VpcEndpoint"]
    assert error_of(ec2.modify_vpc_endpoint, VpcEndpointId=sts["VpcEndpointId"],
                    AddSubnetIds=[second_a]) == duplicate_zone(second_a)
    # Moving the endpoint to the zone's other subnet in one call leaves one a zone: allowed.
    ec2.modify_vpc_endpoint(VpcEndpointId=sts["VpcEndpointId"], AddSubnetIds=[second_a], RemoveSubnetIds=[first_a])
    moved = ec2.describe_vpc_endpoints(VpcEndpointIds=[sts["VpcEndpointId"]])["VpcEndpoints"][0]
    assert sorted(moved["SubnetIds"]) == sorted([second_a, b])


def offered_zones(ec2, service: str) -> list[str]:
    details = ec2.describe_vpc_endpoint_services(Filters=[{"Name": "service-name", "Values": [service]}])
    return [zone for d in details["ServiceDetails"] if {"ServiceType": "Interface"} in d["ServiceType"]
            for zone in d["AvailabilityZones"]]


def test_a_zone_taken_from_a_service_is_not_offered_and_refused_until_the_next_start(emulator):
    net = network.create(emulator, REGION, "10.54.0.0/16")
    a, b = net.private_subnet_ids
    ec2 = boto_client(emulator, "ec2", REGION)
    logs = f"com.amazonaws.{REGION}.logs"
    emulator.withhold_zone(logs, f"{REGION}b")
    assert offered_zones(ec2, logs) == [f"{REGION}a", f"{REGION}c"]
    assert offered_zones(ec2, f"com.amazonaws.{REGION}.sts") == [f"{REGION}a", f"{REGION}b", f"{REGION}c"]
    assert error_of(ec2.create_vpc_endpoint, **interface(net, "logs")) == (
        "InvalidParameter", f"The VPC endpoint service {logs} does not support the availability zone of the subnet: {b}.")
    endpoint = ec2.create_vpc_endpoint(**{**interface(net, "logs"), "SubnetIds": [a]})["VpcEndpoint"]["VpcEndpointId"]
    assert error_of(ec2.modify_vpc_endpoint, VpcEndpointId=endpoint, AddSubnetIds=[b])[0] == "InvalidParameter"
    ec2.create_vpc_endpoint(**interface(net, "sts"))  # another service is offered in both
    emulator.stop()
    with emulator_module.start() as again:
        assert offered_zones(boto_client(again, "ec2", REGION), logs) == [f"{REGION}a", f"{REGION}b", f"{REGION}c"]
