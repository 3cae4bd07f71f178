"""tfgen accept without an account: its refusal, its clean-up discipline, its report.
The steps themselves run against the emulator in tests/test_sandbox.py, its account guard in
tests/test_sandbox_account.py."""

from __future__ import annotations

import pytest

from generator.account import accept
from generator.account.report import FAIL, PASS, SKIP, WARN, Report, Result, table
from generator.config.loader import load_environment
from generator.design.builder import design
from generator.errors import TfgenError
from tests.conftest import ENVIRONMENTS, OUT


def test_a_protected_environment_is_refused_before_any_call():
    class NoAccount:
        def client(self, service):
            raise AssertionError(f"{service} was called")

    with pytest.raises(TfgenError, match="prod is protected: .* pass --allow-protected"):
        accept.accept(design(load_environment(ENVIRONMENTS, "prod")), OUT / "prod", boto_session=NoAccount())


def test_cleanup_undoes_everything_in_reverse_and_reports_what_failed():
    done = []
    cleanup = accept.Cleanup()
    cleanup.add("image a", lambda: done.append("a"))
    cleanup.add("version b", lambda: (_ for _ in ()).throw(RuntimeError("throttled")))
    cleanup.add("alarm c", lambda: done.append("c"))
    cleanup.run()
    assert done == ["c", "a"]  # the failure in between stopped nothing
    assert cleanup.failures == ["version b: throttled"]
    cleanup.run()
    assert done == ["c", "a"]  # each undo runs once


def report_of(results: list[Result]) -> Report:
    return Report("accept", "prod", "333333333333", "eu-west-1", tuple(results))


def test_the_table_has_a_row_per_check_and_a_count():
    results = [Result("a test image pushes to r", PASS, "r:tfgen-accept-1 sha256:ab", module="ecr"),
               Result("a test model version registers in g", FAIL, "AccessDenied: no", module="registry")]
    lines = table(report_of(results)).splitlines()
    assert lines[0] == "tfgen accept prod: account 333333333333, region eu-west-1"
    assert lines[1].split() == ["STATUS", "MODULE", "WHAT", "DETAIL"]
    assert lines[3].split()[:2] == ["FAIL", "registry"] and lines[3].endswith("AccessDenied: no")
    assert lines[-1] == "2 checks: 1 passed, 0 warnings, 1 failed, 0 skipped"


def test_with_ecr_off_the_registry_step_is_skipped_not_failed(config_dir):
    """Nothing to register a model on is not a broken account: SKIP, and no call is made."""
    from tests.conftest import MINIMAL

    (config_dir / "test.yaml").write_text(MINIMAL + "ecr:\n  enabled: false\n")
    the_design = design(load_environment(config_dir, "test"))
    results = accept._registry(the_design, sagemaker=None, run="tfgen-accept-x", images={},
                               cleanup=accept.Cleanup())
    assert [(r.status, r.detail) for r in results] == [(SKIP, "ECR is off: no project image to register a model on")]
    assert table(report_of(results)).splitlines()[-1] == "1 check: 0 passed, 0 warnings, 0 failed, 1 skipped"


class RecordingIam:
    """An IAM client that records the simulator's questions and answers each as told."""

    def __init__(self, decide=lambda params: "allowed", refuse_with: str | None = None):
        self.calls: list[dict] = []
        self.decide, self.refuse_with = decide, refuse_with

    def get_role(self, RoleName):
        if self.refuse_with:
            import botocore.exceptions
            raise botocore.exceptions.ClientError({"Error": {"Code": self.refuse_with, "Message": "not you"}},
                                                  "GetRole")
        return {"Role": {"Arn": f"arn:aws:iam::333333333333:role/service-role/{RoleName}", "RoleName": RoleName}}

    def simulate_principal_policy(self, **params):
        self.calls.append(params)
        return {"EvaluationResults": [{"EvalActionName": params["ActionNames"][0], "EvalDecision": self.decide(params),
                                       "MatchedStatements": [], "MissingContextValues": []}]}


def test_the_simulator_is_asked_with_the_live_arn_the_keys_aws_supplies_and_the_global_ones():
    iam = RecordingIam()
    d = design(load_environment(ENVIRONMENTS, "prod"))
    accept._iam(d, iam)
    created = [c for c in iam.calls if c["PolicySourceArn"].endswith("acme-sm-rc-anti-money-laundering-execution")]
    assert created and all(c["PolicySourceArn"].startswith("arn:aws:iam::333333333333:role/service-role/")
                           for c in created)  # the role's path, from the account, not from the YAML
    interface = next(c for c in created if c["ActionNames"] == ["ec2:CreateNetworkInterface"]
                     and c["ResourceArns"][0].endswith(":network-interface/*"))
    keys = {e["ContextKeyName"]: (e["ContextKeyValues"], e["ContextKeyType"]) for e in interface["ContextEntries"]}
    # AWS supplies no ec2:Vpc with the new interface itself (Service Authorization Reference); the region,
    # principal and TLS keys ride on every call.
    assert "ec2:Vpc" not in keys and keys["ec2:Region"] == (["eu-west-1"], "string")
    assert keys["aws:RequestedRegion"] == (["eu-west-1"], "string")
    assert keys["aws:SecureTransport"] == (["true"], "boolean")
    subnet = next(c for c in created if c["ResourceArns"][0].endswith(":subnet/subnet-0c1b2c3d4e5f60011"))
    assert {e["ContextKeyName"] for e in subnet["ContextEntries"]} >= {"ec2:Vpc", "ec2:SubnetID"}
    tagged = next(c for c in created if c["ActionNames"] == ["sagemaker:AddTags"])
    assert {e["ContextKeyName"]: e["ContextKeyType"] for e in tagged["ContextEntries"]}["aws:TagKeys"] == "stringList"


def test_a_role_the_simulator_cannot_be_asked_about_is_a_fail_and_the_other_steps_go_on():
    d = design(load_environment(ENVIRONMENTS, "prod"))
    results = accept._iam(d, RecordingIam(refuse_with="AccessDenied"))
    assert len(results) == 3 and all(r.status == FAIL for r in results)
    assert results[0].detail == ("cannot simulate: AccessDenied: not you (accept needs iam:GetRole and "
                                 "iam:SimulatePrincipalPolicy on the execution roles)")


def test_an_existing_role_reaching_other_projects_warns_once_and_a_created_one_fails():
    d = design(load_environment(ENVIRONMENTS, "prod"))
    results = accept._iam(d, RecordingIam(lambda params: "allowed"))  # everything allowed: too much
    by_role: dict[str, list] = {}
    for r in results:
        by_role.setdefault(r.what.split(":")[0], []).append(r)
    assert [r.status for r in by_role["role acme-sagemaker-rc"]] == [WARN]
    assert by_role["role acme-sagemaker-rc"][0].what == "role acme-sagemaker-rc: other projects' requests"
    created = by_role["role acme-sm-rc-anti-money-laundering-execution"]
    assert created and {r.status for r in created} == {FAIL}
    assert report_of(results).counts()[WARN] == 2
