"""The tfgen command line: one click group; library errors become ClickExceptions here."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click

from generator.errors import TfgenError

# Each command imports what it needs itself: `tfgen check` in CI should not pay for jinja2,
# nor `tfgen render` for boto3.

CONFIG_DIR_HELP = "Folder of the environment YAML files."
OUT_DIR_HELP = "Folder the Terraform is written to (one subfolder per environment)."


@dataclass(frozen=True)
class Folders:
    """What every command shares: where the YAML is read and the Terraform written."""

    config_dir: Path
    out_dir: Path


def _environment_names(config_dir: Path) -> list[str]:
    from generator.config.loader import environment_names

    return environment_names(config_dir)


def _load(config_dir: Path, env: str):
    from generator.config.loader import load_environment

    return load_environment(config_dir, env)


class TfgenGroup(click.Group):
    """The one place tfgen's errors meet click: library code raises plain exceptions
    (generator/errors.py), and an uncaught TfgenError becomes click's `Error: MESSAGE` with
    the error's exit code (1; 2 for an unknown environment or revision)."""

    def make_context(self, *args, **kwargs) -> click.Context:
        with _as_click_error():  # eager options (--version) run here
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context):
        with _as_click_error():  # every command, its arguments parsed and its body run
            return super().invoke(ctx)


@contextmanager
def _as_click_error() -> Iterator[None]:
    try:
        yield
    except TfgenError as exc:
        error = click.ClickException(exc.message)
        error.exit_code = exc.exit_code
        raise error from exc


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """No cyclic garbage collection while a check imports, reads and runs its rules: what it
    builds (the models, the inventory) lives to its end, so on a large tree the collector's
    passes over it only cost time (docs/benchmarks.md, "Start-up tricks, measured": it pays
    at 1,000 projects, not at 10). Reference counting still frees everything else as it
    goes, and the collector is back on afterwards (a check run in-process, as the tests do,
    leaves the caller's collector as it found it)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@click.group(cls=TfgenGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=lambda ctx, _, value:
              _print_version(ctx) if value else None, help="Show tfgen's version and its IAM catalogue's, and exit.")
@click.option("--config-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("environments"),
              show_default=True, help=CONFIG_DIR_HELP)
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("out"),
              show_default=True, help=OUT_DIR_HELP)
@click.pass_context
def cli(ctx: click.Context, config_dir: Path, out_dir: Path) -> None:
    """Render the SageMaker workload layer of each environment from YAML into Terraform.

    Exit codes: 0 done, 1 bad configuration or failed command, 2 usage.
    """
    ctx.obj = Folders(config_dir, out_dir)


def _print_version(ctx: click.Context) -> None:
    """tfgen's version, and which copy of AWS's IAM catalogue the gate reads (it ages)."""
    from importlib.metadata import version

    from policies import iam_reference

    click.echo(f"tfgen {version('tfgen')}\nIAM catalogue: {iam_reference.source()}")
    ctx.exit()


def _environments(ctx: click.Context, env: str | None, all_envs: bool) -> list[str]:
    if all_envs and env:
        raise click.UsageError("give an environment or --all, not both")
    if all_envs:
        return _environment_names(ctx.obj.config_dir)
    if not env:
        raise click.UsageError("missing environment (or --all); environments: "
                               + ", ".join(_environment_names(ctx.obj.config_dir)))
    return [env]


@cli.command("render")
@click.argument("env", required=False)
@click.option("--all", "all_envs", is_flag=True, help="Render every environment.")
@click.option("--force", is_flag=True, help="Overwrite generated files that were edited by hand.")
@click.option("--check", "check_only", is_flag=True,
              help="Write nothing; exit 1, listing the files, when out/ENV is not what the YAML gives.")
@click.pass_context
def render_command(ctx: click.Context, env: str | None, all_envs: bool, force: bool, check_only: bool) -> None:
    """Write out/ENV: the platform root and one Terraform root per team.

    Nothing is written unless the whole environment renders. Only files tfgen generates
    are written; .terraform/, state and lock files are never touched. With --check, CI's
    guard against hand edits and forgotten renders, nothing is written at all. Keeps the
    compiled templates in $XDG_CACHE_HOME/tfgen (else ~/.cache/tfgen), only to start
    faster: deleting them is safe.
    """
    from generator.render.templates import render_loaded
    from generator.render.writer import commit, differences, plan_write

    names = _environments(ctx, env, all_envs)
    # Render every environment before writing any: one bad file stops them all.
    results = [render_loaded(_load(ctx.obj.config_dir, name)) for name in names]
    if check_only:
        stale = 0
        for rendered in results:
            out_env = ctx.obj.out_dir / rendered.env
            found = differences(rendered, out_env)
            stale += len(found)
            for path, what in found:
                click.echo(f"{click.style(what, fg='red')}: {out_env / path}")
            if not found:
                click.echo(f"{rendered.env}: {click.style('up to date', fg='green')} ({out_env})")
        if stale:
            again = "tfgen render --all" if all_envs else f"tfgen render {env}"
            click.echo(f"{stale} file{'' if stale == 1 else 's'} not as the YAML gives: run `{again}` and commit")
            ctx.exit(1)
        return
    # Every environment is checked before any is written: one refusal writes none (all or nothing).
    plans = [plan_write(rendered, ctx.obj.out_dir / rendered.env, force=force) for rendered in results]
    commit(plans)
    for rendered, plan in zip(results, plans):
        out_env, report = plan.out_env, plan.report
        roots = rendered.roots()
        click.echo(f"{rendered.env}: {len(roots)} roots, {len(rendered.files)} files "
                   f"({len(report.written)} written, {len(report.unchanged)} unchanged, "
                   f"{len(report.removed)} removed) in {out_env}")


@cli.command("list")
@click.pass_context
def list_command(ctx: click.Context) -> None:
    """Show the environments, their teams and projects, and what each renders."""
    from generator.design.builder import design

    config_dir = ctx.obj.config_dir
    for name in _environment_names(config_dir):
        d = design(_load(config_dir, name))
        cfg, p = d.config, d.platform
        flags = ", ".join(f for f, on in (("protected", cfg.protected), ("ecr", cfg.ecr.enabled),
                                           ("alarms", cfg.alarms.enabled)) if on) or "-"
        click.echo(f"{name}  account {cfg.account_id}  {cfg.region}  [{flags}]")
        parts = [f"{len(p.security_groups)} security groups",
                 f"{len(p.vpc_endpoints)} VPC endpoints",
                 f"{len(p.shared_repositories)} shared repositories",
                 f"{len(p.log_groups)} log groups"]
        if p.alarm_topic:
            parts.append(f"an alarm topic with {_count(len(p.alarm_subscriptions), 'e-mail')}, "
                         f"{_count(len(p.event_rules), 'event rule')}")
        click.echo(f"  platform: {', '.join(parts)}")
        for team in d.teams:
            click.echo(f"  teams/{team.name}:" + ("" if team.projects or team.retired else " no projects, not rendered"))
            for project in team.projects:
                alarms = sum(len(e.alarms) for e in project.endpoints)
                role = "1 execution role (created)" if project.create_role else f"a policy on role {project.role_name}"
                click.echo(f"    {project.name}: {_count(len(project.repositories), 'repository', 'repositories')}, "
                           f"1 model package group, {role}, {_count(len(project.endpoints), 'endpoint')}, "
                           f"{_count(alarms, 'alarm')}")
            for project in team.retired:
                click.echo(f"    {project.name}: retired; its {len(project.retained)} resources are kept, unmanaged")


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

    loaded = _load(ctx.obj.config_dir, env)
    path = outputs_module.write_security_groups_env(design(loaded), ctx.obj.out_dir / env)
    click.echo(path.read_text(), nl=False)
    click.echo(f"Wrote {path}")


@cli.command("check")
@click.argument("env")
@click.option("--plan", "plans", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A plan of one root (terraform show -json); checked instead of that root's HCL. Repeatable.")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "junit", "sarif"]), default="text",
              show_default=True, help="text for people; json, junit and sarif for CI systems.")
@click.option("--no-checkov", is_flag=True, help="Run tfgen's own policies only.")
@click.pass_context
def check_command(ctx: click.Context, env: str, plans: tuple[Path, ...], output_format: str, no_checkov: bool) -> None:
    """Prove out/ENV keeps the platform's rules, before terraform apply.

    Runs the policy pack (rules TFG-*, checked against the environment's YAML) and
    checkov with the custom checks in policies/checkov. Exit 0 clean, 1 violations.
    Keeps a copy of AWS's IAM catalogue in $XDG_CACHE_HOME/tfgen (else ~/.cache/tfgen),
    only to start faster: deleting it is safe.
    """
    from policies import iam_catalogue

    with _without_cyclic_gc(), iam_catalogue.loaded_aside():  # first: AWS's catalogue loads meanwhile
        from policies import engine

        report = engine.check(_load(ctx.obj.config_dir, env), ctx.obj.out_dir / env, plans,
                              run_checkov=not no_checkov)
    click.echo(engine.FORMATTERS[output_format](report), nl=False)
    if report.failed:
        ctx.exit(1)


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

    _show(ctx, verify.verify(design(_load(ctx.obj.config_dir, env))), output_format)


@cli.command("accept")
@click.argument("env")
@click.option("--allow-protected", is_flag=True,
              help="Run in a protected environment (test images and model versions go into its repositories "
                   "and groups, and are deleted again).")
@click.option("--queue-url", help="An SQS queue subscribed to the alarm topic: read it to prove the alarm's "
                                  "messages arrived (only this run's are consumed).")
@REPORT_FORMAT
@click.pass_context
def accept_command(ctx: click.Context, env: str, allow_protected: bool, queue_url: str | None,
                   output_format: str) -> None:
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
    """
    from generator.account import accept
    from generator.design.builder import design

    the_design = design(_load(ctx.obj.config_dir, env))
    _show(ctx, accept.accept(the_design, ctx.obj.out_dir / env, allow_protected, queue_url), output_format)


@cli.command("preflight")
@click.argument("env")
@REPORT_FORMAT
@click.pass_context
def preflight_command(ctx: click.Context, env: str, output_format: str) -> None:
    """Check the live account before the first apply: the plan's "before" checklist.

    Read-only (Describe/Get/List and iam:SimulatePrincipalPolicy with boto3; AWS_ENDPOINT_URL for the
    emulator). Checks the
    VPC (CIDR, DNS support and hostnames), the private subnets (in the VPC, two or more
    zones) and their route tables, the execution roles (exist, trust SageMaker, have room for
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

    _show(ctx, preflight.preflight(design(_load(ctx.obj.config_dir, env))), output_format)


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

    the_design = design(_load(ctx.obj.config_dir, env))
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


@cli.command("affected")
@click.option("--base", required=True, help="The git revision to compare with (a branch, tag or commit).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def affected_command(ctx: click.Context, base: str, output_format: str) -> None:
    """List the roots (out/ENV/platform, out/ENV/teams/TEAM) whose files differ from BASE.

    One root a line, platform first in each environment, so a CI matrix plans and
    applies only those; --format json adds each root's environment and status
    (changed, added, removed).
    """
    import json

    from generator.changes.affected import affected

    roots = affected(base, ctx.obj.out_dir)
    if output_format == "json":
        click.echo(json.dumps([r.__dict__ for r in roots], indent=2))
    else:
        for r in roots:
            click.echo(r.root if r.status == "changed" else f"{r.root} ({r.status})")


@cli.command("diff")
@click.argument("env")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--summary-only", is_flag=True, help="The platform's terms only, without the Terraform diff.")
@click.pass_context
def diff_command(ctx: click.Context, env: str, output_format: str, summary_only: bool) -> None:
    """Show what `tfgen render ENV` would change: in the platform's terms, then as Terraform.

    Writes nothing. Exit 0 whether or not anything would change.
    """
    import json

    from generator.changes.diff import diff
    from generator.render.templates import render_loaded

    result = diff(render_loaded(_load(ctx.obj.config_dir, env)), ctx.obj.out_dir / env)
    if output_format == "json":
        click.echo(json.dumps({"environment": env, "summary": result.summary, "files": result.files}, indent=2))
        return
    colours = {"+": "green", "-": "red", "~": "yellow"}
    for line in result.summary:
        click.echo(click.style(line, fg=colours.get(line[:1])))
    if not result.summary and not result.files:
        click.echo(f"{env}: no changes")
    if not summary_only and result.terraform:
        click.echo("")
        for line in result.terraform.splitlines():
            click.echo(click.style(line, fg=colours.get(line[:1]) if not line.startswith(("+++", "---")) else None))


@cli.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the environment YAML (for editors: yaml-language-server)."""
    from generator.config.schema import schema_text

    click.echo(schema_text(), nl=False)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def main() -> None:
    _no_pydantic_plugins()
    try:
        cli(prog_name="tfgen")
    finally:
        # Python's full collection at exit walks every object still alive, unless frozen; the
        # process is ending (what it saves: docs/benchmarks.md, "Start-up tricks, measured").
        gc.freeze()


PYDANTIC_PLUGIN_LOADER = "pydantic.plugin._loader"


def _no_pydantic_plugins() -> None:
    """The tfgen command runs its models without pydantic plugins (what pydantic's own
    PYDANTIC_DISABLE_PLUGINS=__all__ asks), but pydantic's plugin loader imports
    importlib.metadata to look for them even so, on the path a small `tfgen check` waits on
    (docs/benchmarks.md, "Start-up tricks, measured"). A stand-in loader answers that there
    are none. Any other name pydantic asks of it (its plugin API is experimental, and may
    change in a minor release) comes from the real loader: a change there costs the time
    again, never the command. Only the command's own process: a program that imports tfgen
    keeps its plugins."""
    import importlib
    import sys
    import types

    stand_in = types.ModuleType(PYDANTIC_PLUGIN_LOADER)
    stand_in.get_plugins = lambda: ()

    def real_loader(name: str) -> object:
        if name.startswith("__"):  # the import system asks a module for __path__ and the like
            raise AttributeError(name)
        if sys.modules.get(PYDANTIC_PLUGIN_LOADER) is stand_in:
            del sys.modules[PYDANTIC_PLUGIN_LOADER]
        return getattr(importlib.import_module(PYDANTIC_PLUGIN_LOADER), name)

    stand_in.__getattr__ = real_loader
    sys.modules.setdefault(PYDANTIC_PLUGIN_LOADER, stand_in)
