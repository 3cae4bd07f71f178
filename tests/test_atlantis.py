"""tfgen atlantis: the repository's atlantis.yaml has a project for every root render writes, and
nothing else, in the shape Atlantis accepts.

The oracle is Atlantis's documentation (runatlantis.io, "Repo Level atlantis.yaml Config" and
"Custom Workflows") and its checks (server/core/config/raw): `version` must be 3; a project's
`dir` is relative to the repository's root and never holds `..`; a name is URL-safe (`/` aside)
and names one project; a step is one of the built-in ones or `run`; `when_modified` is in
.dockerignore's syntax, relative to the project's folder, and a modified file plans a project
when a pattern matches the file or one of its parent folders; `depends_on` names projects that
must be applied first, and `execution_order_group` orders the apply. The roots are read from
out/ on disk (a folder holding .tf files), not from the code under test.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote_plus

import pytest
import yaml
from click.testing import CliRunner

from generator.cli import cli
from tests.conftest import ENVIRONMENTS, REPO

# Atlantis's built-in steps (raw/step.go, validStepName), and `run` for a command of one's own.
ATLANTIS_STEPS = {"init", "plan", "apply", "env", "multienv", "show", "policy_check", "import", "state_rm"}
# The keys Atlantis reads (the yaml tags of raw/repo_cfg.go's RepoCfg and raw/project.go's Project).
REPO_KEYS = {"version", "projects", "workflows", "policies", "autodiscover", "automerge", "parallel_apply",
             "parallel_plan", "delete_source_branch_on_merge", "emoji_reaction", "allowed_regexp_prefixes",
             "abort_on_execution_order_fail", "repo_locks", "silence_pr_comments"}
PROJECT_KEYS = {"name", "branch", "dir", "workspace", "workflow", "terraform_distribution", "terraform_version",
                "autoplan", "plan_requirements", "apply_requirements", "import_requirements", "depends_on",
                "delete_source_branch_on_merge", "repo_locking", "repo_locks", "execution_order_group",
                "policy_check", "custom_policy_check", "silence_pr_comments", "glob_file_match"}


def _tfgen(*args: str, cwd: Path = REPO) -> tuple[int, str, str]:
    """tfgen run in `cwd`: its exit code, what it printed (stdout), and everything it said."""
    before = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(before)
    return result.exit_code, result.stdout, result.output


def _rendered_roots(out: Path) -> set[str]:
    """Every folder under out/ENV that Terraform reads as a root: it holds .tf files (terraform's own
    downloads in .terraform/ aside)."""
    return {path.parent.relative_to(out.parent).as_posix() for path in out.glob("*/**/*.tf")
            if ".terraform" not in path.relative_to(out).parts}


def _plans(project: dict, modified: str) -> bool:
    """Whether a pull request modifying `modified` (relative to the repository) plans `project`: each
    pattern is matched, as moby's patternmatcher does, against the file's path relative to the
    project's folder and against each of that path's parent folders."""
    relative = posixpath.relpath(modified, project["dir"])
    candidates = [relative]
    while posixpath.dirname(candidates[-1]):
        candidates.append(posixpath.dirname(candidates[-1]))
    for pattern in project["autoplan"]["when_modified"]:
        assert "**" not in pattern, "this matcher knows `*` within one folder only"
        parts = posixpath.normpath(pattern).split("/")
        for candidate in candidates:
            names = candidate.split("/")
            if len(names) == len(parts) and all(fnmatch.fnmatchcase(n, p) for n, p in zip(names, parts)):
                return True
    return False


@pytest.fixture(scope="module")
def repository_config() -> dict:
    status, text, said = _tfgen("atlantis", "--all")
    assert status == 0, said
    return yaml.safe_load(text)


def test_every_rendered_root_is_one_project_and_every_project_a_rendered_root(repository_config):
    dirs = [p["dir"] for p in repository_config["projects"]]
    assert len(dirs) == len(set(dirs))
    assert set(dirs) == _rendered_roots(REPO / "out")


def test_the_file_is_one_atlantis_accepts(repository_config):
    assert repository_config["version"] == 3
    assert set(repository_config) <= REPO_KEYS
    names = [p["name"] for p in repository_config["projects"]]
    assert len(names) == len(set(names))
    for project in repository_config["projects"]:
        assert set(project) <= PROJECT_KEYS and set(project["autoplan"]) <= {"enabled", "when_modified"}
        assert quote_plus(project["name"].replace("/", "-")) == project["name"].replace("/", "-")
        assert ".." not in project["dir"] and not project["dir"].startswith("/")
        assert project["workspace"] == "default"  # one state per root: its backend's key
        assert project["workflow"] in repository_config["workflows"]
    for workflow in repository_config["workflows"].values():
        for stage in ("plan", "apply"):
            for step in workflow[stage]["steps"]:
                assert step in ATLANTIS_STEPS if isinstance(step, str) else set(step) == {"run"}, step


def test_projects_are_named_env_root_and_teams_are_applied_after_their_platform(repository_config):
    projects = {p["name"]: p for p in repository_config["projects"]}
    for project in projects.values():
        env, kind, *team = Path(project["dir"]).relative_to("out").parts
        if kind == "platform":
            assert project["name"] == f"{env}-platform" and not project.get("depends_on")
        else:
            platform = projects[f"{env}-platform"]
            assert project["name"] == f"{env}-{team[0]}"
            assert project["depends_on"] == [f"{env}-platform"]
            assert project["execution_order_group"] > platform["execution_order_group"]


def test_a_change_plans_the_projects_whose_root_or_yaml_it_touches(repository_config):
    projects = repository_config["projects"]

    def planned(modified: str) -> set[str]:
        return {p["name"] for p in projects if _plans(p, modified)}

    prod = {p["name"] for p in projects if p["dir"].startswith("out/prod/")}
    assert planned("out/prod/teams/rc/iam.tf") == {"prod-rc"}
    assert planned("out/prod/platform/.terraform.lock.hcl") == {"prod-platform"}
    assert planned("environments/prod.yaml") == prod
    assert planned("environments/_shared.yaml") == {p["name"] for p in projects}  # every environment inherits it
    # Terraform reads neither a subfolder of a root nor the manifest beside the roots.
    assert planned("out/prod/teams/rc/notes/x.tf") == set()
    assert planned("out/prod/.tfgen-manifest.json") == set()
    assert planned("README.md") == set()


def test_each_environment_gates_before_the_plan_and_gates_the_plan_itself(repository_config):
    for project in repository_config["projects"]:
        env = Path(project["dir"]).relative_to("out").parts[0]
        steps = repository_config["workflows"][project["workflow"]]["plan"]["steps"]
        commands = [s["run"] if isinstance(s, dict) else s for s in steps]
        assert "make --silent .venv/.installed-run checkov" in commands[0]  # the repository's tfgen, then its gates
        plan = commands.index("plan")
        before, after = " ; ".join(commands[:plan]), " ; ".join(commands[plan:])
        for gate in (f"tfgen render {env} --check", "tfgen atlantis --all --check", f"tfgen check {env}"):
            assert gate in before, (env, gate)
        assert commands.index("init") < plan
        show = commands.index("show")
        gate = next(i for i, c in enumerate(commands) if f'tfgen check {env} --no-checkov --plan "$SHOWFILE"' in c)
        assert plan < show < gate
        assert commands[gate].endswith('|| { rm -f "$PLANFILE"; exit 1; }')  # a refused plan is not left to apply


def test_the_docs_example_is_what_the_command_prints():
    status, text, said = _tfgen("atlantis", "--all")
    assert status == 0, said
    assert (REPO / "docs/ci/atlantis.yaml").read_text() == text


# --- in a repository of one's own --------------------------------------------------------------

def _repository(tmp_path: Path, config: str = "environments") -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    shutil.copytree(ENVIRONMENTS, tmp_path / config)
    return tmp_path


def test_check_fails_until_a_new_team_has_its_project(tmp_path):
    repo = _repository(tmp_path)
    (repo / "atlantis.yaml").write_text(_tfgen("atlantis", "--all", cwd=repo)[1])
    assert _tfgen("atlantis", "--all", "--check", cwd=repo)[0] == 0
    shared = repo / "environments/_shared.yaml"
    shared.write_text(shared.read_text().replace("\nteams:\n", "\nteams:\n  vision:\n    execution_role: acme-vision\n"
                                                 "    projects:\n      defects: {}\n", 1))
    status, _, said = _tfgen("atlantis", "--all", "--check", cwd=repo)
    assert status == 1
    assert "no project plans out/prod/teams/vision" in said and "tfgen atlantis --all > atlantis.yaml" in said
    (repo / "atlantis.yaml").write_text(_tfgen("atlantis", "--all", cwd=repo)[1])
    assert _tfgen("atlantis", "--all", "--check", cwd=repo)[0] == 0


def test_other_folders_are_named_relative_to_the_repository_in_dirs_and_commands(tmp_path):
    repo = _repository(tmp_path, config="platform/yaml")
    # Run below the repository's root: the paths are still the repository's.
    status, text, said = _tfgen("--config-dir", "yaml", "--out-dir", "../build/tf", "atlantis", "prod",
                                cwd=repo / "platform")
    assert status == 0, said
    config = yaml.safe_load(text)
    assert {p["dir"] for p in config["projects"]} == {"build/tf/prod/platform", "build/tf/prod/teams/algo",
                                                      "build/tf/prod/teams/rc"}
    platform = next(p for p in config["projects"] if p["name"] == "prod-platform")
    assert "../../../../platform/yaml/prod.yaml" in platform["autoplan"]["when_modified"]
    steps = " ; ".join(s["run"] for s in config["workflows"]["tfgen-prod"]["plan"]["steps"] if isinstance(s, dict))
    assert "tfgen --config-dir platform/yaml --out-dir build/tf render prod --check" in steps
    assert "tfgen --config-dir platform/yaml --out-dir build/tf atlantis prod --check" in steps


def test_outside_a_git_repository_it_says_why_and_prints_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))  # wherever the temporary folder is
    shutil.copytree(ENVIRONMENTS, tmp_path / "environments")
    status, text, said = _tfgen("atlantis", "--all", cwd=tmp_path)
    assert status == 1
    assert "not in a git repository" in said and text == ""


def test_two_roots_that_would_share_a_project_name_are_refused(tmp_path):
    repo = _repository(tmp_path)
    environments = repo / "environments"
    (environments / "prod-eu.yaml").write_text((environments / "prod.yaml").read_text())
    # prod-eu's team rc and prod's team eu-rc would both be the project prod-eu-rc.
    shared = environments / "_shared.yaml"
    shared.write_text(shared.read_text().replace("\nteams:\n", "\nteams:\n  eu-rc:\n    execution_role: acme-eu-rc\n", 1))
    status, text, said = _tfgen("atlantis", "--all", cwd=repo)
    assert status == 1 and text == ""
    assert "'prod-eu-rc'" in said and "out/prod/teams/eu-rc" in said and "out/prod-eu/teams/rc" in said


def test_a_yaml_file_that_is_a_link_is_planned_on_by_its_own_path(tmp_path):
    # A pull request changes the link in the repository, not its target elsewhere.
    repo = _repository(tmp_path / "repo")
    (tmp_path / "elsewhere").mkdir()
    shared = repo / "environments/_shared.yaml"
    shared.rename(tmp_path / "elsewhere/_shared.yaml")
    (repo / "environments/_shared.yaml").symlink_to(tmp_path / "elsewhere/_shared.yaml")
    status, text, said = _tfgen("atlantis", "prod", cwd=repo)
    assert status == 0, said
    patterns = yaml.safe_load(text)["projects"][0]["autoplan"]["when_modified"]
    assert "../../../environments/_shared.yaml" in patterns  # the link, where the pull request changes it
    # And the same through a link to the repository itself, given as an absolute --config-dir.
    (tmp_path / "checkout").symlink_to(repo)
    status, text, said = _tfgen("--config-dir", str(tmp_path / "checkout/environments"), "atlantis", "prod", cwd=repo)
    assert status == 0, said
    assert yaml.safe_load(text)["projects"][0]["autoplan"]["when_modified"] == patterns


def test_without_git_on_path_it_says_so(tmp_path, monkeypatch):
    shutil.copytree(ENVIRONMENTS, tmp_path / "environments")
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no git on it
    status, text, said = _tfgen("atlantis", "--all", cwd=tmp_path)
    assert status == 1 and text == ""
    assert said == ("Error: git is not on PATH: `tfgen atlantis` names each root's folder relative to the "
                    "repository's root; install git, or run it where git is\n")


@pytest.mark.parametrize("gate_exit, plan_kept", [(0, True), (1, False)])
def test_the_plan_gate_step_deletes_the_plan_it_refuses(tmp_path, repository_config, gate_exit, plan_kept):
    """The step as Atlantis runs it (sh -c, in the project's folder, with its variables), tfgen standing in
    as a script that passes or refuses: a refused plan file is gone, so no Atlantis can apply it."""
    project = next(p for p in repository_config["projects"] if p["name"] == "prod-rc")
    steps = repository_config["workflows"][project["workflow"]]["plan"]["steps"]
    step = next(s["run"] for s in steps if isinstance(s, dict) and "$SHOWFILE" in s["run"])
    clone = tmp_path / "clone"
    (clone / project["dir"]).mkdir(parents=True)
    (clone / ".venv/bin").mkdir(parents=True)
    (clone / ".venv/bin/tfgen").write_text(f"#!/bin/sh\nexit {gate_exit}\n")
    (clone / ".venv/bin/tfgen").chmod(0o755)
    plan = clone / project["dir"] / "default.tfplan"
    plan.write_text("a plan")
    env = {**os.environ, "DIR": str(clone / project["dir"]), "REPO_REL_DIR": project["dir"],
           "PLANFILE": str(plan), "SHOWFILE": str(tmp_path / "plan.json")}
    ran = subprocess.run(["sh", "-c", step], cwd=clone / project["dir"], env=env)
    assert ran.returncode == gate_exit
    assert plan.exists() == plan_kept
