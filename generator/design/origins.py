"""Where in the YAML each rendered resource comes from: the project, endpoint, team or setting
a person edits to change it.

The gate's findings name a rendered file and line; someone fixing one edits YAML. Each
resource of the design is mapped to the path of the YAML value it was rendered from (as
`LoadedEnvironment.where` takes it: the nearest written ancestor gives the file and line),
built from the same design values the templates lay out, so the map's addresses are the
rendered ones (tests/test_yaml_locations.py holds every rendered resource to having one).
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.config.yaml_source import Path_
from generator.design.model import Design, ProjectDesign, SecurityGroup

PLATFORM_ROOT = "platform"


@dataclass(frozen=True)
class Origins:
    """(root, local address) -> the YAML path it was rendered from; a root -> its team's path."""

    resources: dict[tuple[str, str], Path_]
    roots: dict[str, Path_]

    def of(self, root: str, address: str | None = None) -> Path_ | None:
        """The YAML path of a resource (`aws_x.y` in root), else of its root, else None."""
        if address is not None and (root, address) in self.resources:
            return self.resources[(root, address)]
        return self.roots.get(root)


def yaml_origins(the_design: Design) -> Origins:
    cfg = the_design.config
    platform: dict[str, Path_] = {}
    for group in the_design.platform.security_groups:
        for address, path in _security_group(group):
            platform[address] = path
    platform[f"aws_vpc_endpoint.{the_design.platform.gateway_endpoint.id}"] = ("network", "route_table_ids")
    extra = cfg.vpc_endpoints.extra
    for endpoint in the_design.platform.interface_endpoints:
        if endpoint.name in cfg.vpc_endpoints.zones_not_offered:
            path: Path_ = ("vpc_endpoints", "zones_not_offered", endpoint.name)
        elif endpoint.name in extra:
            path = ("vpc_endpoints", "extra", extra.index(endpoint.name))
        else:  # one SageMaker needs in every private VPC: placed by the subnets
            path = ("network", "private_subnets")
        platform[f"aws_vpc_endpoint.{endpoint.id}"] = path
    for repo, short in zip(the_design.platform.shared_repositories, cfg.ecr.shared_repos):
        for kind in ("aws_ecr_repository", "aws_ecr_lifecycle_policy"):
            platform[f"{kind}.{repo.id}"] = ("ecr", "shared_repos", cfg.ecr.shared_repos.index(short))
    for group in the_design.platform.log_groups:
        platform[f"aws_cloudwatch_log_group.{group.id}"] = ("logs", "retention_days", group.id)
    if the_design.platform.topic:
        for address in ("aws_kms_key.alarms", "aws_kms_alias.alarms", "aws_sns_topic.alarms",
                        "aws_sns_topic_policy.alarms"):
            platform[address] = ("alarms", "enabled")
        for index, subscription in enumerate(the_design.platform.topic.subscriptions):
            platform[f"aws_sns_topic_subscription.{subscription.id}"] = ("alarms", "emails", index)
        for rule in the_design.platform.event_rules:
            for kind in ("aws_cloudwatch_event_rule", "aws_cloudwatch_event_target"):
                platform[f"{kind}.{rule.id}"] = ("alarms", "enabled")
    resources = {(PLATFORM_ROOT, address): path for address, path in platform.items()}
    roots: dict[str, Path_] = {}
    for team in the_design.teams:
        root = f"teams/{team.name}"
        roots[root] = ("teams", team.name)
        for project in team.projects:
            resources.update({(root, address): path for address, path in _project(project)})
    return Origins(resources, roots)


def _security_group(group: SecurityGroup):
    path: Path_ = ("network", "adopt_existing", "security_groups", group.role)
    yield f"aws_security_group.{group.id}", path
    for rule in group.rules:
        # A rule from the VPC's CIDR is the CIDR's; the others are the group's design.
        yield (f"aws_vpc_security_group_{rule.direction}_rule.{rule.id}",
               ("network", "vpc_cidr") if rule.cidr and rule.cidr != "0.0.0.0/0" else path)


def _project(project: ProjectDesign):
    path: Path_ = ("teams", project.team, "projects", project.name)
    for index, repo in enumerate(project.repositories):
        yield f"aws_ecr_repository.{repo.id}", (*path, "repos", index)
        yield f"aws_ecr_lifecycle_policy.{repo.id}", (*path, "image_retention")
    yield f"aws_sagemaker_model_package_group.{project.id}", path
    if project.role.create:
        yield f"aws_iam_role.{project.id}", project.role.yaml_path
    for policy in project.policies:
        yield f"aws_iam_role_policy.{policy.id}", path
    for endpoint in project.endpoints:
        endpoint_path = (*path, "endpoints", endpoint.name)
        yield f"aws_cloudwatch_log_group.{endpoint.id}", endpoint_path
        for alarm in endpoint.alarms:
            yield f"aws_cloudwatch_metric_alarm.{alarm.id}", endpoint_path
