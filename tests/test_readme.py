"""The README's examples are the tool's real behaviour: they are run here, so they cannot drift."""

from __future__ import annotations

import re
import shutil

from click.testing import CliRunner

from generator.cli import cli
from tests.conftest import ENVIRONMENTS, REPO

README = (REPO / "README.md").read_text()


def test_the_sample_error_is_what_tfgen_prints(tmp_path, monkeypatch):
    sample = next(line for line in README.splitlines() if line.startswith("Error: environments/prod.yaml:"))
    shutil.copytree(ENVIRONMENTS, tmp_path / "environments")
    prod = tmp_path / "environments" / "prod.yaml"
    prod.write_text(prod.read_text().replace("image_retention: 30", "image_retension: 30"))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["render", "prod"])
    assert result.exit_code == 1
    shown, elided = sample.split("(allowed: ...)")
    assert result.output.startswith(shown + "(allowed: ") and not elided


def test_the_cli_block_lists_every_command_and_option_there_is():
    block = README.split("## CLI", 1)[1].split("```", 2)[1]
    documented = set(re.findall(r"^  ([a-z-]+) ", block, re.MULTILINE))
    assert documented == set(cli.commands)
    for name, command in cli.commands.items():
        options = {opt for param in command.params for opt in param.opts if opt.startswith("--")}
        line = block.split(f"\n  {name} ", 1)[1].split("\n  ", 1)[0]
        assert options <= set(re.findall(r"--[a-z-]+", line)), (name, options)
