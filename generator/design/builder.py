"""An environment's design: the parts the other modules decide composed into one Design, with
the import blocks the YAML's adopt switches ask for, then checked whole (composed names, policy sizes)."""

from __future__ import annotations

from dataclasses import replace

from generator.config.loader import LoadedEnvironment
from generator.design.iam import _check_role_policy_sizes, _execution_role, _runtime_statements, _workload_statements
from generator.design.model import Design, PlatformDesign, ProjectDesign, RolePolicy, TeamDesign
from generator.design.monitoring import _alarm_topic, _endpoint, failed_job_rules, job_log_groups
from generator.design.naming import _check_composed_names, model_package_group_name, tf_id
from generator.design.network import gateway_endpoint, interface_endpoints, security_groups
from generator.design.quotas import check_quotas
from generator.design.repositories import project_repositories, project_stages, shared_repositories
from generator.errors import ConfigError


def design(loaded: LoadedEnvironment) -> Design:
    cfg = loaded.config
    check_quotas(loaded)  # first: an organisation past the account's quotas is never composed
    topic = _alarm_topic(loaded) if cfg.alarms.enabled else None
    topic_arn = topic.arn if topic else None
    groups = security_groups(cfg)
    platform = PlatformDesign(
        security_groups=groups,
        gateway_endpoint=gateway_endpoint(cfg),
        interface_endpoints=interface_endpoints(loaded, groups),
        shared_repositories=shared_repositories(cfg),
        log_groups=job_log_groups(cfg),
        topic=topic,
        event_rules=failed_job_rules(cfg) if topic else (),
    )
    platform = replace(platform, imports=_platform_imports(loaded, platform))
    teams = tuple(
        TeamDesign(
            name, team.description,
            projects=tuple(_project(loaded, name, project, topic_arn)
                           for project in sorted(team.projects) if not team.projects[project].retired),
            # Outside protected environments, retiring destroys as usual: nothing to render.
            retired=tuple(_project(loaded, name, project, topic_arn)
                          for project in sorted(team.projects) if team.projects[project].retired and cfg.protected),
        )
        for name, team in sorted(cfg.teams.items())
    )
    result = Design(env=loaded.name, config=cfg, platform=platform, teams=teams, protected=cfg.protected)
    _check_composed_names(loaded, result)
    _check_role_policy_sizes(loaded, result)
    return result


def _project(loaded: LoadedEnvironment, team: str, name: str, topic_arn: str | None) -> ProjectDesign:
    cfg = loaded.config
    project = cfg.teams[team].projects[name]
    path = ("teams", team, "projects", name)
    pid = tf_id(name)
    stages = project_stages(cfg, project)
    repositories = project_repositories(cfg, team, name, stages)
    group = model_package_group_name(team, name)
    role = _execution_role(loaded, team, name)
    policies = [RolePolicy(pid, f"{group}-workload",
                           f"What {team}/{name}'s jobs need of the platform: its model package group and its images.",
                           _workload_statements(cfg, group, repositories))]
    if role.create:
        policies.append(RolePolicy(f"{pid}_runtime", f"{group}-runtime",
                                   "What SageMaker needs to run this role's jobs (VPC mode) and endpoints: AWS's "
                                   "list for execution roles.",
                                   _runtime_statements(loaded, team, name)))
    endpoints = tuple(
        _endpoint(cfg, endpoint_name, endpoint, topic_arn)
        for endpoint_name, endpoint in sorted(project.endpoints.items()) if not endpoint.retired
    )
    # Outside protected environments, a retired endpoint is destroyed as usual: nothing to render.
    retired_endpoints = tuple(_endpoint(cfg, endpoint_name, endpoint, None)
                              for endpoint_name, endpoint in sorted(project.endpoints.items())
                              if endpoint.retired and cfg.protected)
    imports: list[tuple[str, str]] = []
    if project.adopt_existing:
        # Lifecycle policies are not imported: creating one replaces what a repository has.
        parts = set(project.adopt_existing) if isinstance(project.adopt_existing, list) else None
        known = {"model_package_group", *(stages if cfg.ecr.enabled else ())}
        for unknown in sorted((parts or set()) - known):
            file, line = loaded.where((*path, "adopt_existing"))
            raise ConfigError(file, line, ".".join((*path, "adopt_existing")),
                              f"{unknown!r} is neither model_package_group nor one of this project's repository "
                              f"stages ({', '.join(stages) if cfg.ecr.enabled else 'ECR is off'})")
        imports += [(f"aws_ecr_repository.{r.id}", r.name) for r, stage in zip(repositories, stages)
                    if parts is None or stage in parts]
        if parts is None or "model_package_group" in parts:
            imports.append((f"aws_sagemaker_model_package_group.{pid}", group))
    imports += [(f"aws_cloudwatch_log_group.{e.id}", e.log_group) for e in endpoints
                if project.endpoints[e.name].adopt_existing_log_group]
    return ProjectDesign(
        team=team, name=name, id=pid, description=project.description or f"{team}/{name}", imports=tuple(imports),
        repositories=repositories, model_package_group=group, role=role, policies=tuple(policies),
        endpoints=endpoints, retired_endpoints=retired_endpoints,
    )


def _platform_imports(loaded: LoadedEnvironment, platform: PlatformDesign) -> tuple[tuple[str, str], ...]:
    """Import blocks for what exists already, from the YAML's adopt switches."""
    cfg = loaded.config
    imports: list[tuple[str, str]] = []
    adopt = cfg.network.adopt_existing
    groups = {g.role: g for g in platform.security_groups}
    for role, adopted in sorted(adopt.security_groups.items()):
        group = groups[role]
        imports.append((f"aws_security_group.{group.id}", adopted.id))
        rules = {r.key: r for r in group.rules}
        for key, rule_id in sorted(adopted.rules.items()):
            if key not in rules:
                path = ("network", "adopt_existing", "security_groups", role, "rules", key)
                file, line = loaded.where(path)
                raise ConfigError(file, line, ".".join(path),
                                  f"the {role} group has no designed rule {key!r} (its rules: {', '.join(rules)})")
            imports.append((f"aws_vpc_security_group_{rules[key].direction}_rule.{rules[key].id}", rule_id))
    endpoints = {"s3": platform.gateway_endpoint.id, **{e.name: e.id for e in platform.interface_endpoints}}
    for name, endpoint_id in sorted(adopt.vpc_endpoints.items()):
        if name not in endpoints:
            path = ("network", "adopt_existing", "vpc_endpoints", name)
            file, line = loaded.where(path)
            raise ConfigError(file, line, ".".join(path),
                              f"{name!r} is not an endpoint this environment renders ({', '.join(endpoints)})")
        imports.append((f"aws_vpc_endpoint.{endpoints[name]}", endpoint_id))
    shared = cfg.ecr.adopt_existing_shared_repos
    if shared:
        wanted = set(shared) if isinstance(shared, list) else set(cfg.ecr.shared_repos)
        for unknown in sorted(wanted - set(cfg.ecr.shared_repos)):
            file, line = loaded.where(("ecr", "adopt_existing_shared_repos"))
            raise ConfigError(file, line, "ecr.adopt_existing_shared_repos",
                              f"{unknown!r} is not one of ecr.shared_repos")
        imports += [(f"aws_ecr_repository.{r.id}", r.name) for r, short in
                    zip(platform.shared_repositories, cfg.ecr.shared_repos) if short in wanted]
    jobs = cfg.logs.adopt_existing_job_log_groups
    if jobs:
        wanted = set(jobs) if isinstance(jobs, list) else {g.id for g in platform.log_groups}
        imports += [(f"aws_cloudwatch_log_group.{g.id}", g.name) for g in platform.log_groups if g.id in wanted]
    return tuple(imports)
