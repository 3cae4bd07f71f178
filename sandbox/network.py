"""The existing network the plan takes as given: a VPC, private subnets in two or more
zones, and their route table, created in the emulator with boto3."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.emulator import Emulator, boto_client


@dataclass(frozen=True)
class Network:
    vpc_id: str
    vpc_cidr: str
    private_subnets: tuple[tuple[str, str], ...]  # (ID, availability zone), in the order they were made
    route_table_ids: tuple[str, ...]

    @property
    def private_subnet_ids(self) -> tuple[str, ...]:
        return tuple(subnet for subnet, _ in self.private_subnets)

    def as_yaml(self) -> dict:
        """The environment file's network section."""
        return {"vpc_id": self.vpc_id, "vpc_cidr": self.vpc_cidr,
                "private_subnets": [{"id": subnet, "zone": zone} for subnet, zone in self.private_subnets],
                "route_table_ids": list(self.route_table_ids)}


def create(emulator: Emulator, region: str, cidr: str, zones: str = "ab", dns_hostnames: bool = True) -> Network:
    """A VPC as a platform that already runs private endpoints has it: DNS hostnames on.

    A private subnet in each zone a letter of `zones` names, in its order ("aab": two in the
    region's zone a, one in b). AWS (and moto) start a new VPC with enableDnsHostnames off;
    dns_hostnames=False keeps it so, as a brownfield account may have it.
    """
    ec2 = boto_client(emulator, "ec2", region)
    vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    if dns_hostnames:
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    prefix = ".".join(cidr.split(".")[:2])
    subnets = tuple(
        (ec2.create_subnet(VpcId=vpc, CidrBlock=f"{prefix}.{index + 1}.0/24", AvailabilityZone=f"{region}{zone}")
         ["Subnet"]["SubnetId"], f"{region}{zone}")
        for index, zone in enumerate(zones)
    )
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"]
    return Network(vpc, cidr, subnets, tuple(sorted(t["RouteTableId"] for t in tables)))
