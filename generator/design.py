"""What an environment's configuration means in AWS terms: every name, rule and document.

The templates only lay these values out as HCL; all decisions (names, rule sets, ARNs,
thresholds, sorting) are made here, in Python, where they can be read and tested.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator import aws_limits
from generator.config.loader import LoadedEnvironment
from generator.config.models import Environment
from generator.errors import ConfigError

HTTPS, NFS, INFERENCE_CONTAINER = 443, 2049, 8080
STUDIO_APPS = (8192, 65535)
ANYWHERE = "0.0.0.0/0"

# The plan's AllowModelRegistry statement, action for action (seed plan, section 4).
MODEL_REGISTRY_ACTIONS = (
    "sagemaker:CreateModelPackage",
    "sagemaker:CreateModelPackageGroup",
    "sagemaker:DescribeModelPackage",
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:ListModelPackages",
    "sagemaker:ListModelPackageGroups",
    "sagemaker:UpdateModelPackage",
    "sagemaker:DeleteModelPackage",
)
ECR_PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
# The one ECR action AWS only grants on "*": it is account-wide, not per repository.
ECR_AUTH_ACTIONS = ("ecr:GetAuthorizationToken",)

TRAINING_FAILED = ("training_job_failed", "SageMaker Training Job State Change", "TrainingJobStatus", "training")
PROCESSING_FAILED = ("processing_job_failed", "SageMaker Processing Job State Change", "ProcessingJobStatus", "processing")


def tf_id(*parts: str) -> str:
    """A Terraform block label from names made of lower-case words and hyphens.

    Terraform identifiers must not start with a digit (a project may: "2fa-checks").
    """
    label = "_".join(parts).replace("-", "_").replace(".", "_")
    return f"_{label}" if label[:1].isdigit() else label


@dataclass(frozen=True)
class SgRule:
    id: str  # the block label: group role plus what the rule means, never a list position
    group: str  # the tf id of the group it belongs to
    direction: str  # "ingress" or "egress"
    description: str
    protocol: str  # "tcp", or "-1" for all traffic (then no ports)
    from_port: int | None = None
    to_port: int | None = None
    cidr: str | None = None
    to_self: bool = False


@dataclass(frozen=True)
class SecurityGroup:
    role: str
    id: str
    name: str
    description: str
    output: str  # the variable name in security-groups.env
    rules: tuple[SgRule, ...]


@dataclass(frozen=True)
class Repository:
    id: str
    name: str
    retention: int


@dataclass(frozen=True)
class InterfaceEndpoint:
    id: str
    service_name: str


@dataclass(frozen=True)
class EventRule:
    id: str
    name: str
    description: str
    detail_type: str
    status_field: str


@dataclass(frozen=True)
class Alarm:
    id: str
    name: str
    description: str
    metric: str
    statistic: str | None
    extended_statistic: str | None
    threshold: float
    endpoint: str
    variant: str


@dataclass(frozen=True)
class EndpointMonitoring:
    id: str
    name: str
    log_group: str
    alarms: tuple[Alarm, ...]


@dataclass(frozen=True)
class Statement:
    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]


@dataclass(frozen=True)
class ProjectDesign:
    team: str
    name: str
    id: str
    description: str
    repositories: tuple[Repository, ...]
    model_package_group: str
    role_name: str
    create_role: bool
    policy_name: str
    statements: tuple[Statement, ...]
    endpoints: tuple[EndpointMonitoring, ...]
    imports: tuple[tuple[str, str], ...] = ()  # (address, import id) of resources to adopt

    @property
    def stateful(self) -> tuple[str, ...]:
        """Addresses whose destruction loses data: images, model versions, logs."""
        return (*(f"aws_ecr_repository.{r.id}" for r in self.repositories),
                f"aws_sagemaker_model_package_group.{self.id}",
                *(f"aws_cloudwatch_log_group.{e.id}" for e in self.endpoints))

    @property
    def retained(self) -> tuple[str, ...]:
        """What a retired project leaves in place: its stateful resources and their lifecycle policies."""
        return (*self.stateful, *(f"aws_ecr_lifecycle_policy.{r.id}" for r in self.repositories))


@dataclass(frozen=True)
class TeamDesign:
    name: str
    description: str
    projects: tuple[ProjectDesign, ...]
    retired: tuple[ProjectDesign, ...] = ()  # rendered as `removed` blocks (protected environments only)


@dataclass(frozen=True)
class PlatformDesign:
    security_groups: tuple[SecurityGroup, ...]
    gateway_route_tables: tuple[str, ...]
    interface_endpoints: tuple[InterfaceEndpoint, ...]
    shared_repositories: tuple[Repository, ...]
    log_groups: tuple[tuple[str, str, int], ...]  # (tf id, name, days)
    alarm_topic: str | None
    alarm_emails: tuple[str, ...]
    event_rules: tuple[EventRule, ...]
    imports: tuple[tuple[str, str], ...] = ()  # (address, import id) of resources to adopt

    @property
    def stateful(self) -> tuple[str, ...]:
        """Addresses whose destruction loses data: shared images, job logs."""
        return (*(f"aws_ecr_repository.{r.id}" for r in self.shared_repositories),
                *(f"aws_cloudwatch_log_group.{gid}" for gid, _, _ in self.log_groups))


@dataclass(frozen=True)
class Design:
    env: str
    config: Environment
    platform: PlatformDesign
    teams: tuple[TeamDesign, ...]
    topic_arn: str | None = None
    kms_alias: str | None = None


def design(loaded: LoadedEnvironment) -> Design:
    cfg = loaded.config
    topic = f"{cfg.tag_prefix}-alarms" if cfg.alarms.enabled else None
    topic_arn = f"arn:aws:sns:{cfg.region}:{cfg.account_id}:{topic}" if topic else None
    platform = PlatformDesign(
        security_groups=security_groups(cfg),
        gateway_route_tables=tuple(cfg.network.route_table_ids),
        interface_endpoints=tuple(
            InterfaceEndpoint(tf_id(name), aws_limits.interface_service_name(cfg.region, name))
            for name in (*aws_limits.REQUIRED_INTERFACE_ENDPOINTS, *cfg.vpc_endpoints.extra)
        ),
        shared_repositories=tuple(
            Repository(tf_id("shared", repo), shared_repository_name(cfg.company, repo), cfg.ecr.image_retention)
            for repo in cfg.ecr.shared_repos
        ) if cfg.ecr.enabled else (),
        log_groups=(
            ("processing_jobs", "/aws/sagemaker/ProcessingJobs", cfg.logs.retention_days.processing_jobs),
            ("training_jobs", "/aws/sagemaker/TrainingJobs", cfg.logs.retention_days.training_jobs),
        ),
        alarm_topic=topic,
        alarm_emails=tuple(sorted(set(cfg.alarms.emails))) if topic else (),
        event_rules=tuple(
            EventRule(rule_id, f"{cfg.tag_prefix}-{kind}-job-failed", f"SageMaker {kind} jobs that failed", detail, status)
            for rule_id, detail, status, kind in (TRAINING_FAILED, PROCESSING_FAILED)
        ) if topic else (),
        imports=tuple((f"aws_cloudwatch_log_group.{gid}", name) for gid, name in
                      (("processing_jobs", "/aws/sagemaker/ProcessingJobs"), ("training_jobs", "/aws/sagemaker/TrainingJobs"))
                      ) if cfg.logs.adopt_existing_job_log_groups else (),
    )
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
    result = Design(env=loaded.name, config=cfg, platform=platform, teams=teams, topic_arn=topic_arn,
                    kms_alias=f"alias/{cfg.tag_prefix}-alarms" if topic else None)
    _check_composed_names(loaded, result)
    return result


def security_groups(cfg: Environment) -> tuple[SecurityGroup, ...]:
    """The five groups and exactly their rules (seed plan, section 2, plus AWS's Studio needs)."""
    cidr = cfg.network.vpc_cidr

    def group(role: str, description: str, output: str, rules: list[tuple]) -> SecurityGroup:
        gid = tf_id(role)
        return SecurityGroup(
            role=role, id=gid, name=f"{cfg.tag_prefix}-{role}", description=description, output=output,
            rules=tuple(SgRule(f"{gid}_{key}", gid, *rest) for key, *rest in rules),
        )

    def https_from_vpc(what: str) -> tuple:
        return ("https_from_vpc", "ingress", f"HTTPS from the VPC CIDR ({what})", "tcp", HTTPS, HTTPS, cidr)

    https_to_aws = ("https_to_anywhere", "egress", "HTTPS to AWS services", "tcp", HTTPS, HTTPS, ANYWHERE)

    def cluster(role: str, why: str) -> SecurityGroup:
        return group(role, f"SageMaker {role} jobs", f"SG_{role.upper()}", [
            ("all_from_self", "ingress", f"All traffic within the group ({why})", "-1", None, None, None, True),
            https_from_vpc("AWS service callbacks"),
            https_to_aws,
            ("all_to_self", "egress", f"All traffic within the group ({why})", "-1", None, None, None, True),
        ])

    studio_apps = (*STUDIO_APPS,)
    return (
        group("studio", "SageMaker Studio domain and its apps", "SG_SAGEMAKER_STUDIO", [
            ("nfs_from_self", "ingress", "NFS between Studio apps (EFS home folders)", "tcp", NFS, NFS, None, True),
            ("apps_from_self", "ingress", "Traffic between Studio apps", "tcp", *studio_apps, None, True),
            ("nfs_to_self", "egress", "NFS between Studio apps (EFS home folders)", "tcp", NFS, NFS, None, True),
            ("apps_to_self", "egress", "Traffic between Studio apps", "tcp", *studio_apps, None, True),
            https_to_aws,
        ]),
        group("vpc-endpoints", "Interface VPC endpoints for SageMaker", "SG_VPC_ENDPOINTS", [
            https_from_vpc("calls to AWS services"),
        ]),
        cluster("training", "distributed training"),
        cluster("processing", "Spark clusters"),
        group("inference", "SageMaker inference endpoints", "SG_INFERENCE", [
            https_from_vpc("inference requests"),
            ("container_from_vpc", "ingress", "Model container port from the VPC CIDR", "tcp",
             INFERENCE_CONTAINER, INFERENCE_CONTAINER, cidr),
            https_to_aws,
        ]),
    )


def shared_repository_name(company: str, repo: str) -> str:
    return f"{company}-sagemaker-shared/{repo}"


def project_repository_name(company: str, team: str, project: str, stage: str) -> str:
    return f"{company}-sm-{team}-{project}/{stage}"


def model_package_group_name(team: str, project: str) -> str:
    return f"{team}-{project}"


def _project(loaded: LoadedEnvironment, team: str, name: str, topic_arn: str | None) -> ProjectDesign:
    cfg = loaded.config
    project = cfg.teams[team].projects[name]
    pid = tf_id(name)
    retention = project.image_retention or cfg.ecr.image_retention
    stages = project.repos if project.repos is not None else cfg.ecr.project_repos
    repositories = tuple(
        Repository(tf_id(name, stage), project_repository_name(cfg.company, team, name, stage), retention)
        for stage in stages
    ) if cfg.ecr.enabled else ()
    group = model_package_group_name(team, name)
    arn = f"arn:aws:sagemaker:{cfg.region}:{cfg.account_id}"
    statements = [Statement("AllowModelRegistry", MODEL_REGISTRY_ACTIONS,
                            (f"{arn}:model-package-group/{group}", f"{arn}:model-package/{group}/*"))]
    if cfg.ecr.enabled:
        ecr = f"arn:aws:ecr:{cfg.region}:{cfg.account_id}:repository"
        pulls = tuple(f"{ecr}/{r.name}" for r in repositories)
        if cfg.ecr.shared_repos:
            pulls += (f"{ecr}/{cfg.company}-sagemaker-shared/*",)
        if pulls:
            statements.append(Statement("AllowEcrPull", ECR_PULL_ACTIONS, pulls))
        statements.append(Statement("AllowEcrAuthorization", ECR_AUTH_ACTIONS, ("*",)))
    endpoints = tuple(
        _endpoint(cfg, endpoint_name, endpoint, topic_arn)
        for endpoint_name, endpoint in sorted(project.endpoints.items())
    )
    imports: tuple[tuple[str, str], ...] = ()
    if project.adopt_existing:
        # Lifecycle policies are not imported: creating one replaces what a repository has.
        imports = (*((f"aws_ecr_repository.{r.id}", r.name) for r in repositories),
                   (f"aws_sagemaker_model_package_group.{pid}", group))
    imports += tuple((f"aws_cloudwatch_log_group.{e.id}", e.log_group) for e in endpoints
                     if project.endpoints[e.name].adopt_existing_log_group)
    return ProjectDesign(
        team=team, name=name, id=pid, description=project.description or f"{team}/{name}", imports=imports,
        repositories=repositories, model_package_group=group,
        role_name=project.execution_role or f"{cfg.tag_prefix}-{team}-{name}-execution",
        create_role=project.execution_role is None, policy_name=f"{group}-workload",
        statements=tuple(statements), endpoints=endpoints,
    )


def _endpoint(cfg: Environment, name: str, endpoint, topic_arn: str | None) -> EndpointMonitoring:
    eid = tf_id(name)
    alarms: tuple[Alarm, ...] = ()
    if topic_arn:
        rate = endpoint.error_rate_percent or cfg.alarms.endpoint_5xx_rate_percent
        latency_ms = endpoint.p99_latency_ms or cfg.alarms.endpoint_p99_latency_ms
        alarms = (
            # Invocation5XXErrors is 0 or 1 per invocation, so its Average is the error rate.
            Alarm(f"{eid}_5xx_rate", f"{cfg.tag_prefix}-{name}-5xx-rate",
                  f"More than {rate:g}% of invocations of {name} return 5XX", "Invocation5XXErrors",
                  "Average", None, round(rate / 100, 6), name, endpoint.variant),
            # SageMaker reports ModelLatency in microseconds; the YAML says milliseconds.
            Alarm(f"{eid}_p99_latency", f"{cfg.tag_prefix}-{name}-p99-latency",
                  f"p99 model latency of {name} above {latency_ms} ms", "ModelLatency",
                  None, "p99", latency_ms * 1000, name, endpoint.variant),
        )
    return EndpointMonitoring(eid, name, f"/aws/sagemaker/Endpoints/{name}", alarms)


def _check_composed_names(loaded: LoadedEnvironment, result: Design) -> None:
    """AWS's limits apply to names only once composed; report them at the project's line."""
    seen_groups: dict[str, tuple[str, str]] = {}
    seen_endpoints: dict[str, tuple[str, str]] = {}
    for team in result.teams:
        for project in team.projects + team.retired:
            path = ("teams", team.name, "projects", project.name)
            file, line = loaded.where(path)

            def fail(message: str, field_path: tuple = path) -> None:
                raise ConfigError(file, line, ".".join(field_path), message)

            group = project.model_package_group
            if len(group) > aws_limits.MODEL_PACKAGE_GROUP_MAX or not aws_limits.MODEL_PACKAGE_GROUP_NAME.match(group):
                fail(f"model package group name {group!r} is {len(group)} characters; AWS allows at most "
                     f"{aws_limits.MODEL_PACKAGE_GROUP_MAX} of [a-zA-Z0-9-]")
            if group in seen_groups:
                other = "/".join(seen_groups[group])
                fail(f"{team.name}/{project.name} and {other} both compose the name {group!r} "
                     "(model package group, repositories and role would clash)")
            seen_groups[group] = (team.name, project.name)
            if project.create_role and len(project.role_name) > aws_limits.IAM_ROLE_MAX:
                fail(f"IAM role name {project.role_name!r} is {len(project.role_name)} characters; AWS allows at most "
                     f"{aws_limits.IAM_ROLE_MAX} (shorten tag_prefix, team or project, or name an existing execution_role)")
            for repo in project.repositories:
                if len(repo.name) > aws_limits.ECR_REPOSITORY_MAX or not aws_limits.ECR_REPOSITORY_NAME.match(repo.name):
                    fail(f"ECR repository name {repo.name!r} breaks AWS's pattern or length limit")
            for endpoint in project.endpoints:
                if endpoint.name in seen_endpoints:
                    other = "/".join(seen_endpoints[endpoint.name])
                    fail(f"endpoint {endpoint.name!r} is also declared by {other}; endpoint names are unique per "
                         "account and region", path + ("endpoints", endpoint.name))
                seen_endpoints[endpoint.name] = (team.name, project.name)
