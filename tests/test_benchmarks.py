"""CI keeps the benchmark working at its smallest size; the numbers come from `make bench`."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_the_benchmark_runs_at_the_smallest_size():
    completed = subprocess.run([sys.executable, "-m", "benchmarks.run", "--smoke"], cwd=REPO,
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "10 projects: render" in completed.stdout
    assert "team00 plan with 50 teams" in completed.stdout
    assert "wrote " in completed.stdout and "benchmarks.png" in completed.stdout
