"""AWS's limits on names and descriptions, read from botocore's models: what is read is what
botocore says, the Java patterns mean in Python what they mean to AWS, and the rules AWS
states only in prose are still what its documentation says."""

from __future__ import annotations

import re
import sys
import unicodedata

import botocore.session
import pytest

from generator.config import aws_limits
from tests.conftest import run_python

SESSION = botocore.session.get_session()


def botocore_shape(limit: aws_limits.Limit):
    """The member's shape through botocore's own API (not tfgen's reading of the files)."""
    shape = SESSION.get_service_model(limit.service).operation_model(limit.operation).input_shape
    for part in limit.member.split("."):
        while shape.type_name == "list":
            shape = shape.member
        shape = shape.members[part]
    return shape


@pytest.mark.parametrize("limit", aws_limits.LIMITS, ids=lambda limit: limit.key)
def test_each_limit_is_what_botocore_models(limit):
    shape = botocore_shape(limit)
    assert limit.shape["shape"] == shape.name
    assert limit.pattern == shape.metadata.get("pattern")
    assert limit.shape["min"] == shape.metadata.get("min", 0)
    assert limit.shape["max"] == shape.metadata.get("max")


def test_the_numbers_are_aws_documented_ones():
    # From AWS's API references: CreateModelPackageGroup, CreateRepository, CreateRole,
    # PutRolePolicy, CreateLogGroup, PutMetricAlarm, PutRule, CreateEndpoint.
    assert aws_limits.MODEL_PACKAGE_GROUP.max_length == 63
    assert aws_limits.MODEL_PACKAGE_GROUP_DESCRIPTION.max_length == 1024
    assert (aws_limits.ECR_REPOSITORY.min_length, aws_limits.ECR_REPOSITORY.max_length) == (2, 256)
    assert (aws_limits.IAM_ROLE.max_length, aws_limits.IAM_ROLE_POLICY.max_length) == (64, 128)
    assert aws_limits.LOG_GROUP.max_length == 512
    assert (aws_limits.ALARM.max_length, aws_limits.ALARM_DESCRIPTION.max_length) == (255, 1024)
    assert aws_limits.EVENT_RULE.max_length == 64
    assert aws_limits.ENDPOINT.max_length == aws_limits.VARIANT.max_length == 63
    # The names the policies use, the same numbers.
    assert (aws_limits.MODEL_PACKAGE_GROUP_MAX, aws_limits.ECR_REPOSITORY_MAX, aws_limits.IAM_ROLE_MAX) == (63, 256, 64)


def test_the_role_names_the_yaml_may_give_are_iams():
    """An existing role is named in the YAML by a pattern the JSON Schema shows editors; its
    name's part is IAM's RoleName, [\\w+=,.@-] (Java's \\w: ASCII) of 1 to 64."""
    from generator.config.models import IamRoleRef

    name_part = IamRoleRef.__metadata__[0].pattern.rsplit(")?", 1)[1]
    assert aws_limits.IAM_ROLE.pattern == r"[\w+=,.@-]+"
    assert name_part == f"[A-Za-z0-9_+=,.@-]{{{aws_limits.IAM_ROLE.min_length},{aws_limits.IAM_ROLE.max_length}}}$"


@pytest.mark.parametrize("limit", [limit for limit in aws_limits.LIMITS if limit.prose], ids=lambda limit: limit.key)
def test_rules_written_from_prose_are_still_in_the_documentation(limit):
    documentation = " ".join(botocore_shape(limit).documentation.split())
    for sentence in limit.prose.sentences:
        assert sentence in documentation, (limit.key, sentence)
    assert not botocore_shape(limit).metadata.get("pattern"), "the model has a pattern now: use it"


# Values AWS's documentation gives as valid or invalid for each member (its patterns, its examples).
ALLOWED_AND_REFUSED = {
    aws_limits.MODEL_PACKAGE_GROUP: (["rc-fraud-detection", "A", "a--b", "x" * 63],
                                     ["rc_fraud", "-rc", "rc-", "", "x" * 64, "rc fraud"]),
    aws_limits.MODEL_PACKAGE_GROUP_DESCRIPTION: (["", "Card fraud scoring", "Betrug für Karten — v2 ✓ 😀",
                                                  "a\u2028b", "x" * 1024],
                                                 ["two\nlines", "a\tb", "a\rb", "nul\x00", "x" * 1025]),
    aws_limits.ENDPOINT: (["fraud-detection-prod", "ep1"], ["ep_1", "ep.1", "-ep", "e" * 64]),
    aws_limits.VARIANT: (["AllTraffic", "variant-1"], ["All Traffic", "v_1"]),
    aws_limits.ECR_REPOSITORY: (["acme-sm-rc-fraud-detection/training", "acme-sagemaker-shared/base-sklearn", "a__b",
                                 "a--b", "a.b/c_d"],
                                ["Acme/training", "a", "a//b", "a-", "/a", "a/", "a___b", "a" * 257]),
    aws_limits.IAM_ROLE: (["acme-sm-rc-fraud-detection-execution", "a+b=c,d.e@f-g_h"],
                          ["rôle", "a b", "a/b", "", "r" * 65]),
    aws_limits.IAM_ROLE_POLICY: (["rc-fraud-detection-workload"], ["a b", "p" * 129]),
    aws_limits.LOG_GROUP: (["/aws/sagemaker/Endpoints/fraud-detection-prod", "a#b"], ["a b", "a:b", "", "l" * 513]),
    aws_limits.ALARM: (["acme-sm-fraud-detection-prod-5xx-rate", "any text at all"], ["", "a" * 256]),
    aws_limits.ALARM_DESCRIPTION: (["", "p99 model latency above 1000 ms"], ["d" * 1025]),
    aws_limits.EVENT_RULE: (["acme-sm-training-job-failed", "a.b_c"], ["a b", "a/b", "r" * 65]),
    aws_limits.KMS_ALIAS: (["alias/acme-sm-alarms"], ["alias/a b", "alias/a.b", ""]),
    aws_limits.SECURITY_GROUP: (["acme-sm-training", "a b:c/d()#,@[]+=&;{}!$*", "xsg-"],
                                ["sg-training", "sg-", "caf\u00e9", "a%b", "a\nb", "g" * 256]),
    aws_limits.SECURITY_GROUP_DESCRIPTION: (["SageMaker training jobs", "HTTPS from the VPC CIDR (10.0.0.0/16)"],
                                            ["caf\u00e9", "a\nb", "d" * 256]),
    aws_limits.SNS_TOPIC: (["acme-sm-alarms", "A_b-1"], ["a.b", "a b", "", "t" * 257]),
}


@pytest.mark.parametrize("limit", aws_limits.LIMITS, ids=lambda limit: limit.key)
def test_what_aws_allows_and_refuses(limit):
    allowed, refused = ALLOWED_AND_REFUSED[limit]
    for value in allowed:
        assert limit.problem(value) is None, (limit.key, value)
    for value in refused:
        assert limit.problem(value), (limit.key, value)


def test_every_limit_has_cases():
    assert set(ALLOWED_AND_REFUSED) == set(aws_limits.LIMITS)


def test_the_messages_say_what_and_why():
    assert aws_limits.MODEL_PACKAGE_GROUP_DESCRIPTION.problem("Card fraud\nscoring") == (
        "model package group description has a line break (U+000A) at character 11, which AWS does not allow "
        r"(SageMaker CreateModelPackageGroup ModelPackageGroupDescription: pattern [\p{L}\p{M}\p{Z}\p{S}\p{N}\p{P}]*)")
    assert aws_limits.SECURITY_GROUP.problem("sg-training") == (
        "security group name 'sg-training' starts with 'sg-', which AWS does not allow "
        "(EC2 CreateSecurityGroup GroupName: \"Can't start with sg-.\")")
    assert aws_limits.SECURITY_GROUP.problem("a%b").startswith(
        "security group name has '%' (U+0025, percent sign) at character 2, which AWS does not allow")
    assert aws_limits.ENDPOINT.problem("ep_1") == (
        "endpoint name 'ep_1' does not match AWS's pattern [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62} "
        "(SageMaker CreateEndpoint EndpointName)")
    long = aws_limits.MODEL_PACKAGE_GROUP_DESCRIPTION.problem("x" * 1100)
    assert long.endswith("... is 1,100 characters; AWS allows at most 1,024 "
                         "(SageMaker CreateModelPackageGroup ModelPackageGroupDescription)")
    assert len(long) < 250  # not the whole value


# --- Java's patterns in Python ---------------------------------------------------------------


def test_unicode_categories_mean_what_they_mean_in_java():
    """\\p{L} and the rest are Unicode general categories: every code point is checked against
    the category Python's Unicode database gives it (and against the regex package, which reads
    \\p itself, where it is installed)."""
    java = aws_limits.MODEL_PACKAGE_GROUP_DESCRIPTION.pattern
    assert java == r"[\p{L}\p{M}\p{Z}\p{S}\p{N}\p{P}]*"
    ours = re.compile(aws_limits.translate(java), re.ASCII)
    ascii_only = re.compile(aws_limits.translate(java, ascii_only=True), re.ASCII)
    for point in range(sys.maxunicode + 1):
        char = chr(point)
        expected = unicodedata.category(char)[0] in "LMZSNP"
        assert bool(ours.fullmatch(char)) == expected, hex(point)
        if point < 128:
            assert bool(ascii_only.fullmatch(char)) == expected, hex(point)
    try:
        import regex
    except ImportError:
        return
    for pattern in (java, r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)", r"\p{Lu}\P{Lu}*", r"[^\p{N}]+"):
        theirs, translated = regex.compile(pattern), re.compile(aws_limits.translate(pattern), re.ASCII)
        for point in range(0, sys.maxunicode + 1, 7):
            char = chr(point)
            if unicodedata.category(char) != "Cn":  # regex may know a newer Unicode than this Python
                assert bool(translated.fullmatch(char * 2)) == bool(theirs.fullmatch(char * 2)), (pattern, hex(point))


@pytest.mark.parametrize("java, python", [
    (r"[\w+=,.@-]+", r"[\w+=,.@-]+"),  # with re.ASCII: Java's \w is ASCII too
    (r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)", r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)"),
    (r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+)*", r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+)*"),
    (r"\p{Nd}+", "[" + "".join(f"\\u{lo:04x}-\\u{hi:04x}" for lo, hi in [(0x30, 0x39)]) + "]+"),
])
def test_translations(java, python):
    if java.startswith(r"\p"):
        assert aws_limits.translate(java, ascii_only=True) == python
    else:
        assert aws_limits.translate(java) == python


def test_java_s_word_characters_are_ascii():
    assert aws_limits.IAM_ROLE.problem("rôle") and not aws_limits.IAM_ROLE.problem("role")


@pytest.mark.parametrize("java", [r"[a-z&&[^aeiou]]", r"\Qa.b\E", r"\h+", r"(?<name>a)", r"a\z", r"\p{Alpha}",
                                  r"\p{Xx}", r"[a-z", r"[]a]", r"\x{41}"])
def test_what_java_reads_differently_is_refused_not_guessed(java):
    with pytest.raises(aws_limits.UntranslatablePattern):
        aws_limits.translate(java)


# --- read once, then from the cache ------------------------------------------------------------

READ_LIMITS = """
import sys
from generator.config import aws_limits
print(aws_limits.MODEL_PACKAGE_GROUP_DESCRIPTION.problem("a\\nb") is not None, aws_limits.IAM_ROLE_MAX,
      "botocore" in sys.modules)
"""


def test_the_models_are_read_once_then_come_from_the_cache(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    assert run_python("-c", READ_LIMITS, env=env).split() == ["True", "64", "True"]  # read from botocore's models
    cached = list((tmp_path / "tfgen").glob("aws-limits-*.json"))
    assert len(cached) == 1
    assert run_python("-c", READ_LIMITS, env=env).split() == ["True", "64", "False"]  # botocore not even imported
    cached[0].write_text('{"damaged')
    assert run_python("-c", READ_LIMITS, env=env).split() == ["True", "64", "True"]  # a damaged cache: read again
    assert list((tmp_path / "tfgen").glob("aws-limits-*.json")) == cached


def test_a_cache_folder_that_cannot_be_written_is_no_cache(tmp_path):
    (tmp_path / "tfgen").write_text("a file where the folder would be")
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    assert run_python("-c", READ_LIMITS, env=env).split() == ["True", "64", "True"]
