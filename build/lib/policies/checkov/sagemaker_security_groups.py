"""The user's three security group rules, as checkov resource checks.

A checkov resource check sees one resource at a time, so these hold what one rule resource
can show: all-traffic ingress only as self-ingress on training and processing, HTTPS
ingress only from the VPC CIDR, 8080 only on inference from the VPC CIDR. That a rule is
missing altogether is beyond one resource's view: tfgen's own TFG-SG-001 proves that.
The VPC CIDR comes from the environment's YAML through TFGEN_VPC_CIDR.
"""

import ipaddress
import os
import re

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

RULE_TYPES = ["aws_vpc_security_group_ingress_rule"]
_GROUP_REF = re.compile(r"aws_security_group\.([A-Za-z0-9_-]+)")
PRIVATE = [ipaddress.ip_network(c) for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]


def _value(conf, key):
    value = conf.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    return value


def _group(conf, key="security_group_id"):
    match = _GROUP_REF.search(str(_value(conf, key) or ""))
    return match.group(1) if match else None


def _covers(conf, port):
    protocol = str(_value(conf, "ip_protocol")).lower()
    if protocol in ("-1", "all"):
        return True
    try:
        return protocol in ("tcp", "6") and int(_value(conf, "from_port")) <= port <= int(_value(conf, "to_port"))
    except (TypeError, ValueError):
        return False


def _from_vpc(conf):
    cidr = _value(conf, "cidr_ipv4")
    expected = os.environ.get("TFGEN_VPC_CIDR")
    if expected:
        return cidr == expected
    try:
        return any(ipaddress.ip_network(cidr).subnet_of(block) for block in PRIVATE)
    except (TypeError, ValueError):
        return False


class SelfIngressOnClusters(BaseResourceCheck):
    def __init__(self):
        super().__init__(
            name="All-traffic ingress is self-ingress, on the training and processing groups only",
            id="CKV_TFG_1", categories=[CheckCategories.NETWORKING], supported_resources=RULE_TYPES)

    def scan_resource_conf(self, conf):
        if str(_value(conf, "ip_protocol")).lower() not in ("-1", "all"):
            return CheckResult.PASSED
        group = _group(conf)
        is_self = group is not None and _group(conf, "referenced_security_group_id") == group
        return CheckResult.PASSED if is_self and group in ("training", "processing") else CheckResult.FAILED


class HttpsFromVpcCidr(BaseResourceCheck):
    def __init__(self):
        super().__init__(
            name="HTTPS ingress comes from the VPC CIDR only",
            id="CKV_TFG_2", categories=[CheckCategories.NETWORKING], supported_resources=RULE_TYPES)

    def scan_resource_conf(self, conf):
        if not _covers(conf, 443) or _value(conf, "referenced_security_group_id"):
            return CheckResult.PASSED
        return CheckResult.PASSED if _from_vpc(conf) else CheckResult.FAILED


class ContainerPortOnInferenceOnly(BaseResourceCheck):
    def __init__(self):
        super().__init__(
            name="TCP 8080 ingress only on the inference group, from the VPC CIDR",
            id="CKV_TFG_3", categories=[CheckCategories.NETWORKING], supported_resources=RULE_TYPES)

    def scan_resource_conf(self, conf):
        if not _covers(conf, 8080):
            return CheckResult.PASSED
        if _value(conf, "referenced_security_group_id") and _group(conf, "referenced_security_group_id") == _group(conf):
            return CheckResult.PASSED  # self traffic within a cluster, not a port opened to anyone
        return CheckResult.PASSED if _group(conf) == "inference" and _from_vpc(conf) else CheckResult.FAILED


self_ingress = SelfIngressOnClusters()
https_from_vpc = HttpsFromVpcCidr()
container_port = ContainerPortOnInferenceOnly()
