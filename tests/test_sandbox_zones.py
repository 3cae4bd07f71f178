"""Interface endpoints against the emulator, which refuses what AWS refuses (sandbox/endpoint_zones.py):
two private subnets in one zone, and a service not offered in one of the subnets' zones.

AWS's rules, as its documentation states them: an interface endpoint takes subnets "in different
Availability Zones (as supported by the service)" (Amazon VPC User Guide, "Interface VPC
endpoints"); DescribeVpcEndpointServices gives each service's AvailabilityZones, "the Availability
Zones in which the service is available" (EC2 API reference, ServiceDetail); a subnet in another
zone is refused with InvalidParameter, "The VPC endpoint service SERVICE does not support the
availability zone of the subnet: SUBNET.".
"""

from __future__ import annotations

import json

import yaml
from click.testing import CliRunner

from generator.cli import cli
from sandbox import lifecycle
from sandbox.emulator import boto_client

REGION = "eu-west-1"
STS = f"com.amazonaws.{REGION}.sts"


def tfgen(sb, *args: str):
    return CliRunner().invoke(cli, ["--config-dir", str(sb.config_dir), "--out-dir", str(sb.out_env.parent), *args],
                              catch_exceptions=False)


def checks(sb, command: str) -> tuple[int, dict[str, dict]]:
    result = tfgen(sb, command, "sandbox", "--format", "json")
    return result.exit_code, {c["what"]: c for c in json.loads(result.output)["results"]}


def network_of(sb) -> dict:
    return yaml.safe_load((sb.config_dir / "sandbox.yaml").read_text())["network"]


def live_endpoints(emulator, vpc_id: str) -> dict[str, list[str]]:
    found = boto_client(emulator, "ec2", REGION).describe_vpc_endpoints(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
    return {e["ServiceName"]: sorted(e.get("SubnetIds", [])) for e in found if e["VpcEndpointType"] == "Interface"
            and e["State"].lower() not in ("deleted", "deleting")}


def test_two_private_subnets_in_one_zone_pass_preflight_apply_and_verify(emulator, tmp_path):
    """Before, render put all three subnets on every endpoint: preflight and check passed, the apply failed."""
    sb = lifecycle.prepare(emulator, tmp_path, zones="aab")
    net = network_of(sb)
    first_a, second_a, b = (s["id"] for s in net["private_subnets"])
    code, found = checks(sb, "preflight")
    assert code == 0, [c for c in found.values() if c["status"] != "PASS"]
    assert found["subnet zones"]["status"] == found["endpoint zones"]["status"] == "PASS"
    lifecycle.render_sandbox(sb)
    lifecycle.init(sb, "platform")
    lifecycle.apply(sb, "platform")  # the emulator refuses two subnets of one zone, as AWS does
    endpoints = live_endpoints(emulator, net["vpc_id"])
    assert len(endpoints) == 7 and set(map(tuple, endpoints.values())) == {tuple(sorted([first_a, b]))}
    changed, output = lifecycle.plan_changes(sb, "platform")
    assert not changed, output
    _, verified = checks(sb, "verify")
    rows = [c for what, c in verified.items() if what.startswith("endpoint ")]
    assert len(rows) == 8 and {c["status"] for c in rows} == {"PASS"}, rows


def test_a_service_not_offered_in_a_zone_fails_preflight_with_the_switch_that_makes_the_apply_pass(emulator,
                                                                                                   tmp_path):
    sb = lifecycle.prepare(emulator, tmp_path)
    emulator.withhold_zone(STS, f"{REGION}b")
    a, b = (s["id"] for s in network_of(sb)["private_subnets"])

    code, found = checks(sb, "preflight")
    assert code == 1
    sts = found["endpoint sts zones"]
    assert sts["status"] == "FAIL"
    assert sts["detail"] == (f"{STS} is offered in {REGION}a, {REGION}c, not in {REGION}b: the apply would fail "
                             "(InvalidParameter: the service does not support the availability zone of the subnet)")
    assert sts["fix"] == f"set vpc_endpoints.zones_not_offered.sts: [{REGION}b]"
    assert (sts["switch_path"], sts["switch_value"]) == (["vpc_endpoints", "zones_not_offered", "sts"], [f"{REGION}b"])
    assert [what for what, c in found.items() if c["status"] == "FAIL"] == ["endpoint sts zones"]

    # Without the switch, the apply fails as it would on AWS.
    lifecycle.render_sandbox(sb)
    lifecycle.init(sb, "platform")
    failed = sb.terraform("platform", "apply", "-auto-approve", "-input=false", "-no-color", check=False)
    assert failed.returncode == 1
    assert f"The VPC endpoint service {STS} does not support the availability zone of the subnet: {b}" in failed.stderr

    path = sb.config_dir / "sandbox.yaml"
    data = yaml.safe_load(path.read_text())
    data.setdefault("vpc_endpoints", {}).setdefault("zones_not_offered", {})["sts"] = sts["switch_value"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    code, found = checks(sb, "preflight")
    assert code == 0, [c for c in found.values() if c["status"] != "PASS"]
    lifecycle.render_sandbox(sb)
    lifecycle.apply(sb, "platform")
    endpoints = live_endpoints(emulator, network_of(sb)["vpc_id"])
    assert endpoints.pop(STS) == [a]
    assert len(endpoints) == 6 and set(map(tuple, endpoints.values())) == {tuple(sorted([a, b]))}
    changed, output = lifecycle.plan_changes(sb, "platform")
    assert not changed, output
