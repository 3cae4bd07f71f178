"""Run checkov from its own virtual environment over one rendered environment.

checkov pins bc-python-hcl2, whose `hcl2` module would overwrite python-hcl2's in a shared
environment, so it lives in .venv-checkov/ (made by `make checkov`), version pinned in
pyproject.toml ([tool.tfgen] checkov).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from generator.errors import TfgenError

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CHECKS_DIR = HERE / "checkov"
CONFIG = HERE / "checkov.yaml"
CUSTOM_CHECKS = ("CKV_TFG_1", "CKV_TFG_2", "CKV_TFG_3")
CHECKOV_ENV = "TFGEN_CHECKOV"


@dataclass(frozen=True)
class CheckovFinding:
    """One failed check of checkov's on one resource, or one an inline `checkov:skip` comment skipped."""

    check_id: str
    name: str
    resource: str  # the Terraform address in its root
    file: str  # relative to out/ENV
    line: int
    guideline: str | None = None
    skip_comment: str | None = None  # an inline skip's reason: rendered code carries none

    @property
    def root(self) -> str:
        return self.file.rsplit("/", 1)[0] if "/" in self.file else "."

    def __str__(self) -> str:
        return f"{self.check_id} {self.resource} {self.file}:{self.line}: {self.name}"


@dataclass
class CheckovResult:
    passed: int
    failed: int
    skipped: int
    parsing_errors: int
    version: str
    findings: list[CheckovFinding] = field(default_factory=list)
    inline_skips: list[CheckovFinding] = field(default_factory=list)
    custom_missing: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        return [str(f) for f in self.findings]

    @property
    def failed_ids(self) -> list[str]:
        return sorted({f.check_id for f in self.findings})

    @property
    def complete(self) -> bool:
        """checkov ran whole: every file parsed, tfgen's own checks among those run. Its findings,
        waived or not, are the report's to judge (policies/findings.py)."""
        return not self.parsing_errors and not self.custom_missing

    def summary(self) -> str:
        text = (f"checkov {self.version}: {self.passed} passed, {self.failed} failed, {self.skipped} skipped "
                f"(skips and reasons: {CONFIG.relative_to(REPO)})")
        if self.parsing_errors:
            text += f"; {self.parsing_errors} files could not be parsed"
        if self.custom_missing:
            text += f"; custom checks that did not run: {', '.join(self.custom_missing)}"
        return text

    def as_dict(self) -> dict:
        return {"passed": self.passed, "failed": self.failed, "skipped": self.skipped,
                "parsing_errors": self.parsing_errors, "version": self.version, "failures": self.failures,
                "failed_ids": self.failed_ids, "inline_skips": [str(s) for s in self.inline_skips],
                "custom_missing": self.custom_missing, "complete": self.complete}


def find_checkov() -> str:
    candidates = [os.environ.get(CHECKOV_ENV), str(REPO / ".venv-checkov" / "bin" / "checkov"), shutil.which("checkov")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise TfgenError("checkov is not installed: run `make checkov` (or set TFGEN_CHECKOV), or pass --no-checkov")


def run(out_env: Path, vpc_cidr: str) -> CheckovResult:
    command = [find_checkov(), "--directory", str(out_env), "--config-file", str(CONFIG),
               "--external-checks-dir", str(CHECKS_DIR), "--output", "json", "--compact", "--skip-download"]
    env = {**os.environ, "TFGEN_VPC_CIDR": vpc_cidr, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "ERROR"}
    completed = subprocess.run(command, capture_output=True, text=True, env=env)
    try:
        report = json.loads(completed.stdout)
    except ValueError:
        raise TfgenError(f"checkov gave no JSON report (exit {completed.returncode}): "
                         f"{completed.stderr.strip()[-2000:]}") from None
    return parse(report)


def parse(report: dict | list) -> CheckovResult:
    reports = report if isinstance(report, list) else [report]
    terraform = next((r for r in reports if r.get("check_type") == "terraform"), None)
    if terraform is None:  # checkov prints only a summary when it found nothing to check
        return CheckovResult(0, 0, 0, 0, "?", custom_missing=list(CUSTOM_CHECKS))
    results, summary = terraform["results"], terraform["summary"]
    ran = {c["check_id"] for key in ("passed_checks", "failed_checks") for c in results.get(key, [])}
    return CheckovResult(
        passed=summary["passed"], failed=summary["failed"], skipped=summary["skipped"],
        parsing_errors=summary["parsing_errors"], version=summary.get("checkov_version", "?"),
        findings=[_finding(c) for c in results.get("failed_checks", [])],
        # The skips of checkov.yaml never run, so checkov lists only inline comments' skips here.
        inline_skips=[_finding(c) for c in results.get("skipped_checks", [])],
        custom_missing=[c for c in CUSTOM_CHECKS if c not in ran],
    )


def _finding(check: dict) -> CheckovFinding:
    return CheckovFinding(
        check_id=check["check_id"], name=check.get("check_name") or "", resource=check["resource"],
        file=check["file_path"].lstrip("/"), line=(check.get("file_line_range") or [0])[0],
        guideline=check.get("guideline"),
        skip_comment=(check.get("check_result") or {}).get("suppress_comment"),
    )
