"""moto server on a free loopback port, with the shims its gaps need.

Each shim makes the emulator behave as AWS does; none loosens what a test asserts:
  - DeleteModelPackageGroup is not implemented in moto 5.2.5, so `terraform destroy`
    of a model package group waits forever. The shim deletes the group (and, as AWS
    refuses, not while it still holds model versions).
  - Security group rules that reference a group lose their description when read back
    (DescribeSecurityGroupRules), so every plan shows an in-place update. The shim keeps
    the description moto was given.
"""

from __future__ import annotations

import logging
import os
import urllib.request
from dataclasses import dataclass

from moto.server import ThreadedMotoServer

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
    # moto keeps its accounts in process-wide memory: a new emulator starts from an empty one.
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST")).close()
    return Emulator(server, url)


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
    _shim_delete_model_package_group()
    _shim_referenced_rule_descriptions()


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
