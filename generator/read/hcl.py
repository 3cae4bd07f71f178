"""Reading one Terraform root's HCL into plain values, fast, without evaluating it.

Each file is read into literal values, by generator/read/hcl_fast_path.py where the file is in the
layout tfgen writes (six times faster), otherwise by HashiCorp's HCL parser (through
pygohcl); both give back what they cannot evaluate as source text, and agree on every file
the fast path reads. Three steps make that what `tfgen check` needs, the way Terraform
itself would read it:

- a reference (`aws_security_group.training.id`) to a resource the root declares becomes
  `ref:aws_security_group.training`, or, where it names an attribute the configuration sets
  to a literal (`aws_cloudwatch_event_rule.x.name`), that value;
- `KEY = jsonencode(VALUE)`, which the parser would return as text with its line breaks
  gone, is blanked to `KEY = VALUE` before parsing (the call's end found by its brackets,
  past strings and comments), so VALUE is read as the literal it is, then encoded as
  Terraform would: compact JSON with sorted keys;
- `local.NAME` becomes the local's value (itself resolved; one defined twice or in a cycle
  is not), as tfgen writes one lifecycle policy per root and refers to it;
- each block's line comes from its header (`resource "TYPE" "NAME" {`, as terraform fmt
  writes it).

What cannot be read this way (a variable, a data source, a function other than
jsonencode) stays as its source text, so every rule that looks at it fails closed rather
than guessing.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from generator.read import hcl_fast_path

REF = "ref:"  # a value that refers to another resource: "ref:aws_security_group.training"

_RESOURCE_HEADER = re.compile(r'^resource\s+"([^"]+)"\s+"([^"]+)"\s*\{', re.MULTILINE)
_PROVIDER_HEADER = re.compile(r'^provider\s+"aws"\s*\{', re.MULTILINE)
_LOCALS_HEADER = re.compile(r"^locals\s*\{", re.MULTILINE)
_JSONENCODE = re.compile(r"^[ \t]*([A-Za-z_][A-Za-z0-9_-]*)[ \t]*=[ \t]*(jsonencode\()", re.MULTILINE)
_TRAVERSAL = re.compile(r"^([a-z][a-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_-]*)((?:\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\])*)$")
# What can enclose or hide a bracket: strings, comments, heredocs; and the brackets themselves.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|#[^\n]*|//[^\n]*|/\*.*?\*/|<<-?\s*"?(\w+)"?\n.*?\n\s*\1\b|[()\[\]{}]', re.S)
_OPEN, _CLOSE = "([{", ")]}"


@dataclass
class Block:
    type: str
    name: str
    file: str  # relative to out/ENV
    line: int | None
    values: dict


@dataclass
class RootBlocks:
    resources: list[Block] = field(default_factory=list)
    providers: list[Block] = field(default_factory=list)


class HclReadError(Exception):
    """A file HCL itself refuses (with the parser's diagnostic)."""


def read_root(out_env: Path, root: str) -> RootBlocks:
    """Every resource and aws provider block of out_env/root, with references resolved."""
    result = RootBlocks()
    raw: list[tuple[Block, set[str]]] = []  # (block, the attributes written as jsonencode(...))
    locals_: dict[str, object] = {}
    encoded_locals: set[str] = set()
    repeated: set[str] = set()
    for path in sorted((out_env / root).glob("*.tf")):
        text = path.read_text()
        file = f"{root}/{path.name}"
        header_matches = list(_RESOURCE_HEADER.finditer(text))
        headers = {(m[1], m[2]): m.start() for m in header_matches}
        fast = hcl_fast_path.parse(text)
        if fast is not None:
            parsed, calls = fast
        else:
            import pygohcl  # loads a Go runtime: only for a file off the fast path

            unwrapped, calls = unwrap_jsonencode(text)
            try:
                parsed = pygohcl.loads(unwrapped)
            except Exception as exc:  # pygohcl raises HCLParseError with HCL's own diagnostic
                raise HclReadError(_located(file, str(exc))) from None
        locals_offsets = [m.start() for m in _LOCALS_HEADER.finditer(text)] if "locals" in parsed else []
        encoded, in_locals = _owners(calls, [m.start() for m in header_matches], locals_offsets)
        encoded_locals |= in_locals
        for block in _as_list(parsed.get("locals") or []):
            repeated |= locals_.keys() & block.keys()  # Terraform refuses a local defined twice
            locals_.update(block)
        provider = _PROVIDER_HEADER.search(text) if "provider" in parsed else None
        provider_offset = provider.start() if provider else None
        line_at = _lines_at(text, [*headers.values(), provider_offset])
        for kind, by_name in (parsed.get("resource") or {}).items():
            for name, body in by_name.items():
                offset = headers.get((kind, name))
                for values in _as_list(body):
                    raw.append((Block(kind, name, file, line_at[offset], values), encoded.get(offset, set())))
        for values in _as_list((parsed.get("provider") or {}).get("aws", [])):
            result.providers.append(Block("provider", "aws", file, line_at[provider_offset], values))
    scope = _Scope({(block.type, block.name): block.values for block, _ in raw},
                   {name: value for name, value in locals_.items() if name not in repeated}, encoded_locals)
    for block, encoded_keys in raw:
        values = {}
        for key, value in block.values.items():
            resolved = _resolve(value, scope)
            encode = key in encoded_keys and isinstance(resolved, (dict, list))
            values[key] = _terraform_json(resolved) if encode else resolved
        block.values = values
        result.resources.append(block)
    for provider in result.providers:
        provider.values = {key: _resolve(value, scope) for key, value in provider.values.items()}
    return result


class _Scope:
    """What a reference in one root can resolve to: the configured values of its resources,
    and its locals (each resolved once, when first referred to)."""

    def __init__(self, declared: dict, locals_: dict[str, object], encoded_locals: set[str]) -> None:
        self.declared = declared
        self.raw_locals = locals_
        self.encoded_locals = encoded_locals
        self.locals: dict[str, object] = {}
        self.resolving: set[str] = set()

    def local(self, name: str) -> object:
        """The local's value, or _UNKNOWN (undefined, defined twice, or part of a cycle)."""
        if name in self.locals:
            return self.locals[name]
        if name not in self.raw_locals or name in self.resolving:
            return _UNKNOWN
        self.resolving.add(name)
        value = _resolve(self.raw_locals[name], self)
        self.resolving.discard(name)
        if name in self.encoded_locals and isinstance(value, (dict, list)):
            value = _terraform_json(value)
        self.locals[name] = value
        return value


_UNKNOWN = object()


def _located(file: str, diagnostic: str) -> str:
    """HCL's diagnostic ("invalid HCL: tmp.hcl:2,12-3,1: Invalid expression; ...") at FILE:LINE."""
    where = re.search(r"\btmp\.hcl:(\d+)[0-9,-]*: ", diagnostic)
    if where is None:
        return f"{file}: not valid HCL: {diagnostic}"
    return f"{file}:{where[1]}: not valid HCL: {diagnostic[where.end():]}"


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]


def unwrap_jsonencode(text: str) -> tuple[str, list[tuple[int, str]]]:
    """The text with each `KEY = jsonencode(VALUE)` blanked to `KEY =            VALUE `, so
    that the parser reads VALUE as the literal it is (lines and offsets unchanged); and the
    (offset of its line, KEY) of each call unwrapped."""
    chars: list[str] | None = None
    calls: list[tuple[int, str]] = []
    for call in _JSONENCODE.finditer(text):
        close = _closing_paren(text, call.end() - 1)
        if close is None:
            continue  # left as written: the rules then see text, not a document, and refuse it
        chars = chars or list(text)
        chars[call.start(2):call.end()] = " " * (call.end() - call.start(2))
        chars[close] = " "
        calls.append((call.start(), call[1]))
    return ("".join(chars) if chars else text), calls


def _lines_at(text: str, offsets: list[int | None]) -> dict[int | None, int | None]:
    """The line (from 1) of each offset, newlines counted once from the top; None stays None."""
    lines: dict[int | None, int | None] = {None: None}
    line, counted = 1, 0
    for offset in sorted(o for o in offsets if o is not None):
        line += text.count("\n", counted, offset)
        lines[offset], counted = line, offset
    return lines


def _owners(calls: list[tuple[int, str]], headers: list[int],
            locals_headers: list[int]) -> tuple[dict[int, set[str]], set[str]]:
    """The keys encoded, by the offset of the resource header each call sits under; and the
    locals encoded (calls under a `locals` header)."""
    owners = sorted([*headers, *locals_headers])
    in_locals = set(locals_headers)
    encoded: dict[int, set[str]] = {}
    encoded_locals: set[str] = set()
    for offset, key in calls:
        owner = bisect.bisect_right(owners, offset) - 1
        if owner < 0:
            continue
        if owners[owner] in in_locals:
            encoded_locals.add(key)
        else:
            encoded.setdefault(owners[owner], set()).add(key)
    return encoded, encoded_locals


def _closing_paren(text: str, opening: int) -> int | None:
    depth = 0
    for token in _TOKENS.finditer(text, opening):
        symbol = token[0]
        if symbol in _OPEN:
            depth += 1
        elif symbol in _CLOSE:
            depth -= 1
            if depth == 0:
                return token.start() if symbol == ")" else None
    return None


def _resolve(value: object, scope: _Scope) -> object:
    kind = type(value)
    if kind is str:
        return _resolve_reference(value, scope) if "." in value else value
    if kind is dict:
        return {k: _resolve(v, scope) for k, v in value.items()}
    if kind is list:
        return [_resolve(v, scope) for v in value]
    return value


def _resolve_reference(value: str, scope: _Scope) -> object:
    match = _TRAVERSAL.match(value)
    if match is None:
        return value
    if match[1] == "local":
        local = scope.local(match[2]) if not match[3] else _UNKNOWN
        return value if local is _UNKNOWN else local  # shared by every reference: read-only
    if (match[1], match[2]) in scope.declared:
        attribute = match[3].lstrip(".")
        configured = scope.declared[(match[1], match[2])].get(attribute) if attribute.isidentifier() else None
        if isinstance(configured, (int, float, bool)) or (isinstance(configured, str)
                                                         and not _TRAVERSAL.match(configured)):
            return configured  # an attribute the configuration sets: Terraform knows it at plan time
        return f"{REF}{match[1]}.{match[2]}"
    return value


def _terraform_json(value: object) -> str:
    """As Terraform's jsonencode writes it: compact, keys sorted, <, > and & escaped."""
    encoded = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return encoded.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
