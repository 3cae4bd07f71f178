"""One shape for a security group rule, whoever reads it: the design, HCL, a plan, or AWS.

A rule key is (direction, protocol, from_port, to_port, source) with protocol "-1" for all
traffic (then no ports) and source "self", "sg:ID" or a CIDR. `describe` words it the same
way for check, diff, verify and preflight. Keys are made from the design
(`designed_rule_key`), from EC2's answers (`live_rule_key`) and from HCL or a plan
(generator/read/sg_rules.py). policies/expected.py states the rule sets again, on its own.
"""

from __future__ import annotations

ALL = "-1"

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
