"""IAM: the registry statement, wildcards, AWS's catalogue (parliament), network interfaces
held to the VPC, the inline-policy quota, and what AWS lets each role do: condition keys
supplied, dependent actions, the intent tables (TFG-IAM-001 to 009)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from generator.config import aws_limits
from generator.read.inventory import REF, Inventory, Resource, first_block
from policies import iam_catalogue, iam_evaluation, iam_reference
from policies.expected import (DEPENDENT_ACTIONS_NOT_GRANTED, ENI_ACTIONS, REGISTRY_ACTIONS, REGISTRY_LIST_ACTION,
                               STAR_RESOURCE_ACTIONS, Expected, role_intents)
from policies.iam_evaluation import absent_is_true
from policies.rules.documents import (IDENTITY_POLICY_TYPES, as_list, documents_of, identity_documents, policies_of,
                                      statements_of)
from policies.rules.registry import Violation, at, rule


@rule("TFG-IAM-001", "Each project's AllowModelRegistry statement has the plan's actions that take a resource, on "
                     "only its own group's two ARNs; ListModelPackageGroups, which AWS grants on * only, is in a "
                     "statement of its own.")
def registry_statement(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    documents: dict[str, list[tuple[Resource, dict]]] = {}
    for resource, document, _ in documents_of(inv):
        if resource.type == "aws_iam_role_policy":
            documents.setdefault(resource.root, []).append((resource, document))
    for root, projects in exp.team_roots().items():
        arns = {project.group: exp.registry_arns(project) for project in projects}
        covered: set[str] = set()
        for policy, document in documents.get(root, []):
            statements = statements_of(document)
            registry = [s for s in statements if s.get("Sid") == "AllowModelRegistry"]
            for statement in registry:
                actions = as_list(statement.get("Action"))
                if sorted(actions) != sorted(REGISTRY_ACTIONS):
                    extra = sorted(set(actions) - REGISTRY_ACTIONS)
                    missing = sorted(REGISTRY_ACTIONS - set(actions))
                    yield at("TFG-IAM-001", policy, f"AllowModelRegistry actions differ from the plan's "
                                                    f"{len(REGISTRY_ACTIONS)} that take a resource (extra: "
                                                    f"{extra or 'none'}; missing: {missing or 'none'})")
                resources = set(as_list(statement.get("Resource")))
                owner = next((group for group, pair in arns.items() if pair == resources), None)
                if owner is None:
                    yield at("TFG-IAM-001", policy, f"AllowModelRegistry resources {sorted(resources)} are not "
                                                    "exactly one project's group and its packages")
                elif statement.get("Effect") != "Allow":
                    yield at("TFG-IAM-001", policy, "AllowModelRegistry must Allow")
                else:
                    covered.add(owner)
            if registry and not any(s.get("Effect") == "Allow" and as_list(s.get("Action")) == [REGISTRY_LIST_ACTION]
                                    and as_list(s.get("Resource")) == ["*"] for s in statements):
                yield at("TFG-IAM-001", policy, f"no statement grants {REGISTRY_LIST_ACTION} on \"*\" alone (AWS "
                                                "offers no resource type for it: scoped to the group it never "
                                                "matches)")
        for group in sorted(set(arns) - covered):
            yield Violation("TFG-IAM-001", root, None, None, f"no role policy grants AllowModelRegistry on {group}")


@rule("TFG-IAM-002", "No IAM policy allows the action * or service:* (a key policy's account-root statement excepted).")
def wildcard_actions(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    root_principal = f"arn:aws:iam::{exp.cfg.account_id}:root"
    for resource, document, key_policy in documents_of(inv):
        for statement in statements_of(document):
            if key_policy and as_list(first_block(statement.get("Principal")).get("AWS")) == [root_principal]:
                continue  # AWS's default key policy: the account administers its own key.
            for action in as_list(statement.get("Action")) + as_list(statement.get("NotAction")):
                if action == "*" or str(action).endswith(":*"):
                    yield at("TFG-IAM-002", resource, f"statement {statement.get('Sid', '?')} allows {action!r}")


@rule("TFG-IAM-003", 'Resource = "*" only for actions AWS\'s catalogue gives no resource type (a key policy\'s '
                     'own key excepted).')
def wildcard_resources(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    for resource, document, key_policy in documents_of(inv):
        if key_policy:
            continue  # in a key policy, "*" means the key itself
        for statement in statements_of(document):
            if "*" in as_list(statement.get("Resource")):
                actions = set(as_list(statement.get("Action")))
                if not actions or not actions <= STAR_RESOURCE_ACTIONS:
                    yield at("TFG-IAM-003", resource, f"statement {statement.get('Sid', '?')} grants "
                                                      f"{sorted(actions)} on Resource \"*\"")


@rule("TFG-IAM-004", "Every identity policy is valid against AWS's own catalogue of actions, resources and conditions "
                     "(parliament): no resource mismatch, unknown action or prefix, malformed statement, condition "
                     "of the wrong type or not applicable to the action, or * where a resource type exists.")
def iam_catalogue_findings(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    # Not a generator: the catalogue starts on the documents when the rule is called (those
    # the engine handed prefetch() as each root was read are under way already), and
    # evaluate() calls every rule before it reads any rule's violations.
    identity = identity_documents(inv)
    wait = iam_catalogue.findings_later([d for _, d in identity])
    return (at("TFG-IAM-004", resource, finding)
            for (resource, _), found in zip(identity, _later(wait)) for finding in found)


def prefetch(resources: list[Resource]) -> None:
    """Hand these resources' identity policies to AWS's catalogue now, in its own process, so
    that TFG-IAM-004 finds them analysed (policies/engine.py calls it as each root is read)."""
    iam_catalogue.prefetch([document for _, document in identity_documents(resources)])


def _later(wait: Callable[[], list]) -> Iterator:
    """The findings, waited for only when the first of them is read."""
    yield from wait()


@rule("TFG-IAM-005", "Network-interface actions (jobs in VPC mode) are held to the environment's VPC: every "
                    "resource type AWS gives an ec2:Vpc key for is granted only under ArnEquals (or ArnEqualsIfExists, "
                    "where a resource of the statement carries no such key) ec2:Vpc = the VPC.")
def eni_in_vpc(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    vpc = exp.vpc_arn()
    for resource, document, _ in documents_of(inv):
        if resource.type not in IDENTITY_POLICY_TYPES:
            continue
        for statement in statements_of(document):
            actions = sorted(set(as_list(statement.get("Action"))) & ENI_ACTIONS)
            if not actions or statement.get("Effect") != "Allow":
                continue
            conditions = first_block(statement.get("Condition"))
            held = any(as_list(first_block(conditions.get(operator) or {}).get("ec2:Vpc")) == [vpc]
                       for operator in ("ArnEquals", "ArnEqualsIfExists"))
            if held:
                continue
            for action in actions:
                reachable = {t.name for pattern in as_list(statement.get("Resource"))
                             for t in iam_reference.types_granted(action, str(pattern))
                             if iam_reference.is_supplied("ec2:Vpc", action, t)}
                if reachable:
                    yield at("TFG-IAM-005", resource, f"statement {statement.get('Sid', '?')} allows {action} on "
                                                      f"{', '.join(sorted(reachable))} without ArnEquals ec2:Vpc = "
                                                      f"{vpc}")


@rule("TFG-IAM-006", "The inline policies on one IAM role fit IAM's quota: 10,240 characters in all, white space "
                     "not counted (a role shared by many projects gets there, and apply fails part-way).")
def role_policy_quota(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    # Roles are counted across roots: two teams may name the same existing role. A reference
    # inside a policy (unknown until apply) is counted as written.
    total: dict[str, int] = {}
    for resource, document in policies_of(inv.of_type("aws_iam_role_policy")):
        role = resource.values.get("role")
        named = inv.find(resource.root, role)
        if named is not None:
            role = named.values.get("name", role)
        if not isinstance(role, str) or document is None:
            continue
        before = total.get(role, 0)
        total[role] = before + aws_limits.policy_characters(document)
        if before <= aws_limits.ROLE_INLINE_POLICIES_MAX < total[role]:
            yield at("TFG-IAM-006", resource, f"takes the inline policies on role {role} to {total[role]:,} characters "
                                              f"(white space not counted): IAM refuses past "
                                              f"{aws_limits.ROLE_INLINE_POLICIES_MAX:,}")


def _role_name(inv: Inventory, policy: Resource) -> str | None:
    """The role a role policy is on: its name, or the role it refers to in its root."""
    role = policy.values.get("role")
    named = inv.find(policy.root, role)
    if named is not None:
        role = named.values.get("name", role)
    return role if isinstance(role, str) and not role.startswith(REF) else None


def _policies_by_role(inv: Inventory) -> dict[str, list[tuple[Resource, dict]]]:
    """Every role's identity policies that the rendered code attaches, across roots."""
    by_role: dict[str, list[tuple[Resource, dict]]] = {}
    for resource, document, _ in documents_of(inv.of_type("aws_iam_role_policy")):
        role = _role_name(inv, resource)
        if role:
            by_role.setdefault(role, []).append((resource, document))
    return by_role


def _condition_keys(statement: dict) -> list[tuple[str, str]]:
    """(operator, key) of every condition of a statement."""
    return [(str(operator), str(key)) for operator, keys in first_block(statement.get("Condition")).items()
            for key in (keys if isinstance(keys, dict) else {})]


def _null_wants_absent(statement: dict, key: str) -> bool:
    values = as_list(first_block(first_block(statement.get("Condition")).get("Null")).get(key))
    return bool(values) and all(str(v).lower() == "true" for v in values)


def _catalogued(action: object) -> list[str]:
    try:
        return iam_reference.actions_matching(str(action))
    except iam_reference.UnknownAction:
        return []  # TFG-IAM-004 reports an action AWS does not have


@rule("TFG-IAM-007", "Every condition key of an Allow statement is one AWS supplies for each action and resource "
                     "type the statement grants (AWS's catalogue, per resource type): a condition on a key a "
                     "resource never carries is false, so the statement never grants that resource.")
def condition_keys_supplied(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    for resource, document in identity_documents(inv):
        for statement in statements_of(document):
            if statement.get("Effect") != "Allow":
                continue
            for operator, key in _condition_keys(statement):
                if absent_is_true(operator) or (operator == "Null" and _null_wants_absent(statement, key)):
                    continue  # ...IfExists, the negated operators and Null = true hold where the key is absent
                never: dict[str, set[str]] = {}
                for action in (a for pattern in as_list(statement.get("Action")) for a in _catalogued(pattern)):
                    types = [t for p in as_list(statement.get("Resource")) for t in iam_reference.types_granted(action, str(p))]
                    if not iam_reference.privilege(action).resource_types:
                        types = [None]  # granted on *: the request's own keys
                    for resource_type in types:
                        if not iam_reference.is_supplied(key, action, resource_type):
                            never.setdefault(action, set()).add(resource_type.name if resource_type else "*")
                for action, names in sorted(never.items()):
                    yield at("TFG-IAM-007", resource,
                             f"statement {statement.get('Sid', '?')}: AWS supplies no {key} for {action} on "
                             f"{', '.join(sorted(names))}, so {operator} is false there: the statement can never "
                             f"grant {action} on {', '.join(sorted(names))}")


@rule("TFG-IAM-008", "Each dependent action AWS's catalogue lists for a granted action, on the resource types the "
                     "statement grants, is granted to the same role on those resources, or policies/expected.py "
                     "records why not.")
def dependent_actions(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    for role, policies in sorted(_policies_by_role(inv).items()):
        statements = [s for _, d in policies for s in statements_of(d) if s.get("Effect") == "Allow"]

        def granted(action: str, pattern: str) -> bool:
            return any(iam_reference.glob_match(str(a).lower(), action.lower())
                       and any(iam_reference.arn_globs_intersect(str(r), pattern) for r in as_list(s.get("Resource")))
                       for s in statements for a in as_list(s.get("Action")))

        for resource, document in policies:
            for statement in statements_of(document):
                if statement.get("Effect") != "Allow":
                    continue
                for action in (a for pattern in as_list(statement.get("Action")) for a in _catalogued(pattern)):
                    if not any(t.dependent_actions for t in iam_reference.privilege(action).resource_types):
                        continue  # most actions depend on none: no need to find the types granted
                    for pattern in map(str, as_list(statement.get("Resource"))):
                        for resource_type in iam_reference.types_granted(action, pattern):
                            for dependent in resource_type.dependent_actions:
                                if (action, resource_type.name, dependent) in DEPENDENT_ACTIONS_NOT_GRANTED:
                                    continue
                                if not granted(dependent, pattern):
                                    yield at("TFG-IAM-008", resource,
                                             f"statement {statement.get('Sid', '?')} grants {action} on {pattern}; "
                                             f"AWS also asks for {dependent} there ({resource_type.name}: a "
                                             f"dependent action), and no policy on role {role} grants it")


@rule("TFG-IAM-009", "Every execution role allows each request its jobs make and refuses each it must not "
                     "(the intent tables of policies/expected.py, restated from the plan), evaluated request by "
                     "request with IAM's logic and the condition keys AWS supplies per resource type.")
def intents(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    by_role = _policies_by_role(inv)
    for role, table in sorted(role_intents(exp).items()):
        policies = by_role.get(role, [])
        documents = iam_evaluation.PolicySet((str(resource.values.get("name", resource.name)), document)
                                             for resource, document in policies)
        by_name = {str(resource.values.get("name", resource.name)): resource for resource, _ in policies}
        for intent in table.requests:
            if not table.created and not intent.allowed and not policies:
                continue
            decision = documents.decide(iam_evaluation.request_context(intent.action, intent.resource,
                                                                       intent.context))
            if decision.allowed == intent.allowed:
                continue
            message = (f"role {role}: {intent.action} on {intent.resource} is {decision}; "
                       + (f"it must be allowed ({intent.step})" if intent.allowed else
                          f"it must be refused ({intent.step})"))
            anchor = _deciding_policy(decision, intent.action, policies, by_name)
            if anchor is None:
                yield Violation("TFG-IAM-009", f"teams/{table.projects[0].split('/')[0]}", None, None, message)
            else:
                yield at("TFG-IAM-009", anchor, message)


def _deciding_policy(decision, action: str, policies: list[tuple[Resource, dict]],
                     by_name: dict[str, Resource]) -> Resource | None:
    """Where a wrong decision is reported: the policy whose statement made it; for a request
    nothing allows, the policy that grants the action elsewhere (the one to widen), else the first."""
    if decision.statement:
        return by_name.get(decision.statement.rsplit("/", 1)[0])
    for resource, document in policies:
        if any(iam_reference.glob_match(str(a).lower(), action.lower())
               for s in statements_of(document) for a in as_list(s.get("Action"))):
            return resource
    return policies[0][0] if policies else None
