"""Render an environment against the emulator's network and run terraform in each root."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from generator.support import terraform
from generator.config.loader import load_environment
from generator.design.builder import design
from generator.design.model import Design
from generator.render.templates import PLATFORM_ROOT, Rendered, render
from generator.render.writer import write
from sandbox import network as network_module
from sandbox.emulator import Emulator, boto_client

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Sandbox:
    emulator: Emulator
    workdir: Path  # holds environments/ (with the real network) and out/
    env: str
    state_dir: Path
    rendered: Rendered | None = None

    @property
    def config_dir(self) -> Path:
        return self.workdir / "environments"

    @property
    def out_env(self) -> Path:
        return self.workdir / "out" / self.env

    def roots(self) -> list[str]:
        """Platform first: the team roots' alarms notify its topic."""
        assert self.rendered is not None
        roots = self.rendered.roots()
        return [PLATFORM_ROOT] + [r for r in roots if r != PLATFORM_ROOT]

    def terraform(self, root: str, *args: str, check: bool = True):
        return terraform.run(list(args), cwd=self.out_env / root, state_dir=self.state_dir,
                             extra_env=self.emulator.env(), check=check)


def prepare(emulator: Emulator, workdir: Path, env: str = "sandbox", source: Path = REPO / "environments",
            edit: Callable[[dict], None] | None = None, zones: str = "ab", dns_hostnames: bool = True) -> Sandbox:
    """Copy the YAML, create the network, the execution roles and the data buckets the plan
    takes as given in the emulator, and put the network's IDs in the environment."""
    config_dir = workdir / "environments"
    if config_dir.exists():
        shutil.rmtree(config_dir)
    shutil.copytree(source, config_dir)
    path = config_dir / f"{env}.yaml"
    data = yaml.safe_load(path.read_text())
    cfg = load_environment(config_dir, env).config
    net = network_module.create(emulator, cfg.region, cfg.network.vpc_cidr, zones, dns_hostnames)
    data["network"] = net.as_yaml()
    if edit:
        edit(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    the_design = design(load_environment(config_dir, env))
    create_existing_roles(emulator, the_design)
    create_data_buckets(emulator, the_design)
    return Sandbox(emulator, workdir, env, workdir / ".tfgen")


def create_data_buckets(emulator: Emulator, the_design: Design) -> None:
    """The S3 buckets the YAML names for the jobs' data (data_buckets), as the plan's account has them."""
    cfg = the_design.config
    names = {b for team in cfg.teams.values() for choice in (team, *team.projects.values())
             for b in choice.data_buckets or []}
    s3 = boto_client(emulator, "s3", cfg.region)
    for name in sorted(names):
        try:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": cfg.region})
        except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
            pass  # made by an earlier prepare in the same emulator


SAGEMAKER_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def create_existing_roles(emulator: Emulator, the_design: Design) -> None:
    """The SageMaker execution roles the YAML names, as the plan's account has them."""
    iam = boto_client(emulator, "iam", the_design.config.region)
    for role in {p.role for t in the_design.teams for p in t.projects if not p.role.create}:
        path = "/" + role.arn.split(":role/", 1)[1].rsplit("/", 1)[0] + "/" if role.arn.count("/") > 1 else "/"
        try:
            iam.create_role(RoleName=role.name, Path=path, AssumeRolePolicyDocument=SAGEMAKER_TRUST)
        except iam.exceptions.EntityAlreadyExistsException:
            pass  # made by an earlier prepare in the same emulator


@dataclass(frozen=True)
class AlarmReader:
    """An SQS queue subscribed to the sandbox's alarm topic: a subscriber whose mail can be read."""

    queue_url: str
    subscription_arn: str


def subscribe_alarm_reader(sandbox: Sandbox, name: str = "alarm-reader") -> AlarmReader:
    the_design = design(load_environment(sandbox.config_dir, sandbox.env))
    region = the_design.config.region
    sqs = boto_client(sandbox.emulator, "sqs", region)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    subscription = boto_client(sandbox.emulator, "sns", region).subscribe(
        TopicArn=the_design.topic_arn, Protocol="sqs", Endpoint=arn)["SubscriptionArn"]
    return AlarmReader(url, subscription)


def unsubscribe_alarm_reader(sandbox: Sandbox, reader: AlarmReader) -> None:
    region = load_environment(sandbox.config_dir, sandbox.env).config.region
    boto_client(sandbox.emulator, "sns", region).unsubscribe(SubscriptionArn=reader.subscription_arn)
    boto_client(sandbox.emulator, "sqs", region).delete_queue(QueueUrl=reader.queue_url)


def render_sandbox(sandbox: Sandbox) -> Rendered:
    sandbox.rendered = render(sandbox.config_dir, sandbox.env)
    write(sandbox.rendered, sandbox.out_env)
    return sandbox.rendered


def init(sandbox: Sandbox, root: str) -> None:
    sandbox.terraform(root, "init", "-input=false", "-no-color")


def apply(sandbox: Sandbox, root: str) -> None:
    sandbox.terraform(root, "apply", "-auto-approve", "-input=false", "-no-color")


def plan_changes(sandbox: Sandbox, root: str) -> tuple[bool, str]:
    """(has changes, plan output) from `terraform plan -detailed-exitcode`."""
    completed = sandbox.terraform(root, "plan", "-detailed-exitcode", "-input=false", "-no-color", check=False)
    if completed.returncode == 1:
        raise RuntimeError(f"terraform plan failed in {root}:\n{completed.stderr}")
    return completed.returncode == 2, completed.stdout
