"""moto server on a free loopback port, with the shims its gaps need.

Each shim makes the emulator behave as AWS does; none loosens what a test asserts:
  - DeleteModelPackageGroup is not implemented in moto 5.2.5, so `terraform destroy`
    of a model package group waits forever. The shim deletes the group (and, as AWS
    refuses, not while it still holds model versions).
  - Security group rules that reference a group lose their description when read back
    (DescribeSecurityGroupRules), so every plan shows an in-place update. The shim keeps
    the description moto was given.
  - DeleteModelPackage is not implemented either (`tfgen accept` deletes the test model
    version it registers). The shim deletes the version.
Where moto delivers nothing, a shim delivers as AWS does, so the sandbox can prove that an
alarm or a failed job reaches the people subscribed (moto's own pattern matching and SNS
fan-out do the rest):
  - an alarm whose state changes (SetAlarmState included) publishes to the SNS topics of
    its alarm actions (to ALARM) or OK actions (to OK) the JSON message CloudWatch sends
    (AlarmName, NewStateValue, OldStateValue, NewStateReason, StateChangeTime, Region,
    AlarmArn, AWSAccountId), with CloudWatch's subject `ALARM: "NAME" in REGION`;
  - an EventBridge rule whose pattern matches an event and whose target is an SNS topic
    publishes the event, as JSON, to the topic (moto raises NotImplementedError).
Processing and training jobs: moto calls them Completed at once and runs nothing; sandbox/job_runs.py
runs the job's script as the role, against the emulator, and stops them (StopTrainingJob).
iam:SimulatePrincipalPolicy is not implemented either: the shim answers it with the gate's
evaluator (policies/iam_evaluation.py) over the role's policies, so accept and preflight can
ask their questions here (what AWS's own simulator would say, only a real account shows).
Where moto accepts what AWS refuses, a shim refuses it with AWS's error, so a test that
passes here would pass on a real account (the brownfield tests depend on these):
  - an interface endpoint with private DNS in a VPC without enableDnsSupport and
    enableDnsHostnames (AWS: InvalidParameter, "Enabling private DNS requires both ...");
  - a second interface endpoint with private DNS for the same service in one VPC
    (AWS: InvalidParameter, "... there is already a conflicting DNS domain ...");
  - an S3 gateway endpoint on a route table that already routes S3 through another one
    (AWS: RouteAlreadyExists);
  - CreateModelPackageGroup with a name that exists (AWS: ValidationException,
    "Model Package Group already exists"); moto would answer success and keep one group;
  - an ECR lifecycle policy that breaks the rules AWS's documentation states for its rules
    (moto checks each rule's fields, not the rules together): priorities unique, the
    tagStatus any rule last, tagged rules with a prefix or pattern list and untagged ones
    without (AWS: InvalidParameterException);
  - PutRolePolicy that takes a role's inline policies, all together, past 10,240 characters,
    white space not counted (AWS: LimitExceeded, "Maximum policy size of 10240 bytes exceeded
    for role NAME"); moto keeps the quota only in GetAccountSummary;
  - an interface endpoint with two subnets in one zone (AWS: DuplicateSubnetsInSameZone), or
    with a subnet in a zone its service is not offered in (AWS: InvalidParameter, "The VPC
    endpoint service ... does not support the availability zone of the subnet"), on create and
    modify (sandbox/endpoint_zones.py). moto offers every service in every zone: a test takes
    one away with Emulator.withhold_zone, from DescribeVpcEndpointServices too, until the next
    start().
For the tests of the live commands' account guard: Emulator.credentials_of gives credentials
of another account (STS AssumeRole into it), and Emulator.recording lists the requests the
emulator served meanwhile (moto's recorder, kept in a temporary file, not the checkout).
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from moto.server import ThreadedMotoServer

from sandbox import endpoint_zones
from sandbox import job_runs
from sandbox.recorder import Seen, record_outside_the_checkout, seen

ACCOUNT = "123456789012"  # moto's account


@dataclass
class Emulator:
    server: ThreadedMotoServer
    url: str

    def env(self) -> dict[str, str]:
        """What terraform and boto3 need to talk to the emulator instead of AWS."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_SESSION_TOKEN": "test",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def stop(self) -> None:
        """Stop serving; the account's contents stay in moto's memory until the next start()."""
        self.server.stop()

    def credentials_of(self, account: str) -> dict[str, str]:
        """Credentials of another account, as an AWS_PROFILE with a role_arn gets them: STS
        AssumeRole into that account, whose temporary credentials moto holds to it (moto 5.2
        does not take a 12-digit access key id for an account: STS answers 123456789012)."""
        sts = boto_client(self, "sts", "eu-west-1")
        credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/tfgen-test-other-account",
                                      RoleSessionName="tfgen-test")["Credentials"]
        return {"AWS_ACCESS_KEY_ID": credentials["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
                "AWS_SESSION_TOKEN": credentials["SessionToken"]}

    @contextmanager
    def recording(self) -> Iterator[list[Seen]]:
        """The requests the emulator serves during the block, in order (moto's recorder, driven
        through /moto-api/recorder/); the list is filled in when the block ends."""
        served: list[Seen] = []
        for step in ("reset-recording", "start-recording"):
            self._moto_api(f"recorder/{step}")
        try:
            yield served
        finally:
            self._moto_api("recorder/stop-recording")
            with urllib.request.urlopen(f"{self.url}/moto-api/recorder/download-recording") as answer:
                served += [seen(json.loads(line)) for line in answer.read().decode().splitlines() if line.strip()]

    def withhold_zone(self, service_name: str, zone: str) -> None:
        """From now until the next start(), the service is not offered in the zone, as some AWS
        services are not in every zone (sandbox/endpoint_zones.py)."""
        endpoint_zones.withhold(service_name, zone)

    def _moto_api(self, path: str) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/{path}", method="POST")).close()

    def __enter__(self) -> "Emulator":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start() -> Emulator:
    _install_shims()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    job_runs.serve(url)
    emulator = Emulator(server, url)
    # moto keeps its accounts in process-wide memory: a new emulator starts from an empty one.
    emulator._moto_api("reset")
    endpoint_zones.reset()
    return emulator


def boto_client(emulator: Emulator, service: str, region: str):
    import boto3

    return boto3.client(service, region_name=region, endpoint_url=emulator.url, aws_access_key_id="test",
                        aws_secret_access_key="test", aws_session_token="test")


_installed = False


def _install_shims() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    os.environ.setdefault("MOTO_ALLOW_NONEXISTENT_REGION", "false")
    record_outside_the_checkout()
    _shim_delete_model_package_group()
    _shim_referenced_rule_descriptions()
    _shim_vpc_endpoint_conflicts()
    endpoint_zones.install()
    _shim_duplicate_model_package_group()
    _shim_lifecycle_policy_rules()
    _shim_delete_model_package()
    _shim_alarm_actions()
    _shim_event_targets_on_sns()
    _shim_role_inline_policy_quota()
    _shim_simulate_principal_policy()
    job_runs.install()  # processing and training jobs run their script (sandbox/job_runs.py)


def _shim_delete_model_package_group() -> None:
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    if hasattr(SageMakerModelBackend, "delete_model_package_group"):
        return  # moto implements it now: the shim retires itself

    def delete_model_package_group(self, model_package_group_name: str) -> None:
        from moto.sagemaker.exceptions import ValidationError

        if model_package_group_name not in self.model_package_groups:
            raise ValidationError(message=f"Model Package Group {model_package_group_name} does not exist.")
        if any(p.model_package_group_name == model_package_group_name for p in self.model_packages.values()):
            raise ValidationError(message=f"Model Package Group {model_package_group_name} is not empty.")
        del self.model_package_groups[model_package_group_name]

    def response(self) -> str:
        self.sagemaker_backend.delete_model_package_group(self._get_param("ModelPackageGroupName"))
        return "{}"

    SageMakerModelBackend.delete_model_package_group = delete_model_package_group
    SageMakerResponse.delete_model_package_group = response


def _shim_referenced_rule_descriptions() -> None:
    from moto.ec2.models.security_groups import SecurityGroupRule

    def description(self) -> str | None:
        # moto files the description of a group-referencing rule under source_group.
        return self.ip_range.get("Description") or (self.source_group or {}).get("Description")

    SecurityGroupRule.description = property(description)


def _flag(value: object) -> bool:
    return value is True or str(value).lower() == "true"


def _shim_vpc_endpoint_conflicts() -> None:
    from moto.ec2.exceptions import EC2ClientError
    from moto.ec2.models.vpcs import VPCBackend

    create = VPCBackend.create_vpc_endpoint
    modify = VPCBackend.modify_vpc_endpoint

    def refuse_private_dns(backend, vpc_id: str, service_name: str) -> None:
        vpc = backend.get_vpc(vpc_id)
        if not (_flag(vpc.enable_dns_support) and _flag(vpc.enable_dns_hostnames)):
            raise EC2ClientError("InvalidParameter", "Enabling private DNS requires both enableDnsSupport and "
                                                     f"enableDnsHostnames VPC attributes set to true for {vpc_id}")
        for other in backend.vpc_end_points.values():
            if (other.vpc_id == vpc_id and other.service_name == service_name and _flag(other.private_dns_enabled)
                    and other.state not in ("deleted", "deleting")):
                parts = service_name.split(".")  # com.amazonaws.REGION.SERVICE -> SERVICE.REGION.amazonaws.com
                host = f"{'.'.join(parts[3:])}.{parts[2]}.amazonaws.com" if service_name.startswith("com.") \
                    else service_name
                raise EC2ClientError("InvalidParameter", "private-dns-enabled cannot be set because there is already a "
                                                         f"conflicting DNS domain for {host} in the VPC {vpc_id}")

    def refuse_second_gateway_route(backend, service_name: str, route_table_ids: list[str]) -> None:
        prefix_lists = {p.id for p in backend.managed_prefix_lists.values() if p.prefix_list_name == service_name}
        for table_id in route_table_ids or []:
            table = backend.route_tables.get(table_id)
            for route in (table.routes if table else ()):
                if route.destination_prefix_list_id in prefix_lists:
                    raise EC2ClientError("RouteAlreadyExists", f"route table {table_id} already has a route with "
                                                               f"destination-prefix-list-id {route.destination_prefix_list_id}")

    def create_vpc_endpoint(self, vpc_id, service_name, endpoint_type, *args, **kwargs):
        if endpoint_type and endpoint_type.lower() == "interface":
            if _flag(kwargs.get("private_dns_enabled")):
                refuse_private_dns(self, vpc_id, service_name)
        else:
            route_tables = kwargs.get("route_table_ids", args[1] if len(args) > 1 else None)
            refuse_second_gateway_route(self, service_name, route_tables)
        return create(self, vpc_id, service_name, endpoint_type, *args, **kwargs)

    def modify_vpc_endpoint(self, vpc_id, policy_doc, add_subnets, remove_subnets, remove_route_tables,
                            add_route_tables, *args, **kwargs):
        endpoint = self.vpc_end_points.get(vpc_id)
        if endpoint is not None and add_route_tables:
            refuse_second_gateway_route(self, endpoint.service_name, add_route_tables)
        return modify(self, vpc_id, policy_doc, add_subnets, remove_subnets, remove_route_tables, add_route_tables,
                      *args, **kwargs)

    VPCBackend.create_vpc_endpoint = create_vpc_endpoint
    VPCBackend.modify_vpc_endpoint = modify_vpc_endpoint


def _shim_duplicate_model_package_group() -> None:
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import SageMakerModelBackend

    create = SageMakerModelBackend.create_model_package_group

    def create_model_package_group(self, model_package_group_name: str, *args, **kwargs) -> str:
        if model_package_group_name in self.model_package_groups:
            existing = self.model_package_groups[model_package_group_name].arn
            raise ValidationError(message=f"Model Package Group already exists: {existing}")
        return create(self, model_package_group_name, *args, **kwargs)

    SageMakerModelBackend.create_model_package_group = create_model_package_group


def _shim_role_inline_policy_quota() -> None:
    from moto.iam.exceptions import LimitExceededException
    from moto.iam.models import IAMBackend

    from generator.config import aws_limits

    put = IAMBackend.put_role_policy

    def put_role_policy(self, role_name: str, policy_name: str, policy_json: str) -> None:
        others = {name: text for name, text in self.get_role(role_name).policies.items() if name != policy_name}
        size = sum(aws_limits.policy_characters(text) for text in [*others.values(), policy_json])
        if size > aws_limits.ROLE_INLINE_POLICIES_MAX:
            raise LimitExceededException(
                f"Maximum policy size of {aws_limits.ROLE_INLINE_POLICIES_MAX} bytes exceeded for role {role_name}")
        put(self, role_name, policy_name, policy_json)

    IAMBackend.put_role_policy = put_role_policy


def _shim_simulate_principal_policy() -> None:
    """IAM's policy simulator, which moto lacks, answered by the gate's evaluator (moto keeps
    the role's policies; the evaluator decides as IAM documents it: policies/iam_evaluation.py).
    A role's inline and attached policies and the PolicyInputList are evaluated; a permissions
    boundary, when the role has one, must allow too (IAM's rule for identity policies)."""
    from moto.core.responses import ActionResult
    from moto.iam.models import IAMBackend
    from moto.iam.responses import IamResponse

    from policies.iam_evaluation import Request, evaluate

    if hasattr(IamResponse, "simulate_principal_policy"):
        return  # moto implements it now: the shim retires itself

    def principal_policies(backend: IAMBackend, arn: str) -> tuple[list[tuple[str, dict]], list[tuple[str, dict]]]:
        from moto.iam.exceptions import NotFoundException

        role = next((r for r in backend.roles.values() if r.arn == arn), None)
        if role is None:  # AWS: NoSuchEntity (a plain exception here would be a 500)
            raise NotFoundException(f"The role with ARN {arn} cannot be found.")
        policies = [(name, json.loads(text)) for name, text in role.policies.items()]
        policies += [(policy.name, _document(policy)) for policy in role.managed_policies.values()]
        boundary = backend.get_policy(role.permissions_boundary_arn) if role.permissions_boundary_arn else None
        return policies, [(boundary.name, _document(boundary))] if boundary else []

    def simulate_principal_policy(self) -> ActionResult:
        policies, boundary = principal_policies(self.backend, self._get_param("PolicySourceArn"))
        policies += [(f"PolicyInputList.{i + 1}", json.loads(text))
                     for i, text in enumerate(self._get_param("PolicyInputList") or [])]
        context = tuple((entry["ContextKeyName"], tuple(entry.get("ContextKeyValues") or ()))
                        for entry in self._get_param("ContextEntries") or [])
        results = []
        for action in self._get_param("ActionNames") or []:
            for resource in self._get_param("ResourceArns") or ["*"]:
                request = Request(action, resource, context)
                decision = evaluate(policies, request)
                if decision.allowed and boundary and not evaluate(boundary, request).allowed:
                    decision = evaluate(boundary, request)
                matched = [{"SourcePolicyId": decision.statement.rsplit("/", 1)[0], "SourcePolicyType": "IAM Policy"}] \
                    if decision.statement else []
                results.append({"EvalActionName": action, "EvalResourceName": resource,
                                "EvalDecision": {"allowed": "allowed", "explicitly denied": "explicitDeny"}.get(
                                    decision.effect, "implicitDeny"),
                                "MatchedStatements": matched, "MissingContextValues": []})
        return ActionResult({"EvaluationResults": results, "IsTruncated": False})

    IamResponse.simulate_principal_policy = simulate_principal_policy


def _document(policy) -> dict:
    """A managed policy's default version, as a document."""
    version = next(v for v in policy.versions if v.version_id == policy.default_version_id)
    text = version.document if isinstance(version.document, str) else json.dumps(version.document)
    return json.loads(text)


def lifecycle_policy_problem(rules: list[dict]) -> str | None:
    """What AWS's documentation of lifecycle policy rules forbids, or None."""
    priorities = [rule.get("rulePriority") for rule in rules]
    if len(set(priorities)) != len(priorities):
        return "rulePriority must be unique across rules"
    ordered = sorted(rules, key=lambda rule: rule.get("rulePriority", 0))
    for index, rule in enumerate(ordered):
        selection = rule.get("selection", {})
        status, listed = selection.get("tagStatus"), selection.get("tagPrefixList") or selection.get("tagPatternList")
        if status == "any" and index != len(ordered) - 1:
            return "a rule with tagStatus any must have the highest rulePriority"
        if status == "tagged" and not listed:
            return "a rule with tagStatus tagged must have a tagPrefixList or tagPatternList"
        if status == "untagged" and listed:
            return "a rule with tagStatus untagged must not have a tagPrefixList or tagPatternList"
    return None


def _shim_lifecycle_policy_rules() -> None:
    import json

    from moto.ecr.exceptions import InvalidParameterException
    from moto.ecr.policy_validation import EcrLifecyclePolicyValidator

    validate = EcrLifecyclePolicyValidator.validate

    def validate_with_aws_rules(self) -> None:
        validate(self)  # each rule's fields, as moto checks them
        problem = lifecycle_policy_problem(json.loads(self._policy_text).get("rules", []))
        if problem:
            raise InvalidParameterException(f"{self.INVALID_PARAMETER_ERROR_MESSAGE}{problem}'")

    EcrLifecyclePolicyValidator.validate = validate_with_aws_rules


def _shim_delete_model_package() -> None:
    from moto.sagemaker.exceptions import ValidationError
    from moto.sagemaker.models import SageMakerModelBackend

    if hasattr(SageMakerModelBackend, "delete_model_package"):
        return  # moto implements it now: the shim retires itself

    def delete_model_package(self, model_package_name: str) -> None:
        # A version in a group is named by its ARN (its name is its group's, shared by every version).
        if model_package_name not in self.model_packages:
            raise ValidationError(message=f"Model package {model_package_name} does not exist.")
        del self.model_packages[model_package_name]

    def response(self) -> str:
        self.sagemaker_backend.delete_model_package(self._get_param("ModelPackageName"))
        return "{}"

    from moto.sagemaker.responses import SageMakerResponse

    SageMakerModelBackend.delete_model_package = delete_model_package
    SageMakerResponse.delete_model_package = response


def _publish(topic_arn: str, message: str, subject: str | None = None) -> None:
    """Publish to a topic of the emulator, as a CloudWatch or EventBridge delivery would."""
    from moto.sns.models import sns_backends

    region, owner = topic_arn.split(":")[3:5]
    sns_backends[owner][region].publish(message, arn=topic_arn, subject=subject)


def _shim_alarm_actions() -> None:
    import json
    from datetime import datetime, timezone

    from moto.cloudwatch.models import Alarm

    update = Alarm.update_state

    def update_state(self, reason: str, reason_data: str, state_value: str) -> None:
        old = self.state_value
        update(self, reason, reason_data, state_value)
        actions = {"ALARM": self.alarm_actions, "OK": self.ok_actions}.get(state_value) or []
        if old == state_value:
            return  # CloudWatch runs actions on a change of state only
        account = self.alarm_arn.split(":")[4]
        message = json.dumps({
            "AlarmName": self.name, "AlarmDescription": self.description, "AWSAccountId": account,
            "NewStateValue": state_value, "OldStateValue": old, "NewStateReason": reason,
            "StateChangeTime": datetime.now(timezone.utc).isoformat(), "Region": self.region_name,
            "AlarmArn": self.alarm_arn})
        for arn in actions:
            if arn.startswith("arn:aws:sns:"):
                _publish(arn, message, subject=f'{state_value}: "{self.name}" in {self.region_name}')

    Alarm.update_state = update_state


def _shim_event_targets_on_sns() -> None:
    import json

    from moto.events.models import Rule

    send = Rule.send_to_targets

    def send_to_targets(self, original_event, transform_input: bool = True) -> None:
        on_sns = [t for t in self.targets if t["Arn"].startswith("arn:aws:sns:")]
        if on_sns and self.event_pattern.matches_event(original_event):
            for target in on_sns:
                _publish(target["Arn"], json.dumps(original_event))
        others = [t for t in self.targets if t not in on_sns]
        if others:
            saved, self.targets = self.targets, others
            try:
                send(self, original_event, transform_input)
            finally:
                self.targets = saved

    Rule.send_to_targets = send_to_targets
