"""Read one YAML file into plain data while remembering where every value came from.

PyYAML's own loader forgets positions and silently keeps the last of two duplicate keys;
this one composes the node tree itself so that every error can say FILE:LINE, duplicate
keys are errors, and alias bombs are stopped after a fixed number of nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from generator.errors import ConfigError

Path_ = tuple[str | int, ...]

# A 1,000-project organisation is about 30,000 nodes; a billion-laughs document reaches
# this bound in well under a second and is refused before it can exhaust memory.
MAX_NODES = 1_000_000

# libyaml's parser when PyYAML was built with it: the same nodes and marks, ten times faster.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Located:
    """Plain data from YAML, plus the file and line of every mapping key and list item."""

    data: object
    file: str
    positions: dict[Path_, tuple[str, int]] = field(default_factory=dict)


# Deeper than any environment file needs (teams.T.projects.P.endpoints.E.key is 7): an
# alias that contains itself, or thousands of nested mappings, stop here, not in a RecursionError.
MAX_DEPTH = 64
# The types an environment file holds (what YAML's core schema resolves plain values to, and
# its collections); anything else (`!foo`, `!!binary`, `!!python/...`) is refused at its line.
PLAIN_TAGS = frozenset(f"tag:yaml.org,2002:{kind}" for kind in
                       ("str", "int", "float", "bool", "null", "timestamp", "map", "seq"))


def load_yaml(path: Path, display: str) -> Located:
    """Load `path`; `display` is how errors name the file (usually relative to the cwd)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:  # a folder or a dangling link named x.yaml, no permission
        raise ConfigError(display, None, "", f"cannot be read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(display, line, "", f"the file is not UTF-8 (byte 0x{raw[exc.start]:02x})") from None
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.reader.ReaderError as exc:  # a control character YAML does not allow
        line = text[: exc.position].count("\n") + 1
        raise ConfigError(display, line, "", f"invalid YAML: control character U+{exc.character:04X} is not allowed") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise ConfigError(display, line, "", f"invalid YAML: {problem}") from None
    except RecursionError:  # the composer's own recursion, on thousands of nested collections
        raise ConfigError(display, None, "", f"invalid YAML: nested deeper than {MAX_DEPTH} levels") from None
    located = Located(data=None, file=display)
    if root is None:  # empty, or only comments: named here, not as missing fields of the file that inherits it
        raise ConfigError(display, 1, "", "the file is empty: an environment file holds settings (or `inherits:` "
                                          "and what differs); a shared layer holds what its children share")
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(display, root.start_mark.line + 1, "", "the top level must be a mapping of settings")
    builder = _Builder(display, located.positions)
    located.data = builder.build(root, ())
    return located


class _Builder:
    def __init__(self, file: str, positions: dict[Path_, tuple[str, int]]):
        self.file = file
        self.positions = positions
        self.nodes = 0
        self.constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: Path_) -> object:
        self.nodes += 1
        line = node.start_mark.line + 1
        if self.nodes > MAX_NODES:
            raise ConfigError(self.file, line, _dotted(path),
                              f"the document expands to more than {MAX_NODES:,} values (nested aliases?)")
        if len(path) > MAX_DEPTH:
            raise ConfigError(self.file, line, _dotted(path[:3]) + "...",
                              f"nested deeper than {MAX_DEPTH} levels (or an alias that contains itself)")
        if node.tag not in PLAIN_TAGS:
            raise ConfigError(self.file, line, _dotted(path),
                              f"the YAML tag {node.tag} is not supported: write the value without it")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.positions[path + (index,)] = (self.file, item.start_mark.line + 1)
                items.append(self.build(item, path + (index,)))
            return items
        return self._scalar(node, path)

    def _scalar(self, node: yaml.ScalarNode, path: Path_) -> object:
        """The value, or a located error for a value its tag cannot hold (`!!int ten`, the date 2026-02-30)."""
        try:
            return self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
            kind = node.tag.rsplit(":", 1)[1]
            raise ConfigError(self.file, node.start_mark.line + 1, _dotted(path),
                              f"{node.value!r} is not a valid {kind} ({exc})") from None

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict:
        result: dict = {}
        first_line: dict = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise ConfigError(self.file, line, _dotted(path), "YAML merge keys (<<) are not supported; write the keys out")
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError(self.file, line, _dotted(path), "a key must be a plain scalar")
            # The key as written: YAML 1.1 would make `007` the number 7 and `no` false.
            key = key_node.value
            if key in result:
                raise ConfigError(
                    self.file, line, _dotted(path + (key,)),
                    f"duplicate key (first written on line {first_line[key]}); YAML would silently keep only the last one",
                )
            first_line[key] = line
            self.positions[path + (key,)] = (self.file, line)
            result[key] = self.build(value_node, path + (key,))
        return result


def _dotted(path: Path_) -> str:
    return ".".join(str(p) for p in path)
