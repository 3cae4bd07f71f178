"""What IAM allows: the actions of each statement, the workload and runtime policies of a
project's execution role, which role that is, and whether its inline policies fit."""

from __future__ import annotations

from collections.abc import Iterable

from generator.config import aws_images, aws_limits
from generator.config.loader import LoadedEnvironment
from generator.config.models import Environment, Project, Team
from generator.design.model import (Condition, Design, ExecutionRole, Principal, ProjectDesign, Repository,
                                    RolePolicy, Statement)
from generator.design.naming import shared_repository_name
from generator.errors import ConfigError

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
                  (f"{ec2}:network-interface/*", *(f"{ec2}:subnet/{s}" for s in cfg.network.subnet_ids),
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
    ]
    # AWS's "How to use SageMaker AI execution roles" scopes a role's ECR permissions to its job's
    # image (AppSpecification.ImageUri, AlgorithmSpecification.TrainingImage), wherever it lives:
    # the scikit-learn image AWS provides, in AWS's registry account, is the one the plan's job
    # tests run (tfgen accept --jobs). The project's own repositories are the workload policy's.
    image = aws_images.sklearn_repository_arn(region)
    if image:
        statements.append(Statement("PullSageMakerProvidedImage", ECR_PULL_ACTIONS, (image,),
                                    "The scikit-learn image AWS provides for SageMaker in this region (the plan's "
                                    "job tests): AWS's registry, not this account's."))
        if not cfg.ecr.enabled:  # else the workload policy grants it
            statements.append(Statement("AllowEcrAuthorization", ECR_AUTH_ACTIONS, ("*",),
                                        "The registry login token is account-wide: AWS grants it on * only."))
    statements += [
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


def role_choice(team: Team, project: Project) -> tuple[str | None, str, str] | None:
    """Which role a project's jobs run as, the project's choice over the team's: (the existing
    role's name or ARN, or None for one tfgen creates; "project" or "team"; the key that chose
    it), or None when neither chose."""
    for owner, holder in (("project", project), ("team", team)):
        if holder.execution_role:
            return holder.execution_role, owner, "execution_role"
        if holder.create_execution_role:
            return None, owner, "create_execution_role"
    return None


def _execution_role(loaded: LoadedEnvironment, team: str, name: str) -> ExecutionRole:
    """The project's choice wins over the team's; with neither, the YAML is incomplete."""
    cfg = loaded.config
    team_cfg, project = cfg.teams[team], cfg.teams[team].projects[name]
    team_path, project_path = ("teams", team), ("teams", team, "projects", name)
    choice = role_choice(team_cfg, project)
    if choice is not None:
        ref, owner, key = choice
        path = (*(project_path if owner == "project" else team_path), key)
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
