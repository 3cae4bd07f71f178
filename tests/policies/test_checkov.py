"""checkov, from its own environment: clean on the render, its custom checks proven to run,
and measured against every mutant (the table in docs/policies.md).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from policies import checkov_runner
from tests import docs_figures
from tests.conftest import OUT, REPO
from tests.policies.mutants import MUTANTS, mutant_id

DOC = REPO / "docs" / "policies.md"
TABLE_START, TABLE_END = "<!-- mutant-table:start -->", "<!-- mutant-table:end -->"


@pytest.mark.parametrize("env", ["prod", "staging", "dev", "sandbox"])
def test_checkov_is_clean_on_the_render_and_its_custom_checks_ran(env):
    from generator.config.loader import load_environment
    from tests.conftest import ENVIRONMENTS

    cidr = load_environment(ENVIRONMENTS, env).config.network.vpc_cidr
    result = checkov_runner.run(OUT / env, cidr)
    assert result.failures == [] and result.failed == 0
    assert result.custom_missing == [] and result.parsing_errors == 0
    assert result.version == "3.3.30"
    assert result.complete and result.inline_skips == []


def test_a_custom_check_that_did_not_run_fails_the_gate():
    report = {"check_type": "terraform", "summary": {"passed": 3, "failed": 0, "skipped": 0, "parsing_errors": 0},
              "results": {"passed_checks": [{"check_id": "CKV_TFG_1"}, {"check_id": "CKV_AWS_23"}],
                          "failed_checks": []}}
    result = checkov_runner.parse(report)
    assert result.custom_missing == ["CKV_TFG_2", "CKV_TFG_3"]
    assert not result.complete
    from pathlib import Path

    from policies.engine import Report
    assert Report("prod", Path("out/prod"), 1, 1, [], checkov=result).failed
    assert "custom checks that did not run: CKV_TFG_2, CKV_TFG_3" in result.summary()


def test_a_checks_folder_without_init_loads_nothing(tmp_path):
    """The reason for the guard above: checkov says nothing when it loads no custom check."""
    folder = tmp_path / "checks"
    shutil.copytree(checkov_runner.CHECKS_DIR, folder, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
    completed = subprocess.run(
        [checkov_runner.find_checkov(), "-d", str(OUT / "prod"), "--config-file", str(checkov_runner.CONFIG),
         "--external-checks-dir", str(folder), "-o", "json", "--skip-download"],
        capture_output=True, text=True, env={**os.environ, "BC_SKIP_MAPPING": "TRUE"})
    assert checkov_runner.parse(json.loads(completed.stdout)).custom_missing == list(checkov_runner.CUSTOM_CHECKS)


def mutant_table(tmp_path: Path) -> str:
    """Run checkov once over every mutant (one folder each) and say which it catches."""
    for mutant in MUTANTS:
        root = tmp_path / mutant_id(mutant)
        shutil.copytree(OUT / "prod", root)
        mutant.apply(root)
    completed = subprocess.run(
        [checkov_runner.find_checkov(), "-d", str(tmp_path), "--config-file", str(checkov_runner.CONFIG),
         "--external-checks-dir", str(checkov_runner.CHECKS_DIR), "-o", "json", "--compact", "--skip-download"],
        capture_output=True, text=True,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "TFGEN_VPC_CIDR": "10.30.0.0/16"})
    failed = json.loads(completed.stdout)["results"]["failed_checks"]
    caught: dict[str, set[str]] = {}
    for check in failed:
        caught.setdefault(check["file_path"].strip("/").split("/")[0], set()).add(check["check_id"])
    rows = ["| mutant | tfgen rule | checkov (built-in and custom) |", "|---|---|---|"]
    for mutant in MUTANTS:
        ids = sorted(caught.get(mutant_id(mutant), set()))
        rows.append(f"| {mutant.name} | {mutant.rule} | {', '.join(ids) if ids else 'not caught'} |")
    missed = sum(1 for m in MUTANTS if not caught.get(mutant_id(m)))
    rows.append("")
    rows.append(f"checkov caught {len(MUTANTS) - missed} of {len(MUTANTS)} mutants; tfgen's pack caught "
                f"{len(MUTANTS)} of {len(MUTANTS)}.")
    return "\n".join(rows)


def test_docs_table_of_what_checkov_catches_is_current(tmp_path):
    table = mutant_table(tmp_path)
    text = DOC.read_text()
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    if os.environ.get("TFGEN_REGEN_DOCS"):  # the table, and the figures the prose quotes (tests/docs_figures.py)
        DOC.write_text(docs_figures.rewrite(text[:start] + "\n" + table + "\n" + text[end:]))
        text = DOC.read_text()
        start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    assert text[start:end].strip() == table, "docs/policies.md is stale: rerun with TFGEN_REGEN_DOCS=1"


# Each fixture rule resource (tests/policies/checkov_fixtures/main.tf) and the checks it must
# fail, written from the checks' statements (the plan's three rules); it passes the others.
FIXTURE_FAILS = {
    "training_all_from_self": set(),
    "inference_https_from_vpc": set(),
    "inference_8080_from_vpc": set(),
    "training_all_from_vpc": {"CKV_TFG_1", "CKV_TFG_3"},  # not self; opens 8080 on training
    "inference_all_from_self": {"CKV_TFG_1"},  # self-ingress on a group that is not a cluster
    "processing_all_from_training": {"CKV_TFG_1", "CKV_TFG_3"},  # from another group, 8080 included
    "inference_https_from_world": {"CKV_TFG_2"},
    "inference_https_from_wider": {"CKV_TFG_2"},
    "training_8080_from_vpc": {"CKV_TFG_3"},
    "inference_8080_from_world": {"CKV_TFG_3"},
    "processing_range_over_8080": {"CKV_TFG_3"},
    "studio_all_from_world": {"CKV_TFG_1", "CKV_TFG_2", "CKV_TFG_3"},
}


def test_each_custom_check_fails_and_passes_its_fixture_resources():
    """Every custom check has resources it must fail and resources it must pass: a check
    that always passes (or always fails) breaks this test."""
    result = subprocess.run(
        [checkov_runner.find_checkov(), "-d", str(Path(__file__).parent / "checkov_fixtures"),
         "--framework", "terraform", "--external-checks-dir", str(checkov_runner.CHECKS_DIR),
         "--check", ",".join(checkov_runner.CUSTOM_CHECKS), "-o", "json", "--skip-download"],
        capture_output=True, text=True,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "TFGEN_VPC_CIDR": "10.30.0.0/16"})
    results = json.loads(result.stdout)["results"]
    seen: dict[str, dict[str, str]] = {}
    for outcome, key in (("PASSED", "passed_checks"), ("FAILED", "failed_checks")):
        for check in results[key]:
            name = check["resource"].split(".", 1)[1]
            seen.setdefault(name, {})[check["check_id"]] = outcome
    expected = {name: {check: "FAILED" if check in fails else "PASSED" for check in checkov_runner.CUSTOM_CHECKS}
                for name, fails in FIXTURE_FAILS.items()}
    assert seen == expected
    for check in checkov_runner.CUSTOM_CHECKS:  # each check is proven in both directions
        outcomes = {verdicts[check] for verdicts in expected.values()}
        assert outcomes == {"PASSED", "FAILED"}, check
