"""preflight's availability-zone checks, read-only: the YAML's zone of each private subnet
against the account's, and each interface endpoint's zones against those its service is
offered in.

AWS takes at most one subnet per zone for an interface endpoint (DuplicateSubnetsInSameZone),
and only zones its service is offered in (DescribeVpcEndpointServices lists them per service;
a subnet elsewhere: InvalidParameter, "The VPC endpoint service ... does not support the
availability zone of the subnet"). Render gives each endpoint the first subnet of each zone by
the YAML's zones, less those vpc_endpoints.zones_not_offered leaves out: these checks prove the
YAML's zones are the account's, and print the switch that leaves out a zone a service lacks.
Zone names are the account's own (eu-west-1a is not the same place in every account), as both
calls give them.
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.account.report import FAIL, PASS, WARN, Result, switch
from generator.design.model import Design


def subnet_zones(d: Design, found: dict[str, dict]) -> Iterator[Result]:
    """found: the private subnets DescribeSubnets found in the VPC, by ID."""
    subnets = d.config.network.private_subnets
    wrong = [(subnet, found[subnet.id]["AvailabilityZone"]) for subnet in subnets
             if subnet.id in found and found[subnet.id]["AvailabilityZone"] != subnet.zone]
    if wrong:
        live = [{"id": s.id, "zone": found[s.id]["AvailabilityZone"] if s.id in found else s.zone} for s in subnets]
        yield switch("subnet zones", FAIL, "; ".join(f"{subnet.id} is in {zone}, the YAML says {subnet.zone}"
                                                     for subnet, zone in wrong)
                     + ": render picks each endpoint's subnets, one a zone, by the YAML's zones",
                     ("network", "private_subnets"), live)
    elif found:
        zones = sorted({subnet.zone for subnet in subnets if subnet.id in found})
        yield Result("subnet zones", PASS, f"each private subnet is in the zone the YAML says ({', '.join(zones)})")


def endpoint_zones(d: Design, ec2) -> Iterator[Result]:
    cfg = d.config
    endpoints = d.platform.interface_endpoints
    offered: dict[str, list[str]] = {}
    pages = ec2.get_paginator("describe_vpc_endpoint_services").paginate(
        Filters=[{"Name": "service-name", "Values": [e.service_name for e in endpoints]}])
    for page in pages:
        for service in page["ServiceDetails"]:
            if any(kind.get("ServiceType") == "Interface" for kind in service.get("ServiceType", [])):
                offered[service["ServiceName"]] = sorted(service.get("AvailabilityZones", []))
    zone_of = {subnet.id: subnet.zone for subnet in cfg.network.private_subnets}
    zones = list(dict.fromkeys(zone_of.values()))
    good = 0
    for endpoint in endpoints:
        label, path = f"endpoint {endpoint.name} zones", ("vpc_endpoints", "zones_not_offered", endpoint.name)
        if endpoint.service_name not in offered:
            fix = (f"remove {endpoint.name} from vpc_endpoints.extra" if endpoint.name in cfg.vpc_endpoints.extra
                   else f"run the environment in a region that offers {endpoint.service_name}")
            yield Result(label, FAIL, f"{endpoint.service_name} is not offered in {cfg.region} "
                                      "(DescribeVpcEndpointServices does not list it)", fix)
            continue
        here = offered[endpoint.service_name]
        unoffered = [zone_of[s] for s in endpoint.subnet_ids if zone_of[s] not in here]
        wanted = [zone for zone in zones if zone not in here]
        left_out = cfg.vpc_endpoints.zones_not_offered.get(endpoint.name, [])
        where = f"{endpoint.service_name} is offered in {', '.join(here) or 'no zone'}"
        if unoffered and len(wanted) == len(zones):
            yield Result(label, FAIL, f"{where}: no private subnet is in one of them, and AWS refuses an endpoint "
                                      "in a zone its service is not offered in",
                         f"add a private subnet in {' or '.join(here)} to network.private_subnets")
        elif unoffered:
            yield switch(label, FAIL, f"{where}, not in {', '.join(unoffered)}: the apply would fail "
                                      "(InvalidParameter: the service does not support the availability zone of the "
                                      "subnet)", path, wanted)
        elif set(left_out) != set(wanted):
            offered_left_out = ", ".join(sorted(set(left_out) - set(wanted)))
            yield switch(label, WARN, f"{where}: the YAML leaves {offered_left_out} out of its endpoint, whose jobs "
                                      "then reach it in another zone", path, wanted)
        else:
            good += 1
    if good:
        yield Result("endpoint zones", PASS, f"{good} interface endpoint{'' if good == 1 else 's'}, each with one "
                                             "subnet a zone, in zones its service is offered in "
                                             "(DescribeVpcEndpointServices)")
