"""The fast HCL reader (generator/read/hcl.py) reads what Terraform would.

The proof is differential: tfparse (HashiCorp's HCL with Terraform's evaluation, the reader
tfgen used before, far slower) must see exactly the same resources, files, lines, values
and providers on every example environment, on every mutant of the policy suite and on a
synthetic organisation. And what the fast reader cannot evaluate stays text, so the rules
fail closed on it.
"""

from __future__ import annotations

import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

from benchmarks.synthetic import write_config
from generator.errors import TfgenError
from generator.read.inventory import PARALLEL_FROM_BYTES, REF, first_block, from_hcl, roots_of
from generator.render.templates import render
from generator.render.writer import write
from policies.engine import evaluate
from policies.expected import Expected
from generator.config.loader import load_environment
from tests.conftest import EXAMPLE_ENVS, OUT, run_python
from tests.policies.mutants import MUTANTS, mutant_id

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@contextmanager
def _quiet_stderr():
    """tfparse's Go code logs INFO lines straight to fd 2."""
    saved = os.dup(2)
    with open(os.devnull, "wb") as devnull:
        os.dup2(devnull.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _clean(value, ids):
    """tfparse's output in tfgen's shape: its bookkeeping dropped, resource UUIDs as `ref:`."""
    if isinstance(value, dict) and "__attribute__" in value:  # an attribute it cannot evaluate
        return REF + ".".join(str(value["__attribute__"]).split(".")[:2])
    if isinstance(value, dict):
        return {k: _clean(v, ids) for k, v in value.items()
                if k != "__tfmeta" and not (k == "id" and isinstance(v, str) and _UUID.fullmatch(v))}
    if isinstance(value, list):
        return [_clean(v, ids) for v in value]
    if isinstance(value, str):
        if value in ids:
            return REF + ids[value]
        return _UUID.sub(lambda m: REF + ids[m[0]] if m[0] in ids else m[0], value)
    return value


def _numbers(value):
    """tfparse gives every number as a float; HCL's parser keeps 300000 an integer."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def tfparse_view(out_env: Path) -> tuple[dict, dict]:
    import tfparse

    resources, providers = {}, {}
    for root in roots_of(out_env):
        with _quiet_stderr():
            parsed = tfparse.load_from_path(str(out_env / root))
        blocks = [b for kind in parsed.values() for b in (kind if isinstance(kind, list) else [kind])]
        ids = {b["id"]: b["__tfmeta"]["path"] for b in blocks if b.get("__tfmeta", {}).get("type") == "resource"}
        for kind, items in parsed.items():
            for block in items if isinstance(items, list) else [items]:
                meta = block.get("__tfmeta", {})
                where = (f"{root}/{meta.get('filename')}", meta.get("line_start"))
                values = _numbers(_clean(block, ids))
                if meta.get("type") == "resource":
                    lifecycle = values.pop("lifecycle", None) or {}
                    resources[(root, kind, meta["path"].split(".", 1)[1])] = (
                        *where, values, bool(first_block(lifecycle).get("prevent_destroy")))
                elif kind == "provider" and meta.get("label") == "aws":
                    providers[root] = (*where, values)
    return resources, providers


def _without_block_ids(value):
    """tfparse writes its own UUID over a nested block's `id` attribute (metric_query { id = ... }),
    so that attribute cannot be compared: it is only the fast reader that keeps it."""
    if isinstance(value, dict):
        return {k: _without_block_ids(v) for k, v in value.items() if k != "id"}
    if isinstance(value, list):
        return [_without_block_ids(v) for v in value]
    return value


def fast_view(out_env: Path) -> tuple[dict, dict]:
    inventory = from_hcl(out_env)
    return ({(r.root, r.type, r.name): (r.file, r.line, {k: _without_block_ids(v) for k, v in
                                                         _numbers(r.values).items()}, r.prevent_destroy)
             for r in inventory.resources},
            {p.root: (p.file, p.line, _numbers(p.values)) for p in inventory.providers})


def assert_same(out_env: Path) -> int:
    slow, fast = tfparse_view(out_env), fast_view(out_env)
    assert fast[1] == slow[1]
    assert sorted(fast[0]) == sorted(slow[0])
    for key in slow[0]:
        assert fast[0][key] == slow[0][key], key
    return len(fast[0])


@pytest.mark.parametrize("env", EXAMPLE_ENVS)
def test_reads_every_example_environment_as_tfparse_does(env):
    assert assert_same(OUT / env) > 60


# A dynamic block is kept as written (tfparse expands it), and so is a reference to a data source
# the root does not declare (tfparse marks it unresolved): TFG-SG-004 and TFG-POL-004 refuse them either way.
# A resource with count = 0 is kept (tfparse evaluates the count and drops it), and a provisioner keeps
# its type (tfparse drops it): TFG-SRC-002 refuses both either way. tfparse does not merge an override
# file, which Terraform does (terraform itself is the reference: tests/policies/test_provenance.py).
SAME_AS_TFPARSE = [m for m in MUTANTS if m.name not in ("a dynamic block", "a policy built from a data source",
                                                        "count = 0 on an endpoint alarm",
                                                        "a local-exec provisioner on terraform_data",
                                                        "an override file opening the inference port to the world")]


@pytest.mark.parametrize("mutant", SAME_AS_TFPARSE, ids=mutant_id)
def test_reads_every_mutant_as_tfparse_does(mutant, tmp_path):
    root = tmp_path / "prod"
    shutil.copytree(OUT / "prod", root, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    mutant.apply(root)
    assert_same(root)


def test_reads_a_synthetic_organisation_as_tfparse_does(tmp_path):
    config_dir = write_config(tmp_path, 60)
    write(render(config_dir, "bench"), tmp_path / "out" / "bench")
    assert assert_same(tmp_path / "out" / "bench") > 600


# --- a tree large enough to be read in several processes ---------------------------------
# From PARALLEL_FROM_BYTES of HCL, on more than one core, this process reads some roots while
# child interpreters read the others (docs/benchmarks.md): what comes out must be what
# reading the roots one by one gives, errors included.

LARGE = 300  # projects: about 2.7 MB of HCL


@pytest.fixture(scope="module")
def large_org(tmp_path_factory) -> tuple[Path, Path]:
    """A synthetic organisation rendered large enough to be read in several processes: its
    configuration folder and its out/bench (not to be changed: copy it)."""
    folder = tmp_path_factory.mktemp("large-org")
    config_dir = write_config(folder, LARGE)
    out_env = folder / "out" / "bench"
    write(render(config_dir, "bench"), out_env)
    assert sum(p.stat().st_size for p in out_env.rglob("*.tf")) >= PARALLEL_FROM_BYTES
    return config_dir, out_env


def test_a_large_tree_reads_as_its_roots_read_one_by_one(large_org, tmp_path):
    """Each root copied into a tree of its own (small: read in this process alone) gives
    exactly its share of the large tree's resources and providers, files and lines."""
    _, out_env = large_org
    resources, providers = fast_view(out_env)
    one_by_one: tuple[dict, dict] = ({}, {})
    for index, root in enumerate(roots_of(out_env)):
        alone = tmp_path / str(index)
        shutil.copytree(out_env / root, alone / root)
        for whole, part in zip(one_by_one, fast_view(alone)):
            whole.update(part)
    assert len(resources) > 3000 and len(providers) == len(roots_of(out_env))
    assert (resources, providers) == one_by_one
    assert from_hcl(out_env).roots == roots_of(out_env)


@pytest.mark.parametrize("team", ["team00", "team01"])
def test_a_file_hcl_refuses_in_a_large_tree_is_named(large_org, tmp_path, team):
    """Whichever process reads the root, the error names the file and line, as for a small tree."""
    out_env = shutil.copytree(large_org[1], tmp_path / "bench")
    (out_env / "teams" / team / "broken.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = \n}\n')
    with pytest.raises(TfgenError) as error:
        from_hcl(out_env)
    assert error.value.message.startswith(f"{out_env.as_posix()}/teams/{team}/broken.tf:2: not valid HCL")


def test_a_large_tree_is_read_from_a_script_on_stdin(large_org, tmp_path):
    """multiprocessing's spawned workers re-ran the caller's __main__, so a script read from
    stdin (or one without the `if __name__ == "__main__"` guard) broke with
    BrokenProcessPool; tfgen's child interpreters run nothing of the caller's."""
    _, out_env = large_org
    script = f"from pathlib import Path\nfrom generator.read.inventory import from_hcl\n" \
             f"print(len(from_hcl(Path({str(out_env)!r})).resources))\n"
    assert int(run_python("-", stdin=script, cwd=tmp_path, timeout=120)) == len(from_hcl(out_env).resources)


def _root_with(tmp_path: Path, hcl: str) -> Path:
    out_env = tmp_path / "prod"
    (out_env / "platform").mkdir(parents=True)
    (out_env / "platform" / "main.tf").write_text(hcl)
    return out_env


def test_a_policy_written_other_than_as_a_literal_stays_text_and_fails_closed(tmp_path):
    """A policy built from a variable cannot be proven: the rules see text, not a document."""
    out_env = _root_with(tmp_path, 'resource "aws_iam_role_policy" "p" {\n  role = "r"\n'
                                   '  policy = jsonencode(var.document)\n}\n')
    policy = from_hcl(out_env).resources[0].values["policy"]
    assert isinstance(policy, str) and not policy.startswith("{")


def test_comments_and_strings_with_brackets_inside_jsonencode(tmp_path):
    hcl = ('resource "aws_iam_role_policy" "p" {\n  role = aws_iam_role.r.name\n  policy = jsonencode({\n'
           '    # a comment with ) and } in it\n    Statement = [{ Sid = "a)b}c", Action = ["s3:GetObject"] }]\n'
           '  })\n}\n\nresource "aws_iam_role" "r" {\n  name = "the-role"\n}\n')
    values = from_hcl(_root_with(tmp_path, hcl)).of_type("aws_iam_role_policy")[0].values
    assert values == {"role": "the-role",
                      "policy": '{"Statement":[{"Action":["s3:GetObject"],"Sid":"a)b}c"}]}'}


def test_a_file_hcl_refuses_is_named(tmp_path):
    out_env = _root_with(tmp_path, 'resource "aws_s3_bucket" "b" {\n  bucket = \n}\n')
    with pytest.raises(TfgenError) as error:
        from_hcl(out_env)
    assert error.value.message.startswith(f"{out_env}/platform/main.tf:2: not valid HCL: Invalid expression")


def test_the_gate_passes_a_large_organisation(large_org):
    config_dir, out_env = large_org
    expected = Expected("bench", load_environment(config_dir, "bench").config)
    assert evaluate(from_hcl(out_env), expected) == []


def test_a_nested_blocks_own_id_is_kept(tmp_path):
    hcl = ('resource "aws_cloudwatch_metric_alarm" "a" {\n  metric_query {\n    id = "errors"\n  }\n'
           '  metric_query {\n    id = "rate"\n  }\n}\n')
    assert from_hcl(_root_with(tmp_path, hcl)).resources[0].values["metric_query"] == [{"id": "errors"},
                                                                                      {"id": "rate"}]


def test_the_check_of_a_large_tree_finds_exactly_its_one_mistake(large_org, tmp_path):
    """A large tree is read by this process and a child, and each root's policies go to AWS's
    catalogue as soon as the root is read: one misspelt action in one team's policy, and
    the check reports that team's three violations, and the hand edit itself (TFG-SRC-001),
    nothing lost and nothing twice."""
    from policies.engine import check

    config_dir, out_env = large_org
    out_env = shutil.copytree(out_env, tmp_path / "bench")
    iam = out_env / "teams" / "team01" / "iam.tf"
    iam.write_text(iam.read_text().replace('"sagemaker:DescribeModelPackage",', '"sagemaker:DescribeModelPackagez",', 1))
    violations = check(load_environment(config_dir, "bench"), out_env, run_checkov=False).findings
    found = {v.rule: (v.reference, v.message) for v in violations}
    # 001: not the plan's registry actions; 009: describing a version is refused; SRC-001: a file edited by hand
    assert sorted(found) == ["TFG-IAM-001", "TFG-IAM-004", "TFG-IAM-009", "TFG-SRC-001"] and len(violations) == 4
    assert found.pop("TFG-SRC-001")[0] == "teams/team01"
    assert all(address.startswith("teams/team01:") for address, _ in found.values())
    assert "UNKNOWN_ACTION" in found["TFG-IAM-004"][1]

def test_the_inventorys_indexes_follow_its_resources_when_a_plan_replaces_them():
    """of_type and find are indexed once for the rules; a list replaced by merge_plan, even by
    one of the same length, is indexed again."""
    from generator.read.inventory import Inventory, Resource

    def resource(kind: str, name: str) -> Resource:
        return Resource("platform", kind, name, "platform/main.tf", 1, {})

    inventory = Inventory(roots=["platform"], resources=[resource("aws_a", "x"), resource("aws_b", "y")])
    assert [r.name for r in inventory.of_type("aws_a")] == ["x"]
    assert inventory.find("platform", "ref:aws_b.y").name == "y"
    inventory.resources = [resource("aws_a", "z"), resource("aws_c", "y")]
    assert [r.name for r in inventory.of_type("aws_a")] == ["z"]
    assert inventory.find("platform", "ref:aws_b.y") is None
    inventory.resources.append(resource("aws_a", "w"))
    assert [r.name for r in inventory.of_type("aws_a")] == ["z", "w"]
    assert [r.name for r in inventory.of_type("aws_a", "aws_c")] == ["z", "y", "w"]


def test_locals_are_resolved_and_one_repeated_undefined_or_cyclic_stays_text(tmp_path):
    hcl = ('locals {\n  doc = { Statement = [] }\n  a = local.b\n  b = local.a\n  twice = 1\n}\n\n'
           'locals {\n  twice = 2\n  role = aws_iam_role.r.name\n}\n\n'
           'resource "aws_iam_role" "r" {\n  name = "the-role"\n}\n\n'
           'resource "aws_iam_role_policy" "p" {\n  role = local.role\n  policy = jsonencode(local.doc)\n'
           '  cyclic = local.a\n  twice = local.twice\n  undefined = local.missing\n}\n')
    values = from_hcl(_root_with(tmp_path, hcl)).of_type("aws_iam_role_policy")[0].values
    assert values["policy"] == '{"Statement":[]}' and values["role"] == "the-role"
    assert (values["cyclic"], values["twice"], values["undefined"]) == ("local.a", "local.twice", "local.missing")
