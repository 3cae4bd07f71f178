"""tfgen diff: what a render would change, said in the platform's terms, then as Terraform.

Both sides are read the same way the policy gate reads them (tfparse): the committed
out/ENV, and a fresh render of the YAML in a temporary folder.
"""

from __future__ import annotations

import difflib
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from generator.render import Rendered, write

NOUNS = {
    "aws_ecr_repository": ("repository", "repositories"),
    "aws_ecr_lifecycle_policy": ("lifecycle policy", "lifecycle policies"),
    "aws_sagemaker_model_package_group": ("model package group", "model package groups"),
    "aws_iam_role": ("role", "roles"),
    "aws_iam_role_policy": ("role policy", "role policies"),
    "aws_cloudwatch_log_group": ("log group", "log groups"),
    "aws_cloudwatch_metric_alarm": ("alarm", "alarms"),
}
RULE_TYPES = ("aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule", "aws_security_group_rule")


@dataclass
class Diff:
    summary: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # paths relative to out/ENV that change
    terraform: str = ""


def _counted(types: Counter) -> str:
    parts = []
    for kind, (one, many) in NOUNS.items():
        if types.get(kind):
            parts.append(f"{types[kind]} {one if types[kind] == 1 else many}")
    others = sum(n for kind, n in types.items() if kind not in NOUNS)
    if others:
        parts.append(f"{others} other resource{'s' if others > 1 else ''}")
    return ", ".join(parts)


def diff(rendered: Rendered, out_env: Path) -> Diff:
    from policies.inventory import Inventory, from_hcl
    from policies.rules import describe_rule, sg_rules

    result = Diff()
    with tempfile.TemporaryDirectory() as folder:
        fresh = Path(folder) / rendered.env
        write(rendered, fresh)
        new = from_hcl(fresh)
        old = from_hcl(out_env) if out_env.is_dir() and any(out_env.rglob("*.tf")) else Inventory()
        result.files, result.terraform = _file_diff(out_env, fresh)

    def index(inventory):
        return {(r.root, r.type, r.name): r for r in inventory.resources}

    before, after = index(old), index(new)
    added = {k: after[k] for k in after.keys() - before.keys()}
    removed = {k: before[k] for k in before.keys() - after.keys()}
    changed = {k: after[k] for k in after.keys() & before.keys()
               if (after[k].values, after[k].prevent_destroy) != (before[k].values, before[k].prevent_destroy)}

    # Projects: each owns the resources whose labels start with its model package group's label.
    def projects(resources: dict) -> dict[tuple[str, str], str]:
        return {(k[0], k[2]): str(r.values.get("model_package_group_name")) for k, r in resources.items()
                if k[1] == "aws_sagemaker_model_package_group"}

    def owned(resources: dict, root: str, label: str) -> Counter:
        return Counter(k[1] for k in resources if k[0] == root and (k[2] == label or k[2].startswith(label + "_"))
                       and k[1] not in ("aws_ecr_lifecycle_policy",))

    claimed: set = set()
    for sign, pool in (("+", added), ("-", removed)):
        for (root, label), group in sorted(projects(pool).items()):
            team = root.split("/", 1)[1]
            name = group[len(team) + 1:] if group.startswith(team + "-") else group
            types = owned(pool, root, label)
            claimed |= {k for k in pool if k[0] == root and (k[2] == label or k[2].startswith(label + "_"))}
            result.summary.append(f"{sign} project {team}/{name}: {_counted(types)}")
        endpoints: dict[str, Counter] = defaultdict(Counter)
        for key, resource in pool.items():
            if key in claimed:
                continue
            endpoint = _endpoint_of(resource)
            if endpoint:
                endpoints[f"{key[0]} {endpoint}"][key[1]] += 1
                claimed.add(key)
        for where, types in sorted(endpoints.items()):
            root, endpoint = where.split(" ", 1)
            result.summary.append(f"{sign} endpoint {endpoint} ({root}): {_counted(types)}")

    # Security groups, rule by rule.
    def rules_by_group(inventory) -> dict[str, set]:
        grouped: dict[str, set] = defaultdict(set)
        for found in sg_rules(inventory):
            name = str(found.group.values.get("name")) if found.group else "?"
            grouped[name].add(found.key)
        return grouped

    old_rules, new_rules = rules_by_group(old), rules_by_group(new)
    for group in sorted(old_rules.keys() | new_rules.keys()):
        changes = [f"+ {describe_rule(k)}" for k in sorted(new_rules[group] - old_rules[group], key=str)]
        changes += [f"- {describe_rule(k)}" for k in sorted(old_rules[group] - new_rules[group], key=str)]
        if changes:
            result.summary.append(f"~ {group} group: {'; '.join(changes)}")
    claimed |= {k for k in (*added, *removed) if k[1] in RULE_TYPES}

    for sign, pool in (("+", added), ("-", removed)):
        for key in sorted(pool.keys() - claimed):
            result.summary.append(f"{sign} {key[0]}: {key[1]}.{key[2]}")
    for key, resource in sorted(changed.items()):
        if key[1] in RULE_TYPES:
            continue
        was = before[key]
        fields = sorted(k for k in resource.values.keys() | was.values.keys()
                        if resource.values.get(k) != was.values.get(k))
        if resource.prevent_destroy != was.prevent_destroy:
            fields.append("prevent_destroy")
        label = resource.values.get("name") or resource.values.get("model_package_group_name") or key[2]
        noun = NOUNS.get(key[1], (key[1],))[0]
        result.summary.append(f"~ {noun} {label} ({key[0]}): {', '.join(fields)}")
    return result


def _endpoint_of(resource) -> str | None:
    if resource.type == "aws_cloudwatch_log_group" and str(resource.values.get("name", "")).startswith(
            "/aws/sagemaker/Endpoints/"):
        return str(resource.values["name"]).rsplit("/", 1)[1]
    if resource.type == "aws_cloudwatch_metric_alarm":
        return (resource.values.get("dimensions") or {}).get("EndpointName")
    return None


def _file_diff(out_env: Path, fresh: Path) -> tuple[list[str], str]:
    paths = {str(p.relative_to(fresh)) for p in fresh.rglob("*.tf")}
    if out_env.is_dir():
        paths |= {str(p.relative_to(out_env)) for p in out_env.rglob("*.tf") if ".terraform" not in p.parts}
    changed, chunks = [], []
    for path in sorted(paths):
        old_file, new_file = out_env / path, fresh / path
        old_text = old_file.read_text().splitlines(keepends=True) if old_file.is_file() else []
        new_text = new_file.read_text().splitlines(keepends=True) if new_file.is_file() else []
        if old_text != new_text:
            changed.append(path)
            chunks.append("".join(difflib.unified_diff(old_text, new_text, f"a/{out_env / path}",
                                                       f"b/{out_env / path}")))
    return changed, "".join(chunks)
