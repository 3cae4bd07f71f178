"""Cost allocation (TFG-TAG-001): the tags AWS gives each rendered resource, the provider's
default_tags with the resource's own over them, name its team and, for a project's resources,
its project. The expectations are composed here from the YAML as the plan names things; the
mutants in mutants.py are the rule's failing fixtures, these its passing ones and its edges.
"""

from __future__ import annotations

import pytest

from generator.config.loader import load_environment
from generator.read.inventory import Inventory, Resource, first_block, from_hcl
from policies.expected import Expected
from policies.rules.tags import cost_allocation
from tests.conftest import ENVIRONMENTS, EXAMPLE_ENVS, OUT

# The types AWS tags that a project has, and the attribute that names each.
NAMED_BY = {"aws_ecr_repository": "name", "aws_sagemaker_model_package_group": "model_package_group_name",
            "aws_cloudwatch_log_group": "name", "aws_cloudwatch_metric_alarm": "alarm_name", "aws_iam_role": "name"}


def owners(env: str) -> dict[tuple[str, str], tuple[str, str]]:
    """(type, name) -> (team, project) of every taggable resource of a project, named as the
    plan and the README compose names from the YAML."""
    cfg = load_environment(ENVIRONMENTS, env).config
    owned: dict[tuple[str, str], tuple[str, str]] = {}
    for team, team_cfg in cfg.teams.items():
        for name, project in team_cfg.projects.items():
            if project.retired:
                continue
            stages = project.repos if project.repos is not None else cfg.ecr.project_repos
            owned |= {("aws_ecr_repository", f"{cfg.company}-sm-{team}-{name}/{stage}"): (team, name)
                      for stage in (stages if cfg.ecr.enabled else [])}
            owned[("aws_sagemaker_model_package_group", f"{team}-{name}")] = (team, name)
            for endpoint in project.endpoints:
                owned[("aws_cloudwatch_log_group", f"/aws/sagemaker/Endpoints/{endpoint}")] = (team, name)
                if cfg.alarms.enabled:
                    suffixes = ["5xx-rate", "p99-latency"]
                    if project.endpoints[endpoint].alarm_on_no_invocations:
                        suffixes.append("no-invocations")
                    owned |= {("aws_cloudwatch_metric_alarm", f"{cfg.tag_prefix}-{endpoint}-{s}"): (team, name)
                              for s in suffixes}
            if project.create_execution_role or (team_cfg.create_execution_role and not project.execution_role):
                owned[("aws_iam_role", f"{cfg.tag_prefix}-{team}-{name}-execution")] = (team, name)
    return owned


def effective_tags(inventory: Inventory, resource: Resource) -> dict:
    provider = next(p for p in inventory.providers if p.root == resource.root)
    return {**(first_block(provider.values.get("default_tags")).get("tags") or {}),
            **(resource.values.get("tags") or {})}


# Per environment, the project resources AWS tags: dev has alarms off (no alarm, 15);
# the others 20: 9 repositories, 3 groups, 2 endpoint log groups, 5 alarms, 1 created role.
TAGGED = {"dev": 15, "prod": 20, "staging": 20, "sandbox": 20}


@pytest.mark.parametrize("env", EXAMPLE_ENVS)
def test_every_project_resource_carries_its_team_and_project_and_the_platform_its_own(env):
    inventory = from_hcl(OUT / env)
    expected = owners(env)
    seen = set()
    for resource in inventory.resources:
        tags = effective_tags(inventory, resource)
        if resource.root == "platform":
            assert tags.get("Team") == "platform" and "Project" not in tags, resource.address
            continue
        team = resource.root.removeprefix("teams/")
        assert tags.get("Team") == team, resource.address
        if resource.type in NAMED_BY:
            key = (resource.type, resource.values[NAMED_BY[resource.type]])
            assert expected[key] == (team, tags.get("Project")), resource.address
            seen.add(key)
    assert seen == set(expected) and len(seen) == TAGGED[env]


EXPECTED = Expected("prod", load_environment(ENVIRONMENTS, "prod").config)


def rule_on(*resources: Resource) -> list[tuple[str, str]]:
    inventory = from_hcl(OUT / "prod")
    inventory.resources = [*inventory.resources, *resources]
    return [(v.address, v.message) for v in cost_allocation(inventory, EXPECTED)]


def test_the_committed_prod_render_passes():
    assert rule_on() == []


def test_tags_that_are_not_a_literal_map_cannot_be_proven():
    merged = Resource("teams/rc", "aws_ecr_repository", "extra", "teams/rc/extra.tf", 1,
                      {"name": "acme-sm-rc-fraud-detection/extra", "tags": "${merge(local.tags, {})}"})
    assert rule_on(merged) == [("teams/rc:aws_ecr_repository.extra", "tags = '${merge(local.tags, {})}' is not a map "
                                "of literal values: whose cost the resource is cannot be proven")]


def test_a_resource_the_yaml_does_not_compose_must_still_be_one_of_its_teams_projects():
    """Its name is TFG-NAME-002's to refuse; its cost still goes to a project of the team."""
    def repo(name: str, tags: dict) -> Resource:
        return Resource("teams/rc", "aws_ecr_repository", name, "teams/rc/extra.tf", 1,
                        {"name": f"acme-sm-rc-{name}/training", "tags": tags})
    found = rule_on(repo("own", {"Project": "fraud-detection"}), repo("other", {"Project": "recommendation-engine"}),
                    repo("none", {}))
    assert found == [
        ("teams/rc:aws_ecr_repository.other", "Project = 'recommendation-engine' is not a project of rc "
                                              "(anti-money-laundering, fraud-detection)"),
        ("teams/rc:aws_ecr_repository.none", "no Project tag: a resource of rc's root is one of its projects' "
                                             "(anti-money-laundering, fraud-detection)"),
    ]


def test_a_role_policy_takes_no_tags_and_is_not_asked_for_any():
    policy = Resource("teams/rc", "aws_iam_role_policy", "x", "teams/rc/iam.tf", 1, {"name": "x", "role": "r"})
    assert rule_on(policy) == []
