"""SageMaker's processing and training jobs, run in the sandbox as far as one machine can.

moto 5.2.5 records CreateProcessingJob and CreateTrainingJob and answers Completed at once,
running nothing (moto/sagemaker/models.py: FakeProcessingJob, FakeTrainingJob), and has no
StopTrainingJob. This shim runs the job's own script, as SageMaker would, against the emulator:

  - before anything runs, SageMaker's checks as the execution role, answered by the gate's
    evaluator over the role's policies (policies/iam_evaluation.py, as the simulator shim does):
    pulling the job's image (ecr:BatchGetImage, ecr:GetDownloadUrlForLayer,
    ecr:BatchCheckLayerAvailability on the image's repository, ecr:GetAuthorizationToken) and
    creating its network interfaces (ec2:CreateNetworkInterface on the interface, each subnet
    and each group, with the subnet's VPC as ec2:Vpc), and that the subnets and groups exist
    in one VPC;
  - then, as the role (STS AssumeRole) and with moto's IAM enforcement on, so that the role's
    own policies decide each call: the inputs downloaded from S3 (a processing job's
    ProcessingInputs, a training job's sagemaker_submit_directory), the script run (python,
    on this machine), one process per instance (a training job's hosts on loopback
    addresses of their own, SM_HOSTS and SM_CURRENT_HOST set as AWS's training toolkit sets
    them), its outputs uploaded (ProcessingOutputs, the model as model.tar.gz) and its output
    lines written to the job's log group, a stream per instance;
  - the job Completed, or Failed with the reason (the sandbox's words: "ClientError: ..." for
    a check, "AlgorithmError: LAST LINE" for a script that failed).

Emulated, and so not proved here: the container, the image itself, the network (no
interfaces, no security groups between the instances, no S3 gateway, no STS endpoint), the
instances' start, SageMaker's own wording. Inside `held()`, a job stays InProgress and runs
nothing until it is stopped: the timeout's path. The job runs inside the Create call (the
caller waits a second or two), so a describe after it already sees the end.
"""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_state = {"url": None, "held": False}
_lock = threading.Lock()  # one job at a time: moto's IAM enforcement is process-wide


def serve(url: str) -> None:
    """The emulator's address, for the job's script and the shim's own calls as the role."""
    _state["url"] = url


@contextmanager
def held() -> Iterator[None]:
    """Jobs created inside stay InProgress, running nothing, until stopped."""
    _state["held"] = True
    try:
        yield
    finally:
        _state["held"] = False


def install() -> None:
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    create_processing = SageMakerModelBackend.create_processing_job
    create_training = SageMakerModelBackend.create_training_job

    def create_processing_job(self, *args, **kwargs):
        job = create_processing(self, *args, **kwargs)
        _start(self, job, "processing")
        return job

    def create_training_job(self, *args, **kwargs):
        job = create_training(self, *args, **kwargs)
        _start(self, job, "training")
        return job

    def stop_training_job(self, training_job_name: str) -> None:
        from moto.sagemaker.exceptions import ValidationError

        job = self.training_jobs.get(training_job_name)
        if job is None:
            raise ValidationError(message=f"Could not find training job '{training_job_name}'.")
        job.training_job_status, job.secondary_status = "Stopped", "Stopped"

    def stop_response(self) -> str:
        self.sagemaker_backend.stop_training_job(self._get_param("TrainingJobName"))
        return "{}"

    SageMakerModelBackend.create_processing_job = create_processing_job
    SageMakerModelBackend.create_training_job = create_training_job
    if not hasattr(SageMakerModelBackend, "stop_training_job"):  # moto implements it now: the shim retires
        SageMakerModelBackend.stop_training_job = stop_training_job
        SageMakerResponse.stop_training_job = stop_response


def _set(job, kind: str, status: str, reason: str | None = None) -> None:
    if kind == "processing":
        job.processing_job_status = status
    else:
        job.training_job_status = job.secondary_status = status
    if reason:
        job.failure_reason = reason


def _start(backend, job, kind: str) -> None:
    if _state["held"]:
        _set(job, kind, "InProgress")
        if kind == "training":
            job.secondary_status = "Starting"
        return
    try:
        with _lock:
            _set(job, kind, *_run(backend, job, kind))
    except Exception as exc:  # a broken shim is a failed job that says so, never a 500
        _set(job, kind, "Failed", f"the sandbox's job shim failed: {type(exc).__name__}: {exc}")


def _run(backend, job, kind: str) -> tuple[str, str | None]:
    account, region = backend.account_id, backend.region_name
    import botocore.exceptions

    from sandbox.iam_enforcement import enforced

    if kind == "processing":  # moto keeps no ProcessingResources: the test jobs' processing runs on one
        image, network = job.app_specification["ImageUri"], (job.network_config or {}).get("VpcConfig") or {}
    else:
        image, network = job.algorithm_specification["TrainingImage"], job.vpc_config or {}
    refused = _refused(account, region, job.role_arn, image, network)
    if refused:
        return "Failed", f"ClientError: {refused}"
    with tempfile.TemporaryDirectory(prefix="tfgen-sandbox-job-") as folder:
        root = Path(folder)
        env = _as_role(job.role_arn, region)
        with enforced():
            try:
                if kind == "processing":
                    outcome = _processing(job, root, env, region)
                else:
                    outcome = _training(job, root, env, region, job.resource_config["InstanceCount"])
            except botocore.exceptions.ClientError as exc:  # an input or output the role may not read or write
                error = exc.response.get("Error", {})
                return "Failed", f"ClientError: {exc.operation_name}: {error.get('Code')}: {error.get('Message')}"
            try:
                _write_logs(env, region, job, kind, outcome)
            except botocore.exceptions.ClientError:
                pass  # no log group, and no right to make it: no logs, as on AWS
    failed = [o for o in outcome if o["code"] != 0]
    if failed:
        last = (failed[0]["stderr"].strip().splitlines() or [f"exit code {failed[0]['code']}"])[-1]
        return "Failed", f"AlgorithmError: {last}"
    return "Completed", None


# --- SageMaker's checks as the role, before anything runs ---------------------------------


def _role_policies(account: str, role_arn: str) -> list[tuple[str, dict]]:
    from moto.iam.models import iam_backends

    backend = iam_backends[account]["aws"]
    role = next((r for r in backend.roles.values() if r.arn == role_arn), None)
    if role is None:
        return []
    policies = [(name, json.loads(text)) for name, text in role.policies.items()]
    for policy in role.managed_policies.values():
        version = next(v for v in policy.versions if v.version_id == policy.default_version_id)
        document = version.document
        policies.append((policy.name, json.loads(document) if isinstance(document, str) else document))
    return policies


def _refused(account: str, region: str, role_arn: str, image: str, network: dict) -> str | None:
    """Why SageMaker could not start the job as the role, or None."""
    from moto.ec2.models import ec2_backends

    from policies.iam_evaluation import Request, evaluate

    policies = _role_policies(account, role_arn)
    if not policies:
        return f"the role {role_arn} does not exist or has no policy"
    registry, _, rest = image.partition("/")
    repository = f"arn:aws:ecr:{region}:{registry.split('.')[0]}:repository/{rest.split(':')[0].split('@')[0]}"
    requests = [Request(a, repository) for a in ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer",
                                                 "ecr:BatchGetImage")]
    requests.append(Request("ecr:GetAuthorizationToken", "*"))
    if network:
        ec2 = ec2_backends[account][region]
        vpcs = set()
        for subnet in network.get("Subnets", []):
            try:
                found = ec2.get_subnet(subnet)
            except Exception:
                return f"the subnet {subnet} does not exist"
            vpcs.add(found.vpc_id)
            requests.append(Request("ec2:CreateNetworkInterface", f"arn:aws:ec2:{region}:{account}:subnet/{subnet}",
                                    (("ec2:Vpc", (f"arn:aws:ec2:{region}:{account}:vpc/{found.vpc_id}",)),
                                     ("ec2:SubnetID", (subnet,)))))
        for group_id in network.get("SecurityGroupIds", []):
            group = ec2.get_security_group_from_id(group_id)
            if group is None:
                return f"the security group {group_id} does not exist"
            vpcs.add(group.vpc_id)
            requests.append(Request("ec2:CreateNetworkInterface",
                                    f"arn:aws:ec2:{region}:{account}:security-group/{group_id}",
                                    (("ec2:Vpc", (f"arn:aws:ec2:{region}:{account}:vpc/{group.vpc_id}",)),)))
        if len(vpcs) > 1:
            return f"the subnets and security groups are in more than one VPC: {', '.join(sorted(vpcs))}"
        requests.append(Request("ec2:CreateNetworkInterface", f"arn:aws:ec2:{region}:{account}:network-interface/*",
                                (("ec2:Region", (region,)),)))
    for request in requests:
        decision = evaluate(policies, request)
        if not decision.allowed:
            return f"the role {role_arn} may not {request.action} on {request.resource} ({decision.effect})"
    return None


# --- the job, as the role ---------------------------------------------------------------


def _as_role(role_arn: str, region: str) -> dict[str, str]:
    """The environment a job's container gets: the role's credentials, the region, the emulator."""
    import boto3

    sts = boto3.client("sts", region_name=region, endpoint_url=_state["url"], aws_access_key_id="test",
                       aws_secret_access_key="test", aws_session_token="test")
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="SageMaker")["Credentials"]
    return {**{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SM_"))},
            "AWS_ENDPOINT_URL": _state["url"], "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"], "AWS_REGION": region, "AWS_DEFAULT_REGION": region,
            "AWS_EC2_METADATA_DISABLED": "true"}


def _client(env: dict[str, str], service: str, region: str):
    import boto3

    return boto3.client(service, region_name=region, endpoint_url=env["AWS_ENDPOINT_URL"],
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                        aws_session_token=env["AWS_SESSION_TOKEN"])


def _split(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def _local(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


def _processing(job, root: Path, env: dict[str, str], region: str) -> list[dict]:
    s3 = _client(env, "s3", region)
    paths = {}
    for item in job.processing_inputs or []:
        bucket, prefix = _split(item["S3Input"]["S3Uri"])
        local = _local(root, item["S3Input"]["LocalPath"])
        paths[item["S3Input"]["LocalPath"]] = str(local)
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for entry in page.get("Contents", []):
                target = local / entry["Key"][len(prefix):].lstrip("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read())
    outputs = (job.processing_output_config or {}).get("Outputs", [])
    for item in outputs:
        paths[item["S3Output"]["LocalPath"]] = str(_local(root, item["S3Output"]["LocalPath"]))
        Path(paths[item["S3Output"]["LocalPath"]]).mkdir(parents=True, exist_ok=True)

    def mapped(argument: str) -> str:
        for path, local in sorted(paths.items(), key=lambda item: -len(item[0])):
            if argument.startswith(path):
                return local + argument[len(path):]
        return argument

    spec = job.app_specification
    command = [mapped(a) for a in [*spec.get("ContainerEntrypoint", []), *spec.get("ContainerArguments", [])]]
    command = [sys.executable if a in ("python", "python3") else a for a in command]
    outcome = [_process(command, env, root)]  # moto keeps no Environment either; the script sets what it needs
    if outcome[0]["code"] == 0:
        for item in outputs:
            bucket, prefix = _split(item["S3Output"]["S3Uri"])
            for file in sorted(Path(paths[item["S3Output"]["LocalPath"]]).rglob("*")):
                if file.is_file():
                    key = f"{prefix.rstrip('/')}/{file.relative_to(paths[item['S3Output']['LocalPath']])}"
                    s3.put_object(Bucket=bucket, Key=key, Body=file.read_bytes())
    return outcome


def _training(job, root: Path, env: dict[str, str], region: str, instances: int) -> list[dict]:
    s3 = _client(env, "s3", region)
    hyper = dict(job.hyper_parameters or {})
    code = root / "code"
    code.mkdir()
    bucket, key = _split(hyper["sagemaker_submit_directory"])
    with tarfile.open(fileobj=io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read())) as archive:
        try:
            archive.extractall(code, filter="data")
        except TypeError:  # Python before 3.11.4: no filters
            archive.extractall(code)
    arguments = [part for name, value in sorted(hyper.items()) if not name.startswith("sagemaker_")
                 for part in (f"--{name}", str(value))]
    net = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}"  # the instances' own loopback addresses
    hosts = [f"{net}.{i}" for i in range(1, instances + 1)]
    runs: list[dict] = [{} for _ in hosts]

    def one(index: int, host: str) -> None:
        model = root / f"model-{index + 1}"
        model.mkdir()
        runs[index] = _process([sys.executable, str(code / hyper["sagemaker_program"]), *arguments],
                               {**env, "SM_HOSTS": json.dumps(hosts),
                                "SM_CURRENT_HOST": host, "SM_MODEL_DIR": str(model),
                                "TFGEN_LISTEN_ADDRESS": host}, code)

    threads = [threading.Thread(target=one, args=(i, h)) for i, h in enumerate(hosts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if all(r["code"] == 0 for r in runs):  # SageMaker uploads the first instance's model folder
        artefact = io.BytesIO()
        with tarfile.open(fileobj=artefact, mode="w:gz") as archive:
            archive.add(root / "model-1", arcname=".")
        bucket, key = _split(job.model_artifacts["S3ModelArtifacts"])
        s3.put_object(Bucket=bucket, Key=key, Body=artefact.getvalue())
    return runs


def _process(command: list[str], env: dict[str, str], cwd: Path) -> dict:
    try:
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
        return {"code": done.returncode, "stdout": done.stdout, "stderr": done.stderr}
    except subprocess.TimeoutExpired as exc:
        return {"code": -1, "stdout": exc.stdout or "", "stderr": f"killed after {exc.timeout} s"}


def _write_logs(env: dict[str, str], region: str, job, kind: str, outcome: list[dict]) -> None:
    """What SageMaker ships from each instance: a stream JOB/algo-N-EPOCH in the job's log group."""
    logs = _client(env, "logs", region)
    group = {"processing": "/aws/sagemaker/ProcessingJobs", "training": "/aws/sagemaker/TrainingJobs"}[kind]
    name = job.processing_job_name if kind == "processing" else job.training_job_name
    try:
        logs.create_log_group(logGroupName=group)  # SageMaker makes it at the first job
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    now = int(time.time() * 1000)
    for index, run in enumerate(outcome, start=1):
        stream = f"{name}/algo-{index}-{now // 1000}"
        lines = [line for line in (run.get("stdout", "") + run.get("stderr", "")).splitlines() if line] or ["(none)"]
        try:
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
            logs.put_log_events(logGroupName=group, logStreamName=stream,
                                logEvents=[{"timestamp": now, "message": line} for line in lines])
        except logs.exceptions.ClientError:
            continue  # as on AWS: a role without the log permissions runs its job and leaves no lines
