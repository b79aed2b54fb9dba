"""The non-streamed Message: its schema and its id."""

from __future__ import annotations

from ..exchange import UNPARSED
from ..findings import Judgement, NotApplicable, Violation, judgement
from .registry import check
from .subject import Subject, counted, show


@check("shape.message_schema")
def message_schema(s: Subject) -> Judgement:
    """Every SDK deserialises the Message into typed fields; a missing or mistyped one breaks them."""
    data = s.exchange.json
    if data is UNPARSED:
        s.whole()  # a body a limit of ours cut is no JSON through our doing
        return judgement("the body", [Violation(f"Received: {s.exchange.not_json()}\nExpected: a Message object")])
    tolerated = {f"{name!r} is a required property" for name in s.contract.profile.strictness.get("tolerate_missing", ())}
    errors = [(pointer, message) for pointer, message in s.schemas.errors("message", data) if not (pointer == "/" and message in tolerated)]
    return judgement("the body against the Message schema", [Violation(f"Received: {message}\nExpected: a Message as documented", at=pointer) for pointer, message in errors])


@check("shape.id_prefix")
def id_prefix(s: Subject) -> Judgement:
    """Clients and logs recognise messages by the msg_ prefix; Anthropic warns formats may change."""
    if s.reading is not None:
        start = next((d for _, d in s.events() if d.get("type") == "message_start"), None)
        message = start.get("message") if isinstance(start, dict) else None
        if not isinstance(message, dict):
            raise s.unjudged("no message_start.message to read an id from (judged by stream.message_start_first and stream.event_schema)")
        at = "message_start /message/id"
    else:
        message, at = s.body(), "/id"
    value = message.get("id")
    if not isinstance(value, str):
        raise NotApplicable("no string id (judged by the schema checks)")
    item = f"id {show(value)}"
    if not value.startswith("msg_"):
        return judgement(item, [Violation(f"Received: id {show(value)}\nExpected: an id starting with msg_", at=at)])
    return judgement(item)


@check("shape.status_is_200")
def status_is_200(s: Subject) -> Judgement:
    """Anthropic answers every success with 200; clients that test for it (not for 2xx) treat 201 or 202 as failures."""
    item = f"status {s.exchange.status}"
    if s.exchange.status != 200:
        return judgement(item, [Violation(f"Received: status {s.exchange.status}\nExpected: 200", at="status")])
    return judgement(item)


# OpenAI Chat Completions and Responses vocabulary that translating gateways leak (peers.md §4.6 #27).
_OPENAI_FIELDS = ("object", "choices", "created", "system_fingerprint")
_OPENAI_USAGE = ("prompt_tokens", "completion_tokens", "total_tokens")
_OPENAI_BLOCKS = ("output_text", "input_text", "function_call", "reasoning")


@check("shape.no_openai_fields")
def no_openai_fields(s: Subject) -> Judgement:
    """A translated answer that keeps OpenAI's fields or block types shows clients a text they cannot find (type output_text is not text)."""
    message = s.message()
    found: list[str] = [f"/{key}" for key in _OPENAI_FIELDS if key in message]
    usage = message.get("usage")
    if isinstance(usage, dict):
        found += [f"/usage/{key}" for key in _OPENAI_USAGE if key in usage]
    content = message.get("content")
    blocks = content if isinstance(content, list) else []
    found += [f"/content/{i}/type {show(b['type'])}" for i, b in enumerate(blocks) if isinstance(b, dict) and b.get("type") in _OPENAI_BLOCKS]
    where = "the message rebuilt from the stream" if s.reading is not None else "the message"
    item = f"the fields, usage keys and {counted(len(blocks), 'block type')} of {where}"
    if not found:
        return judgement(item)
    return judgement(item, [Violation(f"Received: OpenAI fields in {where}: {', '.join(found)}\nExpected: Anthropic's Message fields and content block types only", at=found[0].split(" ")[0])])
