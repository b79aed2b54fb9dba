"""Connection hygiene (conformance/connections.py and the transport's resend) against a keep-alive server on 127.0.0.1.

The server keeps connections alive and scripts, per connection and per request on it, whether to
answer, to close before answering (the keep-alive race a target loses), or to send bytes that are not
HTTP. The transport must resend only a request that died on a reused connection before any answer,
once, on a new connection, and record which exchange that connection had answered before.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import struct
from collections.abc import Callable

import pytest
from local_server import LocalServer

from conformance import cassette
from conformance.auth import Auth
from conformance.connections import Ledger, is_open
from conformance.exchange import ConnectionKind, ConnectionUse, Exchange
from conformance.scenarios import Request
from conformance.transport import Target, Timeouts, Transport

KEY = "sk-ant-api03-cOnNeCtIoNs-" + "k" * 40
ANSWER, CLOSE, RESET, GARBAGE, SILENT = "answer", "close", "reset", "garbage", "silent"
Script = Callable[[int, int, str], tuple[str, int]]  # (connection number, request number on it, path) -> (action, status)


def request(scenario: str) -> Request:
    return Request(scenario=scenario, endpoint="messages", method="POST", path=f"/v1/{scenario}", headers=(("content-type", "application/json"),),
                   auth=Auth.X_API_KEY, body=b'{"max_tokens": 8}', stream=False, tags=frozenset())


class KeepAliveServer(LocalServer):
    """HTTP/1.1 with persistent connections; ``script`` decides each request's fate."""

    def __init__(self, script: Script) -> None:
        super().__init__()
        self.script = script
        self.connections = 0
        self.requests: list[tuple[int, str]] = []  # (connection number, path) in arrival order

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number, on_connection = self.connections, 0
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            length = next((int(v) for k, _, v in (line.partition(":") for line in lines[1:]) if k.lower() == "content-length"), 0)
            await reader.readexactly(length)
            on_connection += 1
            action, status = self.script(number, on_connection, path)
            self.requests.append((number, path))
            if action == RESET:  # SO_LINGER 0: the close sends RST instead of FIN
                writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            if action == CLOSE:
                return
            if action == GARBAGE:
                writer.write(b"\x00\x01 not http at all\r\n\r\n")
                await writer.drain()
                return
            if action == SILENT:
                await reader.read()  # until the client gives up and hangs up
                return
            body = b'{"type": "error"}' if status >= 400 else b'{"type": "message"}'
            writer.write(f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n".encode() + body)
            await writer.drain()


def close_after_errors(how: str = CLOSE) -> Script:
    """The fault: a connection that answered an error is closed (or reset) when its next request arrives."""
    erred: set[int] = set()

    def script(connection: int, _on_connection: int, path: str) -> tuple[str, int]:
        if connection in erred:
            erred.discard(connection)
            return how, 0
        if path.startswith("/v1/error"):
            erred.add(connection)
            return ANSWER, 500
        return ANSWER, 200

    return script


def send_in_order(script: Script, scenarios: list[str], *, concurrency: int = 1, timeouts: Timeouts | None = None) -> tuple[list[Exchange], Transport, KeepAliveServer]:
    async def main() -> tuple[list[Exchange], Transport, KeepAliveServer]:
        async with KeepAliveServer(script) as server:
            transport = Transport(Target(server.base_url, KEY), concurrency=concurrency, timeouts=timeouts)
            try:
                sent = [await transport.send(request(sid)) for sid in scenarios]
            finally:
                await transport.aclose()
        return sent, transport, server

    return asyncio.run(main())


def test_a_kept_alive_connection_is_recorded_as_reused_after_the_exchange_it_answered():
    (first, second, third), transport, server = send_in_order(lambda *_: (ANSWER, 200), ["a", "b", "c"])
    assert [e.connection.kind for e in (first, second, third)] == [ConnectionKind.NEW, ConnectionKind.REUSED, ConnectionKind.REUSED]
    assert (second.connection.after, third.connection.after) == (("a",), ("b",))
    assert 0 <= second.connection.idle < 1
    assert server.connections == 1
    assert (transport.counters.requests, transport.counters.reopened) == (3, 0)


def test_a_connection_closed_as_the_next_request_arrives_is_resent_once_on_a_new_one():
    (error, dropped, after), transport, server = send_in_order(close_after_errors(), ["error", "next", "later"])
    assert error.status == 500
    assert (dropped.status, dropped.error) == (200, None)
    use = dropped.connection
    assert (use.kind, use.after, use.dropped) == (ConnectionKind.REOPENED, ("error",), "RemoteProtocolError: Server disconnected without sending a response.")
    assert 0 <= use.idle < 1
    assert dropped.notes == (
        "the connection the target had kept alive after answering error closed before any answer"
        " (RemoteProtocolError: Server disconnected without sending a response.); resent once on a new connection, which answered 200",
    )
    assert after.connection.kind is ConnectionKind.NEW  # the dead connection is gone and the resend's was closed after it
    assert server.requests == [(1, "/v1/error"), (1, "/v1/next"), (2, "/v1/next"), (3, "/v1/later")]
    assert (transport.counters.requests, transport.counters.reopened, transport.counters.retries) == (4, 1, 0)


def test_a_connection_reset_as_the_next_request_arrives_is_resent_too():
    (_, dropped), transport, _ = send_in_order(close_after_errors(RESET), ["error", "next"])
    assert dropped.status == 200
    assert (dropped.connection.kind, dropped.connection.after) == (ConnectionKind.REOPENED, ("error",))
    assert dropped.connection.dropped.startswith("ReadError: ")
    assert transport.counters.reopened == 1


def test_a_resend_that_dies_too_is_recorded_as_failed_not_resent_again():
    def script(connection: int, on_connection: int, path: str) -> tuple[str, int]:
        return (ANSWER, 200) if connection == 1 and on_connection == 1 else (CLOSE, 0)

    (_, dropped), _, server = send_in_order(script, ["a", "b"])
    assert dropped.status is None
    assert dropped.error == "protocol error: Server disconnected without sending a response."
    assert dropped.connection.kind is ConnectionKind.REOPENED
    assert dropped.notes[-1].endswith("resent once on a new connection, which failed too: protocol error: Server disconnected without sending a response.")
    assert len(server.requests) == 3


@pytest.mark.parametrize(("fate", "error"), [(GARBAGE, "protocol error: "), (SILENT, "read timeout: nothing received for 0.5 s")])
def test_a_reused_connection_that_answers_wrongly_or_late_is_not_resent(fate: str, error: str):
    def script(connection: int, on_connection: int, path: str) -> tuple[str, int]:
        return (ANSWER, 200) if on_connection == 1 else (fate, 0)

    (_, broken), transport, server = send_in_order(script, ["a", "b"], timeouts=Timeouts(connect=2, read=0.5, total=5))
    assert broken.status is None
    assert broken.error.startswith(error)
    assert broken.connection is not None
    assert broken.connection.kind is ConnectionKind.REUSED
    assert (len(server.requests), transport.counters.reopened) == (2, 0)


def test_a_new_connection_closed_before_answering_is_not_resent():
    (failed,), transport, server = send_in_order(lambda *_: (CLOSE, 0), ["a"])
    assert failed.status is None
    assert failed.connection == ConnectionUse(ConnectionKind.NEW)
    assert (len(server.requests), transport.counters.reopened) == (1, 0)


def test_at_concurrency_4_each_dropped_connection_names_the_error_it_answered_before():
    async def main() -> tuple[list[Exchange], KeepAliveServer]:
        async with KeepAliveServer(close_after_errors()) as server:
            transport = Transport(Target(server.base_url, KEY), concurrency=4)
            try:
                sent: list[Exchange] = []
                for batch in range(6):
                    sent += await asyncio.gather(*(transport.send(request(f"{'error' if (batch + i) % 2 else 'ok'}{batch}.{i}")) for i in range(4)))
            finally:
                await transport.aclose()
        return sent, server

    sent, _ = asyncio.run(main())
    reopened = [e for e in sent if e.connection.kind is ConnectionKind.REOPENED]
    assert reopened, "the batches reuse connections that answered errors"
    assert all(e.status is not None and e.error is None for e in sent)
    for exchange in reopened:
        assert exchange.connection.after, exchange.connection
        assert all(name.startswith("error") for name in exchange.connection.after), exchange.connection


def test_the_connection_record_survives_a_cassette():
    (_, dropped, _), _, _ = send_in_order(close_after_errors(), ["error", "next", "later"])
    again = cassette.from_record(cassette.to_record(dropped))
    assert again.connection == dropped.connection
    assert cassette.from_record({**cassette.to_record(dropped), "connection": None}).connection is None


# ------------------------------------------------------------------------------------ ledger


@dataclasses.dataclass(eq=False)
class FakeSocket:
    closed: bool = False

    def fileno(self) -> int:
        return -1 if self.closed else 7


@dataclasses.dataclass(eq=False)
class FakeStream:
    sock: FakeSocket = dataclasses.field(default_factory=FakeSocket)

    def get_extra_info(self, info: str) -> object:
        return self.sock if info == "socket" else None


def test_the_ledger_names_what_a_connection_carried_and_forgets_closed_ones():
    now = [10.0]
    ledger = Ledger(clock=lambda: now[0])
    one, two = FakeStream(), FakeStream()
    ledger.released(one, "a")
    now[0] = 11.0
    ledger.released(two, "b")
    assert ledger.previous(one, at=10.25) == ("a", 0.25)
    assert ledger.previous(FakeStream(), at=12.0) is None
    two.sock.closed = True
    assert not is_open(two)
    assert ledger.claim_closed(at=11.5) == (("b",), 0.5)
    assert ledger.claim_closed(at=11.5) == ((), None)  # claimed once
    one.sock.closed = True
    three = FakeStream()
    ledger.released(three, "c")  # releasing prunes the closed ones
    assert ledger.claim_closed(at=20.0) == ((), None)


def test_two_connections_closed_at_once_are_both_named_without_an_idle_time():
    ledger = Ledger(clock=lambda: 1.0)
    one, two = FakeStream(), FakeStream()
    ledger.released(one, "a")
    ledger.released(two, "b")
    one.sock.closed = two.sock.closed = True
    assert ledger.claim_closed(at=2.0) == (("a", "b"), None)


def test_a_stream_without_a_socket_counts_as_closed():
    class Bare:
        def get_extra_info(self, info: str) -> object:
            return None

    assert not is_open(Bare())
