"""What an environment's configuration means in AWS terms: every name, rule and document.

The templates only lay these values out as HCL; all decisions (names, rule sets, ARNs,
thresholds, sorting) are made here, in Python, where they can be read and tested.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from generator.config import aws_limits
from generator.config.loader import LoadedEnvironment
from generator.config.models import Environment
from generator.errors import ConfigError, ConfigErrors

HTTPS, NFS, INFERENCE_CONTAINER = 443, 2049, 8080
STUDIO_APPS = (8192, 65535)
ANYWHERE = "0.0.0.0/0"

# The plan's AllowModelRegistry statement, but for one action:
# sagemaker:ListModelPackageGroups has no resource type in AWS's catalogue, so granted on
# the group's ARN it never matches. It gets its own statement on "*" (docs/policies.md).
MODEL_REGISTRY_ACTIONS = (
    "sagemaker:CreateModelPackage",
    "sagemaker:CreateModelPackageGroup",
    "sagemaker:DescribeModelPackage",
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:ListModelPackages",
    "sagemaker:UpdateModelPackage",
    "sagemaker:DeleteModelPackage",
)
MODEL_REGISTRY_LIST_ACTIONS = ("sagemaker:ListModelPackageGroups",)
# Not in the plan's statement, but AWS's catalogue lists it as a dependent action of
# CreateModelPackage and CreateModelPackageGroup: registering with tags needs it.
MODEL_REGISTRY_TAG_ACTIONS = ("sagemaker:AddTags",)
ECR_PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
# The one ECR action AWS only grants on "*": it is account-wide, not per repository.
ECR_AUTH_ACTIONS = ("ecr:GetAuthorizationToken",)

TERRAFORM_MIN_VERSION = ">= 1.7.0, < 2.0.0"  # removed blocks (retired projects), import blocks
TERRAFORM_MIN_VERSION_WITH_LOCKFILE = ">= 1.11.0, < 2.0.0"  # use_lockfile: experimental in 1.10, GA in 1.11


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

    @property
    def key(self) -> str:
        """What the rule means within its group (https_from_vpc): the YAML names adopted rules by it."""
        return self.id.removeprefix(f"{self.group}_")


@dataclass(frozen=True)
class SecurityGroup:
    role: str
    id: str
    name: str
    description: str
    output: str  # the variable name in security-groups.env
    rules: tuple[SgRule, ...]
    vpc_id: str = ""


@dataclass(frozen=True)
class LifecycleRule:
    """One rule of an ECR lifecycle policy; ECR evaluates them by priority, lowest first."""

    priority: int
    description: str
    tag_status: str  # "untagged", "tagged" (with a prefix) or "any" (must be last)
    count_type: str  # "sinceImagePushed" (count_number days) or "imageCountMoreThan"
    count_number: int
    tag_prefix: str | None = None


@dataclass(frozen=True)
class Repository:
    id: str
    name: str
    retention: int  # the newest images kept of those neither untagged nor released
    lifecycle: tuple[LifecycleRule, ...] = ()

    @property
    def lifecycle_local(self) -> str:
        """The local its lifecycle policy is written in, once per root: within an environment,
        policies differ only in the number of images kept."""
        return f"image_lifecycle_keep_{self.retention}"


@dataclass(frozen=True)
class LifecyclePolicy:
    local: str
    rules: tuple[LifecycleRule, ...]


def lifecycle_policies(repositories: Iterable[Repository]) -> tuple[LifecyclePolicy, ...]:
    """The distinct lifecycle policies of a root's repositories, each to be written once."""
    by_local: dict[str, tuple[LifecycleRule, ...]] = {}
    for repo in repositories:
        if by_local.setdefault(repo.lifecycle_local, repo.lifecycle) != repo.lifecycle:
            # A setting that varies by project besides the number kept needs it in the name.
            raise AssertionError(f"two lifecycle policies named {repo.lifecycle_local}")
    return tuple(LifecyclePolicy(local, rules) for local, rules in sorted(by_local.items()))


def image_lifecycle(ecr, keep: int) -> tuple[LifecycleRule, ...]:
    """Untagged images go after D days; each release prefix keeps its own newest images, which
    the last rule can then never expire (ECR: an image a higher-priority rule selects by its
    tags is out of reach of lower ones); the last rule, on any tag, keeps the newest N of the rest."""
    releases = tuple(
        LifecycleRule(2 + index, f"Keep the {ecr.release_images_kept} most recent {prefix}* releases", "tagged",
                      "imageCountMoreThan", ecr.release_images_kept, prefix)
        for index, prefix in enumerate(ecr.release_tag_prefixes))
    return (
        LifecycleRule(1, f"Expire untagged images {ecr.untagged_expiry_days} days after their push", "untagged",
                      "sinceImagePushed", ecr.untagged_expiry_days),
        *releases,
        LifecycleRule(2 + len(releases), f"Keep the {keep} most recent of the other images", "any",
                      "imageCountMoreThan", keep),
    )


@dataclass(frozen=True)
class GatewayEndpoint:
    """S3 through the route tables: jobs in private subnets reach their data without a NAT."""

    id: str
    service_name: str
    vpc_id: str
    route_table_ids: tuple[str, ...]
    name_tag: str


@dataclass(frozen=True)
class InterfaceEndpoint:
    id: str
    service_name: str
    name: str  # as the YAML and AWS's docs say it: "sagemaker.api", "sts", "studio"
    vpc_id: str = ""
    subnet_ids: tuple[str, ...] = ()
    security_group: str = ""  # the tf id of the group it sits in
    name_tag: str = ""


@dataclass(frozen=True)
class LogGroup:
    id: str
    name: str
    retention_days: int


@dataclass(frozen=True)
class Subscription:
    id: str
    email: str


@dataclass(frozen=True)
class EventRule:
    """An EventBridge rule that sends SageMaker's job-failure events to the alarm topic."""

    id: str
    name: str
    description: str
    detail_type: str
    status_field: str
    statuses: tuple[str, ...] = ("Failed",)
    source: str = "aws.sagemaker"
    target_id: str = "alarm-topic"


@dataclass(frozen=True)
class MetricQuery:
    """One query of a metric-math alarm: an expression over the others, or one of the endpoint's
    metrics (namespace, dimensions and period those of its alarm)."""

    id: str
    expression: str | None = None
    label: str | None = None
    metric: str | None = None
    stat: str | None = None
    return_data: bool = False


@dataclass(frozen=True)
class Alarm:
    id: str
    name: str
    description: str
    threshold: float
    endpoint: str
    variant: str
    metric: str | None = None  # None: the alarm is on metric math (queries)
    statistic: str | None = None
    extended_statistic: str | None = None
    queries: tuple[MetricQuery, ...] = ()
    period: int = 300
    evaluation_periods: int = 3
    datapoints_to_alarm: int = 3
    actions: tuple[str, ...] = ()  # the platform topic's ARN
    namespace: str = "AWS/SageMaker"
    comparison: str = "GreaterThanThreshold"
    missing_data: str = "notBreaching"
    low_sample_percentiles: str | None = None  # evaluate_low_sample_count_percentiles


@dataclass(frozen=True)
class EndpointMonitoring:
    id: str
    name: str
    log_group: str
    alarms: tuple[Alarm, ...]
    retention_days: int = 14


@dataclass(frozen=True)
class Condition:
    operator: str  # e.g. "ArnEquals"
    key: str  # e.g. "ec2:Vpc"
    values: tuple[str, ...]


@dataclass(frozen=True)
class Principal:
    kind: str  # "AWS" or "Service"
    names: tuple[str, ...]


@dataclass(frozen=True)
class Statement:
    """One Allow statement of an identity, trust, key or topic policy."""

    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]  # () in a trust policy
    why: str = ""  # rendered as a comment above the statement
    conditions: tuple[Condition, ...] = ()
    principal: Principal | None = None  # resource and trust policies only

    def __post_init__(self) -> None:
        operators = [c.operator for c in self.conditions]
        assert len(set(operators)) == len(operators), f"{self.sid}: one condition per operator"

    def document(self) -> dict:
        """The statement as IAM reads it (what verify compares with the live policy)."""
        out: dict = {"Sid": self.sid, "Effect": "Allow", "Action": list(self.actions)}
        if self.resources:
            out["Resource"] = list(self.resources)
        if self.principal:
            out["Principal"] = {self.principal.kind: list(self.principal.names)}
        if self.conditions:
            grouped: dict[str, dict[str, list[str]]] = {}
            for c in self.conditions:
                grouped.setdefault(c.operator, {})[c.key] = c.values[0] if len(c.values) == 1 else list(c.values)
            out["Condition"] = grouped
        return out


@dataclass(frozen=True)
class RolePolicy:
    id: str  # the block label
    name: str
    description: str  # a comment above the resource
    statements: tuple[Statement, ...]


@dataclass(frozen=True)
class ExecutionRole:
    """The role a project's SageMaker jobs run as: one that exists (the plan's premise), or one tfgen creates."""

    name: str
    arn: str
    create: bool
    yaml_path: tuple[str, ...]  # where the YAML chose it, for messages
    trust: tuple[Statement, ...] = ()  # the trust policy of a role tfgen creates


@dataclass(frozen=True)
class ProjectDesign:
    team: str
    name: str
    id: str
    description: str
    repositories: tuple[Repository, ...]
    model_package_group: str
    role: ExecutionRole
    policies: tuple[RolePolicy, ...]  # the workload policy; with a created role, also its runtime policy
    endpoints: tuple[EndpointMonitoring, ...]
    imports: tuple[tuple[str, str], ...] = ()  # (address, import id) of resources to adopt

    @property
    def role_name(self) -> str:
        return self.role.name

    @property
    def create_role(self) -> bool:
        return self.role.create

    @property
    def workload_policy(self) -> RolePolicy:
        return self.policies[0]

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

    @property
    def lifecycle_policies(self) -> tuple[LifecyclePolicy, ...]:
        return lifecycle_policies(repo for project in self.projects for repo in project.repositories)


@dataclass(frozen=True)
class AlarmTopic:
    """Where alarms and failed-job events go: an SNS topic encrypted with its own KMS key (with
    the AWS-managed aws/sns key, CloudWatch and EventBridge could not publish)."""

    name: str
    arn: str
    kms_alias: str
    key_policy: tuple[Statement, ...]
    topic_policy: tuple[Statement, ...]
    subscriptions: tuple[Subscription, ...]


@dataclass(frozen=True)
class PlatformDesign:
    security_groups: tuple[SecurityGroup, ...]
    gateway_endpoint: GatewayEndpoint
    interface_endpoints: tuple[InterfaceEndpoint, ...]
    shared_repositories: tuple[Repository, ...]
    log_groups: tuple[LogGroup, ...]
    topic: AlarmTopic | None
    event_rules: tuple[EventRule, ...]
    imports: tuple[tuple[str, str], ...] = ()  # (address, import id) of resources to adopt

    @property
    def lifecycle_policies(self) -> tuple[LifecyclePolicy, ...]:
        return lifecycle_policies(self.shared_repositories)

    @property
    def vpc_endpoints(self) -> tuple[GatewayEndpoint | InterfaceEndpoint, ...]:
        return (self.gateway_endpoint, *self.interface_endpoints)

    @property
    def alarm_topic(self) -> str | None:
        return self.topic.name if self.topic else None

    @property
    def alarm_subscriptions(self) -> tuple[Subscription, ...]:
        return self.topic.subscriptions if self.topic else ()

    @property
    def stateful(self) -> tuple[str, ...]:
        """Addresses whose destruction loses data: shared images, job logs."""
        return (*(f"aws_ecr_repository.{r.id}" for r in self.shared_repositories),
                *(f"aws_cloudwatch_log_group.{g.id}" for g in self.log_groups))


@dataclass(frozen=True)
class RootSettings:
    """What every root's versions.tf, providers.tf and backend.tf say."""

    region: str
    account_id: str
    tags: tuple[tuple[str, str], ...]  # the provider's default_tags, in order
    terraform_version: str
    terraform_version_why: str
    state_bucket: str | None  # None: local state
    state_key: str
    state_region: str


@dataclass(frozen=True)
class Design:
    env: str
    config: Environment  # for the tools that read the account (verify, preflight); never for templates
    platform: PlatformDesign
    teams: tuple[TeamDesign, ...]
    protected: bool = False  # prevent_destroy on what holds data

    @property
    def topic_arn(self) -> str | None:
        return self.platform.topic.arn if self.platform.topic else None

    @property
    def kms_alias(self) -> str | None:
        return self.platform.topic.kms_alias if self.platform.topic else None

    def root_settings(self, root: str, team: str) -> RootSettings:
        cfg = self.config
        bucket = cfg.backend.bucket
        return RootSettings(
            region=cfg.region, account_id=cfg.account_id,
            tags=(("Company", cfg.company), ("Environment", self.env), ("Team", team), ("ManagedBy", "tfgen")),
            terraform_version=TERRAFORM_MIN_VERSION_WITH_LOCKFILE if bucket else TERRAFORM_MIN_VERSION,
            terraform_version_why=("1.11: S3 native state locking (use_lockfile) is generally available; "
                                   "1.7: removed blocks.") if bucket else
                                  "1.7: removed blocks (retired projects) and import blocks.",
            state_bucket=bucket, state_key=f"{cfg.backend.key_prefix}/{self.env}/{root}/terraform.tfstate",
            state_region=cfg.backend.region or cfg.region,
        )


def design(loaded: LoadedEnvironment) -> Design:
    cfg = loaded.config
    net = cfg.network
    topic = _alarm_topic(loaded) if cfg.alarms.enabled else None
    topic_arn = topic.arn if topic else None
    groups = security_groups(cfg)
    endpoints_group = next(g.id for g in groups if g.role == "vpc-endpoints")
    platform = PlatformDesign(
        security_groups=groups,
        gateway_endpoint=GatewayEndpoint("s3", f"com.amazonaws.{cfg.region}.s3", net.vpc_id,
                                         tuple(net.route_table_ids), f"{cfg.tag_prefix}-s3"),
        interface_endpoints=tuple(
            InterfaceEndpoint(tf_id(name), aws_limits.interface_service_name(cfg.region, name), name, net.vpc_id,
                              tuple(net.private_subnet_ids), endpoints_group,
                              f"{cfg.tag_prefix}-{tf_id(name).replace('_', '-')}")
            for name in (*aws_limits.REQUIRED_INTERFACE_ENDPOINTS, *cfg.vpc_endpoints.extra)
        ),
        shared_repositories=tuple(
            Repository(tf_id("shared", repo), shared_repository_name(cfg.company, repo), cfg.ecr.image_retention,
                       image_lifecycle(cfg.ecr, cfg.ecr.image_retention))
            for repo in cfg.ecr.shared_repos
        ) if cfg.ecr.enabled else (),
        log_groups=(
            LogGroup("processing_jobs", "/aws/sagemaker/ProcessingJobs", cfg.logs.retention_days.processing_jobs),
            LogGroup("training_jobs", "/aws/sagemaker/TrainingJobs", cfg.logs.retention_days.training_jobs),
        ),
        topic=topic,
        event_rules=(
            EventRule("training_job_failed", f"{cfg.tag_prefix}-training-job-failed",
                      "SageMaker training jobs that failed", "SageMaker Training Job State Change",
                      "TrainingJobStatus"),
            EventRule("processing_job_failed", f"{cfg.tag_prefix}-processing-job-failed",
                      "SageMaker processing jobs that failed", "SageMaker Processing Job State Change",
                      "ProcessingJobStatus"),
        ) if topic else (),
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


# The services that publish to the alarm topic: CloudWatch alarms and EventBridge rules.
PUBLISHERS = Principal("Service", ("cloudwatch.amazonaws.com", "events.amazonaws.com"))


def _alarm_topic(loaded: LoadedEnvironment) -> AlarmTopic:
    cfg = loaded.config
    name = f"{cfg.tag_prefix}-alarms"
    arn = f"arn:aws:sns:{cfg.region}:{cfg.account_id}:{name}"
    same_account = (Condition("StringEquals", "aws:SourceAccount", (cfg.account_id,)),)
    return AlarmTopic(
        name=name, arn=arn, kms_alias=f"alias/{cfg.tag_prefix}-alarms",
        key_policy=(
            Statement("AccountAdministersKey", ("kms:*",), ("*",), "AWS's default: the account administers its key.",
                      principal=Principal("AWS", (f"arn:aws:iam::{cfg.account_id}:root",))),
            Statement("AlarmsAndEventsPublish", ("kms:Decrypt", "kms:GenerateDataKey*"), ("*",),
                      "The publishers encrypt messages to the topic with this key.", principal=PUBLISHERS),
        ),
        topic_policy=(
            Statement("AlarmsAndEventsPublish", ("sns:Publish",), (arn,),
                      "Alarms and events of this account only.", same_account, PUBLISHERS),
        ),
        subscriptions=_subscriptions(loaded),
    )


def _subscriptions(loaded: LoadedEnvironment) -> tuple[Subscription, ...]:
    """One e-mail subscription per address; two addresses that differ only in case or
    punctuation would share a label, and are refused where the YAML lists them."""
    by_id: dict[str, str] = {}
    for email in sorted(set(loaded.config.alarms.emails)):
        label = email_id(email)
        if label in by_id:
            file, line = loaded.where(("alarms", "emails"))
            raise ConfigError(file, line, "alarms.emails", f"{by_id[label]!r} and {email!r} are one address to "
                                                           "tfgen (same subscription label); list it once")
        by_id[label] = email
    return tuple(Subscription(label, email) for label, email in by_id.items())


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


def shared_repository_name(company: str, repo: str) -> str:
    return f"{company}-sagemaker-shared/{repo}"


def project_repository_name(company: str, team: str, project: str, stage: str) -> str:
    return f"{company}-sm-{team}-{project}/{stage}"


def model_package_group_name(team: str, project: str) -> str:
    return f"{team}-{project}"


def _project(loaded: LoadedEnvironment, team: str, name: str, topic_arn: str | None) -> ProjectDesign:
    cfg = loaded.config
    project = cfg.teams[team].projects[name]
    path = ("teams", team, "projects", name)
    pid = tf_id(name)
    retention = project.image_retention or cfg.ecr.image_retention
    stages = project.repos if project.repos is not None else cfg.ecr.project_repos
    repositories = tuple(
        Repository(tf_id(name, stage), project_repository_name(cfg.company, team, name, stage), retention,
                   image_lifecycle(cfg.ecr, retention))
        for stage in stages
    ) if cfg.ecr.enabled else ()
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
        for endpoint_name, endpoint in sorted(project.endpoints.items())
    )
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
        endpoints=endpoints,
    )


def _workload_statements(cfg: Environment, group: str, repositories: tuple[Repository, ...]) -> tuple[Statement, ...]:
    arn = f"arn:aws:sagemaker:{cfg.region}:{cfg.account_id}"
    statements = [
        Statement("AllowModelRegistry", MODEL_REGISTRY_ACTIONS,
                  (f"{arn}:model-package-group/{group}", f"{arn}:model-package/{group}/*"),
                  "The plan's registry statement: this project's group and its model versions only."),
        Statement("AllowListModelPackageGroups", MODEL_REGISTRY_LIST_ACTIONS, ("*",),
                  "AWS offers no resource type for ListModelPackageGroups: it is granted on * or not at all."),
        Statement("AllowTagModelRegistry", MODEL_REGISTRY_TAG_ACTIONS,
                  (f"{arn}:model-package-group/{group}", f"{arn}:model-package/{group}/*"),
                  "Tags on this project's group and model versions: AWS's dependent action of creating them "
                  "with tags, as pipelines and the SDK do (docs/policies.md)."),
    ]
    if cfg.ecr.enabled:
        ecr = f"arn:aws:ecr:{cfg.region}:{cfg.account_id}:repository"
        pulls = tuple(f"{ecr}/{r.name}" for r in repositories)
        if cfg.ecr.shared_repos:
            pulls += (f"{ecr}/{shared_repository_name(cfg.company, '*')}",)
        if pulls:
            statements.append(Statement("AllowEcrPull", ECR_PULL_ACTIONS, pulls,
                                        "Pull this project's images and the shared base images."))
        statements.append(Statement("AllowEcrAuthorization", ECR_AUTH_ACTIONS, ("*",),
                                    "The registry login token is account-wide: AWS grants it on * only."))
    return tuple(statements)


# What a SageMaker execution role needs to run training and processing jobs (in VPC mode)
# and inference endpoints: AWS's "How to use SageMaker AI execution roles", the
# CreateTrainingJob, CreateProcessingJob and CreateModel sections.
JOB_LOG_ACTIONS = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents")
METRIC_ACTIONS = ("cloudwatch:PutMetricData",)
ENI_CREATE_ACTIONS = ("ec2:CreateNetworkInterface",)
ENI_TAG_ACTIONS = ("ec2:CreateTags",)
ENI_MANAGE_ACTIONS = ("ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface",
                      "ec2:DeleteNetworkInterfacePermission")
NETWORK_DESCRIBE_ACTIONS = ("ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups",
                            "ec2:DescribeSubnets", "ec2:DescribeVpcs")
S3_BUCKET_ACTIONS = ("s3:ListBucket",)
S3_OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject")
KMS_DATA_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
KMS_GRANT_ACTIONS = ("kms:CreateGrant",)


def _runtime_statements(loaded: LoadedEnvironment, team: str, name: str) -> tuple[Statement, ...]:
    cfg = loaded.config
    project, team_cfg = cfg.teams[team].projects[name], cfg.teams[team]
    buckets = project.data_buckets if project.data_buckets is not None else team_cfg.data_buckets or []
    keys = project.kms_key_arns if project.kms_key_arns is not None else team_cfg.kms_key_arns or []
    if not buckets:
        path = ("teams", team, "projects", name)
        file, line = loaded.where(path)
        raise ConfigError(file, line, ".".join(path),
                          "tfgen creates this project's execution role (create_execution_role), but no S3 bucket is "
                          "named for its jobs' data: list them in data_buckets (here or at the team)")
    account, region = cfg.account_id, cfg.region
    ec2 = f"arn:aws:ec2:{region}:{account}"
    in_vpc = (Condition("ArnEquals", "ec2:Vpc", (f"{ec2}:vpc/{cfg.network.vpc_id}",)),)
    statements = [
        Statement("WriteSageMakerLogs", JOB_LOG_ACTIONS,
                  (f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/*",
                   f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker/*:log-stream:*"),
                  "Job and endpoint logs, in SageMaker's own log groups only."),
        Statement("PutSageMakerMetrics", METRIC_ACTIONS, ("*",),
                  "PutMetricData has no resource type; the namespace condition keeps it to SageMaker's.",
                  (Condition("StringLike", "cloudwatch:namespace", ("/aws/sagemaker/*",)),)),
        # AWS authorises CreateNetworkInterface once for each resource of the request: the new
        # interface, its subnet, its groups. It supplies ec2:Vpc with the subnet and the groups
        # only: ArnEquals would be false for the interface itself, and deny every job in VPC mode.
        Statement("CreateJobNetworkInterfaces", ENI_CREATE_ACTIONS,
                  (f"{ec2}:network-interface/*", *(f"{ec2}:subnet/{s}" for s in cfg.network.private_subnet_ids),
                   f"{ec2}:security-group/*"),
                  "Jobs in VPC mode: interfaces in the private subnets, with groups of this VPC (IfExists: the "
                  "new interface has no ec2:Vpc).",
                  (Condition("ArnEqualsIfExists", "ec2:Vpc", (f"{ec2}:vpc/{cfg.network.vpc_id}",)),)),
        Statement("TagJobNetworkInterfacesOnCreate", ENI_TAG_ACTIONS, (f"{ec2}:network-interface/*",),
                  "Tags given with CreateNetworkInterface (AWS's dependent action), never on other calls.",
                  (Condition("StringEquals", "ec2:CreateAction", ("CreateNetworkInterface",)),)),
        Statement("ManageJobNetworkInterfaces", ENI_MANAGE_ACTIONS, (f"{ec2}:network-interface/*",),
                  "Hand the job's interfaces to SageMaker and delete them afterwards, in this VPC only.", in_vpc),
        Statement("DescribeJobNetwork", NETWORK_DESCRIBE_ACTIONS, ("*",),
                  "Describe calls have no resource type: AWS grants them on * only."),
        Statement("ListDataBuckets", S3_BUCKET_ACTIONS, tuple(f"arn:aws:s3:::{b}" for b in buckets),
                  "The data buckets named in the YAML (data_buckets)."),
        Statement("ReadWriteData", S3_OBJECT_ACTIONS, tuple(f"arn:aws:s3:::{b}/*" for b in buckets),
                  "Read training data and model artefacts, write job outputs, in those buckets only."),
    ]
    if keys:
        statements += [
            Statement("UseDataKeys", KMS_DATA_ACTIONS, tuple(keys),
                      "The KMS keys that encrypt the data and outputs (kms_key_arns)."),
            Statement("GrantDataKeysToVolumes", KMS_GRANT_ACTIONS, tuple(keys),
                      "Encrypted job volumes: grants for AWS resources only.",
                      (Condition("Bool", "kms:GrantIsForAWSResource", ("true",)),)),
        ]
    return tuple(statements)


def _execution_role(loaded: LoadedEnvironment, team: str, name: str) -> ExecutionRole:
    """The project's choice wins over the team's; with neither, the YAML is incomplete."""
    cfg = loaded.config
    team_cfg, project = cfg.teams[team], cfg.teams[team].projects[name]
    team_path, project_path = ("teams", team), ("teams", team, "projects", name)
    if project.execution_role:
        ref, path = project.execution_role, (*project_path, "execution_role")
    elif project.create_execution_role:
        ref, path = None, (*project_path, "create_execution_role")
    elif team_cfg.execution_role:
        ref, path = team_cfg.execution_role, (*team_path, "execution_role")
    elif team_cfg.create_execution_role:
        ref, path = None, (*team_path, "create_execution_role")
    else:
        file, line = loaded.where(project_path)
        raise ConfigError(file, line, ".".join(project_path),
                          "no SageMaker execution role: name the existing role its jobs run as in "
                          f"teams.{team}.execution_role (or in this project's execution_role), or set "
                          "create_execution_role: true to have tfgen create one")
    if ref is None:
        role_name = f"{cfg.tag_prefix}-{team}-{name}-execution"
        trust = Statement("SageMakerAssumesRole", ("sts:AssumeRole",), (), "SageMaker, for this account's jobs only.",
                          (Condition("StringEquals", "aws:SourceAccount", (cfg.account_id,)),),
                          Principal("Service", ("sagemaker.amazonaws.com",)))
        return ExecutionRole(role_name, f"arn:aws:iam::{cfg.account_id}:role/{role_name}", True, path, (trust,))
    if ref.startswith("arn:"):
        account = ref.split(":")[4]
        if account != cfg.account_id:
            file, line = loaded.where(path)
            raise ConfigError(file, line, ".".join(path),
                              f"the role {ref} is in account {account}, not this environment's {cfg.account_id}: "
                              "a policy can only be attached to a role of the same account")
        return ExecutionRole(ref.rsplit("/", 1)[1], ref, False, path)
    return ExecutionRole(ref, f"arn:aws:iam::{cfg.account_id}:role/{ref}", False, path)


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


def _endpoint(cfg: Environment, name: str, endpoint, topic_arn: str | None) -> EndpointMonitoring:
    eid = tf_id(name)
    alarms: tuple[Alarm, ...] = ()
    if topic_arn:
        settings = cfg.alarms
        rate = endpoint.error_rate_percent or settings.endpoint_5xx_rate_percent
        latency_ms = endpoint.p99_latency_ms or settings.endpoint_p99_latency_ms
        minutes = settings.period_seconds // 60
        common = dict(endpoint=name, variant=endpoint.variant, period=settings.period_seconds,
                      evaluation_periods=settings.evaluation_periods,
                      datapoints_to_alarm=settings.datapoints_to_alarm or settings.evaluation_periods,
                      actions=(topic_arn,))
        alarms = (
            # Errors over invocations, and only where there were enough invocations to mean something.
            Alarm(id=f"{eid}_5xx_rate", name=f"{cfg.tag_prefix}-{name}-5xx-rate",
                  description=f"More than {rate:g}% of invocations of {name} return 5XX (in {minutes}-minute periods "
                              f"with at least {settings.endpoint_min_invocations} invocations)",
                  threshold=round(rate / 100, 6), queries=(
                      MetricQuery("error_rate", label="5XX errors per invocation", return_data=True,
                                  expression=f"IF(invocations >= {settings.endpoint_min_invocations}, "
                                             "errors / invocations, 0)"),
                      MetricQuery("errors", metric="Invocation5XXErrors", stat="Sum"),
                      MetricQuery("invocations", metric="Invocations", stat="Sum"),
                  ), **common),
            # SageMaker reports ModelLatency in microseconds; the YAML says milliseconds. A p99 of a
            # handful of calls is noise: periods with too few samples are not evaluated.
            Alarm(id=f"{eid}_p99_latency", name=f"{cfg.tag_prefix}-{name}-p99-latency",
                  description=f"p99 model latency of {name} above {latency_ms} ms", metric="ModelLatency",
                  extended_statistic="p99", threshold=latency_ms * 1000, low_sample_percentiles="ignore", **common),
        )
        if endpoint.alarm_on_no_invocations:
            # No data is what an idle endpoint sends: here it breaches.
            alarms += (Alarm(id=f"{eid}_no_invocations", name=f"{cfg.tag_prefix}-{name}-no-invocations",
                             description=f"{name} received no invocations in {common['datapoints_to_alarm']} of "
                                         f"{settings.evaluation_periods} periods of {minutes} minutes",
                             metric="Invocations", statistic="Sum", threshold=1, comparison="LessThanThreshold",
                             missing_data="breaching", **common),)
    return EndpointMonitoring(eid, name, f"/aws/sagemaker/Endpoints/{name}", alarms,
                              retention_days=cfg.logs.retention_days.endpoints)


def policy_document(policy: RolePolicy) -> dict:
    """The policy as IAM receives it from jsonencode."""
    return {"Version": "2012-10-17", "Statement": [statement.document() for statement in policy.statements]}


def role_policy_characters(projects: Iterable[ProjectDesign]) -> dict[str, int]:
    """For each execution role, the characters of the inline policies tfgen puts on it."""
    sizes: dict[str, int] = {}
    for project in projects:
        for policy in project.policies:
            sizes[project.role.name] = (sizes.get(project.role.name, 0)
                                        + aws_limits.policy_characters(policy_document(policy)))
    return sizes


def _check_role_policy_sizes(loaded: LoadedEnvironment, result: Design) -> None:
    """IAM refuses an inline policy that takes one role past 10,240 characters in all: a team
    role shared by many projects gets there (about 1,200 characters a project), and only at
    apply, after some of the policies are in. Report it here, at the YAML that chose the role."""
    projects = [project for team in result.teams for project in team.projects]
    for role, size in role_policy_characters(projects).items():
        if size <= aws_limits.ROLE_INLINE_POLICIES_MAX:
            continue
        users = [project for project in projects if project.role.name == role]
        path = users[0].role.yaml_path
        file, line = loaded.where(path)
        raise ConfigError(file, line, ".".join(path),
                          f"the role {role} would carry {len(users)} projects' inline policies, {size:,} characters "
                          f"(white space not counted): IAM allows {aws_limits.ROLE_INLINE_POLICIES_MAX:,} on one role "
                          f"in all. Give some of {', '.join(f'{p.team}/{p.name}' for p in users)} an "
                          "execution_role of their own (or create_execution_role: true)")


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
    seen_endpoints: dict[str, tuple[str, str]] = {}
    for team in result.teams:
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
                    other = "/".join(seen_endpoints[endpoint.name])
                    fail(endpoint_path, f"endpoint {endpoint.name!r} is also declared by {other}; endpoint names are "
                                        "unique per account and region")
                seen_endpoints[endpoint.name] = (team.name, project.name)
                check(aws_limits.LOG_GROUP, endpoint.log_group, endpoint_path)
                for alarm in endpoint.alarms:
                    check(aws_limits.ALARM, alarm.name, endpoint_path)
                    check(aws_limits.ALARM_DESCRIPTION, alarm.description, endpoint_path)
    if errors:
        found = list(errors.values())
        raise found[0] if len(found) == 1 else ConfigErrors(found)
