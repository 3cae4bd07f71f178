"""The design's values: what each Terraform resource of an environment is, decided and frozen.

Plain dataclasses, built by the other modules of generator/design and laid out by the templates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from generator.config.models import Environment

TERRAFORM_MIN_VERSION = ">= 1.7.0, < 2.0.0"  # removed blocks (retired projects), import blocks
TERRAFORM_MIN_VERSION_WITH_LOCKFILE = ">= 1.11.0, < 2.0.0"  # use_lockfile: experimental in 1.10, GA in 1.11


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
    tag_status: str  # "untagged" or "tagged" (with a prefix); tfgen renders no "any" rule
    count_type: str  # "sinceImagePushed" (count_number days) or "imageCountMoreThan"
    count_number: int
    tag_prefix: str | None = None


@dataclass(frozen=True)
class Repository:
    id: str
    name: str
    retention: int  # the newest build-tagged images kept
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
    retired_endpoints: tuple[EndpointMonitoring, ...] = ()  # protected environments: log groups kept

    @property
    def tags(self) -> tuple[tuple[str, str], ...]:
        """What each of its taggable resources (repositories, model package group, endpoint log
        groups and alarms, a created role) is tagged with beyond the provider's default_tags, which
        carry its team as Team: its project, as the YAML names it, so that cost allocation reports
        split by project. Only keys default_tags does not set: a resource's own tags override them."""
        return (("Project", self.name),)

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
        return (*self.stateful, *(f"aws_ecr_lifecycle_policy.{r.id}" for r in self.repositories),
                *self.retired_log_groups)

    @property
    def retired_log_groups(self) -> tuple[str, ...]:
        """The log groups of its retired endpoints (protected environments): kept, no longer managed."""
        return tuple(f"aws_cloudwatch_log_group.{e.id}" for e in self.retired_endpoints)


@dataclass(frozen=True)
class TeamDesign:
    name: str
    description: str
    projects: tuple[ProjectDesign, ...]
    retired: tuple[ProjectDesign, ...] = ()  # rendered as `removed` blocks (protected environments only)

    @property
    def kept(self) -> tuple[str, ...]:
        """What its root's `removed` blocks keep: retired projects' resources, retired endpoints' log groups."""
        return (*(a for p in self.retired for a in p.retained),
                *(a for p in self.projects for a in p.retired_log_groups))

    @property
    def emptied(self) -> bool:
        """No project left to manage: its root stays, with its backend and no resources, so that its
        apply destroys what its state still holds (docs/safety.md)."""
        return not self.projects

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
