"""A plan (`terraform show -json PLAN`) read into the inventory's shape, in place of its root's HCL.

The plan is checked before a value of it is used: its shape (the parts tfgen reads, each of
the type terraform writes; anything else is an error naming the place, not a traceback),
and whose it is: the Environment tag and the allowed account tfgen puts in every provider
block must be the environment's, or every rule would judge another environment's plan
against this one's YAML.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from generator.errors import TfgenError
from generator.read.hcl import REF
from generator.read.inventory import Inventory, Provider, Resource, first_block

HOW = "make it with `terraform show -json PLAN` in the root's folder"


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class _PlannedResource(_Loose):
    address: str
    mode: str = "managed"
    type: str
    name: str
    values: dict | None = None


class _Module(_Loose):
    resources: list[_PlannedResource] = []


class _PlannedValues(_Loose):
    root_module: _Module = _Module()


class _ConfiguredResource(_Loose):
    address: str
    expressions: dict[str, dict | list] = {}


class _ConfiguredModule(_Loose):
    resources: list[_ConfiguredResource] = []


class _ProviderConfig(_Loose):
    expressions: dict[str, dict | list] = {}


class _Configuration(_Loose):
    provider_config: dict[str, _ProviderConfig] = {}
    root_module: _ConfiguredModule = _ConfiguredModule()


class _Plan(_Loose):
    planned_values: _PlannedValues
    configuration: _Configuration = _Configuration()


def _read(plan_path: Path) -> _Plan:
    try:
        data = json.loads(plan_path.read_text())
    except (OSError, ValueError) as exc:
        raise TfgenError(f"{plan_path}: not a plan in JSON ({exc}); {HOW}") from None
    except RecursionError:  # JSON nested deeper than Python recurses: no plan terraform writes
        raise TfgenError(f"{plan_path}: not a plan in JSON (nested too deep); {HOW}") from None
    if not isinstance(data, dict) or "planned_values" not in data:
        raise TfgenError(f"{plan_path}: no planned_values; {HOW}")
    try:
        return _Plan.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        problem = first["msg"].split(" or instance of")[0]  # pydantic names the model class: not the user's concern
        raise TfgenError(f"{plan_path}: not the plan terraform writes: {where}: {problem}; {HOW}") from None


def _constant(expression: dict | list | None) -> object:
    return expression.get("constant_value") if isinstance(expression, dict) else None


def _block_tags(block: dict | list | None) -> dict:
    value = _constant(first_block(block).get("tags"))
    return value if isinstance(value, dict) else {}


def _provider_tags(provider: _ProviderConfig) -> dict:
    return _block_tags(provider.expressions.get("default_tags"))


def _check_whose(plan_path: Path, provider: _ProviderConfig, env: str, account_id: str) -> None:
    """The plan must be of this environment and its account: say so plainly if not."""
    theirs_env = _provider_tags(provider).get("Environment")
    accounts = _constant(provider.expressions.get("allowed_account_ids"))
    theirs_account = accounts[0] if isinstance(accounts, list) and len(accounts) == 1 else None
    if theirs_env != env or theirs_account != account_id:
        raise TfgenError(f"{plan_path} is a plan of environment {theirs_env or '(none)'} in account "
                         f"{theirs_account or '(none)'}, not of {env} in {account_id}: check each environment's "
                         "plans with its own `tfgen check ENV --plan`")


def merge_plan(inventory: Inventory, plan_path: Path, env: str, account_id: str) -> str:
    """Replace one root's resources and provider with what the plan says it will create."""
    plan = _read(plan_path)
    provider = plan.configuration.provider_config.get("aws")
    team = _provider_tags(provider).get("Team") if provider else None
    if not isinstance(team, str) or not team:
        raise TfgenError(f"{plan_path}: its provider block has no Team tag, so it is not a plan of a tfgen root")
    _check_whose(plan_path, provider, env, account_id)
    root = "platform" if team == "platform" else f"teams/{team}"
    hcl = {r.local_address: r for r in inventory.resources if r.root == root}
    configured = {r.address: r for r in plan.configuration.root_module.resources}
    planned = []
    for item in plan.planned_values.root_module.resources:
        if item.mode != "managed":
            continue
        values = dict(item.values or {})
        # A value unknown until apply (it refers to what does not exist yet) is what the root's HCL
        # says, references and all (a policy naming the topic's ARN); else the reference itself.
        source = hcl.get(item.address)
        for key, expression in (configured[item.address].expressions if item.address in configured else {}).items():
            refs = expression.get("references") if isinstance(expression, dict) else None
            if isinstance(refs, list) and refs and values.get(key) is None:
                whole = [r for r in refs if isinstance(r, str) and r.count(".") == 1]
                values[key] = source.values[key] if source and key in source.values else \
                    REF + str(whole[0] if whole else refs[0])
        planned.append(Resource(
            root=root, type=item.type, name=item.name,
            file=source.file if source else f"{plan_path.name}", line=source.line if source else None,
            values=values,
            # The plan's JSON does not carry lifecycle settings: they come from the root's HCL.
            prevent_destroy=source.prevent_destroy if source else False,
        ))
    inventory.resources = [r for r in inventory.resources if r.root != root] + planned
    values = {key: (_constant(expr) if isinstance(expr, dict) else {"tags": _block_tags(expr)})
              for key, expr in provider.expressions.items()}
    old = next((p for p in inventory.providers if p.root == root), None)
    inventory.providers = [p for p in inventory.providers if p.root != root] + [
        Provider(root, old.file if old else plan_path.name, old.line if old else None, values)]
    if root not in inventory.roots:
        inventory.roots.append(root)
    return root
