"""Hand-built exchanges and results documents for the report tests (no network, no suite run)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance.exchange import Chunk, Exchange, RecordedRequest
from conformance.redact import MASK

URL = "http://127.0.0.1:8080/v1/messages"
SCRIPT_PAYLOAD = "<script>document.body.setAttribute('data-pwned','1')</script>"
IMG_PAYLOAD = "</script><img src=x onerror=alert(1)>"
SOURCE = "https://platform.claude.com/docs/en/api/messages"
BASE_HEADERS = (("user-agent", "anthropic-conformance/0.1"), ("content-type", "application/json"), ("anthropic-version", "2023-06-01"))
BODY = {"model": "claude-haiku-4-5", "max_tokens": 32, "messages": [{"role": "user", "content": "it's $HOME `x` Grüße"}]}
STREAM_EVENTS = [
    ("message_start", {"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "content": []}}),
    ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    ("ping", {"type": "ping"}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": " there"}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}}),
    ("message_stop", {"type": "message_stop"}),
]


def sse(events: list[tuple[str, Any]]) -> bytes:
    """An SSE body from (name, data) pairs; str data is sent as is."""
    out = ""
    for name, data in events:
        out += f"event: {name}\ndata: {data if isinstance(data, str) else json.dumps(data)}\n\n"
    return out.encode()


def exchange(
    id: str = "plain",
    *,
    headers: tuple[tuple[str, str], ...] = (*BASE_HEADERS, ("x-api-key", MASK)),
    body: bytes | None = None,
    status: int | None = 200,
    response: bytes = b'{"type": "message", "content": [{"type": "text", "text": "ok"}]}',
    response_headers: tuple[tuple[str, str], ...] = (("content-type", "application/json"), ("request-id", "req_01")),
    **fields: Any,
) -> Exchange:
    """A recorded exchange, redacted as the transport would record it."""
    return Exchange(
        id=id,
        request=RecordedRequest("POST", URL, headers, json.dumps(BODY).encode() if body is None else body),
        status=status,
        headers=response_headers if status is not None else (),
        body=response if status is not None else b"",
        chunks=(Chunk(0, len(response), 0.01),) if status is not None else (),
        elapsed=0.05,
        **fields,
    )


def stream_exchange(id: str = "plain.stream", events: list[tuple[str, Any]] = STREAM_EVENTS) -> Exchange:
    """A streamed exchange with the given events."""
    body = dict(BODY, stream=True)
    data = sse(events)
    return exchange(id, body=json.dumps(body).encode(), response=data, response_headers=(("content-type", "text/event-stream"),))


def record(
    id: str,
    outcome: str = "pass",
    *,
    level: str = "MUST",
    message: str = "",
    exchanges: tuple[str, ...] = (),
    violations: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """One results.json record (schema-valid)."""
    check = id.split(":", 1)[0]
    return {
        "id": id,
        "check": check,
        "case": id.split(":", 1)[1] if ":" in id else "",
        "area": check.split(".", 1)[0],
        "tier": "core",
        "level": level,
        "outcome": outcome,
        "rule": f"The rule of {check}.",
        "source": SOURCE,
        "expect": None,
        "message": message,
        "exchanges": list(exchanges),
        "violations": violations or [],
        "notes": [],
        "profile_override": "",
        **fields,
    }


def failed(id: str, exchange: str, text: str, *, at: str | None = None, **fields: Any) -> dict[str, Any]:
    """A failed record with one violation (``text``, ``Received: …\nExpected: …``) on one exchange, its message as the judge writes it."""
    return record(id, "fail", message=f"[{exchange}] {text}", exchanges=(exchange,), violations=[violation(text, exchange, at=at)], **fields)


def violation(message: str, exchange: str | None, *, at: str | None = None, event_index: int | None = None) -> dict[str, Any]:
    """One violation entry of a record."""
    return {"message": message, "at": at, "exchange": exchange, "event_index": event_index}


def document(results: list[dict[str, Any]], *, target: str = "http://127.0.0.1:8080") -> dict[str, Any]:
    """A results document around ``results``, counts derived from them."""
    counts = dict.fromkeys(("pass", "fail", "warn", "skip", "error"), 0)
    for r in results:
        counts[r["outcome"]] += 1
    return {
        "format": "anthropic-conformance/results/1",
        "run": {
            "id": "20261122-100000-abcd",
            "suite_version": "0.1.0",
            "target": target,
            "embedded_reference": False,
            "profile": "anthropic",
            "model": "claude-haiku-4-5",
            "api_version": "2023-06-01",
            "spec_title": "Anthropic Messages API",
            "started_at": "2026-11-22T10:00:00+00:00",
            "wall_time_s": 12.5,
        },
        "spend": {"requests": 50, "retries": 1, "input_tokens": 1234, "output_tokens": 567},
        "counts": counts,
        "must_failures": counts["fail"],
        "results": results,
    }


def synthetic(n: int) -> tuple[dict[str, Any], dict[str, Exchange]]:
    """A large run: ``n`` results, mostly passing, failures citing shared exchanges, some of them streams."""
    exchanges: dict[str, Exchange] = {}
    for i in range(n // 5):
        if i % 4 == 0:
            exchanges[f"ex{i}.stream"] = stream_exchange(f"ex{i}.stream")
        else:
            big = json.dumps({"type": "message", "content": [{"type": "text", "text": f"answer {i} " * 100}]}).encode()
            exchanges[f"ex{i}"] = exchange(f"ex{i}", status=400 + i % 30, response=big)
    ids = list(exchanges)
    results = []
    cycle = ["pass"] * 16 + ["fail", "fail", "warn", "skip", "error"]
    for i in range(n):
        outcome = cycle[i % len(cycle)]
        area = ("auth", "headers", "params", "stream", "usage", "errors")[i % 6]
        if outcome in ("fail", "warn", "error"):
            cited = (ids[i % len(ids)], ids[(i * 7) % len(ids)])
            vios = [
                violation(f"Received: status {400 + i % 30}\nExpected: status 200", x, at="/type", event_index=3 if x.endswith(".stream") else None)
                for x in cited
            ]
            results.append(record(f"{area}.check_{i}:case", outcome, level="SHOULD" if outcome == "warn" else "MUST",
                                  message="\n".join(v["message"] for v in vios), exchanges=cited, violations=vios))
        else:
            results.append(record(f"{area}.check_{i}", outcome, message="not applicable here" if outcome == "skip" else "", exchanges=(ids[i % len(ids)],)))
    return document(results), exchanges


@pytest.fixture
def build() -> Any:
    """Access to the builders above from tests (conftest modules are not importable)."""

    class Builders:
        exchange = staticmethod(exchange)
        stream_exchange = staticmethod(stream_exchange)
        record = staticmethod(record)
        violation = staticmethod(violation)
        failed = staticmethod(failed)
        document = staticmethod(document)
        synthetic = staticmethod(synthetic)
        sse = staticmethod(sse)
        URL = URL
        SOURCE = SOURCE
        BODY = BODY
        SCRIPT_PAYLOAD = SCRIPT_PAYLOAD
        IMG_PAYLOAD = IMG_PAYLOAD
        BASE_HEADERS = BASE_HEADERS
        STREAM_EVENTS = STREAM_EVENTS

    return Builders
