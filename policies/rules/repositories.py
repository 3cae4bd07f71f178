"""ECR repositories: lifecycle policies as the YAML says, immutable tags, scanning, KMS, no
force_delete (TFG-ECR-001 to 005)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from generator.read.inventory import Inventory, Resource, first_block
from policies.expected import Expected
from policies.rules.documents import json_document
from policies.rules.registry import Violation, at, rule


def _lifecycle_problems(policy: object, want: list[tuple]) -> list[str]:
    try:
        document = json_document(policy) if isinstance(policy, str) else policy
        rules = sorted(document["rules"], key=lambda r: r["rulePriority"])
        found = [(r["selection"].get("tagStatus"), tuple(r["selection"].get("tagPrefixList", ())),
                  r["selection"].get("countType"), r["selection"].get("countNumber")) for r in rules]
        units = {r["selection"].get("countUnit") for r in rules if r["selection"].get("countType") == "sinceImagePushed"}
        priorities = [r["rulePriority"] for r in rules]
    except (TypeError, ValueError, KeyError, AttributeError):
        return ["the lifecycle policy is not a document with rules tfgen can read"]
    problems = []
    if len(set(priorities)) != len(priorities):
        problems.append(f"rule priorities {priorities} repeat (ECR needs each once)")
    if any(status == "any" for status, *_ in found[:-1]):
        problems.append("a tagStatus any rule is not the last (ECR evaluates it last; a rule after it is dead)")
    if units - {"days"}:
        problems.append(f"count unit {sorted(units - {'days'})}; the YAML counts days")
    if found != want:
        problems.append(f"rules {found}; the YAML says {want} (tagStatus, prefixes, countType, countNumber, "
                        "in priority order)")
    return problems


@rule("TFG-ECR-001", "Every repository has exactly one lifecycle policy, as the YAML says: untagged images expire "
                     "after its days, each release tag prefix keeps its own newest images, and the build tag "
                     "prefix keeps the configured number of builds; no tagStatus any rule (it ranks every image).")
def lifecycle(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    expected = exp.repositories()
    policies: dict[tuple[str, str], list[Resource]] = {}
    for policy in inv.of_type("aws_ecr_lifecycle_policy"):
        target = policy.values.get("repository")
        repo = inv.find(policy.root, target)
        name = repo.values.get("name") if repo else target
        policies.setdefault((policy.root, str(name)), []).append(policy)
    for repo in inv.of_type("aws_ecr_repository"):
        name = str(repo.values.get("name"))
        attached = policies.get((repo.root, name), [])
        keep = expected.get(repo.root, {}).get(name)
        if len(attached) != 1:
            yield at("TFG-ECR-001", repo, f"{name} has {len(attached)} lifecycle policies (expected exactly one)")
            continue
        if keep is None:
            continue  # not a repository the YAML declares: TFG-NAME-002 reports it
        for problem in _lifecycle_problems(attached[0].values.get("policy"), exp.lifecycle_rules(keep)):
            yield at("TFG-ECR-001", attached[0], f"{name}: {problem}")


def _repositories_failing(rule_id: str, inv: Inventory, holds: Callable[[dict], bool],
                          problem: str) -> Iterator[Violation]:
    """One violation, saying problem, for each repository whose values do not hold."""
    for repo in inv.of_type("aws_ecr_repository"):
        if not holds(repo.values):
            yield at(rule_id, repo, problem)


@rule("TFG-ECR-002", "Repository tags are immutable.")
def immutable_tags(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    return _repositories_failing("TFG-ECR-002", inv, lambda v: v.get("image_tag_mutability") == "IMMUTABLE",
                                 "image_tag_mutability must be IMMUTABLE")


@rule("TFG-ECR-003", "Repositories scan images on push.")
def scan_on_push(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    return _repositories_failing(
        "TFG-ECR-003", inv, lambda v: first_block(v.get("image_scanning_configuration")).get("scan_on_push") is True,
        "image_scanning_configuration.scan_on_push must be true")


@rule("TFG-ECR-004", "Repositories are encrypted with KMS.")
def kms_encryption(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    return _repositories_failing(
        "TFG-ECR-004", inv, lambda v: first_block(v.get("encryption_configuration")).get("encryption_type") == "KMS",
        "encryption_configuration.encryption_type must be KMS")


@rule("TFG-ECR-005", "force_delete is never true (deleting a repository must not delete its images).")
def no_force_delete(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    return _repositories_failing("TFG-ECR-005", inv, lambda v: v.get("force_delete") in (False, None),
                                 "force_delete must not be true: it deletes every image")
