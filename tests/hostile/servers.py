"""Misbehaving HTTP servers on real 127.0.0.1 sockets, one behaviour each, for the hostile battery.

Raw sockets on purpose: a framework would refuse to send most of what is here (control characters
in headers, a body cut mid-event, a gzip bomb, bytes that are not HTTP at all). Every server
records what it received, so a test can prove the key never reached a host it must not reach.

A ``Behaviour`` names what the server does wrong and declares what the suite must conclude: the
exit code, and which checks fail, end in ``error`` (where a limit of ours cut the answer) or skip
(every other selected check passes, naming what it judged). A
preflight behaviour breaks the first request, so the run must stop with one line and exit 3; a
later behaviour answers the preflight faithfully and misbehaves on the requests after it.
"""

from __future__ import annotations

import enum
import functools
import json
import random
import re
import socket
import socketserver
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

MIB = 1024 * 1024
HEAD_LIMIT = 64 * 1024
_REQUEST_LINE = re.compile(rb"[A-Z]{1,16} \S+ HTTP/1\.[01]\r\n")

# The checks every battery run selects (with -k): they need only the preflight (plain), a request
# without a key (auth.missing) and one stream (plain.stream), so each run sends three requests.
CHECKS = (
    "auth.missing_key_rejected",
    "errors.envelope_shape",
    "shape.message_schema",
    "headers.stream_content_type",
    "stream.data_is_json",
    "stream.utf8_valid",
    "stream.framing_terminated",
    "stream.message_start_first",
    "stream.event_order",
    "stream.ends_with_message_stop",
    "stream.length_within_max_tokens",
)


@dataclass(frozen=True)
class Received:
    """One request as it arrived: parsed when it was HTTP, and always the raw bytes."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    raw: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)

    @property
    def http(self) -> bool:
        return bool(self.method)

    @property
    def keyed(self) -> bool:
        """It carried a credential (either scheme)."""
        return self.header("x-api-key") is not None or self.header("authorization") is not None

    def _json(self) -> dict[str, Any]:
        try:
            body = json.loads(self.body)
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    @property
    def stream(self) -> bool:
        return self._json().get("stream") is True

    @property
    def model(self) -> str:
        return str(self._json().get("model", "unknown"))


class Wire:
    """The accepted socket, with sends that report a departed client instead of raising."""

    def __init__(self, sock: socket.socket, stop: threading.Event) -> None:
        self._sock = sock
        self._stop = stop

    def send(self, data: bytes) -> bool:
        """False once the client has gone (it hit a timeout or the size cap and hung up)."""
        try:
            self._sock.sendall(data)
        except OSError:
            return False
        return True

    def pause(self, seconds: float) -> bool:
        """Wait, unless the server is stopping; False when it is."""
        return not self._stop.wait(seconds)

    def hold(self) -> None:
        """Say nothing more until the client hangs up or the server stops."""
        self._sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                if self._sock.recv(4096) == b"":
                    return
            except TimeoutError:
                continue
            except OSError:
                return


Answer = Callable[["HostileServer", Wire, Received], None]


class Phase(enum.Enum):
    """When a behaviour shows: on the preflight (the run must stop, exit 3) or only after it (verdicts)."""

    PREFLIGHT = "preflight"
    LATER = "later"


@dataclass(frozen=True)
class Behaviour:
    """What one server does wrong, and what the suite must make of it.

    ``fails``, ``errors`` and ``skips`` list the selected checks that end ``fail``, ``error`` (a
    limit of ours: a timeout or a size cap is never the target's failure) and ``skip`` (nothing
    left to judge, with the reason); every other check in ``CHECKS`` passes. ``says`` is text the
    evidence must hold: the one-line message of a preflight behaviour, or the message of its first
    non-passing check. ``waits`` counts the exchange timeouts the run sits through back to back
    (the time bound is derived from it).
    """

    name: str
    phase: Phase
    description: str
    answer: Answer
    exit_code: int
    says: str = ""
    fails: frozenset[str] = frozenset()
    errors: frozenset[str] = frozenset()
    skips: frozenset[str] = frozenset()
    waits: int = 0
    url: str = "http"  # "https" for TLS to the plain port, "closed" for a port nobody listens on
    prepare: Callable[[], object] | None = None  # costly set-up done before the server accepts anything


# ------------------------------------------------------------------------------ HTTP bytes


def head(status: int, reason: str, headers: list[tuple[str, str | bytes]], *, length: int | None) -> bytes:
    """A status line and headers, written byte for byte (nothing validated: that is the point)."""
    lines = [f"HTTP/1.1 {status} {reason}".encode()]
    for name, value in [*headers, ("connection", "close")]:
        lines.append(name.encode("latin-1") + b": " + (value if isinstance(value, bytes) else value.encode("latin-1")))
    if length is not None:
        lines.append(b"content-length: " + str(length).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n"


def response(status: int, reason: str, body: bytes, *, content_type: str = "application/json", headers: list[tuple[str, str | bytes]] | None = None) -> bytes:
    return head(status, reason, [("content-type", content_type), ("request-id", "req_hostile01"), *(headers or [])], length=len(body)) + body


def stream_head(headers: list[tuple[str, str | bytes]] | None = None) -> bytes:
    """A 200 event stream delimited by closing the connection (no length, not chunked)."""
    return head(200, "OK", [("content-type", "text/event-stream; charset=utf-8"), ("cache-control", "no-cache"), ("request-id", "req_hostile02"), *(headers or [])], length=None)


def event(name: str, data: dict[str, Any] | bytes) -> bytes:
    payload = data if isinstance(data, bytes) else json.dumps(data).encode()
    return b"event: " + name.encode() + b"\ndata: " + payload + b"\n\n"


def message(model: str) -> dict[str, Any]:
    return {
        "id": "msg_01HostileBattery0000000",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": "ok"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 1},
    }


def error_body(kind: str, text: str) -> bytes:
    return json.dumps({"type": "error", "error": {"type": kind, "message": text}, "request_id": "req_hostile03"}).encode()


def stream_events(model: str, *, text: bytes = b'"ok"') -> list[bytes]:
    """The seven events of a faithful one-block answer; ``text`` is the delta's JSON string, raw."""
    start = dict(message(model), content=[], stop_reason=None)
    return [
        event("message_start", {"type": "message_start", "message": start}),
        event("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        event("ping", {"type": "ping"}),
        event("content_block_delta", b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":' + text + b"}}"),
        event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        event("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 1}}),
        event("message_stop", {"type": "message_stop"}),
    ]


def faithful(server: HostileServer, wire: Wire, request: Received) -> None:
    """What a conforming target answers to the three requests of a battery run."""
    if not request.keyed:
        wire.send(response(401, "Unauthorized", error_body("authentication_error", "x-api-key header is required")))
    elif request.path.split("?")[0] != "/v1/messages":
        wire.send(response(404, "Not Found", error_body("not_found_error", "no such route")))
    elif request.stream:
        wire.send(stream_head() + b"".join(stream_events(request.model)))
    else:
        wire.send(response(200, "OK", json.dumps(message(request.model)).encode()))


def accepting(*, scheme: str | None = None, version: str | None = None) -> Answer:
    """A faithful target that reads the key from one header only (``x-api-key`` or ``authorization``), or serves one anthropic-version only."""

    def answer(server: HostileServer, wire: Wire, request: Received) -> None:
        if scheme is not None and request.keyed and request.header(scheme) is None:
            wire.send(response(401, "Unauthorized", error_body("authentication_error", f"{scheme} header is required")))
        elif version is not None and request.keyed and request.header("anthropic-version") != version:
            text = f'anthropic-version: "{request.header("anthropic-version")}" is not a valid version'
            wire.send(response(400, "Bad Request", error_body("invalid_request_error", text)))
        else:
            faithful(server, wire, request)

    return answer


def refusing(server: HostileServer, wire: Wire, request: Received) -> None:
    """Refuses every key, whichever way it comes: nothing the preflight can try works."""
    wire.send(response(401, "Unauthorized", error_body("authentication_error", "invalid x-api-key")))


def later(misbehave: Answer) -> Answer:
    """Answer the preflight (the first request) faithfully, then misbehave."""

    def answer(server: HostileServer, wire: Wire, request: Received) -> None:
        (faithful if server.serial(request) == 1 else misbehave)(server, wire, request)

    return answer


def on_streams(misbehave: Answer) -> Answer:
    """Misbehave on stream requests only; everything else is faithful."""

    def answer(server: HostileServer, wire: Wire, request: Received) -> None:
        (misbehave if request.keyed and request.stream else faithful)(server, wire, request)

    return answer


def _status(request: Received) -> tuple[int, str]:
    """What a misbehaving answer claims: success for a keyed request, 401 for the one without a key."""
    return (200, "OK") if request.keyed else (401, "Unauthorized")


# --------------------------------------------------------------------------- behaviours


def _not_http(server: HostileServer, wire: Wire, request: Received) -> None:
    """What nginx says when TLS (or anything else that is not HTTP/1.x) reaches a plain port."""
    if not request.http:
        wire.send(response(400, "Bad Request", b"<html><body><h1>400 Bad Request</h1>The plain HTTP request was sent to HTTPS port</body></html>\n", content_type="text/html"))
        return
    faithful(server, wire, request)


def _garbage(server: HostileServer, wire: Wire, request: Received) -> None:
    noise = random.Random(1729).randbytes(4096)
    wire.send(b"\x00\x1b[2J" + noise.replace(b"HTTP", b"xxxx"))


BAD_GATEWAY = (
    b"<html>\r\n<head><title>502 Bad Gateway\x1b]0;pwned\x07</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.25.3</center>\r\n"
    b"<script>document.title='pwned'</script>\r\n</body>\r\n</html>\r\n"
)


def _bad_gateway(server: HostileServer, wire: Wire, request: Received) -> None:
    wire.send(response(502, "Bad Gateway", BAD_GATEWAY, content_type="text/html"))


def _silent(server: HostileServer, wire: Wire, request: Received) -> None:
    wire.hold()


def _drip(server: HostileServer, wire: Wire, request: Received) -> None:
    """Headers, then one event (or the start of a JSON body), then a byte or a ping every 0.4 s for ever."""
    first = stream_events(request.model)[0] if request.stream else b'{"type":"message",'
    content_type = "text/event-stream" if request.stream else "application/json"
    if not wire.send(head(*_status(request), [("content-type", content_type), ("request-id", "req_hostile04")], length=None) + first):
        return
    tick = event("ping", {"type": "ping"}) if request.stream else b" "
    while wire.pause(0.4) and wire.send(tick):
        pass


def _stall(server: HostileServer, wire: Wire, request: Received) -> None:
    if wire.send(stream_head() + stream_events(request.model)[0]):
        wire.hold()


DRIBBLE_SECONDS = 0.5  # between two bytes of a dribbled response head (bench/bounded.py sets 2 s, the issue's case, for its default timeouts)
PACE_SECONDS = 0.005  # between two text deltas of an endless paced stream: 193 in 1 s, well inside the battery's 6 s (bench/bounded.py sets 0.02, a model's 50 a second)


def _dribble_head(server: HostileServer, wire: Wire, request: Received) -> None:
    """The response head one byte at a time, each after a pause: an idle timeout never fires, only a deadline on the whole head."""
    answer = response(200, "OK", json.dumps(message(request.model)).encode()) if request.keyed else response(401, "Unauthorized", error_body("authentication_error", "x-api-key header is required"))
    for byte in answer:
        if not (wire.pause(DRIBBLE_SECONDS) and wire.send(bytes([byte]))):
            return


def _paced_deltas(server: HostileServer, wire: Wire, request: Received) -> None:
    """A model that never stops, at a model's pace: valid text deltas, one every PACE_SECONDS, for ever."""
    events = stream_events(request.model)
    if not wire.send(stream_head() + b"".join(events[:3])):
        return
    while wire.pause(PACE_SECONDS) and wire.send(events[3]):
        pass


def _cut(server: HostileServer, wire: Wire, request: Received) -> None:
    events = stream_events(request.model)
    wire.send(stream_head() + b"".join(events[:3]) + events[3][: len(events[3]) // 2])


def _bad_utf8(server: HostileServer, wire: Wire, request: Received) -> None:
    # 0xff never occurs in UTF-8; 0xc3 0x28 is a lead byte without its continuation; 0xe2 0x82 stops short.
    wire.send(stream_head() + b"".join(stream_events(request.model, text=b'"ok \xff \xc3\x28 \xe2\x82"')))


def _flood(server: HostileServer, wire: Wire, request: Received) -> None:
    """A model that never stops: text deltas as fast as the socket takes them."""
    events = stream_events(request.model)
    if not wire.send(stream_head() + b"".join(events[:3])):
        return
    batch = events[3] * (64 * 1024 // len(events[3]))
    while not server.stopping and wire.send(batch):
        pass


HUGE = 100 * MIB


def _huge(server: HostileServer, wire: Wire, request: Received) -> None:
    """100 MiB announced by content-length: one JSON string that never closes (inside a text delta for a stream)."""
    if request.stream:
        opening = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"'
        start, content_type = b"".join(stream_events(request.model)[:2]) + opening, "text/event-stream"
    else:
        start, content_type = b'{"type":"error","error":{"type":"authentication_error","message":"', "application/json"
    if not wire.send(head(*_status(request), [("content-type", content_type), ("request-id", "req_hostile05")], length=HUGE) + start):
        return
    sent, block = len(start), b"A" * MIB
    while sent < HUGE and not server.stopping:
        piece = block[: HUGE - sent]
        if not wire.send(piece):
            return
        sent += len(piece)


BOMB_BYTES = 256 * MIB
_BOMB_LOCK = threading.Lock()


@functools.cache
def _packed_zeros() -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MIB)
    return b"".join([*(packer.compress(zeros) for _ in range(BOMB_BYTES // MIB)), packer.flush()])


def gzip_bomb() -> bytes:
    """256 MiB of zeros gzip-compressed to about 256 KiB (a thousandth); computed once, in about 2 s."""
    with _BOMB_LOCK:
        return _packed_zeros()


def _bomb(server: HostileServer, wire: Wire, request: Received) -> None:
    body = gzip_bomb()
    content_type = "text/event-stream" if request.stream else "application/json"
    wire.send(head(*_status(request), [("content-type", content_type), ("content-encoding", "gzip"), ("request-id", "req_hostile06")], length=len(body)) + body)


def _redirect(server: HostileServer, wire: Wire, request: Received) -> None:
    """A same-origin hop (which the suite may follow, key included), then a hop to another host (which it must not)."""
    if not request.path.startswith("/hop/"):
        wire.send(head(307, "Temporary Redirect", [("location", "/hop" + request.path)], length=0))
        return
    assert server.elsewhere is not None, "a redirect behaviour needs a second server to point at"
    location = server.elsewhere.base_url + request.path.removeprefix("/hop")
    wire.send(head(307, "Temporary Redirect", [("location", location)], length=0))


CONTROL_HEADER = b"\x1b[31mred\x1b[0m\x07\x00 and a bare\rCR"


def _control_headers(server: HostileServer, wire: Wire, request: Received) -> None:
    if request.stream:
        body, content_type = b"".join(stream_events(request.model)), "text/event-stream"
    elif request.keyed:
        body, content_type = json.dumps(message(request.model)).encode(), "application/json"
    else:
        body, content_type = error_body("authentication_error", "x-api-key header is required"), "application/json"
    headers: list[tuple[str, str | bytes]] = [("content-type", content_type), ("x-debug", CONTROL_HEADER), ("request-id", b"req_\x7f\x08")]
    wire.send(head(*_status(request), headers, length=len(body)) + body)


DEPTH = 10_000


def _nested(server: HostileServer, wire: Wire, request: Received) -> None:
    deep = b"[" * DEPTH + b"]" * DEPTH
    if request.stream:
        wire.send(stream_head() + event("message_start", b'{"type":"message_start","message":' + deep + b"}") + b"".join(stream_events(request.model)[1:]))
    else:
        wire.send(response(401, "Unauthorized", b'{"type":"error","error":{"type":"authentication_error","message":"nested","detail":' + deep + b"}}"))


PARSEABLE_DEPTH = 900  # under the parser's limit (about 1,000 levels), over what recursive code deep in a judgement survives


def _deep_but_parseable(server: HostileServer, wire: Wire, request: Received) -> None:
    """Valid JSON nested 900 deep where strings and numbers belong: it parses, then must not crash whoever reads or prints it."""
    deep = b"[" * PARSEABLE_DEPTH + b'"x"' + b"]" * PARSEABLE_DEPTH
    if request.stream:
        events = stream_events(request.model)
        delta = b'{"type":"message_delta","delta":{"stop_reason":' + deep + b',"stop_sequence":null},"usage":{"output_tokens":' + deep + b"}}"
        wire.send(stream_head() + b"".join(events[:5]) + event("message_delta", delta) + events[6])
    else:
        wire.send(response(500, "Internal Server Error", b'{"type":"error","error":{"type":' + deep + b',"message":' + deep + b"}}"))


SCRIPT = '<script>alert("hostile")</script>'
SCRIPT_MESSAGE = f"{SCRIPT}<img src=x onerror=alert(2)>\x1b]0;pwned\x07\x1b[2J"


def _script(server: HostileServer, wire: Wire, request: Received) -> None:
    """A 500 where a 401 belongs, and an error event mid-stream, both carrying markup and terminal escapes."""
    headers: list[tuple[str, str | bytes]] = [("x-hostile", "<img src=x onerror=alert(3)>")]
    if request.stream:
        failure = event("error", {"type": "error", "error": {"type": "api_error", "message": SCRIPT_MESSAGE}})
        wire.send(stream_head(headers) + b"".join(stream_events(request.model)[:4]) + failure)
    else:
        wire.send(response(500, "Internal Server Error", error_body("api_error", SCRIPT_MESSAGE), headers=headers))


_STREAM_CHECKS = frozenset(c for c in CHECKS if c.startswith(("stream.", "headers.stream")))
_NOT_PREFLIGHT = frozenset(CHECKS) - {"shape.message_schema"}
_CUT = frozenset({"stream.framing_terminated", "stream.ends_with_message_stop", "errors.envelope_shape"})  # our size cap: error, never fail
_END_UNREAD = frozenset({"stream.framing_terminated", "stream.ends_with_message_stop"})  # the end of the stream lies past a limit of ours
_LENGTH = frozenset({"stream.length_within_max_tokens"})  # how long the stream runs is unknown past a limit of ours (error), the target's fault past its allowance (fail)

BEHAVIOURS: dict[str, Behaviour] = {
    b.name: b
    for b in (
        Behaviour("well-behaved", Phase.LATER, "answers everything faithfully (the control)", faithful, 0),
        Behaviour("refuse-connection", Phase.PREFLIGHT, "nothing listens on the port", faithful, 3, says="connection failed: connection refused", url="closed"),
        Behaviour("tls-to-plain-port", Phase.PREFLIGHT, "speaks plain HTTP; the base URL says https", _not_http, 3, says="connection failed: [SSL", url="https"),
        Behaviour("garbage-bytes", Phase.PREFLIGHT, "answers 4 KiB of random bytes, not HTTP", _garbage, 3, says="protocol error"),
        Behaviour("html-502", Phase.PREFLIGHT, "answers an nginx 502 page: many lines, a script, a terminal escape", _bad_gateway, 3, says="→ 502 <html> <head><title>502 Bad Gateway\\x1b]0;pwned\\x07</title>"),
        Behaviour("silent-preflight", Phase.PREFLIGHT, "reads the request and never answers", _silent, 3, says="read timeout: nothing received for 2 s", waits=1),
        Behaviour("endless-preflight", Phase.PREFLIGHT, "answers 200, then drips the body for ever", _drip, 3, says="broke off", waits=1),
        Behaviour("dribbled-headers", Phase.PREFLIGHT, "sends every response head one byte at a time, a pause between bytes", _dribble_head, 3,
                  says="no complete response head within", waits=1),
        Behaviour("redirect-preflight", Phase.PREFLIGHT, "redirects every request, via a same-origin hop, to another host", _redirect, 3, says="→ 307"),
        Behaviour("stall-after-one-event", Phase.LATER, "streams message_start, then silence", later(on_streams(_stall)), 0,
                  says="read timeout", errors=_END_UNREAD | _LENGTH | {"stream.event_order"}, waits=1),  # nothing after message_start was read
        Behaviour("cut-mid-event", Phase.LATER, "streams three events and half of the fourth, then closes", later(on_streams(_cut)), 1,
                  says="stream ended mid-event", fails=frozenset({"stream.framing_terminated", "stream.ends_with_message_stop"})),
        Behaviour("invalid-utf8", Phase.LATER, "streams a text delta with bytes that are not UTF-8", later(on_streams(_bad_utf8)), 1,
                  says="invalid UTF-8 byte 0xff", fails=frozenset({"stream.utf8_valid"})),
        Behaviour("endless-drip", Phase.LATER, "streams a ping every 0.4 s for ever", later(on_streams(_drip)), 0,
                  says="whole-exchange timeout", errors=_END_UNREAD | _LENGTH, waits=1),
        # Stopped one event past what max_tokens 32 allows: the target's finding, and the rules about the end skip naming it.
        # Exit 3 below for a LATER server: more than half of the MUST cases ended in error, so the target
        # could not be tested (publish._mark_unjudged); the reports are written all the same.
        Behaviour("dribbled-headers-later", Phase.LATER, "answers the preflight, then sends every response head one byte at a time", later(_dribble_head), 3,
                  says="no complete response head within", errors=_NOT_PREFLIGHT, waits=1),
        Behaviour("endless-paced-deltas", Phase.LATER, "streams valid text deltas at a steady pace, for ever", later(on_streams(_paced_deltas)), 1,
                  says="the suite stopped reading there, with no end in sight", fails=_LENGTH, skips=_END_UNREAD),
        Behaviour("endless-flood", Phase.LATER, "streams text deltas as fast as the socket goes, for ever", later(on_streams(_flood)), 1,
                  says="the suite stopped reading there, with no end in sight", fails=_LENGTH, skips=_END_UNREAD),
        Behaviour("hundred-megabyte-body", Phase.LATER, "answers 100 MiB (content-length) after the preflight", later(_huge), 0,
                  says="the suite's size cap cut the answer", errors=_CUT | _LENGTH),
        Behaviour("gzip-bomb", Phase.LATER, "answers 256 MiB of zeros gzip-compressed to 256 KiB after the preflight", later(_bomb), 3,
                  says="the suite's size cap cut the answer", prepare=gzip_bomb,
                  # one line of zeros: the first event is over the 8 MiB cap, so no stream check had anything read to judge
                  errors=_CUT | _LENGTH | {"stream.data_is_json", "stream.utf8_valid", "stream.message_start_first", "stream.event_order"}),
        Behaviour("redirect-elsewhere", Phase.LATER, "redirects every request after the preflight, via a same-origin hop, to another host", later(_redirect), 3,
                  says="which the suite does not follow", errors=_NOT_PREFLIGHT),
        Behaviour("control-chars-in-headers", Phase.LATER, "sends ESC, BEL, NUL, DEL and a bare CR in header values after the preflight", later(_control_headers), 3,
                  says="protocol error: illegal header line", errors=_NOT_PREFLIGHT),
        Behaviour("nested-json", Phase.LATER, "answers JSON nested 10,000 deep after the preflight", later(_nested), 1,
                  says="Expected: one JSON object", fails=frozenset({"stream.data_is_json", "stream.message_start_first", "errors.envelope_shape"}),
                  skips=frozenset({"stream.event_order"})),
        Behaviour("json-near-recursion-limit", Phase.LATER, "answers valid JSON nested 900 deep where strings and numbers belong", later(_deep_but_parseable), 1,
                  says="Received: status 500 (<list>: <list>)", fails=frozenset({"auth.missing_key_rejected", "errors.envelope_shape"})),
        Behaviour("script-in-error", Phase.LATER, "answers errors whose message is markup with terminal escapes", later(_script), 1,
                  says=SCRIPT, fails=frozenset({"auth.missing_key_rejected"})),
    )
}


# ------------------------------------------------------------------------------ servers


class _Handler(socketserver.BaseRequestHandler):
    server: _TCPServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(10)
        owner = self.server.owner
        try:
            received = _read_request(sock)
        except OSError:
            return
        owner.record(received)
        owner.behaviour.answer(owner, Wire(sock, owner.stop_event), received)


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], owner: HostileServer) -> None:
        self.owner = owner
        super().__init__(address, _Handler)


def _read_request(sock: socket.socket) -> Received:
    """One request: the head up to the blank line and a content-length body; anything not HTTP/1.x is kept raw."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < HEAD_LIMIT:
        piece = sock.recv(65536)
        if not piece:
            break
        data += piece
        if not _REQUEST_LINE.match(data) and (b"\r\n" in data or not re.fullmatch(rb"[A-Z]*", data)):
            return Received("", "", (), b"", data)  # a TLS ClientHello, or anything else that is not HTTP/1.x
    head_bytes, _, body = data.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    method, path, _ = [*lines[0].split(" "), "", ""][:3]
    headers = tuple((k.strip().lower(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:]))
    length = int(dict(headers).get("content-length", "0") or 0)
    while len(body) < length:
        piece = sock.recv(65536)
        if not piece:
            break
        body += piece
    return Received(method, path, headers, body, head_bytes + b"\r\n\r\n" + body)


@dataclass
class HostileServer:
    """One behaviour on a real socket; ``received`` lists every request, in arrival order."""

    behaviour: Behaviour
    host: str = "127.0.0.1"
    elsewhere: HostileServer | None = None  # where a redirect behaviour sends the client
    received: list[Received] = field(default_factory=list)
    stop_event: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._tcp: _TCPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def stopping(self) -> bool:
        return self.stop_event.is_set()

    @property
    def port(self) -> int:
        assert self._tcp is not None, "the server is not started"
        return int(self._tcp.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def record(self, request: Received) -> None:
        with self._lock:
            self.received.append(request)

    def serial(self, request: Received) -> int:
        """1 for the first request this server received, 2 for the second, …"""
        with self._lock:
            return next(i for i, r in enumerate(self.received, 1) if r is request)

    def saw(self, secret: str) -> bool:
        """Whether any byte this server received contained ``secret``."""
        token = secret.encode()
        with self._lock:
            return any(token in r.raw for r in self.received)

    def __enter__(self) -> HostileServer:
        if self.behaviour.prepare is not None:
            self.behaviour.prepare()
        self._tcp = _TCPServer((self.host, 0), self)
        self._thread = threading.Thread(target=self._tcp.serve_forever, kwargs={"poll_interval": 0.05}, name=f"hostile-{self.behaviour.name}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop_event.set()
        if self._tcp is not None:
            self._tcp.shutdown()
            self._tcp.server_close()
        if self._thread is not None:
            self._thread.join(5)


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released): connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
