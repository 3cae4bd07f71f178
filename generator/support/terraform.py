"""Running terraform the way tfgen's tooling needs it: offline, with a CLI config we own.

The machine's TF_CLI_CONFIG_FILE may name a file that does not exist, and there is no
network to the registry; the aws provider lies in a filesystem mirror. We write a CLI
config that installs hashicorp/aws from that mirror and point terraform at it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from generator.errors import TfgenError

MIRROR_ENV = "TFGEN_PROVIDER_MIRROR"
_MIRROR_CANDIDATES = ("/opt/tf-plugins", "~/.terraform.d/plugins", "/usr/local/share/terraform/plugins",
                      "/usr/share/terraform/plugins")
CLI_CONFIG = """\
# Written by tfgen: install hashicorp/aws from the local mirror, never from the network.
provider_installation {{
  filesystem_mirror {{
    path    = "{mirror}"
    include = ["registry.terraform.io/hashicorp/aws"]
  }}
  direct {{
    exclude = ["registry.terraform.io/hashicorp/aws"]
  }}
}}
"""


def terraform_binary() -> str:
    found = shutil.which("terraform")
    if not found:
        raise TfgenError("terraform is not on the PATH (tfgen needs terraform >= 1.10)")
    return found


def provider_mirror() -> Path | None:
    """The folder holding registry.terraform.io/hashicorp/aws, or None to use the registry."""
    if os.environ.get(MIRROR_ENV):
        path = Path(os.environ[MIRROR_ENV]).expanduser()
        if not (path / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
            raise TfgenError(f"{MIRROR_ENV}={path} holds no registry.terraform.io/hashicorp/aws")
        return path
    for candidate in _MIRROR_CANDIDATES:
        path = Path(candidate).expanduser()
        if (path / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
            return path
    return None


def cli_config(state_dir: Path) -> Path:
    """Write (once) and return the CLI config file; with no mirror, terraform's defaults apply."""
    mirror = provider_mirror()
    state_dir = state_dir.resolve()  # terraform runs in each root's folder
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "terraform.rc"
    text = CLI_CONFIG.format(mirror=mirror) if mirror else "# Written by tfgen: no local mirror found.\n"
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
    return path


def environment(state_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["TF_CLI_CONFIG_FILE"] = str(cli_config(state_dir))
    env["TF_IN_AUTOMATION"] = "1"
    env["CHECKPOINT_DISABLE"] = "1"
    env.update(extra or {})
    return env


def run(args: list[str], cwd: Path, state_dir: Path, extra_env: dict[str, str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess:
    completed = subprocess.run([terraform_binary(), *args], cwd=cwd, env=environment(state_dir, extra_env),
                               capture_output=True, text=True)
    if check and completed.returncode != 0:
        raise TfgenError(f"terraform {' '.join(args)} failed in {cwd}: {_first_error(completed.stderr)}")
    return completed


def outputs(root: Path, state_dir: Path) -> dict[str, object]:
    completed = run(["output", "-no-color", "-json"], cwd=root, state_dir=state_dir)
    return {name: value["value"] for name, value in json.loads(completed.stdout or "{}").items()}


def _first_error(stderr: str) -> str:
    """terraform's own summary line (`Error: ...`), without the box drawing around it."""
    for line in stderr.splitlines():
        text = line.strip("│╷╵ ").strip()
        if text.startswith("Error: "):
            return text[len("Error: "):]
    return stderr.strip() or "no message"
