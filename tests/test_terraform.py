"""The rendered roots are Terraform that terraform itself accepts: fmt-clean and valid; and
`tfgen terraform-rc`, the CLI config that lets a user's `terraform init` work offline.

Runs the real terraform (1.11+) offline, installing hashicorp/aws from the local mirror.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
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
    oldest = tuple(int(x) for x in terraform.MINIMUM_VERSION.split("."))
    assert (major, minor) >= oldest  # use_lockfile is generally available from 1.11


# --- tfgen terraform-rc: the same CLI config, for users (README, "Applying") ----------------


def terraform_rc(*args: str):
    return CliRunner().invoke(cli, ["terraform-rc", *args], catch_exceptions=False)


@pytest.fixture
def a_mirror(tmp_path, monkeypatch) -> Path:
    """A folder laid out as a provider mirror, named by TFGEN_PROVIDER_MIRROR."""
    mirror = tmp_path / "mirror"
    (mirror / "registry.terraform.io" / "hashicorp" / "aws").mkdir(parents=True)
    monkeypatch.setenv("TFGEN_PROVIDER_MIRROR", str(mirror))
    return mirror


@pytest.fixture
def no_mirror(tmp_path, monkeypatch) -> Path:
    """No TFGEN_PROVIDER_MIRROR, and none of the usual places holds the provider."""
    nowhere = tmp_path / "no-plugins"
    monkeypatch.delenv("TFGEN_PROVIDER_MIRROR", raising=False)
    monkeypatch.setattr(terraform, "MIRROR_CANDIDATES", (str(nowhere),))
    return nowhere


def test_terraform_rc_writes_the_config_that_installs_aws_from_the_mirror(a_mirror, tmp_path):
    rc = tmp_path / ".tfgen" / "terraform.rc"
    result = terraform_rc("--write", str(rc))
    assert result.exit_code == 0
    assert result.output == (f"wrote {rc}: terraform installs hashicorp/aws from the local mirror {a_mirror}; "
                             f"before terraform init: export TF_CLI_CONFIG_FILE={rc}\n")
    assert rc.read_text() == (
        "# Written by tfgen: install hashicorp/aws from the local mirror, never from the network.\n"
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f'    path    = "{a_mirror}"\n'
        '    include = ["registry.terraform.io/hashicorp/aws"]\n'
        "  }\n"
        "  direct {\n"
        '    exclude = ["registry.terraform.io/hashicorp/aws"]\n'
        "  }\n"
        "}\n")
    again = terraform_rc("--write", str(rc))
    assert again.exit_code == 0 and again.output.startswith(f"{rc} is up to date: ")
    printed = terraform_rc()
    assert printed.exit_code == 0 and printed.stdout == rc.read_text() and printed.stderr == ""


def test_terraform_rc_names_the_mirror_by_its_absolute_path(a_mirror, tmp_path, monkeypatch):
    """terraform runs in each root's folder: a relative TFGEN_PROVIDER_MIRROR would name another folder there."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TFGEN_PROVIDER_MIRROR", "mirror")
    assert f'path    = "{a_mirror}"' in terraform_rc().stdout


def test_terraform_rc_with_no_mirror_says_so_and_writes_nothing(no_mirror, tmp_path):
    rc = tmp_path / ".tfgen" / "terraform.rc"
    said = (f"no local mirror of hashicorp/aws (TFGEN_PROVIDER_MIRROR is not set, and none of {no_mirror} holds it): "
            "{}; terraform init installs the provider from the registry, as terraform does by default")
    result = terraform_rc("--write", str(rc))
    assert result.exit_code == 0
    assert result.output == said.format("nothing written") + " (leave TF_CLI_CONFIG_FILE unset)\n"
    assert not rc.parent.exists()
    printed = terraform_rc()
    assert printed.exit_code == 0 and printed.stdout == ""
    assert printed.stderr == said.format("nothing printed") + "\n"


def test_terraform_rc_removes_its_own_file_once_the_mirror_is_gone(a_mirror, tmp_path, monkeypatch):
    """A config naming a mirror that is no longer there would fail every init: it goes."""
    rc = tmp_path / "terraform.rc"
    assert terraform_rc("--write", str(rc)).exit_code == 0
    monkeypatch.delenv("TFGEN_PROVIDER_MIRROR")
    monkeypatch.setattr(terraform, "MIRROR_CANDIDATES", ())
    result = terraform_rc("--write", str(rc))
    assert result.exit_code == 0
    assert result.output.startswith("no local mirror of hashicorp/aws (")
    assert f"removed {rc}, which named a mirror no longer found; nothing written;" in result.output
    assert not rc.exists()


def test_terraform_rc_never_replaces_a_cli_config_it_did_not_write(a_mirror, tmp_path):
    own = tmp_path / "terraformrc"
    own.write_text('plugin_cache_dir = "/home/me/.terraform.d/plugin-cache"\n')
    result = terraform_rc("--write", str(own))
    assert result.exit_code == 1
    assert result.output == (f"Error: {own} exists and tfgen did not write it (its first line is not "
                             "'# Written by tfgen'): not overwritten; remove it, or give --write another path\n")
    assert own.read_text() == 'plugin_cache_dir = "/home/me/.terraform.d/plugin-cache"\n'


def test_terraform_rc_help_names_where_it_looks():
    help_text = " ".join(terraform_rc("--help").output.split())
    for place in ("TFGEN_PROVIDER_MIRROR", *terraform.MIRROR_CANDIDATES, "export TF_CLI_CONFIG_FILE=PATH",
                  "make render"):
        assert place in help_text


def test_terraform_init_with_the_written_config_works_offline(tmp_path):
    """What the README tells a user: export TF_CLI_CONFIG_FILE, then terraform init in a rendered root
    (dev keeps local state, so init configures a real backend). Every request terraform could make
    goes to a proxy that is not there: the provider comes from the mirror or not at all."""
    rc = tmp_path / ".tfgen" / "terraform.rc"
    assert terraform_rc("--write", str(rc)).exit_code == 0
    root = copy_root(OUT / "dev" / "platform", tmp_path / "platform")
    unreachable = "http://127.0.0.1:9"
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(rc), "CHECKPOINT_DISABLE": "1", "HTTPS_PROXY": unreachable,
           "HTTP_PROXY": unreachable, "https_proxy": unreachable, "http_proxy": unreachable}
    env.pop("TF_PLUGIN_CACHE_DIR", None)
    init = subprocess.run([terraform.terraform_binary(), "init", "-input=false", "-no-color"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)
    assert init.returncode == 0, init.stderr
    assert "Terraform has been successfully initialized!" in init.stdout
    assert (root / ".terraform" / "providers" / "registry.terraform.io" / "hashicorp" / "aws").is_dir()
