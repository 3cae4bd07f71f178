"""tfgen accept --jobs: the plan's "after" checklist, a processing job and a training job run.

For each chosen project, a processing job (one instance) and a training job (two instances)
run together in VPC mode, as the project's jobs will: the project's execution role, the
designed processing and training groups, every private subnet of the YAML, and the
scikit-learn image AWS provides for SageMaker in the region (generator/config/aws_images.py).
Each runs a tiny script (generator/account/job_script.py, uploaded to the project's data
bucket) that asks STS whose credentials it has and writes what it found to the bucket;
the training job's two instances first meet over TCP. A job that completes has proved what
the table says: it started (its network interfaces in those subnets, with those groups), it
pulled its image, SageMaker read its script from S3 and uploaded its output, the script
reached STS and S3 from the private subnets (the STS endpoint, the S3 gateway), its logs
arrived, and the training instances reached each other.

It costs money and minutes: `plan` says the instance type, count, expected duration and a
rough cost before anything starts, and it only runs when asked (`tfgen accept --jobs`). Every
job is stopped (StopProcessingJob, StopTrainingJob) if it is still running at the timeout or
when anything fails, and every object written under the run's prefix is deleted, in
accept's clean-up (generator/account/accept.py, Cleanup). Jobs themselves cannot be deleted
in SageMaker: they stay in its history, named tfgen-accept-RUN-N-processing / -training.
"""

from __future__ import annotations

import io
import json
import sys
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from generator.account.report import FAIL, PASS, SKIP, Result
from generator.account.session import aws_error
from generator.config import aws_images
from generator.design.model import Design, ProjectDesign
from generator.errors import TfgenError

INSTANCE_TYPE = "ml.m5.large"  # the smallest ml.m5, offered for training and processing in every region
PROCESSING_INSTANCES, TRAINING_INSTANCES = 1, 2
VOLUME_GB = 5
MAX_RUNTIME_SECONDS = 900  # SageMaker stops a job by itself after this, even if tfgen is gone
DEFAULT_TIMEOUT_SECONDS = 1800
EXPECTED_MINUTES = (5, 10)  # from CreateProcessingJob to Completed: mostly instances starting and the image pull
# A rough on-demand price of one ml.m5.large instance-hour for training or processing (docs/real-account.md,
# "The job test", says its source and date); billed per second.
PRICE_USD_PER_HOUR = 0.14
PORT = 29401  # the training instances meet on it (the training group's self rules allow all traffic)
SCRIPT = "tfgen_accept_job.py"
CODE_DIR, OUTPUT_DIR = "/opt/ml/processing/input/code", "/opt/ml/processing/output"
TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
LOG_GROUPS = {"processing": "/aws/sagemaker/ProcessingJobs", "training": "/aws/sagemaker/TrainingJobs"}


class Progress:
    """Where the job tests say what they will cost and how the jobs are doing: write (the
    command line's stderr), or nowhere. On a terminal, one line rewritten in place; in a CI log
    or a pipe, a line each time a job's status changes."""

    def __init__(self, write: Callable[[str], None] | None = None, terminal: bool | None = None) -> None:
        self.write = write
        self.terminal = (write is not None and sys.stderr.isatty()) if terminal is None else terminal
        self._last: str | None = None

    @classmethod
    def on_stderr(cls) -> "Progress":
        """To the process's stderr as it is when written (the command line's, or a test runner's)."""
        def write(text: str) -> None:
            sys.stderr.write(text)
            sys.stderr.flush()
        return cls(write)

    def say(self, text: str) -> None:
        if self.write is not None:
            self.write(text)

    def __call__(self, statuses: str, elapsed: float, limit: float, done: bool = False) -> None:
        line = f"jobs, {_minutes(elapsed)} of {_minutes(limit)}: {statuses}"
        if self.terminal:
            self.say(f"\r\033[K{line}" + ("\n" if done else ""))
        elif statuses != self._last:
            self.say(line + "\n")
        self._last = statuses


@dataclass(frozen=True)
class JobsRequest:
    """What `--jobs` asked: which project (TEAM/PROJECT, or every one), which bucket, how long."""

    project: str | None = None
    bucket: str | None = None
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    progress: Progress = field(default_factory=Progress)
    poll: float = 30.0  # the longest wait between two looks at the jobs


@dataclass(frozen=True)
class Target:
    project: ProjectDesign
    bucket: str | None  # None: no bucket to write to, nothing to run

    @property
    def label(self) -> str:
        return f"{self.project.team}/{self.project.name}"


def data_bucket(d: Design, project: ProjectDesign) -> str | None:
    """The first data bucket the YAML names for the project (its own, else its team's)."""
    team = d.config.teams[project.team]
    buckets = team.projects[project.name].data_buckets
    buckets = buckets if buckets is not None else team.data_buckets or []
    return buckets[0] if buckets else None


def targets(d: Design, request: JobsRequest) -> list[Target]:
    """The projects to test, each with its bucket; an unknown project or region is an error
    before anything is asked of the account."""
    aws_images.sklearn_image(d.config.region)
    projects = [p for t in d.teams for p in t.projects]
    if request.project is not None:
        chosen = [p for p in projects if f"{p.team}/{p.name}" == request.project]
        if not chosen:
            raise TfgenError(f"--project {request.project}: {d.env} has no such project (TEAM/PROJECT): its projects "
                             f"are {', '.join(f'{p.team}/{p.name}' for p in projects)}")
        projects = chosen
    return [Target(p, request.bucket or data_bucket(d, p)) for p in projects]


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}m {int(seconds % 60)}s"


def plan(d: Design, chosen: list[Target], request: JobsRequest) -> str:
    """What the job test will run and roughly cost, said before it starts."""
    running = [t for t in chosen if t.bucket]
    skipped = [t for t in chosen if not t.bucket]
    per_project = PROCESSING_INSTANCES + TRAINING_INSTANCES
    expected = per_project * EXPECTED_MINUTES[1] / 60 * PRICE_USD_PER_HOUR
    longest = per_project * (MAX_RUNTIME_SECONDS / 60 + EXPECTED_MINUTES[0]) / 60 * PRICE_USD_PER_HOUR
    lines = [f"tfgen accept --jobs: {len(running)} project{'' if len(running) == 1 else 's'} "
             f"({', '.join(t.label for t in running) or 'none'}), each a processing job ({PROCESSING_INSTANCES} x "
             f"{INSTANCE_TYPE}) and a training job ({TRAINING_INSTANCES} x {INSTANCE_TYPE}) in the VPC, all at once: "
             f"{per_project * len(running)} instances, image {aws_images.sklearn_image(d.config.region)}.",
             f"  expected {EXPECTED_MINUTES[0]} to {EXPECTED_MINUTES[1]} minutes (mostly SageMaker starting the "
             f"instances and pulling the image); tfgen waits at most {_minutes(request.timeout)}, and each job stops "
             f"itself after {MAX_RUNTIME_SECONDS // 60} minutes of running.",
             f"  rough cost: under ${expected:.2f} a project, ${longest:.2f} if every job ran to its limit "
             f"(on-demand, about ${PRICE_USD_PER_HOUR:.2f} an instance-hour; docs/real-account.md), plus cents of S3 "
             "and CloudWatch Logs."]
    if skipped:
        lines.append(f"  skipped, no data bucket to write to: {', '.join(t.label for t in skipped)}")
    return "\n".join(lines) + "\n"


@dataclass
class Job:
    kind: str  # processing or training
    name: str
    target: Target
    prefix: str
    role_arn: str
    instances: int
    described: dict = field(default_factory=dict)
    stopped: bool = False

    @property
    def status(self) -> str:
        return self.described.get("ProcessingJobStatus") or self.described.get("TrainingJobStatus") or "InProgress"

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def describe(self, sagemaker) -> dict:
        if self.kind == "processing":
            self.described = sagemaker.describe_processing_job(ProcessingJobName=self.name)
        else:
            self.described = sagemaker.describe_training_job(TrainingJobName=self.name)
        return self.described

    def stop(self, sagemaker) -> None:
        if self.kind == "processing":
            sagemaker.stop_processing_job(ProcessingJobName=self.name)
        else:
            sagemaker.stop_training_job(TrainingJobName=self.name)
        self.stopped = True

    def shown(self) -> str:
        secondary = self.described.get("SecondaryStatus")
        return f"{self.kind} {self.status}" + (f" ({secondary})" if secondary and secondary != self.status else "")


def script_text() -> bytes:
    return Path(__file__).with_name("job_script.py").read_bytes()


def source_archive() -> bytes:
    """The training job's submit directory: the script alone, at the archive's root."""
    data, buffer = script_text(), io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo(SCRIPT)
        info.size, info.mtime, info.mode = len(data), 0, 0o644
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def processing_request(d: Design, job: Job, image: str, group_id: str, tags: list[dict]) -> dict:
    bucket, region = job.target.bucket, d.config.region
    return {
        "ProcessingJobName": job.name, "RoleArn": job.role_arn,
        "AppSpecification": {"ImageUri": image, "ContainerEntrypoint": ["python3", f"{CODE_DIR}/{SCRIPT}"],
                             "ContainerArguments": ["--bucket", bucket, "--key", f"{job.prefix}/found/{job.name}/",
                                                    "--region", region, "--job", job.name, "--output", OUTPUT_DIR]},
        "ProcessingInputs": [{"InputName": "code", "S3Input": {
            "S3Uri": f"s3://{bucket}/{job.prefix}/code/", "LocalPath": CODE_DIR, "S3DataType": "S3Prefix",
            "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated"}}],
        "ProcessingOutputConfig": {"Outputs": [{"OutputName": "found", "S3Output": {
            "S3Uri": f"s3://{bucket}/{job.prefix}/processing-output/", "LocalPath": OUTPUT_DIR,
            "S3UploadMode": "EndOfJob"}}]},
        "ProcessingResources": {"ClusterConfig": {"InstanceCount": job.instances, "InstanceType": INSTANCE_TYPE,
                                                  "VolumeSizeInGB": VOLUME_GB}},
        "StoppingCondition": {"MaxRuntimeInSeconds": MAX_RUNTIME_SECONDS},
        "NetworkConfig": {"EnableInterContainerTrafficEncryption": False, "EnableNetworkIsolation": False,
                          "VpcConfig": {"SecurityGroupIds": [group_id], "Subnets": list(d.config.network.subnet_ids)}},
        "Environment": {"AWS_STS_REGIONAL_ENDPOINTS": "regional"},
        "Tags": tags,
    }


def training_request(d: Design, job: Job, image: str, group_id: str, tags: list[dict]) -> dict:
    bucket, region = job.target.bucket, d.config.region
    return {
        "TrainingJobName": job.name, "RoleArn": job.role_arn,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": "File"},
        # AWS's training toolkit runs sagemaker_program from the submit directory on every instance,
        # and passes the other hyperparameters to it as --name value.
        "HyperParameters": {"sagemaker_program": SCRIPT, "sagemaker_region": region,
                            "sagemaker_submit_directory": f"s3://{bucket}/{job.prefix}/code.tar.gz",
                            "bucket": bucket, "key": f"{job.prefix}/found/{job.name}/", "region": region,
                            "job": job.name, "port": str(PORT)},
        "ResourceConfig": {"InstanceType": INSTANCE_TYPE, "InstanceCount": job.instances, "VolumeSizeInGB": VOLUME_GB},
        "VpcConfig": {"SecurityGroupIds": [group_id], "Subnets": list(d.config.network.subnet_ids)},
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/{job.prefix}/training-output"},
        "StoppingCondition": {"MaxRuntimeInSeconds": MAX_RUNTIME_SECONDS},
        "EnableNetworkIsolation": False, "EnableInterContainerTrafficEncryption": False,
        "EnableManagedSpotTraining": False,
        "Environment": {"AWS_STS_REGIONAL_ENDPOINTS": "regional"},
        "Tags": tags,
    }


def run(d: Design, aws, run_id: str, cleanup, request: JobsRequest, chosen: list[Target]) -> list[Result]:
    """Start every chosen project's two jobs, wait for them (saying how they are), and judge each."""
    sagemaker, s3 = aws.client("sagemaker"), aws.client("s3")
    results = [Result(f"{t.label}: the job tests", SKIP, "no data bucket to write to",
                      f"name the bucket its jobs use in data_buckets (teams.{t.project.team}.projects."
                      f"{t.project.name}.data_buckets), or pass --bucket") for t in chosen if not t.bucket]
    running = [t for t in chosen if t.bucket]
    if not running:
        return results
    try:
        groups = _group_ids(d, aws.client("ec2"))
    except Exception as exc:
        return results + [Result(f"{t.label}: the job tests", FAIL, f"the groups: {aws_error(exc)}") for t in running]
    image, jobs, started = aws_images.sklearn_image(d.config.region), [], []
    tags, iam = [{"Key": "tfgen-accept", "Value": run_id}], aws.client("iam")
    for number, target in enumerate(running, start=1):
        prefix = f"{run_id}/{target.project.team}-{target.project.name}"
        try:
            role_arn = iam.get_role(RoleName=target.project.role.name)["Role"]["Arn"]  # with its path
            cleanup.add(f"s3://{target.bucket}/{prefix}/", _delete_prefix(s3, target.bucket, prefix))
            s3.put_object(Bucket=target.bucket, Key=f"{prefix}/code/{SCRIPT}", Body=script_text())
            s3.put_object(Bucket=target.bucket, Key=f"{prefix}/code.tar.gz", Body=source_archive())
        except Exception as exc:
            results.append(Result(f"{target.label}: the job tests", FAIL, f"not started: {aws_error(exc)}"))
            continue
        for kind, instances in (("processing", PROCESSING_INSTANCES), ("training", TRAINING_INSTANCES)):
            job = Job(kind, f"{run_id}-{number}-{kind}", target, prefix, role_arn, instances)
            jobs.append(job)
            try:
                if kind == "processing":
                    sagemaker.create_processing_job(**processing_request(d, job, image, groups["processing"], tags))
                else:
                    sagemaker.create_training_job(**training_request(d, job, image, groups["training"], tags))
            except Exception as exc:
                job.described = {"FailureReason": f"not created: {aws_error(exc)}", "ProcessingJobStatus": "Failed"}
                continue
            started.append(job)
            cleanup.add(f"{kind} job {job.name} stopped", _stop_and_wait(sagemaker, job))
    _wait(sagemaker, started, request)
    for job in started:
        if not job.terminal:
            try:
                job.stop(sagemaker)
            except Exception as exc:
                job.described["FailureReason"] = f"could not be stopped: {aws_error(exc)}"
    return results + [_judged(d, aws, job, request) for job in jobs]


def _group_ids(d: Design, ec2) -> dict[str, str]:
    """The designed processing and training groups' IDs, as the account has them."""
    names = {g.name: g.role for g in d.platform.security_groups if g.role in ("processing", "training")}
    found = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [d.config.network.vpc_id]},
                                                  {"Name": "group-name", "Values": sorted(names)}])["SecurityGroups"]
    ids = {names[g["GroupName"]]: g["GroupId"] for g in found}
    missing = sorted(set(names.values()) - set(ids))
    if missing:
        raise TfgenError(f"no {' or '.join(missing)} group in {d.config.network.vpc_id}: apply the platform root first")
    return ids


def _wait(sagemaker, jobs: list[Job], request: JobsRequest) -> None:
    """Look at the jobs until all are done or the timeout, ever less often (up to request.poll)."""
    started, pause = time.monotonic(), 1.0
    while True:
        for job in jobs:
            if not job.terminal:
                try:
                    job.describe(sagemaker)
                except Exception as exc:  # a throttled describe: look again next time
                    job.described.setdefault("LastError", aws_error(exc))
        elapsed = time.monotonic() - started
        remaining = request.timeout - elapsed
        done = all(job.terminal for job in jobs) or remaining <= 0
        request.progress(", ".join(f"{j.target.label} {j.shown()}" for j in jobs), elapsed, request.timeout, done)
        if done:
            return
        time.sleep(min(pause, remaining))
        pause = min(pause * 2, request.poll)


def _stop_and_wait(sagemaker, job: Job, seconds: float = 300) -> Callable[[], None]:
    """The clean-up of a job: stopped if it still runs, and waited for, so that nothing it writes
    (a stopped training job still uploads its model) comes after its prefix is deleted."""
    def undo() -> None:
        deadline = time.monotonic() + seconds
        job.describe(sagemaker)
        while not job.terminal:
            if not job.stopped and job.status != "Stopping":
                job.stop(sagemaker)
            if time.monotonic() > deadline:
                raise TfgenError(f"still {job.status} {seconds:.0f} s after it was stopped")
            time.sleep(5)
            job.describe(sagemaker)
    return undo


def _delete_prefix(s3, bucket: str, prefix: str) -> Callable[[], None]:
    def delete() -> None:
        keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/")
                for o in page.get("Contents", [])]
        for start in range(0, len(keys), 1000):
            answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[start:start + 1000]],
                                                              "Quiet": True})
            if answer.get("Errors"):
                error = answer["Errors"][0]
                raise TfgenError(f"{error.get('Key')}: {error.get('Code')}: {error.get('Message')}")
    return delete


def _judged(d: Design, aws, job: Job, request: JobsRequest) -> Result:
    subnets = len(d.config.network.subnet_ids)
    what = (f"{job.target.label}: {job.kind} job, {job.instances} x {INSTANCE_TYPE}, the {job.kind} group, "
            f"{subnets} private subnet{'' if subnets == 1 else 's'}")
    try:
        return _judgement(aws, job, request, what)
    except Exception as exc:  # an answer that cannot be read is a failed check, not a failed command
        return Result(what, FAIL, f"{job.name}: {job.status}, but its results cannot be read: {aws_error(exc)}")


def _judgement(aws, job: Job, request: JobsRequest, what: str) -> Result:
    described, status = job.described, job.status
    took = _took(described)
    if status != "Completed":
        if job.stopped and status not in ("Failed", "Completed"):
            detail = f"{job.name}: still {status} after {_minutes(request.timeout)}: stopped"
        else:
            reason = described.get("FailureReason") or described.get("ExitMessage") or "no reason given"
            detail = f"{job.name}: {status}{took}: {reason}"
        return Result(what, FAIL, detail)
    found, problems = _found(aws.client("s3"), job)
    problems += _output_problems(aws.client("s3"), job)
    streams = _log_streams(aws.client("logs"), job)
    if streams < job.instances:
        problems.append(f"{streams} log stream{'' if streams == 1 else 's'} with lines in {LOG_GROUPS[job.kind]}, "
                        f"{job.instances} expected")
    if problems:
        return Result(what, FAIL, f"{job.name}: Completed{took}, but " + "; ".join(problems))
    callers = sorted({f["caller"].split(":", 5)[-1].rsplit("/", 1)[0] for f in found})
    detail = (f"{job.name}: Completed{took}; as {', '.join(callers)}; STS and s3://{job.target.bucket} reached "
              f"from the subnets; output uploaded; {streams} log stream{'' if streams == 1 else 's'}")
    if job.kind == "training":
        detail += f"; {' and '.join(sorted(f['host'] for f in found))} reached each other on tcp/{PORT}"
    return Result(what, PASS, detail)


def _took(described: dict) -> str:
    start = described.get("CreationTime")
    end = described.get("ProcessingEndTime") or described.get("TrainingEndTime") or described.get("LastModifiedTime")
    try:
        return f" in {_minutes((end - start).total_seconds())}"
    except TypeError:
        return ""


def _found(s3, job: Job) -> tuple[list[dict], list[str]]:
    """What each instance's script wrote, and what is wrong with it."""
    prefix = f"{job.prefix}/found/{job.name}/"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=job.target.bucket, Prefix=prefix).get("Contents", [])]
    found = [json.loads(s3.get_object(Bucket=job.target.bucket, Key=k)["Body"].read()) for k in keys]
    problems = []
    if len(found) != job.instances:
        problems.append(f"{len(found)} of {job.instances} instances wrote to s3://{job.target.bucket}/{prefix}")
    role = job.role_arn.rsplit("/", 1)[-1]
    account = job.role_arn.split(":")[4]
    for f in found:
        if not str(f.get("caller", "")).startswith(f"arn:aws:sts::{account}:assumed-role/{role}/"):
            problems.append(f"{f.get('host')} ran as {f.get('caller')}, not the role {role}")
        others = sorted(h for h in f.get("hosts", []) if h != f.get("host"))
        if f.get("peers") != others or len(f.get("hosts", [])) != job.instances:
            problems.append(f"{f.get('host')} reached {f.get('peers')} of {others}")
    return found, problems


def _output_problems(s3, job: Job) -> list[str]:
    """What SageMaker uploads from the job: the processing output, the model artefact."""
    bucket = job.target.bucket
    if job.kind == "processing":
        listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{job.prefix}/processing-output/").get("Contents", [])
        return [] if listed else [f"no output uploaded to s3://{bucket}/{job.prefix}/processing-output/"]
    artefact = job.described.get("ModelArtifacts", {}).get("S3ModelArtifacts", "")
    key = artefact.removeprefix(f"s3://{bucket}/")
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return []
    except Exception as exc:
        return [f"no model artefact at {artefact or 'the output path'}: {aws_error(exc)}"]


def _log_streams(logs, job: Job) -> int:
    """The job's log streams (JOB/algo-N-EPOCH, one per instance) that hold at least one line."""
    group = LOG_GROUPS[job.kind]
    try:
        streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=f"{job.name}/")["logStreams"]
        return sum(bool(logs.get_log_events(logGroupName=group, logStreamName=s["logStreamName"], limit=1,
                                            startFromHead=True)["events"]) for s in streams)
    except Exception:
        return 0
