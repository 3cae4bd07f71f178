"""Providers: every root exists, pinned to the environment's account and region, with the
common tags (TFG-PROV-001 and 002)."""

from __future__ import annotations

from collections.abc import Iterator

from generator.read.inventory import Inventory, first_block
from policies.expected import Expected
from policies.rules.registry import Violation, rule


def _expected_roots(exp: Expected) -> dict[str, str]:
    return {"platform": "platform", **{root: root.split("/", 1)[1] for root in exp.rendered_team_roots()}}


@rule("TFG-PROV-001", "Every root exists and its aws provider pins allowed_account_ids to the environment's account "
                      "and region.")
def accounts(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    for root in sorted(_expected_roots(exp)):
        providers = [p for p in inv.providers if p.root == root]
        if root not in inv.roots:
            yield Violation("TFG-PROV-001", root, None, None, f"the root {root} is missing")
        elif len(providers) != 1:
            yield Violation("TFG-PROV-001", root, root, None, f"{len(providers)} aws provider blocks (expected one)")
        else:
            v = providers[0].values
            if v.get("allowed_account_ids") != [exp.cfg.account_id]:
                yield Violation("TFG-PROV-001", f"{root}:provider.aws", providers[0].file, providers[0].line,
                                f"allowed_account_ids = {v.get('allowed_account_ids')}; expected "
                                f"[{exp.cfg.account_id!r}]")
            if v.get("region") != exp.cfg.region:
                yield Violation("TFG-PROV-001", f"{root}:provider.aws", providers[0].file, providers[0].line,
                                f"region = {v.get('region')!r}; expected {exp.cfg.region!r}")


@rule("TFG-PROV-002", "Every root's provider sets the common tags: Company, Environment, Team, ManagedBy.")
def tags(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    roots = _expected_roots(exp)
    for provider in inv.providers:
        want = {"Company": exp.cfg.company, "Environment": exp.env, "Team": roots.get(provider.root, "?"),
                "ManagedBy": "tfgen"}
        have = first_block(provider.values.get("default_tags")).get("tags") or {}
        wrong = {k: have.get(k) for k, v in want.items() if have.get(k) != v}
        if wrong:
            yield Violation("TFG-PROV-002", f"{provider.root}:provider.aws", provider.file, provider.line,
                            f"default_tags differ: {wrong}; expected {want}")
