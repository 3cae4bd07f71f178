"""Run the policy pack (and checkov) over one environment: its findings, where each was declared
in the YAML, and what the waivers make of them (reported by policies/formats.py)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from generator.config.loader import LoadedEnvironment
from generator.design.origins import Origins, yaml_origins
from generator.errors import TfgenError
from generator.read.inventory import Inventory, Root, from_roots, read_roots
from generator.read.plan import merge_plan
from generator.read.sources import read_sources
from policies import checkov_runner, iam_catalogue
from policies.expected import Expected
from policies.findings import Finding, WaiverProblem, apply_waivers, locate, split_address
from policies.rules import RULES, Violation, prefetch, rule_ids

@dataclass
class Report:
    env: str
    out_env: Path
    rules_run: int
    resources_seen: int
    findings: list[Finding]
    plan_roots: list[str] = field(default_factory=list)
    checkov: checkov_runner.CheckovResult | None = None
    waiver_problems: list[WaiverProblem] = field(default_factory=list)

    @property
    def failing(self) -> list[Finding]:
        return [f for f in self.findings if f.waiver is None]

    @property
    def waived(self) -> list[Finding]:
        return [f for f in self.findings if f.waiver is not None]

    @property
    def expired_waivers(self) -> list[WaiverProblem]:
        return [p for p in self.waiver_problems if p.expired]

    @property
    def failed(self) -> bool:
        return bool(self.failing or self.expired_waivers or (self.checkov and not self.checkov.complete))


def check(loaded: LoadedEnvironment, out_env: Path, plans: tuple[Path, ...] = (), run_checkov: bool = True,
          today: datetime.date | None = None) -> Report:
    """The policy pack (and checkov) over out_env, the rendered Terraform of the loaded environment,
    its findings located in the YAML and judged against its waivers (as of `today`, UTC)."""
    env = loaded.name
    with iam_catalogue.loaded_aside():  # AWS's catalogue loads in another process while the HCL is read
        inventory = from_roots(_prefetched(read_roots(out_env)))
        inventory.sources = read_sources(out_env)  # what terraform reads there, and the manifest's word on it
        plan_roots = [merge_plan(inventory, plan, env, loaded.config.account_id) for plan in plans]
        expected = Expected(env, loaded.config)
        findings = [_from_violation(v) for v in evaluate(inventory, expected)]
        resources_seen = len(inventory.resources)
    result = checkov_runner.run(out_env, loaded.config.network.vpc_cidr) if run_checkov else None
    if result:
        findings += [_from_checkov(c) for c in result.findings]
        findings += [_from_checkov(c, inline_skip=True) for c in result.inline_skips]
    if findings:  # the design is composed only to say where a finding's resource was declared
        hashes = {s.path: s.sha256 for s in inventory.sources.files}
        findings = locate(findings, loaded, _origins(loaded), inventory.sources.manifest, hashes)
    findings, problems = apply_waivers(findings, loaded, set(rule_ids()), run_checkov,
                                       today or datetime.datetime.now(datetime.timezone.utc).date())
    return Report(env, out_env, len(RULES), resources_seen, findings, plan_roots, result, problems)


def _origins(loaded: LoadedEnvironment) -> Origins:
    from generator.design.builder import design

    try:
        return yaml_origins(design(loaded))
    except TfgenError:  # a YAML render would refuse: its findings keep their rendered place only
        return Origins({}, {})


def _from_violation(violation: Violation) -> Finding:
    root, address, subject = split_address(violation.address)
    return Finding("tfgen", violation.rule, root, address, violation.file, violation.line, violation.message,
                   subject=subject)


def _from_checkov(found: checkov_runner.CheckovFinding, inline_skip: bool = False) -> Finding:
    message = found.name
    if inline_skip:
        message = (f"skipped by an inline checkov:skip comment ({(found.skip_comment or '').strip() or 'no reason'}): "
                   f"{found.name}; rendered code carries no inline skip (docs/policies.md): to accept the finding "
                   "for a while, waive it in the YAML")
    return Finding("checkov", found.check_id, found.root if found.root != "." else None, found.resource, found.file,
                   found.line, message, subject=found.file, title=found.name)


def _prefetched(roots: Iterator[Root]) -> Iterator[Root]:
    """The roots as they are read, each root's identity policies handed to AWS's catalogue
    first: its process starts on them while the next roots are read."""
    for root in roots:
        prefetch(root.resources)
        yield root


def evaluate(inventory: Inventory, expected: Expected) -> list[Violation]:
    # Every rule is called first, then each one's violations read in order: a rule that hands
    # its work to another process (TFG-IAM-004) has it done while the others run here.
    pending = [policy_rule.check(inventory, expected) for policy_rule in RULES]
    return [violation for violations in pending for violation in violations]
