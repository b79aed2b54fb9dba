"""The faithful stream on the wire: framing, event order, usage, headers and the deliberate UTF-8 splits."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance.reference.app import create_app
from conformance.reference.variant import Variant

from ._support import COUNT, GRUSSE, HAIKU, XYZZY, user

# The key order of a Message, streamed (message_start) or not, as the API writes it.
MESSAGE_KEYS = ["model", "id", "type", "role", "content", "stop_reason", "stop_sequence", "stop_details", "usage"]


def parse(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    """Strict parse of the default layout: `event: X\\ndata: {json}\\n\\n`, nothing else."""
    assert raw.endswith(b"\n\n")
    events = []
    for block in raw.decode("utf-8").split("\n\n")[:-1]:
        name_line, data_line = block.split("\n")
        assert name_line.startswith("event: ")
        assert data_line.startswith("data: ")
        name, data = name_line[len("event: ") :], json.loads(data_line[len("data: ") :])
        assert data["type"] == name
        events.append((name, data))
    return events


def stream(http, headers, prompt: str, **fields: Any) -> tuple[Any, bytes]:
    payload = {"model": HAIKU, "max_tokens": 32, "messages": user(prompt), "stream": True, **fields}
    with http.stream("POST", "/v1/messages", headers=headers, json=payload) as response:
        return response, response.read()


def test_stream_headers(http, headers):
    response, _ = stream(http, headers, GRUSSE)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["request-id"].startswith("req_")
    assert len(response.headers["request-id"]) == 28


def test_stream_grammar_and_values(http, headers):
    _, raw = stream(http, headers, GRUSSE)
    events = parse(raw)
    names = [name for name, _ in events]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[0][1]["message"]
    assert list(start) == MESSAGE_KEYS
    assert (start["model"], start["content"], start["stop_reason"], start["stop_sequence"]) == (
        HAIKU,
        [],
        None,
        None,
    )
    assert start["id"].startswith("msg_01")
    assert len(start["id"]) == 28
    assert start["usage"]["output_tokens"] == 1
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
    assert text == "Grüße ok"
    delta = events[-2][1]
    assert delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None, "stop_details": None}
    assert delta["usage"] == {
        "input_tokens": start["usage"]["input_tokens"],
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 2,
    }


def test_ping_is_spelled_like_anthropic(http, headers):
    _, raw = stream(http, headers, GRUSSE)
    assert b'event: ping\ndata: {"type": "ping"}\n\n' in raw


def test_stream_max_tokens(http, headers):
    _, raw = stream(http, headers, COUNT, max_tokens=5)
    events = parse(raw)
    assert "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta") == "1 2 3 4 5"
    assert events[-2][1]["delta"]["stop_reason"] == "max_tokens"
    assert events[-2][1]["usage"]["output_tokens"] == 5


def test_stream_stop_sequence(http, headers):
    _, raw = stream(http, headers, XYZZY, stop_sequences=["XYZZY"])
    events = parse(raw)
    assert "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta") == "one two three "
    assert events[-2][1]["delta"]["stop_reason"] == "stop_sequence"
    assert events[-2][1]["delta"]["stop_sequence"] == "XYZZY"


def test_stream_and_message_agree(http, headers):
    payload = {"model": HAIKU, "max_tokens": 32, "messages": user(XYZZY), "stop_sequences": ["XYZZY"]}
    message = http.post("/v1/messages", headers=headers, json=payload).json()
    _, raw = stream(http, headers, XYZZY, stop_sequences=["XYZZY"])
    events = parse(raw)
    assert message["content"] == [{"type": "text", "text": "one two three "}]
    assert message["stop_reason"] == events[-2][1]["delta"]["stop_reason"]
    assert message["usage"]["output_tokens"] == events[-2][1]["usage"]["output_tokens"]
    assert message["usage"] == {
        **events[0][1]["message"]["usage"],
        "output_tokens": message["usage"]["output_tokens"],
    }


def test_non_stream_message_shape(http, headers):
    response = http.post(
        "/v1/messages", headers=headers, json={"model": HAIKU, "max_tokens": 32, "messages": user(GRUSSE)}
    )
    assert response.headers["content-type"] == "application/json"
    message = response.json()
    assert list(message) == MESSAGE_KEYS
    assert message["usage"] == {
        "input_tokens": 13,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": 2,
        "service_tier": "standard",
        "inference_geo": "not_available",
    }
    assert "Grüße".encode() in response.content  # raw UTF-8, not \\u escapes


def test_request_id_on_every_response(http, headers):
    for response in (
        http.get("/v1/models", headers=headers),
        http.get("/nowhere"),
        http.post("/v1/messages", headers=headers, json={}),
    ):
        assert response.headers["request-id"].startswith("req_")


def test_request_ids_are_unique(http, headers):
    ids = {http.get("/v1/models", headers=headers).headers["request-id"] for _ in range(20)}
    assert len(ids) == 20


# ---------------------------------------------------------------------------- ASGI messages (chunking)


async def run_asgi(app, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Drive the app directly and keep every ASGI message it sends (the byte chunks fault wrappers see)."""
    raw = json.dumps(payload).encode()
    sent: list[dict[str, Any]] = []
    received = False

    async def receive():
        nonlocal received
        if received:
            return {"type": "http.disconnect"}
        received = True
        return {"type": "http.request", "body": raw, "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/messages",
        "raw_path": b"/v1/messages",
        "query_string": b"",
        "headers": [
            (b"x-api-key", b"k"),
            (b"anthropic-version", b"2023-06-01"),
            (b"content-type", b"application/json"),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
    }
    await app(scope, receive, send)
    return sent


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
async def test_each_event_is_its_own_message_and_multibyte_characters_are_split():
    sent = await run_asgi(
        create_app(api_key="k"), {"model": HAIKU, "max_tokens": 32, "stream": True, "messages": user(GRUSSE)}
    )
    bodies = [m["body"] for m in sent if m["type"] == "http.response.body"]
    assert sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    whole = b"".join(bodies)
    assert whole.decode("utf-8").count("event: ") == 8
    split = [b for b in bodies if b and not b.endswith(b"\n\n")]
    assert len(split) == 1, "the Grüße delta is cut once, inside the ü"
    with pytest.raises(UnicodeDecodeError):
        split[0].decode("utf-8")
    assert split[0].endswith(b"\xc3")
    complete = [b for b in bodies if b.endswith(b"\n\n")]
    assert all(b.count(b"event: ") <= 1 for b in complete)


@pytest.mark.anyio
async def test_variant_delta_grouping_and_line_endings():
    app = create_app(api_key="k", variant=Variant(delta_chunk_tokens=3, pings=0))
    sent = await run_asgi(app, {"model": HAIKU, "max_tokens": 5, "stream": True, "messages": user(COUNT)})
    whole = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body").decode()
    assert "ping" not in whole
    deltas = [json.loads(line[6:])["delta"]["text"] for line in whole.split("\n") if '"text_delta"' in line]
    assert deltas == ["1 2 3", " 4 5"]
