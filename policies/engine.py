"""Run the policy pack (and checkov) over one environment and report in the asked format."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from generator.config.loader import LoadedEnvironment
from policies import checkov_runner, iam_catalogue
from policies.expected import Expected
from generator.read.inventory import Inventory, Root, from_roots, read_roots
from generator.read.plan import merge_plan
from generator.read.sources import read_sources
from policies.rules import RULES, Violation, prefetch

FORMATS = ("text", "json", "junit", "sarif")


@dataclass
class Report:
    env: str
    out_env: Path
    rules_run: int
    resources_seen: int
    violations: list[Violation]
    plan_roots: list[str] = field(default_factory=list)
    checkov: checkov_runner.CheckovResult | None = None

    @property
    def failed(self) -> bool:
        return bool(self.violations) or bool(self.checkov and not self.checkov.ok)


def check(loaded: LoadedEnvironment, out_env: Path, plans: tuple[Path, ...] = (), run_checkov: bool = True) -> Report:
    """The policy pack (and checkov) over out_env, the rendered Terraform of the loaded environment."""
    env = loaded.name
    with iam_catalogue.loaded_aside():  # AWS's catalogue loads in another process while the HCL is read
        inventory = from_roots(_prefetched(read_roots(out_env)))
        inventory.sources = read_sources(out_env)  # what terraform reads there, and the manifest's word on it
        plan_roots = [merge_plan(inventory, plan, env, loaded.config.account_id) for plan in plans]
        expected = Expected(env, loaded.config)
        report = Report(env, out_env, len(RULES), len(inventory.resources), evaluate(inventory, expected),
                        plan_roots)
    if run_checkov:
        report.checkov = checkov_runner.run(out_env, loaded.config.network.vpc_cidr)
    return report


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


# --- formats -----------------------------------------------------------------------------


def as_text(report: Report) -> str:
    lines = []
    if report.violations:
        rows = [("RULE", "RESOURCE", "LOCATION", "PROBLEM")] + [
            (v.rule, v.address, _where(report, v), v.message) for v in report.violations]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines += ["  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths)) + "  " + row[3] for row in rows]
        lines.append("")
    if report.checkov:
        lines.append(report.checkov.summary())
        lines += [f"  {failure}" for failure in report.checkov.failures]
    source = f"plans for {', '.join(report.plan_roots)}, HCL for the rest" if report.plan_roots else "HCL"
    count = len(report.violations)
    lines.append(f"{report.env}: {report.rules_run} rules run, {report.resources_seen} resources seen ({source}), "
                 f"{count} violation{'' if count == 1 else 's'}")
    return "\n".join(lines) + "\n"


def _where(report: Report, violation: Violation) -> str:
    """file:line as a path the reader can open from where they ran tfgen."""
    return f"{report.out_env.as_posix()}/{violation.location}" if violation.file else "-"


def as_json(report: Report) -> str:
    return json.dumps({
        "environment": report.env,
        "rules_run": report.rules_run,
        "resources_seen": report.resources_seen,
        "violations": [v.__dict__ for v in report.violations],
        "checkov": report.checkov.as_dict() if report.checkov else None,
        "passed": not report.failed,
    }, indent=2) + "\n"


def as_junit(report: Report) -> str:
    suite = ElementTree.Element("testsuite", name=f"tfgen check {report.env}", tests=str(len(RULES)))
    failures = 0
    for policy_rule in RULES:
        case = ElementTree.SubElement(suite, "testcase", classname="tfgen.policies", name=f"{policy_rule.id}: "
                                                                                         f"{policy_rule.statement}")
        found = [v for v in report.violations if v.rule == policy_rule.id]
        if found:
            failures += 1
            failure = ElementTree.SubElement(case, "failure", message=f"{len(found)} violation(s)")
            failure.text = "\n".join(f"{v.address} ({v.location}): {v.message}" for v in found)
    if report.checkov:
        case = ElementTree.SubElement(suite, "testcase", classname="checkov", name="checkov --framework terraform")
        if not report.checkov.ok:
            failures += 1
            failure = ElementTree.SubElement(case, "failure", message=report.checkov.summary())
            failure.text = "\n".join(report.checkov.failures)
        suite.set("tests", str(len(RULES) + 1))
    suite.set("failures", str(failures))
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def as_sarif(report: Report) -> str:
    results = [{
        "ruleId": v.rule,
        "level": "error",
        "message": {"text": f"{v.address}: {v.message}"},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": f"{report.out_env.as_posix()}/{v.file or ''}".rstrip("/")},
            **({"region": {"startLine": v.line}} if v.line else {}),
        }}],
    } for v in report.violations]
    return json.dumps({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "tfgen", "rules": [
                {"id": r.id, "shortDescription": {"text": r.statement}} for r in RULES]}},
            "results": results,
        }],
    }, indent=2) + "\n"


FORMATTERS = {"text": as_text, "json": as_json, "junit": as_junit, "sarif": as_sarif}
