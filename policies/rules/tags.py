"""Cost allocation: who each resource's cost belongs to, as its tags tell AWS's cost allocation
reports (TFG-TAG-001).

A resource's tags in AWS are the provider's default_tags (TFG-PROV-002: Team is the root's
team, `platform` for the platform root) with the resource's own tags over them. Every resource
of a project that AWS can tag carries its own Project tag, the project as the YAML names it;
the platform's resources carry none, and no resource's own tags give it another team.
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.read.inventory import Inventory, Resource
from policies.expected import Expected, role_choice
from policies.rules.registry import Violation, at, rule

PLATFORM = "platform"

# The types of a project's resources AWS tags, with the attribute that names each (the name
# project_resources composes from the YAML). Lifecycle and role policies take no tags.
PROJECT_TAGGED = {
    "aws_ecr_repository": "name",
    "aws_sagemaker_model_package_group": "model_package_group_name",
    "aws_cloudwatch_log_group": "name",
    "aws_cloudwatch_metric_alarm": "alarm_name",
    "aws_iam_role": "name",
}


@rule("TFG-TAG-001", "Cost allocation: every resource of a project that AWS tags (its repositories, model package "
                     "group, endpoint log groups and alarms, the role tfgen creates) carries Project = the project "
                     "as the YAML names it; Team is its root's (the team's, or platform), from the provider's "
                     "default_tags (TFG-PROV-002), and no resource's own tags set another; the platform's resources "
                     "carry no Project tag.")
def cost_allocation(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    teams = {PLATFORM: PLATFORM, **{f"teams/{name}": name for name in exp.cfg.teams}}
    owners = project_resources(exp)
    for resource in inv.resources:
        team = teams.get(resource.root)
        if team is None:
            continue  # a root the YAML has no team for: TFG-PROV-001's
        own = resource.values.get("tags")
        if own is None:
            own = {}
        if not isinstance(own, dict):
            yield at("TFG-TAG-001", resource, f"tags = {own!r} is not a map of literal values: whose cost the "
                                              "resource is cannot be proven")
            continue
        if "Team" in own and own["Team"] != team:
            yield at("TFG-TAG-001", resource, f"tags set Team = {own['Team']!r} over the provider's default_tags: "
                                              f"its cost would be allocated away from {team}")
        if resource.root == PLATFORM:
            if "Project" in own:
                yield at("TFG-TAG-001", resource, f"a platform resource tagged Project = {own['Project']!r}: the "
                                                  "platform's costs are its own (Team = platform), no project's")
        elif resource.type in PROJECT_TAGGED:
            yield from _project_tag(resource, own, exp, team, owners.get(resource.root, {}))


def project_resources(exp: Expected) -> dict[str, dict[tuple[str, str], str]]:
    """Per team root, (resource type, name) -> the project (as the YAML names it) of every resource
    of a project AWS can tag: its repositories, its model package group, each endpoint's log group
    and alarms, and the role tfgen creates for it; names composed from the YAML as the plan does."""
    result: dict[str, dict[tuple[str, str], str]] = {root: {} for root in exp.rendered_team_roots()}
    for project in exp.projects():
        names = [("aws_ecr_repository", f"{exp.cfg.company}-sm-{project.team}-{project.name}/{stage}")
                 for stage in project.stages]
        names.append(("aws_sagemaker_model_package_group", project.group))
        for endpoint in project.endpoints:
            names.append(("aws_cloudwatch_log_group", f"/aws/sagemaker/Endpoints/{endpoint.name}"))
            if exp.cfg.alarms.enabled:
                names += [("aws_cloudwatch_metric_alarm", alarm) for alarm in exp.endpoint_alarms(endpoint)]
        role, _, created = role_choice(exp.cfg, project.team, project.name)
        if created:
            names.append(("aws_iam_role", role))
        result[f"teams/{project.team}"].update(dict.fromkeys(names, project.name))
    return result


def _project_tag(resource: Resource, own: dict, exp: Expected, team: str,
                 owners: dict[tuple[str, str], str]) -> Iterator[Violation]:
    name = resource.values.get(PROJECT_TAGGED[resource.type])
    want = owners.get((resource.type, name)) if isinstance(name, str) else None
    have = own.get("Project")
    if want is not None:
        if have is None:
            yield at("TFG-TAG-001", resource, f"no Project tag: it is {team}/{want}'s, so Project = {want!r}")
        elif have != want:
            yield at("TFG-TAG-001", resource, f"Project = {have!r}, but it is {team}/{want}'s: Project = {want!r}")
        return
    # Not a resource the YAML composes (TFG-NAME-*, TFG-MON-001 say so): at least one of the team's projects.
    projects = sorted(project for project, settings in exp.cfg.teams[team].projects.items() if not settings.retired)
    listed = ", ".join(projects) or "none left"
    if have is None:
        yield at("TFG-TAG-001", resource, f"no Project tag: a resource of {team}'s root is one of its projects' "
                                          f"({listed})")
    elif have not in projects:
        yield at("TFG-TAG-001", resource, f"Project = {have!r} is not a project of {team} ({listed})")
