"""An organisation past the account's quotas is refused before anything is composed or written
(issue 22, class 9), naming the quota. The defaults are AWS's: IAM User Guide, "IAM and AWS STS
quotas" (roles in an account: 1,000); ECR User Guide, "Amazon ECR service quotas" (registered
repositories per Region: 10,000; images per repository: 10,000)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from generator.cli import cli
from tests.conftest import MINIMAL

HEAD = MINIMAL.split("teams:\n")[0]


def org(teams: int, projects: int, team_settings: str = "    execution_role: r\n", extra: str = "") -> str:
    lines = [HEAD + extra + "teams:\n"]
    for t in range(teams):
        lines.append(f"  t{t}:\n{team_settings}    projects:\n")
        lines.extend(f"      p{p}: {{}}\n" for p in range(projects))
    return "".join(lines)


def render(config_dir: Path, tmp_path: Path):
    return CliRunner().invoke(cli, ["--config-dir", str(config_dir), "--out-dir", str(tmp_path / "out"),
                                    "render", "test"])


def test_more_created_roles_than_the_account_holds_are_refused(config_dir, tmp_path):
    created = "    create_execution_role: true\n    data_buckets: [acme-data]\n"
    (config_dir / "test.yaml").write_text(org(11, 100, created))  # 1,100 roles
    result = render(config_dir, tmp_path)
    assert result.exit_code == 1, result.output
    assert "1,100 execution roles to create" in result.output and "at most 1,000 IAM roles" in result.output
    assert "aws_quotas.iam_roles" in result.output
    assert not (tmp_path / "out").exists()


def test_a_raised_quota_lets_the_same_organisation_through(config_dir, tmp_path):
    created = "    create_execution_role: true\n    data_buckets: [acme-data]\n"
    (config_dir / "test.yaml").write_text(org(11, 100, created, extra="aws_quotas:\n  iam_roles: 2000\n"))
    result = render(config_dir, tmp_path)
    assert result.exit_code == 0, result.output


def test_more_repositories_than_the_region_holds_are_refused(config_dir, tmp_path):
    (config_dir / "test.yaml").write_text(org(10, 334))  # 3 shared + 3,340 projects x 3 stages = 10,023
    result = render(config_dir, tmp_path)
    assert result.exit_code == 1, result.output
    assert "10,023 ECR repositories" in result.output and "at most 10,000" in result.output
    assert not (tmp_path / "out").exists()


def test_a_lifecycle_policy_that_keeps_more_images_than_a_repository_holds_is_refused(config_dir, tmp_path):
    (config_dir / "test.yaml").write_text(MINIMAL + "ecr:\n  release_images_kept: 5000\n")
    result = render(config_dir, tmp_path)
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"Error: {config_dir / 'test.yaml'}:16: ecr.release_images_kept: ")
    assert "up to 10,010 images" in result.output and "Images per repository" in result.output
