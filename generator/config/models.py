"""The typed shape of an environment's configuration: one frozen model per concept.

Unknown keys are rejected (`extra="forbid"`). Validation here covers each value on its
own; names that only break AWS's limits once composed are checked in generator/design/
(`_check_composed_names`). A value AWS receives as written (an endpoint's name, a project's
description) is held to AWS's own limit on it, read from botocore's models (`AwsLimited`).
"""

from __future__ import annotations

import ipaddress
import datetime
from typing import Annotated, Literal

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator,
                      model_validator)
from pydantic_core import PydanticCustomError, core_schema

from generator.config import aws_limits


class AwsLimited:
    """A string AWS receives as written, held to AWS's limit on it (generator/config/aws_limits.py).
    `in_schema`: what of the limit the JSON Schema shows editors ("pattern", "max_length");
    botocore's models are read for it only when the schema is asked for."""

    def __init__(self, limit: aws_limits.Limit, in_schema: tuple[str, ...] = (), hint: str = ""):
        self.limit, self.in_schema, self.hint = limit, in_schema, hint

    def __get_pydantic_core_schema__(self, source, handler):
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(self, schema, handler):
        json_schema = handler(schema)
        if "pattern" in self.in_schema:
            json_schema["pattern"] = f"^{self.limit.pattern}$"
        if "max_length" in self.in_schema:
            json_schema["maxLength"] = self.limit.max_length
        return json_schema

    def _check(self, value: str) -> str:
        problem = self.limit.problem(value)
        if problem:
            raise ValueError(problem + (self.hint if "\n" in value or "\r" in value else ""))
        return value


# A YAML `|` block keeps its line breaks: the usual way a description gets one.
LINE_BREAK_HINT = "; write it on one line (a YAML | block keeps its line breaks; >- folds them into spaces)"

# Lower-case words joined by single hyphens: valid in every name tfgen composes from them.
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=40)]
# ECR image tags are [a-zA-Z0-9_.-], up to 128 characters, and start with a letter or digit.
TagPrefix = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$")]
EndpointName = Annotated[str, AwsLimited(aws_limits.ENDPOINT, in_schema=("pattern",))]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
VpcId = Annotated[str, StringConstraints(pattern=r"^vpc-([0-9a-f]{8}|[0-9a-f]{17})$")]
SubnetId = Annotated[str, StringConstraints(pattern=r"^subnet-([0-9a-f]{8}|[0-9a-f]{17})$")]
# An availability zone's name: its region's and a letter (eu-west-1a).
ZoneName = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]+[a-z]$")]
RouteTableId = Annotated[str, StringConstraints(pattern=r"^rtb-([0-9a-f]{8}|[0-9a-f]{17})$")]
# An existing role: its name, or its ARN (which may carry a path: arn:aws:iam::ACCOUNT:role/service-role/NAME).
# A name is IAM's 1-64 ASCII letters, digits and _+=,.@- (AWS writes [\w+=,.@-] and means ASCII;
# a Unicode \w would let "rôle" through to fail at apply, and costs 35 ms to compile at every start).
# Path segments are held to the same characters: IAM allows more, but none that HCL strings need escaped.
# (The name's part is IAM's RoleName as botocore models it: tests/test_aws_limits.py keeps them equal.)
IamRoleRef = Annotated[str, StringConstraints(
    pattern=r"^(arn:aws[a-z-]*:iam::[0-9]{12}:role/([A-Za-z0-9_+=,.@-]+/)*)?[A-Za-z0-9_+=,.@-]{1,64}$")]
# S3 bucket names: 3-63 characters of lower-case letters, digits, dots and hyphens.
BucketName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
KmsKeyArn = Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$")]
SecurityGroupId = Annotated[str, StringConstraints(pattern=r"^sg-([0-9a-f]{8}|[0-9a-f]{17})$")]
SecurityGroupRuleId = Annotated[str, StringConstraints(pattern=r"^sgr-([0-9a-f]{8}|[0-9a-f]{17})$")]
VpcEndpointId = Annotated[str, StringConstraints(pattern=r"^vpce-([0-9a-f]{8}|[0-9a-f]{17})$")]
SecurityGroupRole = Literal["studio", "vpc-endpoints", "training", "processing", "inference"]
JobLogGroup = Literal["processing_jobs", "training_jobs"]


def _retention(days: int) -> int:
    if days not in aws_limits.LOG_RETENTION_DAYS:
        allowed = ", ".join(str(d) for d in aws_limits.LOG_RETENTION_DAYS)
        raise ValueError(f"{days} is not a CloudWatch retention (allowed: {allowed})")
    return days


RetentionDays = Annotated[int, AfterValidator(_retention)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AdoptedSecurityGroup(Strict):
    """A group with tfgen's name that exists already, and those of its rules that are designed ones."""

    id: SecurityGroupId
    # The rule's key in the design (e.g. https_from_vpc) -> its ID; `tfgen preflight` prints this map.
    rules: dict[str, SecurityGroupRuleId] = {}
    # The group's own description, where it differs from tfgen's: AWS cannot change a group's
    # description, and Terraform would replace (delete) the group to change it.
    description: Annotated[str, AwsLimited(aws_limits.SECURITY_GROUP_DESCRIPTION, in_schema=("max_length",),
                                           hint=LINE_BREAK_HINT)] | None = None


class AdoptedNetwork(Strict):
    """Network resources that exist already, by ID: apply imports them instead of creating them.

    `tfgen preflight ENV` finds them and prints the lines to write here.
    """

    security_groups: dict[SecurityGroupRole, AdoptedSecurityGroup] = {}
    # "s3" (the gateway) or an interface endpoint's name ("sagemaker.api", "sts", ...) -> its ID.
    vpc_endpoints: dict[str, VpcEndpointId] = {}


class PrivateSubnet(Strict):
    """A private subnet and its availability zone, as DescribeSubnets gives it: an interface
    endpoint takes at most one subnet per zone, so render must know each subnet's."""

    id: SubnetId
    zone: ZoneName

    @field_validator("zone")
    @classmethod
    def _in_the_region(cls, value: str, info: ValidationInfo) -> str:
        region = (info.context or {}).get("region")  # the loader's: the environment's region, as written
        known = isinstance(region, str) and region in aws_limits.REGIONS  # else the region's own error says why
        if known and not (value.startswith(region) and len(value) == len(region) + 1):
            raise ValueError(f"{value!r} is not a zone of the environment's region {region} (a zone is the region's "
                             f"name and a letter: {region}a, {region}b, ...)")
        return value


def _private_subnet_ids_retired(value: object) -> str:
    """How to write the retired network.private_subnet_ids as network.private_subnets."""
    ids = [str(v) for v in value] if isinstance(value, list) and value else ["subnet-..."]
    items = ", ".join(f"{{id: {subnet}, zone: ZONE}}" for subnet in ids)
    return (f"replaced by network.private_subnets, which says each subnet's availability zone (an interface "
            f"endpoint takes one subnet per zone): write private_subnets: [{items}], the zones from aws ec2 "
            f"describe-subnets --subnet-ids {' '.join(ids)} --query 'Subnets[].[SubnetId,AvailabilityZone]'")


# Keys an earlier tfgen read, by their path: what replaces each (its new key, and how to rewrite the
# old value), for the loader to say instead of "unknown key".
RETIRED_KEYS = {("network", "private_subnet_ids"): ("private_subnets", _private_subnet_ids_retired)}


class Network(Strict):
    """The existing network the workload layer sits on (the plan takes it as given)."""

    vpc_id: VpcId
    vpc_cidr: str
    # Jobs and Studio use every one; each interface endpoint the first of each zone, in this order.
    private_subnets: list[PrivateSubnet] = Field(min_length=1)
    route_table_ids: list[RouteTableId] = Field(min_length=1)
    adopt_existing: AdoptedNetwork = AdoptedNetwork()

    @property
    def subnet_ids(self) -> tuple[str, ...]:
        """Every private subnet's ID, in the YAML's order."""
        return tuple(subnet.id for subnet in self.private_subnets)

    @field_validator("private_subnets")
    @classmethod
    def _listed_once(cls, value: list[PrivateSubnet]) -> list[PrivateSubnet]:
        ids = [subnet.id for subnet in value]
        for index, subnet in enumerate(ids):
            if subnet in ids[:index]:
                raise ValueError(f"{subnet} is listed twice (items {ids.index(subnet)} and {index})")
        return value

    @field_validator("vpc_cidr")
    @classmethod
    def _private_cidr(cls, value: str) -> str:
        try:
            network = ipaddress.IPv4Network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not an IPv4 CIDR block ({exc})") from None
        if not any(network.subnet_of(block) for block in aws_limits.PRIVATE_RANGES):
            ranges = ", ".join(str(b) for b in aws_limits.PRIVATE_RANGES)
            raise ValueError(f"{value} is not inside a private range ({ranges})")
        return value


class Ecr(Strict):
    """Repositories and what their lifecycle policy keeps (docs/images.md: the tagging convention)."""

    enabled: bool = True
    shared_repos: list[Slug] = ["base-sklearn", "base-pytorch", "base-xgboost"]
    project_repos: list[Slug] = ["preprocessing", "training", "inference"]
    # The newest N images with a build tag (docs/images.md).
    image_retention: int = Field(default=10, ge=1, le=10_000)
    # Untagged images (superseded pushes, failed builds) expire this many days after their push.
    untagged_expiry_days: int = Field(default=7, ge=1, le=3650)
    # Images with a tag starting with one of these are releases: a deployed model, a registered
    # model version or a scaling endpoint may pull them at any time, so they are kept apart.
    release_tag_prefixes: list[TagPrefix] = ["release-", "v"]
    # How many images of each release prefix are kept (the newest; older ones expire).
    release_images_kept: int = Field(default=1000, ge=1, le=10_000)
    # CI tags every build with this prefix and the commit (build-3f9c2e1): its own rule counts
    # exactly these images, so the newest image_retention builds stay whatever else is pushed.
    build_tag_prefix: TagPrefix = Field(default="build-", validate_default=True)

    @field_validator("release_tag_prefixes")
    @classmethod
    def _distinct_prefixes(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a prefix is listed twice (ECR refuses a policy whose rules repeat a prefix)")
        return value

    @field_validator("build_tag_prefix")
    @classmethod
    def _build_prefix_apart_from_releases(cls, value: str, info: ValidationInfo) -> str:
        # A tag starting with both would be a release to one rule and a build to another: a
        # release prefix would keep builds, or the build count would take in every release.
        for release in info.data.get("release_tag_prefixes", []):
            if value.startswith(release) or release.startswith(value):
                raise ValueError(f"{value!r} and the release prefix {release!r}: a tag could start with both; "
                                 "pick a build prefix that starts with no release prefix and that no release "
                                 "prefix starts with")
        return value

    # The shared repositories exist already: render `import` blocks so apply adopts them.
    adopt_existing_shared_repos: bool | list[Slug] = False


class LogRetention(Strict):
    """Days kept per log group, as the plan sets them."""

    processing_jobs: RetentionDays = 30
    training_jobs: RetentionDays = 90
    endpoints: RetentionDays = 14


class Logs(Strict):
    retention_days: LogRetention = LogRetention()
    # SageMaker creates /aws/sagemaker/TrainingJobs and ProcessingJobs at the first job of
    # each kind; creating them again fails. true (both) or a list of the ones that exist:
    # render `import` blocks so apply adopts them.
    adopt_existing_job_log_groups: bool | list[JobLogGroup] = False


# A model's check on two of its fields: the loader names the line of `field` and says where `other` was
# written (with inheritance, the two may be in different files), rather than the model's own line.
CROSS_FIELD = "cross_field"


def cross_field_error(field: str, other: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(CROSS_FIELD, message, {"field": field, "other": other})


class Alarms(Strict):
    """Optional (the plan calls them so): off unless an environment turns them on."""

    enabled: bool = False
    emails: list[Email] = []
    endpoint_5xx_rate_percent: float = Field(default=5, gt=0, le=100)
    # The 5XX rate counts only in periods with at least this many invocations: one error in
    # three calls at night is not an outage.
    endpoint_min_invocations: int = Field(default=20, ge=1)
    endpoint_p99_latency_ms: int = Field(default=1000, ge=1)
    period_seconds: int = Field(default=300, ge=60)
    evaluation_periods: int = Field(default=3, ge=1)
    # M of N: how many of the evaluation periods must breach to alarm (unset: all of them).
    datapoints_to_alarm: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _someone_is_notified(self) -> "Alarms":
        if self.enabled and not self.emails:
            raise ValueError("alarms are enabled but nobody is notified: list at least one address in emails")
        if self.datapoints_to_alarm and self.datapoints_to_alarm > self.evaluation_periods:
            raise cross_field_error("datapoints_to_alarm", "evaluation_periods",
                                    f"datapoints_to_alarm ({self.datapoints_to_alarm}) is more than evaluation_periods "
                                    f"({self.evaluation_periods}): the alarm could never fire")
        return self

    @field_validator("period_seconds")
    @classmethod
    def _whole_minutes(cls, value: int) -> int:
        if value % 60:
            raise ValueError("must be a multiple of 60 for standard-resolution metrics")
        return value


class VpcEndpoints(Strict):
    """Interface endpoints beyond the ones SageMaker always needs in a private VPC."""

    extra: list[str] = []
    # Zones an endpoint's service is not offered in (DescribeVpcEndpointServices; `tfgen preflight`
    # finds them): endpoint name ("sts", "studio", ...) -> zones its endpoint leaves out.
    zones_not_offered: dict[str, list[ZoneName]] = {}

    @field_validator("extra")
    @classmethod
    def _known_extras(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in aws_limits.OPTIONAL_INTERFACE_ENDPOINTS:
                allowed = ", ".join(aws_limits.OPTIONAL_INTERFACE_ENDPOINTS)
                raise ValueError(f"unknown extra endpoint {name!r} (allowed: {allowed})")
        if len(set(value)) != len(value):
            raise ValueError("an endpoint is listed twice")
        return sorted(value)


class Backend(Strict):
    """Where Terraform keeps state: S3 (with native locking) when a bucket is named, else local."""

    bucket: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    region: str | None = None
    key_prefix: str = Field(default="tfgen", pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


class Endpoint(Strict):
    """An inference endpoint a project runs: it gets a log group and, with alarms on, two alarms
    (three with alarm_on_no_invocations)."""

    # The production variant whose metrics the alarms watch. AllTraffic is the name SageMaker's
    # SDK gives the one variant of an endpoint it deploys; an endpoint configuration may name others.
    variant: Annotated[str, AwsLimited(aws_limits.VARIANT, in_schema=("pattern",))] = "AllTraffic"
    p99_latency_ms: int | None = Field(default=None, ge=1)
    error_rate_percent: float | None = Field(default=None, gt=0, le=100)
    # Alarm when the endpoint receives no invocations at all over the evaluation periods: a dead
    # endpoint never breaches the other alarms, which treat missing data as not breaching.
    alarm_on_no_invocations: bool = False
    # SageMaker made /aws/sagemaker/Endpoints/NAME already (the endpoint exists): import it.
    adopt_existing_log_group: bool = False
    # A retired endpoint is no longer rendered: its alarms go. In a protected environment its log
    # group is kept (a `removed` block): Terraform stops managing it and deletes nothing. Renaming
    # an endpoint there is retiring the old name and declaring the new one.
    retired: bool = False


class RoleChoice(Strict):
    """Which SageMaker execution role a team's or a project's jobs run as.

    The plan's premise: the roles exist already. Name one (execution_role) and tfgen
    attaches the project's workload policy to it; or ask tfgen to create one
    (create_execution_role), which then also needs the data its jobs read and write.
    """

    execution_role: IamRoleRef | None = None
    create_execution_role: bool = False
    # For a role tfgen creates: the S3 buckets its jobs read and write, and the KMS keys
    # that encrypt them (or the job volumes).
    data_buckets: list[BucketName] | None = None
    kms_key_arns: list[KmsKeyArn] | None = None

    @model_validator(mode="after")
    def _one_role_choice(self) -> "RoleChoice":
        if self.execution_role and self.create_execution_role:
            raise ValueError("execution_role names an existing role and create_execution_role asks tfgen to create "
                             "one: choose one")
        return self


# What a project may adopt: "model_package_group" or the stage of one of its repositories.
AdoptableProjectPart = Annotated[str, StringConstraints(pattern=r"^(model_package_group|[a-z0-9]+(-[a-z0-9]+)*)$",
                                                         max_length=40)]


class Project(RoleChoice):
    # The model package group's description: SageMaker's limit (one line, 1,024 characters).
    description: Annotated[str, AwsLimited(aws_limits.MODEL_PACKAGE_GROUP_DESCRIPTION, hint=LINE_BREAK_HINT)] = ""
    repos: list[Slug] | None = None  # None: the environment's ecr.project_repos
    image_retention: int | None = Field(default=None, ge=1, le=10_000)
    endpoints: dict[EndpointName, Endpoint] = {}
    # A retired project is no longer rendered. In a protected environment its repositories,
    # model package group and log groups are kept: Terraform only stops managing them.
    retired: bool = False
    # Its repositories and model package group exist already: render `import` blocks so
    # apply adopts them instead of failing to create them. true: all of them; or a list of
    # what exists ("model_package_group" and repository stages such as "training").
    adopt_existing: bool | list[AdoptableProjectPart] = False


def _not_the_platform(name: str) -> str:
    if name == "platform":
        raise ValueError("'platform' names the environment's platform root and its resources' Team tag: "
                         "give the team another name")
    return name


# A team's name is its root (out/ENV/teams/TEAM), its Team tag and, with the environment's name, its
# Atlantis project (ENV-TEAM): never the platform's.
TeamName = Annotated[Slug, AfterValidator(_not_the_platform)]


class Team(RoleChoice):
    description: str = ""
    # A team's root stays while the team is in the YAML: with no project left to manage (none, or
    # all retired) it is emptied, and its apply destroys what its state holds; deleting the team
    # then removes the root (docs/safety.md).
    projects: dict[Slug, Project] = {}


# A finding of the gate, by the rule that found it (tfgen's TFG-AREA-NNN or checkov's CKV_..., CKV2_...)
# and the resource: its root (platform, teams/TEAM), then its Terraform address, or the root alone.
WaivedRule = Annotated[str, StringConstraints(pattern=r"^(TFG-[A-Z]+-[0-9]{3}|CKV2?_[A-Z0-9]+_[0-9]+)$")]
WaivedAddress = Annotated[str, StringConstraints(
    pattern=r"^(platform|teams/[a-z0-9]+(-[a-z0-9]+)*)(/[a-z][a-z0-9_]*\.[A-Za-z_][A-Za-z0-9_-]*)?$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class Waiver(Strict):
    """A finding accepted for a while: it stops failing the gate until the day after `expires`,
    and is reported as waived, with its reason and owner (docs/policies.md, "Waivers")."""

    rule: WaivedRule
    address: WaivedAddress
    reason: Text
    owner: Text  # who renews or ends it: a person or a team's address
    expires: datetime.date  # the last day it holds (UTC); YAML's 2027-03-31 or "2027-03-31"


class AwsQuotas(Strict):
    """The account's quotas that an organisation's size reaches first, AWS's defaults unless the
    account has more (Service Quotas): what tfgen would create beyond them fails at apply.
    IAM User Guide, "IAM and AWS STS quotas": roles in an account, 1,000 (at most 5,000);
    ECR User Guide, "Amazon ECR service quotas": repositories per Region, 10,000, and images
    per repository, 10,000, both adjustable."""

    iam_roles: int = Field(default=1_000, ge=1)
    ecr_repositories: int = Field(default=10_000, ge=1)
    ecr_images_per_repository: int = Field(default=10_000, ge=1)


class Environment(Strict):
    """One environment, after its file and the files it inherits from are merged."""

    company: Slug
    tag_prefix: Slug
    region: str
    account_id: str = Field(pattern=r"^[0-9]{12}$")
    protected: bool = False
    network: Network
    ecr: Ecr = Ecr()
    logs: Logs = Logs()
    alarms: Alarms = Alarms()
    vpc_endpoints: VpcEndpoints = VpcEndpoints()
    backend: Backend = Backend()
    teams: dict[TeamName, Team] = {}
    aws_quotas: AwsQuotas = AwsQuotas()
    waivers: list[Waiver] = []

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if value not in aws_limits.REGIONS:
            raise ValueError(f"unknown AWS region {value!r}")
        return value

