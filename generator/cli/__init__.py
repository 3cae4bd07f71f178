"""The tfgen command line, the only code that knows click: the group and its helpers
(group.py), the commands on the YAML and the rendered files (workspace.py), and those that
read the live account (account.py), and the terraform CLI config for users (terraform_rc.py)."""

from generator.cli import account, terraform_rc, workspace  # noqa: F401  (each registers its commands on the group)
from generator.cli.group import cli, main

__all__ = ["cli", "main"]
