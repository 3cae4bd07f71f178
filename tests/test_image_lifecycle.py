"""What ECR keeps under the lifecycle policies tfgen renders, judged by ECR's documented
evaluation (tests/ecr_lifecycle.py), on sequences of pushes.

First the oracle against the examples of AWS's "Examples of lifecycle policies in Amazon ECR"
(each outcome as the page states it), then the rendered policies against what docs/images.md
and the YAML promise: the N newest build images stay however many release or untagged pushes
come after them, each release prefix keeps its newest K, untagged images go after D days.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta, timezone

import pygohcl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.config.loader import load_environment
from generator.render.templates import render
from tests.conftest import ENVIRONMENTS, EXAMPLE_ENVS
from tests.ecr_lifecycle import Image, expired

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=timezone.utc)


def ago(days: float = 0, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


def rule(priority: int, status: str, count_type: str, number: int, prefixes: list[str] | None = None) -> dict:
    selection = {"tagStatus": status, "countType": count_type, "countNumber": number}
    if prefixes:
        selection["tagPrefixList"] = prefixes
    if count_type == "sinceImagePushed":
        selection["countUnit"] = "days"
    return {"rulePriority": priority, "selection": selection, "action": {"type": "expire"}}


# --- The oracle against AWS's documented examples -------------------------------------------------

def test_documented_example_filtering_on_image_age():
    policy = {"rules": [rule(1, "untagged", "sinceImagePushed", 14)]}
    images = [Image("old", (), ago(15)), Image("new", (), ago(13)), Image("tagged", ("prod",), ago(30))]
    assert expired(policy, images, NOW) == {"old"}


def test_documented_example_filtering_on_image_count():
    policy = {"rules": [rule(1, "untagged", "imageCountMoreThan", 1)]}
    images = [Image("a", (), ago(3)), Image("b", (), ago(2)), Image("c", (), ago(1)), Image("t", ("x",), ago(9))]
    assert expired(policy, images, NOW) == {"a", "b"}


DOC_REPOSITORY = [Image("A", ("beta-1", "prod-1"), ago(10)), Image("B", ("beta-2", "prod-2"), ago(9)),
                  Image("C", ("beta-3",), ago(8))]


def test_documented_multiple_rules_example_a():
    """prod keeps 1, then beta keeps 1: "Result: Image A is expired" (B is prod's newest)."""
    policy = {"rules": [rule(1, "tagged", "imageCountMoreThan", 1, ["prod"]),
                        rule(2, "tagged", "imageCountMoreThan", 1, ["beta"])]}
    assert expired(policy, DOC_REPOSITORY, NOW) == {"A"}


def test_documented_multiple_rules_example_b():
    """beta first: "Result: Images A and B are expired"."""
    policy = {"rules": [rule(1, "tagged", "imageCountMoreThan", 1, ["beta"]),
                        rule(2, "tagged", "imageCountMoreThan", 1, ["prod"])]}
    assert expired(policy, DOC_REPOSITORY, NOW) == {"A", "B"}


def test_documented_multiple_tags_in_one_rule_examples():
    """Every prefix of the list must match: example A expires C only, example B A and B."""
    repository_a = [Image("A", ("alpha-1",), ago(12)), Image("B", ("beta-1",), ago(11)),
                    Image("C", ("alpha-2", "beta-2"), ago(10)), Image("D", ("alpha-3",), ago(4)),
                    Image("E", ("beta-3",), ago(3)), Image("F", ("alpha-4", "beta-4"), ago(2))]
    assert expired({"rules": [rule(1, "tagged", "sinceImagePushed", 5, ["alpha", "beta"])]}, repository_a, NOW) == {"C"}
    repository_b = [Image("A", ("alpha-1", "beta-1", "gamma-1"), ago(10)), Image("B", ("alpha-2", "beta-2"), ago(9)),
                    Image("C", ("alpha-3", "beta-3", "gamma-2"), ago(8))]
    assert expired({"rules": [rule(1, "tagged", "imageCountMoreThan", 1, ["alpha", "beta"])]},
                   repository_b, NOW) == {"A", "B"}


def test_documented_all_images_example_a():
    images = [Image("A", ("alpha-1",), ago(4)), Image("B", ("beta-1",), ago(3)), Image("C", (), ago(2)),
              Image("D", ("alpha-2",), ago(1))]
    assert expired({"rules": [rule(1, "any", "imageCountMoreThan", 1)]}, images, NOW) == {"A", "B", "C"}


def test_documented_all_images_example_b_the_any_rule_ranks_every_image():
    """alpha keeps 1, untagged go after a day, any keeps 1: "Result: Images A, B, and D are
    expired". D, the only image no higher rule selected, expires although it is the second
    newest: the any rule counted A, B, C and E with it. (D and E were both "pushed 1 day ago";
    the page's outcome needs E the newer, and E not older than a day.)"""
    images = [Image("A", ("alpha-1", "beta-1"), ago(4)), Image("B", (), ago(3)), Image("C", ("alpha-2",), ago(2)),
              Image("D", ("git hash",), ago(1, hours=1)), Image("E", (), ago(1, hours=-1))]
    policy = {"rules": [rule(1, "tagged", "imageCountMoreThan", 1, ["alpha"]),
                        rule(2, "untagged", "sinceImagePushed", 1), rule(3, "any", "imageCountMoreThan", 1)]}
    assert expired(policy, images, NOW) == {"A", "B", "D"}


# --- The rendered policies ----------------------------------------------------------------------

LOCAL = re.compile(r"^jsonencode\(local\.(\w+)\)$")


def rendered_policies(env: str) -> dict[str, dict]:
    """Each rendered repository's lifecycle policy as ECR receives it, read with HashiCorp's HCL
    parser from a fresh render: root:resource name -> policy document."""
    policies = {}
    for path, text in render(ENVIRONMENTS, env).files.items():
        if not path.endswith("/ecr.tf"):
            continue
        parsed = pygohcl.loads(text)
        local_values = {name: value for block in [parsed.get("locals", {})] for name, value in block.items()}
        for name, resource in parsed["resource"].get("aws_ecr_lifecycle_policy", {}).items():
            policies[f"{path.rsplit('/', 1)[0]}:{name}"] = local_values[LOCAL.match(resource["policy"])[1]]
    return policies


@functools.cache
def rendered_policies_cached(env: str) -> dict[str, dict]:
    """The same, once per process: hypothesis calls a test 150 times."""
    return rendered_policies(env)


def yaml_settings(env: str):
    return load_environment(ENVIRONMENTS, env).config


def builds(count: int, start_days_ago: float, prefix: str = "build-", label: str = "build") -> list[Image]:
    """count images tagged prefix + a commit, an hour apart from start_days_ago on."""
    return [Image(f"{label} {n}", (f"{prefix}{label}{n:07x}",), ago(start_days_ago, hours=-n)) for n in range(count)]


@pytest.mark.parametrize("env", EXAMPLE_ENVS)
def test_every_rendered_policy_keeps_its_newest_builds_whatever_comes_after_them(env):
    """N builds, then many releases and untagged pushes: the N newest builds all stay, the
    older builds go. (A last tagStatus any rule would rank the later pushes first, and
    expire every build.)"""
    ecr = yaml_settings(env).ecr
    for where, policy in rendered_policies(env).items():
        keep = _kept_builds(policy, ecr.build_tag_prefix)
        older, newest = builds(3, 40, label="old"), builds(keep, 30)
        later = [Image(f"release {n}", (f"{ecr.release_tag_prefixes[0]}{n}",), ago(10, hours=-n)) for n in range(40)]
        later += [Image(f"untagged {n}", (), ago(0, hours=n)) for n in range(40)]
        gone = expired(policy, older + newest + later, NOW)
        assert not gone & {i.name for i in newest}, f"{env} {where}: a newest build expired"
        assert {i.name for i in older} <= gone, f"{env} {where}: builds beyond the newest {keep} stayed"


def _kept_builds(policy: dict, prefix: str) -> int:
    """The number the build rule keeps; which rule it is comes from the YAML's build prefix."""
    (number,) = [r["selection"]["countNumber"] for r in policy["rules"]
                 if r["selection"].get("tagPrefixList") == [prefix]]
    return number


def test_the_builds_kept_are_the_yamls_image_retention():
    """dev keeps 5 (dev.yaml), prod the shared 10 and fraud-detection's 30 (prod.yaml)."""
    dev, prod = rendered_policies("dev"), rendered_policies("prod")
    assert {_kept_builds(p, "build-") for p in dev.values()} == {yaml_settings("dev").ecr.image_retention} == {5}
    fraud = yaml_settings("prod").teams["rc"].projects["fraud-detection"].image_retention
    assert _kept_builds(prod["teams/rc:fraud_detection_training"], "build-") == fraud == 30
    assert _kept_builds(prod["platform:shared_base_sklearn"], "build-") == yaml_settings("prod").ecr.image_retention


def test_each_release_prefix_keeps_its_own_newest_images_beside_any_number_of_builds():
    cfg = yaml_settings("prod").ecr
    policy = rendered_policies("prod")["teams/algo:recommendation_engine_training"]
    extra = 5
    releases = {prefix: [Image(f"{prefix} {n}", (f"{prefix}{n}",), ago(400, hours=-n))
                         for n in range(cfg.release_images_kept + extra)]
                for prefix in cfg.release_tag_prefixes}
    many_builds = builds(200, 2)
    gone = expired(policy, [i for images in releases.values() for i in images] + many_builds, NOW)
    for prefix, images in releases.items():
        assert {i.name for i in images[:extra]} <= gone, f"{prefix}: releases beyond the newest were kept"
        assert not gone & {i.name for i in images[extra:]}, f"{prefix}: one of the newest releases expired"


def test_a_promoted_build_stays_when_newer_builds_push_it_out_of_the_count():
    """A build tagged release- as well is a release: the release rule selected it first, so the
    build rule cannot expire it (it still counts it among the builds)."""
    policy = rendered_policies("dev")["platform:shared_base_sklearn"]
    promoted = Image("promoted", ("build-0000001", "release-2026-11-27"), ago(60))
    plain = Image("plain", ("build-0000002",), ago(59))
    gone = expired(policy, [promoted, plain, *builds(20, 10)], NOW)
    assert "promoted" not in gone and "plain" in gone


def test_untagged_images_go_after_the_yamls_days_and_not_before():
    days = yaml_settings("staging").ecr.untagged_expiry_days
    policy = next(iter(rendered_policies("staging").values()))
    images = [Image("day older", (), ago(days + 1)), Image("hour older", (), ago(days, hours=1)),
              Image("hour younger", (), ago(days, hours=-1)), Image("today", (), ago(0, hours=1)),
              Image("exactly", (), ago(days))]  # not *more* than D days ago: stays
    assert expired(policy, images, NOW) == {"day older", "hour older"}


def test_an_image_whose_tags_start_with_no_prefix_is_never_expired():
    policy = rendered_policies("dev")["teams/rc:fraud_detection_inference"]
    odd = Image("hand-pushed", ("3f9c2e1",), ago(3000))
    assert "hand-pushed" not in expired(policy, [odd, *builds(50, 5), *builds(50, 1, "release-")], NOW)


PUSH = st.sampled_from(["build", "untagged", "release-", "v", "promote", "other"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(PUSH, st.floats(min_value=0, max_value=90)), max_size=60))
def test_any_sequence_of_pushes_keeps_what_docs_images_md_promises(pushes):
    """Random pushes over 90 days against prod's shared policy (builds keep 10, releases 1000
    per prefix, untagged 7 days): what stays and what goes is exactly the promise."""
    ecr = yaml_settings("prod").ecr
    policy = rendered_policies_cached("prod")["platform:shared_base_sklearn"]
    images = []
    for n, (kind, days) in enumerate(pushes):
        tags = {"build": (f"build-{n}",), "untagged": (), "release-": (f"release-{n}",), "v": (f"v{n}",),
                "promote": (f"build-{n}", f"release-{n}"), "other": (f"x{n}",)}[kind]
        images.append(Image(str(n), tags, ago(days, hours=-n / 1000)))
    gone = expired(policy, images, NOW)

    def newest(match) -> list[Image]:
        return sorted((i for i in images if match(i)), key=lambda i: i.pushed_at, reverse=True)

    build_images = newest(lambda i: any(t.startswith("build-") for t in i.tags))
    releases = set()
    for prefix in ecr.release_tag_prefixes:
        releases |= {i.name for i in newest(lambda i, p=prefix: any(t.startswith(p) for t in i.tags))}
    for image in images:
        if not image.tags:
            should_go = NOW - image.pushed_at > timedelta(days=ecr.untagged_expiry_days)
        elif image.name in releases:
            should_go = False  # fewer than release_images_kept of each prefix here
        elif image in build_images:
            should_go = build_images.index(image) >= ecr.image_retention
        else:
            should_go = False
        assert (image.name in gone) == should_go, (image, sorted(gone))


def _with_a_last_any_rule(policy: dict) -> dict:
    """The policy as tfgen rendered it before the build prefix: the last rule on any tag."""
    *rest, last = sorted(policy["rules"], key=lambda r: r["rulePriority"])
    selection = {key: value for key, value in last["selection"].items() if key != "tagPrefixList"}
    return {"rules": [*rest, {**last, "selection": {**selection, "tagStatus": "any"}}]}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(PUSH, st.floats(min_value=0, max_value=90)), max_size=60))
def test_the_upgrade_from_a_last_any_rule_expires_nothing_that_rule_kept(pushes):
    """docs/images.md, "Upgrading": the new policy keeps every image the old one kept."""
    policy = rendered_policies_cached("dev")["platform:shared_base_sklearn"]
    tags = {"build": "build-", "release-": "release-", "v": "v", "other": "x"}
    images = [Image(str(n), () if kind == "untagged" else
                    (f"build-{n}", f"release-{n}") if kind == "promote" else (f"{tags[kind]}{n}",),
                    ago(days, hours=-n / 1000))
              for n, (kind, days) in enumerate(pushes)]
    assert expired(policy, images, NOW) <= expired(_with_a_last_any_rule(policy), images, NOW)
