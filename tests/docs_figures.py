"""The figures docs/policies.md quotes that the code decides (how many mutants, pairs, fixtures,
configurations): each computed here from the code, never copied by hand.

tests/test_docs_figures.py fails when the text and the code disagree;
`TFGEN_REGEN_DOCS=1 .venv/bin/python -m pytest -q -p no:cacheprovider tests/policies/test_checkov.py -k docs_table`
rewrites them along with the mutant table (`rewrite`). Figures only a run can measure (times,
test counts) are not here: they carry their command and date in the text instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from tests.conftest import REPO

POLICIES_DOC = REPO / "docs" / "policies.md"
REGENERATE = ("TFGEN_REGEN_DOCS=1 .venv/bin/python -m pytest -q -p no:cacheprovider tests/policies/test_checkov.py "
              "-k docs_table")


@dataclass(frozen=True)
class Figure:
    what: str
    pattern: re.Pattern  # one group per number, written in digits; \s+ where the text may wrap
    values: Callable[[], tuple[int, ...]]


def _mutants() -> tuple[int, ...]:
    from tests.policies.mutants import MUTANTS

    return len(MUTANTS), len(MUTANTS)


def _pairs() -> tuple[int, ...]:
    from tests.policies.test_mutants import rendered_kinds

    kinds = rendered_kinds()
    return len(kinds), len({template for template, _ in kinds})


def _configurations() -> tuple[int, ...]:
    from tests.policies.test_policies import VARIANTS

    return (len(VARIANTS),)


def _fixtures() -> tuple[int, ...]:
    from tests.policies.test_checkov import FIXTURE_FAILS

    passing = sum(1 for fails in FIXTURE_FAILS.values() if not fails)
    return len(FIXTURE_FAILS), passing, len(FIXTURE_FAILS) - passing


POLICIES_FIGURES = (
    Figure("the mutation suite's kill rate (tests/policies/mutants.py)",
           re.compile(r"kill\s+rate\s+\((\d+)\s+of\s+(\d+),\s+100%\)"), _mutants),
    Figure("the mutant table's last line (tests/policies/mutants.py)",
           re.compile(r"tfgen's\s+pack\s+caught\s+(\d+)\s+of\s+(\d+)\."), _mutants),
    Figure("the (template, resource type) pairs the examples render (tests/policies/test_mutants.py)",
           re.compile(r"(\d+)\s+pairs\s+over\s+(\d+)\s+templates"), _pairs),
    Figure("the other configurations every rule passes on (tests/policies/test_policies.py VARIANTS)",
           re.compile(r"of\s+(\d+)\s+other\s+configurations"), _configurations),
    Figure("checkov's fixture rule resources (tests/policies/test_checkov.py FIXTURE_FAILS)",
           re.compile(r"holds\s+(\d+)\s+rule\s+resources\s+\(the\s+plan's\s+(\d+)\s+rules,\s+and\s+(\d+)\s+ways"),
           _fixtures),
)


def stale(text: str, figures: tuple[Figure, ...] = POLICIES_FIGURES) -> list[str]:
    """What the text says that the code does not: each figure written exactly once, with the code's numbers."""
    problems = []
    for figure in figures:
        found = list(figure.pattern.finditer(text))
        if len(found) != 1:
            problems.append(f"{figure.what}: written {len(found)} times, not once ({figure.pattern.pattern})")
            continue
        written = tuple(int(n) for n in found[0].groups())
        if written != figure.values():
            problems.append(f"{figure.what}: the text says {written}, the code {figure.values()}")
    return problems


def rewrite(text: str, figures: tuple[Figure, ...] = POLICIES_FIGURES) -> str:
    """The text with each figure's numbers replaced by the code's (its words and line breaks kept)."""
    for figure in figures:
        values = figure.values()

        def replaced(match: re.Match) -> str:
            out, last = [], match.start()
            for index, value in enumerate(values, start=1):
                out += [match.string[last:match.start(index)], str(value)]
                last = match.end(index)
            return "".join(out) + match.string[last:match.end()]
        text = figure.pattern.sub(replaced, text)
    return text
