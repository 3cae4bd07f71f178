"""Reading one Terraform root's HCL into plain values, fast, without evaluating it.

The files are those Terraform reads in the root's folder (generator/read/sources.py): every
`.tf` and `.tf.json` file, the override files last, each block of one merged into the block
of the same header as Terraform's "Override Files" says. Each `.tf` file is read into literal
values, by generator/read/hcl_fast_path.py where the file is in the layout tfgen writes (six
times faster), otherwise by HashiCorp's HCL parser (through pygohcl); a `.tf.json` file by
generator/read/hcl_json.py into the same shape. All give back what they cannot evaluate as
source text, and the two HCL paths agree on every file the fast path reads. What the
inventory does not hold is reported as found, each at its file and line (`Construct`): a
block of another type (a module call, a data source...), and a resource's provisioners,
`count` and `for_each`. Three steps make the rest what `tfgen check` needs, the way Terraform
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
from generator.read.sources import configuration_files, override

REF = "ref:"  # a value that refers to another resource: "ref:aws_security_group.training"

_RESOURCE_HEADER = re.compile(r'^resource\s+"([^"]+)"\s+"([^"]+)"\s*\{', re.MULTILINE)
_PROVIDER_HEADER = re.compile(r'^provider\s+"aws"\s*\{', re.MULTILINE)
_META = ("count", "for_each", "provisioner")  # in a resource: how many, and what runs besides
_META_LINE = {"count": re.compile(r"^[ \t]*count[ \t]*=", re.MULTILINE),
              "for_each": re.compile(r"^[ \t]*for_each[ \t]*=", re.MULTILINE),
              "provisioner": re.compile(r'^[ \t]*provisioner[ \t]+"', re.MULTILINE)}
# The block types the inventory holds (resource, provider; locals resolved into them), and
# those tfgen renders that hold nothing the rules read; any other is reported as a Construct.
_HELD = {"resource", "provider", "locals", "terraform", "output", "import", "removed"}
# The labels each top-level block type takes (Terraform's language reference; a type not
# listed is taken to have one).
LABELS = {"resource": 2, "data": 2, "ephemeral": 2, "action": 2, "list": 2, "provider": 1, "module": 1,
          "output": 1, "variable": 1, "check": 1, "locals": 0, "terraform": 0, "import": 0, "removed": 0,
          "moved": 0}
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
class Construct:
    """Something in a root that the inventory does not hold as a resource or a provider:
    a block of another type (a module call, a data source, a check...), or a provisioner,
    `count` or `for_each` in a resource."""
    root: str
    kind: str  # "module", "data", another block type, or "provisioner", "count", "for_each"
    address: str  # "module.NAME", "data.TYPE.NAME", "TYPE.NAME" (the resource it is in), "removed FROM"
    detail: str  # the module's source, the provisioners' types, the expression as read
    file: str  # relative to out/ENV
    line: int | None


@dataclass
class RootBlocks:
    resources: list[Block] = field(default_factory=list)
    providers: list[Block] = field(default_factory=list)
    constructs: list[Construct] = field(default_factory=list)


class HclReadError(Exception):
    """A file HCL itself refuses (with the parser's diagnostic)."""


def read_root(out_env: Path, root: str) -> RootBlocks:
    """Every resource and aws provider block of out_env/root, with references resolved: every
    file Terraform reads there (`.tf` and `.tf.json`), the override files merged over the others
    as Terraform merges them; and what the inventory does not hold, as found (`Construct`)."""
    result = RootBlocks()
    raw: list[tuple[Block, set[str]]] = []  # (block, the attributes written as jsonencode(...))
    at: dict[tuple[str, str], int] | None = None  # the place in raw of each resource, once an override comes
    locals_: dict[str, object] = {}
    encoded_locals: set[str] = set()
    repeated: set[str] = set()
    for path in configuration_files(out_env / root):
        read = _read_file(path, f"{root}/{path.name}", root)
        result.constructs += read.constructs
        if not override(path.name):
            raw += read.resources
            for block in read.locals:
                repeated |= locals_.keys() & block.keys()  # Terraform refuses a local defined twice
                locals_.update(block)
            encoded_locals |= read.encoded_locals
            result.providers += read.providers
            continue
        # Terraform's "Override Files": each block merged into the one of the same header.
        if at is None:
            at = {}
            for index, (block, _) in enumerate(raw):
                at.setdefault((block.type, block.name), index)
        for block, encoded_keys in read.resources:
            index = at.get((block.type, block.name))
            if index is None:  # Terraform refuses an override of nothing; the rules see it either way
                at[(block.type, block.name)] = len(raw)
                raw.append((block, encoded_keys))
                continue
            base, base_encoded = raw[index]  # where it is declared stays the original's, as in Terraform
            raw[index] = (Block(base.type, base.name, base.file, base.line, _merged(base.values, block.values)),
                          (base_encoded - block.values.keys()) | encoded_keys)
        for block in read.locals:  # value by value, whichever block defined it
            encoded_locals = (encoded_locals - block.keys()) | (read.encoded_locals & block.keys())
            locals_.update(block)
        for provider in read.providers:
            base = next((p for p in result.providers if p.values.get("alias") == provider.values.get("alias")), None)
            if base is None:
                result.providers.append(provider)
            else:
                base.values = {**base.values, **provider.values}
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


@dataclass
class _File:
    resources: list[tuple[Block, set[str]]]
    providers: list[Block]
    locals: list[dict]
    encoded_locals: set[str]
    constructs: list[Construct]


def _read_file(path: Path, file: str, root: str) -> _File:
    """One file's blocks, unresolved: HCL (the fast path, else HCL's parser), or Terraform's JSON."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:  # Terraform reads configuration as UTF-8 only
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise HclReadError(f"{file}:{line}: not UTF-8 (byte 0x{exc.object[exc.start]:02x}); Terraform reads UTF-8 "
                           "only") from None
    except OSError as exc:
        raise HclReadError(f"{file}: cannot be read: {exc.strerror or exc}") from None
    if path.name.endswith(".json"):
        return _read_json(text, file, root)
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
    provider = _PROVIDER_HEADER.search(text) if "provider" in parsed else None
    provider_offset = provider.start() if provider else None
    line_at = _lines_at(text, [*headers.values(), provider_offset])
    read = _File([], [], _as_list(parsed.get("locals") or []), in_locals, [])
    for kind, by_name in (parsed.get("resource") or {}).items():
        for name, body in by_name.items():
            offset = headers.get((kind, name))
            for values in _as_list(body):
                read.resources.append((Block(kind, name, file, line_at[offset], values), encoded.get(offset, set())))
                if "count" in values or "for_each" in values or "provisioner" in values:
                    read.constructs += _meta(root, f"{kind}.{name}", values, file,
                                             lambda key, start=offset: _line_after(text, start, _META_LINE[key]))
    for values in _as_list((parsed.get("provider") or {}).get("aws", [])):
        read.providers.append(Block("provider", "aws", file, line_at[provider_offset], values))
    if parsed.keys() - {"resource", "provider", "locals", "terraform", "output"}:
        read.constructs += _others(root, parsed, file, lambda kind, labels: _header_line(text, kind, labels),
                                   lambda kind, key, nth: _line_after(text, _nth_header(text, kind, nth),
                                                                      _META_LINE[key]))
    return read


def _read_json(text: str, file: str, root: str) -> _File:
    from generator.read import hcl_json  # only for a file tfgen never writes

    parsed, offsets = hcl_json.loads(text, file)
    line_at = _lines_at(text, list(offsets.values()))

    def line(path: tuple[str, ...], key: str | None = None) -> int | None:
        start = offsets.get(path)
        return line_at[start] if key is None or start is None else \
            _line_after(text, start, re.compile(re.escape(f'"{key}"') + r"\s*:"))

    read = _File([], [], _as_list(parsed.get("locals") or []), set(), [])
    for kind, by_name in (parsed.get("resource") or {}).items():
        for name, body in by_name.items():
            for values in _as_list(body):
                read.resources.append((Block(kind, name, file, line(("resource", kind, name)), values), set()))
                read.constructs += _meta(root, f"{kind}.{name}", values, file,
                                         lambda key, path=("resource", kind, name): line(path, key))
    for values in _as_list((parsed.get("provider") or {}).get("aws", [])):
        read.providers.append(Block("provider", "aws", file, line(("provider", "aws")), values))
    read.constructs += _others(root, parsed, file, lambda kind, labels: line((kind, *labels)),
                               lambda kind, key, nth: line((kind,), key))
    return read


def _meta(root: str, address: str, values: dict, file: str, line_of) -> list[Construct]:
    """A resource's provisioners, count and for_each, each at its line."""
    return [Construct(root, key, address, _provisioners(values[key]) if key == "provisioner" else str(values[key]),
                      file, line_of(key)) for key in _META if key in values]


def _others(root: str, parsed: dict, file: str, header_line, nth_line) -> list[Construct]:
    """Every block of a type the inventory does not hold (module, data, check, variable...),
    and the provisioners of `removed` blocks (Terraform runs those on destroy)."""
    found = []
    for kind, value in parsed.items():
        if kind == "removed":
            for nth, block in enumerate(_as_list(value)):
                if isinstance(block, dict) and "provisioner" in block:
                    found.append(Construct(root, "provisioner", f"removed {block.get('from', '')}".strip(),
                                           _provisioners(block["provisioner"]), file,
                                           nth_line("removed", "provisioner", nth)))
        elif kind not in _HELD:
            for labels, block in _labelled(value, LABELS.get(kind, 1)):
                body = block if isinstance(block, dict) else {}
                address = ".".join((kind, *labels)) if labels else f"{kind} {body.get('from', '')}".strip()
                detail = str(body.get("source", "")) if kind == "module" else ""
                found.append(Construct(root, kind, address, detail, file, header_line(kind, labels)))
    return found


def _labelled(value: object, labels: int, path: tuple[str, ...] = ()):
    """(labels, body) of each block under a block type's value, as HCL's parser nests them."""
    if labels == 0 or not isinstance(value, dict):
        for body in _as_list(value):
            yield path, body
        return
    for label, inner in value.items():
        yield from _labelled(inner, labels - 1, (*path, label))


def _provisioners(value: object) -> str:
    """The types of the provisioners written (`local-exec, remote-exec`), in either syntax."""
    kinds = [kind for item in _as_list(value) if isinstance(item, dict) for kind in item]
    return ", ".join(dict.fromkeys(kinds)) or str(value)


def _header_line(text: str, kind: str, labels: tuple[str, ...]) -> int | None:
    header = re.search("^" + re.escape(kind) + "".join(r'\s+"' + re.escape(label) + '"' for label in labels) + r"\s*\{",
                       text, re.MULTILINE)
    return text.count("\n", 0, header.start()) + 1 if header else None


def _nth_header(text: str, kind: str, nth: int) -> int | None:
    headers = list(re.finditer("^" + re.escape(kind) + r"\s*\{", text, re.MULTILINE))
    return headers[nth].start() if nth < len(headers) else None


def _line_after(text: str, start: int | None, pattern: re.Pattern) -> int | None:
    """The line of the first match of pattern at or after start (a block's header)."""
    found = pattern.search(text, start) if start is not None else None
    return text.count("\n", 0, found.start()) + 1 if found else None


def _merged(base: dict, over: dict) -> dict:
    """An override block merged into its original, as Terraform's "Override Files" says: each
    argument replaces the original's, each nested block type replaces all the original's blocks
    of that type, and a `lifecycle` block is merged argument by argument."""
    merged = dict(base)
    for key, value in over.items():
        if key == "lifecycle" and isinstance(base.get(key), dict) and isinstance(value, dict):
            merged[key] = {**base[key], **value}
        else:
            merged[key] = value
    return merged


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
