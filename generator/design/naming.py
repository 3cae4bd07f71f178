"""How tfgen names things: Terraform labels, AWS resource names, and whether the composed
names stay within AWS's limits."""

from __future__ import annotations

from generator.config import aws_limits
from generator.config.loader import LoadedEnvironment
from generator.design.model import Design
from generator.errors import ConfigError, ConfigErrors


def tf_id(*parts: str) -> str:
    """A Terraform block label from names made of lower-case words and hyphens.

    Terraform identifiers must not start with a digit (a project may: "2fa-checks").
    """
    label = "_".join(parts).replace("-", "_").replace(".", "_")
    return f"_{label}" if label[:1].isdigit() else label


def email_id(email: str) -> str:
    """The label of an e-mail's subscription: `ops+alerts@acme.example` -> `alarms_ops_plus_alerts_at_acme_example`.

    Terraform labels allow letters, digits, `_` and `-`; an address may hold `+` and more.
    Dots and hyphens become `_` (labels already applied keep their names); `@` is `_at_`,
    `+` is `_plus_`, any other character `_xHH_`.
    """
    def spell(char: str) -> str:
        if char.isascii() and (char.isalnum() or char == "_"):
            return char
        return {"-": "_", ".": "_", "@": "_at_", "+": "_plus_"}.get(char, f"_x{ord(char):02x}_")
    return "alarms_" + "".join(spell(c) for c in email.lower())


def shared_repository_name(company: str, repo: str) -> str:
    return f"{company}-sagemaker-shared/{repo}"


def project_repository_name(company: str, team: str, project: str, stage: str) -> str:
    return f"{company}-sm-{team}-{project}/{stage}"


def model_package_group_name(team: str, project: str) -> str:
    return f"{team}-{project}"


def _check_composed_names(loaded: LoadedEnvironment, result: Design) -> None:
    """AWS's limits (botocore's models, generator/config/aws_limits.py) apply to names only once
    composed: each is reported at the YAML that composes it (tag_prefix, the project, the
    endpoint), all at once, and once per field and limit (five groups from one tag_prefix are one error)."""
    errors: dict[tuple, ConfigError] = {}

    def fail(path: tuple, message: str, key: object = None) -> None:
        if (path, key or message) not in errors:
            file, line = loaded.where(path)
            errors[(path, key or message)] = ConfigError(file, line, ".".join(path), message)

    def check(limit: aws_limits.Limit, value: str, path: tuple, hint: str = "") -> None:
        problem = limit.problem(value)
        if problem:
            fail(path, problem + hint, limit)

    prefix, platform = ("tag_prefix",), result.platform
    for group in platform.security_groups:
        check(aws_limits.SECURITY_GROUP, group.name, prefix, "; choose another tag_prefix")
    if platform.topic:
        check(aws_limits.SNS_TOPIC, platform.topic.name, prefix)
        check(aws_limits.KMS_ALIAS, platform.topic.kms_alias, prefix)
    for rule in platform.event_rules:
        check(aws_limits.EVENT_RULE, rule.name, prefix)
    for repo in platform.shared_repositories:
        check(aws_limits.ECR_REPOSITORY, repo.name, ("ecr", "shared_repos"))
    seen_groups: dict[str, tuple[str, str]] = {}
    seen_endpoints: dict[str, tuple] = {}  # endpoint name -> the path of its first declaration
    for team in result.teams:
        managed = {e.id: p.name for p in team.projects for e in p.endpoints}
        for project in team.projects:
            for endpoint in project.retired_endpoints:  # its `removed` block and a resource at one address
                if endpoint.id in managed:
                    fail(("teams", team.name, "projects", project.name, "endpoints", endpoint.name, "retired"),
                         f"{team.name}/{managed[endpoint.id]} declares this endpoint's log group again, in the same "
                         "root: an endpoint that moves between a team's projects keeps its log group as it is; "
                         "delete this retired entry")
        for project in team.projects + team.retired:
            path = ("teams", team.name, "projects", project.name)
            group = project.model_package_group
            check(aws_limits.MODEL_PACKAGE_GROUP, group, path)
            if group in seen_groups:
                other = "/".join(seen_groups[group])
                fail(path, f"{team.name}/{project.name} and {other} both compose the name {group!r} "
                           "(model package group, repositories and role would clash)")
            seen_groups[group] = (team.name, project.name)
            if project.create_role:
                check(aws_limits.IAM_ROLE, project.role_name, path,
                      "; shorten tag_prefix, team or project, or name an existing execution_role")
            else:
                check(aws_limits.IAM_ROLE, project.role_name, project.role.yaml_path)
            for policy in project.policies:
                check(aws_limits.IAM_ROLE_POLICY, policy.name, path)
            for repo in project.repositories:
                check(aws_limits.ECR_REPOSITORY, repo.name, path)
            for endpoint in project.endpoints:
                endpoint_path = path + ("endpoints", endpoint.name)
                if endpoint.name in seen_endpoints:
                    _twice(loaded, endpoint.name, (seen_endpoints[endpoint.name], endpoint_path), errors)
                seen_endpoints.setdefault(endpoint.name, endpoint_path)
                check(aws_limits.LOG_GROUP, endpoint.log_group, endpoint_path)
                for alarm in endpoint.alarms:
                    check(aws_limits.ALARM, alarm.name, endpoint_path)
                    check(aws_limits.ALARM_DESCRIPTION, alarm.description, endpoint_path)
    if errors:
        found = list(errors.values())
        raise found[0] if len(found) == 1 else ConfigErrors(found)


def _twice(loaded: LoadedEnvironment, name: str, paths: tuple[tuple, tuple], errors: dict) -> None:
    """An endpoint name two projects declare: said where the later of the two declarations was written
    (the environment's own file before what it inherits; in one file, the second), naming the other's
    file and line. Where the name was written, not a later file that only changes a value inside it."""
    chain = loaded.chain or loaded.files
    rank = {file: index for index, file in enumerate(chain)}
    there, here = sorted(paths, key=lambda p: (-rank.get(loaded.declared_at(p)[0], len(chain)),
                                               loaded.declared_at(p)[1] or 0))
    file, line = loaded.declared_at(here)
    other_file, other_line = loaded.declared_at(there)
    other = f"{there[1]}/{there[3]} ({other_file}:{other_line})"
    errors[(here, "endpoint declared twice")] = ConfigError(
        file, line, ".".join(here), f"endpoint {name!r} is also declared by {other}; endpoint names are unique per "
                                     "account and region")
