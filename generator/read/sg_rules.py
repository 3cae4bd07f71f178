"""Security group rules as written in HCL or a plan, read into rule keys
(generator/design/rule_key.py), whatever form they were written in: the rule resources
tfgen renders, the older aws_security_group_rule, or inline blocks."""

from __future__ import annotations

from dataclasses import dataclass

from generator.design.rule_key import ALL, RuleKey
from generator.read.inventory import Inventory, Resource

RULE_TYPES = {"aws_vpc_security_group_ingress_rule": "ingress", "aws_vpc_security_group_egress_rule": "egress"}


@dataclass(frozen=True)
class FoundRule:
    """A rule as written in HCL or a plan, with the group it belongs to (None: none tfgen declares)."""

    resource: Resource
    group: Resource | None
    key: RuleKey


def _protocol(value: object) -> str:
    text = str(value).lower()
    return {"all": ALL, "-1": ALL, "6": "tcp", "17": "udp"}.get(text, text)


def _port(value: object) -> int | None:
    return None if value is None else int(value)


def sg_rules(inv: Inventory) -> list[FoundRule]:
    """Every rule on every group, whatever form it was written in."""
    found = []
    for resource in inv.of_type(*RULE_TYPES):
        v = resource.values
        group = inv.find(resource.root, v.get("security_group_id"))
        ref = inv.find(resource.root, v.get("referenced_security_group_id"))
        if ref is not None:
            source = "self" if group is not None and ref is group else f"sg:{ref.local_address}"
        else:
            source = v.get("cidr_ipv4") or v.get("cidr_ipv6") or v.get("prefix_list_id") or "?"
        key = (RULE_TYPES[resource.type], _protocol(v.get("ip_protocol")), _port(v.get("from_port")),
               _port(v.get("to_port")), source)
        found.append(FoundRule(resource, group, key))
    for resource in inv.of_type("aws_security_group_rule"):
        v = resource.values
        group = inv.find(resource.root, v.get("security_group_id"))
        sources = list(v.get("cidr_blocks") or []) + list(v.get("ipv6_cidr_blocks") or [])
        if v.get("self"):
            sources.append("self")
        for source in sources or ["?"]:
            key = (v.get("type", "?"), _protocol(v.get("protocol")), _port(v.get("from_port")),
                   _port(v.get("to_port")), source)
            found.append(FoundRule(resource, group, key))
    for group in inv.of_type("aws_security_group"):
        for direction in ("ingress", "egress"):
            for block in blocks(group.values.get(direction)):
                sources = list(block.get("cidr_blocks") or []) + list(block.get("ipv6_cidr_blocks") or [])
                if block.get("self"):
                    sources.append("self")
                for source in sources or ["?"]:
                    key = (direction, _protocol(block.get("protocol")), _port(block.get("from_port")),
                           _port(block.get("to_port")), source)
                    found.append(FoundRule(group, group, key))
    return found


def blocks(value: object) -> list[dict]:
    """Nested blocks (inline rules) as a list of dicts, whether the reader gave one or several."""
    if isinstance(value, dict):
        return [value]
    return [v for v in value or [] if isinstance(v, dict)]
