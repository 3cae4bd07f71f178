"""The script the test jobs of `tfgen accept --jobs` run, inside AWS's scikit-learn image.

It is uploaded to the project's data bucket and run by SageMaker: by the processing job as
its container entrypoint (`python3 /opt/ml/processing/input/code/tfgen_accept_job.py ARGS`),
by every instance of the training job as its `sagemaker_program` (AWS's training toolkit
passes the hyperparameters as `--name value`, and the hosts as SM_HOSTS and SM_CURRENT_HOST).
On each instance it:

  1. asks STS whose credentials the job has (GetCallerIdentity, at STS's regional endpoint:
     the only one the VPC's STS interface endpoint serves; boto3 before 1.40, as in AWS's
     images, goes to the global one, which a private subnet cannot reach);
  2. on a training job of several instances, meets every other instance over TCP on --port:
     it listens, connects to each peer, and waits to be reached by each (the training group's
     self rules are what let this through);
  3. writes what it found as JSON to s3://BUCKET/KEYHOST.json (through the VPC's S3 gateway),
     and into the job's output folder (SageMaker uploads it: the processing output, the model).

Any failure ends the script with exit 1 and a one-line reason on stderr and in
/opt/ml/output/failure (a training job's FailureReason) and /opt/ml/output/message.
Python 3.7 or newer, boto3 only: what AWS's image holds. Nothing here imports tfgen.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time

MEET_SECONDS = 300  # how long an instance waits for its peers (they start within a minute or two)


def hosts() -> tuple[str, list[str]]:
    """This instance's name and every instance's, in order (algo-1, algo-2, ...)."""
    if os.environ.get("SM_HOSTS"):  # a training job: AWS's training toolkit sets both
        return os.environ.get("SM_CURRENT_HOST", "algo-1"), json.loads(os.environ["SM_HOSTS"])
    try:  # a processing job: SageMaker writes its cluster here
        with open("/opt/ml/config/resourceconfig.json") as config:
            resources = json.load(config)
        return resources["current_host"], list(resources["hosts"])
    except (OSError, ValueError, KeyError):
        return "algo-1", ["algo-1"]


def meet(me: str, everyone: list[str], port: int, seconds: float = MEET_SECONDS) -> list[str]:
    """Reach every other instance on tcp/port and be reached by each; the peers reached, sorted."""
    others = [host for host in everyone if host != me]
    heard: set[str] = set()
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Every interface; the sandbox, whose instances share one machine, gives each an address of its own.
    server.bind((os.environ.get("TFGEN_LISTEN_ADDRESS", ""), port))
    server.listen(8)
    server.settimeout(1.0)
    deadline = time.monotonic() + seconds

    def listen() -> None:
        while time.monotonic() < deadline and set(others) - heard:
            try:
                connection, _ = server.accept()
            except socket.timeout:
                continue
            try:
                with connection:
                    connection.settimeout(10)
                    name = connection.recv(256).decode().strip()
                    connection.sendall((me + "\n").encode())
            except OSError:
                continue  # a peer that went away mid-greeting tries again
            if name in others:
                heard.add(name)

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    reached = []
    for peer in others:
        while True:
            try:
                with socket.create_connection((peer, port), timeout=5) as connection:
                    connection.sendall((me + "\n").encode())
                    if connection.recv(256).decode().strip() == peer:
                        reached.append(peer)
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{me} could not reach {peer} on tcp/{port} within {seconds:.0f} s")
            time.sleep(1)
    listener.join(max(0.0, deadline - time.monotonic()))
    server.close()
    if set(others) - heard:
        missing = ", ".join(sorted(set(others) - heard))
        raise SystemExit(f"{me} was not reached by {missing} on tcp/{port} within {seconds:.0f} s")
    return sorted(reached)


def run(args: argparse.Namespace) -> dict:
    import boto3

    me, everyone = hosts()
    # The regional endpoint, which the VPC's STS interface endpoint answers for (see above).
    os.environ.setdefault("AWS_STS_REGIONAL_ENDPOINTS", "regional")
    caller = boto3.client("sts", region_name=args.region).get_caller_identity()["Arn"]
    peers = meet(me, everyone, args.port) if len(everyone) > 1 else []
    found = {"host": me, "hosts": everyone, "caller": caller, "peers": peers, "job": args.job,
             "python": sys.version.split()[0], "boto3": boto3.__version__}
    body = json.dumps(found, sort_keys=True)
    boto3.client("s3", region_name=args.region).put_object(Bucket=args.bucket, Key=f"{args.key}{me}.json",
                                                           Body=body.encode())
    if args.output:
        os.makedirs(args.output, exist_ok=True)
        with open(os.path.join(args.output, f"{me}.json"), "w") as out:
            out.write(body)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="tfgen accept --jobs: the job test's script")
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--key", required=True, help="the key prefix of what each instance writes")
    parser.add_argument("--region", required=True)
    parser.add_argument("--job", default="")
    parser.add_argument("--port", type=int, default=29401)
    parser.add_argument("--output", default=os.environ.get("SM_MODEL_DIR", ""),
                        help="a folder SageMaker uploads after the job")
    args, _ = parser.parse_known_args(argv)
    try:
        found = run(args)
    except (Exception, SystemExit) as exc:  # one line for the job's FailureReason
        reason = f"tfgen accept job failed: {type(exc).__name__}: {exc}"[:1000]
        print(reason, file=sys.stderr, flush=True)
        if os.path.isdir("/opt/ml/output"):
            for name in ("failure", "message"):
                with open(os.path.join("/opt/ml/output", name), "w") as out:
                    out.write(reason)
        return 1
    print(f"tfgen accept job: {json.dumps(found, sort_keys=True)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
