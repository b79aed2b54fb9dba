"""The reference server's connection layer: a fault can close a kept-alive connection as its next request arrives.

Over a raw socket to the live server, so nothing in between reconnects: the faithful server answers
two requests on one connection; behind ``close-kept-alive-after-error`` the second request after an
error answer meets a closed connection and not one byte of an answer.
"""

from __future__ import annotations

import asyncio
import socket

from conformance.reference.connections import (
    CLOSE_BEFORE_NEXT_REQUEST,
    ConnectionControl,
    close_before_next_request,
)
from conformance.reference.router import fault_base_path

from ._support import V2023


def _request(path: str, key: str | None) -> bytes:
    auth = f"x-api-key: {key}\r\n" if key else ""
    return f"GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nanthropic-version: {V2023}\r\n{auth}\r\n".encode()


def _answer(sock: socket.socket) -> bytes:
    """One whole answer (head and content-length body), or b"" when the server closed the connection first."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            return data
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _two_requests(base_url: str, prefix: str, key: str) -> tuple[bytes, bytes]:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(_request(prefix + "/v1/models", None))  # no key: a 401
        first = _answer(sock)
        sock.sendall(_request(prefix + "/v1/models", key))
        return first, _answer(sock)


def test_the_faithful_server_answers_the_next_request_on_a_kept_alive_connection(base_url: str, api_key: str):
    first, second = _two_requests(base_url, "", api_key)
    assert first.startswith(b"HTTP/1.1 401 ")
    assert b"connection: close" not in first.lower()
    assert second.startswith(b"HTTP/1.1 200 ")


def test_the_fault_closes_the_connection_when_the_next_request_arrives(base_url: str, api_key: str):
    first, second = _two_requests(base_url, fault_base_path("close-kept-alive-after-error"), api_key)
    assert first.startswith(b"HTTP/1.1 401 ")
    assert b"connection: close" not in first.lower()  # nothing announced the close
    assert second == b""


def test_a_successful_answer_keeps_the_connection_under_the_fault(base_url: str, api_key: str):
    host, port = base_url.removeprefix("http://").split(":")
    prefix = fault_base_path("close-kept-alive-after-error")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        for _ in range(3):
            sock.sendall(_request(prefix + "/v1/models", api_key))
            assert _answer(sock).startswith(b"HTTP/1.1 200 ")


# ---------------------------------------------------------------------- in process


def test_the_middleware_advertises_the_extension_and_marks_the_callers_connection():
    seen: list[dict[str, object]] = []
    forwarded: list[dict[str, object]] = []

    async def app(scope, receive, send):
        seen.append(scope)
        await close_before_next_request(scope, send)
        await send({"type": "http.response.start", "status": 500, "headers": []})

    async def send(message):
        forwarded.append(message)

    control = ConnectionControl(app)
    asyncio.run(control({"type": "http", "client": ("127.0.0.1", 5555), "path": "/"}, None, send))
    assert CLOSE_BEFORE_NEXT_REQUEST in seen[0]["extensions"]
    assert [m["type"] for m in forwarded] == ["http.response.start"]  # the mark is the server's, not the client's
    assert control.take(("127.0.0.1", 5555)) is True
    assert control.take(("127.0.0.1", 5555)) is False  # used up
    assert control.take(None) is False


def test_a_forgotten_connection_is_no_longer_marked():
    control = ConnectionControl(lambda scope, receive, send: None)  # type: ignore[arg-type, return-value]

    async def mark():
        await control({"type": "http", "client": ["::1", 7], "path": "/"}, None, None)  # type: ignore[arg-type]

    async def app(scope, receive, send):
        await close_before_next_request(scope, send)

    control.app = app
    asyncio.run(mark())
    control.forget(("::1", 7))
    assert control.take(("::1", 7)) is False


def test_without_the_server_layer_the_request_to_close_is_a_no_op():
    sent: list[object] = []

    async def send(message):
        sent.append(message)

    asyncio.run(close_before_next_request({"type": "http", "extensions": {}}, send))
    asyncio.run(close_before_next_request({"type": "http"}, send))
    assert sent == []
