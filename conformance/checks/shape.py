"""The non-streamed Message: its schema and its id."""

from __future__ import annotations

from ..exchange import UNPARSED
from ..findings import NotApplicable, Violation
from .registry import check
from .subject import Subject, show


@check("shape.message_schema")
def message_schema(s: Subject) -> list[Violation]:
    """Every SDK deserialises the Message into typed fields; a missing or mistyped one breaks them."""
    data = s.exchange.json
    if data is UNPARSED:
        return [Violation(f"Received: {s.exchange.not_json()}\nExpected: a Message object")]
    tolerated = {f"{name!r} is a required property" for name in s.contract.profile.strictness.get("tolerate_missing", ())}
    errors = [(pointer, message) for pointer, message in s.schemas.errors("message", data) if not (pointer == "/" and message in tolerated)]
    return [Violation(f"Received: {message}\nExpected: a Message as documented", at=pointer) for pointer, message in errors]


@check("shape.id_prefix")
def id_prefix(s: Subject) -> list[Violation]:
    """Clients and logs recognise messages by the msg_ prefix; Anthropic warns formats may change."""
    if s.reading is not None:
        start = next((d for _, d in s.events() if d.get("type") == "message_start"), None)
        message = start.get("message") if isinstance(start, dict) else None
        if not isinstance(message, dict):
            raise NotApplicable("no message_start.message to read an id from")
        at = "message_start /message/id"
    else:
        message, at = s.body(), "/id"
    value = message.get("id")
    if not isinstance(value, str):
        raise NotApplicable("no string id (judged by the schema checks)")
    if not value.startswith("msg_"):
        return [Violation(f"Received: id {show(value)}\nExpected: an id starting with msg_", at=at)]
    return []
