"""Log groups' retention (TFG-LOG-001)."""

from __future__ import annotations

from collections.abc import Iterator

from generator.config import aws_limits
from generator.read.inventory import Inventory
from policies.expected import Expected
from policies.rules.registry import Violation, at, rule


@rule("TFG-LOG-001", "Log group retention is exactly as configured and one of CloudWatch's allowed values.")
def log_retention(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    for group in inv.of_type("aws_cloudwatch_log_group"):
        days = group.values.get("retention_in_days")
        want = exp.log_retention(str(group.values.get("name")))
        if days not in aws_limits.LOG_RETENTION_DAYS:
            yield at("TFG-LOG-001", group, f"retention_in_days = {days} is not a CloudWatch value")
        elif want is not None and days != want:
            yield at("TFG-LOG-001", group, f"retention_in_days = {days}; the YAML says {want}")
