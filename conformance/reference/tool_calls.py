"""The toy model's tool calls: which tools it calls under each tool_choice, and with what input.

Owns the decision rules (contract §2.4): ``none`` never calls; ``tool`` calls the named tool; ``any``
calls the tool the prompt names, else the first; ``auto`` calls a tool only when the prompt names it
(its exact name as a word, or, case aside, as the prompt's first word: "read notes.txt" asks for
Read), the earliest named first. Inputs fill the schema's required properties from the prompt (an
enum value the prompt mentions, a capitalised place after "in", a number; for a path property, a
file name the prompt mentions, made absolute against the working directory the request states when
the property's description asks for an absolute path, as Claude Code's Read does), so they validate
against the tool's input_schema. A prompt that mentions several values of the first required
property gets one call per value (parallel calls) unless ``disable_parallel_tool_use`` is set.
A tool without ``strict: true`` gets a value the prompt spells out for a property (`city set to
"Paris, France"`) copied as written, schema or not, as an unconstrained model may; a strict tool's
inputs always come from its schema (structured-outputs guide: strict tool use guarantees
schema-valid inputs). Knows nothing about HTTP, SSE or validation.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from conformance._types import JSON, JSONObject
from conformance.reference.ids import base62

_PLACE = re.compile(r"\bin ([A-Z][\w-]*)")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_FILE_NAME = re.compile(r"[\w.~-]*\w\.[A-Za-z0-9]{1,8}")
_PATH_PROPERTIES = frozenset({"path", "file", "filename", "filepath", "file_path", "notebook_path"})
_FIRST_WORD = re.compile(r"\s*([A-Za-z][\w-]*)")


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
    return "toolu_01" + base62(22)


def _custom_tools(tools: Sequence[object]) -> list[JSONObject]:
    return [t for t in tools if isinstance(t, dict) and t.get("type") in (None, "custom") and isinstance(t.get("name"), str)]


def _mentioned(prompt: str, options: Sequence[JSON]) -> list[JSON]:
    found = [(prompt.find(str(o)), i, o) for i, o in enumerate(options) if str(o) and str(o) in prompt]
    return [o for _, _, o in sorted(found)]


def _quoted(prompt: str, name: str) -> str | None:
    """The value the prompt spells out for property ``name`` (`name set to "value"`), as written."""
    found = re.search(rf'\b{re.escape(name)}\s+(?:set\s+to|=|:)\s*"([^"]*)"', prompt)
    return found.group(1) if found else None


def _paths(prompt: str, *, absolute: bool, workdir: str | None) -> list[str]:
    """File names and paths the prompt mentions, in order; joined to ``workdir`` when an absolute path is wanted."""
    found: list[str] = []
    for word in prompt.split():
        token = word.strip("\"'`,;:()[]<>").rstrip(".?!")
        if token and ("/" in token or _FILE_NAME.fullmatch(token)):
            found.append(posixpath.normpath(posixpath.join(workdir, token)) if absolute and workdir and not token.startswith(("/", "~")) else token)
    return list(dict.fromkeys(found))


def _candidates(schema: Mapping[str, JSON], prompt: str, *, name: str = "", workdir: str | None = None) -> list[JSON]:
    """Values the prompt offers for one property, in the order it mentions them; never empty."""
    if "const" in schema:
        return [schema["const"]]
    if schema.get("type") == "string" and (name.lower() in _PATH_PROPERTIES or name.lower().endswith("_path")):
        description = schema.get("description")
        absolute = isinstance(description, str) and "absolute" in description.lower()
        paths: list[JSON] = list(_paths(prompt, absolute=absolute, workdir=workdir))
        if paths:
            return paths
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


def _inputs(tool: Mapping[str, JSON], prompt: str, *, parallel: bool, workdir: str | None = None) -> list[JSONObject]:
    schema = tool.get("input_schema")
    properties = schema.get("properties") if isinstance(schema, dict) else None
    required = schema.get("required") if isinstance(schema, dict) else None
    if not isinstance(properties, dict) or not isinstance(required, list):
        return [{}]
    names = [n for n in required if isinstance(n, str) and isinstance(properties.get(n), dict)]
    if not names:
        return [{}]
    base = {name: _candidates(properties[name], prompt, name=name, workdir=workdir)[0] for name in names}
    quoted = {} if tool.get("strict") is True else {name: value for name in names if (value := _quoted(prompt, name)) is not None}
    base |= quoted  # unconstrained: a value the prompt spells out is copied as written
    firsts = _candidates(properties[names[0]], prompt, name=names[0], workdir=workdir) if parallel and names[0] not in quoted else [base[names[0]]]
    return [{**base, names[0]: value} for value in firsts]


def _named(tools: list[JSONObject], prompt: str) -> list[JSONObject]:
    """The tools the prompt asks for, the earliest mentioned first: the exact name as a word, or the first word whatever its case."""
    first = _FIRST_WORD.match(prompt)
    verb = first.group(1).lower() if first else None
    found: list[tuple[int, int, JSONObject]] = []
    for order, tool in enumerate(tools):
        name = str(tool["name"])
        at = 0 if verb == name.lower() else -1
        hit = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", prompt)
        if hit is not None and (at < 0 or hit.start() < at):
            at = hit.start()
        if at >= 0:
            found.append((at, order, tool))
    return [tool for _, _, tool in sorted(found, key=lambda item: item[:2])]


def _chosen(tools: list[JSONObject], prompt: str, choice: Mapping[str, JSON]) -> JSONObject | None:
    kind = choice.get("type", "auto")
    named = _named(tools, prompt)
    if kind == "tool":
        return next((t for t in tools if t["name"] == choice.get("name")), None)
    if kind == "any":
        return (named or tools)[0] if tools else None
    if kind == "auto":
        return named[0] if named else None
    return None


def choose(prompt: str, tools: Sequence[object], tool_choice: object, *, workdir: str | None = None) -> tuple[ToolCall, ...]:
    """The calls the model makes for ``prompt`` (``workdir``: the working directory the request states, for relative paths); empty when it answers in text."""
    choice = tool_choice if isinstance(tool_choice, dict) else {}
    candidates = _custom_tools(tools)
    tool = _chosen(candidates, prompt, choice)
    if tool is None:
        return ()
    parallel = choice.get("disable_parallel_tool_use") is not True
    return tuple(ToolCall(id=tool_use_id(), name=tool["name"], input=value) for value in _inputs(tool, prompt, parallel=parallel, workdir=workdir))
