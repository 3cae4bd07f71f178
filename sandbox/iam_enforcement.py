"""moto's IAM enforcement, on for a while: requests are judged against the caller's policies.

moto enforces IAM once its count of requests reaches settings.INITIAL_NO_AUTH_ACTION_COUNT
(moto/core/authorization.py reads both at each request); enforced() sets the count to 0 and
puts both back afterwards, so nothing else in the process is affected. Set-up calls (users,
their policies, access keys) are made before it, with the emulator's unrestricted key.

While enforced, three gaps of moto's check are closed, each so that moto judges a request as
AWS would, never more leniently than moto itself, except where moto cannot judge at all:
  - CloudWatch's requests are signed for `monitoring`, and moto names the action after the
    signing name (monitoring:PutMetricAlarm); IAM's name is cloudwatch:PutMetricAlarm.
  - A request that carries tags (TagSpecifications, Tags) also needs the Tagging actions AWS's
    catalogue lists as dependent actions of its action (ec2:CreateTags for a security group
    created with tags, sagemaker:AddTags for a model package group, ecr:TagResource,
    kms:TagResource): AWS authorises them with the create, moto does not.
  - moto works out the resource of a request for IAM's role actions, STS's AssumeRole, S3 and
    SQS only, and authorises every other action against `*`, which an ARN-scoped statement
    never matches: every scoped grant would be refused. A request moto left at `*` matches
    any Resource, so for those actions moto checks the action, not the resource.
And moto answers every refusal in EC2's XML; the other services answer in their own protocol
as AWS does (AccessDeniedException in JSON for ECR, SageMaker, KMS, Logs and EventBridge;
the query protocol's ErrorResponse for IAM and SNS), so that the provider reports the refusal
instead of failing to decode it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager

TAGS_IN_QUERY = re.compile(r"^(TagSpecification|Tags?)\.")


def tagging_dependents(action: str) -> tuple[str, ...]:
    """The Tagging actions AWS's catalogue lists as dependent actions of the action."""
    from generator.account import deployer_policy
    from generator.errors import TfgenError
    from policies import iam_reference

    try:
        dependents = deployer_policy.dependent_actions(action, deployer_policy.resource_types(action))
    except TfgenError:  # an action the catalogue does not know: moto's own check decides
        return ()
    tagging = []
    for dependent in dependents:
        try:
            if iam_reference.privilege(dependent).access_level == "Tagging":
                tagging.append(dependent)
        except iam_reference.UnknownAction:  # named by the catalogue, not in it: not a tagging action we know
            continue
    return tuple(tagging)


def carries_tags(data: dict, body: bytes | str | None) -> bool:
    """Whether a request asks for tags on what it creates (query or JSON protocol)."""
    if any(TAGS_IN_QUERY.match(str(key)) for key in data or {}):
        return True
    try:
        parsed = json.loads(body or "{}")
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(parsed, dict) and any(parsed.get(key) for key in ("Tags", "tags", "TagSpecifications"))


def is_json_protocol(headers) -> bool:
    content_type = headers.get("Content-Type") or headers.get("content-type") or ""
    return bool(headers.get("X-Amz-Target") or headers.get("x-amz-target")) or "json" in content_type


@contextmanager
def enforced() -> Iterator[None]:
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.access_control import IAMPolicyStatement, IAMRequest

    import xmltodict
    from moto.core.exceptions import AccessDeniedError, JsonRESTError

    check = IAMRequest.check_action_permitted
    matches = IAMPolicyStatement._check_element_matches

    class JsonAccessDenied(JsonRESTError):
        code = 403

    def checked(self, resource: str) -> None:
        if self._action.startswith("monitoring:"):
            self._action = "cloudwatch:" + self._action.split(":", 1)[1]
        check(self, resource)
        if carries_tags(self._data, self._body):
            action = self._action
            try:
                for dependent in tagging_dependents(action):
                    self._action = dependent
                    check(self, resource)
            finally:
                self._action = action

    def check_action_permitted(self, resource: str) -> None:
        try:
            try:
                checked(self, resource)
            except AccessDeniedError:
                raise
            except Exception as exc:
                # Anything but an AWS error is a 500, which the provider retries without end: a
                # broken shim must fail the apply at once, saying so.
                raise AccessDeniedError(user_arn="tfgen-sandbox", action=f"{self._action} (the enforcement shim "
                                        f"failed: {type(exc).__name__}: {exc})") from exc
        except AccessDeniedError as denied:
            if is_json_protocol(self._headers):
                raise JsonAccessDenied("AccessDeniedException", denied.message) from denied
            if self._service != "ec2":
                denied.description = xmltodict.unparse({"ErrorResponse": {"Error": {
                    "Type": "Sender", "Code": "AccessDenied", "Message": denied.message}}}, full_document=True)
            raise

    def check_element_matches(self, statement_element, value: str) -> bool:
        if statement_element == "Resource" and value == "*":
            return True  # moto did not work out the request's resource
        return matches(self, statement_element, value)

    saved = settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count
    IAMRequest.check_action_permitted = check_action_permitted
    IAMPolicyStatement._check_element_matches = check_element_matches
    settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = 0, 0
    try:
        yield
    finally:
        settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = saved
        IAMRequest.check_action_permitted = check
        IAMPolicyStatement._check_element_matches = matches
