"""tfgen atlantis: the repository's atlantis.yaml (version 3), a project per root tfgen renders.

Atlantis (runatlantis.io) plans a pull request's Terraform per project: a folder and a workspace
(its state). Each rendered root is one, named ENV-ROOT (`prod-platform`, `prod-rc`); a team's root
`depends_on` its environment's platform project and comes in a later `execution_order_group`, so
`atlantis apply` applies the platform first and refuses a team's root before it. A project plans
when its own files change (`autoplan.when_modified`, relative to its folder, in .dockerignore's
syntax) or any YAML file its environment is rendered from. Each environment has a workflow that,
before Atlantis's init and plan, runs the gate a person would run: the committed out/ENV is what
the YAML gives (`render --check`), this file lists every root (`atlantis --check`), and the policy
pack with checkov passes; after the plan, the gate on the plan itself, as the GitHub example does.

Every path is relative to the git repository's root, where Atlantis reads atlantis.yaml. Atlantis's
own checks (server/core/config/raw: project.go, repo_cfg.go, step.go) are the model: version 3, a
project's `dir` never holds `..`, names are URL-safe and unique.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

import yaml

from generator.changes.git import run_git
from generator.config.loader import LoadedEnvironment
from generator.errors import TfgenError
from generator.render.templates import PLATFORM_ROOT, Rendered

FILE_NAME = "atlantis.yaml"  # the only name Atlantis reads, at the repository's root
# What Terraform reads in a root's folder (.tf, .tf.json, *.tfvars) and the providers it selects.
ROOT_FILES = ["*.tf*", ".terraform.lock.hcl"]
INSTALL, INSTALLED = "make --silent .venv/.installed-run checkov", ".venv/bin/tfgen"
PLATFORM_ORDER, TEAM_ORDER = 0, 1  # execution_order_group: the platform's outputs before the teams read them


@dataclass(frozen=True)
class Folders:
    """Where the repository is, and tfgen's folders relative to it (as the workflow's commands name them)."""

    repository: Path
    config_dir: str  # e.g. environments
    out_dir: str  # e.g. out


def repository_folders(config_dir: Path, out_dir: Path) -> Folders:
    """The git repository holding the YAML and out/: atlantis.yaml belongs at its root."""
    config, out = config_dir.resolve(), out_dir.resolve()
    try:
        top = run_git(["rev-parse", "--show-toplevel"], config,
                      "`tfgen atlantis` names each root's folder relative to the repository's root")
    except OSError as exc:  # the configuration folder itself is missing or unreadable
        raise TfgenError(f"cannot open the configuration folder {config_dir}: {exc.strerror or exc}") from None
    if top.returncode != 0:
        raise TfgenError(f"{config_dir} is not in a git repository: Atlantis reads {FILE_NAME} at the root of the "
                         "repository it clones, and each project's dir is relative to it")
    repository = Path(top.stdout.strip()).resolve()
    relative = {}
    for name, folder in (("--config-dir", config), ("--out-dir", out)):
        if not folder.is_relative_to(repository):
            raise TfgenError(f"{name} {folder} is outside the repository {repository}: Atlantis plans only "
                             "folders of the repository it clones")
        relative[name] = folder.relative_to(repository).as_posix()
    return Folders(repository, relative["--config-dir"], relative["--out-dir"])


@dataclass(frozen=True)
class Project:
    name: str  # ENV-ROOT
    env: str
    root: str  # platform or teams/TEAM
    dir: str  # relative to the repository's root
    when_modified: list[str]
    depends_on: list[str]
    order: int


def projects(loaded: LoadedEnvironment, rendered: Rendered, folders: Folders) -> list[Project]:
    """A project per rendered root of one environment, the platform first."""
    env = loaded.name
    platform = f"{env}-{PLATFORM_ROOT}"
    found = []
    for root in rendered.roots():
        folder = f"{folders.out_dir}/{env}/{root}".removeprefix("./")
        # Each YAML file of the environment's chain, as Atlantis matches it: relative to the project's folder.
        yaml_files = [os.path.relpath(_in_repository(file, folders), folders.repository / folder)
                      for file in loaded.chain]
        is_platform = root == PLATFORM_ROOT
        found.append(Project(name=platform if is_platform else f"{env}-{root.removeprefix('teams/')}", env=env,
                             root=root, dir=folder, when_modified=ROOT_FILES + yaml_files,
                             depends_on=[] if is_platform else [platform],
                             order=PLATFORM_ORDER if is_platform else TEAM_ORDER))
    return found


def _in_repository(file: str, folders: Folders) -> Path:
    """A file of the chain by its path in the repository, as a pull request names it: its folder
    resolved as the repository's is, the file itself not (a link's target elsewhere is not what the
    pull request changes)."""
    named = Path(os.path.abspath(file))  # the loader names it relative to the current directory, or absolute
    path = named.parent.resolve() / named.name
    if not path.is_relative_to(folders.repository):
        raise TfgenError(f"{file} is outside the repository {folders.repository}: Atlantis plans on changes to "
                         "the repository's files only; keep the environments' YAML in it")
    return path


def command(folders: Folders, scope: str, program: str = "tfgen") -> str:
    """The tfgen command line that prints this file (scope: --all, or one environment)."""
    return f"{_tfgen(folders, program)} atlantis {scope}"


def atlantis_yaml(environments: list[tuple[LoadedEnvironment, Rendered]], folders: Folders, scope: str) -> str:
    """The whole atlantis.yaml: its projects, and a workflow per environment."""
    found = [p for loaded, rendered in environments for p in projects(loaded, rendered, folders)]
    _refuse_clashes(found)
    again = command(folders, scope)
    document = {
        "version": 3,
        "projects": [{
            "name": p.name,
            "dir": p.dir,
            "workspace": "default",
            "execution_order_group": p.order,
            **({"depends_on": p.depends_on} if p.depends_on else {}),
            "autoplan": {"enabled": True, "when_modified": p.when_modified},
            "workflow": _workflow_name(p.env),
        } for p in found],
        "workflows": {_workflow_name(loaded.name): _workflow(loaded.name, folders, scope)
                      for loaded, _ in environments},
    }
    header = (f"# Atlantis's repository config: a project per Terraform root tfgen renders.\n"
              f"# Written by `{again}`: run it again (`... > {FILE_NAME}`) and commit when a team or an\n"
              "# environment comes or goes; every plan fails until then. The workflows install this\n"
              "# repository's tfgen and checkov in Atlantis's clone (make), and the server must allow\n"
              "# them (docs/ci/atlantis.md).\n")
    return header + yaml.safe_dump(document, sort_keys=False, default_flow_style=False, width=160)


def _workflow_name(env: str) -> str:
    return f"tfgen-{env}"


def _tfgen(folders: Folders, program: str) -> str:
    """tfgen, with the folders when they are not its defaults (the commands run at the repository's root)."""
    tfgen = program
    if folders.config_dir != "environments":
        tfgen += f" --config-dir {shlex.quote(folders.config_dir)}"
    if folders.out_dir != "out":
        tfgen += f" --out-dir {shlex.quote(folders.out_dir)}"
    return tfgen


def _workflow(env: str, folders: Folders, scope: str) -> dict:
    # The repository's own tfgen, which rendered out/ (its version decides what render --check
    # expects), and checkov at the version it pins: installed once per clone, as the GitHub example does.
    tfgen = _tfgen(folders, INSTALLED)
    # Atlantis runs a step in the project's folder; $DIR less $REPO_REL_DIR is the clone's root.
    at_root = 'cd "${DIR%$REPO_REL_DIR}"'
    name = shlex.quote(env)
    return {
        "plan": {"steps": [
            {"run": f"{at_root} && {INSTALL}"},
            {"run": f"{at_root} && {tfgen} render {name} --check"},  # out/ENV is what the YAML gives
            {"run": f"{at_root} && {command(folders, scope, INSTALLED)} --check"},  # this file has every root
            {"run": f"{at_root} && {tfgen} check {name}"},  # the policy pack and checkov
            "init",
            "plan",
            "show",  # the plan as JSON, in $SHOWFILE
            # A plan the gate refuses is deleted: an Atlantis before 0.46 would apply a plan file left behind.
            {"run": f'{at_root} && {tfgen} check {name} --no-checkov --plan "$SHOWFILE" '
                    '|| { rm -f "$PLANFILE"; exit 1; }'},
        ]},
        "apply": {"steps": ["apply"]},
    }


def _refuse_clashes(found: list[Project]) -> None:
    """ENV-ROOT is unique in one environment (no team is named platform); across environments
    `prod-eu` + `rc` and `prod` + `eu-rc` would both be `prod-eu-rc`."""
    seen: dict[str, Project] = {}
    for project in found:
        if project.name in seen:
            other = seen[project.name]
            raise TfgenError(f"two roots would be the Atlantis project {project.name!r}: {other.dir} and "
                             f"{project.dir}; rename the environment or the team so that ENV-ROOT differs")
        seen[project.name] = project


def stale(text: str, folders: Folders, scope: str) -> list[str]:
    """Why the repository's atlantis.yaml is not `text` (nothing when it is), in projects where it can say."""
    path, again = folders.repository / FILE_NAME, command(folders, scope)
    fix = f"run `{again} > {FILE_NAME}` at the repository's root and commit it"
    try:
        committed = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [f"{path} does not exist: {fix}"]
    except (OSError, UnicodeDecodeError) as exc:
        return [f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}; {fix}"]
    if committed == text:
        return []
    wanted, written = _project_dirs(text), _project_dirs(committed)
    reasons = [f"no project plans {folder} (rendered root)" for name, folder in wanted.items() if name not in written]
    reasons += [f"project {name} plans {folder}, which is no rendered root" for name, folder in written.items()
                if name not in wanted]
    return [f"{path} is not what `{again}` gives{': ' + '; '.join(reasons) if reasons else ''}: {fix}"]


def _project_dirs(text: str) -> dict[str, str]:
    try:
        document = yaml.safe_load(text)
        return {str(p.get("name")): str(p.get("dir")) for p in document.get("projects") or []}
    except (yaml.YAMLError, AttributeError, TypeError):
        return {}  # not Atlantis's shape at all: said as a whole
