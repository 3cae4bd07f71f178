"""Names: security groups, ECR repositories, model package groups and IAM roles, as the YAML
composes them and within AWS's limits (TFG-NAME-001 to 004)."""

from __future__ import annotations

from collections.abc import Iterator

from generator.config import aws_limits
from generator.read.inventory import Inventory
from policies.expected import Expected
from policies.rules.registry import Violation, at, rule


@rule("TFG-NAME-001", "Security groups are named {tag_prefix}-{role}, one for each of the five roles.")
def group_names(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    names = exp.group_names()
    for group in inv.of_type("aws_security_group"):
        name = group.values.get("name")
        if name not in names:
            yield at("TFG-NAME-001", group, f"group name {name!r} is not one of {', '.join(sorted(names))}")
    present = {g.values.get("name") for g in inv.of_type("aws_security_group")}
    for name in sorted(set(names) - present):
        yield Violation("TFG-NAME-001", "platform", None, None, f"no security group is named {name!r}")


@rule("TFG-NAME-002", "ECR repositories are {company}-sagemaker-shared/NAME or {company}-sm-{team}-{project}/STAGE, "
                      "exactly as configured, and fit AWS's repository name pattern.")
def repository_names(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    expected = exp.repositories()
    seen: dict[str, set[str]] = {}
    for repo in inv.of_type("aws_ecr_repository"):
        name = str(repo.values.get("name"))
        seen.setdefault(repo.root, set()).add(name)
        if not aws_limits.ECR_REPOSITORY_NAME.match(name) or len(name) > aws_limits.ECR_REPOSITORY_MAX:
            yield at("TFG-NAME-002", repo, f"{name!r} breaks AWS's repository name pattern")
        elif name not in expected.get(repo.root, {}):
            yield at("TFG-NAME-002", repo, f"{name!r} is not a repository the YAML declares for {repo.root}")
    for root, names in expected.items():
        for name in sorted(set(names) - seen.get(root, set())):
            yield Violation("TFG-NAME-002", root, None, None, f"repository {name!r} is missing")


@rule("TFG-NAME-003", "Each project has one model package group named {team}-{project}, "
                      "at most 63 characters of [a-zA-Z0-9-].")
def model_package_group_names(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    roots = exp.team_roots()
    seen: dict[str, set[str]] = {}
    for group in inv.of_type("aws_sagemaker_model_package_group"):
        name = str(group.values.get("model_package_group_name"))
        seen.setdefault(group.root, set()).add(name)
        if len(name) > aws_limits.MODEL_PACKAGE_GROUP_MAX or not aws_limits.MODEL_PACKAGE_GROUP_NAME.match(name):
            yield at("TFG-NAME-003", group, f"{name!r} breaks AWS's limit (at most 63 characters of [a-zA-Z0-9-])")
        elif name not in {p.group for p in roots.get(group.root, [])}:
            yield at("TFG-NAME-003", group, f"{name!r} is not {{team}}-{{project}} of a project of {group.root}")
    for root, projects in roots.items():
        for project in projects:
            if project.group not in seen.get(root, set()):
                yield Violation("TFG-NAME-003", root, None, None,
                                f"model package group {project.group!r} of {project.team}/{project.name} is missing")


@rule("TFG-NAME-004", "IAM role names fit AWS's limits: at most 64 characters of [A-Za-z0-9_+=,.@-].")
def role_names(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    for role in inv.of_type("aws_iam_role"):
        name = str(role.values.get("name", ""))
        if len(name) > aws_limits.IAM_ROLE_MAX or not aws_limits.IAM_ROLE_NAME.match(name):
            yield at("TFG-NAME-004", role, f"role name {name!r} ({len(name)} characters) breaks AWS's limits")
