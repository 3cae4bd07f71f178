"""tfgen diff: what a render would change, said in the platform's terms, then as Terraform.

Both sides are read the same way the policy gate reads them (generator/read/hcl.py): the committed
out/ENV, and a fresh render of the YAML in a temporary folder.
"""

from __future__ import annotations

import difflib
import json
import re
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from generator.render.orphans import orphaned_roots, previous_paths
from generator.render.templates import Rendered
from generator.render.writer import write
from generator.design.rule_key import describe as describe_rule

NOUNS = {
    "aws_ecr_repository": ("repository", "repositories"),
    "aws_ecr_lifecycle_policy": ("lifecycle policy", "lifecycle policies"),
    "aws_sagemaker_model_package_group": ("model package group", "model package groups"),
    "aws_iam_role": ("role", "roles"),
    "aws_iam_role_policy": ("role policy", "role policies"),
    "aws_cloudwatch_log_group": ("log group", "log groups"),
    "aws_cloudwatch_metric_alarm": ("alarm", "alarms"),
    "aws_security_group": ("security group", "security groups"),
    "aws_vpc_endpoint": ("VPC endpoint", "VPC endpoints"),
    "aws_sns_topic_subscription": ("alarm e-mail", "alarm e-mails"),
    "aws_cloudwatch_event_rule": ("event rule", "event rules"),
    "aws_cloudwatch_event_target": ("event target", "event targets"),
    "aws_sns_topic": ("alarm topic", "alarm topics"),
    "aws_sns_topic_policy": ("topic policy", "topic policies"),
    "aws_kms_key": ("KMS key", "KMS keys"),
    "aws_kms_alias": ("KMS alias", "KMS aliases"),
}
RULE_TYPES = ("aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule", "aws_security_group_rule")
SHOWN_CHANGES = 6


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
    from generator.read.inventory import Inventory, from_hcl
    from generator.read.sg_rules import sg_rules

    result = Diff()
    # What render refuses, said first: the rest is what it would change once the team is emptied.
    result.summary += [f"! {root}: its team is no longer in the YAML, but its root still manages resources: render "
                       "refuses to remove it until a render has emptied it (docs/safety.md, \"Nothing orphaned\")"
                       for root in orphaned_roots(rendered, previous_paths(out_env))]
    with tempfile.TemporaryDirectory() as folder:
        fresh = Path(folder) / rendered.env
        write(rendered, fresh)
        new = from_hcl(fresh)
        old = from_hcl(out_env) if out_env.is_dir() and any(out_env.rglob("*.tf")) else Inventory()
        result.files, result.terraform = _file_diff(out_env, fresh)
    retired_before = _retired({str(p.relative_to(out_env)): p.read_text() for p in out_env.rglob("retired.tf")}
                              if out_env.is_dir() else {})
    retired_after = _retired({path: text for path, text in rendered.files.items() if path.endswith("/retired.tf")})

    def index(inventory):
        return {(r.root, r.type, r.name): r for r in inventory.resources}

    before, after = index(old), index(new)
    added = {k: after[k] for k in after.keys() - before.keys()}
    removed = {k: before[k] for k in before.keys() - after.keys()}
    changed = {k: after[k] for k in after.keys() & before.keys()
               if (after[k].values, after[k].prevent_destroy) != (before[k].values, before[k].prevent_destroy)}

    # Projects own the resources labelled with their label; with `fraud` beside `fraud-detection`,
    # `fraud_detection_training` is fraud-detection's: the longest label wins.
    names: dict[tuple[str, str], str] = {}  # (root, label) -> team/project
    for inventory in (old, new):
        for r in inventory.of_type("aws_sagemaker_model_package_group"):
            team = r.root.split("/", 1)[1]
            group = str(r.values.get("model_package_group_name"))
            names[(r.root, r.name)] = f"{team}/{group[len(team) + 1:] if group.startswith(team + '-') else group}"
    for (root, project), addresses in (retired_before | retired_after).items():
        labels = [a.split(".", 1)[1] for a in addresses if a.startswith("aws_sagemaker_model_package_group.")]
        names.update({(root, label): project for label in labels})

    def owner(key: tuple[str, str, str]) -> tuple[str, str] | None:
        root, _, label = key
        found = [known for (r, known) in names if r == root and (label == known or label.startswith(known + "_"))]
        return (root, max(found, key=len)) if found else None

    claimed: set = set()
    kept = {(root, address) for (root, _), addresses in retired_after.items() for address in addresses}

    def is_kept(key: tuple[str, str, str]) -> bool:
        """A `removed` block keeps it: Terraform forgets it, and AWS keeps it."""
        return (key[0], f"{key[1]}.{key[2]}") in kept

    for sign, pool in (("+", added), ("-", removed)):
        by_project: dict[tuple[str, str], dict] = defaultdict(dict)
        for key, resource in pool.items():
            # An endpoint's resources are its own line's (its label is the endpoint's name, which may or may
            # not start with its project's).
            if (found := owner(key)) is not None and not _endpoint_of(resource):
                by_project[found][key] = resource
        for (root, label), resources in sorted(by_project.items()):
            claimed |= set(resources)
            types = Counter(k[1] for k in resources if k[1] != "aws_ecr_lifecycle_policy")
            project = names[(root, label)]
            if sign == "-" and all(is_kept(k) for k in resources
                                   if k[1] in ("aws_ecr_repository", "aws_sagemaker_model_package_group")):
                # Retired: what `removed` blocks keep stays in AWS; the rest (its role policy, a role tfgen
                # created) the apply deletes.
                staying = Counter(k[1] for k in resources if k[1] != "aws_ecr_lifecycle_policy" and is_kept(k))
                deleted = types - staying
                result.summary.append(f"- project {project} retired: {_counted(staying)} stay in AWS, no longer "
                                      "managed" + (f"; {_counted(deleted)} deleted by the apply" if deleted else ""))
            else:
                gone = " (apply destroys them)" if sign == "-" else ""
                result.summary.append(f"{sign} project {project}: {_counted(types)}{gone}")
        endpoints: dict[str, Counter] = defaultdict(Counter)
        retiring: set[str] = set()  # endpoints whose log group a `removed` block keeps
        for key, resource in pool.items():
            if key in claimed:
                continue
            endpoint = _endpoint_of(resource)
            if endpoint:
                if sign == "-" and is_kept(key):
                    retiring.add(f"{key[0]} {endpoint}")
                else:
                    endpoints[f"{key[0]} {endpoint}"][key[1]] += 1
                claimed.add(key)
        for where in sorted(endpoints.keys() | retiring):
            root, endpoint = where.split(" ", 1)
            if where in retiring:
                gone = f"; {_counted(endpoints[where])} deleted by the apply" if endpoints[where] else ""
                result.summary.append(f"- endpoint {endpoint} ({root}) retired: its log group stays in AWS, no longer "
                                      f"managed{gone}")
            else:
                gone = " (apply destroys them)" if sign == "-" else ""
                result.summary.append(f"{sign} endpoint {endpoint} ({root}): {_counted(endpoints[where])}{gone}")
    for (root, project), addresses in sorted(retired_before.items()):
        if (root, project) not in retired_after and ": endpoint " in project:
            owner_name, endpoint = project.split(": endpoint ")
            result.summary.append(f"- retired endpoint {endpoint} of {owner_name} ({root}): its removed block goes; "
                                  "its log group stays in AWS, unmanaged")
        elif (root, project) not in retired_after:
            result.summary.append(f"- retired project {project} ({root}): its {len(addresses)} removed blocks go; "
                                  "what they kept stays in AWS, unmanaged")

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
            result.summary.append(f"{sign} {_noun(key[1])} {_name_of(pool[key])} ({key[0]})")
    for key, resource in sorted(changed.items()):
        if key[1] in RULE_TYPES:
            continue
        was = before[key]
        changes = _changes(was.values, resource.values)
        if resource.prevent_destroy != was.prevent_destroy:
            changes.append(f"prevent_destroy: {str(was.prevent_destroy).lower()} -> "
                           f"{str(resource.prevent_destroy).lower()}")
        shown = changes[:SHOWN_CHANGES] + ([f"and {len(changes) - SHOWN_CHANGES} more"]
                                           if len(changes) > SHOWN_CHANGES else [])
        result.summary.append(f"~ {_noun(key[1])} {_name_of(resource)} ({key[0]}): {'; '.join(shown)}")
    return result


def _noun(kind: str) -> str:
    return NOUNS.get(kind, (kind,))[0]


def _name_of(resource) -> str:
    """How people name a resource: its AWS name, the service of an endpoint, the address of an
    e-mail, the repository of a lifecycle policy."""
    v = resource.values
    service = str(v.get("service_name") or "")
    if service:
        return service.rsplit(".", 2)[-1] if service.endswith(".studio") or service.endswith(".notebook") \
            else service.split(".", 3)[-1]
    for attribute in ("name", "model_package_group_name", "alarm_name", "endpoint", "repository"):
        if isinstance(v.get(attribute), str):
            return v[attribute]
    return resource.name


def _changes(old: object, new: object, path: str = "") -> list[str]:
    """Each changed value, `where: old -> new`, inside JSON documents too (a lifecycle policy's count)."""
    old, new = _decoded(old), _decoded(new)
    if isinstance(old, dict) and isinstance(new, dict):
        return [c for key in sorted(old.keys() | new.keys(), key=str)
                for c in _changes(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [c for i, (a, b) in enumerate(zip(old, new)) for c in _changes(a, b, f"{path}[{i}]")]
    if old == new:
        return []
    return [f"{path}: {_short(old)} -> {_short(new)}"]


def _decoded(value: object) -> object:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _short(value: object) -> str:
    text = "(none)" if value is None else json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


_RETIRED_HEADER = re.compile(r"^# (\S+/\S+?(?:: endpoint \S+)?) \(retired\)$", re.MULTILINE)


def _retired(files: dict[str, str]) -> dict[tuple[str, str], list[str]]:
    """(root, team/project, or team/project: endpoint NAME) -> the addresses a retired.tf keeps with
    `removed` blocks."""
    found: dict[tuple[str, str], list[str]] = {}
    for path, text in files.items():
        root = path.rsplit("/", 1)[0]
        headers = list(_RETIRED_HEADER.finditer(text))
        for header, following in zip(headers, headers[1:] + [None]):
            body = text[header.end(): following.start() if following else len(text)]
            found[(root, header.group(1))] = re.findall(r"^\s*from\s*=\s*(\S+)$", body, re.MULTILINE)
    return found


def _endpoint_of(resource) -> str | None:
    if resource.type == "aws_cloudwatch_log_group" and str(resource.values.get("name", "")).startswith(
            "/aws/sagemaker/Endpoints/"):
        return str(resource.values["name"]).rsplit("/", 1)[1]
    if resource.type == "aws_cloudwatch_metric_alarm":
        # An alarm on metric math names the endpoint in its queries' metrics.
        queries = resource.values.get("metric_query") or []
        metrics = [m for q in (queries if isinstance(queries, list) else [queries]) if isinstance(q, dict)
                   for m in (q.get("metric") if isinstance(q.get("metric"), list) else [q.get("metric")])]
        for dimensions in (resource.values.get("dimensions"), *(m.get("dimensions") for m in metrics if m)):
            if isinstance(dimensions, dict) and dimensions.get("EndpointName"):
                return dimensions["EndpointName"]
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
