"""The rendered roots are Terraform that terraform itself accepts: fmt-clean and valid.

Runs the real terraform (1.10+) offline, installing hashicorp/aws from the local mirror.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from generator.support import terraform
from tests.conftest import EXAMPLE_ENVS, OUT, copy_root, tf

ROOTS = [(env, root) for env in EXAMPLE_ENVS for root in ("platform", "teams/algo", "teams/rc")]


def test_the_aws_provider_mirror_is_found():
    assert terraform.provider_mirror() is not None, "set TFGEN_PROVIDER_MIRROR to the folder of registry.terraform.io"


@pytest.mark.parametrize("env", EXAMPLE_ENVS)
def test_fmt_check_is_clean(env, tf_state_dir):
    result = tf(["fmt", "-check", "-recursive", "-diff", "-no-color"], cwd=OUT / env, state_dir=tf_state_dir, check=False)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("env, root", ROOTS, ids=[f"{e}/{r}" for e, r in ROOTS])
def test_init_and_validate_offline(env, root, tmp_path, tf_state_dir):
    work = copy_root(OUT / env / root, tmp_path / "root")
    tf(["init", "-backend=false", "-input=false", "-no-color"], cwd=work, state_dir=tf_state_dir)
    result = tf(["validate", "-json", "-no-color"], cwd=work, state_dir=tf_state_dir, check=False)
    report = json.loads(result.stdout)
    assert report["valid"], report["diagnostics"]
    assert report["warning_count"] == 0, report["diagnostics"]


def test_terraform_is_recent_enough():
    version = subprocess.run([terraform.terraform_binary(), "version", "-json"], capture_output=True, text=True)
    major, minor, _ = (int(x) for x in json.loads(version.stdout)["terraform_version"].split("."))
    assert (major, minor) >= (1, 11)  # use_lockfile is generally available from 1.11
