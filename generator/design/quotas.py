"""What the account can hold: the roles and repositories an environment would create, and the
images each repository's lifecycle policy may keep, against the account's quotas
(`aws_quotas` in the YAML, AWS's defaults unless raised).

Checked from the configuration before the design is composed: 100,000 projects used to take
about 4 GB of memory and 911 MB of HCL before the apply failed at AWS's first refusal.
"""

from __future__ import annotations

from generator.config.loader import LoadedEnvironment
from generator.config.models import Environment, Project, Team
from generator.design.iam import role_choice
from generator.design.repositories import project_stages
from generator.errors import ConfigError, ConfigErrors


def _creates_role(team: Team, project: Project) -> bool:
    choice = role_choice(team, project)  # (existing role or None to create, whose choice, key)
    return choice is not None and choice[0] is None


def _existing_projects(cfg: Environment):
    """The projects whose resources exist in AWS: retired ones too where the environment keeps them."""
    for team in cfg.teams.values():
        for project in team.projects.values():
            if not project.retired or cfg.protected:
                yield team, project


def check_quotas(loaded: LoadedEnvironment) -> None:
    cfg = loaded.config
    quotas, problems = cfg.aws_quotas, []

    def refuse(path: tuple[str, ...], message: str) -> None:
        file, line = loaded.where(path)
        problems.append(ConfigError(file, line, ".".join(path), message))

    # A retired project's role goes even where its data stays (only stateful resources are kept).
    roles = sum(1 for team in cfg.teams.values() for project in team.projects.values()
                if not project.retired and _creates_role(team, project))
    if roles > quotas.iam_roles:
        refuse(("teams",), f"{roles:,} execution roles to create (create_execution_role), but the account "
                           f"holds at most {quotas.iam_roles:,} IAM roles in all (IAM quota \"Roles per account\"; "
                           "AWS's default 1,000, at most 5,000): share team roles, or raise the quota and set "
                           "aws_quotas.iam_roles")
    if cfg.ecr.enabled:
        repositories = len(cfg.ecr.shared_repos) + sum(len(project_stages(cfg, project))
                                                       for _, project in _existing_projects(cfg))
        if repositories > quotas.ecr_repositories:
            refuse(("teams",), f"{repositories:,} ECR repositories, but the region holds at most "
                               f"{quotas.ecr_repositories:,} (ECR quota \"Registered repositories\", AWS's default "
                               "10,000): fewer stages (repos), or raise the quota and set aws_quotas.ecr_repositories")
        releases = cfg.ecr.release_images_kept * len(cfg.ecr.release_tag_prefixes)
        builds = max([cfg.ecr.image_retention] + [p.image_retention or 0 for _, p in _existing_projects(cfg)])
        if releases + builds > quotas.ecr_images_per_repository:
            refuse(("ecr", "release_images_kept"),
                   f"the lifecycle policy keeps up to {releases + builds:,} images in a repository, untagged "
                   "ones and those of no prefix aside "
                   f"({cfg.ecr.release_images_kept:,} for each of {len(cfg.ecr.release_tag_prefixes)} release "
                   f"prefixes, {builds:,} builds), but a repository holds at most {quotas.ecr_images_per_repository:,} "
                   "(ECR quota \"Images per repository\", AWS's default 10,000): pushes would fail once it is full. "
                   "Keep fewer, or raise the quota and set aws_quotas.ecr_images_per_repository")
    if problems:
        raise problems[0] if len(problems) == 1 else ConfigErrors(problems)
