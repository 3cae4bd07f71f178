"""The existing network the plan takes as given: a VPC, private subnets in two or more
zones, and their route table, created in the emulator with boto3."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.emulator import Emulator, boto_client


@dataclass(frozen=True)
class Network:
    vpc_id: str
    vpc_cidr: str
    private_subnet_ids: tuple[str, ...]
    route_table_ids: tuple[str, ...]


def create(emulator: Emulator, region: str, cidr: str, zones: str = "ab", dns_hostnames: bool = True) -> Network:
    """A VPC as a platform that already runs private endpoints has it: DNS hostnames on.

    AWS (and moto) start a new VPC with enableDnsHostnames off; dns_hostnames=False keeps
    it so, as a brownfield account may have it.
    """
    ec2 = boto_client(emulator, "ec2", region)
    vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    if dns_hostnames:
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    prefix = ".".join(cidr.split(".")[:2])
    subnets = tuple(
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"{prefix}.{index + 1}.0/24", AvailabilityZone=f"{region}{zone}")
        ["Subnet"]["SubnetId"]
        for index, zone in enumerate(zones)
    )
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"]
    return Network(vpc, cidr, subnets, tuple(sorted(t["RouteTableId"] for t in tables)))
