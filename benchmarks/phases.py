"""Where one render's time goes: `python -m benchmarks.phases [PROJECTS]` (default 1,000).

Times each phase of `tfgen render` in-process, on a synthetic organisation: imports, YAML
read and validation, design, templates, the `=` alignment pass, and writing.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

started = time.perf_counter()
import generator.design.builder as design_module  # noqa: E402
import generator.render.templates as render_module  # noqa: E402
import generator.render.writer as writer_module  # noqa: E402
from benchmarks.synthetic import write_config  # noqa: E402
from generator.config.loader import load_environment  # noqa: E402

imported = time.perf_counter()


def timed(function, totals: dict, key: str):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            totals[key] = totals.get(key, 0.0) + time.perf_counter() - start
    return wrapper


def main(projects: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        config_dir = write_config(Path(folder), projects)
        totals: dict[str, float] = {}
        render_module.align_attributes = timed(render_module.align_attributes, totals, "alignment")
        render_module.design = timed(design_module.design, totals, "design")
        t0 = time.perf_counter()
        loaded = load_environment(config_dir, "bench")
        t1 = time.perf_counter()
        rendered = render_module.render_loaded(loaded)
        t2 = time.perf_counter()
        writer_module.write(rendered, Path(folder) / "out" / "bench")
        t3 = time.perf_counter()
        templates = t2 - t1 - totals["alignment"] - totals["design"]
        print(f"{projects} projects, {len(rendered.files)} files: imports {imported - started:.2f} s, "
              f"load and validate {t1 - t0:.2f} s, design {totals['design']:.2f} s, templates {templates:.2f} s, "
              f"alignment {totals['alignment']:.2f} s, write {t3 - t2:.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
