"""One shape for a security group rule, whoever reads it: the design, HCL, a plan, or AWS.

A rule key is (direction, protocol, from_port, to_port, source) with protocol "-1" for all
traffic (then no ports) and source "self", "sg:ID" or a CIDR. `describe` words it the same
way for check, diff, verify and preflight; the readers below make keys from the design
(`designed_rule_key`), from HCL or a plan (`sg_rules`, over generator/inventory.py) and
from EC2 (`live_rule_key`). policies/expected.py states the rule sets again, on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.inventory import Inventory, Resource

ALL = "-1"
RULE_TYPES = {"aws_vpc_security_group_ingress_rule": "ingress", "aws_vpc_security_group_egress_rule": "egress"}

RuleKey = tuple[str, str, int | None, int | None, str]


def describe(key: RuleKey) -> str:
    """A rule as people say it: `ingress tcp/443 from 10.0.0.0/16`, `egress all traffic to itself`."""
    direction, protocol, low, high, source = key
    proto = "all traffic" if protocol == ALL else f"{protocol}/{low}" + ("" if low == high else f"-{high}")
    word = "from" if direction == "ingress" else "to"
    where = "itself" if source == "self" else source
    return f"{direction} {proto} {word} {where}"


def designed_rule_key(rule) -> RuleKey:
    """The key of a design.SgRule."""
    return (rule.direction, rule.protocol, rule.from_port, rule.to_port, "self" if rule.to_self else rule.cidr)


def live_rule_key(rule: dict, group_id: str) -> RuleKey:
    """The key of a rule as EC2's DescribeSecurityGroupRules returns it."""
    ref = (rule.get("ReferencedGroupInfo") or {}).get("GroupId")
    source = "self" if ref == group_id else (f"sg:{ref}" if ref else rule.get("CidrIpv4") or rule.get("CidrIpv6"))
    protocol = rule["IpProtocol"]
    ports = (None, None) if protocol == ALL else (rule.get("FromPort"), rule.get("ToPort"))
    return ("egress" if rule["IsEgress"] else "ingress", protocol, *ports, source)


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
