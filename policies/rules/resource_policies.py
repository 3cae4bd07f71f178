"""Resource policies and trust: no principal *, the alarm topic's key and topic policies,
execution roles' trust, and policies the gate cannot read (TFG-POL-001 to 004)."""

from __future__ import annotations

from collections.abc import Iterator

from generator.read.inventory import Inventory, first_block
from policies.expected import Expected
from policies.rules.documents import IAM_POLICY_ATTRIBUTES, as_list, documents_of, policies_of, statements_of
from policies.rules.registry import Violation, at, rule

PUBLISHERS = {"cloudwatch.amazonaws.com", "events.amazonaws.com"}  # alarms and EventBridge rules
KEY_USE_FOR_PUBLISHERS = {"kms:Decrypt", "kms:GenerateDataKey*"}


def _principals(statement: dict) -> list[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    if isinstance(principal, dict):
        return [str(name) for names in principal.values() for name in as_list(names)]
    return []


def _source_account(statement: dict) -> list:
    return as_list(first_block(first_block(statement.get("Condition")).get("StringEquals")).get("aws:SourceAccount"))


@rule("TFG-POL-001", "No policy anywhere (identity, trust, key, topic) names the principal *.")
def star_principal(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    for resource, document, _ in documents_of(inv):
        for statement in statements_of(document):
            if statement.get("Effect") == "Allow" and "*" in _principals(statement):
                yield at("TFG-POL-001", resource, f"statement {statement.get('Sid', '?')} allows anyone (Principal *)")


@rule("TFG-POL-002", "The alarm topic is encrypted with the platform's key (alias alias/{tag_prefix}-alarms); "
                     "the key's policy and the topic's allow exactly CloudWatch and EventBridge to publish (the "
                     "key's account-root statement aside), the topic's only from the environment's account.")
def alarm_topic_policies(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    if not exp.cfg.alarms.enabled:
        return
    root_principal = f"arn:aws:iam::{exp.cfg.account_id}:root"
    for topic in inv.of_type("aws_sns_topic"):
        key = inv.find(topic.root, topic.values.get("kms_master_key_id"))
        if key is None or key.type != "aws_kms_key":
            yield at("TFG-POL-002", topic, "the topic is not encrypted with the platform's KMS key (kms_master_key_id)")
    alias_name = f"alias/{exp.cfg.tag_prefix}-alarms"
    for alias in inv.of_type("aws_kms_alias"):
        key = inv.find(alias.root, alias.values.get("target_key_id"))
        if alias.values.get("name") != alias_name or key is None or key.type != "aws_kms_key":
            yield at("TFG-POL-002", alias, f"{alias.values.get('name')} -> {alias.values.get('target_key_id')}; "
                                           f"the platform key's alias is {alias_name}, on the key tfgen declares")
    for resource, document, key_policy in documents_of(inv):
        if not key_policy and resource.type != "aws_sns_topic_policy":
            continue
        publishers: set[str] = set()
        for statement in statements_of(document):
            principals = set(_principals(statement))
            if key_policy and principals == {root_principal}:
                continue  # AWS's default key policy: the account administers its own key
            name = statement.get("Sid", "?")
            if principals != PUBLISHERS:
                yield at("TFG-POL-002", resource, f"statement {name} allows {sorted(principals)}; only "
                                                  f"{sorted(PUBLISHERS)} publish alarms and events")
            publishers |= principals & PUBLISHERS
            actions = set(as_list(statement.get("Action")))
            allowed = KEY_USE_FOR_PUBLISHERS if key_policy else {"sns:Publish"}
            if not actions <= allowed:
                yield at("TFG-POL-002", resource, f"statement {name} allows {sorted(actions - allowed)}; the "
                                                  f"publishers need {sorted(allowed)} only")
            if not key_policy and _source_account(statement) != [exp.cfg.account_id]:
                yield at("TFG-POL-002", resource, f"statement {name} lacks StringEquals aws:SourceAccount = "
                                                  f"{exp.cfg.account_id} (another account's alarms could publish)")
        for missing in sorted(PUBLISHERS - publishers):
            yield at("TFG-POL-002", resource, f"{missing} is not allowed: its alarms or events would not reach "
                                              "the topic")


@rule("TFG-POL-003", "Every execution role tfgen creates trusts sagemaker.amazonaws.com only, for the environment's "
                     "account only (aws:SourceAccount).")
def execution_role_trust(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    for resource, document, _ in documents_of(inv):
        if resource.type != "aws_iam_role":
            continue
        for statement in statements_of(document):
            name = statement.get("Sid", "?")
            if _principals(statement) != ["sagemaker.amazonaws.com"]:
                yield at("TFG-POL-003", resource, f"statement {name} trusts {_principals(statement)}; an execution "
                                                  "role trusts sagemaker.amazonaws.com only")
            if _source_account(statement) != [exp.cfg.account_id]:
                yield at("TFG-POL-003", resource, f"statement {name} lacks StringEquals aws:SourceAccount = "
                                                  f"{exp.cfg.account_id}")


@rule("TFG-POL-004", "Every policy (identity, trust, key, topic) is a document the gate can read: one built from "
                     "a variable, a data source or a function cannot be proven, so it does not pass.")
def unreadable_policies(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    for resource, document in policies_of(inv):
        if document is None:
            text = str(resource.values.get(IAM_POLICY_ATTRIBUTES.get(resource.type, "policy")))
            yield at("TFG-POL-004", resource, f"the policy {text[:60]!r} is not a literal document (write it as "
                                              "jsonencode({...}), as tfgen does)")
