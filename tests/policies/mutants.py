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
class Mutant:
    name: str
    rule: str  # the rule that must report it
    apply: Callable[[Path], None]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"mutant anchor not found in {path}: {old!r}"
    path.write_text(text.replace(old, new, 1))


def _block(text: str, header: str) -> str:
    start = text.index(header)
    end = text.index("\n}\n", start) + 3
    return text[start:end]


def replace(file: str, old: str, new: str) -> Callable[[Path], None]:
    return lambda root: _edit(root / file, old, new)


def in_block(file: str, header: str, old: str, new: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        block = _block((root / file).read_text(), header)
        assert old in block, f"{old!r} not in {header}"
        _edit(root / file, block, block.replace(old, new, 1))
    return apply


def remove_block(file: str, header: str) -> Callable[[Path], None]:
    return lambda root: _edit(root / file, _block((root / file).read_text(), header), "")


def append(file: str, text: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        path = root / file
        path.write_text(path.read_text() + "\n" + text)
    return apply


def remove_file(file: str) -> Callable[[Path], None]:
    return lambda root: (root / file).unlink()


def remove_root(root_name: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        for path in (root / root_name).glob("*"):
            path.unlink()
        (root / root_name).rmdir()
    return apply


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
MPG_AML = "arn:aws:sagemaker:eu-west-1:333333333333:model-package-group/rc-anti-money-laundering"

MUTANTS: list[Mutant] = [
    Mutant("22 open to the world on training", "TFG-SG-003",
           append(SG, ingress("training_ssh", "training", tcp(22, 22, "0.0.0.0/0")))),
    Mutant("8080 on training", "TFG-SG-002",
           append(SG, ingress("training_8080", "training", tcp(8080, 8080, CIDR)))),
    Mutant("a port range over 8080 on processing", "TFG-SG-002",
           append(SG, ingress("processing_range", "processing", tcp(8000, 9000, CIDR)))),
    Mutant("inference 8080 from 0.0.0.0/0", "TFG-SG-002",
           in_block(SG, '"inference_container_from_vpc"', f'"{CIDR}"', '"0.0.0.0/0"')),
    Mutant("self-ingress removed on training", "TFG-SG-001",
           remove_block(SG, 'resource "aws_vpc_security_group_ingress_rule" "training_all_from_self"')),
    Mutant("443 from the VPC CIDR removed on processing", "TFG-SG-001",
           remove_block(SG, 'resource "aws_vpc_security_group_ingress_rule" "processing_https_from_vpc"')),
    Mutant("443 from a wider CIDR on inference", "TFG-SG-001",
           in_block(SG, '"inference_https_from_vpc"', f'"{CIDR}"', '"10.0.0.0/8"')),
    Mutant("an extra egress rule (80 to the world) on training", "TFG-SG-003",
           append(SG, egress("training_http_out", "training", tcp(80, 80, "0.0.0.0/0")))),
    Mutant("all traffic out to the world on inference", "TFG-SG-003",
           append(SG, egress("inference_all_out", "inference", '  ip_protocol = "-1"\n  cidr_ipv4 = "0.0.0.0/0"\n'))),
    Mutant("ingress from ::/0 on studio", "TFG-SG-003",
           append(SG, ingress("studio_v6", "studio", '  ip_protocol = "tcp"\n  from_port = 443\n  to_port = 443\n'
                                                     '  cidr_ipv6 = "::/0"\n'))),
    Mutant("the vpc-endpoints group gains an egress rule", "TFG-SG-001",
           append(SG, egress("vpc_endpoints_out", "vpc_endpoints", tcp(443, 443, CIDR)))),
    Mutant("an inline ingress block", "TFG-SG-004",
           in_block(SG, 'resource "aws_security_group" "training"', "\n  tags = {",
                    f'\n  ingress {{\n    from_port = 443\n    to_port = 443\n    protocol = "tcp"\n'
                    f'    cidr_blocks = ["{CIDR}"]\n  }}\n\n  tags = {{')),
    Mutant("a legacy aws_security_group_rule", "TFG-SG-004",
           append(SG, 'resource "aws_security_group_rule" "legacy" {\n  type = "ingress"\n'
                      '  security_group_id = aws_security_group.inference.id\n  protocol = "tcp"\n'
                      f'  from_port = 443\n  to_port = 443\n  cidr_blocks = ["{CIDR}"]\n}}\n')),
    Mutant("a dynamic block", "TFG-SG-004",
           in_block(SG, 'resource "aws_security_group" "processing"', "\n  tags = {",
                    '\n  dynamic "egress" {\n    for_each = [443]\n    content {\n      from_port = egress.value\n'
                    '      to_port = egress.value\n      protocol = "tcp"\n      cidr_blocks = ["0.0.0.0/0"]\n'
                    '    }\n  }\n\n  tags = {')),
    Mutant("the S3 gateway endpoint deleted", "TFG-EP-001",
           remove_block(EP, 'resource "aws_vpc_endpoint" "s3"')),
    Mutant("the sts interface endpoint deleted", "TFG-EP-001",
           remove_block(EP, 'resource "aws_vpc_endpoint" "sts"')),
    Mutant("private DNS off on sagemaker.api", "TFG-EP-001",
           in_block(EP, 'resource "aws_vpc_endpoint" "sagemaker_api"', "private_dns_enabled = true",
                    "private_dns_enabled = false")),
    Mutant("sagemaker.runtime in the training group", "TFG-EP-001",
           in_block(EP, 'resource "aws_vpc_endpoint" "sagemaker_runtime"', "aws_security_group.vpc_endpoints.id",
                    "aws_security_group.training.id")),
    Mutant("the S3 gateway on one route table of three", "TFG-EP-001",
           in_block(EP, 'resource "aws_vpc_endpoint" "s3"', '    "rtb-0c1b2c3d4e5f60022",\n', "")),
    Mutant("an interface endpoint in one subnet only", "TFG-EP-001",
           in_block(EP, 'resource "aws_vpc_endpoint" "logs"', '    "subnet-0c1b2c3d4e5f60013",\n', "")),
    Mutant("an endpoint the YAML does not ask for", "TFG-EP-001",
           append(EP, 'resource "aws_vpc_endpoint" "ssm" {\n  vpc_id = "vpc-0c1b2c3d4e5f60001"\n'
                      '  service_name = "com.amazonaws.eu-west-1.ssm"\n  vpc_endpoint_type = "Interface"\n'
                      '  private_dns_enabled = true\n}\n')),
    Mutant("a renamed group", "TFG-NAME-001", replace(SG, '"acme-sm-training"', '"acme-sm-train"')),
    Mutant("upper case in a model package group name", "TFG-NAME-003",
           replace("teams/rc/model_registry.tf", '= "rc-fraud-detection"', '= "rc-Fraud-detection"')),
    Mutant("a model package group removed", "TFG-NAME-003",
           remove_block("teams/algo/model_registry.tf",
                        'resource "aws_sagemaker_model_package_group" "recommendation_engine"')),
    Mutant("a project repository renamed", "TFG-NAME-002",
           replace("teams/rc/ecr.tf", 'name                 = "acme-sm-rc-fraud-detection/training"',
                   'name                 = "acme-sm-rc-fraud/training"')),
    Mutant("a role name over 64 characters", "TFG-NAME-004",
           replace(RC_IAM, '"acme-sm-rc-anti-money-laundering-execution"',
                   '"acme-sm-rc-anti-money-laundering-execution-role-for-sagemaker-jobs"')),
    Mutant("a lifecycle policy that keeps 100", "TFG-ECR-001",
           replace("teams/algo/ecr.tf", "countNumber = 10", "countNumber = 100")),
    Mutant("a lifecycle policy removed", "TFG-ECR-001",
           remove_block("platform/ecr.tf", 'resource "aws_ecr_lifecycle_policy" "shared_base_pytorch"')),
    Mutant("MUTABLE tags", "TFG-ECR-002",
           replace("teams/rc/ecr.tf", '"IMMUTABLE"', '"MUTABLE"')),
    Mutant("scan on push off", "TFG-ECR-003", replace("platform/ecr.tf", "scan_on_push = true", "scan_on_push = false")),
    Mutant("AES256 instead of KMS", "TFG-ECR-004",
           replace("teams/algo/ecr.tf", 'encryption_type = "KMS"', 'encryption_type = "AES256"')),
    Mutant("force_delete = true", "TFG-ECR-005", replace("teams/rc/ecr.tf", "force_delete = false", "force_delete = true")),
    Mutant("training log retention 15", "TFG-LOG-001",
           in_block("platform/logs.tf", '"training_jobs"', "retention_in_days = 90", "retention_in_days = 15")),
    Mutant("endpoint log retention 30 instead of 14", "TFG-LOG-001",
           replace("teams/rc/endpoints.tf", "retention_in_days = 14", "retention_in_days = 30")),
    Mutant('IAM Resource = "*" on the registry statement', "TFG-IAM-003",
           in_block(RC_IAM, FRAUD_POLICY, f'"{MPG_FRAUD}",', '"*",')),
    Mutant("an extra IAM action", "TFG-IAM-001",
           in_block(RC_IAM, FRAUD_POLICY, '"sagemaker:DeleteModelPackage",',
                    '"sagemaker:DeleteModelPackage",\n          "sagemaker:DeleteModelPackageGroup",')),
    Mutant("another project's ARN", "TFG-IAM-001",
           in_block(RC_IAM, FRAUD_POLICY, f'"{MPG_FRAUD}",', f'"{MPG_FRAUD}",\n          "{MPG_AML}",')),
    Mutant("a service wildcard action", "TFG-IAM-002",
           in_block(RC_IAM, FRAUD_POLICY, '"ecr:BatchGetImage",', '"ecr:BatchGetImage",\n          "s3:*",')),
    Mutant("the plan's statement taken literally: ListModelPackageGroups on the group's ARN", "TFG-IAM-004",
           in_block(RC_IAM, FRAUD_POLICY, '"sagemaker:ListModelPackages",',
                    '"sagemaker:ListModelPackages",\n          "sagemaker:ListModelPackageGroups",')),
    Mutant("ListModelPackageGroups no longer granted on its own", "TFG-IAM-001",
           in_block(RC_IAM, FRAUD_POLICY, 'Action   = ["sagemaker:ListModelPackageGroups"]',
                    'Action   = ["sagemaker:ListModels"]')),
    Mutant("an action AWS does not have", "TFG-IAM-004",
           in_block(RC_IAM, FRAUD_POLICY, '"ecr:BatchGetImage",', '"ecr:BatchGetImages",')),
    Mutant("a condition of the wrong type", "TFG-IAM-004",
           in_block(RC_IAM, AML_RUNTIME, 'StringLike = { "cloudwatch:namespace"', 'NumericLessThan = { "cloudwatch:namespace"')),
    Mutant("object reads on * in the describe statement", "TFG-IAM-003",
           in_block(RC_IAM, AML_RUNTIME, '"ec2:DescribeVpcs",', '"ec2:DescribeVpcs",\n          "s3:GetObject",')),
    Mutant("network interfaces created without the VPC condition", "TFG-IAM-005",
           in_block(RC_IAM, AML_RUNTIME, f'        Condition = {{\n          ArnEquals = {{ "ec2:Vpc" = "{PROD_VPC}" }}\n'
                                         '        }\n      },\n      # Hand', '      },\n      # Hand')),
    Mutant("network interfaces deleted in another VPC", "TFG-IAM-005",
           in_block(RC_IAM, AML_RUNTIME, f'Resource = ["arn:aws:ec2:eu-west-1:333333333333:network-interface/*"]\n'
                                         f'        Condition = {{\n          ArnEquals = {{ "ec2:Vpc" = "{PROD_VPC}"',
                    f'Resource = ["arn:aws:ec2:eu-west-1:333333333333:network-interface/*"]\n'
                    f'        Condition = {{\n          ArnEquals = {{ "ec2:Vpc" = "{PROD_VPC[:-1]}9"')),
    Mutant("cloudwatch.amazonaws.com dropped from the alarm key's policy", "TFG-POL-002",
           in_block(ALARMS, 'resource "aws_kms_key" "alarms"',
                    'Principal = { Service = ["cloudwatch.amazonaws.com", "events.amazonaws.com"] }',
                    'Principal = { Service = "events.amazonaws.com" }')),
    Mutant("the topic policy opened to * with sns:*", "TFG-POL-001",
           in_block(ALARMS, 'resource "aws_sns_topic_policy" "alarms"',
                    'Principal = { Service = ["cloudwatch.amazonaws.com", "events.amazonaws.com"] }\n'
                    '        Action    = ["sns:Publish"]', 'Principal = "*"\n        Action    = ["sns:*"]')),
    Mutant("the key policy grants decrypt to *", "TFG-POL-001",
           in_block(ALARMS, 'resource "aws_kms_key" "alarms"',
                    'Principal = { Service = ["cloudwatch.amazonaws.com", "events.amazonaws.com"] }',
                    'Principal = { AWS = "*" }')),
    Mutant("the topic not encrypted", "TFG-POL-002",
           in_block(ALARMS, 'resource "aws_sns_topic" "alarms"', "  kms_master_key_id = aws_kms_key.alarms.arn\n", "")),
    Mutant("the topic policy without the account condition", "TFG-POL-002",
           in_block(ALARMS, 'resource "aws_sns_topic_policy" "alarms"',
                    '        Condition = {\n          StringEquals = { "aws:SourceAccount" = "333333333333" }\n'
                    '        }\n', "")),
    Mutant("a created role that trusts EC2", "TFG-POL-003",
           in_block(RC_IAM, 'resource "aws_iam_role" "anti_money_laundering"', '"sagemaker.amazonaws.com"',
                    '"ec2.amazonaws.com"')),
    Mutant("a created role trusted from any account", "TFG-POL-003",
           in_block(RC_IAM, 'resource "aws_iam_role" "anti_money_laundering"',
                    '        Condition = {\n          StringEquals = { "aws:SourceAccount" = "333333333333" }\n'
                    '        }\n', "")),
    Mutant("prevent_destroy removed from a model package group in prod", "TFG-PROT-001",
           in_block("teams/rc/model_registry.tf", '"fraud_detection"', "prevent_destroy = true", "prevent_destroy = false")),
    Mutant("prevent_destroy removed from a log group in prod", "TFG-PROT-001",
           in_block("platform/logs.tf", '"processing_jobs"', "\n\n  lifecycle {\n    prevent_destroy = true\n  }", "")),
    Mutant("another account in allowed_account_ids", "TFG-PROV-001",
           replace("teams/algo/providers.tf", '["333333333333"]', '["111111111111"]')),
    Mutant("a team root deleted", "TFG-PROV-001", remove_root("teams/algo")),
    Mutant("the ManagedBy tag dropped", "TFG-PROV-002",
           replace("platform/providers.tf", '      ManagedBy   = "tfgen"\n', "")),
]


def mutant_id(mutant: Mutant) -> str:
    return re.sub(r"[^a-z0-9]+", "-", mutant.name.lower()).strip("-")
