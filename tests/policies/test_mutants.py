"""The mutation suite: every single-violation mutant of prod must fail with its rule.

Also the failing half of each rule's fixtures (test_policies.py holds the passing half).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator.config.loader import load_environment
from policies.engine import evaluate
from policies.expected import Expected
from generator.inventory import from_hcl
from policies.rules import rule_ids
from tests.conftest import ENVIRONMENTS, OUT
from tests.policies.mutants import MUTANTS, mutant_id

EXPECTED = Expected("prod", load_environment(ENVIRONMENTS, "prod").config)


def mutate(mutant, tmp_path: Path) -> Path:
    root = tmp_path / "prod"
    shutil.copytree(OUT / "prod", root, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    mutant.apply(root)
    return root


def test_the_catalogue_is_large_and_covers_every_rule():
    assert len(MUTANTS) >= 30
    assert set(rule_ids()) <= {m.rule for m in MUTANTS}, "a rule without a failing fixture is untested"
    assert len({mutant_id(m) for m in MUTANTS}) == len(MUTANTS)


@pytest.mark.parametrize("mutant", MUTANTS, ids=mutant_id)
def test_mutant_is_caught_by_its_rule(mutant, tmp_path):
    violations = evaluate(from_hcl(mutate(mutant, tmp_path)), EXPECTED)
    caught_by = {v.rule for v in violations}
    assert mutant.rule in caught_by, f"{mutant.name}: caught by {sorted(caught_by) or 'nothing'}"
    for violation in violations:
        if violation.rule == mutant.rule:
            assert violation.address and violation.message


def test_kill_rate_is_100_percent(tmp_path, capsys):
    killed = 0
    for index, mutant in enumerate(MUTANTS):
        rules = {v.rule for v in evaluate(from_hcl(mutate(mutant, tmp_path / str(index))), EXPECTED)}
        killed += mutant.rule in rules
    with capsys.disabled():
        print(f"\nmutation suite: {killed}/{len(MUTANTS)} mutants killed ({100 * killed / len(MUTANTS):.0f}%)")
    assert killed == len(MUTANTS)
