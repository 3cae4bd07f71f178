"""The tfgen click group, and what its commands share: the folders, loading an environment,
library errors turned into ClickExceptions, and the process's start-up (main)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click

from generator.errors import TfgenError

# Each command (workspace.py, account.py) imports what it needs itself: `tfgen check` in CI should not pay for jinja2,
# nor `tfgen render` for boto3.

CONFIG_DIR_HELP = "Folder of the environment YAML files."
OUT_DIR_HELP = "Folder the Terraform is written to (one subfolder per environment)."


@dataclass(frozen=True)
class Folders:
    """What every command shares: where the YAML is read and the Terraform written."""

    config_dir: Path
    out_dir: Path


def environment_names(config_dir: Path) -> list[str]:
    from generator.config.loader import environment_names

    return environment_names(config_dir)


def load(config_dir: Path, env: str):
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
def without_cyclic_gc() -> Iterator[None]:
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


def environments(ctx: click.Context, env: str | None, all_envs: bool) -> list[str]:
    if all_envs and env:
        raise click.UsageError("give an environment or --all, not both")
    if all_envs:
        return environment_names(ctx.obj.config_dir)
    if not env:
        raise click.UsageError("missing environment (or --all); environments: "
                               + ", ".join(environment_names(ctx.obj.config_dir)))
    return [env]


def count(n: int, one: str, many: str | None = None) -> str:
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
