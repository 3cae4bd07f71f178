"""A check's report in the four formats: text for people; JSON, JUnit and SARIF for CI systems.

Every format names each finding's rendered file and line and the YAML file and line it was
declared at, keeps waived findings apart (JUnit `skipped`, SARIF `suppressions`), and reports
expired waivers (failing) and waivers that match nothing. SARIF holds one run per tool, tfgen's
and checkov's, so that code scanning shows both.
"""

from __future__ import annotations

import json
from xml.etree import ElementTree

from policies.engine import Report
from policies.findings import Finding, WaiverProblem
from policies.rules import RULES

FORMATS = ("text", "json", "junit", "sarif")
CHECKOV_URI = "https://www.checkov.io/5.Policy%20Index/terraform.html"
# What the report itself says of the waivers, beside the rules' findings.
WAIVER_EXPIRED = "waiver-expired"
WAIVER_UNMATCHED = "waiver-unmatched"


def _rendered(report: Report, finding: Finding) -> str:
    """The rendered file:line as a path the reader can open from where they ran tfgen."""
    return f"{report.out_env.as_posix()}/{finding.location}" if finding.file else "-"


def _waiver_note(finding: Finding) -> str:
    w = finding.waiver
    return f"{w.reason} ({w.owner}, until {w.expires.isoformat()})" if w else ""


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths)) + "  " + row[-1] for row in rows]


def as_text(report: Report) -> str:
    lines = []
    if report.failing:
        lines += _table([("RULE", "RESOURCE", "LOCATION", "DECLARED", "PROBLEM")] + [
            (f.rule, f.resource, _rendered(report, f), f.yaml_location, f.message) for f in report.failing])
        lines.append("")
    if report.waived:
        lines.append(f"Waived ({len(report.waived)}): not failing the gate until their waivers expire")
        lines += ["  " + row for row in _table([("RULE", "RESOURCE", "LOCATION", "DECLARED", "WAIVER")] + [
            (f.rule, f.resource, _rendered(report, f), f.yaml_location, _waiver_note(f)) for f in report.waived])]
        lines.append("")
    if report.waiver_problems:
        lines.append("Waivers:")
        lines += [f"  {p.location}: {'EXPIRED' if p.expired else 'unused'}: {p.message}" for p in report.waiver_problems]
        lines.append("")
    if report.checkov:
        lines.append(report.checkov.summary())
    source = f"plans for {', '.join(report.plan_roots)}, HCL for the rest" if report.plan_roots else "HCL"
    count = len(report.failing)
    summary = (f"{report.env}: {report.rules_run} rules run, {report.resources_seen} resources seen ({source}), "
               f"{count} violation{'' if count == 1 else 's'}")
    if report.waived:
        summary += f", {len(report.waived)} waived"
    if report.expired_waivers:
        summary += f", {len(report.expired_waivers)} expired waiver{'' if len(report.expired_waivers) == 1 else 's'}"
    lines.append(summary)
    return "\n".join(lines) + "\n"


def _finding_json(report: Report, finding: Finding) -> dict:
    return {
        "rule": finding.rule, "address": finding.reference, "file": finding.file, "line": finding.line,
        "message": finding.message, "tool": finding.tool, "resource": finding.resource,
        "yaml_file": finding.yaml_file, "yaml_line": finding.yaml_line,
        **({"waiver": {"reason": finding.waiver.reason, "owner": finding.waiver.owner,
                       "expires": finding.waiver.expires.isoformat()}} if finding.waiver else {}),
    }


def _problem_json(problem: WaiverProblem) -> dict:
    return {"status": "expired" if problem.expired else "unmatched", "rule": problem.waiver.rule,
            "resource": problem.waiver.address, "owner": problem.waiver.owner,
            "expires": problem.waiver.expires.isoformat(), "file": problem.file, "line": problem.line,
            "message": problem.message}


def as_json(report: Report) -> str:
    return json.dumps({
        "environment": report.env,
        "rules_run": report.rules_run,
        "resources_seen": report.resources_seen,
        "violations": [_finding_json(report, f) for f in report.failing],
        "waived": [_finding_json(report, f) for f in report.waived],
        "waivers": [_problem_json(p) for p in report.waiver_problems],
        "checkov": report.checkov.as_dict() if report.checkov else None,
        "passed": not report.failed,
    }, indent=2) + "\n"


def _junit_line(report: Report, finding: Finding) -> str:
    text = f"{finding.resource} ({_rendered(report, finding)}; declared at {finding.yaml_location}): {finding.message}"
    return text + (f" [waived: {_waiver_note(finding)}]" if finding.waiver else "")


def _junit_case(suite: ElementTree.Element, report: Report, classname: str, name: str,
                found: list[Finding]) -> int:
    """One test case: failed by a finding not waived, skipped when every finding is waived. 1 if it failed."""
    case = ElementTree.SubElement(suite, "testcase", classname=classname, name=name)
    failing = [f for f in found if f.waiver is None]
    if failing:
        failure = ElementTree.SubElement(case, "failure", message=f"{len(failing)} violation(s)")
        failure.text = "\n".join(_junit_line(report, f) for f in found)
    elif found:
        skipped = ElementTree.SubElement(case, "skipped", message=f"waived: {_waiver_note(found[0])}")
        skipped.text = "\n".join(_junit_line(report, f) for f in found)
    return 1 if failing else 0


def as_junit(report: Report) -> str:
    suite = ElementTree.Element("testsuite", name=f"tfgen check {report.env}")
    failures = tests = 0
    for policy_rule in RULES:
        found = [f for f in report.findings if f.tool == "tfgen" and f.rule == policy_rule.id]
        failures += _junit_case(suite, report, "tfgen.policies", f"{policy_rule.id}: {policy_rule.statement}", found)
        tests += 1
    if report.checkov:
        case = ElementTree.SubElement(suite, "testcase", classname="checkov", name="checkov --framework terraform")
        tests += 1
        if not report.checkov.complete:
            failures += 1
            ElementTree.SubElement(case, "failure", message=report.checkov.summary())
        by_check: dict[str, list[Finding]] = {}
        for finding in report.findings:
            if finding.tool == "checkov":
                by_check.setdefault(finding.rule, []).append(finding)
        for check_id, found in sorted(by_check.items()):
            failures += _junit_case(suite, report, "checkov", check_id, found)
            tests += 1
    if report.waiver_problems:
        case = ElementTree.SubElement(suite, "testcase", classname="tfgen.waivers", name="waivers in force")
        tests += 1
        expired = report.expired_waivers
        if expired:
            failures += 1
            failure = ElementTree.SubElement(case, "failure", message=f"{len(expired)} expired waiver(s)")
            failure.text = "\n".join(f"{p.location}: {p.message}" for p in expired)
        unused = [p for p in report.waiver_problems if not p.expired]
        if unused:
            ElementTree.SubElement(case, "system-out").text = "\n".join(f"{p.location}: {p.message}" for p in unused)
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def _physical(uri: str, line: int | None) -> dict:
    return {"physicalLocation": {"artifactLocation": {"uri": uri}, **({"region": {"startLine": line}} if line else {})}}


def _sarif_result(report: Report, finding: Finding) -> dict:
    rendered = _physical(f"{report.out_env.as_posix()}/{finding.file or ''}".rstrip("/"), finding.line)
    declared = _physical(finding.yaml_file, finding.yaml_line) if finding.yaml_file else None
    # The primary location is where the change is made: the YAML, unless the rendered file was edited.
    primary, related = (declared, rendered) if declared and finding.yaml_primary else (rendered, declared)
    result: dict = {"ruleId": finding.rule, "level": "error", "message": {"text": f"{finding.resource}: {finding.message}"},
                    "locations": [primary]}
    if related:
        what = "rendered here" if related is rendered else "declared here, in the YAML"
        result["relatedLocations"] = [{"id": 1, **related, "message": {"text": what}}]
    if finding.waiver:
        result["suppressions"] = [{"kind": "external", "status": "accepted",
                                   "justification": _waiver_note(finding)}]
    return result


def _waiver_result(problem: WaiverProblem) -> dict:
    return {"ruleId": WAIVER_EXPIRED if problem.expired else WAIVER_UNMATCHED,
            "level": "error" if problem.expired else "warning",
            "message": {"text": problem.message}, "locations": [_physical(problem.file, problem.line)]}


def as_sarif(report: Report) -> str:
    tfgen_rules = [{"id": r.id, "shortDescription": {"text": r.statement}} for r in RULES] + [
        {"id": WAIVER_EXPIRED, "shortDescription": {"text": "A waiver in the YAML has expired: renew it or fix the finding."}},
        {"id": WAIVER_UNMATCHED, "shortDescription": {"text": "A waiver in the YAML matches no finding: remove it."}}]
    # Code scanning keeps one analysis per tool and category: the environment is the category,
    # so each environment's log replaces only its own last one.
    category = {"id": f"tfgen-check/{report.env}/"}
    runs = [{
        "tool": {"driver": {"name": "tfgen", "rules": tfgen_rules}},
        "automationDetails": category,
        "results": [_sarif_result(report, f) for f in report.findings if f.tool == "tfgen"]
                   + [_waiver_result(p) for p in report.waiver_problems],
    }]
    if report.checkov:
        checkov_findings = [f for f in report.findings if f.tool == "checkov"]
        names = {f.rule: f.title for f in checkov_findings}
        runs.append({
            "tool": {"driver": {"name": "checkov", "version": report.checkov.version, "informationUri": CHECKOV_URI,
                                "rules": [{"id": rule_id, "shortDescription": {"text": names[rule_id]}}
                                          for rule_id in sorted(names)]}},
            "automationDetails": category,
            "results": [_sarif_result(report, f) for f in checkov_findings],
        })
    return json.dumps({"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0", "runs": runs},
                      indent=2) + "\n"


FORMATTERS = {"text": as_text, "json": as_json, "junit": as_junit, "sarif": as_sarif}
