"""What a rendered environment declares, read from HCL or from a plan, in one shape.

The HCL is read root by root by generator/read/hcl.py (tfgen's own layout line by line,
anything else by HashiCorp's HCL parser; references and `jsonencode` resolved as Terraform
would; each block's file and line), shared between this process and child processes when
the tree is large. A plan (`terraform show -json`) is read into the same shape, so every
rule runs unchanged on either input.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from generator.errors import TfgenError
from generator.read.hcl import REF, Block, HclReadError, RootBlocks, read_root


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
    _index: dict | None = field(default=None, repr=False, compare=False)
    _by_type: dict | None = field(default=None, repr=False, compare=False)
    _indexed: dict = field(default_factory=dict, repr=False, compare=False)  # index -> (list, length) it was built from

    def _stale(self, index: str) -> bool:
        """Whether an index must be rebuilt: resources replaced (merge_plan) or appended since."""
        built_from, length = self._indexed.get(index, (None, -1))
        if built_from is self.resources and length == len(self.resources):
            return False
        self._indexed[index] = (self.resources, len(self.resources))  # held, so its id is never reused
        return True

    def find(self, root: str, ref: object) -> Resource | None:
        if not isinstance(ref, str) or not ref.startswith(REF):
            return None
        if self._stale("_index"):
            self._index = {(r.root, r.local_address): r for r in self.resources}
        return self._index.get((root, ref[len(REF):]))

    def of_type(self, *types: str) -> list[Resource]:
        if len(types) != 1:
            return [r for r in self.resources if r.type in types]
        if self._stale("_by_type"):  # the rules ask 35 times a check
            self._by_type = {}
            for resource in self.resources:
                self._by_type.setdefault(resource.type, []).append(resource)
        return list(self._by_type.get(types[0], ()))


def roots_of(out_env: Path) -> list[str]:
    """Every folder under out/ENV that holds .tf files, as a relative path."""
    return sorted({str(p.parent.relative_to(out_env)) for p in out_env.rglob("*.tf") if ".terraform" not in p.parts})


# Below this much HCL, a child reading half the roots saves less than it costs to start;
# above it, the children pay (docs/benchmarks.md, "Start-up tricks, measured").
PARALLEL_FROM_BYTES = 2_000_000


@dataclass
class Root:
    """One root as read: its resources and its aws provider blocks."""
    name: str  # "platform" or "teams/TEAM"
    resources: list[Resource]
    providers: list[Provider]


def read_roots(out_env: Path) -> Iterator[Root]:
    """Every root of out_env, each as soon as it is read: in the order roots_of lists them, or,
    for a large tree read in several processes, in the order they come in. A caller can start
    on a root while the rest are read (tfgen check hands its policies to AWS's catalogue)."""
    if not out_env.is_dir():
        raise TfgenError(f"{out_env} does not exist: run `tfgen render {out_env.name}` first")
    roots = roots_of(out_env)
    sizes = {root: sum(p.stat().st_size for p in (out_env / root).glob("*.tf")) for root in roots}
    processes = min(os.cpu_count() or 1, len(roots))
    try:
        if processes > 1 and sum(sizes.values()) >= PARALLEL_FROM_BYTES:
            read = _read_shared(out_env, sorted(roots, key=sizes.__getitem__, reverse=True), processes)
        else:
            read = ((root, read_root(out_env, root)) for root in roots)
        for root, blocks in read:
            yield Root(root, [_resource(root, block) for block in blocks.resources],
                       [Provider(root, p.file, p.line, p.values) for p in blocks.providers])
    except HclReadError as error:
        raise TfgenError(f"{out_env.as_posix()}/{error}") from None


def from_roots(roots: Iterable[Root]) -> Inventory:
    """The inventory of these roots, in the order of their names (that of roots_of)."""
    inventory = Inventory()
    for root in sorted(roots, key=lambda root: root.name):
        inventory.roots.append(root.name)
        inventory.resources += root.resources
        inventory.providers += root.providers
    return inventory


def from_hcl(out_env: Path) -> Inventory:
    """Every root of out_env."""
    return from_roots(read_roots(out_env))


def _read_shared(out_env: Path, largest_first: list[str], processes: int) -> Iterator[tuple[str, RootBlocks]]:
    """Reading holds the GIL: this process reads its share of the roots while child
    interpreters read theirs, and yields each root as soon as it is read (shares dealt
    largest first, in turn). Started afresh, never forked: a fork of a process that has
    already called into Go (HCL's parser, for a file off the fast path) hangs."""
    from generator.support.child import Child  # here, not at the top: a small check starts no child

    mine, *theirs = [largest_first[k::processes] for k in range(processes)]
    children = [Child("generator.read.hcl:read_root") for _ in theirs]
    try:
        asked = [{child.send(out_env, root): root for root in share} for child, share in zip(children, theirs)]

        def answers(block: bool) -> Iterator[tuple[str, RootBlocks]]:
            for child, roots in zip(children, asked):
                while roots and (answer := child.receive(block)):
                    number, blocks = answer
                    yield roots.pop(number), blocks

        for root in mine:
            yield root, read_root(out_env, root)
            yield from answers(block=False)
        yield from answers(block=True)
    finally:
        for child in children:
            child.close()


def _resource(root: str, block: Block) -> Resource:
    lifecycle = block.values.pop("lifecycle", None) or {}
    return Resource(root=root, type=block.type, name=block.name, file=block.file, line=block.line,
                    values=block.values, prevent_destroy=bool(first_block(lifecycle).get("prevent_destroy")))


def first_block(value: object) -> dict:
    """A nested block as a dict, whether the parser gave one block or a list of them."""
    if isinstance(value, list):
        return value[0] if value and isinstance(value[0], dict) else {}
    return value if isinstance(value, dict) else {}


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
        # A value unknown until apply (it refers to what does not exist yet) is what the root's HCL
        # says, references and all (a policy naming the topic's ARN); else the reference itself.
        source = hcl.get(item["address"])
        for key, expression in config_resources.get(item["address"], {}).get("expressions", {}).items():
            refs = expression.get("references") if isinstance(expression, dict) else None
            if refs and values.get(key) is None:
                whole = [r for r in refs if r.count(".") == 1]
                values[key] = source.values[key] if source and key in source.values else \
                    REF + (whole[0] if whole else refs[0])
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
