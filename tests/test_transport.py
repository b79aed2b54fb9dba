"""conformance/transport.py against tiny real HTTP servers on 127.0.0.1 (no mock transports).

Each test starts an asyncio server on a free port whose handler scripts one behaviour (slow chunks,
429s, redirects, stalls, huge bodies, echoing the key) and checks what the transport recorded.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pytest
from local_server import LocalServer

from conformance import cassette
from conformance.auth import Auth
from conformance.contract.loader import load_contract
from conformance.exchange import Exchange
from conformance.extra_headers import ExtraHeaders, parse, resolve
from conformance.redact import MASK, public_form
from conformance.scenarios import USER_AGENT, Request
from conformance.transport import Limits, Target, Timeouts, Transport, make_wrong_key

KEY = "sk-ant-api03-tRaNsPoRt-TeSt-" + "k" * 40
WRONG = "sk-ant-api03-conformance-invalid-" + "0123456789abcdef" * 4 + "012345678AA"  # the shape of a real key
BODY = b'{"model": "claude-haiku-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}'
REQUEST = Request(
    scenario="plain",
    endpoint="messages",
    method="POST",
    path="/v1/messages",
    headers=(("user-agent", USER_AGENT), ("content-type", "application/json"), ("anthropic-version", "2023-06-01")),
    auth=Auth.X_API_KEY,
    body=BODY,
    stream=False,
    tags=frozenset(),
)


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    """What a handler sends back: status, headers, body pieces (chunked when more than one) and pauses."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=lambda: [("content-type", "application/json")])
    pieces: list[bytes] = field(default_factory=lambda: [b'{"type": "message"}'])
    pause: float = 0.0  # between pieces
    before: float = 0.0  # before the status line
    raw: bytes | None = None  # sent verbatim instead of a well-formed answer


Handler = Callable[[Seen, int], Reply]  # (request, 0-based request number) -> reply


class Server(LocalServer):
    """A one-purpose HTTP/1.1 server on 127.0.0.1; every connection closes after one answer."""

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler
        self.seen: list[Seen] = []

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        seen = Seen(method, path, headers, body)
        self.seen.append(seen)
        reply = self.handler(seen, len(self.seen) - 1)
        await asyncio.sleep(reply.before)
        if reply.raw is not None:
            writer.write(reply.raw)
            await writer.drain()
            return
        chunked = len(reply.pieces) > 1
        framing = [("transfer-encoding", "chunked")] if chunked else [("content-length", str(len(b"".join(reply.pieces))))]
        head_out = f"HTTP/1.1 {reply.status} X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in [*reply.headers, *framing, ("connection", "close")]) + "\r\n"
        writer.write(head_out.encode("latin-1"))
        await writer.drain()
        for number, piece in enumerate(reply.pieces):
            if number and reply.pause:
                await asyncio.sleep(reply.pause)
            writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece)
            await writer.drain()
        if chunked:
            writer.write(b"0\r\n\r\n")
            await writer.drain()


async def send(base_url: str, request: Request = REQUEST, headers: ExtraHeaders | None = None, **options: object) -> tuple[Exchange, Transport]:
    transport = Transport(Target(base_url, KEY, wrong_key=WRONG, headers=headers or ExtraHeaders()), **options)  # type: ignore[arg-type]
    try:
        return await transport.send(request), transport
    finally:
        await transport.aclose()


def run(handler: Handler, request: Request = REQUEST, **options: object) -> tuple[Exchange, Transport, Server]:
    async def main() -> tuple[Exchange, Transport, Server]:
        async with Server(handler) as server:
            exchange, transport = await send(server.base_url, request, **options)
        return exchange, transport, server

    return asyncio.run(main())


def always(reply: Reply) -> Handler:
    return lambda seen, n: reply


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dump(exchange: Exchange) -> str:
    """Every recorded field as text: the cassette record, the repr and the raw bytes."""
    return json.dumps(cassette.to_record(exchange), ensure_ascii=False) + repr(exchange) + exchange.body.decode("latin-1") + exchange.request.body.decode("latin-1")


# ---------------------------------------------------------------------------------- success


def test_success_records_the_answer_and_its_chunks():
    pieces = [b"event: ping\n", b'data: {"type": "ping"}\n\n', b"event: message_stop\n", b'data: {"type": "message_stop"}\n\n']
    stream = Reply(headers=[("content-type", "text/event-stream"), ("request-id", "req_1")], pieces=pieces, pause=0.05)
    exchange, transport, server = run(always(stream))
    assert (exchange.status, exchange.error, exchange.attempts, exchange.truncated) == (200, None, 1, False)
    assert exchange.id == "plain"
    assert exchange.body == b"".join(pieces)
    assert exchange.header("request-id") == "req_1"
    assert exchange.media_type == "text/event-stream"
    assert len(exchange.chunks) >= 2
    assert [c.offset for c in exchange.chunks] == [sum(c.size for c in exchange.chunks[:i]) for i in range(len(exchange.chunks))]
    assert sum(c.size for c in exchange.chunks) == len(exchange.body)
    times = [c.t for c in exchange.chunks]
    assert times == sorted(times)
    assert times[-1] - times[0] >= 0.1
    assert exchange.elapsed >= times[-1]
    assert exchange.started_at.endswith("+00:00")
    assert (transport.counters.requests, transport.counters.retries, transport.counters.bytes_received) == (1, 0, len(exchange.body))
    [seen] = server.seen
    assert (seen.method, seen.path, seen.body) == ("POST", "/v1/messages", BODY)
    assert seen.headers["x-api-key"] == KEY
    assert "authorization" not in seen.headers
    assert seen.headers["anthropic-version"] == "2023-06-01"
    assert seen.headers["user-agent"] == USER_AGENT
    assert exchange.request.url == f"{server.base_url}/v1/messages"
    assert exchange.request.header("x-api-key") == MASK
    assert exchange.request.body == BODY


def test_a_path_prefix_of_the_base_url_is_kept():
    async def main() -> Server:
        async with Server(always(Reply())) as server:
            await send(server.base_url + "/proxy/anthropic/")
        return server

    assert [s.path for s in asyncio.run(main()).seen] == ["/proxy/anthropic/v1/messages"]


@pytest.mark.parametrize(
    ("auth", "sent", "recorded"),
    [
        ("bearer", ("authorization", f"Bearer {KEY}"), ("authorization", f"Bearer {MASK}")),
        ("bearer-lowercase", ("authorization", f"bearer {KEY}"), ("authorization", f"bearer {MASK}")),
        ("x-api-key", ("x-api-key", KEY), ("x-api-key", MASK)),
        # the suite's own invalid probe key is evidence, so it stays readable, its random middle elided for secret scanners
        ("wrong-x-api-key", ("x-api-key", WRONG), ("x-api-key", public_form(WRONG))),
        ("wrong-bearer", ("authorization", f"Bearer {WRONG}"), ("authorization", f"Bearer {public_form(WRONG)}")),
    ],
)
def test_auth_modes_put_the_right_credential_on_the_wire(auth, sent, recorded):
    exchange, _, server = run(always(Reply()), replace(REQUEST, auth=Auth(auth)))
    [seen] = server.seen
    assert seen.headers[sent[0]] == sent[1]
    assert {"x-api-key", "authorization"} & set(seen.headers) == {sent[0]}
    assert exchange.request.header(recorded[0]) == recorded[1]


def test_auth_none_sends_no_credential():
    exchange, _, server = run(always(Reply(status=401)), replace(REQUEST, auth=Auth.NONE))
    assert {"x-api-key", "authorization"} & set(server.seen[0].headers) == set()
    assert exchange.request.header("x-api-key") is None
    assert exchange.status == 401


# ---------------------------------------------------------------------------------- retries


def test_429_with_retry_after_zero_is_retried_then_succeeds():
    def handler(seen: Seen, n: int) -> Reply:
        return Reply(status=429, headers=[("retry-after", "0"), ("content-type", "application/json")]) if n == 0 else Reply()

    exchange, transport, server = run(handler)
    assert (exchange.status, exchange.attempts) == (200, 2)
    assert exchange.notes == ("attempt 1: 429, retried after 0.0 s",)
    assert (len(server.seen), transport.counters.requests, transport.counters.retries) == (2, 2, 1)


def test_429_forever_stops_after_the_retries_with_a_note():
    busy = Reply(status=429, headers=[("retry-after-ms", "1"), ("content-type", "application/json")])
    exchange, _, server = run(always(busy), limits=Limits(retries=2))
    assert (exchange.status, exchange.attempts, len(server.seen)) == (429, 3, 3)
    assert exchange.notes == (
        "attempt 1: 429, retried after 0.0 s",
        "attempt 2: 429, retried after 0.0 s",
        "still 429 after 3 attempts (infrastructure, not a verdict)",
    )


def test_529_is_retried_and_the_wait_is_capped():
    def handler(seen: Seen, n: int) -> Reply:
        return Reply(status=529, headers=[("retry-after", "30")]) if n == 0 else Reply()

    started = time.monotonic()
    exchange, _, _ = run(handler, limits=Limits(max_retry_wait=0.0))
    assert time.monotonic() - started < 5
    assert (exchange.status, exchange.attempts, exchange.notes) == (200, 2, ("attempt 1: 529, retried after 0.0 s",))


def test_a_request_that_must_not_be_retried_keeps_its_429():
    exchange, _, server = run(always(Reply(status=429, headers=[("retry-after", "0")])), replace(REQUEST, retry=False))
    assert (exchange.status, exchange.attempts, exchange.notes, len(server.seen)) == (429, 1, (), 1)


# -------------------------------------------------------------------------------- redirects


def test_a_redirect_to_another_origin_is_not_followed_and_never_sees_the_key():
    async def main() -> tuple[Exchange, Server, Server]:
        async with Server(always(Reply())) as other:
            elsewhere = f"{other.base_url}/v1/messages"
            async with Server(always(Reply(status=307, headers=[("location", elsewhere)], pieces=[b""]))) as target:
                exchange, _ = await send(target.base_url)
        return exchange, target, other

    exchange, target, other = asyncio.run(main())
    assert other.seen == []
    assert len(target.seen) == 1
    assert exchange.status == 307
    assert exchange.notes == (f"redirect 307 to http://127.0.0.1:{other.port}/v1/messages not followed: the key never leaves the target's origin",)


def test_a_same_origin_redirect_is_followed():
    def handler(seen: Seen, n: int) -> Reply:
        return Reply(status=308, headers=[("location", "/v2/messages")], pieces=[b""]) if seen.path == "/v1/messages" else Reply(pieces=[b'{"moved": true}'])

    exchange, transport, server = run(handler)
    assert [s.path for s in server.seen] == ["/v1/messages", "/v2/messages"]
    assert [s.headers["x-api-key"] for s in server.seen] == [KEY, KEY]
    assert server.seen[1].body == BODY
    assert (exchange.status, exchange.body) == (200, b'{"moved": true}')
    assert exchange.notes == (f"followed same-origin redirect 308 to {server.base_url}/v2/messages",)
    assert transport.counters.requests == 1  # one logical request


GATEWAY_KEY = "pk-live-GaTeWaY-" + "g" * 24
GATEWAY = resolve([parse("x-portkey-provider: anthropic"), parse("x-portkey-api-key: ${PK}")], {"PK": GATEWAY_KEY})


def test_extra_headers_never_follow_a_redirect_to_another_origin():
    async def main() -> tuple[Exchange, Server]:
        async with Server(always(Reply())) as other, Server(always(Reply(status=302, headers=[("location", f"{other.base_url}/v1/messages")], pieces=[b""]))) as target:
            exchange, _ = await send(target.base_url, headers=GATEWAY)
        assert target.seen[0].headers["x-portkey-api-key"] == GATEWAY_KEY
        return exchange, other

    exchange, other = asyncio.run(main())
    assert other.seen == []
    assert exchange.status == 302
    assert GATEWAY_KEY not in dump(exchange)


def test_extra_headers_stay_on_a_same_origin_redirect():
    def handler(seen: Seen, n: int) -> Reply:
        return Reply(status=307, headers=[("location", "/v2/messages")], pieces=[b""]) if seen.path == "/v1/messages" else Reply()

    _, _, server = run(handler, headers=GATEWAY)
    assert [(s.path, s.headers["x-portkey-provider"], s.headers["x-portkey-api-key"]) for s in server.seen] == [
        ("/v1/messages", "anthropic", GATEWAY_KEY),
        ("/v2/messages", "anthropic", GATEWAY_KEY),
    ]


def test_same_origin_redirects_are_bounded():
    loop = Reply(status=302, headers=[("location", "/v1/messages")], pieces=[b""])
    exchange, _, server = run(always(loop), limits=Limits(max_redirects=2))
    assert (exchange.status, len(server.seen)) == (302, 3)
    assert exchange.notes[-1] == f"redirect 302 to {server.base_url}/v1/messages not followed: the key never leaves the target's origin"


# ---------------------------------------------------------------------------- infrastructure


def test_connection_refused_is_unreachable():
    exchange, transport = asyncio.run(send(f"http://127.0.0.1:{free_port()}"))
    assert (exchange.status, exchange.error_kind, exchange.body, exchange.chunks) == (None, "unreachable", b"", ())
    assert exchange.error is not None
    assert exchange.error.startswith("connection failed: ")
    assert exchange.request.header("x-api-key") == MASK
    assert transport.counters.requests == 1


def test_a_stall_after_the_headers_is_a_read_timeout_within_the_bound():
    stall = Reply(headers=[("content-type", "text/event-stream")], pieces=[b"event: ping\n", b'data: {"type": "ping"}\n\n'], pause=30)
    started = time.monotonic()
    exchange, _, _ = run(always(stall), timeouts=Timeouts(connect=2, read=0.3, total=10))
    assert time.monotonic() - started < 3
    assert (exchange.status, exchange.error_kind, exchange.error) == (200, "timeout", "read timeout: nothing received for 0.3 s after 12 bytes")
    assert exchange.body == b"event: ping\n"
    assert 0.25 <= exchange.elapsed < 3


def test_a_stall_before_the_headers_is_a_read_timeout_without_status():
    exchange, _, _ = run(always(Reply(before=30)), timeouts=Timeouts(connect=2, read=0.3, total=10))
    assert (exchange.status, exchange.error_kind, exchange.error) == (None, "timeout", "read timeout: nothing received for 0.3 s")


def test_a_slow_drip_hits_the_whole_exchange_timeout():
    drip = Reply(headers=[("content-type", "text/event-stream")], pieces=[b": keep-alive\n"] * 200, pause=0.05)
    started = time.monotonic()
    exchange, _, _ = run(always(drip), timeouts=Timeouts(connect=2, read=2, total=0.5))
    assert time.monotonic() - started < 3
    assert exchange.status, exchange.error_kind == (200, "timeout")
    assert exchange.error is not None
    assert exchange.error.startswith("no complete answer within 0.5 s (whole-exchange timeout for max_tokens ")
    assert 0 < len(exchange.body) < 200 * len(b": keep-alive\n")
    assert sum(c.size for c in exchange.chunks) == len(exchange.body)


def test_a_body_over_the_cap_is_cut():
    exchange, _, _ = run(always(Reply(pieces=[b"x" * 3000, b"y" * 3000], pause=0.01)), limits=Limits(max_body_bytes=4000))
    assert (len(exchange.body), exchange.truncated) == (4000, True)
    assert exchange.body == b"x" * 3000 + b"y" * 1000
    assert sum(c.size for c in exchange.chunks) == 4000
    assert exchange.notes == ("body cut at 4000 bytes (the cap)",)


def test_a_connection_closed_mid_body_keeps_what_arrived():
    cut = Reply(raw=b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n" + b'{"type": "mess')
    exchange, _, _ = run(always(cut))
    assert (exchange.status, exchange.error_kind, exchange.body) == (200, "protocol", b'{"type": "mess')
    assert exchange.error is not None
    assert exchange.error.startswith("protocol error: ")


def test_an_answer_that_is_not_http_is_a_protocol_error():
    exchange, _, _ = run(always(Reply(raw=b"SSH-2.0-OpenSSH_9.6\r\n\r\n")))
    assert (exchange.status, exchange.error_kind) == (None, "protocol")
    assert exchange.error is not None
    assert exchange.error.startswith("protocol error: ")


# ------------------------------------------------------------------------------------ secrets


def test_the_key_never_appears_in_the_recorded_exchange():
    leak = Reply(
        status=401,
        headers=[("content-type", "application/json"), ("x-echo-key", KEY), ("set-cookie", f"k={KEY}"), ("location-hint", f"http://{KEY}@h/")],
        pieces=[b'{"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key ' + KEY[:12].encode(), KEY[12:].encode() + b'"}}'],
        pause=0.01,
    )
    request = replace(REQUEST, body=BODY.replace(b'"hi"', b'"my key is ' + KEY.encode() + b'"'), headers=(*REQUEST.headers, ("x-debug", KEY)))
    exchange, _, server = run(always(leak), request)
    assert server.seen[0].headers["x-api-key"] == KEY  # the key did go on the wire, split across two reads
    text = dump(exchange)
    assert KEY not in text
    assert KEY[8:30] not in text
    assert exchange.body == f'{{"type": "error", "error": {{"type": "authentication_error", "message": "invalid x-api-key {MASK}"}}}}'.encode()
    assert [(c.offset, c.size) for c in exchange.chunks] == [(0, len(exchange.body))]
    assert exchange.notes == ("the answer contained the API key; it was masked and chunk boundaries were dropped",)
    assert exchange.header("x-echo-key") == MASK
    assert exchange.header("set-cookie") == MASK
    assert exchange.request.header("x-debug") == MASK
    assert f"my key is {MASK}".encode() in exchange.request.body


def test_extra_headers_go_out_and_a_secret_ones_value_reaches_no_record():
    echo = Reply(
        status=401,
        headers=[("content-type", "application/json"), ("x-portkey-api-key", GATEWAY_KEY)],
        pieces=[b'{"type": "error", "error": {"type": "authentication_error", "message": "bad gateway key ' + GATEWAY_KEY.encode() + b'"}}'],
    )
    exchange, _, server = run(always(echo), headers=GATEWAY)
    [seen] = server.seen
    assert (seen.headers["x-portkey-provider"], seen.headers["x-portkey-api-key"], seen.headers["x-api-key"]) == ("anthropic", GATEWAY_KEY, KEY)
    assert exchange.request.header("x-portkey-provider") == "anthropic"
    assert exchange.request.header("x-portkey-api-key") == MASK
    assert exchange.header("x-portkey-api-key") == MASK
    assert GATEWAY_KEY not in dump(exchange)
    assert exchange.notes == ("the answer contained a secret header's value; it was masked and chunk boundaries were dropped",)


def test_extra_headers_never_replace_a_probes_own_headers_nor_give_a_keyless_probe_a_key():
    # The loader refuses these names; a Target built by hand must still not let them through.
    sneaky = ExtraHeaders(pairs=(("X-Api-Key", "sneaky-key-0000"), ("Authorization", "Bearer sneaky"), ("anthropic-version", "1999-01-01"), ("x-extra", "1")))
    _, _, server = run(always(Reply(status=401)), replace(REQUEST, auth=Auth.NONE), headers=sneaky)
    [seen] = server.seen
    assert {"x-api-key", "authorization"} & set(seen.headers) == set()
    assert (seen.headers["anthropic-version"], seen.headers["x-extra"]) == ("2023-06-01", "1")


def test_the_key_in_a_redirect_location_is_never_recorded():
    async def main() -> tuple[Exchange, int]:
        port = free_port()
        async with Server(always(Reply(status=301, headers=[("location", f"http://user:{KEY}@127.0.0.1:{port}/x?k={KEY}")], pieces=[b""]))) as server:
            exchange, _ = await send(server.base_url)
        return exchange, port

    exchange, port = asyncio.run(main())
    assert KEY not in dump(exchange)
    assert exchange.notes == (f"redirect 301 to http://{MASK}@127.0.0.1:{port}/x?k={MASK} not followed: the key never leaves the target's origin",)


def test_target_hides_the_key_and_wrong_keys_look_real():
    target = Target("http://user:pw@127.0.0.1:8080/prefix", KEY, wrong_key=WRONG)
    assert KEY not in repr(target)
    assert WRONG not in repr(target)
    assert target.origin == ("http", "127.0.0.1:8080")
    assert target.url("/v1/messages") == "http://user:pw@127.0.0.1:8080/prefix/v1/messages"
    wrong = make_wrong_key("sk-ant-api03-conformance-invalid-", length=108, suffix="AA")
    assert wrong.startswith("sk-ant-api03-conformance-invalid-")
    assert re.fullmatch(r"sk-ant-api03-[A-Za-z0-9_-]{93}AA", wrong)  # a real key's shape (gitleaks' anthropic-api-key rule)
    assert wrong != make_wrong_key("sk-ant-api03-conformance-invalid-", length=108, suffix="AA")
    with pytest.raises(ValueError, match="leaves only 3 random ones"):
        make_wrong_key("sk-ant-api03-", length=18, suffix="AA")


def test_the_contract_shapes_the_wrong_key_like_a_real_one():
    contract = load_contract()
    wrong = make_wrong_key(contract.wrong_key_prefix, length=contract.wrong_key_length, suffix=contract.wrong_key_suffix)
    assert re.fullmatch(r"sk-ant-api03-[A-Za-z0-9_-]{93}AA", wrong)


def test_sends_run_concurrently_up_to_the_limit():
    async def main() -> float:
        async with Server(always(Reply(before=0.2))) as server:
            transport = Transport(Target(server.base_url, KEY), concurrency=4)
            try:
                started = time.monotonic()
                results = await asyncio.gather(*(transport.send(replace(REQUEST, scenario=f"s{i}")) for i in range(4)))
                elapsed = time.monotonic() - started
            finally:
                await transport.aclose()
        assert [e.id for e in results] == ["s0", "s1", "s2", "s3"]
        assert all(e.status == 200 for e in results)
        return elapsed

    assert asyncio.run(main()) < 0.6


@pytest.mark.parametrize("value", ["Wed, 21 Oct 2015 07:28:00 GMT", "Wed, 21 Oct 2015 07:28:00", "soon", ""])
def test_retry_after_dates_and_garbage_never_break_the_retry(value):
    # An HTTP date in the past means "now"; a date without zone is read as UTC; garbage falls back to backoff.
    def handler(seen: Seen, n: int) -> Reply:
        return Reply(status=429, headers=[("retry-after", value)]) if n == 0 else Reply()

    exchange, _, _ = run(handler, limits=Limits(max_retry_wait=0.0))
    assert (exchange.status, exchange.attempts, exchange.notes) == (200, 2, ("attempt 1: 429, retried after 0.0 s",))
