"""The emulator refuses what AWS refuses, with AWS's error, and still allows what AWS allows.

moto 5.2.5 accepts each of these; a real account does not (see sandbox/emulator.py)."""

from __future__ import annotations

import botocore.exceptions
import pytest

from sandbox import emulator as emulator_module
from sandbox import network
from sandbox.emulator import boto_client

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
