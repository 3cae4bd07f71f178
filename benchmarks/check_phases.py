"""Where one check's time goes: `python -m benchmarks.check_phases [PROJECTS]` (default 1,000).

Times the work of `tfgen check --no-checkov` phase by phase, in this one process and one
phase after the other (so each figure is that phase's CPU, not its share of the parallel
run): loading AWS's IAM catalogue, parsing every file by the fast path and, for comparison,
by HashiCorp's parser, the reader's own work around the parse, TFG-IAM-004's analysis, and
every other rule.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from benchmarks.synthetic import write_config
from generator.read import hcl_fast_path
from generator.config.loader import load_environment
from generator.read.hcl import unwrap_jsonencode, read_root
from generator.read.inventory import from_hcl, roots_of
from generator.render.templates import render
from generator.render.writer import write
from policies import iam_catalogue
from policies.expected import Expected
from policies.rules import RULES


def main(projects: int) -> None:
    import pygohcl

    with tempfile.TemporaryDirectory() as folder:
        config_dir = write_config(Path(folder), projects)
        out_env = Path(folder) / "out" / "bench"
        write(render(config_dir, "bench"), out_env)
        texts = [path.read_text() for root in roots_of(out_env) for path in sorted((out_env / root).glob("*.tf"))]

        start = time.perf_counter()
        iam_catalogue._analyser()
        catalogue = time.perf_counter() - start

        start = time.perf_counter()
        for text in texts:
            hcl_fast_path.parse(text)
        fast = time.perf_counter() - start

        start = time.perf_counter()
        for text in texts:
            pygohcl.loads(unwrap_jsonencode(text)[0])
        slow = time.perf_counter() - start

        start = time.perf_counter()
        for root in roots_of(out_env):
            read_root(out_env, root)
        reader = time.perf_counter() - start - fast

        inventory = from_hcl(out_env)
        expected = Expected("bench", load_environment(config_dir, "bench").config)
        rules = {}
        for rule in RULES:
            start = time.perf_counter()
            list(rule.check(inventory, expected))
            rules[rule.id] = time.perf_counter() - start
        iam = rules.pop("TFG-IAM-004")
        # What AWS lets the roles do: the catalogue per resource type, the intent tables.
        effect = {rule_id: rules.pop(rule_id) for rule_id in ("TFG-IAM-005", "TFG-IAM-007", "TFG-IAM-008",
                                                              "TFG-IAM-009")}
        megabytes = sum(len(text) for text in texts) / 1e6
        print(f"{projects} projects, {len(texts)} files, {megabytes:.1f} MB: IAM catalogue loaded in {catalogue:.2f} s; "
              f"parse {fast:.2f} s by the fast path ({slow:.2f} s by HashiCorp's parser); the reader's own work "
              f"{reader:.2f} s; TFG-IAM-004 {iam:.2f} s; the effect rules "
              f"{', '.join(f'{k[4:]} {v:.2f} s' for k, v in effect.items())}; the {len(rules)} other rules "
              f"{sum(rules.values()):.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
