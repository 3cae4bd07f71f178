"""`make bench`: tfgen's cost as the organisation grows, measured, tabled and plotted.

Every measurement runs the real command in a child process, repeated, and reports the
median with min and max; peak memory is the child's maximum resident set (wait4). The
results go to docs/benchmarks.md and docs/benchmarks.png. `--smoke` runs the smallest size
once into a temporary folder: that is what CI runs, to keep the benchmark working.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.synthetic import teams_for, write_config

REPO = Path(__file__).resolve().parent.parent
TFGEN = [str(Path(sys.executable).parent / "tfgen")]  # the installed console script, as users run it


@dataclass
class Sample:
    label: str
    seconds: list[float]
    peak_mb: float = 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def row(self) -> str:
        return (f"{self.median:.2f} s (min {min(self.seconds):.2f}, max {max(self.seconds):.2f}, "
                f"n={len(self.seconds)})")


def measure(command: list[str], repeat: int, cwd: Path, env: dict | None = None,
            before: callable = None) -> Sample:
    """Run `command` `repeat` times; wall time and peak RSS of each child."""
    return measure_in_turn([(command, repeat, env)], cwd, before)[0]


def measure_in_turn(commands: list[tuple[list[str], int, dict | None]], cwd: Path,
                    before: callable = None) -> list[Sample]:
    """Run each (command, repeat, env) its number of times, one run of each in turn, so that
    a slow or fast spell of the machine (its speed swings by 40 % here) falls on all of them
    alike, and their ratio holds; a Sample for each."""
    runs: list[list[tuple[float, float]]] = [[] for _ in commands]
    for round_ in range(max(repeat for _, repeat, _ in commands)):
        for (command, repeat, env), done in zip(commands, runs):
            if round_ < repeat:
                if before:
                    before()
                done.append(_run_once(command, cwd, env))
    return [Sample(" ".join(command), [seconds for seconds, _ in done], max(peak for _, peak in done))
            for (command, _, _), done in zip(commands, runs)]


def _run_once(command: list[str], cwd: Path, env: dict | None) -> tuple[float, float]:
    """Wall time and peak RSS (MB) of one run."""
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):  # check exits 1 on violations; anything else is a broken run
        raise RuntimeError(f"{' '.join(command)} exited {code}: {child.stderr.read().decode()[-2000:]}")
    child.stderr.close()
    return seconds, usage.ru_maxrss / 1024


def bench_env() -> dict:
    env = dict(os.environ)
    # Use compiled bytecode as an installed tool does; this machine's shell disables writing it.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def rendered_size(out_env: Path, projects: int) -> tuple[float, float, float]:
    files = [p for p in out_env.rglob("*.tf")]
    lines = sum(p.read_text().count("\n") for p in files)
    resources = sum(p.read_text().count('\nresource "') for p in files)
    return len(files) / projects, lines / projects, resources / projects


def render_and_check(sizes: list[int], repeat: int, checkov_repeat: int, work: Path, with_checkov: bool) -> list[dict]:
    from policies.checkov_runner import CHECKS_DIR, CONFIG, find_checkov

    env = bench_env()
    subprocess.run([*TFGEN, "--help"], env=env, capture_output=True, check=True)  # write .pyc once
    results = []
    for projects in sizes:
        folder = work / f"org-{projects}"
        write_config(folder, projects)
        out_env = folder / "out" / "bench"

        def clean() -> None:
            subprocess.run(["rm", "-rf", str(folder / "out")], check=True)

        render = measure([*TFGEN, "render", "bench"], repeat, folder, env, before=clean)
        checks = [([*TFGEN, "check", "bench", "--no-checkov"], repeat, env)]
        if with_checkov:  # in turn with tfgen's check: the ratio is the goal
            checks.append(([find_checkov(), "-d", str(out_env), "--framework", "terraform", "--config-file",
                            str(CONFIG), "--external-checks-dir", str(CHECKS_DIR), "-o", "json", "--skip-download"],
                           checkov_repeat, {**env, "BC_SKIP_MAPPING": "TRUE", "TFGEN_VPC_CIDR": "10.40.0.0/16"}))
        check, *checkov = measure_in_turn(checks, folder)
        row = {"projects": projects, "teams": teams_for(projects), "render": render, "check": check,
               "size": rendered_size(out_env, projects)}
        if checkov:
            row["checkov"] = checkov[0]
        results.append(row)
        print(f"{projects} projects: render {render.row()}, {render.peak_mb:.0f} MB; check {check.row()}"
              + (f"; checkov {row['checkov'].row()}" if with_checkov else ""), flush=True)
    return results


def team_plan(repeat: int, work: Path) -> dict[int, Sample]:
    """One team root's plan against the emulator, in an organisation of 1 team and of 50."""
    from sandbox import emulator as emulator_module
    from generator.support import terraform

    env = bench_env()
    state_dir = work / ".tfgen"
    plans = []
    with emulator_module.start() as emulator:
        tf_env = terraform.environment(state_dir, emulator.env())
        for teams in (1, 50):
            folder = work / f"plan-{teams}"
            write_config(folder, projects=2 * teams, teams=teams)
            subprocess.run([*TFGEN, "render", "bench"], cwd=folder, env=env, check=True, capture_output=True)
            root = folder / "out" / "bench" / "teams" / "team00"
            terraform.run(["init", "-input=false", "-no-color"], cwd=root, state_dir=state_dir)
            plans.append(([terraform.terraform_binary(), f"-chdir={root}", "plan", "-input=false", "-no-color",
                           "-lock=false"], repeat, tf_env))
        results = dict(zip((1, 50), measure_in_turn(plans, work)))  # in turn: the ratio is the goal
    for teams, sample in results.items():
        print(f"team00 plan with {teams} teams: {sample.row()}", flush=True)
    return results


def machine() -> str:
    memory = ""
    try:
        kb = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal"))
        memory = f", {kb / 1024 / 1024:.0f} GiB memory"
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores{memory}, {platform.machine()}, Python {platform.python_version()}"


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    projects = [r["projects"] for r in results]
    figure, axes = plt.subplots(figsize=(7, 4.5))
    series = [("tfgen render", "render"), ("tfgen check --no-checkov", "check"), ("checkov -d", "checkov")]
    for label, key in series:
        if all(key in r for r in results):
            axes.loglog(projects, [r[key].median for r in results], marker="o", label=label)
    axes.set_xlabel("projects (one endpoint each)")
    axes.set_ylabel("wall time, median (s)")
    axes.set_title("tfgen cost against organisation size")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def markdown(results: list[dict], plans: dict[int, Sample], command: str) -> str:
    lines = [f"Machine: {machine()}. Produced by `{command}` "
             f"({time.strftime('%Y-%m-%d')}); every figure is the median of the runs, with min and max. "
             "`tfgen check` and `checkov -d` ran in turn, one run of each at a time, as did the two plans below, so "
             "the machine's swings in speed fall on both sides of each ratio.", "",
             "Synthetic organisations (`benchmarks/synthetic.py`): N projects over min(50, N/20) teams, each "
             "project with three repositories, an inference endpoint (so two alarms) and an existing execution role "
             "of its own, alarms on, protected.",
             "", "| projects | teams | `tfgen render` | peak memory | `tfgen check --no-checkov` | `checkov -d` "
             "| checkov / check |", "|---|---|---|---|---|---|---|"]
    for r in results:
        checkov = r.get("checkov")
        ratio = f"{checkov.median / r['check'].median:.1f}x" if checkov else "-"
        lines.append(f"| {r['projects']} | {r['teams']} | {r['render'].row()} | {r['render'].peak_mb:.0f} MB | "
                     f"{r['check'].row()} | {checkov.row() if checkov else '-'} | {ratio} |")
    lines += ["", "Rendered size per project (files, lines and resources of all roots, divided by projects):", "",
              "| projects | files | lines | resources |", "|---|---|---|---|"]
    for r in results:
        files, text_lines, resources = r["size"]
        lines.append(f"| {r['projects']} | {files:.2f} | {text_lines:.0f} | {resources:.1f} |")
    if len(results) >= 2:
        by_size = {r["projects"]: r for r in results}
        if 100 in by_size and 1000 in by_size:
            growth = by_size[1000]["render"].median / by_size[100]["render"].median
            lines += ["", f"Render growth from 100 to 1,000 projects: {growth:.1f}x (goal: at most 12x)."]
    if plans:
        ratio = plans[50].median / plans[1].median
        lines += ["", "One team root's `terraform plan` against the emulator (team00, two projects), the "
                  "organisation around it of 1 team and of 50 teams:", "",
                  "| teams in the organisation | plan of team00 |", "|---|---|",
                  f"| 1 | {plans[1].row()} |", f"| 50 | {plans[50].row()} |", "",
                  f"Ratio 50 teams / 1 team: {ratio:.2f} (goal: at most 1.2)."]
    lines += ["", "![time against projects](benchmarks.png)"]
    return "\n".join(lines)


START, END = "<!-- results:start -->", "<!-- results:end -->"


def write_results(path: Path, results_md: str) -> None:
    """Replace the results between the markers; the analysis around them is kept."""
    text = path.read_text() if path.is_file() else f"# Benchmarks\n\n{START}\n{END}\n"
    start, end = text.index(START) + len(START), text.index(END)
    path.write_text(text[:start] + "\n" + results_md + "\n" + text[end:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--checkov-repeat", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="smallest size once, into a temporary folder (CI)")
    parser.add_argument("--docs", type=Path, default=REPO / "docs")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.repeat, args.checkov_repeat = [10], 1, 1
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        results = render_and_check(args.sizes, args.repeat, args.checkov_repeat, work, with_checkov=True)
        plans = team_plan(args.repeat, work)
        docs = work if args.smoke else args.docs
        plot(results, docs / "benchmarks.png")
        command = "make bench" if not args.smoke else "python -m benchmarks.run --smoke"
        write_results(docs / "benchmarks.md", markdown(results, plans, command))
        print(f"wrote {docs / 'benchmarks.md'} and {docs / 'benchmarks.png'}")
        if args.smoke:
            assert (docs / "benchmarks.png").stat().st_size > 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
