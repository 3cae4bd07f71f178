"""Protection: what holds state is kept from `terraform destroy` in protected environments
(TFG-PROT-001)."""

from __future__ import annotations

from collections.abc import Iterator

from generator.read.inventory import Inventory
from policies.expected import Expected
from policies.rules.registry import Violation, at, rule

STATEFUL_TYPES = ("aws_ecr_repository", "aws_sagemaker_model_package_group", "aws_cloudwatch_log_group")


@rule("TFG-PROT-001", "In protected environments, every ECR repository, model package group and log group has "
                      "prevent_destroy = true.")
def protected(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    if not exp.cfg.protected:
        return
    for resource in inv.of_type(*STATEFUL_TYPES):
        if not resource.prevent_destroy:
            yield at("TFG-PROT-001", resource, f"{exp.env} is protected: lifecycle {{ prevent_destroy = true }} "
                                               "is required")
