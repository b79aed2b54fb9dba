"""Faults in how a target manages its connections: a kept-alive connection closed instead of answered.

Needs the reference server's connection layer (reference/connections.py): an ASGI app cannot close
the connection it answers on, so the fault asks the server to, through an ASGI extension. Served
in-process without that layer (an ASGI test client), the fault does nothing.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conformance.reference.connections import close_before_next_request
from conformance.reference.fault import Fault, fault


def _close_after_errors(app: ASGIApp) -> ASGIApp:
    """After an error answer (status >= 400) went out whole, close its connection when the next request arrives on it."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        status = 0

        async def intercept(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False) and status >= 400:
                await close_before_next_request(scope, send)

        await app(scope, receive, intercept)

    return wrapped


FAULTS: tuple[Fault, ...] = (
    fault("close-kept-alive-after-error", ["recovery.connection_close_announced"],
          "https://github.com/helidon-io/helidon/issues/9013 (an error answered with Connection: keep-alive, then the connection closed); "
          "https://github.com/apple/swift-http-api-proposal/pull/105 (a server that closes connections without Connection: close makes clients fail at random)",
          "After an error answer (no Connection: close), the connection is closed when the next request arrives on it, before any answer.",
          _close_after_errors),
)
