"""The mutation suite: every single-violation mutant of prod must fail with its rule, and
the violation must name the mutated resource (or, for one deleted, its root and what is
missing). Also the failing half of each rule's fixtures (test_policies.py holds the passing
half), and the proof that every resource type and template tfgen renders has a mutant.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator.config.loader import load_environment
from generator.read.inventory import from_hcl
from policies.engine import evaluate
from policies.expected import Expected
from policies.rules import rule_ids
from tests.conftest import ENVIRONMENTS, EXAMPLE_ENVS, OUT, REPO
from tests.policies.mutants import MUTANTS, Mutant, mutant_id

EXPECTED = Expected("prod", load_environment(ENVIRONMENTS, "prod").config)


def mutate(mutant: Mutant, tmp_path: Path) -> Path:
    root = tmp_path / "prod"
    shutil.copytree(OUT / "prod", root, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    mutant.apply(root)
    return root


def test_the_catalogue_is_large_and_covers_every_rule():
    assert len(MUTANTS) >= 60
    assert set(rule_ids()) <= {m.rule for m in MUTANTS}, "a rule without a failing fixture is untested"
    assert len({mutant_id(m) for m in MUTANTS}) == len(MUTANTS)


@pytest.mark.parametrize("mutant", MUTANTS, ids=mutant_id)
def test_mutant_is_caught_by_its_rule_at_the_mutated_address(mutant, tmp_path):
    violations = evaluate(from_hcl(mutate(mutant, tmp_path)), EXPECTED)
    assert mutant.rule in {v.rule for v in violations}, \
        f"{mutant.name}: caught by {sorted({v.rule for v in violations}) or 'nothing'}"
    named = [v for v in violations if v.rule == mutant.rule and v.address == mutant.target
             and (mutant.mentions is None or mutant.mentions in v.message)]
    assert named, (f"{mutant.name}: {mutant.rule} reports "
                   f"{[(v.address, v.message) for v in violations if v.rule == mutant.rule]}, "
                   f"not {mutant.target}" + (f" mentioning {mutant.mentions!r}" if mutant.mentions else ""))


def _template(rendered_file: str) -> str:
    """out/ENV/teams/rc/iam.tf -> team/iam.tf.j2; providers, versions and backends are common."""
    parts = Path(rendered_file).parts
    name = parts[-1]
    if name in ("providers.tf", "versions.tf", "backend.tf", "imports.tf"):
        return f"common/{name}.j2"
    return f"{'platform' if parts[0] == 'platform' else 'team'}/{name}.j2"


def rendered_kinds() -> set[tuple[str, str]]:
    """(template, resource type or provider) for every block of every example environment."""
    kinds = set()
    for env in EXAMPLE_ENVS:
        inventory = from_hcl(OUT / env)
        kinds |= {(_template(r.file), r.type) for r in inventory.resources}
        kinds |= {(_template(p.file), "provider.aws") for p in inventory.providers}
    return kinds


def mutated_kinds() -> set[tuple[str, str]]:
    kinds = set()
    for mutant in MUTANTS:
        kind = "provider.aws" if mutant.target.endswith(":provider.aws") else mutant.resource_type
        if kind:
            kinds.add((_template(mutant.apply.file), kind))
    return kinds


def test_every_rendered_resource_type_and_template_has_a_mutant():
    rendered = rendered_kinds()
    assert len(rendered) >= 20  # the 18 resource types over 9 templates, and the provider
    assert {template for template, _ in rendered} >= {
        "platform/security_groups.tf.j2", "platform/vpc_endpoints.tf.j2", "platform/ecr.tf.j2",
        "platform/logs.tf.j2", "platform/alarms.tf.j2", "team/ecr.tf.j2", "team/endpoints.tf.j2",
        "team/iam.tf.j2", "team/model_registry.tf.j2", "common/providers.tf.j2"}
    for template, _ in rendered:
        assert (REPO / "templates" / template).is_file(), template
    missing = sorted(rendered - mutated_kinds())
    assert not missing, f"rendered but never mutated (no rule is proven on them): {missing}"


def test_kill_rate_is_100_percent(tmp_path, capsys):
    killed = 0
    for index, mutant in enumerate(MUTANTS):
        rules = {v.rule for v in evaluate(from_hcl(mutate(mutant, tmp_path / str(index))), EXPECTED)}
        killed += mutant.rule in rules
    with capsys.disabled():
        print(f"\nmutation suite: {killed}/{len(MUTANTS)} mutants killed ({100 * killed / len(MUTANTS):.0f}%)")
    assert killed == len(MUTANTS)
