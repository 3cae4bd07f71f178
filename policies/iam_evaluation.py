"""IAM's evaluation of one request against identity policies, as AWS documents it.

No maintained evaluator on PyPI does this with conditions (principalmapper's local simulation
was last released in 2021; moto's matches actions and resources, and conditions barely), so
this one is kept small and written against AWS's IAM User Guide, whose documented examples
are its tests (tests/policies/test_iam_effect.py):

- "Policy evaluation logic": an explicit Deny wins; else an Allow that matches; else the
  request is implicitly denied.
- "Condition operators": the operators of a statement are ANDed, and so are the keys under
  one operator; the values of one key are ORed (for a negated operator: none may match). A
  key absent from the request makes the condition false, except for ...IfExists (true), the
  negated operators (true) and Null. ForAllValues is true of an absent or empty key,
  ForAnyValue false.
- ARNs under ArnEquals and ArnLike are compared component by component, the six
  colon-separated parts each a glob ("Condition operators"). In Resource a `*` that ends a
  component may match past its colons ("IAM JSON policy elements: Resource": `arn:aws:s3:*`);
  any other `*` stays within its component. Action case-insensitively; strings with `*` and
  `?` only under the ...Like operators.

Out of scope, and refused rather than guessed (a statement the evaluator cannot read never
allows, and always denies): Date, IP and Binary operators, policy variables. Permission
boundaries, SCPs and resource policies are not modelled: only the account's own simulator
sees them (`tfgen accept` and `preflight` ask it).

Which condition keys a request carries is the catalogue's to say (policies/iam_reference.py):
`request_context` keeps only those AWS supplies for the action on the resource's type.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from policies import iam_reference
from policies.iam_reference import glob_match

Context = dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class Request:
    action: str
    resource: str  # one ARN: IAM authorises a request once for each resource it names
    context: tuple[tuple[str, tuple[str, ...]], ...] = ()  # condition keys and their values

    def keys(self) -> Context:
        return {key.lower(): values for key, values in self.context}


@dataclass(frozen=True)
class Decision:
    allowed: bool
    effect: str  # "allowed", "explicitly denied", "implicitly denied"
    statement: str | None = None  # "POLICY/Sid" of the statement that decided, where one did
    unreadable: tuple[str, ...] = field(default=())  # statements skipped, with why

    def __str__(self) -> str:
        return self.effect + (f" by {self.statement}" if self.statement else "")


class Unsupported(ValueError):
    """A condition this evaluator does not model."""


def request_context(action: str, resource: str, context: Iterable[tuple[str, Iterable[str]]]) -> Request:
    """The request AWS evaluates: the intended context, less the keys AWS does not supply for
    this action on this resource's type (a subnet carries ec2:Vpc; a new interface does not)."""
    context = tuple(context)
    if not context:
        return Request(action, resource)
    resource_type = iam_reference.type_of(action, resource) if resource != "*" else None
    kept = tuple((key, tuple(values)) for key, values in context
                 if iam_reference.is_supplied(key, action, resource_type))
    return Request(action, resource, kept)


def evaluate(policies: Iterable[tuple[str, dict]], request: Request) -> Decision:
    """The decision on one request, given (policy name, document) pairs."""
    return PolicySet(policies).decide(request)


class PolicySet:
    """A principal's policies, read once for the many requests asked of them (each role of a
    thousand-project organisation is asked about fifty): the statements that can match an
    action are found once per action."""

    def __init__(self, policies: Iterable[tuple[str, dict]]) -> None:
        self.statements: list[tuple[str, object]] = []
        for name, document in policies:
            statements = document.get("Statement", []) if isinstance(document, dict) else []
            for index, statement in enumerate(statements if isinstance(statements, list) else [statements]):
                label = f"{name}/{statement.get('Sid', index) if isinstance(statement, dict) else index}"
                self.statements.append((label, statement))
        # Statements whose actions are all written out, by action; the others are tried for every one.
        self._literal: dict[str, list[int]] = {}
        self._others: list[int] = []
        for index, (_, statement) in enumerate(self.statements):
            actions = statement.get("Action") if isinstance(statement, dict) else None
            names = [str(a).lower() for a in _listed(actions)]
            if names and all("*" not in a and "?" not in a for a in names):
                for name in dict.fromkeys(names):
                    self._literal.setdefault(name, []).append(index)
            else:
                self._others.append(index)
        self._by_action: dict[str, list[tuple[str, object]]] = {}

    def _candidates(self, action: str) -> list[tuple[str, object]]:
        found = self._by_action.get(action)
        if found is None:
            indices = sorted({*self._literal.get(action, ()),
                              *(i for i in self._others if _may_match_action(self.statements[i][1], action))})
            found = self._by_action[action] = [self.statements[i] for i in indices]
        return found

    def decide(self, request: Request) -> Decision:
        allowing: str | None = None
        unreadable: list[str] = []
        for label, statement in self._candidates(request.action.lower()):
            try:
                matches = _matches(statement, request, action_checked=True)
                effect = statement.get("Effect")
            except (Unsupported, AttributeError, TypeError) as exc:
                unreadable.append(f"{label}: {exc}")
                if isinstance(statement, dict) and statement.get("Effect") == "Deny":
                    return Decision(False, "explicitly denied", label, tuple(unreadable))  # fail closed
                continue
            if matches and effect == "Deny":
                return Decision(False, "explicitly denied", label, tuple(unreadable))
            if matches and effect == "Allow" and allowing is None:
                allowing = label
        if allowing:
            return Decision(True, "allowed", allowing, tuple(unreadable))
        return Decision(False, "implicitly denied", None, tuple(unreadable))


def _may_match_action(statement: object, action: str) -> bool:
    """False only where the statement surely does not apply to the action; one that cannot be
    read stays, so that deciding reports it."""
    try:
        return _action_matches(statement, action)
    except (AttributeError, TypeError):
        return True


def _listed(value: object) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def _action_matches(statement: dict, action: str) -> bool:
    if "Action" in statement:
        return any(glob_match(str(p).lower(), action) for p in _listed(statement["Action"]))
    if "NotAction" in statement:
        return not any(glob_match(str(p).lower(), action) for p in _listed(statement["NotAction"]))
    return False


def _matches(statement: dict, request: Request, action_checked: bool = False) -> bool:
    if not action_checked and not _action_matches(statement, request.action.lower()):
        return False
    if "Resource" in statement:
        if not any(resource_match(_no_variables(p), request.resource) for p in _listed(statement["Resource"])):
            return False
    elif "NotResource" in statement:
        if any(resource_match(_no_variables(p), request.resource) for p in _listed(statement["NotResource"])):
            return False
    else:
        return False  # an identity policy's statement without a resource matches nothing
    condition = statement.get("Condition") or {}
    if not condition:
        return True
    context = request.keys()
    return all(condition_holds(operator, keys, context) for operator, keys in condition.items())


def _no_variables(pattern: object) -> str:
    if "${" in str(pattern):
        raise Unsupported(f"policy variables ({pattern}) are not modelled")
    return str(pattern)


def resource_match(pattern: str, arn: str) -> bool:
    """A Resource entry against a request's ARN: as an ARN condition, except that a `*` ending
    a component may match past its colons (AWS's Resource element documentation)."""
    return arn_match(pattern, arn, trailing_star_spans=True)


def arn_match(pattern: str, arn: str, trailing_star_spans: bool = False) -> bool:
    """An ARN condition value against an ARN: `*` alone matches anything; otherwise each of the
    six colon-separated components is a glob of its own (the last, the resource, keeps its own
    colons). trailing_star_spans: a `*` ending a component matches past it (Resource entries)."""
    if pattern == "*":
        return True
    if "*" not in pattern and "?" not in pattern:
        return pattern == arn
    star = pattern.find("*")
    if star == len(pattern) - 1 and "?" not in pattern and (trailing_star_spans or pattern.count(":", 0, star) >= 5):
        return arn.startswith(pattern[:-1])  # one `*`, at the end (of the resource): the commonest form
    return _arn_pattern(pattern, trailing_star_spans).fullmatch(arn) is not None


@functools.lru_cache(maxsize=16384)
def _arn_pattern(pattern: str, trailing_star_spans: bool) -> re.Pattern:
    """One regex for the six globs: in the first five components a wildcard stops at a colon,
    unless it ends its component and the pattern is a Resource entry (trailing_star_spans)."""
    parts = pattern.split(":", 5)
    if len(parts) != 6 and not (trailing_star_spans and pattern.endswith("*")):
        return re.compile(r"(?!)")  # matches nothing: not an ARN of six components

    def glob(part: str, last: bool) -> str:
        out = []
        for i, c in enumerate(part):
            spans = last or (trailing_star_spans and i == len(part) - 1)
            out.append((".*" if spans else "[^:]*") if c == "*" else ("." if last else "[^:]") if c == "?"
                       else re.escape(c))
        return "".join(out)
    return re.compile(":".join(glob(part, index == 5) for index, part in enumerate(parts)), re.DOTALL)


_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike",
            "NumericNotEquals"}


def _compare(base: str, wanted: str, given: str) -> bool:
    if base in ("StringEquals", "StringNotEquals"):
        return wanted == given
    if base in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return wanted.casefold() == given.casefold()
    if base in ("StringLike", "StringNotLike"):
        return glob_match(wanted, given)
    if base in ("ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"):
        return arn_match(wanted, given)
    if base == "Bool":
        return wanted.lower() == given.lower()
    if base.startswith("Numeric"):
        try:
            w, g = float(wanted), float(given)
        except ValueError:
            return False
        return {"NumericEquals": g == w, "NumericNotEquals": g == w, "NumericLessThan": g < w,
                "NumericLessThanEquals": g <= w, "NumericGreaterThan": g > w,
                "NumericGreaterThanEquals": g >= w}[base]
    raise Unsupported(f"condition operator {base} is not modelled")


_KNOWN = {"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike",
          "StringNotLike", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Bool", "NumericEquals",
          "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan",
          "NumericGreaterThanEquals"}


def absent_is_true(operator: str) -> bool:
    """Whether a condition holds where its key is absent: ...IfExists, ForAllValues, and the
    negated operators without a set qualifier (ForAnyValue of anything is false)."""
    qualifier, _, base = operator.rpartition(":")
    if qualifier == "ForAnyValue":
        return base.endswith("IfExists")
    return base.endswith("IfExists") or qualifier == "ForAllValues" or base.removesuffix("IfExists") in _NEGATED


def condition_holds(operator: str, keys: dict, context: Context) -> bool:
    """One operator of a Condition block, with all its keys, against the request's context."""
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if base != "Null" and base not in _KNOWN or qualifier not in ("", "ForAllValues", "ForAnyValue"):
        raise Unsupported(f"condition operator {operator} is not modelled")
    if not isinstance(keys, dict):
        raise Unsupported(f"{operator} holds {keys!r}, not keys and values")
    for key, raw in keys.items():
        if "${" in str(key) or any("${" in str(v) for v in _listed(raw)):
            raise Unsupported(f"policy variables ({key}) are not modelled")
        wanted = [str(v) for v in _listed(raw)]
        given = context.get(str(key).lower())
        if base == "Null":
            if (given is None) != (wanted[0].lower() == "true" if wanted else True):
                return False
            continue
        if given is None or (qualifier and not given):
            # Absent: false, except IfExists and the negated operators; ForAllValues is true of none.
            if if_exists or qualifier == "ForAllValues" or (not qualifier and base in _NEGATED):
                continue
            return False

        def one(value: str) -> bool:
            hit = any(_compare(base, w, value) for w in wanted)
            return not hit if base in _NEGATED else hit

        if qualifier == "ForAllValues":
            held = all(one(v) for v in given)
        elif qualifier == "ForAnyValue":
            held = any(one(v) for v in given)
        else:
            held = any(one(v) for v in given)  # a single-valued key: its one value
        if not held:
            return False
    return True
