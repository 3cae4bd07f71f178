"""What the environment's YAML says must exist, stated from the plan, not from the generator.

The values (CIDR, names, retention, account) come from the YAML; the shapes (which rules
a group has, how names are composed, which actions the registry statement holds) are
written here again, on purpose: a bug in the generator must not be able to hide itself.
"""

from __future__ import annotations

import functools

from dataclasses import dataclass

from generator.config import aws_images
from generator.config.models import Environment

ANYWHERE = "0.0.0.0/0"
ALL = "-1"

# (direction, protocol, from_port, to_port, source) with source "self" or a CIDR.
Rule = tuple[str, str, int | None, int | None, str]

# The plan's AllowModelRegistry actions, less the one AWS only
# grants on "*" (ListModelPackageGroups has no resource type in AWS's catalogue), which
# must be granted in a statement of its own.
PLAN_REGISTRY_ACTIONS = frozenset({
    "sagemaker:CreateModelPackage", "sagemaker:CreateModelPackageGroup", "sagemaker:DescribeModelPackage",
    "sagemaker:DescribeModelPackageGroup", "sagemaker:ListModelPackages", "sagemaker:ListModelPackageGroups",
    "sagemaker:UpdateModelPackage", "sagemaker:DeleteModelPackage",
})
REGISTRY_LIST_ACTION = "sagemaker:ListModelPackageGroups"
REGISTRY_ACTIONS = PLAN_REGISTRY_ACTIONS - {REGISTRY_LIST_ACTION}
# Actions AWS's Service Authorization Reference lists with no resource type: the only ones
# that may be granted on Resource = "*" (tests/policies prove each against parliament's copy
# of the catalogue).
STAR_RESOURCE_ACTIONS = frozenset({
    "ecr:GetAuthorizationToken", "sagemaker:ListModelPackageGroups", "cloudwatch:PutMetricData",
    "ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
})
# The network-interface actions a SageMaker execution role needs for jobs in VPC mode
# (AWS's list for execution roles): each must be held to the environment's VPC.
ENI_ACTIONS = frozenset({
    "ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
})

# Dependent actions (AWS's catalogue) the design does not grant, with why: (action, resource
# type, dependent action) -> reason. TFG-IAM-008 requires every other one.
DEPENDENT_ACTIONS_NOT_GRANTED: dict[tuple[str, str, str], str] = {}


# The interface endpoints SageMaker jobs need in a private VPC (with the S3 gateway), as AWS's
# docs for SageMaker in a VPC list them; the YAML may add extras.
REQUIRED_INTERFACE_ENDPOINTS = ("sagemaker.api", "sagemaker.runtime", "sts", "logs", "ecr.api", "ecr.dkr", "monitoring")


def expected_rules(cidr: str) -> dict[str, set[Rule]]:
    """The five groups and exactly their rules: the plan's workload groups, and AWS's Studio and endpoint needs."""
    https_in = ("ingress", "tcp", 443, 443, cidr)
    https_out = ("egress", "tcp", 443, 443, ANYWHERE)
    cluster = {("ingress", ALL, None, None, "self"), https_in, https_out, ("egress", ALL, None, None, "self")}
    return {
        "training": set(cluster),
        "processing": set(cluster),
        "inference": {https_in, ("ingress", "tcp", 8080, 8080, cidr), https_out},
        "studio": {("ingress", "tcp", 2049, 2049, "self"), ("ingress", "tcp", 8192, 65535, "self"),
                   ("egress", "tcp", 2049, 2049, "self"), ("egress", "tcp", 8192, 65535, "self"), https_out},
        "vpc-endpoints": {https_in},
    }


# The plan's failed-job notifications: one EventBridge rule per job kind, on the state-change
# event SageMaker sends, matching the failed status only.
FAILED_JOB_EVENTS = {
    "training-job-failed": ("SageMaker Training Job State Change", "TrainingJobStatus"),
    "processing-job-failed": ("SageMaker Processing Job State Change", "ProcessingJobStatus"),
}


@dataclass(frozen=True)
class EndpointAlarms:
    """What one endpoint's monitoring must be: thresholds as SageMaker's metrics count them."""

    name: str
    variant: str
    error_rate: float  # 5XX errors over invocations (5% -> 0.05)
    latency_us: int  # ModelLatency is in microseconds; the YAML says milliseconds
    no_invocations: bool  # the optional alarm on an endpoint nobody calls


@dataclass(frozen=True)
class Project:
    team: str
    name: str
    stages: tuple[str, ...]
    retention: int
    endpoints: tuple[EndpointAlarms, ...] = ()

    @property
    def group(self) -> str:
        return f"{self.team}-{self.name}"


@dataclass(frozen=True)
class Expected:
    env: str
    cfg: Environment

    @property
    def cidr(self) -> str:
        return self.cfg.network.vpc_cidr

    def group_names(self) -> dict[str, str]:
        return {f"{self.cfg.tag_prefix}-{role}": role for role in expected_rules(self.cidr)}

    def projects(self) -> list[Project]:
        return list(self._projects)

    @functools.cached_property
    def _projects(self) -> tuple[Project, ...]:  # every rule asks; the YAML does not change meanwhile
        result = []
        for team_name, team in self.cfg.teams.items():
            for name, project in team.projects.items():
                if project.retired:
                    continue  # no longer managed: its resources are kept through `removed` blocks
                stages = project.repos if project.repos is not None else self.cfg.ecr.project_repos
                alarms = self.cfg.alarms
                endpoints = tuple(
                    EndpointAlarms(endpoint_name, endpoint.variant,
                                   (endpoint.error_rate_percent or alarms.endpoint_5xx_rate_percent) / 100,
                                   (endpoint.p99_latency_ms or alarms.endpoint_p99_latency_ms) * 1000,
                                   endpoint.alarm_on_no_invocations)
                    for endpoint_name, endpoint in project.endpoints.items() if not endpoint.retired)
                result.append(Project(team_name, name, tuple(stages) if self.cfg.ecr.enabled else (),
                                      project.image_retention or self.cfg.ecr.image_retention, endpoints))
        return tuple(result)

    def team_roots(self) -> dict[str, list[Project]]:
        roots: dict[str, list[Project]] = {}
        for project in self.projects():
            roots.setdefault(f"teams/{project.team}", []).append(project)
        return roots

    def rendered_team_roots(self) -> set[str]:
        """Every team root out/ENV holds: one per team in the YAML, with a managed project or
        without (emptied: its backend and no resources, until its apply destroyed what it held)."""
        return {f"teams/{name}" for name in self.cfg.teams}

    def repositories(self) -> dict[str, dict[str, int]]:
        """Per root, repository name -> images to keep."""
        repos: dict[str, dict[str, int]] = {"platform": {}}
        if self.cfg.ecr.enabled:
            repos["platform"] = {f"{self.cfg.company}-sagemaker-shared/{n}": self.cfg.ecr.image_retention
                                 for n in self.cfg.ecr.shared_repos}
        for root, projects in self.team_roots().items():
            repos[root] = {f"{self.cfg.company}-sm-{p.team}-{p.name}/{stage}": p.retention
                           for p in projects for stage in p.stages}
        return repos

    def lifecycle_rules(self, keep: int) -> list[tuple]:
        """What a repository's lifecycle policy must say, rule by rule in priority order, as
        (tagStatus, tagPrefixList, countType, countNumber): untagged images expire after the
        YAML's days; each release prefix keeps its own newest images; the build prefix keeps
        the newest N builds. No tagStatus any rule: it would rank releases among the N."""
        ecr = self.cfg.ecr
        releases = [("tagged", (prefix,), "imageCountMoreThan", ecr.release_images_kept)
                    for prefix in ecr.release_tag_prefixes]
        return [("untagged", (), "sinceImagePushed", ecr.untagged_expiry_days), *releases,
                ("tagged", (ecr.build_tag_prefix,), "imageCountMoreThan", keep)]

    def log_retention(self, name: str) -> int | None:
        days = self.cfg.logs.retention_days
        if name == "/aws/sagemaker/ProcessingJobs":
            return days.processing_jobs
        if name == "/aws/sagemaker/TrainingJobs":
            return days.training_jobs
        if name.startswith("/aws/sagemaker/Endpoints/"):
            return days.endpoints
        return None

    def interface_services(self) -> dict[str, str]:
        """Service name -> the endpoint's name, for every interface endpoint the YAML needs."""
        region = self.cfg.region
        names = (*REQUIRED_INTERFACE_ENDPOINTS, *self.cfg.vpc_endpoints.extra)
        return {(f"aws.sagemaker.{region}.{n}" if n in ("studio", "notebook") else f"com.amazonaws.{region}.{n}"): n
                for n in names}

    def subnet_zones(self) -> dict[str, str]:
        """Each private subnet's availability zone, as the YAML says."""
        return {subnet.id: subnet.zone for subnet in self.cfg.network.private_subnets}

    def endpoint_zones(self, name: str) -> list[str]:
        """The zones an interface endpoint has one subnet in, each: every zone of the private
        subnets but those the YAML says its service is not offered in (AWS takes one subnet a
        zone, and only zones the service is offered in: the PrivateLink guide)."""
        left_out = self.cfg.vpc_endpoints.zones_not_offered.get(name, [])
        return sorted(set(self.subnet_zones().values()) - set(left_out))

    def s3_service(self) -> str:
        return f"com.amazonaws.{self.cfg.region}.s3"

    def endpoint_alarms(self, endpoint: EndpointAlarms) -> dict[str, dict]:
        """Alarm name -> what it must be (absent attributes as None), from the plan and the issue
        that made the alarms hold up at low traffic: the 5XX rate as errors over invocations,
        counted only in periods with the YAML's minimum of invocations; the p99 latency not
        evaluated on too few samples; M of N periods; the optional no-invocations alarm, which
        treats no data as breaching."""
        alarms = self.cfg.alarms
        sagemaker = "AWS/SageMaker"
        dimensions = {"EndpointName": endpoint.name, "VariantName": endpoint.variant}
        common = {"evaluation_periods": alarms.evaluation_periods,
                  "datapoints_to_alarm": alarms.datapoints_to_alarm or alarms.evaluation_periods,
                  "alarm_actions": [self.topic_arn()], "comparison_operator": "GreaterThanThreshold",
                  "treat_missing_data": "notBreaching", "namespace": sagemaker, "period": alarms.period_seconds,
                  "dimensions": dimensions, "metric_name": None, "statistic": None, "extended_statistic": None,
                  "evaluate_low_sample_count_percentiles": None, "queries": []}
        metric = (sagemaker, alarms.period_seconds, tuple(sorted(dimensions.items())))
        prefix = f"{self.cfg.tag_prefix}-{endpoint.name}"
        wanted = {
            f"{prefix}-5xx-rate": {
                **common, "namespace": None, "period": None, "dimensions": None, "threshold": endpoint.error_rate,
                "queries": [
                    ("error_rate", f"IF(invocations >= {alarms.endpoint_min_invocations}, errors / invocations, 0)",
                     True, None),
                    ("errors", None, False, ("Invocation5XXErrors", "Sum", *metric)),
                    ("invocations", None, False, ("Invocations", "Sum", *metric)),
                ]},
            f"{prefix}-p99-latency": {**common, "metric_name": "ModelLatency", "extended_statistic": "p99",
                                      "evaluate_low_sample_count_percentiles": "ignore",
                                      "threshold": endpoint.latency_us},
        }
        if endpoint.no_invocations:
            wanted[f"{prefix}-no-invocations"] = {**common, "metric_name": "Invocations", "statistic": "Sum",
                                                  "threshold": 1, "comparison_operator": "LessThanThreshold",
                                                  "treat_missing_data": "breaching"}
        return wanted

    def topic_arn(self) -> str:
        """The platform's alarm topic, where every alarm and failed-job event goes."""
        return f"arn:aws:sns:{self.cfg.region}:{self.cfg.account_id}:{self.cfg.tag_prefix}-alarms"

    def vpc_arn(self) -> str:
        return f"arn:aws:ec2:{self.cfg.region}:{self.cfg.account_id}:vpc/{self.cfg.network.vpc_id}"

    def registry_arns(self, project: Project) -> set[str]:
        arn = f"arn:aws:sagemaker:{self.cfg.region}:{self.cfg.account_id}"
        return {f"{arn}:model-package-group/{project.group}", f"{arn}:model-package/{project.group}/*"}


# --- what each execution role must be able to do, and must not -------------------------------
# Restated from the plan, request by request, as AWS authorises them: one action on one
# resource ARN, with the condition keys the job's request carries (AWS keeps of them only
# those its catalogue supplies for that resource's type: policies/iam_evaluation.py). The
# gate evaluates every request against the rendered policies (TFG-IAM-009); `tfgen accept`
# and `preflight` ask the account's own simulator the same questions.

Context = tuple[tuple[str, tuple[str, ...]], ...]

# The plan's steps each request serves (docs/policies.md lists the table).
REGISTER = "§4 register a model version in the project's group (with tags, as pipelines and the SDK do)"
CREATE_GROUP = "§4 the plan's CreateModelPackageGroup on the project's group (with tags)"
DESCRIBE = "§4 describe the project's group and versions"
APPROVE = "§4 approve a version (UpdateModelPackage, ModelApprovalStatus)"
DELETE = "§4 the plan's DeleteModelPackage on the project's versions"
LIST_GROUPS = "§4 list the model package groups"
PULL = "§3 a job pulls the project's and the shared images"
NETWORK = "§1 day 1: a job in VPC mode gets its network interfaces in the private subnets"
LOGS = "§5 jobs and endpoints write their logs"
METRICS = "§5 jobs and endpoints publish SageMaker's metrics"
DATA = "after: a job reads and writes its data buckets"
KEYS = "after: a job uses the data's KMS keys, and encrypts its volumes"
OTHERS = "§4 IAM scoped to the project: another project's group, versions and images are refused"
PUSH = "§3 only CI pushes images: a job's role pushes nothing"
OTHER_VPC = "§1 the network: no interface outside the private subnets, nor with another VPC's groups"
OTHER_DATA = "after: no bucket, key or namespace the YAML does not name"
AWS_IMAGE = "after: the job tests pull the scikit-learn image AWS provides for SageMaker in the region"


@dataclass(frozen=True)
class Intent:
    step: str  # the plan's step it serves
    action: str
    resource: str
    context: Context = ()
    allowed: bool = True  # False: the request must be refused


@dataclass(frozen=True)
class RoleIntents:
    name: str
    arn: str
    created: bool  # tfgen creates it, with the policy its jobs need to run
    projects: tuple[str, ...]  # TEAM/PROJECT whose jobs run as it
    requests: tuple[Intent, ...]


def _tags(project: str) -> Context:
    return (("aws:RequestTag/Project", (project,)), ("aws:TagKeys", ("Project",)))


def role_choice(cfg: Environment, team: str, name: str) -> tuple[str, str, bool]:
    """The role a project's jobs run as, as the README says: the project's execution_role or
    create_execution_role, else the team's; a created one is {tag_prefix}-{team}-{project}-execution.
    (name, ARN, created); an ARN in the YAML is kept as written (a role may have a path)."""
    team_cfg, project = cfg.teams[team], cfg.teams[team].projects[name]
    for named, create in ((project.execution_role, project.create_execution_role),
                          (team_cfg.execution_role, team_cfg.create_execution_role)):
        if named:
            arn = named if named.startswith("arn:") else f"arn:aws:iam::{cfg.account_id}:role/{named}"
            return named.rsplit("/", 1)[-1], arn, False
        if create:
            role = f"{cfg.tag_prefix}-{team}-{name}-execution"
            return role, f"arn:aws:iam::{cfg.account_id}:role/{role}", True
    return "", "", False


def role_intents(exp: "Expected") -> dict[str, RoleIntents]:
    """Every execution role the YAML's projects run as, with its requests."""
    cfg = exp.cfg
    region, account = cfg.region, cfg.account_id
    sagemaker, ecr = f"arn:aws:sagemaker:{region}:{account}", f"arn:aws:ecr:{region}:{account}:repository"
    projects = exp.projects()
    users: dict[str, list[Project]] = {}
    created: dict[str, bool] = {}
    arns: dict[str, str] = {}
    for project in projects:
        role, arn, create = role_choice(cfg, project.team, project.name)
        if role:
            users.setdefault(role, []).append(project)
            created[role], arns[role] = create, arn

    def repository(project: Project, stage: str) -> str:
        return f"{ecr}/{cfg.company}-sm-{project.team}-{project.name}/{stage}"

    shared = [f"{ecr}/{cfg.company}-sagemaker-shared/{n}" for n in cfg.ecr.shared_repos] if cfg.ecr.enabled else []
    result: dict[str, RoleIntents] = {}
    neighbourhood = _Neighbourhood(projects)
    for role, own in sorted(users.items()):
        requests: list[Intent] = []
        for project in own:
            group, version = f"{sagemaker}:model-package-group/{project.group}", \
                f"{sagemaker}:model-package/{project.group}/1"
            tags = _tags(f"{project.team}/{project.name}")
            requests += [
                Intent(REGISTER, "sagemaker:CreateModelPackage", version, tags),
                Intent(REGISTER, "sagemaker:CreateModelPackage", group, tags),
                Intent(REGISTER, "sagemaker:AddTags", version, tags),
                Intent(CREATE_GROUP, "sagemaker:CreateModelPackageGroup", group, tags),
                Intent(CREATE_GROUP, "sagemaker:AddTags", group, tags),
                Intent(DESCRIBE, "sagemaker:DescribeModelPackageGroup", group),
                Intent(DESCRIBE, "sagemaker:DescribeModelPackage", version),
                Intent(APPROVE, "sagemaker:UpdateModelPackage", version,
                       (("sagemaker:ModelApprovalStatus", ("Approved",)),)),
                Intent(DELETE, "sagemaker:DeleteModelPackage", version),
            ]
            for arn in [repository(project, stage) for stage in project.stages] + shared:
                requests += [Intent(PULL, action, arn) for action in
                             ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage")]
            requests += [Intent(PUSH, "ecr:PutImage", arn, allowed=False)
                         for arn in [repository(project, stage) for stage in project.stages[:1]] + shared[:1]]
        requests.append(Intent(LIST_GROUPS, "sagemaker:ListModelPackageGroups", "*"))
        if cfg.ecr.enabled:
            requests.append(Intent(PULL, "ecr:GetAuthorizationToken", "*"))
        for other in neighbourhood.of(own):
            group, version = f"{sagemaker}:model-package-group/{other.group}", \
                f"{sagemaker}:model-package/{other.group}/1"
            requests += [
                Intent(OTHERS, "sagemaker:CreateModelPackage", version, _tags(other.group), allowed=False),
                Intent(OTHERS, "sagemaker:DescribeModelPackageGroup", group, allowed=False),
                Intent(OTHERS, "sagemaker:UpdateModelPackage", version,
                       (("sagemaker:ModelApprovalStatus", ("Approved",)),), allowed=False),
                Intent(OTHERS, "sagemaker:DeleteModelPackage", version, allowed=False),
                Intent(OTHERS, "sagemaker:AddTags", group, _tags(other.group), allowed=False),
                Intent(OTHERS, "sagemaker:AddTags", version, _tags(other.group), allowed=False),
            ]
            requests += [Intent(OTHERS, "ecr:BatchGetImage", repository(other, stage), allowed=False)
                         for stage in other.stages[:1]]
        if created[role]:
            requests += _runtime_intents(exp, own)
        result[role] = RoleIntents(role, arns[role], created[role],
                                   tuple(f"{p.team}/{p.name}" for p in own), tuple(requests))
    return result


class _Neighbourhood:
    """Every project, sorted by team and group, to find a role's neighbours without a pass over all."""

    def __init__(self, projects: list[Project]) -> None:
        self.ordered = sorted(projects, key=lambda p: (p.team, p.group))
        self.position = {(p.team, p.group): i for i, p in enumerate(self.ordered)}
        self.team_start: dict[str, int] = {}
        for i, project in enumerate(self.ordered):
            self.team_start.setdefault(project.team, i)

    def of(self, own: list[Project]) -> list[Project]:
        """The other projects a role's requests must be refused on: the two nearest by name (where
        a loose wildcard would reach first), one of another team, and a made-up one whose group
        name extends this project's (`rc-fraud-detection-x`: what `rc-fraud-detection*` would
        grant). Not every pair: at a thousand projects that is a million requests, and these catch
        a policy scoped by a pattern or to the wrong project."""
        first, mine = own[0], {p.group for p in own}
        index = self.position[(first.team, first.group)]
        window = [(abs(i - index), p) for i, p in enumerate(self.ordered[max(0, index - 4):index + 5],
                                                            start=max(0, index - 4)) if p.group not in mine]
        nearest = [p for _, p in sorted(window, key=lambda item: (item[1].team != first.team, item[0]))][:2]
        teams = sorted(self.team_start)
        other = [t for t in teams[teams.index(first.team) + 1:] + teams if t != first.team]
        chosen = nearest + ([self.ordered[self.team_start[other[0]]]] if other else [])
        chosen.append(Project(first.team, f"{first.name}-x", first.stages[:1], first.retention))
        return list({p.group: p for p in chosen}.values())


def _runtime_intents(exp: "Expected", own: list[Project]) -> list[Intent]:
    """What SageMaker does as a role tfgen creates: AWS's list for execution roles
    (CreateTrainingJob, CreateProcessingJob and CreateModel), in the YAML's VPC."""
    cfg = exp.cfg
    region, account = cfg.region, cfg.account_id
    ec2 = f"arn:aws:ec2:{region}:{account}"
    vpc = (("ec2:Vpc", (exp.vpc_arn(),)),)
    other_vpc = (("ec2:Vpc", (f"{ec2}:vpc/vpc-0fffffffffffffff0",)),)
    logs = f"arn:aws:logs:{region}:{account}:log-group:/aws/sagemaker"
    requests = [
        Intent(NETWORK, "ec2:CreateNetworkInterface", f"{ec2}:network-interface/*",
               (*vpc, ("ec2:Region", (region,)))),
        *(Intent(NETWORK, "ec2:CreateNetworkInterface", f"{ec2}:subnet/{subnet}",
                 (*vpc, ("ec2:SubnetID", (subnet,)))) for subnet in cfg.network.subnet_ids),
        *(Intent(NETWORK, "ec2:CreateNetworkInterface", f"{ec2}:security-group/sg-0{role}", vpc)
          for role in ("training", "processing", "inference")),
        Intent(NETWORK, "ec2:CreateTags", f"{ec2}:network-interface/*",
               (("ec2:CreateAction", ("CreateNetworkInterface",)), *_tags("sagemaker"))),
        *(Intent(NETWORK, action, f"{ec2}:network-interface/eni-0a1b2c3d4e5f60001", vpc)
          for action in ("ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface",
                         "ec2:DeleteNetworkInterfacePermission")),
        *(Intent(NETWORK, action, "*") for action in ("ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs",
                                                       "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups",
                                                       "ec2:DescribeDhcpOptions")),
        # A subnet of this VPC the YAML does not name (a public one, say): only the private subnets.
        Intent(OTHER_VPC, "ec2:CreateNetworkInterface", f"{ec2}:subnet/subnet-0eeeeeeeeeeeeeee0",
               (*vpc, ("ec2:SubnetID", ("subnet-0eeeeeeeeeeeeeee0",))), allowed=False),
        Intent(OTHER_VPC, "ec2:CreateNetworkInterface", f"{ec2}:subnet/subnet-0fffffffffffffff0",
               (*other_vpc, ("ec2:SubnetID", ("subnet-0fffffffffffffff0",))), allowed=False),
        Intent(OTHER_VPC, "ec2:CreateNetworkInterface", f"{ec2}:security-group/sg-0fffffffffffffff0", other_vpc,
               allowed=False),
        Intent(OTHER_VPC, "ec2:DeleteNetworkInterface", f"{ec2}:network-interface/eni-0fffffffffffffff0", other_vpc,
               allowed=False),
        Intent(OTHER_VPC, "ec2:CreateTags", f"{ec2}:network-interface/eni-0fffffffffffffff0", (), allowed=False),
    ]
    for kind in ("TrainingJobs", "ProcessingJobs"):
        stream = f"{logs}/{kind}:log-stream:tfgen-intent/algo-1"
        requests += [Intent(LOGS, "logs:CreateLogGroup", f"{logs}/{kind}"),
                     Intent(LOGS, "logs:DescribeLogStreams", f"{logs}/{kind}"),
                     Intent(LOGS, "logs:CreateLogStream", stream), Intent(LOGS, "logs:PutLogEvents", stream),
                     Intent(METRICS, "cloudwatch:PutMetricData", "*",
                            (("cloudwatch:namespace", (f"/aws/sagemaker/{kind}",)),))]
    for project in own:
        for endpoint in project.endpoints:
            stream = f"{logs}/Endpoints/{endpoint.name}:log-stream:AllTraffic/i-0a1b2c3d4e5f60001"
            requests += [Intent(LOGS, "logs:CreateLogStream", stream), Intent(LOGS, "logs:PutLogEvents", stream)]
    requests += [Intent(OTHER_DATA, "cloudwatch:PutMetricData", "*", (("cloudwatch:namespace", ("Custom/Other",)),),
                        allowed=False),
                 Intent(OTHER_DATA, "logs:PutLogEvents",
                        f"arn:aws:logs:{region}:{account}:log-group:/other/app:log-stream:s", allowed=False)]
    # AWS's "How to use SageMaker AI execution roles": the role's ECR permissions on the job's image,
    # whatever account's registry holds it; here AWS's own (its list of images, generator/config/aws_images.py).
    image = aws_images.sklearn_repository_arn(region)
    if image:
        requests += [Intent(AWS_IMAGE, action, image) for action in
                     ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage")]
        requests += [Intent(AWS_IMAGE, "ecr:GetAuthorizationToken", "*"),
                     Intent(AWS_IMAGE, "ecr:BatchGetImage", image.replace(":repository/", ":repository/x-"),
                            allowed=False)]  # only that repository of AWS's registry
    for project in own:
        settings = cfg.teams[project.team].projects[project.name]
        team_cfg = cfg.teams[project.team]
        buckets = settings.data_buckets if settings.data_buckets is not None else team_cfg.data_buckets or []
        keys = settings.kms_key_arns if settings.kms_key_arns is not None else team_cfg.kms_key_arns or []
        for bucket in buckets:
            requests += [Intent(DATA, "s3:ListBucket", f"arn:aws:s3:::{bucket}"),
                         Intent(DATA, "s3:GetObject", f"arn:aws:s3:::{bucket}/input/train.csv"),
                         Intent(DATA, "s3:PutObject", f"arn:aws:s3:::{bucket}/output/model.tar.gz"),
                         Intent(OTHER_DATA, "s3:GetObject", f"arn:aws:s3:::{bucket}-x/input/train.csv",
                                allowed=False)]
        for key in keys:
            requests += [Intent(KEYS, action, key) for action in ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")]
            requests += [Intent(KEYS, "kms:CreateGrant", key, (("kms:GrantIsForAWSResource", ("true",)),)),
                         Intent(OTHER_DATA, "kms:CreateGrant", key, (("kms:GrantIsForAWSResource", ("false",)),),
                                allowed=False)]
    return requests
