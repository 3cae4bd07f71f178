"""tfgen schema: the JSON Schema of an environment file, generated from the models.

Environment files hold only what differs from the file they inherit from, so no field is
required in the schema (the merged result is still validated in full by tfgen itself).
"""

from __future__ import annotations

import json

from generator.config.loader import INHERITS_KEY
from generator.config.models import Environment


def _optional(node: object) -> object:
    if isinstance(node, dict):
        return {k: _optional(v) for k, v in node.items() if k != "required"}
    if isinstance(node, list):
        return [_optional(v) for v in node]
    return node


def environment_schema() -> dict:
    schema = _optional(Environment.model_json_schema())
    schema["properties"] = {
        INHERITS_KEY: {"type": "string", "description": "The file (without .yaml) this environment inherits from."},
        **schema["properties"],
    }
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "tfgen environment"
    return schema


def schema_text() -> str:
    return json.dumps(environment_schema(), indent=2, sort_keys=True) + "\n"
