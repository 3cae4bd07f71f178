"""What is watched and who hears of it: log groups and their retention, the endpoint alarms,
the KMS-encrypted alarm topic with its subscriptions, and the rules for failed jobs."""

from __future__ import annotations

from generator.config.loader import LoadedEnvironment
from generator.config.models import Environment
from generator.design.model import (Alarm, AlarmTopic, Condition, EndpointMonitoring, EventRule, LogGroup,
                                    MetricQuery, Principal, Statement, Subscription)
from generator.design.naming import email_id, tf_id
from generator.errors import ConfigError


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


def job_log_groups(cfg: Environment) -> tuple[LogGroup, ...]:
    return (
        LogGroup("processing_jobs", "/aws/sagemaker/ProcessingJobs", cfg.logs.retention_days.processing_jobs),
        LogGroup("training_jobs", "/aws/sagemaker/TrainingJobs", cfg.logs.retention_days.training_jobs),
    )


def failed_job_rules(cfg: Environment) -> tuple[EventRule, ...]:
    return (
        EventRule("training_job_failed", f"{cfg.tag_prefix}-training-job-failed",
                  "SageMaker training jobs that failed", "SageMaker Training Job State Change",
                  "TrainingJobStatus"),
        EventRule("processing_job_failed", f"{cfg.tag_prefix}-processing-job-failed",
                  "SageMaker processing jobs that failed", "SageMaker Processing Job State Change",
                  "ProcessingJobStatus"),
    )


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
