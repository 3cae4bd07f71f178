"""HCL in the layout tfgen writes, read line by line in Python, several times faster than
HCL's own parser through pygohcl (docs/benchmarks.md, "Where the check time goes"); anything
outside that layout is declined and goes to HCL's parser.

The layout is terraform fmt's, restricted: one attribute or block header per line; values
that are literals (strings without interpolation or escapes, decimal numbers, bools, null),
references, one-line lists and objects of those, each also inside `jsonencode(...)`; or a
`{`, `[`, `jsonencode({` or `jsonencode([` whose closing bracket (`}`, `},`, `})`...)
stands alone on a later line. For
such a text, parse() returns exactly what the slow path (`pygohcl.loads` of the text with
each `KEY = jsonencode(` unwrapped, see hcl_reader) returns, key order included, and the
offsets of the lines holding `KEY = jsonencode(`. For anything else it returns None: a
comment after a value, an interpolation, an escape, a heredoc, a function call, a
conditional, a repeated attribute, an unclosed bracket, a character outside ASCII, a
control character other than tab and newline. Declining costs only time, so every
doubt declines; tests/test_hcl_fast_path.py compares both paths on every rendered tree,
every mutant, and some 1,400 generated and edited files on every run.
"""

from __future__ import annotations

import re

_IDENT = r"[A-Za-z_][A-Za-z0-9_-]*"
_QUOTED = r'"[^"\\$%]*"'  # a name or label: no escapes, no template
# One line outside a list: (1, 2) KEY = REST, (3, 4) a block header, (5) a closing bracket,
# (6) blank or a comment. Which one matched is the match's lastindex.
_LINE = re.compile(rf"[ \t]*(?:({_IDENT}|{_QUOTED})[ \t]*=[ \t]*(.*)|({_IDENT})((?:[ \t]+{_QUOTED})*)[ \t]*\{{[ \t]*"
                   rf"|([}}\]][),]?)[ \t]*|(#.*|//.*|))$")
_ATTRIBUTE, _BLOCK, _CLOSE, _NOTHING = 2, 4, 5, 6
_LABEL = re.compile(r'"([^"]*)"')
_REFERENCE = rf"{_IDENT}(?:\.{_IDENT}|\[[0-9]+\])*"
_NUMBER = r"-?[0-9]{1,15}(?:\.[0-9]{1,15})?"
# The common value, one scalar (string, number, reference), matched at once.
_SCALAR = re.compile(rf'"([^"\\]*)"|({_NUMBER})|({_REFERENCE})')
# The tokens of any other one-line value; (5) is any other character (a vertical tab, a
# carriage return...), which declines: HCL's whitespace is spaces and tabs.
_TOKEN = re.compile(rf'[ \t]*(?:("[^"\\]*")|({_NUMBER})(?![A-Za-z0-9_.-])|({_REFERENCE})|([\[\]{{}},=])|(.))')
_IDENT_ONLY = re.compile(_IDENT)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # control characters but tab and newline
_KEYWORDS = {"true": True, "false": False, "null": None}


class _Decline(Exception):
    """Not in the layout this reads: the caller uses HCL's own parser."""


class _Frame:
    """An open block body, `{` or `[`: what it fills and the lines that may close it."""

    __slots__ = ("container", "closers", "is_body", "is_list", "last_item")

    def __init__(self, container: dict | list, closers: tuple[str, ...], is_body: bool = False):
        self.container = container
        self.closers = closers
        self.is_body = is_body
        self.is_list = isinstance(container, list)
        self.last_item = False  # a list item without a trailing comma: only the closer may follow


def parse(text: str) -> tuple[dict, list[tuple[int, str]]] | None:
    """(the values, [(offset of the line, KEY) for each `KEY = jsonencode(`]), or None."""
    if not text.isascii():
        return None  # HCL normalises Unicode strings (NFC): its parser knows how
    if _CONTROL.search(text):
        return None  # HCL refuses a carriage return in a string, for one: its parser says so
    try:
        return _Parser().parse(text)
    except _Decline:
        return None


class _Parser:
    def __init__(self) -> None:
        self.dicts: list[dict] = []  # every mapping built, sorted at the end as Go's JSON sorts keys
        self.blocks: set[tuple[int, str]] = set()  # (mapping, key) holding a block body, or a list of them
        self.levels: set[tuple[int, str]] = set()  # (mapping, key) holding a level of block labels
        # Each distinct one-line value is read once per file: the same lines recur in every
        # project (`action = { type = "expire" }`). Shared, so never changed once read; the
        # reader builds its own copies when it resolves references.
        self.values: dict[str, object] = {}

    def parse(self, text: str) -> tuple[dict, list[tuple[int, str]]]:
        root = self._dict()
        stack = [_Frame(root, (), is_body=True)]
        encoded: list[tuple[int, str]] = []
        offset = 0
        for line in text.split("\n"):
            start, offset = offset, offset + len(line) + 1
            frame = stack[-1]
            if frame.is_list:
                self._list_line(line.strip(" \t"), stack, frame)
                continue
            match = _LINE.match(line)
            if match is None:
                raise _Decline
            kind = match.lastindex
            if kind == _NOTHING:
                continue
            if kind == _CLOSE:
                self._close(match[5], stack)
            elif kind == _ATTRIBUTE:
                key, rest = match[1], match[2].rstrip(" \t")
                if key[0] == '"':
                    if frame.is_body:
                        raise _Decline  # a body's attribute names are identifiers
                    key = key[1:-1]
                elif key in _KEYWORDS:
                    raise _Decline
                if rest.startswith("jsonencode("):
                    rest = rest[len("jsonencode("):]
                    if match[1][0] == '"':
                        raise _Decline  # the slow path unwraps `IDENT = jsonencode(` only
                    encoded.append((start, key))
                    if rest == "{" or rest == "[":
                        self._set(frame.container, key, self._open(rest, stack, ")"))
                    elif rest.endswith(")"):  # jsonencode(local.policy), on one line
                        self._set(frame.container, key, self._value(rest[:-1]))
                    else:
                        raise _Decline
                elif rest == "{" or rest == "[":
                    self._set(frame.container, key, self._open(rest, stack, ""))
                else:
                    self._set(frame.container, key, self._value(rest))
            elif frame.is_body:  # a block header
                body = self._dict()
                self._insert_block(frame.container, [match[3], *_LABEL.findall(match[4])], body)
                stack.append(_Frame(body, ("}",), is_body=True))
            else:
                raise _Decline
        if len(stack) != 1:
            raise _Decline
        for mapping in self.dicts:
            ordered = sorted(mapping.items())
            mapping.clear()
            mapping.update(ordered)
        return root, encoded

    def _close(self, closer: str, stack: list[_Frame]) -> None:
        if closer not in stack[-1].closers:
            raise _Decline
        stack.pop()
        if stack[-1].is_list and not closer.endswith(","):
            stack[-1].last_item = True

    def _list_line(self, s: str, stack: list[_Frame], frame: _Frame) -> None:
        if not s or s[0] == "#" or s.startswith("//"):
            return
        if s in frame.closers:
            self._close(s, stack)
            return
        if frame.last_item:
            raise _Decline  # HCL separates list items with commas
        if s == "{" or s == "[":
            frame.container.append(self._open(s, stack, "", in_list=True))
            return
        if s.endswith(","):
            s = s[:-1]
        else:
            frame.last_item = True
        frame.container.append(self._value(s))

    def _open(self, bracket: str, stack: list[_Frame], suffix: str, in_list: bool = False) -> dict | list:
        close = "}" if bracket == "{" else "]"
        container = self._dict() if bracket == "{" else []
        closers = (close, close + ",") if in_list else (close + suffix,)
        stack.append(_Frame(container, closers))
        return container

    def _dict(self) -> dict:
        mapping: dict = {}
        self.dicts.append(mapping)
        return mapping

    @staticmethod
    def _set(container: dict, key: str, value: object) -> None:
        if key in container:
            raise _Decline  # HCL refuses a repeated attribute: let its parser say so
        container[key] = value

    def _insert_block(self, container: dict, keys: list[str], body: dict) -> None:
        """As HCL's JSON has it: container[type][label]... = body; a repeated block becomes a list."""
        for key in keys[:-1]:
            if key not in container:
                container[key] = self._dict()
                self.levels.add((id(container), key))
            elif (id(container), key) not in self.levels:
                raise _Decline
            container = container[key]
        key = keys[-1]
        if key not in container:
            container[key] = body
            self.blocks.add((id(container), key))
        elif (id(container), key) not in self.blocks:
            raise _Decline
        elif isinstance(container[key], list):
            container[key].append(body)
        else:
            container[key] = [container[key], body]

    # --- one-line values ---------------------------------------------------------------

    def _value(self, text: str) -> object:
        if text in self.values:
            return self.values[text]
        value = self.values[text] = self._read_value(text)
        return value

    def _read_value(self, text: str) -> object:
        scalar = _SCALAR.fullmatch(text)
        if scalar:
            string, number, reference = scalar.groups()
            if string is not None:
                return _literal_string(string)
            if number is not None:
                return _number(number)
            return _reference(reference)
        tokens = _TOKEN.findall(text)
        value, used = self._read(tokens, 0)
        if used != len(tokens):
            raise _Decline
        return value

    def _read(self, tokens: list[tuple[str, ...]], i: int) -> tuple[object, int]:
        string, number, reference, symbol, _ = _token(tokens, i)
        if string:
            return _literal_string(string[1:-1]), i + 1
        if number:
            return _number(number), i + 1
        if reference:
            return _reference(reference), i + 1
        if symbol == "[":
            items: list = []
            i += 1
            while _token(tokens, i)[3] != "]":
                item, i = self._read(tokens, i)
                items.append(item)
                if _token(tokens, i)[3] == ",":
                    i += 1
                elif tokens[i][3] != "]":
                    raise _Decline
            return items, i + 1
        if symbol == "{":
            mapping = self._dict()
            i += 1
            while _token(tokens, i)[3] != "}":
                key_string, _, key_name, _, _ = tokens[i]
                if _token(tokens, i + 1)[3] != "=":
                    raise _Decline
                if key_string:
                    key = _literal_string(key_string[1:-1])
                elif key_name and _IDENT_ONLY.fullmatch(key_name) and key_name not in _KEYWORDS:
                    key = key_name
                else:
                    raise _Decline
                value, i = self._read(tokens, i + 2)
                self._set(mapping, key, value)
                if _token(tokens, i)[3] == ",":
                    i += 1
                elif tokens[i][3] != "}":
                    raise _Decline
            return mapping, i + 1
        raise _Decline


def _token(tokens: list[tuple[str, ...]], i: int) -> tuple[str, ...]:
    if i >= len(tokens):
        raise _Decline
    return tokens[i]


def _literal_string(content: str) -> str:
    if "${" in content or "%{" in content:
        raise _Decline  # a template: HCL's parser knows what it means
    return content


def _reference(text: str) -> object:
    """A keyword's value, or a reference as HCL's JSON gives what it cannot evaluate: its text."""
    if text in _KEYWORDS:
        return _KEYWORDS[text]
    if ("true" in text or "false" in text or "null" in text) and \
            any(word in _KEYWORDS for word in re.split(r"[.\[]", text)):
        raise _Decline
    return text


def _number(text: str) -> int | float:
    """As HCL's JSON writes a number (exactly, trailing zeros dropped) and Python reads it
    back: an int where the fraction is all zeros, else a float (999.9999... included)."""
    whole, _, fraction = text.partition(".")
    return int(whole) if not fraction.strip("0") else float(text)
