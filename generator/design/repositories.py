"""The ECR repositories, shared and per project, and the lifecycle rules that decide which
images each keeps."""

from __future__ import annotations

from generator.config.models import Environment, Project
from generator.design.model import LifecycleRule, Repository
from generator.design.naming import project_repository_name, shared_repository_name, tf_id


def shared_repositories(cfg: Environment) -> tuple[Repository, ...]:
    if not cfg.ecr.enabled:
        return ()
    return tuple(_repository(cfg, tf_id("shared", repo), shared_repository_name(cfg.company, repo),
                             cfg.ecr.image_retention)
                 for repo in cfg.ecr.shared_repos)


def project_stages(cfg: Environment, project: Project) -> list[str]:
    """The project's repository stages: its own list, else the environment's."""
    return project.repos if project.repos is not None else cfg.ecr.project_repos


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
    """Untagged images go D days after their push; each release prefix, then the build prefix,
    keeps its own newest images. ECR ranks, for each rule, every image it selects, and never
    lets a rule expire an image a higher-priority rule selected (ECR user guide, "Lifecycle
    policy evaluation rules"): so a release is out of the build rule's reach, and the build
    rule counts build tags only, however many releases or untagged pushes come after them.
    No rule selects an image whose tags start with no prefix: the policy never expires one.
    (A last tagStatus any rule would rank every image, releases included, and expire each
    unselected one beyond its newest N: it cannot mean "N of the others".)"""
    releases = tuple(
        LifecycleRule(2 + index, f"Keep the {ecr.release_images_kept} most recent images tagged {prefix}*",
                      "tagged", "imageCountMoreThan", ecr.release_images_kept, prefix)
        for index, prefix in enumerate(ecr.release_tag_prefixes))
    return (
        LifecycleRule(1, f"Expire untagged images {ecr.untagged_expiry_days} days after their push", "untagged",
                      "sinceImagePushed", ecr.untagged_expiry_days),
        *releases,
        LifecycleRule(2 + len(releases), f"Keep the {keep} most recent images tagged {ecr.build_tag_prefix}*",
                      "tagged", "imageCountMoreThan", keep, ecr.build_tag_prefix),
    )
