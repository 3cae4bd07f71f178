"""tfgen verify: read the live account with boto3 and compare it with what the YAML means.

Without Terraform state: every resource is looked up by the name the design gives it.
Works against a real account (normal AWS credentials) and against the emulator
(AWS_ENDPOINT_URL), through the environment's session (generator/account/session.py: the
account is guarded before anything is read). One result a resource, in the live commands'
vocabulary (generator/account/report.py): PASS, or FAIL with the detail `missing` or
`different: ...`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from generator.account.report import FAIL, PASS, Report, Result, under
from generator.account.session import aws_error, error_code, opened
from generator.design.model import Design
from generator.design.rule_key import describe as describe_rule
from generator.design.rule_key import designed_rule_key, live_rule_key

NEEDS = ("verify needs read access: ec2, ecr, sagemaker, iam, logs, cloudwatch, events, sns and kms "
         "Describe/Get/List")


def verify(the_design: Design, boto_session=None) -> Report:
    with opened(the_design, NEEDS, boto_session) as aws:
        ec2 = aws.client("ec2")
        results = under("network", _security_groups(the_design, ec2))
        results += under("network", _endpoints(the_design, ec2, results))
        results += under("ecr", _repositories(the_design, aws.client("ecr")))
        results += _model_registry(the_design, aws.client("sagemaker"), aws.client("iam"))
        results += under("logs", _logs(the_design, aws.client("logs")))
        if the_design.platform.alarm_topic:
            results += under("alarms", _alarms(the_design, aws.client("cloudwatch"), aws.client("events"),
                                               aws.client("sns"), aws.client("kms")))
    return aws.report("verify", results)


def _missing(name: str, why: str = "") -> Result:
    return Result(name, FAIL, f"missing: {why}" if why else "missing")


def _different(name: str, what: str) -> Result:
    return Result(name, FAIL, f"different: {what}")


def _diff(name: str, want: object, have: object) -> Result:
    return Result(name, PASS) if want == have else _different(name, f"expected {want}, found {have}")


# --- network -----------------------------------------------------------------------------


def _security_groups(d: Design, ec2) -> Iterator[Result]:
    names = [g.name for g in d.platform.security_groups]
    found = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [d.config.network.vpc_id]},
                                                  {"Name": "group-name", "Values": names}])["SecurityGroups"]
    by_name = {g["GroupName"]: g for g in found}
    for group in d.platform.security_groups:
        label = f"security group {group.name}"
        live = by_name.get(group.name)
        if live is None:
            yield _missing(label)
            continue
        rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [live["GroupId"]]}])
        have = {live_rule_key(r, live["GroupId"]) for r in rules["SecurityGroupRules"]}
        want = {designed_rule_key(r) for r in group.rules}
        problems = [f"missing {describe_rule(k)}" for k in sorted(want - have, key=str)]
        problems += [f"extra {describe_rule(k)}" for k in sorted(have - want, key=str)]
        yield _different(label, "; ".join(problems)) if problems else Result(label, PASS, live["GroupId"])


def _endpoints(d: Design, ec2, groups: list[Result]) -> Iterator[Result]:
    cfg = d.config
    live = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [cfg.network.vpc_id]}])["VpcEndpoints"]
    by_service = {e["ServiceName"]: e for e in live if e.get("State", "available").lower() not in ("deleted",)}
    endpoint_group = next((r.detail for r in groups if r.what.endswith("-vpc-endpoints") and r.status == PASS), None)
    s3 = d.platform.gateway_endpoint
    gateway = by_service.get(s3.service_name)
    if gateway is None:
        yield _missing(f"endpoint {s3.service_name}")
    else:
        yield _diff(f"endpoint {s3.service_name}", ("Gateway", sorted(s3.route_table_ids)),
                    (gateway["VpcEndpointType"], sorted(gateway.get("RouteTableIds", []))))
    for endpoint in d.platform.interface_endpoints:
        label = f"endpoint {endpoint.service_name}"
        e = by_service.get(endpoint.service_name)
        if e is None:
            yield _missing(label)
            continue
        want = ("Interface", sorted(endpoint.subnet_ids), True, [endpoint_group])
        have = (e["VpcEndpointType"], sorted(e.get("SubnetIds", [])), e.get("PrivateDnsEnabled"),
                sorted(g["GroupId"] for g in e.get("Groups", [])))
        yield _diff(label, want, have)


# --- ECR, registry, IAM ------------------------------------------------------------------


def _repositories(d: Design, ecr) -> Iterator[Result]:
    repos = list(d.platform.shared_repositories) + [r for t in d.teams for p in t.projects for r in p.repositories]
    for repo in repos:
        label = f"repository {repo.name}"
        try:
            live = ecr.describe_repositories(repositoryNames=[repo.name])["repositories"][0]
        except ecr.exceptions.RepositoryNotFoundException:
            yield _missing(label)
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
        yield _different(label, "; ".join(problems)) if problems else Result(label, PASS)


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


def _model_registry(d: Design, sagemaker, iam) -> Iterator[Result]:
    for team in d.teams:
        for project in team.projects:
            label = f"model package group {project.model_package_group}"
            try:
                sagemaker.describe_model_package_group(ModelPackageGroupName=project.model_package_group)
                yield Result(label, PASS, module="registry")
            except sagemaker.exceptions.ClientError as exc:
                if error_code(exc) != "ValidationException":  # SageMaker's answer for a group that does not exist
                    raise
                yield Result(label, FAIL, f"missing: {aws_error(exc)}", module="registry")
            yield from under("iam", [_role_policy(iam, project.role_name, policy) for policy in project.policies])


def _role_policy(iam, role_name: str, policy) -> Result:
    label = f"role policy {role_name}/{policy.name}"
    try:
        document = iam.get_role_policy(RoleName=role_name, PolicyName=policy.name)
    except iam.exceptions.NoSuchEntityException:
        return _missing(label)
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


def _logs(d: Design, logs) -> Iterator[Result]:
    wanted = [(g.name, g.retention_days) for g in d.platform.log_groups]
    wanted += [(e.log_group, e.retention_days) for t in d.teams for p in t.projects for e in p.endpoints]
    for name, days in wanted:
        found = [g for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] if g["logGroupName"] == name]
        label = f"log group {name}"
        if not found:
            yield _missing(label)
        else:
            yield _diff(label, f"{days} days", f"{found[0].get('retentionInDays')} days")


def _alarms(d: Design, cloudwatch, events, sns, kms) -> Iterator[Result]:
    topic_arn = d.topic_arn
    try:
        attributes = sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]
        key = kms.describe_key(KeyId=d.kms_alias)["KeyMetadata"]
        yield _diff(f"topic {d.platform.alarm_topic}", key["Arn"], attributes.get("KmsMasterKeyId"))
    except (sns.exceptions.NotFoundException, kms.exceptions.NotFoundException) as exc:
        yield _missing(f"topic {d.platform.alarm_topic}", aws_error(exc))
    for rule in d.platform.event_rules:
        label = f"event rule {rule.name}"
        try:
            pattern = json.loads(events.describe_rule(Name=rule.name)["EventPattern"])
        except events.exceptions.ResourceNotFoundException:
            yield _missing(label)
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
            yield _missing(label)
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
