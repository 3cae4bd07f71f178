"""The layout docs/architecture.md describes, held against the code: stages import one way,
only the CLI knows click, and no room grows past the size a reader can hold."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

# Each stage may import from itself and from the stages before it (docs/architecture.md).
STAGES = ["generator.errors", "generator.support", "generator.config", "generator.design", "generator.render",
          "generator.read", "policies", "generator.account", "generator.changes", "generator.cli"]
MAX_LINES = 500
PACKAGES = ("generator", "policies")


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (REPO / package).rglob("*.py")
                  if p != REPO / "generator" / "__init__.py")  # the package's empty marker


def _name(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")


def _stage(module: str) -> int:
    """The index of the stage a module belongs to (the longest matching prefix)."""
    matches = [i for i, stage in enumerate(STAGES) if module == stage or module.startswith(stage + ".")]
    assert matches, f"{module} belongs to no stage of docs/architecture.md"
    return max(matches, key=lambda i: len(STAGES[i]))


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, node.module)] + [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


def _stage_of_import(name: str) -> int | None:
    """The stage of an imported name, or None for another library (or a name that is no module)."""
    if not name.startswith(PACKAGES):
        return None
    parts = name.split(".")
    while parts and not ((REPO.joinpath(*parts).with_suffix(".py")).is_file() or REPO.joinpath(*parts).is_dir()):
        parts.pop()
    return _stage(".".join(parts)) if parts else None


@pytest.mark.parametrize("path", _modules(), ids=_name)
def test_every_module_imports_only_from_its_stage_and_the_ones_before(path):
    own = _stage(_name(path))
    later = [f"{path.relative_to(REPO)}:{line}: {name} ({STAGES[stage]})" for line, name in _imports(path)
             if (stage := _stage_of_import(name)) is not None and stage > own]
    assert later == [], f"{STAGES[own]} imports a later stage"


@pytest.mark.parametrize("path", _modules(), ids=_name)
def test_only_the_command_line_imports_click(path):
    if _stage(_name(path)) == len(STAGES) - 1:  # generator.cli and its modules
        return
    assert [name for _, name in _imports(path) if name.split(".")[0] == "click"] == []


def test_no_module_is_over_500_lines():
    long = {str(p.relative_to(REPO)): n for p in _modules() if (n := p.read_text().count("\n")) > MAX_LINES}
    assert long == {}


def test_the_stage_check_sees_a_backward_import(tmp_path):
    """The check itself can fail: the design importing the reader is a later stage."""
    module = tmp_path / "x.py"
    module.write_text("from generator.read.inventory import Inventory\n")
    assert _stage_of_import(_imports(module)[0][1]) > _stage("generator.design.model")
