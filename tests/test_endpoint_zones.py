"""Interface endpoints in the zones AWS takes: the YAML says each private subnet's zone, render
gives each endpoint one subnet a zone, and the gate (TFG-EP-002) proves it on the HCL.

AWS's rules, from its documentation, not from tfgen:
  - an interface endpoint takes "more than one subnet in different Availability Zones (as
    supported by the service)" (Amazon VPC User Guide, "Interface VPC endpoints": one endpoint
    network interface per subnet); two subnets of one zone are refused with
    DuplicateSubnetsInSameZone ("Found another VPC endpoint subnet in the availability zone of
    subnet-... VPC endpoint subnets should be in different availability zones supported by the
    VPC endpoint service.");
  - only zones the endpoint's service is offered in (EC2 API reference, ServiceDetail:
    AvailabilityZones, "The Availability Zones in which the service is available"); a subnet
    elsewhere: InvalidParameter, "The VPC endpoint service ... does not support the
    availability zone of the subnet".
An availability zone's name is its region's and a letter (EC2 User Guide, "Regions and Zones":
us-east-1a). Jobs in VPC mode may use every private subnet (SageMaker's VpcConfig.Subnets).
The emulator's half (the apply, preflight) is tests/test_sandbox_zones.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from generator.read.inventory import from_hcl
from tests.conftest import MINIMAL

A1, A2, B1 = "subnet-0123456789abcdef1", "subnet-0123456789abcdef4", "subnet-0123456789abcdef2"
SUBNETS_LINE = ("  private_subnets: [{id: subnet-0123456789abcdef1, zone: eu-west-1a}, "
                "{id: subnet-0123456789abcdef2, zone: eu-west-1b}]\n")
# Two private subnets in eu-west-1a (the second listed last), one in eu-west-1b.
TWO_IN_ONE_ZONE = MINIMAL.replace(SUBNETS_LINE, f"""\
  private_subnets:
    - {{id: {A1}, zone: eu-west-1a}}
    - {{id: {B1}, zone: eu-west-1b}}
    - {{id: {A2}, zone: eu-west-1a}}
""")


@pytest.fixture
def tfgen(config_dir: Path, tmp_path: Path):
    out = tmp_path / "out"

    def invoke(*args: str):
        return CliRunner().invoke(cli, ["--config-dir", str(config_dir), "--out-dir", str(out), *args],
                                  catch_exceptions=False)

    invoke.out = out
    return invoke


def write(config_dir: Path, text: str) -> str:
    (config_dir / "test.yaml").write_text(text)
    return text


def line_of(text: str, fragment: str) -> int:
    return next(i for i, row in enumerate(text.splitlines(), start=1) if fragment in row)


def interface_subnets(out: Path) -> dict[str, list[str]]:
    """Each rendered interface endpoint's service -> its subnets, read back as Terraform reads them."""
    return {r.values["service_name"]: r.values["subnet_ids"] for r in from_hcl(out / "test").of_type("aws_vpc_endpoint")
            if r.values.get("vpc_endpoint_type") == "Interface"}


def refused(tfgen, config_dir: Path, text: str, fragment: str, field: str):
    """Render exits 1 naming FILE:LINE: FIELD, and writes nothing."""
    write(config_dir, text)
    result = tfgen("render", "test")
    assert result.exit_code == 1, result.output
    assert not tfgen.out.exists()
    assert result.output.startswith(f"Error: {config_dir / 'test.yaml'}:{line_of(text, fragment)}: {field}: "), \
        result.output
    return result.output


def test_the_retired_private_subnet_ids_is_named_at_its_line_with_the_rewrite(tfgen, config_dir):
    text = MINIMAL.replace(SUBNETS_LINE, f"  private_subnet_ids: [{A1}, {B1}]\n")
    output = refused(tfgen, config_dir, text, "private_subnet_ids", "network.private_subnet_ids")
    assert "replaced by network.private_subnets" in output
    assert f"private_subnets: [{{id: {A1}, zone: ZONE}}, {{id: {B1}, zone: ZONE}}]" in output
    assert f"aws ec2 describe-subnets --subnet-ids {A1} {B1}" in output
    assert "required field is missing" not in output and "Traceback" not in output


def test_a_zone_of_another_region_is_named_at_its_line(tfgen, config_dir):
    text = TWO_IN_ONE_ZONE.replace(f"{B1}, zone: eu-west-1b", f"{B1}, zone: eu-west-2b")
    output = refused(tfgen, config_dir, text, "eu-west-2b", "network.private_subnets.1.zone")
    assert "'eu-west-2b' is not a zone of the environment's region eu-west-1" in output


@pytest.mark.parametrize("zone", ["eu-west-1", "eu-west-1ab", "euw1-az1"])
def test_what_is_not_a_zone_name_is_refused(tfgen, config_dir, zone):
    text = TWO_IN_ONE_ZONE.replace(f"{B1}, zone: eu-west-1b", f"{B1}, zone: {zone}")
    refused(tfgen, config_dir, text, f"zone: {zone}}}", "network.private_subnets.1.zone")


def test_a_subnet_listed_twice_is_refused(tfgen, config_dir):
    text = TWO_IN_ONE_ZONE.replace(f"{A2}, zone: eu-west-1a", f"{A1}, zone: eu-west-1a")
    output = refused(tfgen, config_dir, text, "private_subnets:", "network.private_subnets")
    assert f"{A1} is listed twice (items 0 and 2)" in output


def test_two_private_subnets_in_one_zone_give_each_endpoint_one_subnet_a_zone(tfgen, config_dir):
    """The first subnet the YAML lists in each zone, in the YAML's order; jobs keep all three."""
    write(config_dir, TWO_IN_ONE_ZONE.replace("fraud-detection: {}", "fraud-detection:\n"
                                              "        create_execution_role: true\n        data_buckets: [ml-data]"))
    assert tfgen("render", "test").exit_code == 0
    subnets = interface_subnets(tfgen.out)
    assert len(subnets) == 7  # the interface endpoints SageMaker needs in a private VPC
    assert set(map(tuple, subnets.values())) == {(A1, B1)}
    runtime = (tfgen.out / "test" / "teams" / "rc" / "iam.tf").read_text()
    assert all(f":subnet/{subnet}" in runtime for subnet in (A1, A2, B1))  # jobs' interfaces: every private subnet
    check = tfgen("check", "test", "--no-checkov")
    assert check.exit_code == 0, check.output


def test_a_zone_the_service_is_not_offered_in_is_left_out_of_its_endpoint_only(tfgen, config_dir):
    write(config_dir, TWO_IN_ONE_ZONE + "vpc_endpoints:\n  zones_not_offered:\n    sts: [eu-west-1a]\n")
    assert tfgen("render", "test").exit_code == 0
    subnets = interface_subnets(tfgen.out)
    assert subnets.pop("com.amazonaws.eu-west-1.sts") == [B1]
    assert set(map(tuple, subnets.values())) == {(A1, B1)}
    check = tfgen("check", "test", "--no-checkov")
    assert check.exit_code == 0, check.output


@pytest.mark.parametrize("entry, problem", [
    ("ssm: [eu-west-1a]", "'ssm' is not an interface endpoint this environment renders"),
    ("studio: [eu-west-1a]", "'studio' is not an interface endpoint this environment renders"),  # not in extra
    ("sts: [eu-west-1c]", "no private subnet is in eu-west-1c (the private subnets' zones: eu-west-1a, eu-west-1b)"),
    ("sts: [eu-west-1a, eu-west-1b]", "leaves the sts endpoint no zone"),
])
def test_zones_not_offered_must_name_an_endpoint_and_leave_it_a_zone(tfgen, config_dir, entry, problem):
    text = TWO_IN_ONE_ZONE + f"vpc_endpoints:\n  zones_not_offered:\n    {entry}\n"
    name = entry.split(":")[0]
    output = refused(tfgen, config_dir, text, entry, f"vpc_endpoints.zones_not_offered.{name}")
    assert problem in output


def with_subnets(out: Path, service: str, subnets: list[str]) -> None:
    """Hand-edit one rendered endpoint's subnet_ids."""
    path = out / "test" / "platform" / "vpc_endpoints.tf"
    text = path.read_text()
    start = text.index(f'"com.amazonaws.eu-west-1.{service}"')
    listed = ", ".join(f'"{subnet}"' for subnet in subnets)
    path.write_text(text[:start] + re.sub(r"subnet_ids\s*=\s*\[[^\]]*\]", f"subnet_ids = [{listed}]", text[start:], 1))


def test_the_gate_refuses_two_subnets_of_one_zone_on_an_endpoint(tfgen, config_dir):
    """What render did before: every private subnet on every endpoint, which AWS refuses."""
    write(config_dir, TWO_IN_ONE_ZONE)
    assert tfgen("render", "test").exit_code == 0
    with_subnets(tfgen.out, "sts", [A1, B1, A2])
    check = tfgen("check", "test", "--no-checkov", "--format", "json")
    assert check.exit_code == 1
    assert "TFG-EP-002" in check.output
    assert f"sts: 2 subnets in eu-west-1a ({A1}, {A2}); AWS takes one a zone (DuplicateSubnetsInSameZone)" \
        in check.output


def test_the_gate_refuses_a_subnet_in_a_zone_the_yaml_says_is_not_offered(tfgen, config_dir):
    write(config_dir, TWO_IN_ONE_ZONE + "vpc_endpoints:\n  zones_not_offered:\n    logs: [eu-west-1b]\n")
    assert tfgen("render", "test").exit_code == 0
    with_subnets(tfgen.out, "logs", [A1, B1])
    check = tfgen("check", "test", "--no-checkov")
    assert check.exit_code == 1
    assert "logs: a subnet in eu-west-1b, which the YAML says its service is not offered in" in check.output
