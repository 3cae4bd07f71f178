"""Find environments, merge each with what it inherits, and validate it into models.

Inheritance: an environment file may say `inherits: NAME` (another file in the same
folder, without `.yaml`). Files whose names start with `_` hold shared settings and are
not environments themselves. Merge rules, child over parent:
  - mappings merge key by key, recursively (so one project can be overridden alone);
  - lists and scalars are replaced whole (a child's list is the whole list).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from generator.config.models import CROSS_FIELD, RETIRED_KEYS, Environment
from generator.config.yaml_source import Located, Path_, load_yaml
from generator.errors import ConfigError, ConfigErrors, TfgenError

INHERITS_KEY = "inherits"


@dataclass(frozen=True)
class LoadedEnvironment:
    name: str
    config: Environment
    files: tuple[str, ...]  # the chain of files, the environment's own first
    positions: dict[Path_, tuple[str, int]]
    # Mapping keys written again by a file lower in the chain (to change what is inside): where they
    # were first written, in a file inherited.
    declared: dict[Path_, tuple[str, int]] = field(default_factory=dict)
    chain: tuple[str, ...] = ()  # every file of the inheritance chain, the environment's own first

    def where(self, path: Path_) -> tuple[str, int | None]:
        """File and line of a field, or of its nearest written ancestor."""
        return _nearest(self.positions, path, self.files[0])

    def declared_at(self, path: Path_) -> tuple[str, int | None]:
        """Where a mapping key (an endpoint, a project) was first written: the file inherited that declares
        it, not a later file that writes the key again only to change a value inside it."""
        return self.declared.get(path) or self.where(path)


class UnknownEnvironment(TfgenError):
    exit_code = 2


# An environment's name becomes a folder (out/NAME) and words in every rendered file's header:
# nothing in it may climb out of out/ or end a comment line.
ENVIRONMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
# inherits: names a file beside the one that says it, never a path.
LAYER_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")


def environment_names(config_dir: Path) -> list[str]:
    if not config_dir.is_dir():
        raise TfgenError(f"configuration folder {config_dir} does not exist")
    names = []
    for path in sorted(config_dir.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        if not ENVIRONMENT_NAME.fullmatch(path.stem):
            raise ConfigError(_display(path), None, "",
                              f"{path.stem!r} cannot be an environment's name (it names out/NAME and the rendered "
                              "files): rename the file to letters, digits, _ and - (at most 40, not starting "
                              "with _ or -), or start its name with _ if it is a shared layer")
        if not path.is_file():
            raise ConfigError(_display(path), None, "", "is not a file (a folder, or a link to nothing)")
        names.append(path.stem)
    return names


def load_environment(config_dir: Path, name: str) -> LoadedEnvironment:
    names = environment_names(config_dir)
    if name not in names:
        known = ", ".join(names) or "none"
        raise UnknownEnvironment(f"unknown environment {name!r} (environments in {config_dir}: {known})")
    merged = _load_chain(config_dir, name, ())
    try:
        # The region, for what only it can check (a subnet's zone is one of the region's).
        config = Environment.model_validate(merged.data, context={"region": merged.data.get("region")})
    except ValidationError as exc:
        raise _located_error(exc, merged) from None
    files = tuple(dict.fromkeys(f for f, _ in merged.positions.values()))
    return LoadedEnvironment(name=name, config=config, files=(merged.file, *[f for f in files if f != merged.file]),
                             positions=merged.positions, declared=merged.declared, chain=merged.chain)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@dataclass
class _Merged(Located):
    """A file merged with what it inherits: also where each mapping key written again lower in the
    chain was first written (`declared`), and the chain of files, the environment's own first."""

    declared: dict[Path_, tuple[str, int]] = field(default_factory=dict)
    chain: tuple[str, ...] = ()


def _load_chain(config_dir: Path, name: str, seen: tuple[str, ...]) -> _Merged:
    path = config_dir / f"{name}.yaml"
    own = load_yaml(path, _display(path))
    data = own.data
    parent_name = data.pop(INHERITS_KEY, None)
    _, line = own.positions.pop((INHERITS_KEY,), (own.file, None))
    if parent_name is None:
        return _Merged(data=own.data, file=own.file, positions=own.positions, chain=(own.file,))
    if not isinstance(parent_name, str) or not LAYER_NAME.fullmatch(parent_name):
        raise ConfigError(own.file, line, INHERITS_KEY,
                          f"{parent_name!r}: must be the name of another file in the same folder, without .yaml "
                          "(letters, digits, _ and -; not a path)")
    if parent_name in seen + (name,):
        chain = " -> ".join(seen + (name, parent_name))
        raise ConfigError(own.file, line, INHERITS_KEY, f"inheritance goes in a circle: {chain}")
    if not (config_dir / f"{parent_name}.yaml").is_file():
        raise ConfigError(own.file, line, INHERITS_KEY, f"inherits from {parent_name!r}, but {config_dir / (parent_name + '.yaml')} does not exist")
    parent = _load_chain(config_dir, parent_name, seen + (name,))
    return _merge(parent, own)


def _merge(parent: _Merged, child: Located) -> _Merged:
    positions, declared = dict(parent.positions), dict(parent.declared)
    data = _merge_values(parent.data, child.data, (), positions, declared)
    positions.update(child.positions)
    return _Merged(data=data, file=child.file, positions=positions, declared=declared,
                   chain=(child.file, *parent.chain))


def _merge_values(parent: object, child: object, path: Path_, positions: dict, declared: dict) -> object:
    if isinstance(parent, dict) and isinstance(child, dict):
        merged = dict(parent)
        for key, value in child.items():
            if key not in parent:
                merged[key] = value
                continue
            if isinstance(parent[key], dict) and isinstance(value, dict) and path + (key,) in positions:
                declared.setdefault(path + (key,), positions[path + (key,)])  # the parent's: merged, not replaced
            merged[key] = _merge_values(parent[key], value, path + (key,), positions, declared)
        return merged
    # Replaced whole: forget where the parent's nested values were written.
    for known in [p for p in positions if len(p) > len(path) and p[: len(path)] == path]:
        del positions[known]
    for known in [p for p in declared if p[: len(path)] == path]:
        del declared[known]
    return child


def _nearest(positions: dict, path: Path_, default_file: str) -> tuple[str, int | None]:
    for cut in range(len(path), 0, -1):
        if path[:cut] in positions:
            return positions[path[:cut]]
    return default_file, None


def _located_error(exc: ValidationError, merged: Located) -> ConfigError:
    """Every error, each as FILE:LINE: FIELD.PATH: message, in the order of the fields.

    A field that takes one of several types (`true` or a list) gets an error per type;
    only the most specific is shown (a bad list item rather than "not a boolean").
    """
    # A check on two fields of a model is said at the field it names (models.cross_field_error).
    pending = [(error, _data_loc(error, merged.data) + _cross_field(error)) for error in exc.errors()]
    # A retired key says what replaces it: its replacement is not also "missing".
    replaced = {loc[:-1] + (RETIRED_KEYS[loc][0],) for _, loc in pending if loc in RETIRED_KEYS}
    pending = [(e, loc) for e, loc in pending if not (e["type"] == "missing" and loc in replaced)]
    located: list[ConfigError] = []
    while pending:
        first = pending[0][1]
        same = [(e, loc) for e, loc in pending if loc[: len(first)] == first]
        pending = [(e, loc) for e, loc in pending if loc[: len(first)] != first]
        error, loc = max(same, key=lambda pair: len(pair[1]))
        located.append(_one_error(error, loc, merged))
    return located[0] if len(located) == 1 else ConfigErrors(located)


def _cross_field(error: dict) -> Path_:
    return (error["ctx"]["field"],) if error["type"] == CROSS_FIELD else ()


def _one_error(error: dict, loc: Path_, merged: Located) -> ConfigError:
    file, line = _nearest(merged.positions, loc, merged.file)
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, "):]
    if error["type"] == "extra_forbidden" and loc in RETIRED_KEYS:
        message = RETIRED_KEYS[loc][1](error["input"])
    elif error["type"] == "extra_forbidden":
        allowed = sorted(_fields_at(Environment, loc[:-1]))
        guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        message = "unknown key" + (f"; did you mean {guess[0]!r}?" if guess else "") + f" (allowed: {', '.join(allowed)})"
    elif error["type"] == "missing":
        message = "required field is missing"
        if line is None:  # a top-level key written nowhere in the chain: the environment's own file
            file, line = merged.file, 1
            message += f" (write it in {Path(merged.file).name} or a file it inherits)"
    elif error["type"] == "string_pattern_mismatch":
        message = f"{error['input']!r} does not match {error['ctx']['pattern']}"
    elif error["type"] == CROSS_FIELD:  # at the field's own line; the other field's, wherever it was written
        other = loc[:-1] + (error["ctx"]["other"],)
        if other in merged.positions:
            message += f" ({other[-1]} is written at {':'.join(str(p) for p in merged.positions[other])})"
        else:
            message += f" ({other[-1]} is not written: its default)"
    return ConfigError(file, line, ".".join(str(p) for p in loc), message)


def _data_loc(error: dict, data: object) -> Path_:
    """The error's location as a path in the YAML: without pydantic's markers for dict keys
    and for the member of a union (`bool`, `list[...]`) that was tried."""
    out: list = []
    current = data
    for part in error["loc"]:
        if part == "[key]":
            continue
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            current = current[part]
        elif isinstance(current, dict) and error["type"] == "missing":
            current = None
        else:
            continue  # a union member's tag: not a place in the file
        out.append(part)
    return tuple(out)


def _fields_at(model: type[BaseModel], loc: Path_) -> set[str]:
    """The field names of the model that `loc` points into (for did-you-mean)."""
    current: object = model
    for part in loc:
        current = _without_none(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            if part not in current.model_fields:
                return set()
            current = current.model_fields[part].annotation
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        elif get_origin(current) is list:
            current = get_args(current)[0]
        else:
            return set()
    current = _without_none(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return set(current.model_fields)
    return set()


def _without_none(annotation: object) -> object:
    if get_origin(annotation) in (Union, UnionType):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation
