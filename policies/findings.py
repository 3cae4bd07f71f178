"""What `tfgen check` found, from both tools, each where it was rendered and where in the YAML
it was declared, and what the environment's waivers make of it.

A finding is a violation of one of tfgen's rules or a failed checkov check. Each names its
rendered file and line and, where the design knows it, the YAML file and line the resource was
rendered from (generator/design/origins.py). The YAML is the primary place when the rendered
file is as tfgen wrote it (the manifest's hash): then the fix can only be made in the YAML.

Waivers (the environment's `waivers:`) accept one rule's finding on one resource until a date.
A waived finding does not fail the gate; an expired waiver does, naming its owner; a waiver
that matches no finding is reported, so that it is removed.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, replace

from generator.config.loader import LoadedEnvironment
from generator.config.models import Waiver
from generator.design.origins import Origins
from generator.errors import ConfigError


@dataclass(frozen=True)
class Finding:
    tool: str  # "tfgen" or "checkov"
    rule: str  # TFG-... or CKV_...
    root: str | None  # "platform", "teams/TEAM"; None: out/ENV as a whole
    address: str | None  # the Terraform address in its root (aws_x.y), None: the root, a file or a folder
    file: str | None  # the rendered file, relative to out/ENV
    line: int | None
    message: str
    subject: str = ""  # what the finding is about when it is no resource: a file, a folder
    title: str = ""  # what the check is (checkov's name of it)
    yaml_file: str | None = None
    yaml_line: int | None = None
    yaml_primary: bool = False  # the rendered file is as tfgen wrote it: the YAML is where to change it
    waiver: Waiver | None = None  # the waiver in force that accepts it

    @property
    def resource(self) -> str:
        """As a waiver names it: the root, then the Terraform address (teams/rc/aws_x.y)."""
        if self.root is None:
            return self.subject or "-"
        return f"{self.root}/{self.address}" if self.address else self.root

    @property
    def reference(self) -> str:
        """As the rules name it (teams/rc:aws_x.y), the form of `check --format json`'s `address`."""
        if self.root is None:
            return self.subject or "-"
        return f"{self.root}:{self.address}" if self.address else self.root

    @property
    def location(self) -> str:
        if not self.file:
            return "-"
        return f"{self.file}:{self.line}" if self.line else self.file

    @property
    def yaml_location(self) -> str:
        if not self.yaml_file:
            return "-"
        return f"{self.yaml_file}:{self.yaml_line}" if self.yaml_line else self.yaml_file


@dataclass(frozen=True)
class WaiverProblem:
    """An expired waiver (fails the gate) or one that matches nothing (reported)."""

    waiver: Waiver
    index: int  # its place in `waivers:`
    file: str
    line: int | None
    expired: bool

    @property
    def message(self) -> str:
        w = self.waiver
        if self.expired:
            return (f"the waiver of {w.rule} on {w.address} expired on {w.expires.isoformat()}: {w.owner} "
                    f"renews it (a later `expires`) or the finding is fixed; its reason was: {w.reason}")
        return (f"the waiver of {w.rule} on {w.address} (owner {w.owner}) matches no finding: "
                "remove it from the YAML")

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


def split_address(address: str) -> tuple[str | None, str | None, str]:
    """A violation's address (`teams/rc:aws_x.y`, `platform`, a folder, `.`) as root, address, subject."""
    root, _, local = address.partition(":")
    if root == "platform" or root.startswith("teams/"):
        return root, local or None, ""
    return None, None, address


def locate(findings: Iterable[Finding], loaded: LoadedEnvironment, origins: Origins,
           manifest: dict[str, str] | None, hashes: dict[str, str | None]) -> list[Finding]:
    """Each finding with the YAML file and line it was declared at, where there is one."""
    located = []
    for finding in findings:
        path = origins.of(finding.root, finding.address) if finding.root else None
        if path is None:
            located.append(finding)
            continue
        file, line = loaded.where(path)
        as_rendered = (finding.file is None or manifest is not None
                       and manifest.get(finding.file) is not None and manifest.get(finding.file) == hashes.get(finding.file))
        located.append(replace(finding, yaml_file=file, yaml_line=line, yaml_primary=as_rendered))
    return located


def apply_waivers(findings: list[Finding], loaded: LoadedEnvironment, known_rules: set[str], checkov_ran: bool,
                  today: datetime.date) -> tuple[list[Finding], list[WaiverProblem]]:
    """The findings with the waivers in force on them, and the waivers that are expired or match nothing."""
    waivers = loaded.config.waivers
    seen: dict[tuple[str, str], int] = {}
    for index, waiver in enumerate(waivers):
        file, line = loaded.where(("waivers", index))
        if waiver.rule.startswith("TFG-") and waiver.rule not in known_rules:
            raise ConfigError(file, line, f"waivers.{index}.rule",
                              f"{waiver.rule} is not one of tfgen's rules (docs/policies.md lists them)")
        key = (waiver.rule, waiver.address)
        if key in seen:
            raise ConfigError(file, line, f"waivers.{index}",
                              f"a second waiver of {waiver.rule} on {waiver.address} (the first is waivers.{seen[key]})")
        seen[key] = index
    by_key = {(w.rule, w.address): w for w in waivers}
    matched: set[tuple[str, str]] = set()
    result = []
    for finding in findings:
        waiver = by_key.get((finding.rule, finding.resource))
        if waiver is None:
            result.append(finding)
            continue
        matched.add((finding.rule, finding.resource))
        result.append(replace(finding, waiver=waiver) if today <= waiver.expires else finding)
    problems = []
    for index, waiver in enumerate(waivers):
        expired = today > waiver.expires
        unmatched = (waiver.rule, waiver.address) not in matched and (checkov_ran or waiver.rule.startswith("TFG-"))
        if expired or unmatched:
            file, line = loaded.where(("waivers", index))
            problems.append(WaiverProblem(waiver, index, file, line, expired))
    return result, problems
