"""The VPC endpoints SageMaker needs in a private VPC (TFG-EP-001)."""

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
        if sorted(as_list(v.get("subnet_ids"))) != sorted(net.private_subnet_ids):
            problems.append(f"subnets {sorted(as_list(v.get('subnet_ids')))}, not the YAML's private subnets")
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
