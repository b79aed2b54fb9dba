"""conformance/breaker.py through the transport, against scripted servers on 127.0.0.1, with small timeouts.

The mechanism, not the default numbers (bench/bounded.py measures those): a stalled stream, a
stream past its allowance or a dribbled response head trips its lane; the exchanges of that lane in
flight and to come get the short deadlines; a second trip stops the lane, and what was not sent says
why (outcome error through the judge); the other lanes go on; the run's clock cuts what still waits.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

import pytest
from local_server import LocalServer

from conformance import allowance, breaker
from conformance.auth import Auth
from conformance.breaker import Breaker, Lane, worst_case
from conformance.exchange import ErrorKind
from conformance.scenarios import USER_AGENT, Request
from conformance.transport import Target, Timeouts, Transport

KEY = "sk-ant-api03-bReAkEr-TeSt-" + "k" * 40
SMALL = Timeouts(connect=2, read=1.0, total=6.0, short_read=0.3, short_total=1.0, preflight_head=0.5)
START = b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}}\n\n'
DELTA = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"ok"}}\n\n'
BLOCK = b'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n'
END = (
    b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
    b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":1}}\n\n'
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
)
Writer = asyncio.StreamWriter
Handler = Callable[[dict[str, object], Writer], Awaitable[None]]


def request(scenario: str, *, stream: bool, max_tokens: int = 8, start_only: bool = False) -> Request:
    body = {"model": "m", "max_tokens": max_tokens, "messages": [{"role": "user", "content": "hi"}], **({"stream": True} if stream else {})}
    return Request(
        scenario=scenario,
        endpoint="messages",
        method="POST",
        path="/v1/messages",
        headers=(("user-agent", USER_AGENT), ("content-type", "application/json")),
        auth=Auth.X_API_KEY,
        body=json.dumps(body).encode(),
        stream=stream,
        tags=frozenset(),
        start_only=start_only,
    )


def head(content_type: str) -> bytes:
    return f"HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\nconnection: close\r\n\r\n".encode()


async def faithful(body: dict[str, object], writer: Writer) -> None:
    if body.get("stream"):
        writer.write(head("text/event-stream") + START + BLOCK + DELTA + END)
    else:
        message = b'{"type":"message","content":[{"type":"text","text":"ok"}],"usage":{"input_tokens":3,"output_tokens":1}}'
        writer.write(head("application/json") + message)


async def stall_streams(body: dict[str, object], writer: Writer) -> None:
    if not body.get("stream"):
        await faithful(body, writer)
        return
    writer.write(head("text/event-stream") + START)
    await writer.drain()
    await asyncio.sleep(60)


async def flood_streams(body: dict[str, object], writer: Writer) -> None:
    if not body.get("stream"):
        await faithful(body, writer)
        return
    writer.write(head("text/event-stream") + START + BLOCK)
    while True:
        writer.write(DELTA * 50)
        await writer.drain()


async def dribble_heads(body: dict[str, object], writer: Writer) -> None:
    for byte in head("application/json"):
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(0.1)


class Server(LocalServer):
    """An HTTP/1.1 server whose handler gets the decoded body and the writer."""

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler
        self.bodies: list[dict[str, object]] = []

    async def serve(self, reader: asyncio.StreamReader, writer: Writer) -> None:
        raw = await reader.readuntil(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in raw.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
        body = json.loads(await reader.readexactly(length))
        self.bodies.append(body)
        await self.handler(body, writer)
        await writer.drain()


async def _send_all(handler: Handler, requests: list[Request], *, timeouts: Timeouts = SMALL, concurrency: int = 1, clock: float | None = None) -> tuple[list, Transport, float]:
    async with Server(handler) as server:
        transport = Transport(Target(server.base_url, KEY), timeouts=timeouts, concurrency=concurrency)
        if clock is not None:
            transport.breaker.start_clock(clock)
        started = time.monotonic()
        try:
            exchanges = await asyncio.gather(*(transport.send(r) for r in requests))
        finally:
            await transport.aclose()
        return list(exchanges), transport, time.monotonic() - started


def send_all(handler: Handler, requests: list[Request], **options: object) -> tuple[list, Transport, float]:
    return asyncio.run(_send_all(handler, requests, **options))  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ the lanes


def test_a_stalled_stream_shortens_the_next_and_a_second_stall_stops_the_streams():
    streams = [request(f"s{i}.stream", stream=True) for i in range(5)]
    plains = [request(f"p{i}", stream=False) for i in range(3)]
    exchanges, transport, took = send_all(stall_streams, [*streams, *plains])
    first, second, *rest = exchanges[:5]
    assert (first.status, first.error_kind) == (200, "timeout")
    assert first.error.startswith("read timeout: nothing received for 1 s after ")  # the long idle deadline
    assert second.error.startswith("read timeout: nothing received for 0.3 s")  # the short one, and why
    assert "a short deadline, since the target stalled on s0.stream before" in second.error
    for later in rest:  # not sent: the stream lane is open
        assert (later.status, later.error_kind, later.attempts) == (None, ErrorKind.WITHHELD, 0)
        assert later.error.startswith("not judged: the target stalled on s0.stream (read timeout: nothing received for 1 s")
        assert later.error.endswith("and again on s1.stream; the remaining streamed requests were not sent")
    assert all(e.ok and e.error is None for e in exchanges[5:])  # the plain lane goes on
    assert [t.lane for t in transport.breaker.trips] == [Lane.STREAM, Lane.STREAM]
    assert transport.counters.requests == 5  # two streams and three plain answers went out
    assert took < 1.0 + 0.3 + 2.0


def test_a_trip_shortens_the_exchanges_of_its_lane_already_in_flight():
    streams = [request(f"s{i}.stream", stream=True) for i in range(3)]
    exchanges, transport, took = send_all(stall_streams, streams, concurrency=3)
    assert sorted(e.error.split(" after ")[0] for e in exchanges) == [
        "read timeout: nothing received for 0.3 s",
        "read timeout: nothing received for 0.3 s",
        "read timeout: nothing received for 1 s",
    ]
    assert took < 1.0 + 0.3 + 1.0  # all three ended together, not one idle deadline after another
    assert len(transport.breaker.trips) == 3


def test_a_dribbled_head_trips_the_head_lane_for_every_kind_of_request():
    timeouts = replace(SMALL, read=2.0, total=3.0, short_read=0.3, short_total=0.6)
    requests = [request("p0", stream=False, max_tokens=1), request("s0.stream", stream=True), request("p1", stream=False, max_tokens=1)]
    exchanges, transport, _ = send_all(dribble_heads, requests, timeouts=timeouts)
    first, second, third = exchanges
    # a plain answer's head may wait for the whole generation: its allowance (idle + 0.25 s per token), not the idle timeout alone
    assert (first.status, first.error_kind, first.error) == (None, "timeout", "no complete response head within 2.2 s")
    assert second.error == "no complete response head within 0.3 s; a short deadline, since the target did not finish a response head in time on p0 before"
    assert third.error_kind == ErrorKind.WITHHELD
    assert third.error.startswith("not judged: the target did not finish a response head in time on p0")
    assert [t.lane for t in transport.breaker.trips] == [Lane.HEAD, Lane.HEAD]


# ----------------------------------------------------------------- what a stream's reading stops at


def test_an_endless_stream_is_stopped_one_event_past_its_allowance():
    probe = request("s0.stream", stream=True, max_tokens=8)
    [exchange], transport, took = send_all(flood_streams, [probe])
    assert (exchange.status, exchange.error_kind) == (200, ErrorKind.OVERRAN)
    assert exchange.error == f"the stream sent more than {allowance.describe(8)}, with no end in sight; the suite stopped reading after event 97"
    assert exchange.body == START + BLOCK + DELTA * 95  # cut at the end of the 97th event, nothing after it kept
    assert [t.what for t in transport.breaker.trips] == ["sent a stream longer than its max_tokens allows"]
    assert took < 2


def test_streams_past_their_allowance_shorten_the_lane_but_are_each_judged():
    # Stopping at the allowance cost no waiting: every stream is read to its own allowance and judged, none is withheld.
    streams = [request(f"s{i}.stream", stream=True, max_tokens=8) for i in range(4)]
    exchanges, transport, took = send_all(flood_streams, streams)
    assert [e.error_kind for e in exchanges] == [ErrorKind.OVERRAN] * 4
    assert len(transport.breaker.trips) == 4
    assert took < 3


def test_a_probe_of_acceptance_is_closed_after_its_first_event():
    probe = request("param.max_tokens.at_max", stream=True, max_tokens=64_000, start_only=True)
    [exchange], transport, took = send_all(flood_streams, [probe])
    assert (exchange.status, exchange.error, exchange.body) == (200, None, START)
    assert "closed by the suite after the first event: param.max_tokens.at_max only asks whether the request is accepted (200 plus message_start)" in exchange.notes
    assert transport.breaker.trips == ()
    assert took < 2


# -------------------------------------------------------------------------------- the clocks


def test_the_run_clock_cuts_what_waits_and_sends_nothing_more():
    streams = [request(f"s{i}.stream", stream=True) for i in range(3)]
    timeouts = replace(SMALL, read=5.0, total=6.0, short_read=5.0, short_total=6.0)
    exchanges, transport, took = send_all(stall_streams, streams, timeouts=timeouts, clock=0.5)
    first, *rest = exchanges
    assert first.error.startswith("the run's time limit ran out (its worst case, 0 s) after ")
    for later in rest:
        assert later.error_kind == ErrorKind.WITHHELD
        assert later.error.startswith("not judged: the run's time limit ran out")
    assert transport.breaker.trips == ()  # the clock is ours: it trips nothing
    assert took < 1.5


def test_the_preflight_has_its_own_short_head_deadline():
    async def go() -> tuple:
        async with Server(dribble_heads) as server:
            transport = Transport(Target(server.base_url, KEY), timeouts=SMALL)
            try:
                with transport.breaker.preflight(5.0):
                    return await transport.send(request("plain", stream=False))
            finally:
                await transport.aclose()

    exchange = asyncio.run(go())
    assert (exchange.status, exchange.error_kind, exchange.error) == (None, "timeout", "no complete response head within 0.5 s")


# ----------------------------------------------------------------------------- the printed bound


def test_the_worst_case_adds_the_preflight_each_lane_and_every_round_of_short_deadlines():
    plain, stream = request("plain", stream=False, max_tokens=32), request("plain.stream", stream=True, max_tokens=32)
    many = [request(f"p{i}", stream=False, max_tokens=32) for i in range(8)]
    # defaults: 60 s idle, 180 s total, 30 s short total; a 32-token answer may take 60 + 32 x 0.25 = 68 s
    assert breaker.derive(plain, idle=60, total=180) == breaker.Deadlines(head=68, idle=60, total=68)
    assert breaker.derive(stream, idle=60, total=180) == breaker.Deadlines(head=60, idle=60, total=68)
    lanes = (68 + 60) + (68 + 60) + (68 + 60)  # head, body, stream lanes: the longest deadline and two short ones each
    assert worst_case([plain, stream, *many], concurrency=4, idle=60, total=180) == breaker.PREFLIGHT_TOTAL + lanes + 3 * 30 + breaker.FINISH


def test_a_fresh_breaker_withholds_nothing():
    async def go() -> None:
        fresh = Breaker(idle=60, total=180)
        assert fresh.withheld(request("plain", stream=False)) is None
        assert fresh.remaining() is None

    asyncio.run(go())


@pytest.mark.parametrize(("seconds", "text"), [(45, "45 s"), (60, "1 min"), (200, "3 min 20 s"), (3900, "1 h 5 min")])
def test_durations_read_like_a_person_writes_them(seconds: float, text: str):
    from conformance.budget import duration

    assert duration(seconds) == text
