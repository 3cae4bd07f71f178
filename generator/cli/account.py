"""The commands that read the live account (each asks STS whose the credentials are first):
outputs, verify, accept, preflight; and deployer-policy, what running terraform needs of it."""

from __future__ import annotations

import click

from generator.cli.group import cli, load


REPORT_FORMAT = click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
                             show_default=True, help="text: a table for people; json: the same results for tools.")
STATUS_COLOURS = {"PASS": "green", "WARN": "yellow", "FAIL": "red", "SKIP": "cyan"}


def _show(ctx: click.Context, report, output_format: str) -> None:
    """A live command's report (generator/account/report.py): the table, its statuses
    coloured on a terminal, or JSON; exit 1 on any FAIL."""
    from generator.account import report as reports

    if output_format == "json":
        click.echo(reports.as_json(report), nl=False)
    else:
        click.echo(reports.table(report, lambda status: click.style(status, fg=STATUS_COLOURS.get(status))), nl=False)
    if report.failed:
        ctx.exit(1)


@cli.command("outputs")
@click.argument("env")
@click.pass_context
def outputs_command(ctx: click.Context, env: str) -> None:
    """Write out/ENV/security-groups.env from the applied platform root's outputs.

    Asks STS whose the credentials are first: another account's are refused (exit 1),
    naming both accounts, and nothing is read or written (the file holds one account's IDs,
    and a state bucket is read with these credentials).
    """
    from generator.account import outputs as outputs_module
    from generator.design.builder import design

    loaded = load(ctx.obj.config_dir, env)
    path = outputs_module.write_security_groups_env(design(loaded), ctx.obj.out_dir / env)
    click.echo(path.read_text(), nl=False)
    click.echo(f"Wrote {path}")


@cli.command("verify")
@click.argument("env")
@REPORT_FORMAT
@click.pass_context
def verify_command(ctx: click.Context, env: str, output_format: str) -> None:
    """Check that what exists in the AWS account is what the YAML says.

    Reads the account with boto3 (normal AWS credentials; AWS_ENDPOINT_URL for the
    emulator), not Terraform state, in the environment's region. One line per resource:
    PASS, or FAIL with "missing" or "different: expected ..., found ...". Exit 1 on any
    FAIL. Asks STS whose the credentials are before anything else: another account's are
    refused (exit 1), naming both accounts, and nothing more is asked of it.
    """
    from generator.account import verify
    from generator.design.builder import design

    _show(ctx, verify.verify(design(load(ctx.obj.config_dir, env))), output_format)


@cli.command("accept")
@click.argument("env")
@click.option("--allow-protected", is_flag=True,
              help="Run in a protected environment (test images and model versions go into its repositories "
                   "and groups, and are deleted again).")
@click.option("--queue-url", help="An SQS queue subscribed to the alarm topic: read it to prove the alarm's "
                                  "messages arrived (only this run's are consumed).")
@click.option("--jobs", "run_jobs", is_flag=True, help="Also a processing and a training job per project (costly).")
@click.option("--project", metavar="TEAM/PROJECT", help="With --jobs: this project's jobs only.")
@click.option("--bucket", help="With --jobs: the bucket the jobs write to (default: the project's first data_buckets).")
@click.option("--jobs-timeout", type=click.IntRange(0), default=1800, help="With --jobs: seconds (1800) to stop after.")
@REPORT_FORMAT
@click.pass_context
def accept_command(ctx: click.Context, env: str, allow_protected: bool, queue_url: str | None, run_jobs: bool,
                   project: str | None, bucket: str | None, jobs_timeout: int, output_format: str) -> None:
    """Run the plan's acceptance steps against the account, after an apply.

    The security group IDs file against the account; a test image pushed to every project
    repository through the ECR API (no docker), read back and deleted; a test model version
    registered in every model package group (status Rejected), described and deleted; one
    alarm of each team set to ALARM and back to OK; every execution role asked of AWS's IAM
    simulator, request by request, whether it allows what its jobs do and refuses other
    projects' (WARN where an existing role's own policies reach further). Everything it
    creates is named tfgen-accept-RUN and removed at the end, even after a failure. One
    line per step, PASS / WARN / FAIL / SKIP (SKIP: nothing to try, as with ECR off). Exit 1
    on any FAIL. Asks STS whose the credentials are before anything else: another account's
    are refused (exit 1), naming both accounts, and nothing is asked of it or created.
    With --jobs, a processing job (1 x ml.m5.large) and a training job (2 x) per project in VPC mode: their
    cost first, a progress line while they run (stderr), each job's status in the table (docs/real-account.md).
    """
    from generator.account import accept
    from generator.account.jobs import JobsRequest, Progress
    from generator.design.builder import design

    if not run_jobs and (project or bucket or ctx.get_parameter_source("jobs_timeout").name != "DEFAULT"):
        raise click.UsageError("--project, --bucket and --jobs-timeout go with --jobs")
    jobs = JobsRequest(project, bucket, jobs_timeout, Progress.on_stderr()) if run_jobs else None
    the_design = design(load(ctx.obj.config_dir, env))
    _show(ctx, accept.accept(the_design, ctx.obj.out_dir / env, allow_protected, queue_url, jobs=jobs), output_format)


@cli.command("preflight")
@click.argument("env")
@REPORT_FORMAT
@click.pass_context
def preflight_command(ctx: click.Context, env: str, output_format: str) -> None:
    """Check the live account before the first apply: the plan's "before" checklist.

    Read-only (Describe/Get/List and iam:SimulatePrincipalPolicy with boto3; AWS_ENDPOINT_URL for the
    emulator). Checks the VPC (CIDR, DNS support and hostnames), the private subnets (in the VPC,
    two or more zones, each in the zone the YAML says) and their route tables, each interface endpoint's
    zones (offered for its service: DescribeVpcEndpointServices), the execution roles (exist, trust SageMaker, have room for
    tfgen's inline policies beside their own: 10,240 characters in all; with tfgen's policies,
    allow what their jobs do, as AWS's simulator judges it), and finds
    what exists already and would make apply fail: security groups, VPC endpoints,
    repositories, model package groups, log groups. One line per check, PASS / WARN / FAIL,
    with the fix: the YAML switch that adopts it, or what to change in AWS. Exit 1 on any FAIL.
    Asks STS whose the credentials are before anything else: another account's are refused
    (exit 1), naming both accounts, and nothing more is asked of it.
    """
    from generator.account import preflight
    from generator.design.builder import design

    _show(ctx, preflight.preflight(design(load(ctx.obj.config_dir, env))), output_format)


@cli.command("deployer-policy")
@click.argument("env")
@click.option("--root", help="One root (platform, teams/TEAM): print its policy document alone.")
@click.option("--format", "output_format", type=click.Choice(["json", "text"]), default="json", show_default=True,
              help="json to paste into IAM; text to review.")
@click.pass_context
def deployer_policy_command(ctx: click.Context, env: str, root: str | None, output_format: str) -> None:
    """Print the least-privilege IAM policy for whoever runs terraform in each root.

    Covers plan, apply and destroy: the calls the aws provider 5.100.0 makes to read,
    create, update, delete and tag each resource type the root renders, the dependent
    actions AWS's IAM catalogue lists for them (ec2:CreateTags, sagemaker:AddTags...), and
    the state bucket's key and lock file. Each action is scoped to the names tfgen renders
    where AWS allows it a resource, and on * only where it has none.

    With --root, the policy document alone, ready to paste into IAM (or pass to `aws iam
    create-policy --policy-document file://...`); without, a JSON object of every root's
    document keyed by root (`jq '.platform'`). A policy over IAM's 6,144 characters for a
    managed policy is still printed, with a warning: attach it inline to a role (10,240) instead.
    """
    from generator.account import deployer_policy
    from generator.design.builder import design

    the_design = design(load(ctx.obj.config_dir, env))
    names = deployer_policy.roots(the_design)
    if root is not None and root not in names:
        raise click.BadParameter(f"{env} renders no root {root!r}; its roots: {', '.join(names)}",
                                 param_hint="--root")
    documents = deployer_policy.policies(the_design, root)
    click.echo(deployer_policy.as_json(documents, root) if output_format == "json"
               else deployer_policy.as_text(documents), nl=False)
    for name in deployer_policy.oversized(documents):
        click.echo(f"Warning: the {name} policy is over the {deployer_policy.MANAGED_POLICY_MAX:,} characters of "
                   "an IAM managed policy: attach it inline to the role that applies (10,240 characters)", err=True)
