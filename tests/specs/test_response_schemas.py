"""The response JSON Schemas under specs/messages/2023-06-01/schemas/.

Three promises are checked here:

* every schema is valid Draft 2020-12 and every ``$ref`` resolves through a registry keyed by ``$id``
  (cross-file refs are relative file names);
* every real Anthropic response in ``tests/fixtures/captures`` validates against the schema of its kind,
  with zero errors (real traffic is the final word: if a capture fails, the schema is wrong);
* realistic gateway deviations (research/peers.md §4.6) are rejected, and jsonschema's ``best_match``
  error names the offending field; legal oddities (unknown types, extra keys, new stop reasons) pass.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "specs" / "messages" / "2023-06-01" / "schemas"
CAPTURES = ROOT / "tests" / "fixtures" / "captures"
BASE_ID = "https://anthropic-conformance.invalid/schemas/"

SCHEMA_FILES = sorted(SCHEMA_DIR.glob("*.json"))
EXPECTED_SCHEMAS = {
    "usage.json",
    "content_block.json",
    "message.json",
    "error.json",
    "stream_event.json",
    "count_tokens.json",
    "model_info.json",
    "models_list.json",
}


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


SCHEMAS: dict[str, dict[str, Any]] = {p.name: _load(p) for p in SCHEMA_FILES}
REGISTRY: Registry = Registry().with_resources(
    (schema["$id"], Resource.from_contents(schema)) for schema in SCHEMAS.values()
)


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(SCHEMAS[name], registry=REGISTRY)


def errors_of(name: str, instance: Any) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in validator(name).iter_errors(instance)]


def sse_payloads(text: str) -> Iterator[tuple[str | None, Any]]:
    """Split a plain-LF SSE body into events; yield (event name, parsed data payload)."""
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        event = None
        data: list[str] = []
        for line in block.split("\n"):
            if line.startswith("event:"):
                event = line[len("event:") :].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:") :].removeprefix(" "))
        assert data, f"SSE event without a data line: {block[:120]!r}"
        yield event, json.loads("\n".join(data))


# --------------------------------------------------------------------------- schema files


def test_all_expected_schema_files_present() -> None:
    assert {p.name for p in SCHEMA_FILES} >= EXPECTED_SCHEMAS


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_schema_is_valid_draft_2020_12(path: Path) -> None:
    schema = _load(path)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == BASE_ID + path.name
    assert schema["title"]
    assert "http" in schema["description"], "description must cite its sources"


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_every_ref_resolves(path: Path) -> None:
    schema = SCHEMAS[path.name]
    resolver = REGISTRY.resolver(base_uri=schema["$id"])
    refs = list(_refs(schema))
    for ref in refs:
        resolved = resolver.lookup(ref)
        assert isinstance(resolved.contents, dict), ref
    # Cross-file refs are relative file names, never absolute URLs.
    assert not [r for r in refs if r.startswith(("http:", "https:"))]


# --------------------------------------------------------------------------- real captures


def _kind(path: Path) -> str:
    """Schema for a top-level capture file, by its number (see captures/INDEX.md)."""
    number = int(path.name.split("-", 1)[0])
    if path.suffix == ".sse":
        return "stream_event.json"
    if 31 <= number <= 47:
        return "message.json"
    if 50 <= number <= 60:
        return "error.json"
    if number in (65, 66):
        return "count_tokens.json"
    if number == 70:
        return "models_list.json"
    raise AssertionError(f"no schema kind known for capture {path.name}")


JSON_CAPTURES = sorted(CAPTURES.glob("*.json"))
SSE_CAPTURES = sorted(CAPTURES.glob("*.sse")) + sorted((CAPTURES / "fragments").glob("*.sse"))


def test_captures_present() -> None:
    # INDEX.md: 60 top-level items (30 .sse, 30 .json) plus fragments f1 (.sse) and f2 (.json).
    assert len(JSON_CAPTURES) >= 30
    assert len(SSE_CAPTURES) >= 31
    assert (CAPTURES / "INDEX.md").is_file()


@pytest.mark.parametrize("path", JSON_CAPTURES, ids=lambda p: p.name)
def test_json_capture_validates(path: Path) -> None:
    assert errors_of(_kind(path), _load(path)) == []


def test_fragment_f2_is_a_valid_error_event() -> None:
    payload = _load(CAPTURES / "fragments" / "f2-midstream-overloaded-data-2025-03.json")
    assert errors_of("stream_event.json", payload) == []
    assert errors_of("error.json", payload) == []


@pytest.mark.parametrize("path", SSE_CAPTURES, ids=lambda p: p.name)
def test_sse_capture_every_event_validates(path: Path) -> None:
    events = list(sse_payloads(path.read_text(encoding="utf-8")))
    assert events
    assert [name for name, _ in events] == [payload.get("type") for _, payload in events]
    problems = [
        f"event {i} ({payload.get('type')}): {err}"
        for i, (_, payload) in enumerate(events)
        for err in errors_of("stream_event.json", payload)
    ]
    assert problems == []


# --------------------------------------------------------------------------- synthetic cases


def good_message() -> dict[str, Any]:
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Let me check."},
            {
                "type": "tool_use",
                "id": "toolu_01A09q90qw90lq917835lq9",
                "name": "get_weather",
                "input": {"city": "Paris"},
            },
        ],
        "model": "claude-sonnet-4-5-20250929",
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 30},
    }


def good_start_message() -> dict[str, Any]:
    msg = good_message()
    msg.update(content=[], stop_reason=None, usage={"input_tokens": 12, "output_tokens": 1})
    return msg


def without(obj: dict[str, Any], key: str) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    del out[key]
    return out


def with_(obj: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out.update(changes)
    return out


def message_delta(*, usage: dict[str, Any] | None, stop_reason: str = "end_turn") -> dict[str, Any]:
    """A message_delta event with this usage object (None: without one)."""
    event: dict[str, Any] = {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None}}
    if usage is not None:
        event["usage"] = usage
    return event


def _message_with_block(block: dict[str, Any]) -> dict[str, Any]:
    return with_(good_message(), content=[block])


# Each case: (id, schema, instance, JSON path of the best_match error, substring of its message).
NEGATIVE_CASES: list[tuple[str, str, Any, str, str]] = [
    (
        "message-missing-stop_sequence",
        "message.json",
        without(good_message(), "stop_sequence"),
        "$",
        "'stop_sequence' is a required property",
    ),
    (
        "message-stop_reason-null",
        "message.json",
        with_(good_message(), stop_reason=None),
        "$.stop_reason",
        "None is not of type 'string'",
    ),
    (
        "usage-output_tokens-string",
        "message.json",
        with_(good_message(), usage={"input_tokens": 12, "output_tokens": "30"}),
        "$.usage.output_tokens",
        "'30' is not of type 'integer'",
    ),
    (
        "usage-missing-input_tokens",
        "message.json",
        with_(good_message(), usage={"output_tokens": 30}),
        "$.usage",
        "'input_tokens' is a required property",
    ),
    (
        "usage-negative-output_tokens",
        "message.json",
        with_(good_message(), usage={"input_tokens": 12, "output_tokens": -1}),
        "$.usage.output_tokens",
        "-1 is less than the minimum of 0",
    ),
    (
        "message-id-not-string",
        "message.json",
        with_(good_message(), id=1234),
        "$.id",
        "1234 is not of type 'string'",
    ),
    (
        "message-role-model",
        "message.json",
        with_(good_message(), role="model"),
        "$.role",
        "'assistant' was expected",
    ),
    (
        "message-type-chat-completion",
        "message.json",
        with_(good_message(), type="chat.completion"),
        "$.type",
        "'message' was expected",
    ),
    (
        "message-content-not-array",
        "message.json",
        with_(good_message(), content="Hello"),
        "$.content",
        "'Hello' is not of type 'array'",
    ),
    (
        "tool_use-without-input",
        "message.json",
        _message_with_block({"type": "tool_use", "id": "toolu_01", "name": "get_weather"}),
        "$.content[0]",
        "'input' is a required property",
    ),
    (
        "tool_use-input-string",
        "message.json",
        _message_with_block(
            {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": '{"city":"Paris"}'}
        ),
        "$.content[0].input",
        "is not of type 'object'",
    ),
    (
        "tool_use-id-with-spaces",
        "message.json",
        _message_with_block(
            {"type": "tool_use", "id": "call 0 get_weather", "name": "get_weather", "input": {}}
        ),
        "$.content[0].id",
        "does not match '^[a-zA-Z0-9_-]+$'",
    ),
    (
        "text-block-text-null",
        "message.json",
        _message_with_block({"type": "text", "text": None}),
        "$.content[0].text",
        "None is not of type 'string'",
    ),
    (
        "thinking-block-without-signature",
        "message.json",
        _message_with_block({"type": "thinking", "thinking": "hmm"}),
        "$.content[0]",
        "'signature' is a required property",
    ),
    (
        "block-without-type",
        "message.json",
        _message_with_block({"text": "hi"}),
        "$.content[0]",
        "'type' is a required property",
    ),
    (
        "error-openai-shape",
        "error.json",
        {"error": {"message": "x", "type": "invalid_request_error", "param": None, "code": None}},
        "$",
        "'type' is a required property",
    ),
    (
        "error-fastapi-detail",
        "error.json",
        {"detail": [{"loc": ["body", "max_tokens"], "msg": "Field required", "type": "missing"}]},
        "$",
        "is a required property",
    ),
    (
        "error-type-nil",
        "error.json",
        {"type": "<nil>", "error": {"type": "<nil>", "message": "upstream error"}},
        "$.type",
        "'error' was expected",
    ),
    (
        "error-message-missing",
        "error.json",
        {"type": "error", "error": {"type": "api_error"}},
        "$.error",
        "'message' is a required property",
    ),
    (
        "error-error-is-string",
        "error.json",
        {"type": "error", "error": "Overloaded"},
        "$.error",
        "'Overloaded' is not of type 'object'",
    ),
    (
        "stream-error-event-openai-shape",
        "stream_event.json",
        {"type": "error", "error": {"message": "boom", "code": 500}},
        "$.error",
        "'type' is a required property",
    ),
    (
        "content_block_start-tool_use-without-input",
        "stream_event.json",
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_01", "name": "get_weather"},
        },
        "$.content_block",
        "'input' is a required property",
    ),
    (
        "content_block_start-text-without-text",
        "stream_event.json",
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text"}},
        "$.content_block",
        "'text' is a required property",
    ),
    (
        "message_delta-without-usage",
        "stream_event.json",
        message_delta(usage=None),
        "$",
        "'usage' is a required property",
    ),
    (
        "message_delta-usage-without-output_tokens",
        "stream_event.json",
        message_delta(usage={"input_tokens": 25}),
        "$.usage",
        "'output_tokens' is a required property",
    ),
    (
        "content_block_delta-index-string",
        "stream_event.json",
        {"type": "content_block_delta", "index": "0", "delta": {"type": "text_delta", "text": "Hi"}},
        "$.index",
        "'0' is not of type 'integer'",
    ),
    (
        "text_delta-without-text",
        "stream_event.json",
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "content": "Hi"}},
        "$.delta",
        "'text' is a required property",
    ),
    (
        "message_start-message-usage-missing",
        "stream_event.json",
        {"type": "message_start", "message": without(good_start_message(), "usage")},
        "$.message",
        "'usage' is a required property",
    ),
    (
        "event-without-type",
        "stream_event.json",
        {"choices": [{"delta": {"content": "Hi"}}]},
        "$",
        "'type' is a required property",
    ),
    (
        "count_tokens-openai-shape",
        "count_tokens.json",
        {"prompt_tokens": 10},
        "$",
        "'input_tokens' is a required property",
    ),
    (
        "models-list-openai-shape",
        "models_list.json",
        {
            "object": "list",
            "data": [{"id": "claude-sonnet-4-5", "object": "model", "created": 0, "owned_by": "anthropic"}],
        },
        "$",
        "is a required property",
    ),
    (
        "model-info-created_at-epoch-int",
        "model_info.json",
        {
            "type": "model",
            "id": "claude-sonnet-4-5",
            "display_name": "Claude Sonnet 4.5",
            "created_at": 1727568000,
        },
        "$.created_at",
        "1727568000 is not of type 'string'",
    ),
]


@pytest.mark.parametrize(
    ("schema", "instance", "path", "message"),
    [pytest.param(*case[1:], id=case[0]) for case in NEGATIVE_CASES],
)
def test_deviation_rejected_with_named_field(schema: str, instance: Any, path: str, message: str) -> None:
    v = validator(schema)
    assert not v.is_valid(instance)
    error = best_match(v.iter_errors(instance))
    assert error is not None
    assert error.json_path == path, f"{error.json_path}: {error.message}"
    assert message in error.message, f"{error.json_path}: {error.message}"


def _all_extra(obj: Any) -> Any:
    """Add an unknown key to every object (extras must be allowed everywhere)."""
    if isinstance(obj, dict):
        out = {k: _all_extra(v) for k, v in obj.items()}
        if not (obj.keys() == {"input"} or "partial_json" in obj):
            out["x_future_field"] = {"nested": [1, None]}
        return out
    if isinstance(obj, list):
        return [_all_extra(v) for v in obj]
    return obj


POSITIVE_CASES: list[tuple[str, str, Any]] = [
    (
        "unknown-block-type",
        "message.json",
        _message_with_block({"type": "future_tool_result", "tool_use_id": "srvtoolu_01", "content": None}),
    ),
    (
        "known-server-blocks",
        "message.json",
        with_(
            good_message(),
            content=[
                {
                    "type": "server_tool_use",
                    "id": "srvtoolu_01",
                    "name": "web_search",
                    "input": {"query": "q"},
                },
                {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_01", "content": []},
                {"type": "redacted_thinking", "data": "EmwKAhgB"},
                {"type": "thinking", "thinking": "", "signature": "CAIS"},
                {"type": "text", "text": "", "citations": None},
            ],
        ),
    ),
    ("unknown-event-type", "stream_event.json", {"type": "message_heartbeat", "seq": 3}),
    (
        "unknown-delta-type",
        "stream_event.json",
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "compaction_delta", "content": "summary"},
        },
    ),
    ("extra-fields-everywhere-message", "message.json", _all_extra(good_message())),
    (
        "extra-fields-everywhere-events",
        "stream_event.json",
        _all_extra(message_delta(usage={"output_tokens": 3})),
    ),
    (
        "extra-fields-everywhere-start",
        "stream_event.json",
        _all_extra({"type": "message_start", "message": good_start_message()}),
    ),
    (
        "extra-fields-everywhere-error",
        "error.json",
        _all_extra(
            {
                "type": "error",
                "error": {"type": "overloaded_error", "message": "Overloaded"},
                "request_id": None,
            }
        ),
    ),
    (
        "thinking-start-without-signature",
        "stream_event.json",
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
    ),
    (
        "thinking-start-empty-signature",
        "stream_event.json",
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "thinking", "thinking": "", "signature": ""},
        },
    ),
    (
        "text-start-citations-before-type",
        "stream_event.json",
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"citations": [], "type": "text", "text": ""},
        },
    ),
    (
        "refusal-empty-content-stop_details",
        "message.json",
        with_(
            good_message(),
            content=[],
            stop_reason="refusal",
            stop_details={"type": "refusal", "category": "cyber", "explanation": "blocked"},
            usage={"input_tokens": 97, "output_tokens": 0},
        ),
    ),
    (
        "stop_reason-model_context_window_exceeded",
        "message.json",
        with_(good_message(), stop_reason="model_context_window_exceeded"),
    ),
    ("stop_reason-pause_turn", "message.json", with_(good_message(), stop_reason="pause_turn")),
    ("stop_reason-new-value-compaction", "message.json", with_(good_message(), stop_reason="compaction")),
    (
        "message_delta-new-stop_reason",
        "stream_event.json",
        message_delta(usage={"output_tokens": 0}, stop_reason="compaction"),
    ),
    (
        "message_delta-usage-null-cache-counters",
        "stream_event.json",
        message_delta(
            usage={
                "output_tokens": 5,
                "input_tokens": None,
                "cache_read_input_tokens": None,
                "cache_creation_input_tokens": None,
                "server_tool_use": None,
            }
        ),
    ),
    (
        "usage-nullable-fields",
        "message.json",
        with_(
            good_message(),
            usage={
                "input_tokens": 0,
                "output_tokens": 0,
                "cache_creation_input_tokens": None,
                "cache_read_input_tokens": None,
                "cache_creation": None,
                "server_tool_use": None,
                "service_tier": None,
            },
        ),
    ),
    (
        "error-with-details-and-request_id",
        "error.json",
        {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "message": "too big",
                "details": {"error_code": "image_dimensions_too_large"},
            },
            "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy",
        },
    ),
    # error.type is not enumerated in the schema; "<nil>" there is judged by the error-type check.
    (
        "error-type-value-not-enumerated",
        "error.json",
        {"type": "error", "error": {"type": "<nil>", "message": "x"}},
    ),
    ("count_tokens-extra-key", "count_tokens.json", {"input_tokens": 0, "cache_hint": True}),
    (
        "models-list-empty-page",
        "models_list.json",
        {"data": [], "has_more": False, "first_id": None, "last_id": None},
    ),
    (
        "model-info-2026-fields",
        "model_info.json",
        {
            "type": "model",
            "id": "claude-opus-5",
            "display_name": "Claude Opus 5",
            "created_at": "2026-07-01T00:00:00Z",
            "max_input_tokens": 1000000,
            "max_tokens": 128000,
            "capabilities": {"thinking": {"supported": True}},
            "lifecycle": "active",
        },
    ),
    ("ping", "stream_event.json", {"type": "ping"}),
    ("message_stop", "stream_event.json", {"type": "message_stop"}),
]


@pytest.mark.parametrize(("schema", "instance"), [pytest.param(*c[1:], id=c[0]) for c in POSITIVE_CASES])
def test_legal_oddity_accepted(schema: str, instance: Any) -> None:
    assert errors_of(schema, instance) == []


def test_non_object_block_reports_one_error() -> None:
    # The if/then dispatch only fires on objects, so a bare string yields a single, clear error.
    assert errors_of("message.json", _message_with_block("hello")) == [  # type: ignore[arg-type]
        "$.content[0]: 'hello' is not of type 'object'"
    ]


def test_start_message_accepts_null_stop_reason_but_final_message_does_not() -> None:
    start = good_start_message()
    assert errors_of("stream_event.json", {"type": "message_start", "message": start}) == []
    assert errors_of("message.json", start) != []
