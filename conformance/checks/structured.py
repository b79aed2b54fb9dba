"""Structured outputs: output_config.format makes the text JSON valid against its schema, and strict tools get valid inputs.

Both are guarantees of constrained decoding (structured-outputs guide), so they are judged on every
answer whose request asked for them, whatever the model: a schema with one valid instance makes any
conforming answer exact. A clean refusal (400 invalid_request_error naming the field) is a legal
answer for a target without the feature; a 2xx whose text does not parse, or whose strict input
breaks its schema, means the constraint was dropped on the way. Pure functions over recorded values.
"""

from __future__ import annotations

from collections.abc import Mapping

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from .. import jsontext
from .._types import JSON, JSONObject
from ..findings import Judgement, NotApplicable, Violation, judgement
from ._probes import text_blocks
from .registry import check
from .server_tools import refusal_verdict
from .subject import Subject, show

# The answer was cut before constrained decoding could finish the instance (structured-outputs guide: invalid outputs).
_CUT = {"max_tokens": "max_tokens cut the answer", "refusal": "the answer is a refusal"}


def _format_schema(body: Mapping[str, JSON]) -> JSONObject | None:
    config = body.get("output_config")
    fmt = config.get("format") if isinstance(config, dict) else None
    schema = fmt.get("schema") if isinstance(fmt, dict) and fmt.get("type") == "json_schema" else None
    return schema if isinstance(schema, dict) else None


def _schema_errors(schema: JSONObject, value: JSON) -> list[str]:
    try:
        validator = Draft202012Validator(schema)
        return [f"{''.join(f'/{p}' for p in e.absolute_path) or '/'}: {e.message}" for e in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))[:3]]
    except SchemaError as exc:
        raise NotApplicable(f"the request's schema is no valid JSON Schema ({exc.message})") from None


@check("structured.output_format_honoured")
def output_format_honoured(s: Subject) -> Judgement:
    """SDKs parse the text of a structured answer as the format (messages.parse); text outside the schema raises in the client."""
    schema = _format_schema(s.request_json())
    if schema is None:
        raise NotApplicable("the request sets no output_config.format json_schema")
    if not s.exchange.ok:
        return refusal_verdict(s, ("output_config", "format", "json_schema"), "output_config.format")
    message = s.message()
    reason = message.get("stop_reason")
    if isinstance(reason, str) and reason in _CUT:
        raise NotApplicable(f"{_CUT[reason]} (stop_reason {show(reason)}), so the JSON may be unfinished")
    at = "rebuilt message /content" if s.reading is not None else "/content"
    text = "".join(t for _, t in text_blocks(message)).strip()
    try:
        value = jsontext.loads(text)
    except ValueError:
        return judgement(f"text {show(text[:60])}", [Violation(
            f"Received: text {show(text[:160])}, which is not JSON (stop_reason {show(reason)})\n"
            "Expected: one JSON value valid against output_config.format.schema (constrained decoding; the format was dropped on the way)",
            at=at,
        )])
    errors = _schema_errors(schema, value)
    item = f"JSON text {show(value)} against output_config.format.schema"
    if errors:
        return judgement(item, [Violation(f"Received: {show(value)}: {'; '.join(errors)}\nExpected: a value valid against output_config.format.schema", at=at)])
    return judgement(item)


def _strict_tools(body: Mapping[str, JSON]) -> dict[str, JSONObject]:
    tools = body.get("tools")
    if not isinstance(tools, list):
        return {}
    return {str(t["name"]): t for t in tools if isinstance(t, dict) and t.get("strict") is True and isinstance(t.get("name"), str)}


@check("structured.strict_tool_input_valid")
def strict_tool_input_valid(s: Subject) -> Judgement:
    """Strict tool use guarantees inputs valid against the schema, so clients pass them on unchecked; an invalid one breaks the tool."""
    strict = _strict_tools(s.request_json())
    if not strict:
        raise NotApplicable("the request has no tool with strict: true")
    if not s.exchange.ok:
        return refusal_verdict(s, ("strict",), "strict tool use")
    message = s.message()
    content = message.get("content")
    calls = [(i, b) for i, b in enumerate(content) if isinstance(b, dict) and b.get("type") == "tool_use" and b.get("name") in strict] if isinstance(content, list) else []
    if not calls:
        raise NotApplicable("no tool_use block for a strict tool")
    calls = [(i, b) for i, b in calls if isinstance(b.get("input"), dict)]
    if not calls:  # an input that is no object at all is shape.message_schema's (streamed: tools.stream_input_is_object's)
        raise NotApplicable("no strict tool call with an object input (judged by shape.message_schema and tools.stream_input_is_object)")
    found = []
    base = "rebuilt message /content" if s.reading is not None else "/content"
    for position, block in calls:
        schema = strict[str(block["name"])].get("input_schema")
        if not isinstance(schema, dict):
            continue
        errors = _schema_errors(schema, block.get("input"))
        if errors:
            found.append(Violation(
                f"Received: input {show(block.get('input'))} for the strict tool {show(block['name'])}: {'; '.join(errors)}\n"
                "Expected: an input valid against its input_schema (strict: true guarantees it; the flag was dropped on the way)",
                at=f"{base}/{position}/input",
            ))
    return judgement(f"the input of {len(calls)} strict tool call(s) against its input_schema", found)
