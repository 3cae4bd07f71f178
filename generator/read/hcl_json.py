"""A `.tf.json` file (Terraform's JSON syntax) read into the shape HCL's parser gives a `.tf` file.

Terraform's "JSON Configuration Syntax": the root object's properties are the top-level
block types; a block type with labels nests one object per label (`resource` two, `provider`
one), and at any level an array of objects stands for several (`"provider": {"aws": [{...},
{...}]}`); the innermost object is the body. Properties named `//` in a body are comments.
A string is a template: one that is only `${REFERENCE}` is the reference itself, written
here as HCL's parser writes one (`aws_security_group.training.id`); any other template stays
text, so the rules that look at it fail closed, as for a `.tf` file.

Each block's place is where its last label is written (`"NAME": {`), found in the text.
"""

from __future__ import annotations

import json
import re

from generator.read.hcl import LABELS, HclReadError

_REFERENCE = re.compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\])*)\s*\}")


def loads(text: str, file: str) -> tuple[dict, dict[tuple[str, ...], int | None]]:
    """(the blocks, as HCL's parser gives them; {(block type, *labels): offset in the text})."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        where = f":{exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise HclReadError(f"{file}{where}: not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise HclReadError(f"{file}: not a Terraform JSON file: its root is not an object")
    parsed: dict = {}
    offsets: dict[tuple[str, ...], int | None] = {}
    for kind, value in document.items():
        if kind == "//":
            continue
        labels = LABELS.get(kind, 1)
        bodies = list(_bodies(value, labels, (kind,)))
        if labels == 0:
            parsed[kind] = [body for _, body in bodies]
        else:
            for path, body in bodies:
                level = parsed.setdefault(kind, {})
                for label in path[1:-1]:
                    level = level.setdefault(label, {})
                name = path[-1]
                level[name] = [*_listed(level[name]), body] if name in level else body
        for path, _ in bodies:
            offsets.setdefault(path, _offset(text, path))
    return parsed, offsets


def _bodies(value: object, labels: int, path: tuple[str, ...]):
    """(type and labels, body) of each block a property's value stands for."""
    for item in _listed(value):
        if not isinstance(item, dict):
            continue  # Terraform refuses it: nothing to read
        if labels == 0:
            yield path, _body(item)
        else:
            for label, inner in item.items():
                yield from _bodies(inner, labels - 1, (*path, label))


def _listed(value: object) -> list:
    return value if isinstance(value, list) else [value]


def _body(body: dict) -> dict:
    return {key: _expression(value) for key, value in body.items() if key != "//"}


def _expression(value: object) -> object:
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        return whole[1] if whole else value
    if isinstance(value, dict):
        return {key: _expression(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_expression(item) for item in value]
    return value


def _offset(text: str, path: tuple[str, ...]) -> int | None:
    """Where the last of these keys is written, each looked for after the one before."""
    offset, found = 0, None
    for key in path:
        found = re.compile(re.escape(json.dumps(key)) + r"\s*:").search(text, offset)
        if found is None:
            return None
        offset = found.end()
    return found.start() if found else None
