"""The numbers the README and docs/ quote agree with the code that decides them: counted from the
code here (tests/docs_figures.py), never copied. Figures only a run can measure (times, how many
tests) are held to carrying their command and date, not to a value."""

from __future__ import annotations

import re

import pytest

from generator.config import models
from generator.design import model
from generator.errors import TfgenError
from generator.support import terraform
from tests import docs_figures
from tests.conftest import REPO
from tests.policies.mutants import MUTANTS

README = (REPO / "README.md").read_text()
TABLE_START, TABLE_END = "<!-- mutant-table:start -->", "<!-- mutant-table:end -->"


def words(text: str) -> str:
    return " ".join(text.split())


# --- docs/policies.md: what the mutation suite and the fixtures hold ------------------------------


def test_the_policies_docs_figures_are_the_codes():
    problems = docs_figures.stale(docs_figures.POLICIES_DOC.read_text())
    assert problems == [], f"docs/policies.md is stale: {problems}; run {docs_figures.REGENERATE}"


def test_the_mutant_table_has_a_row_per_mutant_in_order():
    text = docs_figures.POLICIES_DOC.read_text()
    table = text[text.index(TABLE_START):text.index(TABLE_END)]
    rows = [line.split(" | ")[0].removeprefix("| ") for line in table.splitlines()[3:] if line.startswith("| ")]
    assert rows == [mutant.name for mutant in MUTANTS], f"the mutant table is stale: run {docs_figures.REGENERATE}"


def test_a_stale_figure_is_seen_and_the_regeneration_rewrites_it():
    """The check itself can fail, and the rewrite keeps the words and line breaks around the numbers."""
    current = docs_figures.POLICIES_DOC.read_text()
    n = len(MUTANTS)
    old = re.sub(r"kill rate(\s+)\(\d+ of \d+, 100%\)", r"kill rate\1(78 of 78, 100%)", current)
    old = re.sub(r"holds \d+ rule(\s+)resources", r"holds 11 rule\1resources", old)
    assert old != current
    assert [p.split(":")[0] for p in docs_figures.stale(old)] == [
        "the mutation suite's kill rate (tests/policies/mutants.py)",
        "checkov's fixture rule resources (tests/policies/test_checkov.py FIXTURE_FAILS)"]
    assert f"the text says (78, 78), the code ({n}, {n})" in docs_figures.stale(old)[0]
    assert docs_figures.rewrite(old) == current
    assert "written 0 times" in docs_figures.stale(current.replace("pairs over", "pairs across"))[0]


# --- the oldest terraform: the roots' pins, the README, the docs, the error message ---------------


def _oldest(pin: str) -> str:
    """'>= 1.11.0, < 2.0.0' -> '1.11'"""
    major, minor, _ = re.fullmatch(r">= (\d+)\.(\d+)\.(\d+), < \d+\.\d+\.\d+", pin).groups()
    return f"{major}.{minor}"


def test_the_terraform_minimum_is_one_figure_everywhere(monkeypatch, tmp_path):
    with_bucket, local = _oldest(model.TERRAFORM_MIN_VERSION_WITH_LOCKFILE), _oldest(model.TERRAFORM_MIN_VERSION)
    assert (terraform.MINIMUM_VERSION, terraform.MINIMUM_VERSION_LOCAL_STATE) == (with_bucket, local)
    assert f"terraform {with_bucket}+ ({local}+ where no state bucket is set)" in README
    assert f"Terraform {with_bucket} or newer is required where it is set" in words(
        (REPO / "docs" / "real-account.md").read_text())
    monkeypatch.setenv("PATH", str(tmp_path))  # no terraform on it
    with pytest.raises(TfgenError) as caught:
        terraform.terraform_binary()
    assert caught.value.message == (f"terraform is not on the PATH (tfgen's roots need terraform >= {with_bucket}, "
                                    f"or >= {local} where no state bucket is set)")


# --- the README's configuration table: its defaults are the models' -------------------------------


def _cells(cell: str) -> list[str]:
    """'`build-`, 1,000, `[release-, v]`' -> ['build-', '1,000', '[release-, v]']: items part at a comma and a
    space outside [...] (1,000 is one number)."""
    return [item.strip() for item in re.split(r",\s+(?![^\[]*\])", cell.replace("`", ""))]


def _shown(value: object) -> str:
    """A model's default as the README writes it."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return "all N"  # datapoints_to_alarm unset: every one of the evaluation periods
    if isinstance(value, list):
        return f"[{', '.join(value)}]" if value else "-"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@pytest.mark.parametrize("first_key, model_class", [
    ("ecr.build_tag_prefix", models.Ecr), ("logs.retention_days.processing_jobs", models.LogRetention),
    ("alarms.enabled", models.Alarms), ("aws_quotas.iam_roles", models.AwsQuotas)])
def test_the_readmes_defaults_are_the_models(first_key, model_class):
    section = first_key.rsplit(".", 1)[0]
    row = next(line for line in README.splitlines() if line.startswith(f"| `{first_key}`"))
    keys_cell, _, defaults_cell = row.strip("|").split(" | ")[:3]
    fields = [key.removeprefix(f"{section}.") for key in re.findall(r"`([^`]+)`", keys_cell)]
    written = [item.replace(",", "") if item.replace(",", "").isdigit() else item for item in _cells(defaults_cell)]
    assert written == [_shown(model_class.model_fields[f].default) for f in fields], row


# --- figures only a run measures: each carries its command and its date ---------------------------


def test_the_sandbox_times_say_how_and_when_each_was_measured():
    text = (REPO / "docs" / "sandbox.md").read_text()
    section = text.split("\n## Time\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| run ")]
    assert len(rows) >= 5
    for row in rows:
        what, _ = row.strip("|").rsplit(" | ", 1)
        assert re.search(r"`[^`]*(pytest|make|time)[^`]*`", what), f"no command: {row}"
        assert re.search(r"\b20\d\d-\d\d-\d\d\b", what), f"no date: {row}"
    count = re.search(r"([\d,]+) tests\s+\(`([^`]+)`, (20\d\d-\d\d-\d\d)", section)
    assert count and "--collect-only" in count.group(2), "the suite's size, with the command that counted it"
