"""Running terraform the way tfgen's tooling needs it: offline, with a CLI config we own.

The machine's TF_CLI_CONFIG_FILE may name a file that does not exist, and there is no
network to the registry; the aws provider lies in a filesystem mirror. We write a CLI
config that installs hashicorp/aws from that mirror and point terraform at it. Users get
the same file from `tfgen terraform-rc --write PATH` (`make render` writes
.tfgen/terraform.rc): `user_config` below.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from generator.errors import TfgenError

MIRROR_ENV = "TFGEN_PROVIDER_MIRROR"
# Where provider_mirror looks when TFGEN_PROVIDER_MIRROR is not set, in order.
MIRROR_CANDIDATES = ("/opt/tf-plugins", "~/.terraform.d/plugins", "/usr/local/share/terraform/plugins",
                     "/usr/share/terraform/plugins")
# The oldest terraform the rendered roots take: 1.11 with an S3 state bucket (use_lockfile), 1.7
# with local state (removed and import blocks). generator/design/model.py pins each root's
# required_version; tests/test_docs_figures.py holds these, those and the README's equal.
MINIMUM_VERSION, MINIMUM_VERSION_LOCAL_STATE = "1.11", "1.7"
WRITTEN_BY = "# Written by tfgen"  # the first line of every CLI config tfgen writes
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
        raise TfgenError(f"terraform is not on the PATH (tfgen's roots need terraform >= {MINIMUM_VERSION}, or >= "
                         f"{MINIMUM_VERSION_LOCAL_STATE} where no state bucket is set)")
    return found


def provider_mirror() -> Path | None:
    """The folder holding registry.terraform.io/hashicorp/aws, or None to use the registry."""
    if os.environ.get(MIRROR_ENV):
        path = Path(os.environ[MIRROR_ENV]).expanduser()
        if not (path / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
            raise TfgenError(f"{MIRROR_ENV}={path} holds no registry.terraform.io/hashicorp/aws")
        return path
    for candidate in MIRROR_CANDIDATES:
        path = Path(candidate).expanduser()
        if (path / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
            return path
    return None


def config_text(mirror: Path) -> str:
    """The CLI config that installs hashicorp/aws from `mirror` (an absolute path: terraform runs in
    each root's folder), and every other provider as terraform does by default."""
    path = str(mirror.expanduser().resolve())
    quoted = path.replace("\\", "\\\\").replace('"', '\\"').replace("${", "$${").replace("%{", "%%{")
    return CLI_CONFIG.format(mirror=quoted)


def cli_config(state_dir: Path) -> Path:
    """Write (once) and return the CLI config file; with no mirror, terraform's defaults apply."""
    mirror = provider_mirror()
    state_dir = state_dir.resolve()  # terraform runs in each root's folder
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "terraform.rc"
    text = config_text(mirror) if mirror else f"{WRITTEN_BY}: no local mirror found.\n"
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
    return path


def user_config(path: Path) -> tuple[Path | None, str]:
    """`tfgen terraform-rc --write PATH`: the mirror found (None: none) and what became of PATH:
    "written", "unchanged", "removed" (no mirror, and the file there was tfgen's: it would name a
    mirror that is gone) or "absent" (no mirror, nothing there). A file at PATH that tfgen did not
    write (a user's own CLI config) is never overwritten nor removed."""
    mirror = provider_mirror()
    exists = path.is_symlink() or path.exists()
    if exists and not (path.is_file() and not path.is_symlink() and _written_by_tfgen(path)):
        raise TfgenError(f"{path} exists and tfgen did not write it (its first line is not {WRITTEN_BY!r}): "
                         "not overwritten; remove it, or give --write another path")
    if mirror is None:
        if exists:
            path.unlink()
            return None, "removed"
        return None, "absent"
    text = config_text(mirror)
    if exists and path.read_text(errors="replace") == text:
        return mirror, "unchanged"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tfgen-tmp")
    temporary.write_text(text)
    os.replace(temporary, path)
    return mirror, "written"


def _written_by_tfgen(path: Path) -> bool:
    with path.open("rb") as file:
        return file.readline(len(WRITTEN_BY) + 1).decode(errors="replace").startswith(WRITTEN_BY)


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
