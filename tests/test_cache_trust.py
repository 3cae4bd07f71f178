"""tfgen's cache folder holds what it executes (compiled templates) and what it takes as AWS's
word (the IAM catalogues, the limits on names): a file there that another user could have
written, or one in a folder others can write, is not read. Each cache is first shown to be
read (a marked copy shows up), then ignored once group-writable."""

from __future__ import annotations

import json
import marshal
import os
from pathlib import Path

from generator.render import templates as render_module
from tests.conftest import run_python
from tests.test_template_cache import _compiles


def _group_writable(path: Path) -> None:
    path.chmod(path.stat().st_mode | 0o020)


def test_compiled_templates_are_not_run_from_a_file_or_folder_others_can_write(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    compiled = _compiles(monkeypatch)
    name = "team/iam.tf.j2"
    render_module._jinja().get_template(name)
    folder = tmp_path / "tfgen" / "templates"
    [cached] = list(folder.iterdir())
    assert cached.stat().st_mode & 0o077 == 0  # written for this user alone
    compiled.clear()
    render_module._jinja().get_template(name)
    assert compiled == []  # trusted: loaded compiled
    _group_writable(cached)
    render_module._jinja().get_template(name)
    assert compiled == [name]  # compiled again from the template, not run from the cache
    compiled.clear()
    cached.chmod(0o600)
    _group_writable(folder)
    render_module._jinja().get_template(name)
    assert compiled == [name]


def _reference_services(cache_home: Path) -> str:
    return run_python("-c", "from policies import iam_reference; s = iam_reference._services(); "
                            "print(s.get('tfgen-marker'), len(s) > 400)", env={"XDG_CACHE_HOME": str(cache_home)})


def test_the_iam_catalogue_copy_is_read_only_when_nobody_else_can_write_it(tmp_path):
    assert _reference_services(tmp_path).split()[-1] == "True"  # writes the cache
    [cache] = (tmp_path / "tfgen").glob("iam-reference-*")
    services = marshal.loads(cache.read_bytes())
    services["tfgen-marker"] = marshal.dumps({"prefix": "tfgen-marker"})
    cache.write_bytes(marshal.dumps(services))
    assert _reference_services(tmp_path).startswith("{'prefix': 'tfgen-marker'}")
    _group_writable(cache)
    assert _reference_services(tmp_path).startswith("None True")  # the JSON, not the cache


def test_parliaments_catalogue_copy_is_read_only_when_nobody_else_can_write_it(tmp_path):
    code = ("from policies import iam_catalogue; iam_catalogue._import_parliament(); import parliament; "
            "print(parliament.iam_definition[-1]['prefix'])")
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    run_python("-c", code, env=env)
    [cache] = (tmp_path / "tfgen").glob("iam-catalogue-*")
    cache.write_bytes(marshal.dumps(marshal.loads(cache.read_bytes()) + [{"prefix": "tfgen-marker",
                                                                          "privileges": []}]))
    assert run_python("-c", code, env=env).strip() == "tfgen-marker"
    _group_writable(cache)
    assert run_python("-c", code, env=env).strip() != "tfgen-marker"


def test_the_limits_on_names_are_read_only_from_a_copy_nobody_else_can_write(tmp_path):
    code = ("from generator.config import aws_limits; "
            "print(aws_limits.MODEL_PACKAGE_GROUP_DESCRIPTION.max_length)")
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    assert run_python("-c", code, env=env).strip() == "1024"  # SageMaker's EntityDescription
    [cache] = (tmp_path / "tfgen").glob("aws-limits-*")
    shapes = json.loads(cache.read_text())
    for shape in shapes.values():
        shape["max"] = 5
    cache.write_text(json.dumps(shapes))
    os.chmod(cache, 0o600)
    assert run_python("-c", code, env=env).strip() == "5"
    _group_writable(cache)
    assert run_python("-c", code, env=env).strip() == "1024"
