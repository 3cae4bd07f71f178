"""IAM policies checked against AWS's own catalogue of actions, resource types and condition keys.

parliament bundles that catalogue (AWS's Service Authorization Reference) and runs
offline. Every finding fails the gate: RESOURCE_MISMATCH (an action granted on a resource
it never applies to, so the grant silently does nothing), UNKNOWN_ACTION/PREFIX,
MALFORMED, MISMATCHED_TYPE, UNKNOWN_CONDITION_FOR_ACTION, and RESOURCE_STAR (* where the
action has a resource type it could be scoped to). A policy parliament cannot read fails too.
"""

from __future__ import annotations

import json
from functools import lru_cache


def findings(document: dict) -> list[str]:
    """Each finding as one line: ISSUE: detail."""
    return list(_findings(json.dumps(document, sort_keys=True)))


@lru_cache(maxsize=4096)
def _findings(text: str) -> tuple[str, ...]:
    from parliament import analyze_policy_string

    try:
        policy = analyze_policy_string(text, ignore_private_auditors=True)
    except Exception as exc:  # parliament cannot read some valid shapes (a list under Bool): fail closed
        return (f"UNREADABLE: parliament could not analyse this policy ({type(exc).__name__}: {exc}); "
                "write it in a shape it reads (e.g. a single condition value as a string)",)
    return tuple(f"{f.issue}: {_detail(f.detail)}" for f in policy.findings)


def _detail(detail: object) -> str:
    if isinstance(detail, list) and all(isinstance(d, dict) and "action" in d for d in detail):
        return "; ".join(f"{d['action']} needs Resource {d.get('required_format', '?')}" for d in detail)
    return str(detail)


@lru_cache(maxsize=1)
def _catalogue() -> dict:
    from parliament import iam_definition

    return {service["prefix"]: service for service in iam_definition}


def resource_types(action: str) -> list[str]:
    """The resource types AWS's catalogue lists for an action ([] : it is granted on * only)."""
    prefix, name = action.split(":", 1)
    for privilege in _catalogue()[prefix]["privileges"]:
        if privilege["privilege"].lower() == name.lower():
            return [r["resource_type"].rstrip("*") for r in privilege["resource_types"] if r["resource_type"]]
    raise KeyError(f"{action} is not in AWS's catalogue")
