"""The VPC endpoints SageMaker needs in a private VPC (TFG-EP-001), each interface endpoint in the
zones AWS takes (TFG-EP-002)."""

from __future__ import annotations

from collections.abc import Iterator

from generator.read.inventory import Inventory, Resource
from policies.expected import Expected
from policies.rules.documents import as_list
from policies.rules.registry import Violation, at, rule


@rule("TFG-EP-001", "Exactly the VPC endpoints SageMaker needs in a private VPC (plus the YAML's extras), none "
                    "missing, none extra: interface endpoints in the YAML's VPC and private subnets, with private "
                    "DNS, in the endpoints group only; the S3 gateway on every route table the YAML names.")
def vpc_endpoints(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    net, services = exp.cfg.network, exp.interface_services()
    endpoints_group = f"{exp.cfg.tag_prefix}-vpc-endpoints"
    seen: dict[str, list[Resource]] = {}
    for endpoint in inv.of_type("aws_vpc_endpoint"):
        v = endpoint.values
        service = str(v.get("service_name"))
        seen.setdefault(service, []).append(endpoint)
        if v.get("vpc_id") != net.vpc_id:
            yield at("TFG-EP-001", endpoint, f"{service} is in {v.get('vpc_id')}, not the YAML's {net.vpc_id}")
        if service == exp.s3_service():
            if v.get("vpc_endpoint_type") != "Gateway":
                yield at("TFG-EP-001", endpoint, f"{service} must be a Gateway endpoint (through the route tables)")
            elif sorted(as_list(v.get("route_table_ids"))) != sorted(net.route_table_ids):
                yield at("TFG-EP-001", endpoint, f"the S3 gateway is on {sorted(as_list(v.get('route_table_ids')))}; "
                                                 f"the YAML's route tables are {sorted(net.route_table_ids)}")
            continue
        if service not in services:
            yield at("TFG-EP-001", endpoint, f"{service} is not an endpoint the YAML asks for")
            continue
        problems = []
        if v.get("vpc_endpoint_type") != "Interface":
            problems.append("must be an Interface endpoint")
        outside = [s for s in as_list(v.get("subnet_ids")) if s not in net.subnet_ids]
        if outside:
            problems.append(f"subnets {outside} are not among the YAML's private subnets")
        if v.get("private_dns_enabled") is not True:
            problems.append("private DNS must be on (jobs call AWS's usual names)")
        groups = [inv.find(endpoint.root, ref) for ref in as_list(v.get("security_group_ids"))]
        names = [g.values.get("name") if g else "?" for g in groups]
        if names != [endpoints_group]:
            problems.append(f"security groups {names}; it belongs in {endpoints_group} only")
        for problem in problems:
            yield at("TFG-EP-001", endpoint, f"{services[service]}: {problem}")
    for service, name in sorted({**services, exp.s3_service(): "s3"}.items()):
        found = seen.get(service, [])
        if not found:
            yield Violation("TFG-EP-001", "platform", None, None, f"the {name} endpoint ({service}) is missing")
        for extra in found[1:]:
            yield at("TFG-EP-001", extra, f"a second {name} endpoint")


@rule("TFG-EP-002", "Each interface endpoint has one subnet in each zone of the YAML's private subnets, but the "
                    "zones the YAML says its service is not offered in: AWS refuses two subnets in one zone "
                    "(DuplicateSubnetsInSameZone) and a zone the service is not offered in; the zones are the "
                    "YAML's.")
def endpoint_zones(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    services, zones = exp.interface_services(), exp.subnet_zones()
    for endpoint in inv.of_type("aws_vpc_endpoint"):
        name = services.get(str(endpoint.values.get("service_name")))
        if name is None or endpoint.values.get("vpc_endpoint_type") != "Interface":
            continue  # the gateway, or an endpoint TFG-EP-001 reports
        by_zone: dict[str, list[str]] = {}
        for subnet in as_list(endpoint.values.get("subnet_ids")):
            if subnet in zones:  # another subnet is TFG-EP-001's
                by_zone.setdefault(zones[subnet], []).append(subnet)
        wanted = exp.endpoint_zones(name)
        for zone, subnets in sorted(by_zone.items()):
            if len(subnets) > 1:
                yield at("TFG-EP-002", endpoint, f"{name}: {len(subnets)} subnets in {zone} ({', '.join(subnets)}); "
                                                 "AWS takes one a zone (DuplicateSubnetsInSameZone)")
            if zone not in wanted:
                yield at("TFG-EP-002", endpoint, f"{name}: a subnet in {zone}, which the YAML says its service is "
                                                 "not offered in (vpc_endpoints.zones_not_offered)")
        missing = [zone for zone in wanted if zone not in by_zone]
        if missing:
            yield at("TFG-EP-002", endpoint, f"{name}: no subnet in {', '.join(missing)} (the YAML's private subnets' "
                                             "zones, each with one subnet of the endpoint)")
