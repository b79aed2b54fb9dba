"""Sends requests to the target and records what happened, redacted, as ``Exchange`` values.

The one place that holds the API key and drives httpx for a run (the proxy has its own client).
Owns: timeouts (connect, idle read, whole exchange), the size caps (per body and per run; bodies
arrive decoded in bounded steps through inflate.py, so a gzip bomb costs no more than the cap),
retry of 429/529 after ``retry-after`` (bounded), the redirect guard (never follows a redirect to
another origin, so neither the key nor an extra header reaches another host), and connection
hygiene (a request that dies on a kept-alive connection before any answer is resent once on a new
connection, and the exchange records which connection it used). An httpx failure is recorded
with the ``ErrorKind`` and the line failures.py gives it. Judging is not its job.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import secrets
import string
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from .breaker import PREFLIGHT_HEAD, SHORT_IDLE, SHORT_TOTAL, Breaker, Lane, StreamStop, Trip
from .connections import Ledger, Stream
from .exchange import Chunk, ConnectionKind, ConnectionUse, ErrorKind, Exchange, RecordedRequest
from .extra_headers import ExtraHeaders
from .failures import CAUGHT, describe, kind_of, os_error_in
from .inflate import decoded
from .redact import Redactor
from .scenarios import Request

RETRY_STATUSES = frozenset({429, 529})
# httpcore's trace extension (request extension "trace") names this event only when a request opens a
# new TCP connection; the others mark a request that failed on its connection, and that connection closed.
_OPENED = "connection.connect_tcp.started"
_FAILED = frozenset({"http11.send_request_headers.failed", "http11.send_request_body.failed", "http11.receive_response_headers.failed"})
_CLOSED = "http11.response_closed.complete"


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Bounds on one exchange, in seconds: nothing the target does can hang the run longer."""

    connect: float = 10.0
    read: float = 60.0  # also the longest silence tolerated inside a stream
    total: float = 180.0
    # After the target ran into a deadline (breaker.py): the silence and the whole exchange its later exchanges of that kind get.
    short_read: float = SHORT_IDLE
    short_total: float = SHORT_TOTAL
    preflight_head: float = PREFLIGHT_HEAD  # a target that cannot send the head of a tiny answer this fast cannot be tested


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on memory and on retrying a busy target."""

    max_body_bytes: int = 32 * 1024 * 1024
    max_run_body_bytes: int = 128 * 1024 * 1024  # all bodies a run keeps: without it a hostile target costs every exchange the cap
    retries: int = 3
    max_retry_wait: float = 60.0
    max_redirects: int = 3


@dataclass(frozen=True)
class Target:
    """Where requests go and with which credential (and extra headers); no secret appears in a repr."""

    base_url: str
    api_key: str = field(repr=False)
    wrong_key: str = field(default="", repr=False)
    headers: ExtraHeaders = field(default_factory=ExtraHeaders)

    @property
    def origin(self) -> tuple[str, str]:
        """(scheme, host:port) of the base URL: redirects may only stay inside it."""
        parts = urlsplit(self.base_url)
        return parts.scheme, parts.netloc.rsplit("@", 1)[-1]

    def url(self, path: str) -> str:
        """The absolute URL of an API path, keeping any path prefix of the base URL."""
        return self.base_url.rstrip("/") + path


@dataclass
class Counters:
    """What the run spent: requests put on the wire (retries included) and their timing."""

    requests: int = 0
    retries: int = 0
    bytes_received: int = 0
    reopened: int = 0  # requests resent on a new connection after a kept-alive one died under them


_KEY_ALPHABET = string.ascii_letters + string.digits + "-_"  # URL-safe base64, the characters of real keys


def make_wrong_key(prefix: str, *, length: int, suffix: str = "") -> str:
    """An invalid key of a real key's shape (``prefix``, random URL-safe characters, ``suffix``, ``length`` in all); not a secret, never the real key."""
    room = length - len(prefix) - len(suffix)
    if room < 16:
        raise ValueError(f"a wrong key of {length} characters leaves only {room} random ones after {prefix!r} and before {suffix!r}")
    return prefix + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(room)) + suffix


class Transport:
    """httpx behind one seam: ``send(request) -> Exchange``."""

    def __init__(self, target: Target, *, timeouts: Timeouts | None = None, limits: Limits | None = None, concurrency: int = 4, breaker: Breaker | None = None) -> None:
        self.target = target
        self.timeouts = timeouts or Timeouts()
        self.limits = limits or Limits()
        t = self.timeouts
        self.breaker = breaker or Breaker(idle=t.read, total=t.total, short_idle=t.short_read, short_total=t.short_total, preflight_head=t.preflight_head)
        self.counters = Counters()
        self._kept = 0  # body bytes held by the exchanges this transport returned, against Limits.max_run_body_bytes
        extra = target.headers
        self._redactor = Redactor([target.api_key, *extra.secret_values], public=[target.wrong_key], secret_headers=extra.secret_names)
        self._semaphore = asyncio.Semaphore(max(1, concurrency))
        self._client = self._new_client(max(1, concurrency) + 2, keepalive=max(1, concurrency))
        self._fresh = self._new_client(max(1, concurrency), keepalive=0)  # every request on a new connection, closed after it
        self._ledger = Ledger()

    def _new_client(self, connections: int, *, keepalive: int) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=httpx.Timeout(connect=self.timeouts.connect, read=self.timeouts.read, write=self.timeouts.read, pool=None),
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=keepalive),
        )

    @property
    def redactor(self) -> Redactor:
        """The redactor every recorded value went through."""
        return self._redactor

    async def aclose(self) -> None:
        """Close the connection pools."""
        await self._client.aclose()
        await self._fresh.aclose()

    def _headers(self, request: Request) -> list[tuple[str, str]]:
        headers = list(request.headers)
        # Extra headers never replace a header the probe sets, nor the credential it adds below (the
        # loader refuses those names; this holds for a Target built by hand too).
        own = {name.lower() for name, _ in headers} | {"x-api-key", "authorization"}
        headers += [(name, value) for name, value in self.target.headers.pairs if name.lower() not in own]
        credential = request.auth.header(self.target.wrong_key if request.auth.is_wrong else self.target.api_key)
        return headers if credential is None else [*headers, credential]

    async def send(self, request: Request) -> Exchange:
        """Send ``request`` (retrying 429/529 when allowed) and return the redacted record."""
        async with self._semaphore:
            attempts = 0
            notes: list[str] = []
            while True:
                why = self.breaker.withheld(request)
                if why is not None:
                    return self._withheld(request, why, tuple(notes))
                attempts += 1
                exchange = await self._send_connected(request, attempts, tuple(notes))
                left = self.breaker.remaining()
                if exchange.status not in RETRY_STATUSES or not request.retry or attempts > self.limits.retries or left == 0:
                    if exchange.status in RETRY_STATUSES and request.retry and attempts > 1:
                        return _with_note(exchange, f"still {exchange.status} after {attempts} attempts (infrastructure, not a verdict)")
                    return exchange
                wait = _retry_after(exchange, attempts, self.limits.max_retry_wait if left is None else min(self.limits.max_retry_wait, left))
                notes.append(f"attempt {attempts}: {exchange.status}, retried after {wait:.1f} s")
                self.counters.retries += 1
                await asyncio.sleep(wait)

    def _withheld(self, request: Request, why: str, notes: tuple[str, ...]) -> Exchange:
        """The record of a request the breaker or the run's clock kept back: no status, the reason as its error."""
        recorded = RecordedRequest(method=request.method, url=self._redactor.text(self.target.url(request.path)), headers=(), body=self._redactor.data(request.body))
        return Exchange(id=request.scenario, request=recorded, status=None, error=why, error_kind=ErrorKind.WITHHELD, attempts=0, notes=notes)

    async def _send_connected(self, request: Request, attempt: int, notes: tuple[str, ...]) -> Exchange:
        """One attempt; when a kept-alive connection dies under it before any answer, one resend on a new connection.

        The target may close an idle connection at any time (RFC 9112 §9.5), so a request can meet a
        connection that is closing; clients resend such a request once (the SDKs retry connection
        errors). Only a request that got no byte of an answer is resent, and only once: the resend's
        answer is the exchange, and the exchange says which connection died and after which answer.
        """
        exchange, dropped = await self._send_once(request, attempt, notes, self._client)
        if dropped is None:
            return exchange
        self.counters.reopened += 1
        again, _ = await self._send_once(request, attempt, notes, self._fresh)
        last = f"after answering {' or '.join(dropped.after)}" if dropped.after else "after an earlier answer"
        outcome = f"answered {again.status}" if again.status is not None else f"failed too: {again.error}"
        note = f"the connection the target had kept alive {last} closed before any answer ({dropped.dropped}); resent once on a new connection, which {outcome}"
        return replace(again, connection=dropped, notes=(*again.notes, note))

    async def _send_once(self, request: Request, attempt: int, notes: tuple[str, ...], client: httpx.AsyncClient) -> tuple[Exchange, ConnectionUse | None]:
        """One attempt (following same-origin redirects): the record, and (REOPENED) how a reused connection died under it before any answer."""
        url = self.target.url(request.path)
        headers = self._headers(request)
        recorded = RecordedRequest(
            method=request.method,
            url=self._redactor.text(url),
            headers=tuple((name, self._redactor.header(name, value)) for name, value in headers),
            body=self._redactor.data(request.body),
        )
        started = datetime.now(UTC).isoformat(timespec="milliseconds")
        t0 = time.monotonic()
        chunks: list[Chunk] = []
        body = bytearray()
        status: int | None = None
        response_headers: tuple[tuple[str, str], ...] = ()
        error: str | None = None
        error_kind: ErrorKind | None = None
        truncated = False
        extra_notes: list[str] = []
        use: ConnectionUse | None = None
        dropped: ConnectionUse | None = None
        watch = self.breaker.watch(request)
        trip: Trip | None = None
        try:
            async with watch:
                self.counters.requests += 1
                for _hop in range(self.limits.max_redirects + 1):
                    trace = _Trace(self._ledger)
                    req = client.build_request(request.method, url, headers=headers, content=request.body or None, extensions={"trace": trace})
                    try:
                        response = await client.send(req, stream=True)
                    except httpx.HTTPError as exc:
                        use, dropped = self._use(None, opened=trace.opened, at=trace.sent_at), trace.dropped(exc, self._redactor.text)
                        raise
                    watch.headed()
                    stream: Stream | None = response.extensions.get("network_stream")
                    use = self._use(stream, opened=trace.opened, at=trace.sent_at)
                    try:
                        status = response.status_code
                        events = StreamStop(request) if request.stream and 200 <= status < 300 else None
                        response_headers = tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in response.headers.raw)
                        location = response.headers.get("location")
                        if 300 <= status < 400 and location:
                            target_url = urljoin(url, location)
                            parts = urlsplit(target_url)
                            if (parts.scheme, parts.netloc) == self.target.origin and _hop < self.limits.max_redirects:
                                extra_notes.append(f"followed same-origin redirect {status} to {self._redactor.text(target_url)}")
                                url = target_url
                                continue
                            extra_notes.append(f"redirect {status} to {self._redactor.text(target_url)} not followed: the key never leaves the target's origin")
                        async with contextlib.aclosing(decoded(response)) as pieces:
                            async for piece in pieces:
                                watch.read(len(piece))
                                stop = events.feed(piece) if events is not None else None
                                if stop is not None:  # the stream's first event, or the one past its allowance: reading stops after it
                                    piece = piece[: max(stop - len(body), 0)]
                                room = min(self.limits.max_body_bytes - len(body), self.limits.max_run_body_bytes - self._kept)
                                if len(piece) > room:
                                    piece = piece[: max(room, 0)]
                                    truncated = True
                                if piece:
                                    chunks.append(Chunk(offset=len(body), size=len(piece), t=round(time.monotonic() - t0, 4)))
                                    body += piece
                                    self._kept += len(piece)
                                if truncated:
                                    if len(body) >= self.limits.max_body_bytes:
                                        extra_notes.append(f"body cut at {self.limits.max_body_bytes} bytes (the cap)")
                                    else:
                                        extra_notes.append(f"body cut at {len(body)} bytes: the run's budget of {self.limits.max_run_body_bytes} bytes for all bodies is spent")
                                    break
                                if stop is not None and events is not None:
                                    if events.first_only:
                                        extra_notes.append(f"closed by the suite after the first event: {request.scenario} only asks whether the request is accepted (200 plus message_start)")
                                    else:
                                        error, error_kind = events.overran(), ErrorKind.OVERRAN
                                        trip = Trip(Lane.STREAM, request.scenario, "sent a stream longer than its max_tokens allows", error, waited=False)
                                    break
                    finally:
                        await response.aclose()
                        if stream is not None:
                            self._ledger.released(stream, request.scenario)
                    break
        except TimeoutError:
            error, trip = watch.expired()
            error_kind = ErrorKind.TIMEOUT
        except CAUGHT as exc:
            error, error_kind = describe(exc, self._redactor.text, connect=self.timeouts.connect, read=self.timeouts.read), kind_of(exc)
            if error_kind is ErrorKind.TIMEOUT:
                trip = watch.stalled(error, headed=status is not None)
        except (UnicodeError, ValueError, zlib.error) as exc:  # the target's bytes broke the text or content encoding
            error, error_kind = f"{type(exc).__name__}: {self._redactor.text(str(exc))}", ErrorKind.PROTOCOL
        if trip is not None:
            self.breaker.trip(trip)
        elapsed = round(time.monotonic() - t0, 4)
        self.counters.bytes_received += len(body)
        data = bytes(body)
        if self._redactor.contains_secret(data):
            what = "the API key" if self.target.api_key and self.target.api_key.encode() in data else "a secret header's value"
            data = self._redactor.data(data)
            chunks = [Chunk(offset=0, size=len(data), t=chunks[-1].t if chunks else elapsed)]
            extra_notes.append(f"the answer contained {what}; it was masked and chunk boundaries were dropped")
        return Exchange(
            id=request.scenario,
            request=recorded,
            status=status,
            headers=tuple((k, self._redactor.header(k, v)) for k, v in response_headers),
            body=data,
            chunks=tuple(chunks),
            elapsed=elapsed,
            started_at=started,
            error=error,
            error_kind=error_kind,
            truncated=truncated,
            attempts=attempt,
            notes=(*notes, *extra_notes),
            connection=use,
        ), dropped

    def _use(self, stream: Stream | None, *, opened: bool, at: float) -> ConnectionUse:
        """The connection a hop went out on: new, or kept alive after which answer and for how long."""
        if opened:
            return ConnectionUse(ConnectionKind.NEW)
        previous = self._ledger.previous(stream, at=at) if stream is not None else None
        return ConnectionUse(ConnectionKind.REUSED, after=(previous[0],) if previous else (), idle=previous[1] if previous else None)


class _Trace:
    """httpcore's ``trace`` request extension for one hop: did it open a new connection, and if a reused one died under it, which?"""

    def __init__(self, ledger: Ledger) -> None:
        self.sent_at = time.monotonic()
        self.opened = False
        self._ledger = ledger
        self._failed = False
        self._claimed: tuple[tuple[str, ...], float | None] = ((), None)

    async def __call__(self, event: str, info: Mapping[str, Any]) -> None:
        if event == _OPENED:
            self.opened = True
        elif event in _FAILED:
            self._failed = True
        elif event == _CLOSED and self._failed and not self.opened:
            # httpcore has just closed the connection this request died on: name what it answered before.
            self._claimed = self._ledger.claim_closed(at=self.sent_at)

    def dropped(self, exc: httpx.HTTPError, redact: Callable[[str], str]) -> ConnectionUse | None:
        """REOPENED evidence when a reused connection closed or reset under the request before any answer, else None.

        A closed socket shows as an EOF before the status line (httpcore raises it with nothing below
        it), a reset or a refused write as an error with an OSError below it. Bytes the parser could not
        read have h11's error below them instead: the target answered, wrongly, and that is recorded as is.
        """
        if self.opened or not isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.RemoteProtocolError):
            return None
        inner = exc.__cause__ or exc.__context__  # httpx's exception wraps httpcore's
        below = (inner.__cause__ or inner.__context__) if inner is not None else None
        if below is not None and not os_error_in(below):
            return None
        after, idle = self._claimed
        return ConnectionUse(ConnectionKind.REOPENED, after=after, idle=idle, dropped=f"{type(exc).__name__}: {redact(str(exc)) or 'connection reset'}")


def _with_note(exchange: Exchange, note: str) -> Exchange:
    return replace(exchange, notes=(*exchange.notes, note))


def _retry_after(exchange: Exchange, attempt: int, cap: float) -> float:
    """Seconds to wait: ``retry-after-ms``, ``retry-after`` (seconds or HTTP date), else backoff."""
    value = exchange.header("retry-after-ms")
    if value is not None:
        try:
            return min(max(float(value) / 1000, 0.0), cap)
        except ValueError:
            pass
    value = exchange.header("retry-after")
    if value is not None:
        try:
            return min(max(float(value), 0.0), cap)
        except ValueError:
            try:  # an HTTP date; a target's garbage ("soon", a zoneless date) must not crash the run
                when = email.utils.parsedate_to_datetime(value)
                return min(max((when.replace(tzinfo=when.tzinfo or UTC) - datetime.now(UTC)).total_seconds(), 0.0), cap)
            except (TypeError, ValueError):
                pass
    return float(min(2 ** (attempt - 1), cap))
