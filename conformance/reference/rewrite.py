"""Builders for ASGI wrappers that rewrite a request or a response on its way through.

Owns the send/receive plumbing faults are made of (STYLE T3): buffering and replaying the request body,
holding back `http.response.start` until a JSON body is rewritten, re-framing SSE events, delaying stream
chunks, and fixing `content-length`. Each builder takes a small pure function and returns `Wrapper = ASGIApp -> ASGIApp`.
Knows nothing about any particular fault or about the app it wraps.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conformance._types import JSON, RawHeaders
from conformance.reference.responses import request_id

Wrapper = Callable[[ASGIApp], ASGIApp]
EventOut = tuple[str | None, str]
_BLOCK_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_LINE = re.compile(r"\r\n|\r|\n")
_REQUEST_LIMIT = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RequestView:
    """What a request rewrite sees and returns; `body` is None when the body is not JSON."""

    method: str
    path: str
    headers: RawHeaders
    body: JSON | None
    query: str = ""  # the raw query string (`beta=true`), which `path` never carries


def compose(*wrappers: Wrapper) -> Wrapper:
    """Apply wrappers so the first one listed sees the traffic first."""

    def wrap(app: ASGIApp) -> ASGIApp:
        for wrapper in reversed(wrappers):
            app = wrapper(app)
        return app

    return wrap


def _query(scope: Scope) -> str:
    return bytes(scope.get("query_string", b"")).decode("latin-1")


def _decode_headers(raw: Iterable[tuple[bytes, bytes]]) -> RawHeaders:
    return tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in raw)


def _encode_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]


def _with_length(headers: RawHeaders, length: int) -> RawHeaders:
    kept = tuple((k, v) for k, v in headers if k != "content-length")
    return (*kept, ("content-length", str(length)))


def _replay(chunks: list[bytes], more: bool, receive: Receive) -> Receive:
    """A receive that hands back what was buffered, then continues with the real one."""
    pending = list(chunks) or [b""]

    async def replayed() -> Message:
        if pending:
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending) or more}
        return await receive()

    return replayed


async def _buffer(receive: Receive) -> tuple[list[bytes], bool]:
    chunks: list[bytes] = []
    size, more = 0, True
    while more and size <= _REQUEST_LIMIT:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        more = message.get("more_body", False)
    return chunks, more


async def _read_view(scope: Scope, receive: Receive) -> tuple[RequestView, list[bytes], bool]:
    """Buffer the request body (up to the limit) and describe the request; ``more`` means it was too big to parse."""
    chunks, more = await _buffer(receive)
    raw = b"".join(chunks)
    try:
        body: JSON | None = json.loads(raw) if raw and not more else None
    except ValueError:
        body = None
    return RequestView(scope["method"], scope["path"], _decode_headers(scope["headers"]), body, _query(scope)), chunks, more


def rewrite_request(fn: Callable[[RequestView], RequestView]) -> Wrapper:
    """Let `fn` change headers and/or the JSON body before the app sees them (oversized bodies pass untouched)."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            view, chunks, more = await _read_view(scope, receive)
            if more:
                await app(scope, _replay(chunks, more, receive), send)
                return
            raw, body = b"".join(chunks), view.body
            new = fn(view)
            headers = new.headers
            if new.body is not None and new.body != body:
                raw = json.dumps(new.body, ensure_ascii=False).encode()
                headers = _with_length(headers, len(raw))
            new_scope = {**scope, "headers": _encode_headers(headers), "path": new.path, "query_string": new.query.encode("latin-1")}
            await app(new_scope, _replay([raw], False, receive), send)

        return wrapped

    return wrap


MESSAGES_PATH = "/v1/messages"


def edit_body(fn: Callable[[dict[str, JSON]], None], *, count_tokens: bool = False) -> Wrapper:
    """Rewrite the JSON body of requests to /v1/messages (and /v1/messages/count_tokens when asked): `fn` edits a copy in place."""

    def rewrite(view: RequestView) -> RequestView:
        path = view.path.rstrip("/")
        wanted = path == MESSAGES_PATH or (count_tokens and path.startswith(MESSAGES_PATH + "/"))
        if not wanted or not isinstance(view.body, dict):
            return view
        body = copy.deepcopy(view.body)
        fn(body)
        return RequestView(view.method, view.path, view.headers, body, view.query)

    return rewrite_request(rewrite)


def refuse_request(fn: Callable[[RequestView], tuple[int, str, str] | None]) -> Wrapper:
    """Answer a request with an error envelope when `fn` returns (status, error type, message); else pass it on."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            view, chunks, more = await _read_view(scope, receive)
            verdict = fn(view)
            if verdict is None:
                await app(scope, _replay(chunks, more, receive), send)
                return
            status, kind, message = verdict
            rid = request_id()  # a fresh id per answer, in the header and the body, as the faithful app sends them
            payload = json.dumps({"type": "error", "error": {"type": kind, "message": message}, "request_id": rid}).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), (b"request-id", rid.encode())]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": payload, "more_body": False})

        return wrapped

    return wrap


def _route_by_request(app: ASGIApp, pick: Callable[[RequestView], ASGIApp]) -> ASGIApp:
    """Read the request, let `pick` choose the app that answers it, and replay the body to that app."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        view, chunks, more = await _read_view(scope, receive)
        await pick(view)(scope, _replay(chunks, more, receive), send)

    return wrapped


def branch_on_request(choose: Callable[[RequestView], bool], wrapper: Wrapper) -> Wrapper:
    """Send a request through `wrapper` only when `choose(view)` is true; otherwise to the app untouched.

    The wrapped app is built once, so a wrapper that remembers earlier requests (a flaky fault) keeps its state.
    """

    def wrap(app: ASGIApp) -> ASGIApp:
        wrapped_app = wrapper(app)
        return _route_by_request(app, lambda view: wrapped_app if choose(view) else app)

    return wrap


def per_request(choose: Callable[[RequestView], Wrapper | None]) -> Wrapper:
    """Send each request through the wrapper `choose` builds from it (None: to the app untouched), for rewrites that depend on the request."""

    def wrap(app: ASGIApp) -> ASGIApp:
        def pick(view: RequestView) -> ASGIApp:
            wrapper = choose(view)
            return app if wrapper is None else wrapper(app)

        return _route_by_request(app, pick)

    return wrap


def _content_type(start: Message) -> str:
    for key, value in start.get("headers", []):
        if key.lower() == b"content-type":
            return str(value.decode("latin-1"))
    return ""


def _rewrite_buffered(
    fn: Callable[[int, JSON], tuple[int, JSON | bytes] | None],
) -> Wrapper:
    """Buffer an application/json response, let `fn` replace status and body, fix content-length."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            start: Message | None = None
            body = bytearray()

            async def intercept(message: Message) -> None:
                nonlocal start
                if message["type"] == "http.response.start" and _content_type(message).startswith(
                    "application/json"
                ):
                    start = message
                    return
                if start is None or message["type"] != "http.response.body":
                    await send(message)
                    return
                body.extend(message.get("body", b""))
                if message.get("more_body", False):
                    return
                status, raw = start["status"], bytes(body)
                result = fn(status, json.loads(raw))
                if result is not None:
                    status, new_body = result
                    raw = new_body if isinstance(new_body, bytes) else json.dumps(new_body).encode()
                headers = _with_length(_decode_headers(start.get("headers", [])), len(raw))
                await send({**start, "status": status, "headers": _encode_headers(headers)})
                await send({"type": "http.response.body", "body": raw, "more_body": False})

            await app(scope, receive, intercept)

        return wrapped

    return wrap


def rewrite_json_response(fn: Callable[[int, JSON], JSON | bytes]) -> Wrapper:
    """Transform every non-stream JSON body (dict → dict, or → raw bytes); the status is kept."""
    return _rewrite_buffered(lambda status, body: (status, fn(status, body)))


def replace_error(fn: Callable[[int, JSON], tuple[int, JSON | bytes] | None]) -> Wrapper:
    """Replace the status and body of error responses (status >= 400); None leaves one unchanged."""
    return _rewrite_buffered(lambda status, body: fn(status, body) if status >= 400 else None)


def rewrite_response_headers(fn: Callable[[RawHeaders], RawHeaders]) -> Wrapper:
    """Let `fn` change the response headers of every response."""
    return rewrite_headers_by_status(lambda _status, headers: fn(headers))


def rewrite_headers_by_status(fn: Callable[[int, RawHeaders], RawHeaders]) -> Wrapper:
    """Let `fn` change the response headers of every response, knowing its status."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            async def intercept(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = fn(message["status"], _decode_headers(message.get("headers", [])))
                    message = {**message, "headers": _encode_headers(headers)}
                await send(message)

            await app(scope, receive, intercept)

        return wrapped

    return wrap


def _stream_wrapper(make: Callable[[], Callable[[bytes, bool], list[bytes]]]) -> Wrapper:
    """Route text/event-stream body bytes through a fresh per-response transformer."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            transform: Callable[[bytes, bool], list[bytes]] | None = None

            async def intercept(message: Message) -> None:
                nonlocal transform
                if message["type"] == "http.response.start" and _content_type(message).startswith(
                    "text/event-stream"
                ):
                    transform = make()
                if transform is None or message["type"] != "http.response.body":
                    await send(message)
                    return
                more = message.get("more_body", False)
                for chunk in transform(message.get("body", b""), not more):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                if not more:
                    await send({"type": "http.response.body", "body": b"", "more_body": False})

            await app(scope, receive, intercept)

        return wrapped

    return wrap


def rewrite_stream_bytes(fn: Callable[[bytes], bytes]) -> Wrapper:
    """Apply `fn` to each SSE body chunk as sent, the way a naive proxy touches raw chunks."""
    return _stream_wrapper(lambda: lambda chunk, _last: [fn(chunk)] if chunk else [])


def _parse_block(block: str) -> tuple[str | None, str | None]:
    name: str | None = None
    data: list[str] = []
    for line in _LINE.split(block):
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    return name, "\n".join(data) if data else None


def format_event(name: str | None, data: str) -> bytes:
    """Serialise one event with LF line endings; a None name leaves out the `event:` line."""
    head = f"event: {name}\n" if name is not None else ""
    return f"{head}data: {data}\n\n".encode()


def rewrite_events(fn: Callable[[str | None, JSON], Iterable[EventOut]]) -> Wrapper:
    """Re-frame the stream event by event: `fn` maps (name, parsed data) to zero or more (name, data text)."""
    return rewrite_events_with_state(lambda: fn)


def rewrite_events_with_state(factory: Callable[[], Callable[[str | None, JSON], Iterable[EventOut]]]) -> Wrapper:
    """Like `rewrite_events`, with a fresh `fn` from `factory` per response, for rewrites that count or remember."""

    def make() -> Callable[[bytes, bool], list[bytes]]:
        pending = bytearray()
        fn = factory()

        def transform(chunk: bytes, last: bool) -> list[bytes]:
            pending.extend(chunk)
            out: list[bytes] = []
            while match := _BLOCK_END.search(pending):
                raw = bytes(pending[: match.end()])
                del pending[: match.end()]
                name, data = _parse_block(raw[: match.start()].decode("utf-8"))
                if data is None:
                    out.append(raw)
                    continue
                try:
                    parsed = json.loads(data)
                except ValueError:
                    out.append(raw)
                    continue
                out.extend(format_event(n, d) for n, d in fn(name, parsed))
            if last and pending:
                out.append(bytes(pending))
            return out

        return transform

    return _stream_wrapper(make)


def event(name: str | None, data: JSON) -> EventOut:
    """Convenience for rewrite_events callbacks: serialise `data` compactly."""
    return name, json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def reanswer_json(fn: Callable[[int, JSON], tuple[int, str, bytes] | None]) -> Wrapper:
    """Replace an application/json answer by `fn`'s (status, content type, body); None keeps it as it was."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            start: Message | None = None
            body = bytearray()

            async def intercept(message: Message) -> None:
                nonlocal start
                if message["type"] == "http.response.start" and _content_type(message).startswith("application/json"):
                    start = message
                    return
                if start is None or message["type"] != "http.response.body":
                    await send(message)
                    return
                body.extend(message.get("body", b""))
                if message.get("more_body", False):
                    return
                status, raw = start["status"], bytes(body)
                headers = _decode_headers(start.get("headers", []))
                result = fn(status, json.loads(raw))
                if result is not None:
                    status, media_type, raw = result
                    headers = tuple((k, media_type if k == "content-type" else v) for k, v in headers)
                await send({**start, "status": status, "headers": _encode_headers(_with_length(headers, len(raw)))})
                await send({"type": "http.response.body", "body": raw, "more_body": False})

            await app(scope, receive, intercept)

        return wrapped

    return wrap


def hang_up_stream(last: Callable[[bytes], bool], wait_s: float) -> Wrapper:
    """Send SSE body chunks up to the first one ``last`` accepts, stay silent ``wait_s`` seconds, then end the body and drop the rest."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            state = {"stream": False, "cut": False, "closed": False}

            async def intercept(message: Message) -> None:
                if message["type"] == "http.response.start":
                    state["stream"] = _content_type(message).startswith("text/event-stream")
                elif state["stream"] and message["type"] == "http.response.body":
                    if state["closed"]:
                        return
                    if state["cut"]:
                        state["closed"] = True
                        await asyncio.sleep(wait_s)
                        await send({"type": "http.response.body", "body": b"", "more_body": False})
                        return
                    state["cut"] = last(message.get("body", b""))
                await send(message)

            await app(scope, receive, intercept)

        return wrapped

    return wrap


def stall_stream(factory: Callable[[], Callable[[bytes], float]]) -> Wrapper:
    """Hold SSE body chunks back: a fresh `fn` per response says how many seconds to wait before sending each one."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            delay: Callable[[bytes], float] | None = None

            async def intercept(message: Message) -> None:
                nonlocal delay
                if message["type"] == "http.response.start" and _content_type(message).startswith("text/event-stream"):
                    delay = factory()
                elif delay is not None and message["type"] == "http.response.body":
                    seconds = delay(message.get("body", b""))
                    if seconds > 0:
                        await asyncio.sleep(seconds)
                await send(message)

            await app(scope, receive, intercept)

        return wrapped

    return wrap
