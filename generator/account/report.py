"""The one report of the live commands (preflight, verify, accept): what each checked, in
one vocabulary, as a table for people or as JSON for tools. Each command decides only what
to ask the account; how an answer is worded and shown is here.

The vocabulary, the same for every command:

    PASS  as the YAML and the plan need it
    WARN  works, but the account holds something worth a look (an existing role's own
          policies reaching other projects, a route table no private subnet uses)
    FAIL  not as needed; the command exits 1
    SKIP  nothing to try (accept with ECR off: no image to register a model on)

verify's former OK, MISSING and DIFFERENT are PASS, FAIL with the detail `missing`, and FAIL
with the detail `different: ...`.

The JSON holds exactly what the table shows, field for field (the table's colours are the
command line's: generator/cli/account.py paints the status column, nothing here knows of a terminal).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

PASS, WARN, FAIL, SKIP = "PASS", "WARN", "FAIL", "SKIP"
STATUSES = (PASS, WARN, FAIL, SKIP)
STATUS_WIDTH = len("STATUS")


@dataclass(frozen=True)
class Result:
    what: str  # what was checked, e.g. "vpc dns", "security group acme-sm-training"
    status: str  # one of STATUSES
    detail: str = ""  # what was found
    fix: str = ""  # what to do, in words: a YAML switch to set, or a change in AWS
    module: str = ""  # the part of the plan it belongs to: network, iam, ecr, registry, logs, alarms, cleanup
    # The YAML switch of the fix, for tools (preflight): its path in the environment file and its value.
    switch_path: tuple[str, ...] = ()
    switch_value: object = None


def switch(check: str, status: str, found: str, path: tuple[str, ...], value: object) -> Result:
    """A check whose fix is a YAML switch (preflight's): the path and value, and the line to write."""
    return Result(check, status, found, f"set {'.'.join(path)}: {flow(value)}", switch_path=path, switch_value=value)


def flow(value: object) -> str:
    """The value as YAML on one line, to paste into the environment file."""
    import yaml

    return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10_000).strip().removesuffix("\n...")


def under(module: str, results: Iterable[Result]) -> list[Result]:
    """The results, filed under a module of the plan."""
    return [replace(r, module=module) for r in results]


@dataclass(frozen=True)
class Report:
    """One command's results, with the account and region they were read in."""

    command: str  # preflight, verify, accept
    env: str
    account: str
    region: str
    results: tuple[Result, ...]

    @property
    def failed(self) -> bool:
        return any(r.status == FAIL for r in self.results)

    def counts(self) -> dict[str, int]:
        return {status: sum(r.status == status for r in self.results) for status in STATUSES}

    def heading(self) -> str:
        return f"tfgen {self.command} {self.env}: account {self.account}, region {self.region}"

    def summary(self) -> str:
        counts = self.counts()
        return (f"{len(self.results)} check{'' if len(self.results) == 1 else 's'}: {counts[PASS]} passed, {counts[WARN]} warnings, {counts[FAIL]} failed, "
                f"{counts[SKIP]} skipped")


def table(report: Report, paint: Callable[[str], str] = lambda status: status) -> str:
    """The heading, a row a result (the fix, where there is one, on the line below, under the
    detail), and the counts. paint: the status as shown (the command line colours it)."""
    module_width = max([len("MODULE"), *(len(r.module) for r in report.results)])
    what_width = max([len("WHAT"), *(len(r.what) for r in report.results)])
    under_detail = " " * (STATUS_WIDTH + module_width + what_width + 6)
    lines = [report.heading(),
             f"{'STATUS'}  {'MODULE'.ljust(module_width)}  {'WHAT'.ljust(what_width)}  DETAIL"]
    for r in report.results:
        status = paint(r.status) + " " * (STATUS_WIDTH - len(r.status))
        lines.append(f"{status}  {r.module.ljust(module_width)}  {r.what.ljust(what_width)}  {r.detail}".rstrip())
        if r.fix:
            lines.append(f"{under_detail}fix: {r.fix}")
    lines.append(report.summary())
    return "\n".join(lines) + "\n"


def as_dict(result: Result) -> dict:
    return {"status": result.status, "module": result.module, "what": result.what, "detail": result.detail,
            "fix": result.fix, "switch_path": list(result.switch_path), "switch_value": result.switch_value}


def as_json(report: Report) -> str:
    return json.dumps({"command": report.command, "environment": report.env, "account": report.account,
                       "region": report.region, "passed": not report.failed, "counts": report.counts(),
                       "results": [as_dict(r) for r in report.results]}, indent=2) + "\n"
