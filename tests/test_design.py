"""What the configuration means: rule sets, names, documents, switches."""

from __future__ import annotations

import pytest

from generator.config.loader import load_environment
from generator.design import MODEL_REGISTRY_ACTIONS, design
from generator.errors import ConfigError
from generator.render import render
from tests.conftest import ENVIRONMENTS, MINIMAL


def rules_of(the_design, role):
    group = next(g for g in the_design.platform.security_groups if g.role == role)
    return {(r.direction, r.protocol, r.from_port, r.to_port, "self" if r.to_self else r.cidr) for r in group.rules}


@pytest.fixture(scope="module")
def prod():
    return design(load_environment(ENVIRONMENTS, "prod"))


@pytest.mark.parametrize("role", ["training", "processing"])
def test_cluster_groups_talk_to_themselves(prod, role):
    assert rules_of(prod, role) == {
        ("ingress", "-1", None, None, "self"),
        ("ingress", "tcp", 443, 443, "10.30.0.0/16"),
        ("egress", "tcp", 443, 443, "0.0.0.0/0"),
        ("egress", "-1", None, None, "self"),
    }


def test_inference_takes_443_and_8080_from_the_vpc_only(prod):
    assert rules_of(prod, "inference") == {
        ("ingress", "tcp", 443, 443, "10.30.0.0/16"),
        ("ingress", "tcp", 8080, 8080, "10.30.0.0/16"),
        ("egress", "tcp", 443, 443, "0.0.0.0/0"),
    }


def test_studio_and_endpoint_groups(prod):
    assert rules_of(prod, "studio") == {
        ("ingress", "tcp", 2049, 2049, "self"), ("ingress", "tcp", 8192, 65535, "self"),
        ("egress", "tcp", 2049, 2049, "self"), ("egress", "tcp", 8192, 65535, "self"),
        ("egress", "tcp", 443, 443, "0.0.0.0/0"),
    }
    assert rules_of(prod, "vpc-endpoints") == {("ingress", "tcp", 443, 443, "10.30.0.0/16")}


def test_group_names_and_rule_keys_are_stable(prod):
    assert [g.name for g in prod.platform.security_groups] == [
        "acme-sm-studio", "acme-sm-vpc-endpoints", "acme-sm-training", "acme-sm-processing", "acme-sm-inference"]
    keys = [r.id for g in prod.platform.security_groups for r in g.rules]
    assert len(keys) == len(set(keys))
    assert "training_all_from_self" in keys and "inference_container_from_vpc" in keys


def test_endpoints_required_and_extra(prod):
    services = [e.service_name for e in prod.platform.interface_endpoints]
    assert services == [
        "com.amazonaws.eu-west-1.sagemaker.api", "com.amazonaws.eu-west-1.sagemaker.runtime",
        "com.amazonaws.eu-west-1.sts", "com.amazonaws.eu-west-1.logs", "com.amazonaws.eu-west-1.ecr.api",
        "com.amazonaws.eu-west-1.ecr.dkr", "com.amazonaws.eu-west-1.monitoring",
        "com.amazonaws.eu-west-1.events", "com.amazonaws.eu-west-1.kms", "aws.sagemaker.eu-west-1.studio",
    ]


def test_project_names_and_iam(prod):
    rc = next(t for t in prod.teams if t.name == "rc")
    fraud = next(p for p in rc.projects if p.name == "fraud-detection")
    assert fraud.model_package_group == "rc-fraud-detection"
    assert [r.name for r in fraud.repositories] == [
        "acme-sm-rc-fraud-detection/preprocessing", "acme-sm-rc-fraud-detection/training",
        "acme-sm-rc-fraud-detection/inference"]
    assert {r.retention for r in fraud.repositories} == {30}  # prod's override
    registry = fraud.statements[0]
    assert registry.sid == "AllowModelRegistry" and registry.actions == MODEL_REGISTRY_ACTIONS
    assert registry.resources == (
        "arn:aws:sagemaker:eu-west-1:333333333333:model-package-group/rc-fraud-detection",
        "arn:aws:sagemaker:eu-west-1:333333333333:model-package/rc-fraud-detection/*")
    star = [s for s in fraud.statements if "*" in s.resources]
    assert [s.actions for s in star] == [("ecr:GetAuthorizationToken",)]


def test_alarm_thresholds_convert_units(prod):
    algo = next(t for t in prod.teams if t.name == "algo")
    endpoint = algo.projects[0].endpoints[0]
    rate, latency = endpoint.alarms
    assert (rate.metric, rate.statistic, rate.threshold) == ("Invocation5XXErrors", "Average", 0.05)
    assert (latency.metric, latency.extended_statistic, latency.threshold) == ("ModelLatency", "p99", 1_000_000)


def test_ecr_off_renders_no_ecr_anywhere(config_dir):
    (config_dir / "test.yaml").write_text(MINIMAL + "ecr:\n  enabled: false\n")
    rendered = render(config_dir, "test")
    text = "".join(rendered.files.values())
    assert "aws_ecr" not in text and '"ecr:' not in text
    assert "platform/ecr.tf" not in rendered.files and "teams/rc/ecr.tf" not in rendered.files


def test_alarms_off_renders_no_monitoring(config_dir):
    (config_dir / "test.yaml").write_text(MINIMAL + "      scoring:\n        endpoints:\n          score: {}\n")
    rendered = render(config_dir, "test")
    text = "".join(rendered.files.values())
    assert "aws_cloudwatch_metric_alarm" not in text and "aws_sns_topic" not in text and "aws_kms_key" not in text
    assert '"/aws/sagemaker/Endpoints/score"' in rendered.files["teams/rc/endpoints.tf"]


def test_protected_environments_prevent_destroy(config_dir):
    (config_dir / "test.yaml").write_text(MINIMAL + "protected: true\n")
    files = render(config_dir, "test").files
    for path, resource_count in (("teams/rc/ecr.tf", 3), ("teams/rc/model_registry.tf", 1), ("platform/logs.tf", 2),
                                 ("platform/ecr.tf", 3)):
        assert files[path].count("prevent_destroy = true") == resource_count, path
    (config_dir / "test.yaml").write_text(MINIMAL)
    assert "prevent_destroy" not in "".join(render(config_dir, "test").files.values())


def test_existing_execution_role_gets_the_policy_and_no_new_role(config_dir):
    (config_dir / "test.yaml").write_text(MINIMAL.replace("fraud-detection: {}", "fraud-detection:\n        execution_role: ds-existing"))
    iam = render(config_dir, "test").files["teams/rc/iam.tf"]
    assert 'resource "aws_iam_role" ' not in iam
    assert 'role = "ds-existing"' in iam


def test_names_that_collide_once_composed(config_dir):
    (config_dir / "test.yaml").write_text(MINIMAL + "  rc-fraud:\n    projects:\n      detection: {}\n")
    with pytest.raises(ConfigError) as caught:
        render(config_dir, "test")
    assert caught.value.message.endswith(
        ":16: teams.rc-fraud.projects.detection: rc-fraud/detection and rc/fraud-detection both compose the name "
        "'rc-fraud-detection' (model package group, repositories and role would clash)")


def test_role_name_over_64_characters(config_dir):
    project = "p" * 40
    text = MINIMAL.replace("fraud-detection", project).replace("tag_prefix: acme-sm", "tag_prefix: acme-sagemaker-platform")
    (config_dir / "test.yaml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        render(config_dir, "test")
    role = f"acme-sagemaker-platform-rc-{project}-execution"
    assert caught.value.message.endswith(
        f":13: teams.rc.projects.{project}: IAM role name {role!r} is 77 characters; AWS allows at most 64 "
        "(shorten tag_prefix, team or project, or name an existing execution_role)")
