"""The non-streamed Message: its schema and its id."""

from __future__ import annotations

import json
import re
from urllib.parse import quote, urlsplit

from ..exchange import UNPARSED, Exchange
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
    errors = s.schemas.errors("message", data, may_lack=s.contract.profile.strictness.get("tolerate_missing", ()))
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


# ------------------------------------------------- across the run: the model named, the ids given (issue 9)


def _answered_model(s: Subject, requested: str) -> str | None:
    """The id GET /v1/models/{requested} answered in this run (an alias resolves to its snapshot), or None."""
    path = "/v1/models/" + quote(requested, safe="")
    for exchange in s.peers.values():
        data = exchange.json
        if exchange.ok and exchange.request.method == "GET" and urlsplit(exchange.request.url).path.endswith(path) and isinstance(data, dict):
            found = data.get("id")
            return found if isinstance(found, str) else None
    return None


@check("shape.model_matches_request")
def model_matches_request(s: Subject) -> Judgement:
    """Clients log, price and display the answer's model; another id than the one asked for (or its snapshot) misattributes the call."""
    requested = s.request_json().get("model")
    if not isinstance(requested, str) or not requested:
        raise NotApplicable("the request names no model")
    got = s.message().get("model")
    if not isinstance(got, str):
        raise NotApplicable("the answer names no model as a string (judged by the schema checks)")
    if got == requested:
        return judgement(f"model {show(got)}, as requested")
    resolved = _answered_model(s, requested)
    if got == resolved:
        return judgement(f"model {show(got)}, what GET /v1/models/{requested} resolves the requested id to")
    if re.fullmatch(re.escape(requested) + r"-\d{8}", got):
        return judgement(f"model {show(got)}, the dated snapshot of the alias {show(requested)}")
    also = f" or {show(resolved)} (what GET /v1/models/{requested} resolves it to)" if resolved else " or its dated snapshot"
    at = "message_start /message/model" if s.reading is not None else "/model"
    return judgement(f"model {show(got)}", [Violation(f"Received: model {show(got)}\nExpected: the requested {show(requested)}{also}", at=at)])


def _message_id(exchange: Exchange) -> str | None:
    """The id of a successful Messages answer: the body's, or message_start's in a stream (read from the first events only)."""
    if not exchange.ok:
        return None
    data = exchange.json
    if isinstance(data, dict):
        found = data.get("id") if data.get("type") == "message" else None
        return found if isinstance(found, str) else None
    if not exchange.streamed:
        return None
    for line in exchange.body[:16384].decode("utf-8", "replace").splitlines():
        if line.startswith("data:") and "message_start" in line:
            try:
                event = json.loads(line[5:])
            except ValueError:
                return None
            message = event.get("message") if isinstance(event, dict) else None
            found = message.get("id") if isinstance(message, dict) else None
            return found if isinstance(found, str) else None
    return None


@check("shape.message_ids_unique")
def message_ids_unique(s: Subject) -> Judgement:
    """Claude Code keys its transcript on message ids: two answers with one id are merged into one turn."""
    own = _message_id(s.exchange)
    if own is None:
        raise NotApplicable("no string message id (judged by the schema checks)")
    others = {sid: _message_id(e) for sid, e in s.peers.items() if sid != s.exchange.id}
    others = {sid: mid for sid, mid in others.items() if mid is not None}
    if not others:
        raise NotApplicable("the only answer of the run: nothing to compare its id with")
    clashes = sorted(sid for sid, mid in others.items() if mid == own)
    item = f"id {show(own)} against {len(others)} other answer(s)"
    if clashes:
        at = "message_start /message/id" if s.reading is not None else "/id"
        more = f" and {len(clashes) - 3} more" if len(clashes) > 3 else ""
        return judgement(item, [Violation(f"Received: id {show(own)}, also the id of the answer to {', '.join(clashes[:3])}{more}\nExpected: an id no other answer carries", at=at)])
    return judgement(item)
