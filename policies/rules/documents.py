"""The policy documents the rules read (IAM, KMS key and topic policies), parsed once, and the
shapes of their values. No rule is registered here."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator

from generator.read.inventory import Inventory, Resource

IAM_POLICY_ATTRIBUTES = {"aws_iam_role_policy": "policy", "aws_iam_policy": "policy", "aws_iam_role": "assume_role_policy",
                         "aws_sns_topic_policy": "policy"}
IDENTITY_POLICY_TYPES = ("aws_iam_role_policy", "aws_iam_policy")


@functools.lru_cache(maxsize=8192)
def json_document(text: str) -> object:
    """A JSON document, parsed once however many rules and resources read it (the same
    lifecycle policy is on every repository). Shared: rules only read it."""
    return json.loads(text)


def policies_of(inv: Inventory | list[Resource]) -> Iterator[tuple[Resource, dict | None]]:
    """(resource, its policy document, or None where it cannot be read) for every IAM, KMS key
    and topic policy."""
    for resource in inv.resources if isinstance(inv, Inventory) else inv:
        attribute = IAM_POLICY_ATTRIBUTES.get(resource.type) or ("policy" if resource.type == "aws_kms_key" else None)
        if attribute is None or resource.values.get(attribute) is None:
            continue
        raw = resource.values[attribute]
        try:
            document = json_document(raw) if isinstance(raw, str) else raw
        except ValueError:
            document = None
        yield resource, document if isinstance(document, dict) else None


def documents_of(inv: Inventory | list[Resource]) -> Iterator[tuple[Resource, dict, bool]]:
    """(resource, policy document, is_key_policy) for every policy that can be read (TFG-POL-004
    reports the others)."""
    for resource, document in policies_of(inv):
        if document is not None:
            yield resource, document, resource.type == "aws_kms_key"


def identity_documents(resources: Inventory | list[Resource]) -> list[tuple[Resource, dict]]:
    """(resource, document) for every identity policy (role policies and managed policies) that
    can be read: what AWS's catalogue analyses (TFG-IAM-004)."""
    return [(resource, document) for resource, document, _ in documents_of(resources)
            if resource.type in IDENTITY_POLICY_TYPES]


def as_list(value: object) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def statements_of(document: dict) -> list[dict]:
    return [s for s in as_list(document.get("Statement")) if isinstance(s, dict)]
