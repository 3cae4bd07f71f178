"""Synthetic organisations: N projects across up to 50 teams, each project with an endpoint."""

from __future__ import annotations

from pathlib import Path

import yaml

HEX = "0123456789abcdef"


def teams_for(projects: int) -> int:
    return min(50, max(1, projects // 20))


def organisation(projects: int, teams: int | None = None, account: str = "123456789012") -> dict:
    teams = teams or teams_for(projects)
    org: dict[str, dict] = {f"team{t:02d}": {"projects": {}} for t in range(teams)}
    for index in range(projects):
        team = f"team{index % teams:02d}"
        # Each project runs as an existing role of its own: IAM holds one role's inline policies
        # to 10,240 characters in all, about eight projects' worth, so a team of twenty cannot share one.
        org[team]["projects"][f"project-{index:04d}"] = {"execution_role": f"project-{index:04d}-sagemaker",
                                                         "endpoints": {f"endpoint-{index:04d}": {}}}
    return {
        "company": "acme", "tag_prefix": "acme-sm", "region": "eu-west-1", "account_id": account,
        "protected": True,
        "network": {"vpc_id": "vpc-0123456789abcdef0", "vpc_cidr": "10.40.0.0/16",
                    "private_subnets": [{"id": "subnet-0123456789abcdef1", "zone": "eu-west-1a"},
                                        {"id": "subnet-0123456789abcdef2", "zone": "eu-west-1b"}],
                    "route_table_ids": ["rtb-0123456789abcdef3"]},
        "alarms": {"enabled": True, "emails": ["ml-platform@acme.example"]},
        "teams": org,
    }


def write_config(folder: Path, projects: int, teams: int | None = None, name: str = "bench",
                 account: str = "123456789012") -> Path:
    config_dir = folder / "environments"
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / f"{name}.yaml").write_text(yaml.safe_dump(organisation(projects, teams, account), sort_keys=False))
    return config_dir
