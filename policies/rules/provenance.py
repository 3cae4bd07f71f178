"""Provenance: what terraform reads under out/ENV is what tfgen rendered, and nothing in it is
of a kind tfgen never renders (TFG-SRC-001 and 002).

The other rules judge the design in the files; these two make sure the files are the whole
of what terraform applies. Terraform reads every `.tf` and `.tf.json` file of the folder it
runs in, merges the override files over them, runs provisioners, calls modules and reads data
sources from outside: a file tfgen did not write, or a hand edit, is applied without the
design's rules ever having been asked of it.
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.read.inventory import Inventory
from generator.read.sources import override
from generator.render.tree import MANIFEST, renderable
from policies.expected import Expected
from policies.rules.registry import Violation, rule

_FIX = "move what it holds into the YAML (or the file out of out/{env}), then render again"


def _folder(path: str) -> str:
    return path.rpartition("/")[0] or "."


def _never_rendered(path: str) -> str:
    name = path.rpartition("/")[2]
    if override(name):
        return "an override file: terraform merges it over what tfgen rendered, and tfgen never writes one"
    if name.endswith(".tf.json"):
        return "Terraform's JSON syntax, which tfgen never writes"
    if not name.endswith(".tf"):
        return "variable values terraform loads unasked; tfgen writes none"
    return ("tfgen never renders a file of this name or in this folder (it writes platform/NAME.tf and "
            "teams/TEAM/NAME.tf)")


@rule("TFG-SRC-001", "Every file terraform reads under out/ENV (each folder's .tf, .tf.json and auto-loaded "
                     ".tfvars files) is one tfgen rendered, as it rendered it: a regular file that the manifest "
                     "lists, with the manifest's hash; and every file the manifest lists is there.")
def rendered_by_tfgen(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    sources, env = inv.sources, exp.env
    if sources is None:
        yield Violation("TFG-SRC-001", ".", None, None, "the files of the tree were not read: nothing proves they "
                                                        "are tfgen's")
        return
    if sources.manifest is None:
        yield Violation("TFG-SRC-001", ".", MANIFEST, None, f"{sources.problem}; `tfgen render {env}` writes it with "
                                                            "the hash of every file it renders")
    listed = sources.manifest or {}
    seen = set()
    for source in sources.files:
        seen.add(source.path)
        where = (_folder(source.path), source.path)
        if source.kind == "link":
            yield Violation("TFG-SRC-001", *where, None, "a symbolic link: terraform reads what it points to, and "
                                                         "tfgen writes regular files only")
        elif source.kind == "folder link":
            yield Violation("TFG-SRC-001", *where, None, "a symbolic link to a folder: terraform, run there or "
                                                         "calling it as a module, reads files tfgen never wrote")
        elif source.kind != "file":
            yield Violation("TFG-SRC-001", *where, None, "not a regular file (tfgen writes regular files only)")
        elif not renderable(source.path):
            yield Violation("TFG-SRC-001", *where, None, f"{_never_rendered(source.path)}: terraform would apply "
                                                         f"it with what tfgen rendered; {_FIX.format(env=env)}")
        elif sources.manifest is None:
            continue  # said once, above
        elif source.path not in listed:
            yield Violation("TFG-SRC-001", *where, None, f"not written by tfgen (the manifest does not list it): "
                                                         f"terraform would apply it with what tfgen rendered; "
                                                         f"{_FIX.format(env=env)}")
        elif listed[source.path] != source.sha256:
            yield Violation("TFG-SRC-001", *where, None, "edited since tfgen rendered it (its hash is not the "
                                                         "manifest's): the rules judged what the YAML designs, and "
                                                         "this is no longer it; move the change into the YAML and "
                                                         f"render again (`tfgen render {env} --force` puts tfgen's "
                                                         "file back)")
    for path in sorted(set(listed) - seen):
        if not renderable(path):
            yield Violation("TFG-SRC-001", ".", MANIFEST, None, f"lists {path!r}, a path tfgen never writes: restore "
                                                                "the manifest from git, or render again")
        else:
            yield Violation("TFG-SRC-001", _folder(path), path, None, "listed in the manifest, but missing: "
                                                                      "terraform would apply its root without it; "
                                                                      f"`tfgen render {env}` writes it again")


def _why(kind: str, address: str, detail: str) -> str:
    if kind == "module":
        return (f"a module call (source = {detail or '?'}): terraform applies what the module declares, which the "
                "gate never reads; tfgen renders none")
    if kind == "data":
        if address.startswith("data.external."):
            return ('data "external" runs a program on the machine that plans, before anything is applied; tfgen '
                    "renders no data source")
        return "a data source: a value read at plan time is not the one reviewed; tfgen renders none (every value is " \
               "literal)"
    if kind == "provisioner":
        return (f"provisioner {detail}: runs commands on the machine that applies (or on a host it reaches); tfgen "
                "renders none")
    if kind in ("count", "for_each"):
        return (f"{kind} = {detail}: tfgen renders each resource once, and the rules judge that one; with {kind} "
                "terraform creates as many as it evaluates to (count = 0: none)")
    return f"a {kind} block: tfgen renders none, and the gate does not read it"


@rule("TFG-SRC-002", "Nothing in a root is of a kind tfgen never renders: no module call, data source or other "
                     "block type beyond tfgen's (resource, provider, locals, terraform, output, import, removed), "
                     "no provisioner, and no count or for_each on a resource.")
def nothing_tfgen_never_renders(inv: Inventory, exp: Expected) -> Iterator[Violation]:
    for found in inv.constructs:
        yield Violation("TFG-SRC-002", f"{found.root}:{found.address}", found.file, found.line,
                        _why(found.kind, found.address, found.detail))
