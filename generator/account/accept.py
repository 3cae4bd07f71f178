"""tfgen accept: the plan's acceptance steps, run against the live account after an apply.

`tfgen verify` proves that what exists is what the YAML says; this proves it works, module
by module, as the plan's acceptance asks: the security group IDs file matches the account,
a test image pushes to every project repository and reads back, a test model version
registers in every model package group, an alarm of each root fires and recovers, and the
account's IAM simulator allows each execution role the requests its jobs make and refuses
another project's (the gate's intent tables, TFG-IAM-009); with --jobs, a processing job and a
training job run per project (generator/account/jobs.py).

Everything it creates is named `tfgen-accept-RUN` (image tags, the model versions'
descriptions and tags) and deleted again, in `finally`, whatever failed; it never touches
anything it did not create. A protected environment needs --allow-protected: the test
images and models are written to its production repositories and groups. It runs in the
environment's session (generator/account/session.py): the account is guarded before
anything is asked or created. One result a step, PASS, WARN, FAIL or SKIP
(generator/account/report.py).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from generator.account import jobs as job_tests
from generator.account.jobs import JobsRequest
from generator.account.report import FAIL, PASS, SKIP, WARN, Report, Result, under
from generator.account.session import aws_error, opened
from generator.design.model import Design
from generator.errors import TfgenError

# SKIP: nothing to try (ECR off: no image to register). WARN: an existing role's own policies
# allow what tfgen's scoping refuses (the account's choice, said aloud).
NEEDS = "accept needs the permissions of docs/real-account.md, 8. Accept"
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


def _adaptive_retries():
    import botocore.config

    # One simulator call per request, some fifty per role: back off rather than fail when IAM throttles.
    return botocore.config.Config(retries={"mode": "adaptive", "max_attempts": 10})


class Cleanup:
    """What a run created, undone in reverse order; a failing undo is reported, never raised."""

    def __init__(self) -> None:
        self._steps: list[tuple[str, Callable[[], None]]] = []
        self.failures: list[str] = []

    def add(self, what: str, undo: Callable[[], None]) -> None:
        self._steps.append((what, undo))

    def run(self) -> None:
        for what, undo in reversed(self._steps):
            try:
                undo()
            except Exception as exc:  # report and go on: the rest must still be cleaned
                self.failures.append(f"{what}: {exc}")
        self._steps.clear()


def accept(the_design: Design, out_env: Path, allow_protected: bool = False, queue_url: str | None = None,
           boto_session=None, jobs: JobsRequest | None = None) -> Report:
    """Every acceptance step of the plan, in order; whatever a step created is gone at the end.
    jobs: also the job tests (generator/account/jobs.py), after saying what they cost."""
    if the_design.config.protected and not allow_protected:  # before any call
        raise TfgenError(f"{the_design.env} is protected: accept pushes test images to its repositories and "
                         "registers test model versions in its groups (and deletes them again); pass "
                         "--allow-protected to run it there")
    job_targets = job_tests.targets(the_design, jobs) if jobs else []  # an unknown project: before any call
    if jobs:
        jobs.progress.say(job_tests.plan(the_design, job_targets, jobs))
    run = f"tfgen-accept-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
    cleanup = Cleanup()
    with opened(the_design, NEEDS, boto_session) as aws:
        try:
            results = under("network", _network(the_design, out_env, aws.client("ec2")))
            results += under("iam", _iam(the_design, aws.client("iam", config=_adaptive_retries())))
            images = {}  # repository -> digest of the test image, for the registry step
            for result, repository, digest in _images(the_design, aws.client("ecr"), run, cleanup):
                results.append(replace(result, module="ecr"))
                if digest:
                    images[repository] = digest
            results += under("registry", _registry(the_design, aws.client("sagemaker"), run, images, cleanup))
            results += under("alarms", _alarms(the_design, aws.client("cloudwatch"), aws.client("sqs"), run, cleanup,
                                               queue_url))
            if jobs:
                results += under("jobs", job_tests.run(the_design, aws, run, cleanup, jobs, job_targets))
        finally:
            cleanup.run()
    results.append(Result(f"everything {run} created removed", FAIL if cleanup.failures else PASS,
                          "; ".join(cleanup.failures), module="cleanup"))
    return aws.report("accept", results)


# --- network: the ID file against the account --------------------------------------------


def _network(d: Design, out_env: Path, ec2) -> list[Result]:
    path = out_env / "security-groups.env"
    if not path.is_file():
        return [Result("security-groups.env matches the account", FAIL,
                       f"{path} is missing: run `tfgen outputs {d.env}` after applying the platform")]
    written = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and line[0] != "#")
    try:
        live = {g["GroupName"]: g["GroupId"] for g in ec2.describe_security_groups(Filters=[
            {"Name": "vpc-id", "Values": [d.config.network.vpc_id]},
            {"Name": "group-name", "Values": [g.name for g in d.platform.security_groups]}])["SecurityGroups"]}
    except ec2.exceptions.ClientError as exc:
        return [Result("security-groups.env matches the account", FAIL, aws_error(exc))]
    results = []
    for group in d.platform.security_groups:
        found, listed = live.get(group.name), written.get(group.output)
        ok = found is not None and found == listed
        detail = listed if ok else f"the file says {listed}, the account has {found or 'no such group'}"
        results.append(Result(f"{group.output} in security-groups.env is {group.name}",
                              PASS if ok else FAIL, str(detail)))
    return results


# --- ECR: a test image pushed through the API, read back, deleted --------------------------


def _blob(data: bytes) -> tuple[bytes, str]:
    return data, "sha256:" + hashlib.sha256(data).hexdigest()


def _test_image(run: str) -> tuple[list[tuple[bytes, str]], dict]:
    """A minimal image: one layer (a gzip stream naming the run) and its config; no docker needed."""
    import gzip
    import io
    import tarfile

    content = f"{run}: pushed by tfgen accept, deleted after\n".encode()
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as archive:
        info = tarfile.TarInfo("tfgen-accept.txt")
        info.size, info.mtime = len(content), 0
        archive.addfile(info, io.BytesIO(content))
    layer = _blob(gzip.compress(tar.getvalue(), mtime=0))
    config = _blob(json.dumps({"architecture": "amd64", "os": "linux", "config": {"Labels": {"tfgen-accept": run}},
                               "rootfs": {"type": "layers", "diff_ids": [
                                   "sha256:" + hashlib.sha256(tar.getvalue()).hexdigest()]}}).encode())
    manifest = {"schemaVersion": 2, "mediaType": MANIFEST_TYPE,
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                           "size": len(config[0]), "digest": config[1]},
                "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                            "size": len(layer[0]), "digest": layer[1]}]}
    return [layer, config], manifest


def _images(d: Design, ecr, run: str, cleanup: Cleanup):
    blobs, manifest = _test_image(run)
    text = json.dumps(manifest)
    for team in d.teams:
        for project in team.projects:
            for repo in project.repositories:
                check = f"a test image pushes to {repo.name}, reads back and deletes"
                try:
                    for data, digest in blobs:
                        upload = ecr.initiate_layer_upload(repositoryName=repo.name)["uploadId"]
                        ecr.upload_layer_part(repositoryName=repo.name, uploadId=upload, partFirstByte=0,
                                              partLastByte=len(data) - 1, layerPartBlob=data)
                        try:
                            ecr.complete_layer_upload(repositoryName=repo.name, uploadId=upload, layerDigests=[digest])
                        except ecr.exceptions.LayerAlreadyExistsException:
                            pass  # the same bytes are there already: nothing to upload
                    pushed = ecr.put_image(repositoryName=repo.name, imageManifest=text, imageTag=run,
                                           imageManifestMediaType=MANIFEST_TYPE)["image"]["imageId"]["imageDigest"]
                    cleanup.add(f"image {repo.name}@{pushed}", _delete_image(ecr, repo.name, pushed))
                    back = ecr.batch_get_image(repositoryName=repo.name, imageIds=[{"imageTag": run}],
                                               acceptedMediaTypes=[MANIFEST_TYPE])["images"]
                    if not back or json.loads(back[0]["imageManifest"]) != manifest:
                        yield Result(check, FAIL, f"{run} did not read back as pushed"), repo.name, None
                        continue
                    yield Result(check, PASS, f"{pushed[:19]}"), repo.name, pushed
                except Exception as exc:
                    yield Result(check, FAIL, aws_error(exc)), repo.name, None


def _delete_image(ecr, repository: str, digest: str) -> Callable[[], None]:
    def delete() -> None:
        failures = ecr.batch_delete_image(repositoryName=repository, imageIds=[{"imageDigest": digest}])["failures"]
        if failures:
            raise TfgenError(f"{failures[0].get('failureCode')}: {failures[0].get('failureReason')}")
    return delete


# --- the model registry: a test model version registered, described, deleted -------------


def _registry(d: Design, sagemaker, run: str, images: dict[str, str], cleanup: Cleanup) -> list[Result]:
    registry = f"{d.config.account_id}.dkr.ecr.{d.config.region}.amazonaws.com"
    results = []
    for team in d.teams:
        for project in team.projects:
            group = project.model_package_group
            check = f"a test model version registers in {group}"
            if not project.repositories:
                results.append(Result(check, SKIP, "ECR is off: no project image to register a model on"))
                continue
            pushed = [(repo.name, images[repo.name]) for repo in project.repositories if repo.name in images]
            if not pushed:
                results.append(Result(check, FAIL, "no test image of the project could be pushed"))
                continue
            repository, digest = pushed[-1]  # the last stage: inference, by the plan's order
            try:
                # Rejected: no deployment pipeline that acts on approved versions picks it up.
                arn = sagemaker.create_model_package(
                    ModelPackageGroupName=group, ModelPackageDescription=f"{run}: acceptance test, deleted after",
                    ModelApprovalStatus="Rejected", Tags=[{"Key": "tfgen-accept", "Value": run}],
                    InferenceSpecification={"Containers": [{"Image": f"{registry}/{repository}@{digest}"}],
                                            "SupportedContentTypes": ["text/csv"],
                                            "SupportedResponseMIMETypes": ["text/csv"]})["ModelPackageArn"]
                cleanup.add(f"model version {arn}",
                            lambda arn=arn: sagemaker.delete_model_package(ModelPackageName=arn))
                described = sagemaker.describe_model_package(ModelPackageName=arn)
                image = described["InferenceSpecification"]["Containers"][0]["Image"]
                ok = described.get("ModelPackageGroupName") == group and image.endswith(digest)
                results.append(Result(check, PASS if ok else FAIL,
                                      f"version {arn.rsplit('/', 1)[-1]}, image from {repository}" if ok
                                      else f"described as {described.get('ModelPackageGroupName')}, image {image}"))
            except Exception as exc:
                results.append(Result(check, FAIL, aws_error(exc)))
    return results


# --- alarms: one per root set to ALARM and back ------------------------------------------


def _alarms(d: Design, cloudwatch, sqs, run: str, cleanup: Cleanup, queue_url: str | None) -> list[Result]:
    results = []
    for team in d.teams:
        alarms = [a for p in team.projects for e in p.endpoints for a in e.alarms]
        if not alarms:
            continue
        alarm = alarms[0]
        check = f"{alarm.name} ({team.name}) fires and recovers"
        try:
            before = cloudwatch.describe_alarms(AlarmNames=[alarm.name])["MetricAlarms"]
            if not before:
                results.append(Result(check, FAIL, "no such alarm"))
                continue
            previous = before[0]["StateValue"]
            cleanup.add(f"alarm {alarm.name} back to {previous}", lambda name=alarm.name, state=previous:
                        cloudwatch.set_alarm_state(AlarmName=name, StateValue=state,
                                                   StateReason=f"{run}: acceptance test over, state restored"))
            states = []
            for state in ("ALARM", "OK"):
                cloudwatch.set_alarm_state(AlarmName=alarm.name, StateValue=state,
                                           StateReason=f"{run}: acceptance test")
                states.append(cloudwatch.describe_alarms(AlarmNames=[alarm.name])["MetricAlarms"][0]["StateValue"])
            detail = f"{previous} -> {states[0]} -> {states[1]}"
            ok = states == ["ALARM", "OK"]
            if ok and queue_url:
                delivered = _delivered(sqs, queue_url, alarm.name, run)
                ok = delivered == {"ALARM", "OK"}
                detail += f"; {queue_url.rsplit('/', 1)[-1]} received {sorted(delivered) or 'nothing'}"
            elif ok:
                detail += "; delivery not read (e-mail subscribers; pass --queue-url to read an SQS subscriber)"
            results.append(Result(check, PASS if ok else FAIL, detail))
        except Exception as exc:
            results.append(Result(check, FAIL, aws_error(exc)))
    return results


def _delivered(sqs, queue_url: str, alarm_name: str, run: str, wait_seconds: int = 20) -> set[str]:
    """The states an SQS subscriber of the topic was told about for this run's test of the alarm.
    Those messages are deleted; any other is left for its reader (visible again after the
    queue's visibility timeout)."""
    states: set[str] = set()
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline and states != {"ALARM", "OK"}:
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=1).get("Messages", []):
            try:
                alarm = json.loads(json.loads(message["Body"]).get("Message", ""))
            except (ValueError, AttributeError):
                continue
            if (isinstance(alarm, dict) and alarm.get("AlarmName") == alarm_name
                    and run in str(alarm.get("NewStateReason"))):
                states.add(alarm.get("NewStateValue"))
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return states


# --- IAM: what AWS lets each execution role do ----------------------------------------------


def _iam(d: Design, iam) -> list[Result]:
    """The gate's intent tables (TFG-IAM-009), asked of the account's own simulator: every
    request the plan's jobs make allowed, every other project's refused, with the role's
    other policies, its permissions boundary and the organisation's SCPs taken into account,
    as only AWS can. A role AWS cannot simulate is a FAIL of its own; the other steps go on."""
    import botocore.exceptions

    from generator.account.simulation import reaching_others, simulate
    from policies.expected import Expected, role_intents

    results = []
    for role, table in sorted(role_intents(Expected(d.env, d.config)).items()):
        try:
            live_arn = iam.get_role(RoleName=role)["Role"]["Arn"]  # with its path, which the YAML may omit
            outcomes = simulate(iam, table, d.config.region, live_arn)
        except botocore.exceptions.ClientError as exc:
            results.append(Result(f"role {role}: the jobs' requests", FAIL,
                                  f"cannot simulate: {aws_error(exc)} (accept needs iam:GetRole and "
                                  "iam:SimulatePrincipalPolicy on the execution roles)"))
            continue
        wrong = [o for o in outcomes if not o.as_intended]
        for outcome in (o for o in wrong if o.intent.allowed or table.created):
            results.append(Result(f"role {role}: {outcome.intent.action} on {outcome.intent.resource}", FAIL,
                                  outcome.describe(role)))
        reaching = [o for o in wrong if not o.intent.allowed and not table.created]
        if reaching:
            # An existing role may hold more than tfgen gives it: said once, not a failed acceptance.
            results.append(Result(f"role {role}: other projects' requests", WARN,
                                  reaching_others(reaching, role)))
        if not wrong:
            allowed = sum(o.intent.allowed for o in outcomes)
            results.append(Result(f"role {role}: the jobs' requests", PASS,
                                  f"{allowed} allowed and {len(outcomes) - allowed} refused as the plan needs "
                                  f"(iam:SimulatePrincipalPolicy; {', '.join(table.projects)})"))
    return results

