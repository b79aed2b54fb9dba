"""Anthropic's stream events as test values: each builder makes one event as the API sends it.

Imported as ``ev`` (``ev.start()``, ``ev.delta("text_delta", text="ok")``, ``ev.STOP``) so that a
test's event list reads like the wire, and a new builder is one function here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

MSG_ID = "msg_01XFDUDYJgAACzvnptvVoYEL"


def start(*, output_tokens: int = 1, input_tokens: int = 21, msg_id: str = MSG_ID) -> dict[str, Any]:
    """A message_start event."""
    usage = {"input_tokens": input_tokens, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": output_tokens}
    return {
        "type": "message_start",
        "message": {
            "id": msg_id,
            "type": "message",
            "role": "assistant",
            "model": "claude-haiku-4-5-20251001",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        },
    }


def block_start(index: int = 0, kind: str = "text") -> dict[str, Any]:
    """A content_block_start; known kinds get their documented fields, others only a type."""
    blocks: dict[str, dict[str, Any]] = {
        "text": {"type": "text", "text": ""},
        "thinking": {"type": "thinking", "thinking": "", "signature": ""},
        "tool_use": {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather", "input": {}},
        "redacted_thinking": {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP"},
    }
    return {"type": "content_block_start", "index": index, "content_block": blocks.get(kind, {"type": kind})}


def text_delta(text: str, index: int = 0) -> dict[str, Any]:
    """A content_block_delta carrying text."""
    return {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}}


def delta(kind: str, index: int = 0, **fields: Any) -> dict[str, Any]:
    """A content_block_delta of any delta type."""
    return {"type": "content_block_delta", "index": index, "delta": {"type": kind, **fields}}


def block_stop(index: int = 0) -> dict[str, Any]:
    """A content_block_stop."""
    return {"type": "content_block_stop", "index": index}


def message_delta(stop_reason: str | None = "end_turn", *, output_tokens: int = 5, stop_sequence: str | None = None, **usage: Any) -> dict[str, Any]:
    """A message_delta with the final stop_reason and cumulative usage."""
    return {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence}, "usage": {"output_tokens": output_tokens, **usage}}


PING = {"type": "ping"}
STOP = {"type": "message_stop"}


def text_events(*pieces: str, stop_reason: str = "end_turn", output_tokens: int = 5, stop_sequence: str | None = None) -> list[dict[str, Any]]:
    """The events of a one-text-block answer, ping after the block start as Anthropic usually sends it."""
    return [
        start(),
        block_start(0),
        PING,
        *(text_delta(p) for p in (pieces or ("Grüße", " ok"))),
        block_stop(0),
        message_delta(stop_reason, output_tokens=output_tokens, stop_sequence=stop_sequence),
        STOP,
    ]


def sse(events: Iterable[Mapping[str, Any] | bytes]) -> bytes:
    """Anthropic's wire form: ``event: <type>`` then ``data: <json>`` and a blank line; bytes pass through verbatim."""
    out = bytearray()
    for event in events:
        if isinstance(event, bytes):
            out += event
        else:
            out += f"event: {event['type']}\ndata: {json.dumps(event, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()
    return bytes(out)


def at(events: list[Mapping[str, Any] | bytes], index: int, kind: str) -> str:
    """The locator a check prints for event ``index`` of a stream built from ``events``."""
    return f"event #{index} ({kind}) @ byte {len(sse(events[:index]))}"


def thinking_then_text(*signatures: str, thinking: tuple[str, ...]) -> list[dict[str, Any]]:
    """A thinking block (its ``thinking`` pieces, one signature_delta per signature) then a text block, as the extended-thinking docs show it."""
    return [
        start(),
        block_start(0, "thinking"),
        PING,
        *(delta("thinking_delta", 0, thinking=piece) for piece in thinking),
        *(delta("signature_delta", 0, signature=signature) for signature in signatures),
        block_stop(0),
        block_start(1),
        text_delta("ok", 1),
        block_stop(1),
        message_delta("end_turn", output_tokens=30),
        STOP,
    ]
