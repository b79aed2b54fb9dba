"""The reference server's socket-level layer: lets a fault close a kept-alive connection as the next request arrives.

An ASGI app cannot close the TCP connection it answers on, yet the deviation worth reproducing
is exactly that: a target that keeps a connection alive (no ``Connection: close``) and then closes
it when the next request arrives, before answering — the race a server loses when its idle
timeout fires as a request comes in, or a gateway that tears the connection down after an error.

Two halves, one per layer, joined by the client's address (host, port identifies one TCP
connection to this server):
- ``ConnectionControl`` is ASGI middleware. It advertises the ASGI extension
  ``CLOSE_BEFORE_NEXT_REQUEST`` in ``scope["extensions"]``; an app (a fault) that sends a message
  of that type asks for its connection to be closed when the next request's bytes arrive.
- ``ConnectionControl.protocol()`` is uvicorn's h11 protocol with that one rule added to the
  asyncio ``data_received``/``connection_lost`` callbacks, handed to uvicorn through its documented
  ``Config(http=<protocol class>)`` option. Nothing of uvicorn is patched.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

CLOSE_BEFORE_NEXT_REQUEST = "conformance.connection.close_before_next_request"

Peer = tuple[str, int]


def _peer(address: Any) -> Peer | None:
    """(host, port) of a client address as ASGI (``scope["client"]``) or asyncio (``peername``) gives it."""
    if isinstance(address, list | tuple) and len(address) >= 2:
        return str(address[0]), int(address[1])
    return None


class ConnectionControl:
    """ASGI middleware and registry: which connections close when their next request arrives."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._doomed: set[Peer] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        peer = _peer(scope.get("client")) if scope["type"] == "http" else None
        if peer is None:
            await self.app(scope, receive, send)
            return

        async def send_or_mark(message: Message) -> None:
            if message["type"] == CLOSE_BEFORE_NEXT_REQUEST:
                self._doomed.add(peer)
                return
            await send(message)

        extensions = {**(scope.get("extensions") or {}), CLOSE_BEFORE_NEXT_REQUEST: {}}
        await self.app({**scope, "extensions": extensions}, receive, send_or_mark)

    def take(self, peer: Peer | None) -> bool:
        """Whether the connection of ``peer`` was marked (the mark is used up)."""
        if peer is None or peer not in self._doomed:
            return False
        self._doomed.discard(peer)
        return True

    def forget(self, peer: Peer | None) -> None:
        """The connection is gone: a later one from the same port starts unmarked."""
        if peer is not None:
            self._doomed.discard(peer)

    def protocol(self) -> type[asyncio.Protocol]:
        """uvicorn's h11 protocol, closing a marked connection on its next request's first bytes."""
        control = self

        class ClosingH11Protocol(H11Protocol):
            _conformance_transport: asyncio.Transport
            _conformance_peer: Peer | None = None

            def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # uvicorn narrows it the same way
                self._conformance_transport = transport
                self._conformance_peer = _peer(transport.get_extra_info("peername"))
                super().connection_made(transport)

            def data_received(self, data: bytes) -> None:
                if control.take(self._conformance_peer):
                    self._conformance_transport.close()  # no byte of an answer: the client sees EOF or a reset
                    return
                super().data_received(data)

            def connection_lost(self, exc: Exception | None) -> None:
                control.forget(self._conformance_peer)
                super().connection_lost(exc)

        return ClosingH11Protocol


async def close_before_next_request(scope: Scope, send: Send) -> None:
    """Ask the server to close this connection when the next request arrives on it (a no-op where the server cannot)."""
    if CLOSE_BEFORE_NEXT_REQUEST in (scope.get("extensions") or {}):
        await send({"type": CLOSE_BEFORE_NEXT_REQUEST})
