"""Wrappers that rewrite an answer on its way out: a buffered JSON body, or the headers of any response.

Owns holding back ``http.response.start`` until an application/json body is complete, so that status,
headers and body can change together and ``content-length`` stays right. Stream bodies pass untouched
(stream.py owns them). Knows nothing about any particular fault.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conformance._types import JSON, RawHeaders
from conformance.reference.rewrite.views import Wrapper
from conformance.reference.rewrite.wire import content_type, decode_headers, encode_headers, with_length

Answer = tuple[int, RawHeaders, bytes]


def _buffered_json(fn: Callable[[int, RawHeaders, JSON], Answer | None]) -> Wrapper:
    """Buffer each application/json answer and let `fn` replace its status, headers and body (None: keep them); content-length is fixed."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            start: Message | None = None
            body = bytearray()

            async def intercept(message: Message) -> None:
                nonlocal start
                if message["type"] == "http.response.start" and content_type(message).startswith("application/json"):
                    start = message
                    return
                if start is None or message["type"] != "http.response.body":
                    await send(message)
                    return
                body.extend(message.get("body", b""))
                if message.get("more_body", False):
                    return
                status, headers, raw = start["status"], decode_headers(start.get("headers", [])), bytes(body)
                answer = fn(status, headers, json.loads(raw))
                if answer is not None:
                    status, headers, raw = answer
                await send({**start, "status": status, "headers": encode_headers(with_length(headers, len(raw)))})
                await send({"type": "http.response.body", "body": raw, "more_body": False})

            await app(scope, receive, intercept)

        return wrapped

    return wrap


def _encoded(body: JSON | bytes) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def rewrite_json_response(fn: Callable[[int, JSON], JSON | bytes]) -> Wrapper:
    """Transform every non-stream JSON body (dict → dict, or → raw bytes); the status is kept."""
    return _buffered_json(lambda status, headers, body: (status, headers, _encoded(fn(status, body))))


def replace_error(fn: Callable[[int, JSON], tuple[int, JSON | bytes] | None]) -> Wrapper:
    """Replace the status and body of error responses (status >= 400); None leaves one unchanged."""

    def answer(status: int, headers: RawHeaders, body: JSON) -> Answer | None:
        result = fn(status, body) if status >= 400 else None
        return None if result is None else (result[0], headers, _encoded(result[1]))

    return _buffered_json(answer)


def reanswer_json(fn: Callable[[int, JSON], tuple[int, str, bytes] | None]) -> Wrapper:
    """Replace an application/json answer by `fn`'s (status, content type, body); None keeps it as it was."""

    def answer(status: int, headers: RawHeaders, body: JSON) -> Answer | None:
        result = fn(status, body)
        if result is None:
            return None
        new_status, media_type, raw = result
        return new_status, tuple((k, media_type if k == "content-type" else v) for k, v in headers), raw

    return _buffered_json(answer)


def rewrite_response_headers(fn: Callable[[RawHeaders], RawHeaders]) -> Wrapper:
    """Let `fn` change the response headers of every response."""
    return rewrite_headers_by_status(lambda _status, headers: fn(headers))


def rewrite_headers_by_status(fn: Callable[[int, RawHeaders], RawHeaders]) -> Wrapper:
    """Let `fn` change the response headers of every response, knowing its status."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            async def intercept(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = fn(message["status"], decode_headers(message.get("headers", [])))
                    message = {**message, "headers": encode_headers(headers)}
                await send(message)

            await app(scope, receive, intercept)

        return wrapped

    return wrap
