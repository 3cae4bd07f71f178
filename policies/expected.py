"""What the environment's YAML says must exist, stated from the plan, not from the generator.

The values (CIDR, names, retention, account) come from the YAML; the shapes (which rules
a group has, how names are composed, which actions the registry statement holds) are
written here again, on purpose: a bug in the generator must not be able to hide itself.
"""

from __future__ import annotations

import functools

from dataclasses import dataclass

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
                    for endpoint_name, endpoint in project.endpoints.items())
                result.append(Project(team_name, name, tuple(stages) if self.cfg.ecr.enabled else (),
                                      project.image_retention or self.cfg.ecr.image_retention, endpoints))
        return tuple(result)

    def team_roots(self) -> dict[str, list[Project]]:
        roots: dict[str, list[Project]] = {}
        for project in self.projects():
            roots.setdefault(f"teams/{project.team}", []).append(project)
        return roots

    def rendered_team_roots(self) -> set[str]:
        """Every team root out/ENV holds: teams with a managed project and, in a protected
        environment, teams whose projects are all retired (their root keeps the `removed` blocks)."""
        roots = set(self.team_roots())
        if self.cfg.protected:
            roots |= {f"teams/{name}" for name, team in self.cfg.teams.items()
                      if any(project.retired for project in team.projects.values())}
        return roots

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
        YAML's days; each release prefix keeps its own newest images, in a rule before the last
        (so that rule can never expire them); the last, on any tag, keeps the newest N."""
        ecr = self.cfg.ecr
        releases = [("tagged", (prefix,), "imageCountMoreThan", ecr.release_images_kept)
                    for prefix in ecr.release_tag_prefixes]
        return [("untagged", (), "sinceImagePushed", ecr.untagged_expiry_days), *releases,
                ("any", (), "imageCountMoreThan", keep)]

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
