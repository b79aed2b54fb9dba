"""The toy model's tool calls: which tools it calls under each tool_choice, and with what input.

Owns the decision rules (contract §2.4): ``none`` never calls; ``tool`` calls the named tool; ``any``
calls the tool the prompt names, else the first; ``auto`` calls a tool only when the prompt names it.
Inputs fill the schema's required properties from the prompt (an enum value the prompt mentions, a
capitalised place after "in", a number), so they validate against the tool's input_schema. A prompt
that mentions several values of the first required property gets one call per value (parallel
calls) unless ``disable_parallel_tool_use`` is set. A tool without ``strict: true`` gets a value the
prompt spells out for a property (`city set to "Paris, France"`) copied as written, schema or not, as an
unconstrained model may; a strict tool's inputs always come from its schema (structured-outputs guide:
strict tool use guarantees schema-valid inputs). Knows nothing about HTTP, SSE or validation.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from conformance._types import JSON, JSONObject

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_PLACE = re.compile(r"\bin ([A-Z][\w-]*)")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool_use block the model emits."""

    id: str
    name: str
    input: JSONObject

    @property
    def input_json(self) -> str:
        """The input as the JSON text a stream sends in input_json_delta pieces."""
        return json.dumps(self.input, ensure_ascii=False)

    def block(self) -> JSONObject:
        """The tool_use content block of a non-streamed Message."""
        return {"type": "tool_use", "id": self.id, "name": self.name, "input": self.input}


def tool_use_id() -> str:
    """`toolu_01` + 22 base62 characters, the shape of first-party tool_use ids."""
    return "toolu_01" + "".join(secrets.choice(_BASE62) for _ in range(22))


def _custom_tools(tools: Sequence[object]) -> list[JSONObject]:
    return [t for t in tools if isinstance(t, dict) and t.get("type") in (None, "custom") and isinstance(t.get("name"), str)]


def _mentioned(prompt: str, options: Sequence[JSON]) -> list[JSON]:
    found = [(prompt.find(str(o)), i, o) for i, o in enumerate(options) if str(o) and str(o) in prompt]
    return [o for _, _, o in sorted(found)]


def _quoted(prompt: str, name: str) -> str | None:
    """The value the prompt spells out for property ``name`` (`name set to "value"`), as written."""
    found = re.search(rf'\b{re.escape(name)}\s+(?:set\s+to|=|:)\s*"([^"]*)"', prompt)
    return found.group(1) if found else None


def _candidates(schema: Mapping[str, JSON], prompt: str) -> list[JSON]:
    """Values the prompt offers for one property, in the order it mentions them; never empty."""
    if "const" in schema:
        return [schema["const"]]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return _mentioned(prompt, enum) or [enum[0]]
    kind = schema.get("type")
    if kind == "string":
        return list(dict.fromkeys(_PLACE.findall(prompt))) or ["example"]
    if kind in ("integer", "number"):
        numbers = [float(n) if kind == "number" else int(float(n)) for n in _NUMBER.findall(prompt)]
        return list(dict.fromkeys(numbers)) or [1]
    defaults: dict[str, JSON] = {"boolean": True, "array": [], "object": {}, "null": None}
    return [defaults.get(kind, "example") if isinstance(kind, str) else "example"]


def _inputs(tool: Mapping[str, JSON], prompt: str, *, parallel: bool) -> list[JSONObject]:
    schema = tool.get("input_schema")
    properties = schema.get("properties") if isinstance(schema, dict) else None
    required = schema.get("required") if isinstance(schema, dict) else None
    if not isinstance(properties, dict) or not isinstance(required, list):
        return [{}]
    names = [n for n in required if isinstance(n, str) and isinstance(properties.get(n), dict)]
    if not names:
        return [{}]
    base = {name: _candidates(properties[name], prompt)[0] for name in names}
    quoted = {} if tool.get("strict") is True else {name: value for name in names if (value := _quoted(prompt, name)) is not None}
    base |= quoted  # unconstrained: a value the prompt spells out is copied as written
    firsts = _candidates(properties[names[0]], prompt) if parallel and names[0] not in quoted else [base[names[0]]]
    return [{**base, names[0]: value} for value in firsts]


def _chosen(tools: list[JSONObject], prompt: str, choice: Mapping[str, JSON]) -> JSONObject | None:
    kind = choice.get("type", "auto")
    named = [t for t in tools if t["name"] in prompt]
    if kind == "tool":
        return next((t for t in tools if t["name"] == choice.get("name")), None)
    if kind == "any":
        return (named or tools)[0] if tools else None
    if kind == "auto":
        return named[0] if named else None
    return None


def choose(prompt: str, tools: Sequence[object], tool_choice: object) -> tuple[ToolCall, ...]:
    """The calls the model makes for ``prompt``; empty when it answers in text."""
    choice = tool_choice if isinstance(tool_choice, dict) else {}
    candidates = _custom_tools(tools)
    tool = _chosen(candidates, prompt, choice)
    if tool is None:
        return ()
    parallel = choice.get("disable_parallel_tool_use") is not True
    return tuple(ToolCall(id=tool_use_id(), name=tool["name"], input=value) for value in _inputs(tool, prompt, parallel=parallel))
