"""AWS's own rules that the configuration and the policies both check against."""

import ipaddress
import json
import re

# CloudWatch Logs PutRetentionPolicy accepts only these values.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)

PRIVATE_RANGES = tuple(ipaddress.IPv4Network(c) for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))

# The commercial regions where SageMaker runs (as of the aws provider 5.100.0).
REGIONS = frozenset({
    "af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
    "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
    "ap-southeast-5", "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2",
    "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1",
    "me-central-1", "me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-1",
    "us-west-2",
})

# Interface endpoints SageMaker always needs in a private VPC (plus the S3 gateway).
REQUIRED_INTERFACE_ENDPOINTS = ("sagemaker.api", "sagemaker.runtime", "sts", "logs", "ecr.api", "ecr.dkr", "monitoring")
# Extras a platform may add; "studio" is the one whose service name has a different shape.
OPTIONAL_INTERFACE_ENDPOINTS = ("studio", "notebook", "servicecatalog", "kms", "events")

MODEL_PACKAGE_GROUP_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}\Z")
MODEL_PACKAGE_GROUP_MAX = 63
ECR_REPOSITORY_NAME = re.compile(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*\Z")
ECR_REPOSITORY_MAX = 256
IAM_ROLE_MAX = 64
IAM_ROLE_NAME = re.compile(r"^[A-Za-z0-9_+=,.@-]+\Z")
# IAM's quota on one role's inline policies, all of them together, in characters, white space
# not counted; fixed (no quota increase). PutRolePolicy past it: LimitExceeded.
ROLE_INLINE_POLICIES_MAX = 10_240


def policy_characters(document: object) -> int:
    """A policy's size as IAM counts it against its quotas: the characters of its JSON, white
    space not counted (a JSON text is counted as written; a document as jsonencode writes it).
    White space is what a policy may hold of it: space, tab, line feed, carriage return."""
    text = document if isinstance(document, str) else json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return len(text) - sum(text.count(space) for space in " \t\n\r")


def interface_service_name(region: str, endpoint: str) -> str:
    """The AWS service name of an interface endpoint: Studio's has its own shape."""
    if endpoint == "studio":
        return f"aws.sagemaker.{region}.studio"
    if endpoint == "notebook":
        return f"aws.sagemaker.{region}.notebook"
    return f"com.amazonaws.{region}.{endpoint}"
