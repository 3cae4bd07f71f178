"""What a rule is, what it finds, and the one way a rule joins the pack: the @rule decorator.

A check receives the inventory of one environment (from HCL or a plan) and what its YAML
expects, and yields Violations that name the resource, file:line and what was expected.
RULES holds the rules in the order they were registered, which is the order every report
lists their findings in (policies/rules/__init__.py imports the concern modules in that order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from generator.read.inventory import Inventory, Resource
from policies.expected import Expected


@dataclass(frozen=True)
class Violation:
    rule: str
    address: str
    file: str | None
    line: int | None
    message: str

    @property
    def location(self) -> str:
        if not self.file:
            return "-"
        return f"{self.file}:{self.line}" if self.line else self.file


Check = Callable[[Inventory, Expected], Iterator[Violation]]


@dataclass(frozen=True)
class PolicyRule:
    id: str
    statement: str
    check: Check


RULES: list[PolicyRule] = []


class DuplicateRule(ValueError):
    """Two checks registered under one rule ID: reports key findings and test cases by ID."""


def rule(rule_id: str, statement: str) -> Callable[[Check], Check]:
    """Register the decorated check as rule rule_id, after every rule registered before it."""
    def register(check: Check) -> Check:
        clash = next((known for known in RULES if known.id == rule_id), None)
        if clash is not None:
            raise DuplicateRule(f"rule ID {rule_id} is registered twice: by {_origin(clash.check)} and by "
                                f"{_origin(check)} (rule IDs must be unique)")
        RULES.append(PolicyRule(rule_id, statement, check))
        return check
    return register


def _origin(check: Check) -> str:
    return f"{check.__module__}.{check.__qualname__}"


def rule_ids() -> list[str]:
    return [r.id for r in RULES]


def at(rule_id: str, resource: Resource, message: str) -> Violation:
    return Violation(rule_id, resource.address, resource.file, resource.line, message)
