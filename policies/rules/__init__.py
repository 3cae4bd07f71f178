"""The rules of the platform, each with a stable ID, a one-line statement and a check.

A check receives the inventory of one environment (from HCL or a plan) and what its YAML
expects, and yields Violations that name the resource, file:line and what was expected.
Each concern's rules are a module of their own, each rule registered by @rule (registry.py).
"""

from policies.rules.registry import RULES, DuplicateRule, PolicyRule, Violation, rule, rule_ids

# Imported for their registrations, in this order: the order of RULES, and so of every
# report's findings (security groups, names, VPC endpoints, ECR, logs, IAM, resource policies
# and trust, monitoring, protection, providers, tags, provenance). A concern module imports no other.
from policies.rules import (security_groups, naming, endpoints, repositories, logs, iam,  # noqa: F401
                            resource_policies, monitoring, protection, providers, tags, provenance)
from policies.rules.documents import identity_documents
from policies.rules.iam import prefetch

__all__ = ["RULES", "DuplicateRule", "PolicyRule", "Violation", "identity_documents", "prefetch", "rule", "rule_ids"]
