"""Wrappers that see a request before the app does: rewrite it, refuse it, or route it to another wrapper.

Owns buffering and replaying the request body (up to a limit; a larger body passes untouched) and the
``RequestView`` a rewrite sees. Knows nothing about any particular fault.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conformance._types import JSON
from conformance.reference.responses import request_id
from conformance.reference.rewrite.views import Refusal, RequestView, Wrapper
from conformance.reference.rewrite.wire import decode_headers, encode_headers, with_length

MESSAGES_PATH = "/v1/messages"
_REQUEST_LIMIT = 32 * 1024 * 1024


def compose(*wrappers: Wrapper) -> Wrapper:
    """Apply wrappers so the first one listed sees the traffic first."""

    def wrap(app: ASGIApp) -> ASGIApp:
        for wrapper in reversed(wrappers):
            app = wrapper(app)
        return app

    return wrap


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
    query = bytes(scope.get("query_string", b"")).decode("latin-1")
    return RequestView(scope["method"], scope["path"], decode_headers(scope["headers"]), body, query), chunks, more


_Handler = Callable[[Scope, Receive, Send, RequestView, list[bytes], bool], Awaitable[None]]


def _on_http(handle: _Handler, app: ASGIApp) -> ASGIApp:
    """An app that reads every HTTP request into a view before ``handle`` answers it; other scopes go to ``app``."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        view, chunks, more = await _read_view(scope, receive)
        await handle(scope, receive, send, view, chunks, more)

    return wrapped


def rewrite_request(fn: Callable[[RequestView], RequestView]) -> Wrapper:
    """Let `fn` change headers and/or the JSON body before the app sees them (oversized bodies pass untouched)."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def handle(scope: Scope, receive: Receive, send: Send, view: RequestView, chunks: list[bytes], more: bool) -> None:
            if more:
                await app(scope, _replay(chunks, more, receive), send)
                return
            raw, body = b"".join(chunks), view.body
            new = fn(view)
            headers = new.headers
            if new.body is not None and new.body != body:
                raw = json.dumps(new.body, ensure_ascii=False).encode()
                headers = with_length(headers, len(raw))
            new_scope = {**scope, "headers": encode_headers(headers), "path": new.path, "query_string": new.query.encode("latin-1")}
            await app(new_scope, _replay([raw], False, receive), send)

        return _on_http(handle, app)

    return wrap


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


def refuse_request(fn: Callable[[RequestView], Refusal]) -> Wrapper:
    """Answer a request with an error envelope when `fn` returns (status, error type, message); else pass it on."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def handle(scope: Scope, receive: Receive, send: Send, view: RequestView, chunks: list[bytes], more: bool) -> None:
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

        return _on_http(handle, app)

    return wrap


def _route_by_request(app: ASGIApp, pick: Callable[[RequestView], ASGIApp]) -> ASGIApp:
    """Read the request, let `pick` choose the app that answers it, and replay the body to that app."""

    async def handle(scope: Scope, receive: Receive, send: Send, view: RequestView, chunks: list[bytes], more: bool) -> None:
        await pick(view)(scope, _replay(chunks, more, receive), send)

    return _on_http(handle, app)


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
