"""The security groups: each group's designed rules exactly, port 8080, the internet, and how
rules are written (TFG-SG-001 to 004)."""

from __future__ import annotations

from collections.abc import Iterator

from generator.design.rule_key import describe as describe_rule
from generator.read.inventory import Inventory, Resource, first_block
from generator.read.sg_rules import blocks as _blocks
from generator.read.sg_rules import sg_rules
from policies.expected import ALL, ANYWHERE, Expected, Rule, expected_rules
from policies.rules.registry import Violation, at, rule

WORLD = {ANYWHERE, "::/0"}


def _role(exp: Expected, group: Resource | None) -> str | None:
    if group is None:
        return None
    return exp.group_names().get(group.values.get("name"))


@rule("TFG-SG-001", "Each of the five security groups has exactly its designed rules, none missing, none extra.")
def sg_rule_sets(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    designed = expected_rules(exp.cidr)
    groups = {role: g for g in inv.of_type("aws_security_group") if (role := _role(exp, g))}
    actual: dict[str, set[Rule]] = {role: set() for role in groups}
    for found in sg_rules(inv):
        role = _role(exp, found.group)
        if found.group is None:
            yield at("TFG-SG-001", found.resource, f"{describe_rule(found.key)} is attached to no group tfgen declares")
            continue
        if role is None:
            continue  # a group with an unexpected name: TFG-NAME-001 reports it
        if found.key not in designed[role]:
            yield at("TFG-SG-001", found.resource, f"unexpected rule on {role}: {describe_rule(found.key)}")
        actual[role].add(found.key)
    for role, rules in designed.items():
        if role not in groups:
            yield Violation("TFG-SG-001", f"platform:aws_security_group.{role.replace('-', '_')}", None, None,
                            f"the {exp.cfg.tag_prefix}-{role} group is missing")
            continue
        for missing in sorted(rules - actual[role], key=str):
            yield at("TFG-SG-001", groups[role], f"{role} is missing its rule: {describe_rule(missing)}")


def _covers(key: Rule, port: int) -> bool:
    _, protocol, low, high, _ = key
    if protocol == ALL:
        return True
    return protocol == "tcp" and low is not None and high is not None and low <= port <= high


@rule("TFG-SG-002", "TCP 8080 is open on the inference group only, and only from the VPC CIDR.")
def port_8080(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    for found in sg_rules(inv):
        direction, protocol, _, _, source = found.key
        if direction != "ingress" or not _covers(found.key, 8080):
            continue
        if protocol == ALL and source == "self":
            continue  # cluster traffic within training/processing, not a port opened to anyone
        role = _role(exp, found.group)
        if role != "inference":
            yield at("TFG-SG-002", found.resource, f"{describe_rule(found.key)} opens 8080 on {role or 'a group'} "
                                                   "(8080 belongs to the inference group only)")
        elif source != exp.cidr:
            yield at("TFG-SG-002", found.resource, f"{describe_rule(found.key)}: 8080 must come from the VPC CIDR "
                                                   f"{exp.cidr} only")


@rule("TFG-SG-003", "No ingress from 0.0.0.0/0 or ::/0; egress to the world only on TCP 443.")
def world(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    for found in sg_rules(inv):
        direction, protocol, low, high, source = found.key
        if source not in WORLD:
            continue
        if direction == "ingress":
            yield at("TFG-SG-003", found.resource, f"{describe_rule(found.key)}: no ingress from the internet")
        elif (protocol, low, high) != ("tcp", 443, 443):
            yield at("TFG-SG-003", found.resource, f"{describe_rule(found.key)}: egress to the internet is HTTPS (tcp/443) only")


@rule("TFG-SG-004", "Rules are aws_vpc_security_group_ingress_rule/_egress_rule resources only: "
                    "no inline blocks, no aws_security_group_rule, no dynamic blocks.")
def rule_form(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    for group in inv.of_type("aws_security_group"):
        for direction in ("ingress", "egress"):
            if _blocks(group.values.get(direction)):
                yield at("TFG-SG-004", group, f"inline {direction} block; write each rule as "
                                              f"aws_vpc_security_group_{direction}_rule")
    for legacy in inv.of_type("aws_security_group_rule"):
        yield at("TFG-SG-004", legacy, "aws_security_group_rule; use aws_vpc_security_group_ingress_rule/_egress_rule")
    for resource in inv.resources:
        for block in sorted(first_block(resource.values.get("dynamic"))):
            yield at("TFG-SG-004", resource, f'dynamic "{block}" block; rules must be written out, one resource each')
