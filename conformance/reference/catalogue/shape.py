"""Faults in how a non-streamed Message is written: text that lenient parsers read and strict clients reject.

Python's json module reads a byte order mark, UTF-16 and NaN; Node's JSON.parse, Go's encoding/json
and browsers do not (RFC 8259 §8.1, §6). These faults rewrite only the 200 Message body, so the
suite must read answers as strictly as those clients do to see them.
"""

from __future__ import annotations

import json

from conformance._types import JSON
from conformance.reference.fault import Fault
from conformance.reference.fault import plain_fault as _fault
from conformance.reference.rewrite import compose, event, reanswer_json, rewrite_events, rewrite_json_response

RFC = "https://www.rfc-editor.org/rfc/rfc8259"


def _message(status: int, body: JSON) -> bool:
    return status == 200 and isinstance(body, dict) and body.get("type") == "message"


def _with_bom(status: int, body: JSON) -> JSON | bytes:
    return b"\xef\xbb\xbf" + json.dumps(body, ensure_ascii=False).encode() if _message(status, body) else body


def _utf16(status: int, body: JSON) -> JSON | bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-16-le") if _message(status, body) else body


def _nan(status: int, body: JSON) -> JSON | bytes:
    if not _message(status, body):
        return body
    return json.dumps({**body, "latency_score": float("nan")}).encode()  # Python writes a bare NaN


def _created(status: int, body: JSON) -> tuple[int, str, bytes] | None:
    return (201, "application/json", json.dumps(body).encode()) if _message(status, body) else None


_OPENAI = {"object": "chat.completion", "created": 1764662400, "system_fingerprint": "fp_44709d6fcb"}


def _openai_body(status: int, body: JSON) -> JSON | bytes:
    if not _message(status, body):
        return body
    usage = body.get("usage", {})
    counts = {"prompt_tokens": usage.get("input_tokens"), "completion_tokens": usage.get("output_tokens")}
    return {**body, **_OPENAI, "usage": {**usage, **counts}}


def _openai_start(name: str | None, data: JSON) -> list[tuple[str | None, str]]:
    if isinstance(data, dict) and data.get("type") == "message_start" and isinstance(data.get("message"), dict):
        return [event(name, {**data, "message": {**data["message"], **_OPENAI}})]
    return [event(name, data)]


def _zero_output(status: int, body: JSON) -> JSON | bytes:
    if _message(status, body) and isinstance(body.get("usage"), dict):
        return {**body, "usage": {**body["usage"], "output_tokens": 0}}
    return body


def _zero_output_events(name: str | None, data: JSON) -> list[tuple[str | None, str]]:
    if isinstance(data, dict) and data.get("type") == "message_delta" and isinstance(data.get("usage"), dict):
        return [event(name, {**data, "usage": {**data["usage"], "output_tokens": 0}})]
    if isinstance(data, dict) and data.get("type") == "message_start" and isinstance(data.get("message"), dict):
        message = data["message"]
        usage = message.get("usage") if isinstance(message.get("usage"), dict) else {}
        return [event(name, {**data, "message": {**message, "usage": {**usage, "output_tokens": 0}}})]
    return [event(name, data)]


FAULTS: tuple[Fault, ...] = (
    _fault("json-byte-order-mark", ["shape.message_schema"], f"{RFC} §8.1 (implementations must not add a byte order mark)",
           "Messages start with a UTF-8 byte order mark, which JSON.parse and Go's decoder reject.", rewrite_json_response(_with_bom)),
    _fault("json-utf16", ["shape.message_schema"], f"{RFC} §8.1 (JSON exchanged between systems is UTF-8)",
           "Messages are encoded as UTF-16LE, which only a sniffing parser reads.", rewrite_json_response(_utf16)),
    _fault("json-nan", ["shape.message_schema"], f"{RFC} §6 (NaN and Infinity are not permitted)",
           "A metric field of the Message is a bare NaN, which Python writes and JSON.parse rejects.", rewrite_json_response(_nan)),
    _fault("success-201", ["shape.status_is_200"], "https://github.com/wavetermdev/waveterm/blob/main/aiprompts/anthropic-messages-api.md (OAS25: the success response is 200)",
           "Successful Messages are answered 201 Created.", reanswer_json(_created)),
    _fault("openai-fields-leak", ["shape.no_openai_fields"], "../shared/research/peers.md §4.6 #27 (native fields leak into Anthropic responses)",
           "The translated Message keeps OpenAI's object, created, system_fingerprint and prompt/completion token counts.",
           compose(rewrite_json_response(_openai_body), rewrite_events(_openai_start))),
    _fault("output-tokens-zero", ["usage.output_reaches_max_tokens", "usage.output_tokens_counted"], "../shared/research/peers.md §4.6 #6 (usage reported as zeros)",
           "output_tokens is always 0: the backend's completion count is never mapped.", compose(rewrite_json_response(_zero_output), rewrite_events(_zero_output_events))),
)
