"""The intent tables of policies/expected.py asked of the account's own IAM policy simulator
(iam:SimulatePrincipalPolicy): on a real account AWS decides, with what the gate cannot see
(the role's other policies, its permissions boundary, the organisation's SCPs).

Each request's context is cut to the keys AWS supplies for its resource's type before it is
sent (policies/iam_evaluation.py): the simulator applies whatever context it is given to
every resource, so an ec2:Vpc sent with a new network interface would pass a statement that
AWS, for the real call, refuses. The global keys every real request carries are added (the
region, the principal, TLS): without them an SCP such as a region guard, written with negated
operators, would deny every request in the simulation alone. What the simulator does not see
(AWS's API reference): resource-based policies (KMS key, bucket and repository policies), so
an allowed S3 or KMS request here proves the role's side only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from policies.expected import Intent, RoleIntents
from policies.iam_evaluation import request_context

DECISIONS = {"allowed": "allowed", "explicitDeny": "explicitly denied", "implicitDeny": "implicitly denied"}
BOOLEAN_KEYS = {"aws:securetransport", "aws:viaawsservice", "kms:grantisforawsresource", "aws:multifactorauthpresent"}


@dataclass(frozen=True)
class Outcome:
    intent: Intent
    decision: str  # "allowed", "explicitly denied", "implicitly denied"
    matched: str = ""  # the policies the simulator names as deciding
    refused_by: str = ""  # "an SCP", "the permissions boundary", where the simulator says so
    missing: tuple[str, ...] = ()  # context keys the policies ask for that the request did not carry

    @property
    def as_intended(self) -> bool:
        return (self.decision == "allowed") == self.intent.allowed

    def describe(self, role: str) -> str:
        by = f" by {self.matched}" if self.matched else f" by {self.refused_by}" if self.refused_by else ""
        must = "must be allowed" if self.intent.allowed else "must be refused"
        missing = f"; the policies also ask for {', '.join(self.missing)}" if self.missing else ""
        return f"{role}: {self.intent.action} on {self.intent.resource} is {self.decision}{by}; it {must} " \
               f"({self.intent.step}){missing}"


def _entry(key: str, values: tuple[str, ...]) -> dict:
    if key.lower() == "aws:tagkeys" or len(values) > 1:
        kind = "stringList"
    elif key.lower() in BOOLEAN_KEYS:
        kind = "boolean"
    else:
        kind = "string"
    return {"ContextKeyName": key, "ContextKeyValues": list(values), "ContextKeyType": kind}


def global_context(table: RoleIntents, region: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """What AWS sets on every call a job makes as the role."""
    account = table.arn.split(":")[4]
    return (("aws:RequestedRegion", (region,)), ("aws:PrincipalArn", (table.arn,)),
            ("aws:PrincipalAccount", (account,)), ("aws:SecureTransport", ("true",)))


def simulate(iam, table: RoleIntents, region: str, role_arn: str | None = None,
             extra_policies: tuple[dict, ...] = ()) -> list[Outcome]:
    """Each request of the role's table, as the simulator decides it; with extra_policies, as
    if those were on the role too (preflight: tfgen's, before the apply). role_arn: the live
    role's ARN (a role may have a path the YAML did not write)."""
    arn = role_arn or table.arn
    outcomes = []
    for intent in table.requests:
        request = request_context(intent.action, intent.resource, (*global_context(table, region), *intent.context))
        params = {"PolicySourceArn": arn, "ActionNames": [intent.action], "ResourceArns": [intent.resource],
                  "ContextEntries": [_entry(key, values) for key, values in request.context]}
        if extra_policies:
            params["PolicyInputList"] = [json.dumps(document) for document in extra_policies]
        result = iam.simulate_principal_policy(**params)["EvaluationResults"][0]
        matched = ", ".join(dict.fromkeys(s.get("SourcePolicyId", "?") for s in result.get("MatchedStatements") or []))
        refused_by = ""
        if (result.get("OrganizationsDecisionDetail") or {}).get("AllowedByOrganizations") is False:
            refused_by = "an SCP of the organisation"
        elif (result.get("PermissionsBoundaryDecisionDetail") or {}).get("AllowedByPermissionsBoundary") is False:
            refused_by = "the role's permissions boundary"
        outcomes.append(Outcome(intent, DECISIONS.get(result["EvalDecision"], result["EvalDecision"]), matched,
                                refused_by, tuple(result.get("MissingContextValues") or ())))
    return outcomes


def reaching_others(outcomes: list[Outcome], role: str) -> str:
    """One line for the other projects' requests a role is allowed (accept and preflight say it once)."""
    return f"{len(outcomes)} of them allowed by the role's own policies, e.g. {outcomes[0].describe(role)}"
