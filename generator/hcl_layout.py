"""The one piece of `terraform fmt` the templates cannot do themselves: align the `=`.

terraform fmt pads the names of consecutive one-line attributes at the same depth so
their `=` line up. Templates write `name = value` with one space; this pass pads, so
rendering needs no terraform binary and stays byte-for-byte deterministic. The tests
run `terraform fmt -check` over every rendered root to prove the two agree.
"""

import re

_ATTRIBUTE = re.compile(r'^(?P<indent> *)(?P<name>[A-Za-z_][\w-]*|"[^"]*") = (?P<value>.*)$')


def align_attributes(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    run: list[re.Match] = []

    def flush() -> None:
        width = max((len(m["name"]) for m in run), default=0)
        out.extend(f'{m["indent"]}{m["name"].ljust(width)} = {m["value"]}' for m in run)
        run.clear()

    for line in lines:
        match = _ATTRIBUTE.match(line)
        # A value that spans lines stands alone: terraform fmt aligns neither it nor across it.
        if match and not _opens_block(match["value"]):
            if run and match["indent"] != run[0]["indent"]:
                flush()
            run.append(match)
            continue
        flush()
        out.append(line)
    flush()
    return "\n".join(out)


def _opens_block(value: str) -> bool:
    return value.rstrip().endswith(("{", "[", "(", "({"))
