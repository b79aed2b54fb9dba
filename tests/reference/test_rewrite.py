"""The wrapper builders faults are made of (conformance/reference/rewrite/), driven directly over ASGI (no network, no ASGITransport)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from conformance.reference.app import create_app
from conformance.reference.rewrite.request import compose, per_request, refuse_request, rewrite_request
from conformance.reference.rewrite.response import (
    reanswer_json,
    replace_error,
    rewrite_headers_by_status,
    rewrite_json_response,
    rewrite_response_headers,
)
from conformance.reference.rewrite.stream import (
    event,
    hang_up_stream,
    rewrite_events,
    rewrite_stream_bytes,
    stall_stream,
)
from conformance.reference.rewrite.views import RequestView

from ._support import GRUSSE, HAIKU, user

T = TypeVar("T")


def recording(seen: list[T]) -> Callable[[T], T]:
    """A rewrite that changes nothing and keeps what it was handed: for tests about what a wrapper passes its function."""

    def fn(item: T) -> T:
        seen.append(item)
        return item

    return fn


@pytest.fixture
def anyio_backend():
    return "asyncio"


def scope(path: str = "/v1/messages", method: str = "POST") -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"x-api-key", b"k"), (b"anthropic-version", b"2023-06-01")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
    }


async def call(
    app, raw: bytes | list[bytes], *, path: str = "/v1/messages"
) -> tuple[int, dict[str, str], list[bytes]]:
    chunks = [raw] if isinstance(raw, bytes) else list(raw)
    sent: list[dict[str, Any]] = []

    async def receive():
        if chunks:
            chunk = chunks.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    await app(scope(path), receive, send)
    start = sent[0]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, [m.get("body", b"") for m in sent[1:]]


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


STREAM = {"model": HAIKU, "max_tokens": 32, "stream": True, "messages": user(GRUSSE)}


@pytest.mark.anyio
async def test_rewrite_events_reassembles_split_characters():
    app = rewrite_events(lambda name, data: [event(name, data)])(create_app(api_key="k"))
    _, _, bodies = await call(app, dumps(STREAM))
    whole = b"".join(bodies).decode("utf-8")
    assert "Grüße" in whole
    for body in bodies:
        body.decode("utf-8")  # every chunk holds whole characters again


@pytest.mark.anyio
async def test_rewrite_events_can_drop_and_add():
    def fn(name, data):
        if name == "ping":
            return []
        return [event(name, data), (None, "extra")] if name == "message_stop" else [event(name, data)]

    _, _, bodies = await call(rewrite_events(fn)(create_app(api_key="k")), dumps(STREAM))
    whole = b"".join(bodies).decode()
    assert "ping" not in whole
    assert whole.endswith("data: extra\n\n")


@pytest.mark.anyio
async def test_rewrite_stream_bytes_sees_each_chunk():
    seen: list[bytes] = []
    _, _, bodies = await call(rewrite_stream_bytes(recording(seen))(create_app(api_key="k")), dumps(STREAM))
    assert b"".join(seen) == b"".join(bodies)
    assert any(chunk.endswith(b"\xc3") for chunk in seen)


@pytest.mark.anyio
async def test_rewrite_json_response_fixes_content_length():
    app = rewrite_json_response(lambda status, body: {**body, "added": "ü" * 10})(create_app(api_key="k"))
    status, headers, bodies = await call(app, dumps({**STREAM, "stream": False}))
    assert status == 200
    assert int(headers["content-length"]) == len(b"".join(bodies))
    assert json.loads(b"".join(bodies))["added"] == "ü" * 10


@pytest.mark.anyio
async def test_rewrite_json_response_may_return_raw_bytes():
    app = rewrite_json_response(lambda status, body: b"not json")(create_app(api_key="k"))
    _, headers, bodies = await call(app, dumps({}))
    assert (b"".join(bodies), headers["content-length"]) == (b"not json", "8")


@pytest.mark.anyio
async def test_replace_error_only_touches_errors():
    app = replace_error(lambda status, body: (418, {"teapot": True}))(create_app(api_key="k"))
    assert (await call(app, dumps({})))[0] == 418
    assert (await call(app, dumps({**STREAM, "stream": False})))[0] == 200


@pytest.mark.anyio
async def test_rewrite_request_changes_body_and_headers():
    def fn(view: RequestView) -> RequestView:
        assert view.method == "POST"
        assert view.path == "/v1/messages"
        return RequestView(view.method, view.path, (*view.headers, ("anthropic-beta", "bogus")), view.body)

    status, _, bodies = await call(
        rewrite_request(fn)(create_app(api_key="k")), dumps({**STREAM, "stream": False})
    )
    assert status == 400
    assert "anthropic-beta" in json.loads(b"".join(bodies))["error"]["message"]


@pytest.mark.anyio
async def test_rewrite_request_passes_non_json_bodies_untouched():
    app = rewrite_request(lambda view: view)(create_app(api_key="k"))
    status, _, bodies = await call(app, [b"{not", b" json"])
    assert status == 400
    assert json.loads(b"".join(bodies))["error"]["message"].startswith("The request body is not valid JSON")


@pytest.mark.anyio
async def test_rewrite_request_replays_oversized_bodies():
    touched: list[RequestView] = []
    app = rewrite_request(recording(touched))(create_app(api_key="k"))
    chunks = [b" " * (1024 * 1024)] * 34
    status, _, _ = await call(app, chunks)
    assert status == 413
    assert touched == []


@pytest.mark.anyio
async def test_rewrite_response_headers_and_compose_order():
    order: list[str] = []

    def tag(label: str):
        def fn(headers):
            order.append(label)
            return (*headers, ("x-tag", label))

        return rewrite_response_headers(fn)

    _, headers, _ = await call(compose(tag("outer"), tag("inner"))(create_app(api_key="k")), dumps({}))
    assert order == ["inner", "outer"]
    assert headers["x-tag"] == "outer"  # last one written wins in this dict view


@pytest.mark.anyio
async def test_rewrite_request_sees_and_may_change_the_query_string():
    seen: dict[str, Any] = {}

    async def app(inner, receive, send):
        seen["query_string"] = inner["query_string"]
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def rewrite(view: RequestView) -> RequestView:
        seen["query"] = view.query
        return RequestView(view.method, view.path, view.headers, view.body, "limit=5")

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    await rewrite_request(rewrite)(app)({**scope("/v1/models", "GET"), "query_string": b"limit=1&after_id=x"}, receive, send)
    assert (seen["query"], seen["query_string"]) == ("limit=1&after_id=x", b"limit=5")


@pytest.mark.anyio
async def test_per_request_builds_the_wrapper_from_the_request_it_sees():
    seen: list[RequestView] = []

    def choose(view: RequestView):
        seen.append(view)
        if view.body.get("max_tokens") != 7:
            return None
        return rewrite_json_response(lambda status, body: {"echo": view.body["max_tokens"], "status": status})

    app = per_request(choose)(create_app(api_key="k"))
    status, _, bodies = await call(app, dumps({**STREAM, "stream": False, "max_tokens": 7}))
    assert (status, json.loads(b"".join(bodies))) == (200, {"echo": 7, "status": 200})
    status, _, bodies = await call(app, dumps({**STREAM, "stream": False}))  # untouched, body replayed to the app
    assert status == 200
    assert json.loads(b"".join(bodies))["type"] == "message"
    assert [v.body["max_tokens"] for v in seen] == [7, 32]


@pytest.mark.anyio
async def test_reanswer_json_replaces_status_content_type_and_body():
    def fn(status, body):
        return (200, "text/plain", b"replaced") if status == 400 else None

    app = reanswer_json(fn)(create_app(api_key="k"))
    status, headers, bodies = await call(app, dumps({**STREAM, "max_tokens": 0}))
    assert (status, headers["content-type"], headers["content-length"], b"".join(bodies)) == (200, "text/plain", "8", b"replaced")
    assert "request-id" in headers  # the other headers stay
    status, headers, _ = await call(app, dumps({**STREAM, "stream": False}))
    assert (status, headers["content-type"]) == (200, "application/json")  # None keeps the answer


@pytest.mark.anyio
async def test_stall_stream_waits_before_the_chunks_it_is_asked_to():
    seen: list[bytes] = []

    def factory():
        def delay(chunk: bytes) -> float:
            seen.append(chunk)
            return 0.2 if b"message_stop" in chunk else 0.0

        return delay

    started = time.monotonic()
    _, _, bodies = await call(stall_stream(factory)(create_app(api_key="k")), dumps(STREAM))
    assert time.monotonic() - started >= 0.2
    assert b"".join(seen) == b"".join(bodies)
    _, _, plain = await call(stall_stream(factory)(create_app(api_key="k")), dumps({**STREAM, "stream": False}))
    assert b"".join(seen) == b"".join(bodies)  # JSON answers are not streams: never delayed nor seen
    assert plain


@pytest.mark.anyio
async def test_hang_up_stream_goes_silent_then_ends_the_body():
    app = hang_up_stream(lambda chunk: b"message_start" in chunk, 0.2)(create_app(api_key="k"))
    started = time.monotonic()
    _, _, bodies = await call(app, dumps(STREAM))
    assert time.monotonic() - started >= 0.2
    assert b"".join(bodies).decode().count("event: ") == 1  # message_start only
    assert bodies[-1] == b""
    _, _, plain = await call(app, dumps({**STREAM, "stream": False}))
    assert json.loads(b"".join(plain))["type"] == "message"  # JSON answers are not cut


@pytest.mark.anyio
async def test_rewrite_headers_by_status_sees_the_status():
    seen: list[int] = []

    def fn(status, headers):
        seen.append(status)
        return (*headers, ("x-status-seen", str(status)))

    status, headers, _ = await call(rewrite_headers_by_status(fn)(create_app(api_key="other")), dumps(STREAM))
    assert (status, headers["x-status-seen"], seen) == (401, "401", [401])


@pytest.mark.anyio
async def test_refuse_request_answers_with_a_fresh_request_id_in_header_and_body():
    app = refuse_request(lambda view: (400, "invalid_request_error", "no"))(create_app(api_key="k"))
    answers = [await call(app, dumps(STREAM)) for _ in range(2)]
    ids = [headers["request-id"] for _, headers, _ in answers]
    assert ids[0] != ids[1]
    assert [json.loads(b"".join(bodies))["request_id"] for _, _, bodies in answers] == ids

