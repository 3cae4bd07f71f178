"""The commands on the YAML and the files: render, list, check, diff, schema, affected, atlantis."""

from __future__ import annotations

from pathlib import Path

import click

from generator.cli.group import cli, count, environment_names, environments, load, without_cyclic_gc


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
    from generator.render.writer import differences, write_all

    names = environments(ctx, env, all_envs)
    # Render every environment before writing any: one bad file stops them all.
    results = [render_loaded(load(ctx.obj.config_dir, name)) for name in names]
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
    reports = write_all([(r, ctx.obj.out_dir / r.env) for r in results], force=force)
    for rendered, report in zip(results, reports):
        out_env = ctx.obj.out_dir / rendered.env
        if report.recovered:
            click.echo(f"{rendered.env}: {report.recovered} the render interrupted in {out_env}")
        roots = rendered.roots()
        click.echo(f"{rendered.env}: {len(roots)} roots, {len(rendered.files)} files "
                   f"({len(report.written)} written, {len(report.unchanged)} unchanged, "
                   f"{len(report.removed)} removed) in {out_env}")


@cli.command("list")
@click.argument("env", required=False)
@click.pass_context
def list_command(ctx: click.Context, env: str | None) -> None:
    """Show the environments (or ENV alone), their teams and projects, and what each renders.

    With each environment, an estimate of its fixed monthly cost: its interface VPC endpoints,
    which AWS bills per endpoint per availability zone per hour, at the region's rate
    (generator/config/aws_prices.py, from AWS PrivateLink's pricing page) over 730 hours. Data
    processed through them is billed on top and not counted; the S3 gateway endpoint is free.
    """
    from generator.design.builder import design
    from generator.design.costs import interface_endpoint_cost

    config_dir = ctx.obj.config_dir
    for name in [env] if env else environment_names(config_dir):
        d = design(load(config_dir, name))
        cfg, p = d.config, d.platform
        flags = ", ".join(f for f, on in (("protected", cfg.protected), ("ecr", cfg.ecr.enabled),
                                           ("alarms", cfg.alarms.enabled)) if on) or "-"
        click.echo(f"{name}  account {cfg.account_id}  {cfg.region}  [{flags}]")
        parts = [f"{len(p.security_groups)} security groups",
                 f"{len(p.vpc_endpoints)} VPC endpoints",
                 f"{len(p.shared_repositories)} shared repositories",
                 f"{len(p.log_groups)} log groups"]
        if p.alarm_topic:
            parts.append(f"an alarm topic with {count(len(p.alarm_subscriptions), 'e-mail')}, "
                         f"{count(len(p.event_rules), 'event rule')}")
        click.echo(f"  platform: {', '.join(parts)}")
        click.echo(f"  {_endpoint_cost(interface_endpoint_cost(d))}")
        for team in d.teams:
            click.echo(f"  teams/{team.name}:" + (" emptied, no project left to manage" if team.emptied else ""))
            for project in team.projects:
                alarms = sum(len(e.alarms) for e in project.endpoints)
                role = "1 execution role (created)" if project.create_role else f"a policy on role {project.role_name}"
                click.echo(f"    {project.name}: {count(len(project.repositories), 'repository', 'repositories')}, "
                           f"1 model package group, {role}, {count(len(project.endpoints), 'endpoint')}, "
                           f"{count(alarms, 'alarm')}")
            for project in team.retired:
                click.echo(f"    {project.name}: retired; its {len(project.retained)} resources are kept, unmanaged")


def _endpoint_cost(cost) -> str:
    low, high = cost.zones[0], cost.zones[-1]
    zones = f"{low} zone{'' if low == 1 else 's'}" if low == high else f"{low} to {high} zones"
    what = f"interface endpoints: {cost.endpoints} in {zones}, {count(cost.endpoint_zones, 'endpoint-AZ')}"
    if cost.monthly is None:
        return (f"{what}; no hourly rate is known for {cost.region} (generator/config/aws_prices.py), "
                "so no estimate")
    return (f"{what} x ${cost.hourly:g} an hour x {cost.hours} hours = ${cost.monthly:,.2f} a month (an estimate: "
            "data processing not included; the S3 gateway endpoint is free)")


@cli.command("check")
@click.argument("env", required=False)
@click.option("--all", "all_envs", is_flag=True, help="Check every environment, in turn (text format only).")
@click.option("--plan", "plans", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A plan of one root (terraform show -json); checked instead of that root's HCL. Repeatable.")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "junit", "sarif"]), default="text",
              show_default=True, help="text for people; json, junit and sarif for CI systems.")
@click.option("--report", "reports", multiple=True, metavar="FORMAT=PATH",
              help="Also write the report in FORMAT (json, junit, sarif, text) to PATH, from the same run. Repeatable.")
@click.option("--no-checkov", is_flag=True, help="Run tfgen's own policies only.")
@click.pass_context
def check_command(ctx: click.Context, env: str | None, all_envs: bool, plans: tuple[Path, ...], output_format: str,
                  reports: tuple[str, ...], no_checkov: bool) -> None:
    """Prove out/ENV keeps the platform's rules, before terraform apply.

    Runs the policy pack (rules TFG-*, against the environment's YAML, over every file terraform
    reads: one tfgen did not write, or edited since, fails) and checkov with policies/checkov's
    checks. Each finding names its rendered file:line and the YAML file:line it was declared at.
    The YAML's `waivers:` accept a finding until a date: a waived finding is reported apart and
    does not fail; an expired waiver fails, naming its owner. SARIF holds a run per tool.
    Exit 0 clean, 1 violations. A plan must be of ENV and its account. Keeps AWS's IAM
    catalogue in $XDG_CACHE_HOME/tfgen (else ~/.cache/tfgen), only to start faster: deleting it is safe.
    """
    from policies import iam_catalogue

    names = environments(ctx, env, all_envs)
    if all_envs and (plans or output_format != "text" or reports):
        raise click.UsageError("--all checks each environment's rendered files as text: a plan, and the json, "
                               "junit and sarif reports, are of one environment (check ENV)")
    targets = [_report_target(value) for value in reports]
    failed = False
    with without_cyclic_gc(), iam_catalogue.loaded_aside():  # first: AWS's catalogue loads meanwhile
        from policies import engine, formats

        for name in names:
            report = engine.check(load(ctx.obj.config_dir, name), ctx.obj.out_dir / name, plans,
                                  run_checkov=not no_checkov)
            for report_format, path in targets:
                _write_report(path, formats.FORMATTERS[report_format](report))
            click.echo(formats.FORMATTERS[output_format](report), nl=False)
            failed = failed or report.failed
    if failed:
        ctx.exit(1)


def _report_target(value: str) -> tuple[str, Path]:
    report_format, sep, path = value.partition("=")
    if not sep or not path or report_format not in ("text", "json", "junit", "sarif"):
        raise click.BadParameter(f"{value!r}: write FORMAT=PATH, FORMAT one of text, json, junit, sarif",
                                 param_hint="--report")
    return report_format, Path(path)


def _write_report(path: Path, text: str) -> None:
    """The whole report or none: written beside its place, then renamed over it."""
    import os
    import tempfile

    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as exc:
        raise click.ClickException(f"cannot write the report {path}: {exc.strerror or exc}") from None


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

    result = diff(render_loaded(load(ctx.obj.config_dir, env)), ctx.obj.out_dir / env)
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


@cli.command("affected")
@click.option("--base", required=True, help="The git revision to compare with (a branch, tag or commit).")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def affected_command(ctx: click.Context, base: str, output_format: str) -> None:
    """List the roots (out/ENV/platform, out/ENV/teams/TEAM) whose files differ from BASE.

    One root a line, platform first in each environment, so a CI matrix plans and
    applies only those; --format json adds each root's environment and status
    (changed, an emptied team root too; added; removed).
    """
    import json

    from generator.changes.affected import affected

    roots = affected(base, ctx.obj.out_dir)
    if output_format == "json":
        click.echo(json.dumps([r.__dict__ for r in roots], indent=2))
    else:
        for r in roots:
            click.echo(r.root if r.status == "changed" else f"{r.root} ({r.status})")


@cli.command("atlantis")
@click.argument("env", required=False)
@click.option("--all", "all_envs", is_flag=True, help="Every environment's roots.")
@click.option("--check", "check_only", is_flag=True,
              help="Compare instead of printing: exit 1, saying why, when the repository's atlantis.yaml is not "
                   "what this command prints.")
@click.pass_context
def atlantis_command(ctx: click.Context, env: str | None, all_envs: bool, check_only: bool) -> None:
    """Print the repository's atlantis.yaml (version 3) for Atlantis's pull-request plans.

    A project per root render writes (ENV-platform, ENV-TEAM), each folder relative to the git
    repository's root; a team's root depends on its environment's platform project and is applied
    after it. A project plans when its files or its environment's YAML change, in a workflow that
    runs `tfgen render ENV --check`, this command with --check and `tfgen check ENV` before the
    plan, and the gate on the plan after it. Save it as atlantis.yaml at the repository's root.
    """
    from generator.changes import atlantis
    from generator.render.templates import render_loaded

    names = environments(ctx, env, all_envs)
    folders = atlantis.repository_folders(ctx.obj.config_dir, ctx.obj.out_dir)
    scope = "--all" if all_envs else env
    loaded = [load(ctx.obj.config_dir, name) for name in names]
    text = atlantis.atlantis_yaml([(one, render_loaded(one)) for one in loaded], folders, scope)
    if not check_only:
        click.echo(text, nl=False)
        return
    problems = atlantis.stale(text, folders, scope)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        ctx.exit(1)
    click.echo(f"{folders.repository / atlantis.FILE_NAME}: {click.style('up to date', fg='green')}")
