"""The one piece of `terraform fmt` the templates cannot do themselves: align the `=`.

terraform fmt pads the names of consecutive one-line attributes at the same depth so
their `=` line up. Templates write `name = value` with one space; this pass pads, so
rendering needs no terraform binary and stays byte-for-byte deterministic. The tests
run `terraform fmt -check` over every rendered root to prove the two agree.
"""

import re

_NAME = r'[A-Za-z_][\w-]*|"[^"\n]*"'
# A one-line attribute: its value does not open a block, list or call that spans lines
# (terraform fmt aligns neither such a line nor across it).
_ONE_LINE = rf"(?:{_NAME}) = [^\n]*(?<![{{\[(])"
# A run: consecutive one-line attributes at the same indent. The regex engine finds runs;
# Python only pads the ones with more than one line.
_RUN = re.compile(rf"^( *)(?:{_ONE_LINE})(?:\n\1(?:{_ONE_LINE}))*$", re.MULTILINE)
_SPLIT = re.compile(rf"^( *)({_NAME}) = (.*)$")


def align_attributes(text: str) -> str:
    return _RUN.sub(_align_run, text)


def _align_run(run: re.Match) -> str:
    block = run.group(0)
    if "\n" not in block:
        return block
    rows = [_SPLIT.match(line).groups() for line in block.split("\n")]
    width = max(len(name) for _, name, _ in rows)
    return "\n".join(f"{indent}{name.ljust(width)} = {value}" for indent, name, value in rows)
