"""What a rendered environment declares, read from HCL or from a plan, in one shape.

The HCL is read root by root by generator/read/hcl.py (tfgen's own layout line by line,
anything else by HashiCorp's HCL parser; references and `jsonencode` resolved as Terraform
would; each block's file and line), shared between this process and child processes when
the tree is large. A plan (`terraform show -json`) is read into the same shape, so every
rule runs unchanged on either input. Beside the resources: what else the HCL holds that the
inventory does not (module calls, data sources, provisioners, `count`...), and every file
terraform would read under out/ENV with the manifest's hash of each (generator/read/sources.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from generator.errors import TfgenError
from generator.read.hcl import REF, Block, Construct, HclReadError, RootBlocks, read_root
from generator.read.sources import Sources, configuration_files, configuration_folders, read_sources


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
    constructs: list[Construct] = field(default_factory=list)  # from the HCL, whatever a plan replaces
    sources: Sources | None = None  # every file terraform reads under out/ENV, and the manifest's hashes
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
    """Every folder under out/ENV that holds files terraform reads as configuration (.tf,
    .tf.json), as a relative path."""
    return configuration_folders(out_env)


# Below this much HCL, a child reading half the roots saves less than it costs to start;
# above it, the children pay (docs/benchmarks.md, "Start-up tricks, measured").
PARALLEL_FROM_BYTES = 2_000_000


@dataclass
class Root:
    """One root as read: its resources, its aws provider blocks, and what else was found."""
    name: str  # "platform" or "teams/TEAM"
    resources: list[Resource]
    providers: list[Provider]
    constructs: list[Construct] = field(default_factory=list)


def read_roots(out_env: Path) -> Iterator[Root]:
    """Every root of out_env, each as soon as it is read: in the order roots_of lists them, or,
    for a large tree read in several processes, in the order they come in. A caller can start
    on a root while the rest are read (tfgen check hands its policies to AWS's catalogue)."""
    if not out_env.is_dir():
        raise TfgenError(f"{out_env} does not exist: run `tfgen render {out_env.name}` first")
    roots = roots_of(out_env)
    sizes = {root: sum(p.stat().st_size for p in configuration_files(out_env / root)) for root in roots}
    processes = min(os.cpu_count() or 1, len(roots))
    try:
        if processes > 1 and sum(sizes.values()) >= PARALLEL_FROM_BYTES:
            read = _read_shared(out_env, sorted(roots, key=sizes.__getitem__, reverse=True), processes)
        else:
            read = ((root, read_root(out_env, root)) for root in roots)
        for root, blocks in read:
            yield Root(root, [_resource(root, block) for block in blocks.resources],
                       [Provider(root, p.file, p.line, p.values) for p in blocks.providers], blocks.constructs)
    except HclReadError as error:
        raise TfgenError(f"{out_env.as_posix()}/{error}") from None


def from_roots(roots: Iterable[Root]) -> Inventory:
    """The inventory of these roots, in the order of their names (that of roots_of)."""
    inventory = Inventory()
    for root in sorted(roots, key=lambda root: root.name):
        inventory.roots.append(root.name)
        inventory.resources += root.resources
        inventory.providers += root.providers
        inventory.constructs += root.constructs
    return inventory


def from_hcl(out_env: Path) -> Inventory:
    """Every root of out_env, and the files terraform would read there."""
    inventory = from_roots(read_roots(out_env))
    inventory.sources = read_sources(out_env)
    return inventory


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

