"""Shared fixtures: the repository's own configuration, small YAML trees, and terraform."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from generator.support import terraform

REPO = Path(__file__).resolve().parent.parent
ENVIRONMENTS = REPO / "environments"
OUT = REPO / "out"
EXAMPLE_ENVS = ("dev", "prod", "sandbox", "staging")

MINIMAL = """\
company: acme
tag_prefix: acme-sm
region: eu-west-1
account_id: "123456789012"
network:
  vpc_id: vpc-0123456789abcdef0
  vpc_cidr: 10.0.0.0/16
  private_subnets: [{id: subnet-0123456789abcdef1, zone: eu-west-1a}, {id: subnet-0123456789abcdef2, zone: eu-west-1b}]
  route_table_ids: [rtb-0123456789abcdef3]
teams:
  rc:
    execution_role: rc-sagemaker
    projects:
      fraud-detection: {}
"""


def inline_policy(characters: int) -> dict:
    """An IAM policy of exactly this many characters as IAM counts them against its quotas
    (written compact: no white space to leave out)."""
    document = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-data/"}]}
    document["Statement"][0]["Resource"] += "x" * (characters - len(json.dumps(document, separators=(",", ":"))))
    return document


def run_python(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None, stdin: str | None = None,
               timeout: int = 300) -> str:
    """`python ARGS` in a fresh interpreter that imports tfgen from this checkout, with the
    environment plus `env`: its output; a non-zero exit fails the test with its stderr."""
    run = subprocess.run([sys.executable, *args], cwd=cwd, input=stdin, capture_output=True, text=True,
                         timeout=timeout, env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})
    assert run.returncode == 0, run.stderr
    return run.stdout


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Write {relative path: text} under root (dedented), like copier's build_file_tree."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


@pytest.fixture(scope="session", autouse=True)
def own_cache_home(tmp_path_factory: pytest.TempPathFactory):
    """tfgen check caches AWS's IAM catalogue under $XDG_CACHE_HOME/tfgen
    (policies/iam_catalogue.py): the suite keeps its cache to itself, not the user's home."""
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache-home")))
    yield
    patch.undo()


@pytest.fixture
def emulator(monkeypatch):
    """An emulator of the test's own, the process's AWS settings pointed at it (preflight and
    verify read the account with boto3). A file that needs another (module-wide, or without
    the settings) defines its own, which takes precedence."""
    from sandbox import emulator as emulator_module

    with emulator_module.start() as started:
        for key, value in started.env().items():
            monkeypatch.setenv(key, value)
        yield started


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A folder with one valid environment, `test`, to be changed by each test."""
    return write_tree(tmp_path / "environments", {"test.yaml": MINIMAL})


@pytest.fixture(scope="session")
def tf_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tfgen-state")


@pytest.fixture(scope="session")
def tf_plugin_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("plugin-cache")


def copy_root(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl"))
    return dst


def tf(args: list[str], cwd: Path, state_dir: Path, **kwargs):
    return terraform.run(args, cwd=cwd, state_dir=state_dir, **kwargs)
