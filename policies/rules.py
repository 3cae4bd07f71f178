"""The rules of the platform, each with a stable ID, a one-line statement and a check.

A check receives the inventory of one environment (from HCL or a plan) and what its YAML
expects, and yields Violations that name the resource, file:line and what was expected.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from generator.config import aws_limits
from generator.read.inventory import REF, Inventory, Resource, first_block
from generator.read.sg_rules import blocks as _blocks
from generator.design.rule_key import describe as describe_rule
from generator.read.sg_rules import sg_rules
from policies import iam_catalogue, iam_evaluation, iam_reference
from policies.iam_evaluation import absent_is_true
from policies.expected import (ALL, ANYWHERE, ENI_ACTIONS, FAILED_JOB_EVENTS, REGISTRY_ACTIONS, REGISTRY_LIST_ACTION,
                               STAR_RESOURCE_ACTIONS, DEPENDENT_ACTIONS_NOT_GRANTED, Expected, Rule, expected_rules,
                               role_intents)

WORLD = {ANYWHERE, "::/0"}
STATEFUL_TYPES = ("aws_ecr_repository", "aws_sagemaker_model_package_group", "aws_cloudwatch_log_group")
IAM_POLICY_ATTRIBUTES = {"aws_iam_role_policy": "policy", "aws_iam_policy": "policy", "aws_iam_role": "assume_role_policy",
                         "aws_sns_topic_policy": "policy"}
PUBLISHERS = {"cloudwatch.amazonaws.com", "events.amazonaws.com"}  # alarms and EventBridge rules
KEY_USE_FOR_PUBLISHERS = {"kms:Decrypt", "kms:GenerateDataKey*"}


@dataclass(frozen=True)
class Violation:
    rule: str
    address: str
    file: str | None
    line: int | None
    message: str

    @property
    def location(self) -> str:
        if not self.file:
            return "-"
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class PolicyRule:
    id: str
    statement: str
    check: Callable[[Inventory, Expected], Iterator[Violation]]


RULES: list[PolicyRule] = []


def rule(rule_id: str, statement: str):
    def register(check):
        RULES.append(PolicyRule(rule_id, statement, check))
        return check
    return register


def at(rule_id: str, resource: Resource, message: str) -> Violation:
    return Violation(rule_id, resource.address, resource.file, resource.line, message)


@functools.lru_cache(maxsize=8192)
def _json(text: str) -> object:
    """A JSON document, parsed once however many rules and resources read it (the same
    lifecycle policy is on every repository). Shared: rules only read it."""
    return json.loads(text)


# --- security groups ---------------------------------------------------------------------


def _role(exp: Expected, group: Resource | None) -> str | None:
    if group is None:
        return None
    return exp.group_names().get(group.values.get("name"))


@rule("TFG-SG-001", "Each of the five security groups has exactly its designed rules, none missing, none extra.")
def sg_rule_sets(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    designed = expected_rules(exp.cidr)
    groups = {role: g for g in inv.of_type("aws_security_group") if (role := _role(exp, g))}
    actual: dict[str, set[Rule]] = {role: set() for role in groups}
    for found in sg_rules(inv):
        role = _role(exp, found.group)
        if found.group is None:
            yield at("TFG-SG-001", found.resource, f"{describe_rule(found.key)} is attached to no group tfgen declares")
            continue
        if role is None:
            continue  # a group with an unexpected name: TFG-NAME-001 reports it
        if found.key not in designed[role]:
            yield at("TFG-SG-001", found.resource, f"unexpected rule on {role}: {describe_rule(found.key)}")
        actual[role].add(found.key)
    for role, rules in designed.items():
        if role not in groups:
            yield Violation("TFG-SG-001", f"platform:aws_security_group.{role.replace('-', '_')}", None, None,
                            f"the {exp.cfg.tag_prefix}-{role} group is missing")
            continue
        for missing in sorted(rules - actual[role], key=str):
            yield at("TFG-SG-001", groups[role], f"{role} is missing its rule: {describe_rule(missing)}")


def _covers(key: Rule, port: int) -> bool:
    _, protocol, low, high, _ = key
    if protocol == ALL:
        return True
    return protocol == "tcp" and low is not None and high is not None and low <= port <= high


@rule("TFG-SG-002", "TCP 8080 is open on the inference group only, and only from the VPC CIDR.")
def port_8080(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    for found in sg_rules(inv):
        direction, protocol, _, _, source = found.key
        if direction != "ingress" or not _covers(found.key, 8080):
            continue
        if protocol == ALL and source == "self":
            continue  # cluster traffic within training/processing, not a port opened to anyone
        role = _role(exp, found.group)
        if role != "inference":
            yield at("TFG-SG-002", found.resource, f"{describe_rule(found.key)} opens 8080 on {role or 'a group'} "
                                                   "(8080 belongs to the inference group only)")
        elif source != exp.cidr:
            yield at("TFG-SG-002", found.resource, f"{describe_rule(found.key)}: 8080 must come from the VPC CIDR "
                                                   f"{exp.cidr} only")


@rule("TFG-SG-003", "No ingress from 0.0.0.0/0 or ::/0; egress to the world only on TCP 443.")
def world(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    for found in sg_rules(inv):
        direction, protocol, low, high, source = found.key
        if source not in WORLD:
            continue
        if direction == "ingress":
            yield at("TFG-SG-003", found.resource, f"{describe_rule(found.key)}: no ingress from the internet")
        elif (protocol, low, high) != ("tcp", 443, 443):
            yield at("TFG-SG-003", found.resource, f"{describe_rule(found.key)}: egress to the internet is HTTPS (tcp/443) only")


@rule("TFG-SG-004", "Rules are aws_vpc_security_group_ingress_rule/_egress_rule resources only: "
                    "no inline blocks, no aws_security_group_rule, no dynamic blocks.")
def rule_form(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    for group in inv.of_type("aws_security_group"):
        for direction in ("ingress", "egress"):
            if _blocks(group.values.get(direction)):
                yield at("TFG-SG-004", group, f"inline {direction} block; write each rule as "
                                              f"aws_vpc_security_group_{direction}_rule")
    for legacy in inv.of_type("aws_security_group_rule"):
        yield at("TFG-SG-004", legacy, "aws_security_group_rule; use aws_vpc_security_group_ingress_rule/_egress_rule")
    for resource in inv.resources:
        for block in sorted(first_block(resource.values.get("dynamic"))):
            yield at("TFG-SG-004", resource, f'dynamic "{block}" block; rules must be written out, one resource each')


# --- names -------------------------------------------------------------------------------


@rule("TFG-NAME-001", "Security groups are named {tag_prefix}-{role}, one for each of the five roles.")
def group_names(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    names = exp.group_names()
    for group in inv.of_type("aws_security_group"):
        name = group.values.get("name")
        if name not in names:
            yield at("TFG-NAME-001", group, f"group name {name!r} is not one of {', '.join(sorted(names))}")
    present = {g.values.get("name") for g in inv.of_type("aws_security_group")}
    for name in sorted(set(names) - present):
        yield Violation("TFG-NAME-001", "platform", None, None, f"no security group is named {name!r}")


@rule("TFG-NAME-002", "ECR repositories are {company}-sagemaker-shared/NAME or {company}-sm-{team}-{project}/STAGE, "
                      "exactly as configured, and fit AWS's repository name pattern.")
def repository_names(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    expected = exp.repositories()
    seen: dict[str, set[str]] = {}
    for repo in inv.of_type("aws_ecr_repository"):
        name = str(repo.values.get("name"))
        seen.setdefault(repo.root, set()).add(name)
        if not aws_limits.ECR_REPOSITORY_NAME.match(name) or len(name) > aws_limits.ECR_REPOSITORY_MAX:
            yield at("TFG-NAME-002", repo, f"{name!r} breaks AWS's repository name pattern")
        elif name not in expected.get(repo.root, {}):
            yield at("TFG-NAME-002", repo, f"{name!r} is not a repository the YAML declares for {repo.root}")
    for root, names in expected.items():
        for name in sorted(set(names) - seen.get(root, set())):
            yield Violation("TFG-NAME-002", root, None, None, f"repository {name!r} is missing")


@rule("TFG-NAME-003", "Each project has one model package group named {team}-{project}, "
                      "at most 63 characters of [a-zA-Z0-9-].")
def model_package_group_names(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    roots = exp.team_roots()
    seen: dict[str, set[str]] = {}
    for group in inv.of_type("aws_sagemaker_model_package_group"):
        name = str(group.values.get("model_package_group_name"))
        seen.setdefault(group.root, set()).add(name)
        if len(name) > aws_limits.MODEL_PACKAGE_GROUP_MAX or not aws_limits.MODEL_PACKAGE_GROUP_NAME.match(name):
            yield at("TFG-NAME-003", group, f"{name!r} breaks AWS's limit (at most 63 characters of [a-zA-Z0-9-])")
        elif name not in {p.group for p in roots.get(group.root, [])}:
            yield at("TFG-NAME-003", group, f"{name!r} is not {{team}}-{{project}} of a project of {group.root}")
    for root, projects in roots.items():
        for project in projects:
            if project.group not in seen.get(root, set()):
                yield Violation("TFG-NAME-003", root, None, None,
                                f"model package group {project.group!r} of {project.team}/{project.name} is missing")


@rule("TFG-NAME-004", "IAM role names fit AWS's limits: at most 64 characters of [A-Za-z0-9_+=,.@-].")
def role_names(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    for role in inv.of_type("aws_iam_role"):
        name = str(role.values.get("name", ""))
        if len(name) > aws_limits.IAM_ROLE_MAX or not aws_limits.IAM_ROLE_NAME.match(name):
            yield at("TFG-NAME-004", role, f"role name {name!r} ({len(name)} characters) breaks AWS's limits")


# --- VPC endpoints -------------------------------------------------------------------------


@rule("TFG-EP-001", "Exactly the VPC endpoints SageMaker needs in a private VPC (plus the YAML's extras), none "
                    "missing, none extra: interface endpoints in the YAML's VPC and private subnets, with private "
                    "DNS, in the endpoints group only; the S3 gateway on every route table the YAML names.")
def vpc_endpoints(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    net, services = exp.cfg.network, exp.interface_services()
    endpoints_group = f"{exp.cfg.tag_prefix}-vpc-endpoints"
    seen: dict[str, list[Resource]] = {}
    for endpoint in inv.of_type("aws_vpc_endpoint"):
        v = endpoint.values
        service = str(v.get("service_name"))
        seen.setdefault(service, []).append(endpoint)
        if v.get("vpc_id") != net.vpc_id:
            yield at("TFG-EP-001", endpoint, f"{service} is in {v.get('vpc_id')}, not the YAML's {net.vpc_id}")
        if service == exp.s3_service():
            if v.get("vpc_endpoint_type") != "Gateway":
                yield at("TFG-EP-001", endpoint, f"{service} must be a Gateway endpoint (through the route tables)")
            elif sorted(_list(v.get("route_table_ids"))) != sorted(net.route_table_ids):
                yield at("TFG-EP-001", endpoint, f"the S3 gateway is on {sorted(_list(v.get('route_table_ids')))}; "
                                                 f"the YAML's route tables are {sorted(net.route_table_ids)}")
            continue
        if service not in services:
            yield at("TFG-EP-001", endpoint, f"{service} is not an endpoint the YAML asks for")
            continue
        problems = []
        if v.get("vpc_endpoint_type") != "Interface":
            problems.append("must be an Interface endpoint")
        if sorted(_list(v.get("subnet_ids"))) != sorted(net.private_subnet_ids):
            problems.append(f"subnets {sorted(_list(v.get('subnet_ids')))}, not the YAML's private subnets")
        if v.get("private_dns_enabled") is not True:
            problems.append("private DNS must be on (jobs call AWS's usual names)")
        groups = [inv.find(endpoint.root, ref) for ref in _list(v.get("security_group_ids"))]
        names = [g.values.get("name") if g else "?" for g in groups]
        if names != [endpoints_group]:
            problems.append(f"security groups {names}; it belongs in {endpoints_group} only")
        for problem in problems:
            yield at("TFG-EP-001", endpoint, f"{services[service]}: {problem}")
    for service, name in sorted({**services, exp.s3_service(): "s3"}.items()):
        found = seen.get(service, [])
        if not found:
            yield Violation("TFG-EP-001", "platform", None, None, f"the {name} endpoint ({service}) is missing")
        for extra in found[1:]:
            yield at("TFG-EP-001", extra, f"a second {name} endpoint")


# --- ECR ---------------------------------------------------------------------------------


def _lifecycle_problems(policy: object, want: list[tuple]) -> list[str]:
    try:
        document = _json(policy) if isinstance(policy, str) else policy
        rules = sorted(document["rules"], key=lambda r: r["rulePriority"])
        found = [(r["selection"].get("tagStatus"), tuple(r["selection"].get("tagPrefixList", ())),
                  r["selection"].get("countType"), r["selection"].get("countNumber")) for r in rules]
        units = {r["selection"].get("countUnit") for r in rules if r["selection"].get("countType") == "sinceImagePushed"}
        priorities = [r["rulePriority"] for r in rules]
    except (TypeError, ValueError, KeyError, AttributeError):
        return ["the lifecycle policy is not a document with rules tfgen can read"]
    problems = []
    if len(set(priorities)) != len(priorities):
        problems.append(f"rule priorities {priorities} repeat (ECR needs each once)")
    if any(status == "any" for status, *_ in found[:-1]):
        problems.append("a tagStatus any rule is not the last (ECR evaluates it last; a rule after it is dead)")
    if units - {"days"}:
        problems.append(f"count unit {sorted(units - {'days'})}; the YAML counts days")
    if found != want:
        problems.append(f"rules {found}; the YAML says {want} (tagStatus, prefixes, countType, countNumber, "
                        "in priority order)")
    return problems


@rule("TFG-ECR-001", "Every repository has exactly one lifecycle policy, as the YAML says: untagged images expire "
                     "after its days, each release tag prefix keeps its own newest images in a rule before the "
                     "last, and the last rule (tagStatus any) keeps the configured number of the rest.")
def lifecycle(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    expected = exp.repositories()
    policies: dict[tuple[str, str], list[Resource]] = {}
    for policy in inv.of_type("aws_ecr_lifecycle_policy"):
        target = policy.values.get("repository")
        repo = inv.find(policy.root, target)
        name = repo.values.get("name") if repo else target
        policies.setdefault((policy.root, str(name)), []).append(policy)
    for repo in inv.of_type("aws_ecr_repository"):
        name = str(repo.values.get("name"))
        attached = policies.get((repo.root, name), [])
        keep = expected.get(repo.root, {}).get(name)
        if len(attached) != 1:
            yield at("TFG-ECR-001", repo, f"{name} has {len(attached)} lifecycle policies (expected exactly one)")
            continue
        if keep is None:
            continue  # not a repository the YAML declares: TFG-NAME-002 reports it
        for problem in _lifecycle_problems(attached[0].values.get("policy"), exp.lifecycle_rules(keep)):
            yield at("TFG-ECR-001", attached[0], f"{name}: {problem}")


def _repo_rule(rule_id: str, statement: str, test: Callable[[dict], bool], problem: str) -> None:
    def check(inv: Inventory, exp: Expected) -> Iterator[Violation]:
        for repo in inv.of_type("aws_ecr_repository"):
            if not test(repo.values):
                yield at(rule_id, repo, problem)
    rule(rule_id, statement)(check)


_repo_rule("TFG-ECR-002", "Repository tags are immutable.",
           lambda v: v.get("image_tag_mutability") == "IMMUTABLE", "image_tag_mutability must be IMMUTABLE")
_repo_rule("TFG-ECR-003", "Repositories scan images on push.",
           lambda v: first_block(v.get("image_scanning_configuration")).get("scan_on_push") is True,
           "image_scanning_configuration.scan_on_push must be true")
_repo_rule("TFG-ECR-004", "Repositories are encrypted with KMS.",
           lambda v: first_block(v.get("encryption_configuration")).get("encryption_type") == "KMS",
           "encryption_configuration.encryption_type must be KMS")
_repo_rule("TFG-ECR-005", "force_delete is never true (deleting a repository must not delete its images).",
           lambda v: v.get("force_delete") in (False, None), "force_delete must not be true: it deletes every image")


# --- logs --------------------------------------------------------------------------------


@rule("TFG-LOG-001", "Log group retention is exactly as configured and one of CloudWatch's allowed values.")
def log_retention(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    for group in inv.of_type("aws_cloudwatch_log_group"):
        days = group.values.get("retention_in_days")
        want = exp.log_retention(str(group.values.get("name")))
        if days not in aws_limits.LOG_RETENTION_DAYS:
            yield at("TFG-LOG-001", group, f"retention_in_days = {days} is not a CloudWatch value")
        elif want is not None and days != want:
            yield at("TFG-LOG-001", group, f"retention_in_days = {days}; the YAML says {want}")


# --- IAM ---------------------------------------------------------------------------------


def _policies(inv: Inventory | list[Resource]) -> Iterator[tuple[Resource, dict | None]]:
    """(resource, its policy document, or None where it cannot be read) for every IAM, KMS key
    and topic policy."""
    for resource in inv.resources if isinstance(inv, Inventory) else inv:
        attribute = IAM_POLICY_ATTRIBUTES.get(resource.type) or ("policy" if resource.type == "aws_kms_key" else None)
        if attribute is None or resource.values.get(attribute) is None:
            continue
        raw = resource.values[attribute]
        try:
            document = _json(raw) if isinstance(raw, str) else raw
        except ValueError:
            document = None
        yield resource, document if isinstance(document, dict) else None


def _documents(inv: Inventory | list[Resource]) -> Iterator[tuple[Resource, dict, bool]]:
    """(resource, policy document, is_key_policy) for every policy that can be read (TFG-POL-004
    reports the others)."""
    for resource, document in _policies(inv):
        if document is not None:
            yield resource, document, resource.type == "aws_kms_key"


def _list(value: object) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def _statements(document: dict) -> list[dict]:
    return [s for s in _list(document.get("Statement")) if isinstance(s, dict)]


@rule("TFG-IAM-001", "Each project's AllowModelRegistry statement has the plan's actions that take a resource, on "
                     "only its own group's two ARNs; ListModelPackageGroups, which AWS grants on * only, is in a "
                     "statement of its own.")
def registry_statement(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    documents: dict[str, list[tuple[Resource, dict]]] = {}
    for resource, document, _ in _documents(inv):
        if resource.type == "aws_iam_role_policy":
            documents.setdefault(resource.root, []).append((resource, document))
    for root, projects in exp.team_roots().items():
        arns = {project.group: exp.registry_arns(project) for project in projects}
        covered: set[str] = set()
        for policy, document in documents.get(root, []):
            statements = _statements(document)
            registry = [s for s in statements if s.get("Sid") == "AllowModelRegistry"]
            for statement in registry:
                actions = _list(statement.get("Action"))
                if sorted(actions) != sorted(REGISTRY_ACTIONS):
                    extra = sorted(set(actions) - REGISTRY_ACTIONS)
                    missing = sorted(REGISTRY_ACTIONS - set(actions))
                    yield at("TFG-IAM-001", policy, f"AllowModelRegistry actions differ from the plan's "
                                                    f"{len(REGISTRY_ACTIONS)} that take a resource (extra: "
                                                    f"{extra or 'none'}; missing: {missing or 'none'})")
                resources = set(_list(statement.get("Resource")))
                owner = next((group for group, pair in arns.items() if pair == resources), None)
                if owner is None:
                    yield at("TFG-IAM-001", policy, f"AllowModelRegistry resources {sorted(resources)} are not "
                                                    "exactly one project's group and its packages")
                elif statement.get("Effect") != "Allow":
                    yield at("TFG-IAM-001", policy, "AllowModelRegistry must Allow")
                else:
                    covered.add(owner)
            if registry and not any(s.get("Effect") == "Allow" and _list(s.get("Action")) == [REGISTRY_LIST_ACTION]
                                    and _list(s.get("Resource")) == ["*"] for s in statements):
                yield at("TFG-IAM-001", policy, f"no statement grants {REGISTRY_LIST_ACTION} on \"*\" alone (AWS "
                                                "offers no resource type for it: scoped to the group it never "
                                                "matches)")
        for group in sorted(set(arns) - covered):
            yield Violation("TFG-IAM-001", root, None, None, f"no role policy grants AllowModelRegistry on {group}")


@rule("TFG-IAM-002", "No IAM policy allows the action * or service:* (a key policy's account-root statement excepted).")
def wildcard_actions(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    root_principal = f"arn:aws:iam::{exp.cfg.account_id}:root"
    for resource, document, key_policy in _documents(inv):
        for statement in _statements(document):
            if key_policy and _list(first_block(statement.get("Principal")).get("AWS")) == [root_principal]:
                continue  # AWS's default key policy: the account administers its own key.
            for action in _list(statement.get("Action")) + _list(statement.get("NotAction")):
                if action == "*" or str(action).endswith(":*"):
                    yield at("TFG-IAM-002", resource, f"statement {statement.get('Sid', '?')} allows {action!r}")


@rule("TFG-IAM-003", 'Resource = "*" only for actions AWS\'s catalogue gives no resource type (a key policy\'s '
                     'own key excepted).')
def wildcard_resources(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    for resource, document, key_policy in _documents(inv):
        if key_policy:
            continue  # in a key policy, "*" means the key itself
        for statement in _statements(document):
            if "*" in _list(statement.get("Resource")):
                actions = set(_list(statement.get("Action")))
                if not actions or not actions <= STAR_RESOURCE_ACTIONS:
                    yield at("TFG-IAM-003", resource, f"statement {statement.get('Sid', '?')} grants "
                                                      f"{sorted(actions)} on Resource \"*\"")


IDENTITY_POLICY_TYPES = ("aws_iam_role_policy", "aws_iam_policy")


@rule("TFG-IAM-004", "Every identity policy is valid against AWS's own catalogue of actions, resources and conditions "
                     "(parliament): no resource mismatch, unknown action or prefix, malformed statement, condition "
                     "of the wrong type or not applicable to the action, or * where a resource type exists.")
def iam_catalogue_findings(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    # Not a generator: the catalogue starts on the documents when the rule is called (those
    # prefetch() handed it as the HCL was read are under way already), and evaluate() calls
    # every rule before it reads any rule's violations.
    identity = _identity_documents(inv)
    wait = iam_catalogue.findings_later([d for _, d in identity])
    return (at("TFG-IAM-004", resource, finding)
            for (resource, _), found in zip(identity, _later(wait)) for finding in found)


def prefetch(resources: list[Resource]) -> None:
    """Hand these resources' identity policies to AWS's catalogue now, in its own process, so
    that TFG-IAM-004 finds them analysed (called as each root is read)."""
    iam_catalogue.prefetch([document for _, document in _identity_documents(resources)])


def _identity_documents(resources: Inventory | list[Resource]) -> list[tuple[Resource, dict]]:
    return [(resource, document) for resource, document, _ in _documents(resources)
            if resource.type in IDENTITY_POLICY_TYPES]


def _later(wait: Callable[[], list]) -> Iterator:
    """The findings, waited for only when the first of them is read."""
    yield from wait()


@rule("TFG-IAM-005", "Network-interface actions (jobs in VPC mode) are held to the environment's VPC: every "
                    "resource type AWS gives an ec2:Vpc key for is granted only under ArnEquals (or ArnEqualsIfExists, "
                    "where a resource of the statement carries no such key) ec2:Vpc = the VPC.")
def eni_in_vpc(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    vpc = exp.vpc_arn()
    for resource, document, _ in _documents(inv):
        if resource.type not in IDENTITY_POLICY_TYPES:
            continue
        for statement in _statements(document):
            actions = sorted(set(_list(statement.get("Action"))) & ENI_ACTIONS)
            if not actions or statement.get("Effect") != "Allow":
                continue
            conditions = first_block(statement.get("Condition"))
            held = any(_list(first_block(conditions.get(operator) or {}).get("ec2:Vpc")) == [vpc]
                       for operator in ("ArnEquals", "ArnEqualsIfExists"))
            if held:
                continue
            for action in actions:
                reachable = {t.name for pattern in _list(statement.get("Resource"))
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
    for resource, document in _policies(inv.of_type("aws_iam_role_policy")):
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
    for resource, document, _ in _documents(inv.of_type("aws_iam_role_policy")):
        role = _role_name(inv, resource)
        if role:
            by_role.setdefault(role, []).append((resource, document))
    return by_role


def _condition_keys(statement: dict) -> list[tuple[str, str]]:
    """(operator, key) of every condition of a statement."""
    return [(str(operator), str(key)) for operator, keys in first_block(statement.get("Condition")).items()
            for key in (keys if isinstance(keys, dict) else {})]


def _null_wants_absent(statement: dict, key: str) -> bool:
    values = _list(first_block(first_block(statement.get("Condition")).get("Null")).get(key))
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
    for resource, document in _identity_documents(inv):
        for statement in _statements(document):
            if statement.get("Effect") != "Allow":
                continue
            for operator, key in _condition_keys(statement):
                if absent_is_true(operator) or (operator == "Null" and _null_wants_absent(statement, key)):
                    continue  # ...IfExists, the negated operators and Null = true hold where the key is absent
                never: dict[str, set[str]] = {}
                for action in (a for pattern in _list(statement.get("Action")) for a in _catalogued(pattern)):
                    types = [t for p in _list(statement.get("Resource")) for t in iam_reference.types_granted(action, str(p))]
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
        statements = [s for _, d in policies for s in _statements(d) if s.get("Effect") == "Allow"]

        def granted(action: str, pattern: str) -> bool:
            return any(iam_reference.glob_match(str(a).lower(), action.lower())
                       and any(iam_reference.arn_globs_intersect(str(r), pattern) for r in _list(s.get("Resource")))
                       for s in statements for a in _list(s.get("Action")))

        for resource, document in policies:
            for statement in _statements(document):
                if statement.get("Effect") != "Allow":
                    continue
                for action in (a for pattern in _list(statement.get("Action")) for a in _catalogued(pattern)):
                    if not any(t.dependent_actions for t in iam_reference.privilege(action).resource_types):
                        continue  # most actions depend on none: no need to find the types granted
                    for pattern in map(str, _list(statement.get("Resource"))):
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
               for s in _statements(document) for a in _list(s.get("Action"))):
            return resource
    return policies[0][0] if policies else None


# --- resource policies and trust ---------------------------------------------------------


def _principals(statement: dict) -> list[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    if isinstance(principal, dict):
        return [str(name) for names in principal.values() for name in _list(names)]
    return []


def _source_account(statement: dict) -> list:
    return _list(first_block(first_block(statement.get("Condition")).get("StringEquals")).get("aws:SourceAccount"))


@rule("TFG-POL-001", "No policy anywhere (identity, trust, key, topic) names the principal *.")
def star_principal(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    for resource, document, _ in _documents(inv):
        for statement in _statements(document):
            if statement.get("Effect") == "Allow" and "*" in _principals(statement):
                yield at("TFG-POL-001", resource, f"statement {statement.get('Sid', '?')} allows anyone (Principal *)")


@rule("TFG-POL-002", "The alarm topic is encrypted with the platform's key (alias alias/{tag_prefix}-alarms); "
                     "the key's policy and the topic's allow exactly CloudWatch and EventBridge to publish (the "
                     "key's account-root statement aside), the topic's only from the environment's account.")
def alarm_topic_policies(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    if not exp.cfg.alarms.enabled:
        return
    root_principal = f"arn:aws:iam::{exp.cfg.account_id}:root"
    for topic in inv.of_type("aws_sns_topic"):
        key = inv.find(topic.root, topic.values.get("kms_master_key_id"))
        if key is None or key.type != "aws_kms_key":
            yield at("TFG-POL-002", topic, "the topic is not encrypted with the platform's KMS key (kms_master_key_id)")
    alias_name = f"alias/{exp.cfg.tag_prefix}-alarms"
    for alias in inv.of_type("aws_kms_alias"):
        key = inv.find(alias.root, alias.values.get("target_key_id"))
        if alias.values.get("name") != alias_name or key is None or key.type != "aws_kms_key":
            yield at("TFG-POL-002", alias, f"{alias.values.get('name')} -> {alias.values.get('target_key_id')}; "
                                           f"the platform key's alias is {alias_name}, on the key tfgen declares")
    for resource, document, key_policy in _documents(inv):
        if not key_policy and resource.type != "aws_sns_topic_policy":
            continue
        publishers: set[str] = set()
        for statement in _statements(document):
            principals = set(_principals(statement))
            if key_policy and principals == {root_principal}:
                continue  # AWS's default key policy: the account administers its own key
            name = statement.get("Sid", "?")
            if principals != PUBLISHERS:
                yield at("TFG-POL-002", resource, f"statement {name} allows {sorted(principals)}; only "
                                                  f"{sorted(PUBLISHERS)} publish alarms and events")
            publishers |= principals & PUBLISHERS
            actions = set(_list(statement.get("Action")))
            allowed = KEY_USE_FOR_PUBLISHERS if key_policy else {"sns:Publish"}
            if not actions <= allowed:
                yield at("TFG-POL-002", resource, f"statement {name} allows {sorted(actions - allowed)}; the "
                                                  f"publishers need {sorted(allowed)} only")
            if not key_policy and _source_account(statement) != [exp.cfg.account_id]:
                yield at("TFG-POL-002", resource, f"statement {name} lacks StringEquals aws:SourceAccount = "
                                                  f"{exp.cfg.account_id} (another account's alarms could publish)")
        for missing in sorted(PUBLISHERS - publishers):
            yield at("TFG-POL-002", resource, f"{missing} is not allowed: its alarms or events would not reach "
                                              "the topic")


@rule("TFG-POL-003", "Every execution role tfgen creates trusts sagemaker.amazonaws.com only, for the environment's "
                     "account only (aws:SourceAccount).")
def execution_role_trust(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    for resource, document, _ in _documents(inv):
        if resource.type != "aws_iam_role":
            continue
        for statement in _statements(document):
            name = statement.get("Sid", "?")
            if _principals(statement) != ["sagemaker.amazonaws.com"]:
                yield at("TFG-POL-003", resource, f"statement {name} trusts {_principals(statement)}; an execution "
                                                  "role trusts sagemaker.amazonaws.com only")
            if _source_account(statement) != [exp.cfg.account_id]:
                yield at("TFG-POL-003", resource, f"statement {name} lacks StringEquals aws:SourceAccount = "
                                                  f"{exp.cfg.account_id}")


@rule("TFG-POL-004", "Every policy (identity, trust, key, topic) is a document the gate can read: one built from "
                     "a variable, a data source or a function cannot be proven, so it does not pass.")
def unreadable_policies(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    for resource, document in _policies(inv):
        if document is None:
            text = str(resource.values.get(IAM_POLICY_ATTRIBUTES.get(resource.type, "policy")))
            yield at("TFG-POL-004", resource, f"the policy {text[:60]!r} is not a literal document (write it as "
                                              "jsonencode({...}), as tfgen does)")


# --- monitoring ----------------------------------------------------------------------------


def _absent_as_none(value: object) -> object:
    """Plans spell an attribute the configuration leaves out as null, "", 0 or []; HCL omits it."""
    return None if value in (None, "", 0, [], {}) else value


def _query_shape(query: dict) -> tuple:
    metric = first_block(query.get("metric"))
    shape = (metric.get("metric_name"), metric.get("stat"), metric.get("namespace"), metric.get("period"),
             tuple(sorted((metric.get("dimensions") or {}).items()))) if metric else None
    return (query.get("id"), _absent_as_none(query.get("expression")), bool(query.get("return_data")), shape)


def _alarm_problems(alarm: Resource, want: dict) -> list[str]:
    v = alarm.values
    problems = [f"{key} = {v.get(key)!r}; expected {value!r}" for key, value in want.items()
                if key not in ("threshold", "queries") and _absent_as_none(v.get(key)) != value]
    threshold = v.get("threshold")
    if not isinstance(threshold, (int, float)) or not math.isclose(threshold, want["threshold"]):
        problems.append(f"threshold = {threshold!r}; expected {want['threshold']!r}")
    queries = sorted((_query_shape(q) for q in _list(v.get("metric_query"))), key=str)
    if queries != sorted(want["queries"], key=str):
        problems.append(f"metric queries {queries}; expected {want['queries']}")
    return problems


@rule("TFG-MON-001", "Every endpoint the YAML declares has its log group in its team's root and, with alarms on, "
                     "exactly its alarms, alarming to the platform topic over the YAML's periods (M of N): the 5XX "
                     "rate as errors over invocations, only in periods with the YAML's minimum of invocations; p99 "
                     "ModelLatency in microseconds, not evaluated on too few samples; and, where the YAML asks, "
                     "an alarm on no invocations at all.")
def endpoint_monitoring(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    wanted_groups: dict[str, str] = {}  # log group name -> root
    wanted_alarms: dict[str, tuple[str, dict]] = {}  # alarm name -> (root, attributes)
    for root, projects in exp.team_roots().items():
        for endpoint in (e for project in projects for e in project.endpoints):
            wanted_groups[f"/aws/sagemaker/Endpoints/{endpoint.name}"] = root
            if exp.cfg.alarms.enabled:
                wanted_alarms.update({name: (root, want) for name, want in exp.endpoint_alarms(endpoint).items()})
    seen_groups: set[str] = set()
    for group in inv.of_type("aws_cloudwatch_log_group"):
        name = str(group.values.get("name"))
        if not name.startswith("/aws/sagemaker/Endpoints/"):
            continue
        seen_groups.add(name)
        if wanted_groups.get(name) != group.root:
            yield at("TFG-MON-001", group, f"{name} is not the log group of an endpoint the YAML declares for "
                                           f"{group.root}")
    for name, root in sorted(wanted_groups.items()):
        if name not in seen_groups:
            yield Violation("TFG-MON-001", root, None, None, f"the endpoint log group {name} is missing")
    topic = [exp.topic_arn()]
    seen_alarms: set[str] = set()
    for alarm in inv.of_type("aws_cloudwatch_metric_alarm"):
        name = str(alarm.values.get("alarm_name"))
        seen_alarms.add(name)
        root, want = wanted_alarms.get(name, (None, {}))
        if root != alarm.root:
            yield at("TFG-MON-001", alarm, f"{name} is not an alarm the YAML declares for {alarm.root}")
            continue
        for problem in _alarm_problems(alarm, want):
            yield at("TFG-MON-001", alarm, f"{name}: {problem}")
        if _list(alarm.values.get("ok_actions")) not in ([], topic):
            yield at("TFG-MON-001", alarm, f"{name}: ok_actions = {alarm.values.get('ok_actions')!r}; only the "
                                           "platform topic")
    for name, (root, _) in sorted(wanted_alarms.items()):
        if name not in seen_alarms:
            yield Violation("TFG-MON-001", root, None, None, f"the alarm {name} is missing")


def _is_topic(inv: Inventory, root: str, value: object, exp: Expected) -> bool:
    """The platform topic, named by its ARN (plans, other roots) or by a reference to it (HCL)."""
    topic = inv.find(root, value)
    if topic is not None:
        return topic.type == "aws_sns_topic" and topic.values.get("name") == f"{exp.cfg.tag_prefix}-alarms"
    return value == exp.topic_arn()


@rule("TFG-MON-002", "With alarms on, the failed-training-job and failed-processing-job EventBridge rules match "
                     "exactly source aws.sagemaker, their state-change detail-type and the status Failed, and each "
                     "sends to the platform topic.")
def failed_job_events(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    if not exp.cfg.alarms.enabled:
        return
    rules = {str(r.values.get("name")): r for r in inv.of_type("aws_cloudwatch_event_rule")}
    for suffix, (detail_type, status_field) in sorted(FAILED_JOB_EVENTS.items()):
        name = f"{exp.cfg.tag_prefix}-{suffix}"
        event_rule = rules.get(name)
        if event_rule is None:
            yield Violation("TFG-MON-002", "platform", None, None, f"the EventBridge rule {name} is missing")
            continue
        want = {"source": ["aws.sagemaker"], "detail-type": [detail_type], "detail": {status_field: ["Failed"]}}
        raw = event_rule.values.get("event_pattern")
        try:
            pattern = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            pattern = raw
        if pattern != want:
            yield at("TFG-MON-002", event_rule, f"{name} matches {pattern}; expected exactly {want}")
        targets = [t for t in inv.of_type("aws_cloudwatch_event_target") if t.root == event_rule.root
                   and t.values.get("rule") in (name, REF + event_rule.local_address)]
        if not any(_is_topic(inv, t.root, t.values.get("arn"), exp) for t in targets):
            yield at("TFG-MON-002", event_rule, f"{name} has no target sending to the platform topic "
                                                f"{exp.topic_arn()}")
        for target in targets:
            if not _is_topic(inv, target.root, target.values.get("arn"), exp):
                yield at("TFG-MON-002", target, f"{name} sends to {target.values.get('arn')}, not the platform topic")


@rule("TFG-MON-003", "With alarms on, the platform topic has exactly the YAML's e-mail subscribers; with alarms off, "
                     "no topic, subscription, alarm or event rule exists.")
def alarm_subscribers(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    monitoring = inv.of_type("aws_sns_topic", "aws_sns_topic_subscription", "aws_cloudwatch_metric_alarm",
                             "aws_cloudwatch_event_rule", "aws_cloudwatch_event_target")
    if not exp.cfg.alarms.enabled:
        for resource in monitoring:
            yield at("TFG-MON-003", resource, "alarms are off in the YAML")
        return
    seen: set[str] = set()
    for subscription in inv.of_type("aws_sns_topic_subscription"):
        v = subscription.values
        email = str(v.get("endpoint"))
        seen.add(email)
        if email not in exp.cfg.alarms.emails:
            yield at("TFG-MON-003", subscription, f"{email} is not one of the YAML's alarm e-mails")
        if v.get("protocol") != "email" or not _is_topic(inv, subscription.root, v.get("topic_arn"), exp):
            yield at("TFG-MON-003", subscription, f"{email}: protocol {v.get('protocol')!r} on "
                                                  f"{v.get('topic_arn')}; expected email on the platform topic")
    for email in sorted(set(exp.cfg.alarms.emails) - seen):
        yield Violation("TFG-MON-003", "platform", None, None, f"{email} is not subscribed to the alarm topic")


# --- protection and providers ------------------------------------------------------------


@rule("TFG-PROT-001", "In protected environments, every ECR repository, model package group and log group has "
                      "prevent_destroy = true.")
def protected(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    if not exp.cfg.protected:
        return
    for resource in inv.of_type(*STATEFUL_TYPES):
        if not resource.prevent_destroy:
            yield at("TFG-PROT-001", resource, f"{exp.env} is protected: lifecycle {{ prevent_destroy = true }} "
                                               "is required")


def _expected_roots(exp: Expected) -> dict[str, str]:
    return {"platform": "platform", **{root: root.split("/", 1)[1] for root in exp.rendered_team_roots()}}


@rule("TFG-PROV-001", "Every root exists and its aws provider pins allowed_account_ids to the environment's account "
                      "and region.")
def accounts(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    for root in sorted(_expected_roots(exp)):
        providers = [p for p in inv.providers if p.root == root]
        if root not in inv.roots:
            yield Violation("TFG-PROV-001", root, None, None, f"the root {root} is missing")
        elif len(providers) != 1:
            yield Violation("TFG-PROV-001", root, root, None, f"{len(providers)} aws provider blocks (expected one)")
        else:
            v = providers[0].values
            if v.get("allowed_account_ids") != [exp.cfg.account_id]:
                yield Violation("TFG-PROV-001", f"{root}:provider.aws", providers[0].file, providers[0].line,
                                f"allowed_account_ids = {v.get('allowed_account_ids')}; expected "
                                f"[{exp.cfg.account_id!r}]")
            if v.get("region") != exp.cfg.region:
                yield Violation("TFG-PROV-001", f"{root}:provider.aws", providers[0].file, providers[0].line,
                                f"region = {v.get('region')!r}; expected {exp.cfg.region!r}")


@rule("TFG-PROV-002", "Every root's provider sets the common tags: Company, Environment, Team, ManagedBy.")
def tags(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    roots = _expected_roots(exp)
    for provider in inv.providers:
        want = {"Company": exp.cfg.company, "Environment": exp.env, "Team": roots.get(provider.root, "?"),
                "ManagedBy": "tfgen"}
        have = first_block(provider.values.get("default_tags")).get("tags") or {}
        wrong = {k: have.get(k) for k, v in want.items() if have.get(k) != v}
        if wrong:
            yield Violation("TFG-PROV-002", f"{provider.root}:provider.aws", provider.file, provider.line,
                            f"default_tags differ: {wrong}; expected {want}")


def rule_ids() -> list[str]:
    return [r.id for r in RULES]


assert len(set(rule_ids())) == len(RULES), "rule IDs must be unique"
