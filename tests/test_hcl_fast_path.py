"""The fast path (generator/read/hcl_fast_path.py) reads exactly what HCL's own parser reads, or declines.

The slow path is the reference: HashiCorp's parser (pygohcl) over the text with each
`KEY = jsonencode(` unwrapped, as generator/read/hcl.py reads a file the fast path declines.
Where the fast path gives an answer it must be the slow path's, key order included (the
inventory's order, and so the order of violations, follows it); where HCL refuses a text, the
fast path must decline it, so that HCL's diagnostic reaches the user.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pygohcl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.synthetic import write_config
from generator.read import hcl_fast_path
from generator.read.hcl import unwrap_jsonencode
from generator.read.inventory import from_hcl
from generator.render.templates import render
from generator.render.writer import write
from tests.conftest import EXAMPLE_ENVS, OUT
from tests.policies.mutants import MUTANTS, mutant_id


def slow_path(text: str) -> tuple[str, list] | None:
    """(the values as ordered JSON, the jsonencode calls), or None where HCL refuses the text."""
    unwrapped, calls = unwrap_jsonencode(text)
    try:
        return json.dumps(pygohcl.loads(unwrapped)), calls
    except Exception:
        return None


def fast_path(text: str) -> tuple[str, list] | None:
    parsed = hcl_fast_path.parse(text)
    return None if parsed is None else (json.dumps(parsed[0]), parsed[1])


def assert_agrees(text: str) -> bool:
    """True where the fast path read the text (and agreed), False where it declined."""
    fast = fast_path(text)
    if fast is None:
        return False
    assert fast == slow_path(text), text
    return True


@pytest.mark.parametrize("env", EXAMPLE_ENVS)
def test_every_file_tfgen_renders_is_read_by_the_fast_path_as_hcl_reads_it(env):
    files = sorted((OUT / env).rglob("*.tf"))
    assert len(files) > 20
    for path in files:
        assert assert_agrees(path.read_text()), f"{path} was declined: tfgen's own layout must take the fast path"


def test_a_synthetic_organisation_is_read_by_the_fast_path_as_hcl_reads_it(tmp_path):
    config_dir = write_config(tmp_path, 60)
    write(render(config_dir, "bench"), tmp_path / "out" / "bench")
    files = sorted((tmp_path / "out" / "bench").rglob("*.tf"))
    assert all(assert_agrees(path.read_text()) for path in files)


@pytest.mark.parametrize("mutant", MUTANTS, ids=mutant_id)
def test_every_mutant_is_read_as_hcl_reads_it_or_declined(mutant, tmp_path):
    root = tmp_path / "prod"
    shutil.copytree(OUT / "prod", root, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    mutant.apply(root)
    for path in sorted(root.rglob("*.tf")):
        assert_agrees(path.read_text())


def test_the_inventory_is_the_same_with_and_without_the_fast_path(monkeypatch):
    fast = from_hcl(OUT / "prod")
    monkeypatch.setattr(hcl_fast_path, "parse", lambda text: None)
    slow = from_hcl(OUT / "prod")
    assert [(r.address, r.file, r.line, r.values, r.prevent_destroy) for r in fast.resources] == \
           [(r.address, r.file, r.line, r.values, r.prevent_destroy) for r in slow.resources]
    assert [(p.root, p.file, p.line, p.values) for p in fast.providers] == \
           [(p.root, p.file, p.line, p.values) for p in slow.providers]


DECLINED = {
    "an interpolation": 'resource "a" "b" {\n  name = "${var.x}-y"\n}\n',
    "a template directive": 'resource "a" "b" {\n  name = "%{if true}y%{endif}"\n}\n',
    "an escape": 'resource "a" "b" {\n  name = "a\\"b"\n}\n',
    "a heredoc": 'resource "a" "b" {\n  policy = <<EOF\n{}\nEOF\n}\n',
    "a function call": 'resource "a" "b" {\n  name = lower("X")\n}\n',
    "a conditional": 'resource "a" "b" {\n  count = 1 == 1 ? 1 : 0\n}\n',
    "a comment after a value": 'resource "a" "b" {\n  name = "x" # why\n}\n',
    "a block comment": 'resource "a" "b" {\n  /* note */\n  name = "x"\n}\n',
    "a repeated attribute": 'resource "a" "b" {\n  name = "x"\n  name = "y"\n}\n',
    "non-ASCII text": 'resource "a" "b" {\n  name = "caf\u00e9"\n}\n',
    "an exponent": 'resource "a" "b" {\n  size = 1e3\n}\n',
    "a one-line block": 'resource "a" "b" {}\n',
    "an unclosed block": 'resource "a" "b" {\n  name = "x"\n',
    "a list without commas": 'resource "a" "b" {\n  ids = [\n    "x"\n    "y"\n  ]\n}\n',
    "jsonencode of a call": 'resource "a" "b" {\n  policy = jsonencode(merge(var.a, var.b))\n}\n',
    "jsonencode with text after it": 'resource "a" "b" {\n  policy = jsonencode(local.a) # why\n}\n',
    "a for expression": 'resource "a" "b" {\n  ids = [for x in var.y : x]\n}\n',
    "a vertical tab in a value": 'resource "a" "b" {\n  ids = [1,\v2]\n}\n',
    "a form feed after a list item": 'resource "a" "b" {\n  ids = [\n    1,\f\n  ]\n}\n',
    "CRLF line ends": 'resource "a" "b" {\r\n  name = "x"\r\n}\r\n',
    "a carriage return in a string": 'resource "a" "b" {\n  name = "x\ry"\n}\n',
    "a NUL in a comment": '# a\x00\nresource "a" "b" {\n  name = "x"\n}\n',
}


@pytest.mark.parametrize("text", DECLINED.values(), ids=DECLINED.keys())
def test_what_is_outside_the_layout_is_declined(text):
    assert fast_path(text) is None


def test_a_text_hcl_refuses_is_declined_so_that_hcls_diagnostic_is_shown():
    text = 'resource "a" "b" {\n  name = \n}\n'
    assert slow_path(text) is None and fast_path(text) is None


# --- generated texts ------------------------------------------------------------------------

# What tfgen writes (LAYOUT), and what else a hand may write (WIDE: escapes, templates, keywords
# as names, exponents, labels with template characters).
LAYOUT, WIDE = "layout", "wide"
NAMES = {LAYOUT: st.sampled_from(["name", "id", "tags", "policy", "rules", "a-b", "x_1", "Statement"]),
         WIDE: st.sampled_from(["name", "id", "tags", "true", "null", "a-b", "x_1", "Statement"])}
LABELS = {LAYOUT: st.text(alphabet="abcxyz_-.0 ", min_size=1, max_size=6),
          WIDE: st.text(alphabet="abcxyz_-.0 $%{}", min_size=1, max_size=6)}
STRINGS = {LAYOUT: st.text(alphabet="abz AZ09-_./:*@+=,;()[]{}#$%'", max_size=12),
           WIDE: st.text(alphabet="abz AZ09-_./:*@+=,;()[]{}#$%\\\"'\t\r\v\x00\x1b", max_size=12)}
SCALARS = {style: st.one_of(
    STRINGS[style].map(lambda s: f'"{s}"'),
    st.integers(-10**15 + 1, 10**15 - 1).map(str) if style == LAYOUT else st.integers(-10**17, 10**17).map(str),
    st.decimals(min_value=-1000, max_value=1000, places=3, allow_nan=False, allow_infinity=False).map(str),
    st.tuples(st.integers(0, 10**15 - 1), st.text(alphabet="09", min_size=1, max_size=15)).map(
        lambda parts: f"{parts[0]}.{parts[1]}"),  # 999.999...: a float that rounds to an integer
    st.sampled_from(["true", "false", "null", "aws_iam_role.r.arn", "aws_x.y[0].id", "local.z", "-0", "007", "a-b"]
                    + (["var.true", "1e3", "0.50", "x.null"] if style == WIDE else [])),
) for style in (LAYOUT, WIDE)}


def _one_line(names):
    def extend(children):
        return st.one_of(
            st.lists(children, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
            st.lists(st.tuples(names, children), max_size=3, unique_by=lambda pair: pair[0]).map(
                lambda pairs: "{ " + ", ".join(f"{k} = {v}" for k, v in pairs) + " }"),
        )
    return extend


ONE_LINE = {style: st.recursive(SCALARS[style], _one_line(NAMES[style]), max_leaves=6) for style in (LAYOUT, WIDE)}


@st.composite
def _value_lines(draw, style: str, depth: int, indent: str) -> list[str]:
    """The lines of an attribute's value: one line, or a bracket opened here and closed below."""
    kind = draw(st.sampled_from(["one", "one", "object", "list", "jsonencode", "jsonencode one"] if depth < 3
                                else ["one"]))
    if kind == "one":
        return [draw(ONE_LINE[style])]
    if kind == "jsonencode one":
        return [f"jsonencode({draw(ONE_LINE[style])})"]
    inner = indent + "  "
    if kind == "list":
        items = draw(st.lists(st.one_of(ONE_LINE[style].map(lambda v: [v]), _value_lines(style, depth + 1, inner)),
                                    max_size=3))
        lines = ["["]
        for index, item in enumerate(items):
            lines += [inner + item[0], *item[1:]]
            if index < len(items) - 1 or draw(st.booleans()):
                lines[-1] += ","
        return lines + [indent + "]"]
    opening = "{" if kind == "object" else draw(st.sampled_from(["jsonencode({", "jsonencode(["]))
    lines = [opening]
    if opening.endswith("["):
        for item in draw(st.lists(ONE_LINE[style], max_size=3)):
            lines.append(f"{inner}{item},")
        return lines + [indent + "])"]
    for key, value in draw(st.lists(st.tuples(NAMES[style], _value_lines(style, depth + 1, inner)), max_size=3,
                                    unique_by=lambda pair: pair[0])):
        lines += [f"{inner}{key} = {value[0]}", *value[1:]]
    return lines + [indent + ("}" if kind == "object" else "})")]


@st.composite
def _body(draw, style: str, depth: int, indent: str) -> list[str]:
    lines: list[str] = []
    used: set[str] = set()  # an attribute's name once per body, as HCL requires (WIDE may repeat it)
    for _ in range(draw(st.integers(0, 4))):
        name = draw(NAMES[style])
        if style == LAYOUT and name in used:
            continue
        used.add(name)
        kind = draw(st.sampled_from(["attribute", "attribute", "block", "comment", "blank"] if depth < 3
                                    else ["attribute"]))
        if kind == "attribute":
            value = draw(_value_lines(style, depth, indent))
            lines += [f"{indent}{name} = {value[0]}", *value[1:]]
        elif kind == "block":
            labels = "".join(f' "{label}"' for label in draw(st.lists(LABELS[style], max_size=2)))
            lines += [f"{indent}{name}{labels} {{", *draw(_body(style, depth + 1, indent + "  ")),
                      f"{indent}}}"]
        elif kind == "comment":
            lines.append(indent + draw(st.sampled_from(["# a note", "// another", "#"])))
        else:
            lines.append("")
    return lines


@st.composite
def files(draw, style: str = LAYOUT) -> str:
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        header = draw(st.sampled_from(['resource "aws_x" "a"', 'resource "aws_x" "b"', 'provider "aws"', "locals",
                                       'dynamic "ingress"', "terraform"]))
        lines += [header + " {", *draw(_body(style, 1, "  ")), "}", ""]
    return "\n".join(lines)


EDITS = ["${", "%{", "\\", ",", "}", ")", "]", "{", "[", "#", "=", '"', " ", "\n", "\u00e9", "?", "e3", "/*", "<<EOF\n",
         "\t", "\v", "\f", "\r", "\x00", "\x1b"]


@st.composite
def edited_files(draw) -> str:
    """A generated file with a few characters inserted, deleted or a line repeated."""
    text = draw(files(draw(st.sampled_from([LAYOUT, WIDE]))))
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["insert", "delete", "repeat"]))
        if edit == "insert":
            text = text[:position] + draw(st.sampled_from(EDITS)) + text[position:]
        elif edit == "delete":
            text = text[:position] + text[position + 1:]
        else:
            start = text.rfind("\n", 0, position) + 1
            end = text.find("\n", position)
            end = len(text) if end < 0 else end
            text = text[:end] + "\n" + text[start:end] + text[end:]
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files(LAYOUT))
def test_generated_files_in_the_layout_are_read_as_hcl_reads_them(text):
    assert_agrees(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files(WIDE))
def test_generated_files_with_escapes_templates_and_keywords_are_read_as_hcl_reads_them_or_declined(text):
    assert_agrees(text)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edited_files())
def test_edited_files_are_read_as_hcl_reads_them_or_declined(text):
    assert_agrees(text)


def test_generated_files_in_the_layout_mostly_take_the_fast_path():
    """The property tests above prove something only if the fast path reads most of what they generate
    (a layout file is declined where it repeats a name: HCL refuses some of those)."""
    read = []

    @settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(files(LAYOUT))
    def sample(text):
        read.append(assert_agrees(text))

    sample()
    assert sum(read) > len(read) * 0.6, f"{sum(read)} of {len(read)} read"


def test_resource_lines_are_counted_from_the_text(tmp_path: Path):
    """Lines come from the text, not the parser: a file read by either path gives the same lines."""
    text = '# top\n\nresource "aws_x" "a" {\n  name = "x"\n}\n\n\nresource "aws_x" "b" {\n  name = "y"\n}\n'
    out_env = tmp_path / "prod"
    (out_env / "platform").mkdir(parents=True)
    (out_env / "platform" / "main.tf").write_text(text)
    assert [(r.name, r.line) for r in from_hcl(out_env).resources] == [("a", 3), ("b", 8)]
