"""`make demo`: the whole lifecycle against the AWS emulator, with no AWS account.

Starts moto server, creates the network and the execution roles the plan takes as given,
runs the preflight, renders the sandbox environment, applies every root (platform first),
verifies the account against the YAML, writes and prints security-groups.env, prints what
was created, runs the plan's acceptance steps (tfgen accept, with an SQS queue subscribed to
the alarm topic so that delivery can be read, and --jobs: a processing and a training job) and
stops the emulator.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from generator.cli import cli
from sandbox import emulator as emulator_module
from sandbox import lifecycle

WORKDIR = Path(".tfgen/demo")


def say(message: str) -> None:
    print(message, flush=True)


def main() -> int:
    started = time.monotonic()
    if WORKDIR.exists():
        shutil.rmtree(WORKDIR)  # the emulator starts empty, so must its state
    WORKDIR.mkdir(parents=True)
    say("Starting the AWS emulator (moto server) on a loopback port...")
    with emulator_module.start() as emulator:
        os.environ.update(emulator.env())
        say(f"  {emulator.url}; account {emulator_module.ACCOUNT}")
        sb = lifecycle.prepare(emulator, WORKDIR)
        say("Created what the plan takes as given: a VPC, two private subnets, the route table, the execution roles")
        runner = CliRunner()
        args = ["--config-dir", str(sb.config_dir), "--out-dir", str(sb.out_env.parent)]
        say("tfgen preflight sandbox")
        checked = runner.invoke(cli, [*args, "preflight", "sandbox"])
        say(checked.output.rstrip())
        if checked.exit_code != 0:
            return 1
        rendered = lifecycle.render_sandbox(sb)
        say(f"Rendered {len(rendered.files)} files into {sb.out_env}")
        for root in sb.roots():
            t0 = time.monotonic()
            say(f"terraform init + apply {root} ...")
            lifecycle.init(sb, root)
            lifecycle.apply(sb, root)
            state = json.loads((sb.out_env / root / "terraform.tfstate").read_text())
            say(f"  {len(state['resources'])} resources in {time.monotonic() - t0:.0f} s")
        say("tfgen verify sandbox")
        verified = runner.invoke(cli, [*args, "verify", "sandbox"])
        say(verified.output.rstrip())
        say("tfgen outputs sandbox")
        outputs = runner.invoke(cli, [*args, "outputs", "sandbox"])
        say(outputs.output.rstrip())
        counts: Counter[str] = Counter()
        for root in sb.roots():
            state = json.loads((sb.out_env / root / "terraform.tfstate").read_text())
            counts.update(r["type"] for r in state["resources"] if r["mode"] == "managed")
        say("Created:")
        for kind, count in sorted(counts.items()):
            say(f"  {count:3}  {kind}")
        queue = lifecycle.subscribe_alarm_reader(sb).queue_url
        say("tfgen accept sandbox --allow-protected --queue-url ... --jobs (an SQS queue subscribed to the alarm "
            "topic; the job tests, whose jobs the emulator runs on this machine: docs/sandbox.md)")
        accepted = runner.invoke(cli, [*args, "accept", "sandbox", "--allow-protected", "--queue-url", queue, "--jobs"])
        say(accepted.output.rstrip())
        say(f"Done in {time.monotonic() - started:.0f} s; stopping the emulator (its account is gone with it).")
        return 0 if verified.exit_code == outputs.exit_code == accepted.exit_code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
