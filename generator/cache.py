"""Where tfgen keeps what it can always rebuild, only to start faster: AWS's IAM catalogue
for `tfgen check` (policies/iam_catalogue.py) and the compiled templates for `tfgen render`
(generator/render.py). Nothing in it is ever the only copy of anything: deleting it is safe,
and a folder that cannot be written means no cache, never an error."""

from __future__ import annotations

import os


def cache_dir() -> str:
    """$XDG_CACHE_HOME/tfgen, else ~/.cache/tfgen."""
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
                        "tfgen")
