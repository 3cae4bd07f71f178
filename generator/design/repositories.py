"""The ECR repositories, shared and per project, and the lifecycle rules that decide which
images each keeps."""

from __future__ import annotations

from generator.config.models import Environment
from generator.design.model import LifecycleRule, Repository
from generator.design.naming import project_repository_name, shared_repository_name, tf_id


def shared_repositories(cfg: Environment) -> tuple[Repository, ...]:
    if not cfg.ecr.enabled:
        return ()
    return tuple(_repository(cfg, tf_id("shared", repo), shared_repository_name(cfg.company, repo),
                             cfg.ecr.image_retention)
                 for repo in cfg.ecr.shared_repos)


def project_repositories(cfg: Environment, team: str, name: str, stages: list[str]) -> tuple[Repository, ...]:
    """One repository per stage, keeping the project's image_retention (else the environment's)."""
    if not cfg.ecr.enabled:
        return ()
    retention = cfg.teams[team].projects[name].image_retention or cfg.ecr.image_retention
    return tuple(_repository(cfg, tf_id(name, stage), project_repository_name(cfg.company, team, name, stage),
                             retention)
                 for stage in stages)


def _repository(cfg: Environment, rid: str, name: str, retention: int) -> Repository:
    return Repository(rid, name, retention, image_lifecycle(cfg.ecr, retention))


def image_lifecycle(ecr, keep: int) -> tuple[LifecycleRule, ...]:
    """Untagged images go after D days; each release prefix keeps its own newest images, which
    the last rule can then never expire (ECR: an image a higher-priority rule selects by its
    tags is out of reach of lower ones); the last rule, on any tag, keeps the newest N of the rest."""
    releases = tuple(
        LifecycleRule(2 + index, f"Keep the {ecr.release_images_kept} most recent {prefix}* releases", "tagged",
                      "imageCountMoreThan", ecr.release_images_kept, prefix)
        for index, prefix in enumerate(ecr.release_tag_prefixes))
    return (
        LifecycleRule(1, f"Expire untagged images {ecr.untagged_expiry_days} days after their push", "untagged",
                      "sinceImagePushed", ecr.untagged_expiry_days),
        *releases,
        LifecycleRule(2 + len(releases), f"Keep the {keep} most recent of the other images", "any",
                      "imageCountMoreThan", keep),
    )
