"""tfgen terraform-rc: the terraform CLI config that lets `terraform init` work offline, for users
(the tooling's own runs write the same file: generator/support/terraform.py)."""

from __future__ import annotations

from pathlib import Path

import click

from generator.cli.group import cli
from generator.support import terraform


@cli.command("terraform-rc")
@click.option("--write", "write_to", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the config to this file (make render: .tfgen/terraform.rc) instead of printing it.")
def terraform_rc_command(write_to: Path | None) -> None:
    """The terraform CLI config that installs hashicorp/aws from the local provider mirror.

    The mirror is the folder holding registry.terraform.io/hashicorp/aws: the one
    TFGEN_PROVIDER_MIRROR names, else the first of /opt/tf-plugins, ~/.terraform.d/plugins,
    /usr/local/share/terraform/plugins and /usr/share/terraform/plugins that has it. Then
    `export TF_CLI_CONFIG_FILE=PATH` (while set, terraform reads it instead of ~/.terraformrc)
    and `terraform init` in each root works offline.

    With no mirror, nothing is printed or written (a file tfgen wrote at PATH before is removed):
    terraform's defaults apply, and `terraform init` installs the provider from the registry.
    A file at PATH that tfgen did not write is never replaced. `make render` and
    `make render-all` run `tfgen terraform-rc --write .tfgen/terraform.rc`.
    """
    if write_to is None:
        mirror = terraform.provider_mirror()
        if mirror is None:
            click.echo(_no_mirror("nothing printed"), err=True)
        else:
            click.echo(terraform.config_text(mirror), nl=False)
        return
    mirror, done = terraform.user_config(write_to)
    if mirror is None:
        removed = f"removed {write_to}, which named a mirror no longer found; " if done == "removed" else ""
        click.echo(_no_mirror(f"{removed}nothing written") + " (leave TF_CLI_CONFIG_FILE unset)")
        return
    click.echo(f"{'wrote ' + str(write_to) if done == 'written' else str(write_to) + ' is up to date'}: terraform "
               f"installs hashicorp/aws from the local mirror {mirror.expanduser().resolve()}; before terraform init: "
               f"export TF_CLI_CONFIG_FILE={write_to.resolve()}")


def _no_mirror(what: str) -> str:
    looked = f"{terraform.MIRROR_ENV} is not set, and none of {', '.join(terraform.MIRROR_CANDIDATES)} holds it"
    return (f"no local mirror of hashicorp/aws ({looked}): {what}; terraform init installs the provider from "
            "the registry, as terraform does by default")
