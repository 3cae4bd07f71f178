"""Property-based: random valid configurations render and pass the policies; random
corruptions of a valid configuration give exit 1 with a located message, never a traceback."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from generator.config import aws_limits
from generator.cli import cli
from generator.config.loader import load_environment
from generator.design.naming import email_id
from generator.errors import ConfigError
from generator.render.templates import render
from generator.render.writer import write
from policies.engine import evaluate
from policies.expected import Expected
from generator.read.inventory import from_hcl
from tests.conftest import MINIMAL

ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
word = st.text(alphabet=ALNUM, min_size=1, max_size=6)
short_slug = st.lists(word, min_size=1, max_size=2).map("-".join)
# Names at the schema's limit (40 characters) and near it, so composed names reach AWS's limits
# (a model package group is {team}-{project}, at most 63 characters).
long_slug = st.integers(min_value=28, max_value=40).flatmap(
    lambda n: st.text(alphabet=ALNUM, min_size=n, max_size=n)).map(lambda s: s[:10] + "-" + s[11:])
slug = st.one_of(short_slug, long_slug)
# Endpoint names up to SageMaker's 63 characters.
endpoint_name = st.one_of(short_slug.map(lambda s: "ep-" + s),
                          st.text(alphabet=ALNUM, min_size=63, max_size=63).map(lambda s: "ep-" + s[3:]))
hexid = st.text(alphabet="0123456789abcdef", min_size=17, max_size=17)
octet = st.integers(min_value=0, max_value=255)


@st.composite
def configurations(draw) -> dict:
    # A project runs as its team's existing role, names its own (by name or ARN), or has tfgen create one.
    # (A team role carries at most four projects here: IAM's 10,240 characters of inline policies
    # on one role hold about eight; tests/test_design.py proves the refusal past that.)
    role_choice = st.sampled_from([{}, {"execution_role": "{project}-role"},
                                   {"execution_role": "arn:aws:iam::{account}:role/service-role/{project}-role"},
                                   {"create_execution_role": True, "data_buckets": ["ml-data.example"]}])
    project = st.tuples(st.fixed_dictionaries({}, optional={
        "image_retention": st.integers(min_value=1, max_value=500),
        "repos": st.lists(slug, min_size=1, max_size=3, unique=True),
        "endpoints": st.dictionaries(endpoint_name, st.just({}), max_size=2),
    }), role_choice).map(lambda pair: {**pair[0], **pair[1]})
    teams = draw(st.dictionaries(slug, st.dictionaries(slug, project, min_size=1, max_size=3), min_size=1, max_size=3))
    if draw(st.booleans()):  # a project whose model package group is exactly AWS's 63 characters
        team_length = draw(st.integers(min_value=22, max_value=40))
        exact = st.text(alphabet=ALNUM, min_size=team_length, max_size=team_length)
        teams.setdefault(draw(exact), {})[draw(st.text(alphabet=ALNUM, min_size=62 - team_length,
                                                      max_size=62 - team_length))] = draw(project)
    region = draw(st.sampled_from(sorted(aws_limits.REGIONS)))
    config = {
        "company": draw(short_slug), "tag_prefix": draw(short_slug), "region": region,
        "account_id": draw(st.text(alphabet="0123456789", min_size=12, max_size=12)),
        "protected": draw(st.booleans()),
        "network": {
            "vpc_id": "vpc-" + draw(hexid), "vpc_cidr": f"10.{draw(octet)}.0.0/16",
            # Zones may repeat: an interface endpoint then takes the first subnet of each (TFG-EP-002).
            "private_subnets": [{"id": "subnet-" + subnet, "zone": region + draw(st.sampled_from("abc"))}
                                for subnet in draw(st.lists(hexid, min_size=1, max_size=4, unique=True))],
            "route_table_ids": ["rtb-" + draw(hexid)],
        },
        "ecr": {"enabled": draw(st.booleans()), "shared_repos": draw(st.lists(slug, max_size=3, unique=True)),
                "image_retention": draw(st.integers(min_value=1, max_value=100))},
        "logs": {"retention_days": {"training_jobs": draw(st.sampled_from(aws_limits.LOG_RETENTION_DAYS))}},
        "vpc_endpoints": {"extra": draw(st.lists(st.sampled_from(aws_limits.OPTIONAL_INTERFACE_ENDPOINTS),
                                                 unique=True, max_size=3))},
        "teams": {team: {"execution_role": f"{team}-role", "projects": projects} for team, projects in teams.items()},
    }
    for projects in teams.values():
        for name, settings_ in projects.items():
            if "execution_role" in settings_:
                settings_["execution_role"] = settings_["execution_role"].format(account=config["account_id"],
                                                                                 project=name)
    if draw(st.booleans()):
        # Addresses as people write them: plus-addressing, dots, hyphens (one subscription label each).
        email = st.builds("{}@{}.example".format, st.text(alphabet="abz09+.-_", min_size=1, max_size=12), slug)
        config["alarms"] = {"enabled": True, "emails": draw(st.lists(email, min_size=1, max_size=3,
                                                                     unique_by=email_id))}
    return config


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configurations())
def test_random_valid_configurations_render_and_pass_the_policies(config):
    """Either tfgen renders, and the render passes every policy, or it refuses with a located
    error, exactly where AWS's limits or a name clash say it must."""
    groups = [f"{t}-{p}" for t, team in config["teams"].items() for p in team["projects"]]
    endpoints = [e for team in config["teams"].values() for p in team["projects"].values()
                 for e in p.get("endpoints", {})]
    # From the plan and AWS: one group {team}-{project} per project, at most 63 characters,
    # endpoint names unique in the account and region, and no security group named sg-*.
    must_refuse = (len(set(groups)) != len(groups) or len(set(endpoints)) != len(endpoints)
                   or max(len(g) for g in groups) > 63 or f"{config['tag_prefix']}-".startswith("sg-"))
    # A role tfgen creates has a composed name that may pass IAM's 64 characters.
    creates_roles = any(p.get("create_execution_role") for team in config["teams"].values()
                        for p in team["projects"].values())
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "environments").mkdir()
        (root / "environments" / "random.yaml").write_text(yaml.safe_dump(config))
        try:
            rendered = render(root / "environments", "random")
        except ConfigError as error:
            assert must_refuse or (creates_roles and "IAM role name" in error.problem), str(error)
            assert Path(error.file).name == "random.yaml" and error.line, str(error)
            event("refused, as AWS would")
            return
        event("rendered" + (" with a name at AWS's limit" if max(len(g) for g in groups) == 63 else ""))
        assert not must_refuse, "a configuration AWS would refuse rendered"
        write(rendered, root / "out" / "random")
        expected = Expected("random", load_environment(root / "environments", "random").config)
        assert evaluate(from_hcl(root / "out" / "random"), expected) == []


@st.composite
def corruptions(draw) -> str:
    lines = MINIMAL.splitlines()
    index = draw(st.integers(min_value=0, max_value=len(lines) - 1))
    kind = draw(st.sampled_from(["delete", "duplicate", "garbage", "retype", "indent", "truncate"]))
    if kind == "delete":
        del lines[index]
    elif kind == "duplicate":
        lines.insert(index, lines[index])
    elif kind == "garbage":
        text = lines[index]
        at = draw(st.integers(min_value=0, max_value=len(text)))
        lines[index] = text[:at] + draw(st.text(min_size=1, max_size=3)) + text[at:]
    elif kind == "retype":
        key = lines[index].split(":")[0]
        lines[index] = f"{key}: {draw(st.sampled_from(['[1, 2]', '{a: 1}', 'null', '3.5', 'yes', '&x *x']))}"
    elif kind == "indent":
        lines[index] = " " * draw(st.integers(1, 3)) + lines[index]
    else:
        lines = lines[:index]
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None)
@given(corruptions())
def test_corruptions_give_a_message_never_a_traceback(text):
    with tempfile.TemporaryDirectory() as folder:
        config_dir = Path(folder) / "environments"
        config_dir.mkdir()
        (config_dir / "test.yaml").write_text(text)
        result = CliRunner().invoke(cli, ["--config-dir", str(config_dir), "--out-dir", f"{folder}/out",
                                          "render", "test"])
        assert result.exit_code in (0, 1), result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        if result.exit_code == 1:  # one located error, or several, each on its own located line
            located = re.fullmatch(rf"Error: {re.escape(str(config_dir))}/test\.yaml:\d+: .+\n", result.output) or \
                re.fullmatch(rf"Error: \d+ errors in the configuration:\n(  {re.escape(str(config_dir))}/test\.yaml:\d+: "
                             r".+\n)+", result.output)
            assert located, result.output
            assert not (Path(folder) / "out").exists()
