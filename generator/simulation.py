"""The intent tables of policies/expected.py asked of the account's own IAM policy simulator
(iam:SimulatePrincipalPolicy): on a real account AWS decides, with everything the gate cannot
see (the role's other policies, its permissions boundary).

Each request's context is cut to the keys AWS supplies for its resource's type before it is
sent (policies/iam_evaluation.py): the simulator applies whatever context it is given to
every resource, so an ec2:Vpc sent with a new network interface would pass a statement that
AWS, for the real call, refuses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from policies.expected import Intent, RoleIntents
from policies.iam_evaluation import request_context

DECISIONS = {"allowed": "allowed", "explicitDeny": "explicitly denied", "implicitDeny": "implicitly denied"}


@dataclass(frozen=True)
class Outcome:
    intent: Intent
    decision: str  # "allowed", "explicitly denied", "implicitly denied"
    matched: str = ""  # the policies the simulator names as deciding

    @property
    def as_intended(self) -> bool:
        return (self.decision == "allowed") == self.intent.allowed

    def describe(self, role: str) -> str:
        by = f" by {self.matched}" if self.matched else ""
        must = "must be allowed" if self.intent.allowed else "must be refused"
        return f"{role}: {self.intent.action} on {self.intent.resource} is {self.decision}{by}; it {must} " \
               f"({self.intent.step})"


def _entry(key: str, values: tuple[str, ...]) -> dict:
    if key.lower() == "aws:tagkeys" or len(values) > 1:
        kind = "stringList"
    elif values and values[0] in ("true", "false"):
        kind = "boolean"
    else:
        kind = "string"
    return {"ContextKeyName": key, "ContextKeyValues": list(values), "ContextKeyType": kind}


def simulate(iam, table: RoleIntents, requests: tuple[Intent, ...] | None = None,
             extra_policies: tuple[dict, ...] = ()) -> list[Outcome]:
    """Each request of the role's table (or those given), as the simulator decides it; with
    extra_policies, as if those were on the role too (preflight: tfgen's, before the apply)."""
    outcomes = []
    for intent in requests if requests is not None else table.requests:
        request = request_context(intent.action, intent.resource, intent.context)
        params = {"PolicySourceArn": table.arn, "ActionNames": [intent.action], "ResourceArns": [intent.resource],
                  "ContextEntries": [_entry(key, values) for key, values in request.context]}
        if extra_policies:
            params["PolicyInputList"] = [json.dumps(document) for document in extra_policies]
        result = iam.simulate_principal_policy(**params)["EvaluationResults"][0]
        matched = ", ".join(dict.fromkeys(s.get("SourcePolicyId", "?") for s in result.get("MatchedStatements") or []))
        outcomes.append(Outcome(intent, DECISIONS.get(result["EvalDecision"], result["EvalDecision"]), matched))
    return outcomes
