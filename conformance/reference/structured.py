"""Structured outputs in the toy model: what constrained decoding writes for a JSON schema, and the request rules around it.

Owns (structured-outputs guide, https://platform.claude.com/docs/en/build-with-claude/structured-outputs):
``output_config.format`` must be ``{"type": "json_schema", "schema": {...}}`` and makes the answer's
text one JSON instance of the schema; a tool with ``strict: true`` gets inputs that validate against its
input_schema. Constrained decoding is modelled by ``instance``: the schema's ``const``, its first
``enum`` value, the first branch of ``anyOf``/``oneOf``, every required property of an object, the
least value of a plain type. A schema whose only valid instance is fixed therefore gets exactly that
instance, as any conforming model writes it. Knows nothing about HTTP or streams.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from conformance._types import JSON, JSONObject
from conformance.reference import shapes
from conformance.reference.shapes import Problem, at

_PLAIN: dict[str, JSON] = {"string": "", "integer": 0, "number": 0, "boolean": False, "null": None, "object": {}}


def instance(schema: JSON) -> JSON:
    """The instance constrained decoding writes for ``schema``: valid against it whenever the schema is satisfiable this simply."""
    if not isinstance(schema, dict):
        return None
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    for key in ("anyOf", "oneOf", "allOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches:
            return instance(branches[0])
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or isinstance(schema.get("properties"), dict):
        properties = schema.get("properties")
        required = schema.get("required")
        if not isinstance(properties, dict):
            return {}
        names = [n for n in required if isinstance(n, str) and n in properties] if isinstance(required, list) else []
        return {name: instance(properties[name]) for name in names}
    if kind == "array":
        minimum = schema.get("minItems")
        return [instance(schema.get("items"))] if isinstance(minimum, int) and minimum > 0 else []
    return _PLAIN.get(kind) if isinstance(kind, str) else None


def text_for(schema: JSONObject) -> str:
    """The answer's text under ``output_config.format``: the instance as JSON, spaced as Claude writes it (capture 39)."""
    return json.dumps(instance(schema), ensure_ascii=False)


def output_schema(output_config: object) -> JSONObject | None:
    """The JSON schema ``output_config.format`` asks the answer to follow, None when there is none."""
    if not isinstance(output_config, dict):
        return None
    fmt = output_config.get("format")
    schema = fmt.get("schema") if isinstance(fmt, dict) and fmt.get("type") == "json_schema" else None
    return schema if isinstance(schema, dict) else None


def output_config_problem(value: object) -> Problem:
    """``output_config``: an object whose ``format``, when set, is ``{type: json_schema, schema: object}`` (SDK JSONOutputFormatParam)."""
    if value is None:
        return None
    problem = shapes.obj("output_config", value)
    if problem or not isinstance(value, dict):
        return problem
    fmt = value.get("format")
    if fmt is None:
        return None
    problem = shapes.obj("output_config.format", fmt)
    if problem or not isinstance(fmt, dict):
        return problem
    problem = shapes.literal("output_config.format.type", fmt.get("type"), ("json_schema",))
    if problem:
        return problem
    if "schema" not in fmt:
        return at("output_config.format.schema", shapes.FIELD_REQUIRED)
    return shapes.obj("output_config.format.schema", fmt["schema"])


def strict(tool: Mapping[str, JSON]) -> bool:
    """Whether a tool asks for strict tool use (its inputs guaranteed valid against its input_schema)."""
    return tool.get("strict") is True
