"""Monitoring: endpoint log groups and alarms, the failed-job EventBridge rules, the alarm
topic's subscribers (TFG-MON-001 to 003)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

from generator.read.inventory import REF, Inventory, Resource, first_block
from policies.expected import FAILED_JOB_EVENTS, Expected
from policies.rules.documents import as_list
from policies.rules.registry import Violation, at, rule


def _absent_as_none(value: object) -> object:
    """Plans spell an attribute the configuration leaves out as null, "", 0 or []; HCL omits it."""
    return None if value in (None, "", 0, [], {}) else value


def _query_shape(query: dict) -> tuple:
    metric = first_block(query.get("metric"))
    shape = (metric.get("metric_name"), metric.get("stat"), metric.get("namespace"), metric.get("period"),
             tuple(sorted((metric.get("dimensions") or {}).items()))) if metric else None
    return (query.get("id"), _absent_as_none(query.get("expression")), bool(query.get("return_data")), shape)


def _alarm_problems(alarm: Resource, want: dict) -> list[str]:
    v = alarm.values
    problems = [f"{key} = {v.get(key)!r}; expected {value!r}" for key, value in want.items()
                if key not in ("threshold", "queries") and _absent_as_none(v.get(key)) != value]
    threshold = v.get("threshold")
    if not isinstance(threshold, (int, float)) or not math.isclose(threshold, want["threshold"]):
        problems.append(f"threshold = {threshold!r}; expected {want['threshold']!r}")
    queries = sorted((_query_shape(q) for q in as_list(v.get("metric_query"))), key=str)
    if queries != sorted(want["queries"], key=str):
        problems.append(f"metric queries {queries}; expected {want['queries']}")
    return problems


@rule("TFG-MON-001", "Every endpoint the YAML declares has its log group in its team's root and, with alarms on, "
                     "exactly its alarms, alarming to the platform topic over the YAML's periods (M of N): the 5XX "
                     "rate as errors over invocations, only in periods with the YAML's minimum of invocations; p99 "
                     "ModelLatency in microseconds, not evaluated on too few samples; and, where the YAML asks, "
                     "an alarm on no invocations at all.")
def endpoint_monitoring(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    wanted_groups: dict[str, str] = {}  # log group name -> root
    wanted_alarms: dict[str, tuple[str, dict]] = {}  # alarm name -> (root, attributes)
    for root, projects in exp.team_roots().items():
        for endpoint in (e for project in projects for e in project.endpoints):
            wanted_groups[f"/aws/sagemaker/Endpoints/{endpoint.name}"] = root
            if exp.cfg.alarms.enabled:
                wanted_alarms.update({name: (root, want) for name, want in exp.endpoint_alarms(endpoint).items()})
    seen_groups: set[str] = set()
    for group in inv.of_type("aws_cloudwatch_log_group"):
        name = str(group.values.get("name"))
        if not name.startswith("/aws/sagemaker/Endpoints/"):
            continue
        seen_groups.add(name)
        if wanted_groups.get(name) != group.root:
            yield at("TFG-MON-001", group, f"{name} is not the log group of an endpoint the YAML declares for "
                                           f"{group.root}")
    for name, root in sorted(wanted_groups.items()):
        if name not in seen_groups:
            yield Violation("TFG-MON-001", root, None, None, f"the endpoint log group {name} is missing")
    topic = [exp.topic_arn()]
    seen_alarms: set[str] = set()
    for alarm in inv.of_type("aws_cloudwatch_metric_alarm"):
        name = str(alarm.values.get("alarm_name"))
        seen_alarms.add(name)
        root, want = wanted_alarms.get(name, (None, {}))
        if root != alarm.root:
            yield at("TFG-MON-001", alarm, f"{name} is not an alarm the YAML declares for {alarm.root}")
            continue
        for problem in _alarm_problems(alarm, want):
            yield at("TFG-MON-001", alarm, f"{name}: {problem}")
        if as_list(alarm.values.get("ok_actions")) not in ([], topic):
            yield at("TFG-MON-001", alarm, f"{name}: ok_actions = {alarm.values.get('ok_actions')!r}; only the "
                                           "platform topic")
    for name, (root, _) in sorted(wanted_alarms.items()):
        if name not in seen_alarms:
            yield Violation("TFG-MON-001", root, None, None, f"the alarm {name} is missing")


def _is_topic(inv: Inventory, root: str, value: object, exp: Expected) -> bool:
    """The platform topic, named by its ARN (plans, other roots) or by a reference to it (HCL)."""
    topic = inv.find(root, value)
    if topic is not None:
        return topic.type == "aws_sns_topic" and topic.values.get("name") == f"{exp.cfg.tag_prefix}-alarms"
    return value == exp.topic_arn()


@rule("TFG-MON-002", "With alarms on, the failed-training-job and failed-processing-job EventBridge rules match "
                     "exactly source aws.sagemaker, their state-change detail-type and the status Failed, and each "
                     "sends to the platform topic.")
def failed_job_events(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    if not exp.cfg.alarms.enabled:
        return
    rules = {str(r.values.get("name")): r for r in inv.of_type("aws_cloudwatch_event_rule")}
    for suffix, (detail_type, status_field) in sorted(FAILED_JOB_EVENTS.items()):
        name = f"{exp.cfg.tag_prefix}-{suffix}"
        event_rule = rules.get(name)
        if event_rule is None:
            yield Violation("TFG-MON-002", "platform", None, None, f"the EventBridge rule {name} is missing")
            continue
        want = {"source": ["aws.sagemaker"], "detail-type": [detail_type], "detail": {status_field: ["Failed"]}}
        raw = event_rule.values.get("event_pattern")
        try:
            pattern = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            pattern = raw
        if pattern != want:
            yield at("TFG-MON-002", event_rule, f"{name} matches {pattern}; expected exactly {want}")
        targets = [t for t in inv.of_type("aws_cloudwatch_event_target") if t.root == event_rule.root
                   and t.values.get("rule") in (name, REF + event_rule.local_address)]
        if not any(_is_topic(inv, t.root, t.values.get("arn"), exp) for t in targets):
            yield at("TFG-MON-002", event_rule, f"{name} has no target sending to the platform topic "
                                                f"{exp.topic_arn()}")
        for target in targets:
            if not _is_topic(inv, target.root, target.values.get("arn"), exp):
                yield at("TFG-MON-002", target, f"{name} sends to {target.values.get('arn')}, not the platform topic")


@rule("TFG-MON-003", "With alarms on, the platform topic has exactly the YAML's e-mail subscribers; with alarms off, "
                     "no topic, subscription, alarm or event rule exists.")
def alarm_subscribers(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    monitoring = inv.of_type("aws_sns_topic", "aws_sns_topic_subscription", "aws_cloudwatch_metric_alarm",
                             "aws_cloudwatch_event_rule", "aws_cloudwatch_event_target")
    if not exp.cfg.alarms.enabled:
        for resource in monitoring:
            yield at("TFG-MON-003", resource, "alarms are off in the YAML")
        return
    seen: set[str] = set()
    for subscription in inv.of_type("aws_sns_topic_subscription"):
        v = subscription.values
        email = str(v.get("endpoint"))
        seen.add(email)
        if email not in exp.cfg.alarms.emails:
            yield at("TFG-MON-003", subscription, f"{email} is not one of the YAML's alarm e-mails")
        if v.get("protocol") != "email" or not _is_topic(inv, subscription.root, v.get("topic_arn"), exp):
            yield at("TFG-MON-003", subscription, f"{email}: protocol {v.get('protocol')!r} on "
                                                  f"{v.get('topic_arn')}; expected email on the platform topic")
    for email in sorted(set(exp.cfg.alarms.emails) - seen):
        yield Violation("TFG-MON-003", "platform", None, None, f"{email} is not subscribed to the alarm topic")
