"""tfgen verify: read the live account with boto3 and compare it with what the YAML means.

Without Terraform state: every resource is looked up by the name
the design gives it. Works against a real account (normal AWS credentials) and against
the emulator (AWS_ENDPOINT_URL).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from generator.design import Design
from generator.errors import TfgenError
from generator.design.rule_key import describe as describe_rule
from generator.design.rule_key import designed_rule_key, live_rule_key

OK, MISSING, DIFFERENT = "OK", "MISSING", "DIFFERENT"


@dataclass(frozen=True)
class Finding:
    resource: str
    status: str
    detail: str = ""


def verify(the_design: Design, session=None) -> list[Finding]:
    import boto3
    import botocore.exceptions

    cfg = the_design.config
    session = session or boto3.session.Session(region_name=cfg.region)
    try:
        findings = list(_security_groups(the_design, session.client("ec2")))
        findings += _endpoints(the_design, session.client("ec2"), findings)
        findings += _repositories(the_design, session.client("ecr"))
        findings += _model_registry(the_design, session.client("sagemaker"), session.client("iam"))
        findings += _logs(the_design, session.client("logs"))
        if the_design.platform.alarm_topic:
            findings += _alarms(the_design, session.client("cloudwatch"), session.client("events"),
                                session.client("sns"), session.client("kms"))
    except botocore.exceptions.NoCredentialsError:
        raise TfgenError("no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID (or AWS_ENDPOINT_URL for the "
                         "emulator)") from None
    except botocore.exceptions.EndpointConnectionError as exc:
        raise TfgenError(f"cannot reach AWS: {exc}") from None
    return findings


def _diff(name: str, want: object, have: object) -> Finding:
    return Finding(name, OK) if want == have else Finding(name, DIFFERENT, f"expected {want}, found {have}")


# --- network -----------------------------------------------------------------------------


def _security_groups(d: Design, ec2) -> Iterator[Finding]:
    names = [g.name for g in d.platform.security_groups]
    found = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [d.config.network.vpc_id]},
                                                  {"Name": "group-name", "Values": names}])["SecurityGroups"]
    by_name = {g["GroupName"]: g for g in found}
    for group in d.platform.security_groups:
        label = f"security group {group.name}"
        live = by_name.get(group.name)
        if live is None:
            yield Finding(label, MISSING)
            continue
        rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [live["GroupId"]]}])
        have = {live_rule_key(r, live["GroupId"]) for r in rules["SecurityGroupRules"]}
        want = {designed_rule_key(r) for r in group.rules}
        problems = [f"missing {describe_rule(k)}" for k in sorted(want - have, key=str)]
        problems += [f"extra {describe_rule(k)}" for k in sorted(have - want, key=str)]
        yield Finding(label, DIFFERENT, "; ".join(problems)) if problems else Finding(label, OK, live["GroupId"])


def _endpoints(d: Design, ec2, groups: list[Finding]) -> Iterator[Finding]:
    cfg = d.config
    live = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [cfg.network.vpc_id]}])["VpcEndpoints"]
    by_service = {e["ServiceName"]: e for e in live if e.get("State", "available").lower() not in ("deleted",)}
    endpoint_group = next((f.detail for f in groups if f.resource.endswith("-vpc-endpoints") and f.status == OK), None)
    s3 = d.platform.gateway_endpoint
    gateway = by_service.get(s3.service_name)
    if gateway is None:
        yield Finding(f"endpoint {s3.service_name}", MISSING)
    else:
        yield _diff(f"endpoint {s3.service_name}", ("Gateway", sorted(s3.route_table_ids)),
                    (gateway["VpcEndpointType"], sorted(gateway.get("RouteTableIds", []))))
    for endpoint in d.platform.interface_endpoints:
        label = f"endpoint {endpoint.service_name}"
        e = by_service.get(endpoint.service_name)
        if e is None:
            yield Finding(label, MISSING)
            continue
        want = ("Interface", sorted(cfg.network.private_subnet_ids), True, [endpoint_group])
        have = (e["VpcEndpointType"], sorted(e.get("SubnetIds", [])), e.get("PrivateDnsEnabled"),
                sorted(g["GroupId"] for g in e.get("Groups", [])))
        yield _diff(label, want, have)


# --- ECR, registry, IAM ------------------------------------------------------------------


def _repositories(d: Design, ecr) -> Iterator[Finding]:
    repos = list(d.platform.shared_repositories) + [r for t in d.teams for p in t.projects for r in p.repositories]
    for repo in repos:
        label = f"repository {repo.name}"
        try:
            live = ecr.describe_repositories(repositoryNames=[repo.name])["repositories"][0]
        except ecr.exceptions.RepositoryNotFoundException:
            yield Finding(label, MISSING)
            continue
        problems = []
        if live.get("imageTagMutability") != "IMMUTABLE":
            problems.append(f"tags {live.get('imageTagMutability')}")
        if not live.get("imageScanningConfiguration", {}).get("scanOnPush"):
            problems.append("scan on push off")
        if live.get("encryptionConfiguration", {}).get("encryptionType") != "KMS":
            problems.append(f"encryption {live.get('encryptionConfiguration', {}).get('encryptionType')}")
        try:
            policy = json.loads(ecr.get_lifecycle_policy(repositoryName=repo.name)["lifecyclePolicyText"])
            live_rules = sorted((_lifecycle_rule(r) for r in policy.get("rules", [])), key=str)
            designed = sorted((_lifecycle_rule(_designed_rule(r)) for r in repo.lifecycle), key=str)
            if live_rules != designed:
                problems.append(f"lifecycle rules {live_rules}, expected {designed}")
        except ecr.exceptions.LifecyclePolicyNotFoundException:
            problems.append("no lifecycle policy")
        yield Finding(label, DIFFERENT, "; ".join(problems)) if problems else Finding(label, OK)


def _designed_rule(rule) -> dict:
    selection = {"tagStatus": rule.tag_status, "countType": rule.count_type, "countNumber": rule.count_number}
    if rule.tag_prefix:
        selection["tagPrefixList"] = [rule.tag_prefix]
    return {"rulePriority": rule.priority, "selection": selection}


def _lifecycle_rule(rule: dict) -> tuple:
    """A rule as (priority, tag status, prefixes, count type, count): what decides what it expires."""
    selection = rule.get("selection", {})
    return (rule.get("rulePriority"), selection.get("tagStatus"), tuple(selection.get("tagPrefixList", ())),
            selection.get("countType"), selection.get("countNumber"))


def _model_registry(d: Design, sagemaker, iam) -> Iterator[Finding]:
    for team in d.teams:
        for project in team.projects:
            label = f"model package group {project.model_package_group}"
            try:
                sagemaker.describe_model_package_group(ModelPackageGroupName=project.model_package_group)
                yield Finding(label, OK)
            except sagemaker.exceptions.ClientError as exc:
                yield Finding(label, MISSING, exc.response["Error"].get("Message", ""))
            for policy in project.policies:
                yield _role_policy(iam, project.role_name, policy)


def _role_policy(iam, role_name: str, policy) -> Finding:
    label = f"role policy {role_name}/{policy.name}"
    try:
        document = iam.get_role_policy(RoleName=role_name, PolicyName=policy.name)
    except iam.exceptions.NoSuchEntityException:
        return Finding(label, MISSING)
    raw = document["PolicyDocument"]
    live = json.loads(raw) if isinstance(raw, str) else raw
    have = {s.get("Sid"): _normalised(s) for s in _as_list(live.get("Statement"))}
    want = {s.sid: _normalised(s.document()) for s in policy.statements}
    return _diff(label, want, have)


def _normalised(statement: dict) -> tuple:
    """A statement compared as IAM means it: order of actions, resources and values does not matter."""
    condition = {op: {k: sorted(_as_list(v)) for k, v in keys.items()}
                 for op, keys in (statement.get("Condition") or {}).items()}
    return (statement.get("Effect"), sorted(_as_list(statement.get("Action"))),
            sorted(_as_list(statement.get("Resource"))), condition)


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]


# --- logs and alarms ---------------------------------------------------------------------


def _logs(d: Design, logs) -> Iterator[Finding]:
    wanted = [(g.name, g.retention_days) for g in d.platform.log_groups]
    wanted += [(e.log_group, e.retention_days) for t in d.teams for p in t.projects for e in p.endpoints]
    for name, days in wanted:
        found = [g for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] if g["logGroupName"] == name]
        label = f"log group {name}"
        if not found:
            yield Finding(label, MISSING)
        else:
            yield _diff(label, f"{days} days", f"{found[0].get('retentionInDays')} days")


def _alarms(d: Design, cloudwatch, events, sns, kms) -> Iterator[Finding]:
    topic_arn = d.topic_arn
    try:
        attributes = sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]
        key = kms.describe_key(KeyId=d.kms_alias)["KeyMetadata"]
        yield _diff(f"topic {d.platform.alarm_topic}", key["Arn"], attributes.get("KmsMasterKeyId"))
    except (sns.exceptions.NotFoundException, kms.exceptions.NotFoundException) as exc:
        yield Finding(f"topic {d.platform.alarm_topic}", MISSING, str(exc))
    for rule in d.platform.event_rules:
        label = f"event rule {rule.name}"
        try:
            pattern = json.loads(events.describe_rule(Name=rule.name)["EventPattern"])
        except events.exceptions.ResourceNotFoundException:
            yield Finding(label, MISSING)
            continue
        targets = [t["Arn"] for t in events.list_targets_by_rule(Rule=rule.name)["Targets"]]
        want = ([rule.detail_type], {rule.status_field: list(rule.statuses)}, [topic_arn])
        yield _diff(label, want, (pattern.get("detail-type"), pattern.get("detail"), targets))
    alarms = [a for t in d.teams for p in t.projects for e in p.endpoints for a in e.alarms]
    live = {a["AlarmName"]: a for a in cloudwatch.describe_alarms(AlarmNames=[a.name for a in alarms])["MetricAlarms"]}
    for alarm in alarms:
        label = f"alarm {alarm.name}"
        a = live.get(alarm.name)
        if a is None:
            yield Finding(label, MISSING)
            continue
        common = (float(alarm.threshold), alarm.datapoints_to_alarm, list(alarm.actions))
        live_common = (a.get("Threshold"), a.get("DatapointsToAlarm"), a.get("AlarmActions"))
        if alarm.metric:
            dims = {x["Name"]: x["Value"] for x in a.get("Dimensions", [])}
            want = (alarm.metric, alarm.statistic or alarm.extended_statistic,
                    {"EndpointName": alarm.endpoint, "VariantName": alarm.variant}, *common)
            have = (a.get("MetricName"), a.get("Statistic") or a.get("ExtendedStatistic"), dims, *live_common)
        else:  # metric math: each query's id and its expression or metric
            want = (sorted((q.id, q.expression or q.metric) for q in alarm.queries), *common)
            have = (sorted((m.get("Id"), m.get("Expression") or m.get("MetricStat", {}).get("Metric", {})
                            .get("MetricName")) for m in a.get("Metrics", [])), *live_common)
        yield _diff(label, want, have)


def table(findings: list[Finding]) -> str:
    width = max(len(f.resource) for f in findings) if findings else 8
    lines = [f"{'RESOURCE'.ljust(width)}  {'STATUS':9}  DETAIL"]
    lines += [f"{f.resource.ljust(width)}  {f.status:9}  {f.detail if f.status != OK else ''}".rstrip()
              for f in findings]
    bad = sum(f.status != OK for f in findings)
    lines.append(f"{len(findings)} resources checked, {len(findings) - bad} OK, {bad} missing or different")
    return "\n".join(lines) + "\n"
