"""Property-based: random valid configurations render and pass the policies; random
corruptions of a valid configuration give exit 1 with a located message, never a traceback."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from generator import aws_limits
from generator.cli import cli
from generator.config.loader import load_environment
from generator.design import email_id
from generator.render import render, write
from policies.engine import evaluate
from policies.expected import Expected
from generator.inventory import from_hcl
from tests.conftest import MINIMAL

word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=6)
slug = st.lists(word, min_size=1, max_size=2).map("-".join)
hexid = st.text(alphabet="0123456789abcdef", min_size=17, max_size=17)
octet = st.integers(min_value=0, max_value=255)


@st.composite
def configurations(draw) -> dict:
    # A project runs as its team's existing role, names its own (by name or ARN), or has tfgen create one.
    role_choice = st.sampled_from([{}, {"execution_role": "existing-role"},
                                   {"execution_role": "arn:aws:iam::{account}:role/service-role/project-role"},
                                   {"create_execution_role": True, "data_buckets": ["ml-data.example"]}])
    project = st.tuples(st.fixed_dictionaries({}, optional={
        "image_retention": st.integers(min_value=1, max_value=500),
        "repos": st.lists(slug, min_size=1, max_size=3, unique=True),
        "endpoints": st.dictionaries(slug.map(lambda s: "ep-" + s), st.just({}), max_size=2),
    }), role_choice).map(lambda pair: {**pair[0], **pair[1]})
    teams = draw(st.dictionaries(slug, st.dictionaries(slug, project, min_size=1, max_size=3), min_size=1, max_size=3))
    config = {
        "company": draw(slug), "tag_prefix": draw(slug), "region": draw(st.sampled_from(sorted(aws_limits.REGIONS))),
        "account_id": draw(st.text(alphabet="0123456789", min_size=12, max_size=12)),
        "protected": draw(st.booleans()),
        "network": {
            "vpc_id": "vpc-" + draw(hexid), "vpc_cidr": f"10.{draw(octet)}.0.0/16",
            "private_subnet_ids": ["subnet-" + draw(hexid) for _ in range(draw(st.integers(1, 3)))],
            "route_table_ids": ["rtb-" + draw(hexid)],
        },
        "ecr": {"enabled": draw(st.booleans()), "shared_repos": draw(st.lists(slug, max_size=3, unique=True)),
                "image_retention": draw(st.integers(min_value=1, max_value=100))},
        "logs": {"retention_days": {"training_jobs": draw(st.sampled_from(aws_limits.LOG_RETENTION_DAYS))}},
        "vpc_endpoints": {"extra": draw(st.lists(st.sampled_from(aws_limits.OPTIONAL_INTERFACE_ENDPOINTS),
                                                 unique=True, max_size=3))},
        "teams": {team: {"execution_role": "team-role", "projects": projects} for team, projects in teams.items()},
    }
    for projects in teams.values():
        for settings_ in projects.values():
            if "{account}" in settings_.get("execution_role", ""):
                settings_["execution_role"] = settings_["execution_role"].format(account=config["account_id"])
    if draw(st.booleans()):
        # Addresses as people write them: plus-addressing, dots, hyphens (one subscription label each).
        email = st.builds("{}@{}.example".format, st.text(alphabet="abz09+.-_", min_size=1, max_size=12), slug)
        config["alarms"] = {"enabled": True, "emails": draw(st.lists(email, min_size=1, max_size=3,
                                                                     unique_by=email_id))}
    return config


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configurations())
def test_random_valid_configurations_render_and_pass_the_policies(config):
    # Composed names may collide or overflow (rc + fraud-detection vs rc-fraud + detection);
    # those are configuration errors tfgen must report, so they are not valid inputs here.
    names = [f"{t}-{p}" for t, team in config["teams"].items() for p in team["projects"]]
    endpoints = [e for team in config["teams"].values() for p in team["projects"].values()
                 for e in p.get("endpoints", {})]
    assume(len(set(names)) == len(names) and len(set(endpoints)) == len(endpoints))
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "environments").mkdir()
        (root / "environments" / "random.yaml").write_text(yaml.safe_dump(config))
        write(render(root / "environments", "random"), root / "out" / "random")
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
