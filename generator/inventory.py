"""What a rendered environment declares, read from HCL or from a plan, in one shape.

The HCL is parsed with tfparse (HashiCorp's own HCL library, through Go): it evaluates
`jsonencode(...)`, expands `dynamic` blocks, gives each block's file and line, and is
about 20 times faster than python-hcl2 (whose 8.1 `with_meta` gives no lines and which
leaves `jsonencode` as text). A plan (`terraform show -json`) is read into the same
shape, so every rule runs unchanged on either input.
"""

from __future__ import annotations

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from generator.errors import TfgenError

REF = "ref:"  # a value that is a reference to another resource: "ref:aws_security_group.training"
_DYNAMIC = re.compile(r'^\s*dynamic\s+"([^"]+)"\s*\{')


@dataclass
class Resource:
    root: str  # "platform" or "teams/TEAM"
    type: str
    name: str
    file: str  # relative to out/ENV
    line: int | None
    values: dict
    prevent_destroy: bool = False

    @property
    def address(self) -> str:
        return f"{self.root}:{self.type}.{self.name}"

    @property
    def local_address(self) -> str:
        return f"{self.type}.{self.name}"


@dataclass
class Provider:
    root: str
    file: str
    line: int | None
    values: dict


@dataclass
class Inventory:
    roots: list[str] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    providers: list[Provider] = field(default_factory=list)
    dynamic_blocks: list[tuple[str, int, str]] = field(default_factory=list)  # (file, line, block type)
    _index: dict | None = field(default=None, repr=False, compare=False)
    _indexed: int = field(default=0, repr=False, compare=False)

    def find(self, root: str, ref: object) -> Resource | None:
        if not isinstance(ref, str) or not ref.startswith(REF):
            return None
        if self._index is None or self._indexed != len(self.resources):
            self._index = {(r.root, r.local_address): r for r in self.resources}
            self._indexed = len(self.resources)
        return self._index.get((root, ref[len(REF):]))

    def of_type(self, *types: str) -> list[Resource]:
        return [r for r in self.resources if r.type in types]


def roots_of(out_env: Path) -> list[str]:
    """Every folder under out/ENV that holds .tf files, as a relative path."""
    return sorted({str(p.parent.relative_to(out_env)) for p in out_env.rglob("*.tf") if ".terraform" not in p.parts})


def from_hcl(out_env: Path) -> Inventory:
    if not out_env.is_dir():
        raise TfgenError(f"{out_env} does not exist: run `tfgen render {out_env.name}` first")
    inventory = Inventory()
    roots = roots_of(out_env)
    # tfparse releases the GIL while Go parses, so roots parse side by side (1.5x on 2 cores).
    with _quiet_stderr(), ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        parsed = list(pool.map(lambda root: _parse(out_env / root), roots))
    for root, blocks in zip(roots, parsed):
        inventory.roots.append(root)
        _load_root(inventory, out_env, root, blocks)
    return inventory


@contextmanager
def _quiet_stderr():
    """tfparse's Go code logs INFO lines (for import/removed blocks) straight to fd 2."""
    saved = os.dup(2)
    with open(os.devnull, "wb") as devnull:
        os.dup2(devnull.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _parse(folder: Path) -> dict:
    import tfparse

    try:
        return tfparse.load_from_path(str(folder))
    except Exception as exc:  # tfparse raises its own ParseError with HCL's diagnostics
        raise TfgenError(f"cannot parse {folder}: {exc}") from None


def _load_root(inventory: Inventory, out_env: Path, root: str, parsed: dict) -> None:
    folder = out_env / root
    ids: dict[str, str] = {}
    for kind, blocks in parsed.items():
        for block in _as_list(blocks):
            meta = block.get("__tfmeta", {})
            if meta.get("type") == "resource":
                ids[block["id"]] = meta["path"]
    for kind, blocks in parsed.items():
        for block in _as_list(blocks):
            meta = block.get("__tfmeta", {})
            location = (f"{root}/{meta.get('filename', '?')}", meta.get("line_start"))
            if meta.get("type") == "resource":
                values = _clean(block, ids)
                lifecycle = values.pop("lifecycle", None) or {}
                inventory.resources.append(Resource(
                    root=root, type=kind, name=meta["path"].split(".", 1)[1], file=location[0], line=location[1],
                    values=values, prevent_destroy=bool(first_block(lifecycle).get("prevent_destroy")),
                ))
            elif kind == "provider" and meta.get("label") == "aws":
                inventory.providers.append(Provider(root, *location, _clean(block, ids)))
    for path in sorted(folder.glob("*.tf")):
        for number, text in enumerate(path.read_text().splitlines(), start=1):
            match = _DYNAMIC.match(text)
            if match:
                inventory.dynamic_blocks.append((f"{root}/{path.name}", number, match[1]))


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]


def first_block(value: object) -> dict:
    """A nested block as a dict, whether the parser gave one block or a list of them."""
    if isinstance(value, list):
        return value[0] if value and isinstance(value[0], dict) else {}
    return value if isinstance(value, dict) else {}


def _clean(value: object, ids: dict[str, str]) -> object:
    """Drop tfparse's bookkeeping and turn references (resource UUIDs) into `ref:` strings."""
    if isinstance(value, dict) and "__attribute__" in value:
        # an attribute tfparse cannot evaluate (aws_kms_key.alarms.key_id): still a reference to its resource
        return REF + ".".join(str(value["__attribute__"]).split(".")[:2])
    if isinstance(value, dict):
        # tfparse gives every block a UUID "id"; configuration never sets one itself.
        return {k: _clean(v, ids) for k, v in value.items() if k != "__tfmeta" and not (k == "id" and _is_uuid(v))}
    if isinstance(value, list):
        return [_clean(v, ids) for v in value]
    if isinstance(value, str):
        if value in ids:
            return REF + ids[value]
        if "-" in value and _UUID_IN.search(value):  # a reference inside an evaluated jsonencode(...)
            return _UUID_IN.sub(lambda m: REF + ids[m[0]] if m[0] in ids else m[0], value)
    return value


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_UUID_IN = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _is_uuid(value: object) -> bool:
    return isinstance(value, str) and bool(_UUID.match(value))


# --- plans -------------------------------------------------------------------------------


def plan_root(plan: dict) -> str | None:
    """The root a plan belongs to, from the Team tag tfgen puts in every provider block."""
    provider = plan.get("configuration", {}).get("provider_config", {}).get("aws", {})
    tags = first_block(provider.get("expressions", {}).get("default_tags", {})).get("tags", {}).get("constant_value", {})
    team = tags.get("Team")
    if not team:
        return None
    return "platform" if team == "platform" else f"teams/{team}"


def merge_plan(inventory: Inventory, plan_path: Path) -> str:
    """Replace one root's resources and provider with what the plan says it will create."""
    try:
        plan = json.loads(plan_path.read_text())
    except (OSError, ValueError) as exc:
        raise TfgenError(f"{plan_path}: not a plan in JSON ({exc}); make it with `terraform show -json PLAN`") from None
    if "planned_values" not in plan:
        raise TfgenError(f"{plan_path}: no planned_values; make it with `terraform show -json PLAN`")
    root = plan_root(plan)
    if root is None:
        raise TfgenError(f"{plan_path}: its provider block has no Team tag, so it is not a plan of a tfgen root")
    hcl = {r.local_address: r for r in inventory.resources if r.root == root}
    config_resources = {r["address"]: r for r in plan.get("configuration", {}).get("root_module", {}).get("resources", [])}
    planned = []
    for item in plan["planned_values"].get("root_module", {}).get("resources", []):
        if item.get("mode") != "managed":
            continue
        values = dict(item.get("values") or {})
        # Unknown-until-apply references are in the configuration's expressions.
        for key, expression in config_resources.get(item["address"], {}).get("expressions", {}).items():
            refs = expression.get("references") if isinstance(expression, dict) else None
            if refs and values.get(key) is None:
                whole = [r for r in refs if r.count(".") == 1]
                values[key] = REF + (whole[0] if whole else refs[0])
        source = hcl.get(item["address"])
        planned.append(Resource(
            root=root, type=item["type"], name=item["name"],
            file=source.file if source else f"{plan_path.name}", line=source.line if source else None,
            values=values,
            # The plan's JSON does not carry lifecycle settings: they come from the root's HCL.
            prevent_destroy=source.prevent_destroy if source else False,
        ))
    inventory.resources = [r for r in inventory.resources if r.root != root] + planned
    provider = plan["configuration"]["provider_config"]["aws"]["expressions"]
    values = {key: (expr.get("constant_value") if isinstance(expr, dict) else
                    {"tags": first_block(expr).get("tags", {}).get("constant_value", {})})
              for key, expr in provider.items()}
    old = next((p for p in inventory.providers if p.root == root), None)
    inventory.providers = [p for p in inventory.providers if p.root != root] + [
        Provider(root, old.file if old else plan_path.name, old.line if old else None, values)]
    if root not in inventory.roots:
        inventory.roots.append(root)
    return root
