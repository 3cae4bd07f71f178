"""tfgen render's compiled templates, kept in tfgen's cache folder (generator/render/templates.py): used
when there, never a cause of different output or of an error."""

from __future__ import annotations

from pathlib import Path

import jinja2
import jinja2.bccache

from generator.render import templates as render_module
from tests.conftest import ENVIRONMENTS, OUT, run_python


def _compiles(monkeypatch) -> list[str]:
    """The names of the templates jinja compiles from source from now on."""
    compiled: list[str] = []
    compile_source = jinja2.Environment.compile

    def counting(self, source, name=None, filename=None, raw=False, defer_init=False):
        compiled.append(name)
        return compile_source(self, source, name, filename, raw, defer_init)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    return compiled


def _every_template(env: jinja2.Environment) -> list[str]:
    names = env.list_templates(extensions=["j2"])
    for name in names:
        env.get_template(name)
    return names


def test_templates_are_compiled_once_then_loaded_compiled(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    compiled = _compiles(monkeypatch)
    names = _every_template(render_module._jinja())
    assert sorted(compiled) == sorted(names) and len(names) >= 15
    assert len(list((tmp_path / "tfgen" / "templates").iterdir())) == len(names)
    compiled.clear()
    _every_template(render_module._jinja())  # a new environment, as the next `tfgen render` makes
    assert compiled == []


def _render_all(out: Path, cache_home: Path) -> dict[str, bytes]:
    run_python("-c", "from generator.cli import main; main()", "--config-dir", str(ENVIRONMENTS), "--out-dir",
               str(out), "render", "--all", env={"XDG_CACHE_HOME": str(cache_home)})
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.tf"))}


def test_a_damaged_cache_renders_the_same_terraform(tmp_path):
    """Every compiled template overwritten with garbage, cut short, emptied, or damaged just
    after jinja's header: each is a miss and is compiled again, and the Terraform is byte for
    byte the committed one."""
    _render_all(tmp_path / "first", tmp_path)
    cached = sorted((tmp_path / "tfgen" / "templates").iterdir())
    assert len(cached) >= 4
    header = len(jinja2.bccache.bc_magic)
    for index, path in enumerate(cached):
        data = path.read_bytes()
        path.write_bytes([b"garbage", data[: len(data) // 2], b"", data[:header] + b"\xff" * 40][index % 4])
    rendered = _render_all(tmp_path / "again", tmp_path)
    assert rendered == {str(p.relative_to(OUT)): p.read_bytes() for p in sorted(OUT.rglob("*.tf"))
                        if ".terraform" not in p.parts}


def test_a_cache_folder_that_cannot_be_written_is_no_cache(tmp_path, monkeypatch):
    (tmp_path / "tfgen").write_text("a file where the cache folder would be\n")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert render_module._jinja().bytecode_cache is None
    _render_all(tmp_path / "out", tmp_path)
    assert (tmp_path / "tfgen").read_text() == "a file where the cache folder would be\n"


def test_a_compiled_template_that_cannot_be_written_is_compiled_again_next_time(tmp_path, monkeypatch):
    """The folder gone between the start of a render and its writes (jinja's own cache then
    raises): every template still compiles and renders."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    env = render_module._jinja()
    env.bytecode_cache.directory = str(tmp_path / "removed meanwhile")
    compiled = _compiles(monkeypatch)
    names = _every_template(env)
    assert sorted(compiled) == sorted(names)
