"""The live commands' one session and one report, against the emulator.

Each live command (preflight, verify, accept, outputs) asks STS whose the credentials are
(GetCallerIdentity) before anything else, and refuses another account's, naming both
accounts: the emulator's own record of the requests it served shows that nothing else was
asked. Clients are built for the environment's region whatever the credentials' region is.
And the report's table and its JSON are the same results (here preflight's; verify's and
accept's, which need an applied sandbox, in tests/test_sandbox.py).
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from generator.cli import cli
from sandbox import emulator as emulator_module
from sandbox import lifecycle
from sandbox.emulator import boto_client

REGION = "eu-west-1"
OTHER = "333333333333"
REFUSAL = ("Error: the credentials are for account 333333333333 "
           "(arn:aws:sts::333333333333:assumed-role/tfgen-test-other-account/tfgen-test), but sandbox is account "
           "123456789012: use sandbox's credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")


@pytest.fixture(scope="module")
def emulator():
    with emulator_module.start() as started, pytest.MonkeyPatch.context() as patch:
        for key, value in started.env().items():
            patch.setenv(key, value)
        patch.delenv("AWS_PROFILE", raising=False)
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        patch.delenv("AWS_REGION", raising=False)
        yield started


@pytest.fixture(scope="module")
def sb(emulator, tmp_path_factory):
    """The sandbox rendered, not applied: nothing here gets past the guard but preflight."""
    sandbox = lifecycle.prepare(emulator, tmp_path_factory.mktemp("account"))
    lifecycle.render_sandbox(sandbox)
    return sandbox


@pytest.fixture
def other_account(emulator, monkeypatch):
    for key, value in emulator.credentials_of(OTHER).items():
        monkeypatch.setenv(key, value)


def tfgen(sb, *args: str):
    return CliRunner().invoke(cli, ["--config-dir", str(sb.config_dir), "--out-dir", str(sb.out_env.parent), *args],
                              catch_exceptions=False)


def test_the_emulator_holds_assumed_credentials_to_the_other_account(emulator, other_account):
    """What the refusals below rest on (moto 5.2: a 12-digit access key id is no account)."""
    import boto3

    assert boto3.client("sts", region_name=REGION).get_caller_identity()["Account"] == OTHER
    plain = boto_client(emulator, "sts", REGION).get_caller_identity()
    assert plain["Account"] == emulator_module.ACCOUNT


@pytest.mark.parametrize("command", [["preflight"], ["verify"], ["accept", "--allow-protected"], ["outputs"]],
                         ids=lambda command: command[0])
def test_another_accounts_credentials_are_refused_and_nothing_else_is_asked(sb, emulator, other_account, command):
    env_file = sb.out_env / "security-groups.env"
    with emulator.recording() as seen:
        result = tfgen(sb, command[0], "sandbox", *command[1:])
    assert result.exit_code == 1
    assert result.output == REFUSAL + "\n"
    assert [(str(s), s.region) for s in seen] == [("sts:GetCallerIdentity", REGION)]
    assert not env_file.exists()  # outputs wrote nothing


def test_the_refusal_names_both_regions_where_the_credentials_region_differs(sb, emulator, other_account,
                                                                             monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with emulator.recording() as seen:
        result = tfgen(sb, "verify", "sandbox")
    assert result.exit_code == 1
    assert result.output == REFUSAL + "; their region is us-east-1, sandbox's is eu-west-1\n"
    assert [(str(s), s.region) for s in seen] == [("sts:GetCallerIdentity", REGION)]


def test_the_right_account_is_asked_in_the_environments_region_whatever_the_credentials_say(sb, emulator,
                                                                                            monkeypatch):
    """The design's names and ARNs are the environment's region's: asked anywhere else, the
    account would answer that nothing exists. So every client is built for that region."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with emulator.recording() as seen:
        result = tfgen(sb, "preflight", "sandbox", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["account"], report["region"], report["passed"]) == (emulator_module.ACCOUNT, REGION, True)
    assert str(seen[0]) == "sts:GetCallerIdentity" and len(seen) > 20
    assert {s.region for s in seen} == {REGION}


# --- the report: its table is its JSON -------------------------------------------------------


def table_results(text: str) -> tuple[str, list[dict], str]:
    """A report's table read back: its heading, a row per result (by the header's columns;
    a `fix:` line belongs to the row above), its last line."""
    lines = text.splitlines()
    heading, header, *rows, summary = lines
    module, what, detail = header.index("MODULE"), header.index("WHAT"), header.index("DETAIL")
    results: list[dict] = []
    for line in rows:
        if line[:detail].strip() == "" and line[detail:].startswith("fix: "):
            results[-1]["fix"] = line[detail + len("fix: "):]
            continue
        results.append({"status": line[:module].strip(), "module": line[module:what].strip(),
                        "what": line[what:detail].strip(), "detail": line[detail:], "fix": ""})
    return heading, results, summary


def assert_table_is_the_json(text: str, data: dict) -> None:
    heading, rows, summary = table_results(text)
    assert heading == f"tfgen {data['command']} {data['environment']}: account {data['account']}, region {data['region']}"
    assert rows == [{key: r[key] for key in ("status", "module", "what", "detail", "fix")} for r in data["results"]]
    counts = data["counts"]
    n = len(data["results"])
    assert summary == (f"{n} check{'' if n == 1 else 's'}: {counts['PASS']} passed, {counts['WARN']} warnings, "
                       f"{counts['FAIL']} failed, {counts['SKIP']} skipped")
    assert data["passed"] == (counts["FAIL"] == 0)


def test_preflights_table_and_json_agree(sb, emulator):
    """With a FAIL and its fix among the rows: a job log group SageMaker made already."""
    logs = boto_client(emulator, "logs", REGION)
    logs.create_log_group(logGroupName="/aws/sagemaker/TrainingJobs")
    try:
        text, as_json = tfgen(sb, "preflight", "sandbox"), tfgen(sb, "preflight", "sandbox", "--format", "json")
    finally:
        logs.delete_log_group(logGroupName="/aws/sagemaker/TrainingJobs")
    assert text.exit_code == as_json.exit_code == 1
    data = json.loads(as_json.output)
    assert_table_is_the_json(text.output, data)
    failed = [r for r in data["results"] if r["status"] == "FAIL"]
    assert [(r["module"], r["what"], r["fix"]) for r in failed] == [
        ("logs", "log group /aws/sagemaker/TrainingJobs", "set logs.adopt_existing_job_log_groups: [training_jobs]")]
