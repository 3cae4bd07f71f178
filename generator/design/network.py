"""The network's rules: the five security groups with exactly their rules, and the VPC
endpoints a private VPC needs."""

from __future__ import annotations

from dataclasses import dataclass

from generator.config import aws_limits
from generator.config.loader import LoadedEnvironment
from generator.config.models import Environment
from generator.design.model import GatewayEndpoint, InterfaceEndpoint, SecurityGroup, SgRule
from generator.design.naming import tf_id
from generator.errors import ConfigError

HTTPS, NFS, INFERENCE_CONTAINER = 443, 2049, 8080
STUDIO_APPS = (8192, 65535)
ANYWHERE = "0.0.0.0/0"


@dataclass(frozen=True)
class _RuleSpec:
    """A rule before it knows its group: key (what it means), direction, wording, traffic."""

    key: str
    direction: str
    description: str
    protocol: str = "tcp"
    ports: tuple[int, int] | None = None
    cidr: str | None = None
    to_self: bool = False


def security_groups(cfg: Environment) -> tuple[SecurityGroup, ...]:
    """The five groups and exactly their rules: the plan's three workload groups, and AWS's
    needs for Studio (NFS and app ports within the group) and the endpoints (HTTPS from the VPC)."""
    cidr = cfg.network.vpc_cidr
    adopted = cfg.network.adopt_existing.security_groups

    def group(role: str, description: str, output: str, specs: list[_RuleSpec]) -> SecurityGroup:
        gid = tf_id(role)
        if role in adopted and adopted[role].description is not None:
            description = adopted[role].description  # an adopted group keeps its own: changing it replaces the group
        rules = tuple(SgRule(id=f"{gid}_{r.key}", group=gid, direction=r.direction, description=r.description,
                             protocol=r.protocol, from_port=r.ports[0] if r.ports else None,
                             to_port=r.ports[1] if r.ports else None, cidr=r.cidr, to_self=r.to_self)
                      for r in specs)
        return SecurityGroup(role=role, id=gid, name=f"{cfg.tag_prefix}-{role}", description=description,
                             output=output, rules=rules, vpc_id=cfg.network.vpc_id)

    def https_from_vpc(what: str) -> _RuleSpec:
        return _RuleSpec("https_from_vpc", "ingress", f"HTTPS from the VPC CIDR ({what})", ports=(HTTPS, HTTPS),
                         cidr=cidr)

    https_to_aws = _RuleSpec("https_to_anywhere", "egress", "HTTPS to AWS services", ports=(HTTPS, HTTPS),
                             cidr=ANYWHERE)

    def cluster(role: str, why: str) -> SecurityGroup:
        within = f"All traffic within the group ({why})"
        return group(role, f"SageMaker {role} jobs", f"SG_{role.upper()}", [
            _RuleSpec("all_from_self", "ingress", within, protocol="-1", to_self=True),
            https_from_vpc("AWS service callbacks"),
            https_to_aws,
            _RuleSpec("all_to_self", "egress", within, protocol="-1", to_self=True),
        ])

    nfs, apps = "NFS between Studio apps (EFS home folders)", "Traffic between Studio apps"
    return (
        group("studio", "SageMaker Studio domain and its apps", "SG_SAGEMAKER_STUDIO", [
            _RuleSpec("nfs_from_self", "ingress", nfs, ports=(NFS, NFS), to_self=True),
            _RuleSpec("apps_from_self", "ingress", apps, ports=STUDIO_APPS, to_self=True),
            _RuleSpec("nfs_to_self", "egress", nfs, ports=(NFS, NFS), to_self=True),
            _RuleSpec("apps_to_self", "egress", apps, ports=STUDIO_APPS, to_self=True),
            https_to_aws,
        ]),
        group("vpc-endpoints", "Interface VPC endpoints for SageMaker", "SG_VPC_ENDPOINTS", [
            https_from_vpc("calls to AWS services"),
        ]),
        cluster("training", "distributed training"),
        cluster("processing", "Spark clusters"),
        group("inference", "SageMaker inference endpoints", "SG_INFERENCE", [
            https_from_vpc("inference requests"),
            _RuleSpec("container_from_vpc", "ingress", "Model container port from the VPC CIDR",
                      ports=(INFERENCE_CONTAINER, INFERENCE_CONTAINER), cidr=cidr),
            https_to_aws,
        ]),
    )


def gateway_endpoint(cfg: Environment) -> GatewayEndpoint:
    net = cfg.network
    return GatewayEndpoint("s3", f"com.amazonaws.{cfg.region}.s3", net.vpc_id, tuple(net.route_table_ids),
                           f"{cfg.tag_prefix}-s3")


def interface_endpoints(loaded: LoadedEnvironment, groups: tuple[SecurityGroup, ...]) -> tuple[InterfaceEndpoint, ...]:
    """AWS's required interface endpoints and the YAML's extra ones, all in the vpc-endpoints group."""
    cfg = loaded.config
    net = cfg.network
    endpoints_group = next(g.id for g in groups if g.role == "vpc-endpoints")
    names = (*aws_limits.REQUIRED_INTERFACE_ENDPOINTS, *cfg.vpc_endpoints.extra)
    _check_zones_not_offered(loaded, names)
    return tuple(
        InterfaceEndpoint(tf_id(name), aws_limits.interface_service_name(cfg.region, name), name, net.vpc_id,
                          endpoint_subnets(cfg, name), endpoints_group,
                          f"{cfg.tag_prefix}-{tf_id(name).replace('_', '-')}")
        for name in names
    )


def endpoint_subnets(cfg: Environment, name: str) -> tuple[str, ...]:
    """The subnets of one interface endpoint: the first private subnet the YAML lists in each zone
    (AWS takes one subnet per zone: DuplicateSubnetsInSameZone), less the zones the YAML says its
    service is not offered in (AWS: InvalidParameter, the service does not support the zone)."""
    left_out = set(cfg.vpc_endpoints.zones_not_offered.get(name, ()))
    first: dict[str, str] = {}
    for subnet in cfg.network.private_subnets:
        if subnet.zone not in left_out:
            first.setdefault(subnet.zone, subnet.id)
    return tuple(first.values())


def _check_zones_not_offered(loaded: LoadedEnvironment, names: tuple[str, ...]) -> None:
    cfg = loaded.config
    zones = list(dict.fromkeys(subnet.zone for subnet in cfg.network.private_subnets))
    for name, left_out in cfg.vpc_endpoints.zones_not_offered.items():
        path = ("vpc_endpoints", "zones_not_offered", name)
        file, line = loaded.where(path)
        if name not in names:
            raise ConfigError(file, line, ".".join(path), f"{name!r} is not an interface endpoint this environment "
                                                          f"renders ({', '.join(names)})")
        for zone in left_out:
            if zone not in zones:
                raise ConfigError(file, line, ".".join(path), f"no private subnet is in {zone} (the private subnets' "
                                                              f"zones: {', '.join(zones)})")
        if not set(zones) - set(left_out):
            raise ConfigError(file, line, ".".join(path), f"leaves the {name} endpoint no zone: add a private subnet "
                                                          "in a zone its service is offered in")
