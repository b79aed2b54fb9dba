"""The forwarding half of the proxy: an ASGI app that passes each request to the upstream and the answer back, unbuffered.

Owns what goes on the wire: the upstream URL (the upstream base, path prefix kept, plus the client's
path and query), the headers forwarded (all but hop-by-hop ones; ``--header`` values replace the
client's of the same name; ``accept-encoding`` narrowed to the codings the proxy can read, which the
client offered anyway), the answer streamed back as each piece arrives (status and headers as the
upstream sent them, body bytes untouched, content-encoding included), a broken upstream stream
broken for the client too (never completed by us), and an upstream that cannot be reached answered
with a 502 error envelope of our own. Each exchange is recorded redacted (every key the client or
``--header`` sent is masked) and handed to a sink; judging is not this module's job.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from ..auth import Auth
from ..exchange import Chunk, ErrorKind, Exchange, RecordedRequest
from ..failures import kind_of
from ..inflate import Inflater
from ..redact import Redactor
from ..scenarios import Request
from ..traffic import endpoint_of

# RFC 9110 §7.6.1: meaningful for one connection only; the proxy's own connections carry their own.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authenticate", "proxy-authorization", "host"})
READABLE_CODINGS = ("gzip", "deflate", "identity")
MAX_RECORDED_BYTES = 32 * 1024 * 1024  # of one answer's body: the rest is forwarded, not recorded
MAX_REQUEST_BYTES = 256 * 1024 * 1024
KNOWN_SECRETS = 32  # keys of earlier requests still masked in later records (an answer may echo one)

Sink = Callable[[Exchange, Request], bool]  # False: full, offer again shortly


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where the proxy forwards, with what added, and its patience."""

    base_url: str
    headers: tuple[tuple[str, str], ...] = ()  # added to every request, replacing the client's of the same name; values are secrets
    connect_timeout: float = 10.0
    read_timeout: float = 600.0  # the longest silence inside an answer (Claude Code tells its SDK 600 s)

    def url(self, path: str) -> str:
        """The upstream URL of a client path (with query): the base's path prefix kept."""
        return self.base_url.rstrip("/") + path


class _UpstreamBroke(Exception):
    """The upstream's answer broke off after its headers were forwarded: the client's connection is broken the same way."""


class _QuietBreaks(logging.Filter):
    """uvicorn logs an app exception with its traceback; a broken upstream stream passed on is the proxy doing its job."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, _UpstreamBroke)


def quiet_uvicorn() -> None:
    """Keep passed-on stream breaks out of uvicorn's error log (idempotent)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietBreaks) for f in logger.filters):
        logger.addFilter(_QuietBreaks())


def _narrowed(value: str) -> str | None:
    """``accept-encoding`` with only the codings the proxy can read (None when nothing needs to go)."""
    offered = [part.strip() for part in value.split(",") if part.strip()]
    kept = [part for part in offered if part.split(";", 1)[0].strip().lower() in READABLE_CODINGS]
    if len(kept) == len(offered):
        return None
    return ", ".join(kept) or "identity"


def _auth(headers: Iterable[tuple[str, str]]) -> tuple[Auth, list[str]]:
    """The credential mode of a request (as ``Request.auth`` names it) and the secrets it carries."""
    mode, secrets = Auth.NONE, []
    for name, value in headers:
        if name == "x-api-key" and value:
            mode = Auth.X_API_KEY
            secrets.append(value)
        elif name == "authorization" and value:
            scheme, _, token = value.partition(" ")
            mode = Auth.BEARER if scheme.lower() == "bearer" and mode is Auth.NONE else mode
            secrets.append(token or value)
    return mode, secrets


def _error_body(message: str) -> bytes:
    """The proxy's own answer when there is no upstream answer: Anthropic's error envelope, so clients show the message."""
    return json.dumps({"type": "error", "error": {"type": "api_error", "message": f"anthropic-conformance proxy: {message}"}}).encode()


class ProxyApp:
    """Forward every request to ``upstream``; record each exchange and hand it to ``sink``."""

    def __init__(self, upstream: Upstream, sink: Sink) -> None:
        self.upstream = upstream
        self._sink = sink
        self._numbers = itertools.count(1)
        self._known: deque[str] = deque(maxlen=KNOWN_SECRETS)
        self._client: httpx.AsyncClient | None = None
        self.in_flight = 0

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(connect=self.upstream.connect_timeout, read=self.upstream.read_timeout, write=self.upstream.read_timeout, pool=None),
                follow_redirects=False,  # a redirect is the upstream's answer, passed on as it is
                trust_env=False,
                limits=httpx.Limits(max_connections=256, max_keepalive_connections=32),
            )
        return self._client

    async def aclose(self) -> None:
        """Close the upstream connection pool."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Any], send: Callable[[dict[str, Any]], Any]) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        self.in_flight += 1
        try:
            await self._forward(scope, receive, send)
        finally:
            self.in_flight -= 1

    # ----------------------------------------------------------------------------- request

    def _headers(self, raw: Iterable[tuple[bytes, bytes]]) -> tuple[list[tuple[str, str]], list[str]]:
        """The headers to forward, and notes on what changed."""
        pairs = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in raw]
        named = {n.strip().lower() for k, v in pairs if k == "connection" for n in v.split(",")}
        replaced = {name.lower() for name, _ in self.upstream.headers}
        out = [(k, v) for k, v in pairs if k not in HOP_BY_HOP and k not in named and k not in replaced]
        out += [(name.lower(), value) for name, value in self.upstream.headers]
        notes: list[str] = []
        for i, (name, value) in enumerate(out):
            if name == "accept-encoding" and (narrowed := _narrowed(value)) is not None:
                out[i] = (name, narrowed)
                notes.append(f"accept-encoding {value!r} narrowed to {narrowed!r} so that the proxy can read the answer (the client offered those codings)")
        return out, notes

    async def _body(self, receive: Callable[[], Any]) -> bytes | None:
        """The whole request body, or None when the client went away first."""
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            if len(body) > MAX_REQUEST_BYTES:
                return bytes(body)
            if not message.get("more_body", False):
                return bytes(body)

    # ---------------------------------------------------------------------------- exchange

    async def _forward(self, scope: dict[str, Any], receive: Callable[[], Any], send: Callable[[dict[str, Any]], Any]) -> None:
        number = next(self._numbers)
        method = str(scope["method"])
        raw_path = scope.get("raw_path") or str(scope["path"]).encode()
        query = scope.get("query_string") or b""
        path = raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        endpoint = endpoint_of(path)
        exchange_id = f"{number:04d}-{endpoint or 'other'}"
        body = await self._body(receive)
        if body is None:
            return
        headers, notes = self._headers(scope.get("headers") or ())
        mode, secrets = _auth(headers)
        self._known.extend(s for s in secrets if s not in self._known)
        redactor = Redactor([*self._known, *(v for _, v in self.upstream.headers)])
        url = self.upstream.url(path)
        recorded = RecordedRequest(method=method, url=redactor.text(url), headers=tuple((k, redactor.header(k, v)) for k, v in headers), body=redactor.data(body))
        started = datetime.now(UTC).isoformat(timespec="milliseconds")
        recorder = _Recorder(time.monotonic())
        gone = asyncio.Event()
        watcher = asyncio.create_task(_watch(receive, gone))
        status: int | None = None
        response_headers: tuple[tuple[str, str], ...] = ()
        error: str | None = None
        error_kind: ErrorKind | None = None
        broke: _UpstreamBroke | None = None
        try:
            request = httpx.Request(method, url, headers=headers, content=body)
            try:
                response = await self._http().send(request, stream=True)
            except httpx.HTTPError as exc:
                error, error_kind = _describe(exc, redactor)
                await _answer(send, 502, _error_body(f"no answer from the upstream {redactor.text(self.upstream.base_url)}: {error}"))
            else:
                status = response.status_code
                response_headers = tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in response.headers.raw)
                recorder.decoding(response.headers.get("content-encoding", ""))
                try:
                    await send({"type": "http.response.start", "status": status, "headers": [(k, v) for k, v in response.headers.raw if k.decode("latin-1").lower() not in HOP_BY_HOP]})
                    async for piece in response.aiter_raw():
                        await send({"type": "http.response.body", "body": piece, "more_body": True})
                        recorder.add(piece)
                        if gone.is_set():
                            notes.append(f"the client went away after {recorder.raw:,} bytes of the answer; the rest was not read")
                            break
                    else:
                        await send({"type": "http.response.body", "body": b"", "more_body": False})
                except httpx.HTTPError as exc:
                    error, error_kind = _describe(exc, redactor)
                    notes.append(f"the upstream's answer broke off after {recorder.raw:,} bytes ({error}); the client's connection was broken the same way")
                    broke = _UpstreamBroke(error)
                finally:
                    await response.aclose()
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            exchange = self._record(exchange_id, recorded, redactor, recorder, started=started, status=status, headers=response_headers, error=error, error_kind=error_kind, notes=notes)
            payload = Request(
                scenario=exchange_id,
                endpoint=endpoint or "other",
                method=method,
                path=path,
                headers=recorded.headers,
                auth=Auth.UNVERIFIED if status in (401, 403) else mode,  # a refused key may be the client's mistake: no rule takes it for the target's
                body=recorded.body,
                stream=exchange.streamed,
                tags=frozenset(),
            )
            while not self._sink(exchange, payload):
                await asyncio.sleep(0.005)  # the judge is behind: hold this (finished) exchange, not the others
        if broke is not None:
            raise broke

    def _record(
        self, exchange_id: str, recorded: RecordedRequest, redactor: Redactor, recorder: _Recorder, *, started: str, status: int | None,
        headers: tuple[tuple[str, str], ...], error: str | None, error_kind: ErrorKind | None, notes: list[str],
    ) -> Exchange:  # fmt: skip
        data, chunks = recorder.result()
        notes += recorder.notes
        if redactor.contains_secret(data):
            data = redactor.data(data)
            chunks = (Chunk(offset=0, size=len(data), t=chunks[-1].t if chunks else 0.0),)
            notes.append("the answer contained an API key; it was masked and chunk boundaries were dropped")
        return Exchange(
            id=exchange_id,
            request=recorded,
            status=status,
            headers=tuple((k, redactor.header(k, v)) for k, v in headers),
            body=data,
            chunks=chunks,
            elapsed=round(time.monotonic() - recorder.t0, 4),
            started_at=started,
            error=error,
            error_kind=error_kind,
            truncated=recorder.truncated,
            notes=tuple(notes),
        )


class _Recorder:
    """The answer's body as the judge reads it (content-decoded, capped) with each piece's arrival time."""

    def __init__(self, t0: float) -> None:
        self.t0 = t0
        self.raw = 0
        self.truncated = False
        self.notes: list[str] = []
        self._body = bytearray()
        self._chunks: list[Chunk] = []
        self._inflater: Inflater | None = None

    def decoding(self, encoding: str) -> None:
        """Decode what follows (gzip or deflate: the only codings the proxy lets the upstream use)."""
        coding = encoding.strip().lower()
        if coding in ("gzip", "deflate"):
            self._inflater = Inflater(coding)
        elif coding not in ("", "identity"):
            self.notes.append(f"content-encoding {coding!r} is not one the proxy decodes; the body is recorded as it came")

    def add(self, piece: bytes) -> None:
        """One piece as it arrived."""
        self.raw += len(piece)
        if self.truncated:
            return
        t = round(time.monotonic() - self.t0, 4)
        try:
            decoded = list(self._inflater.pieces(piece)) if self._inflater is not None else [piece]
        except zlib.error as exc:
            self.notes.append(f"the body could not be decoded ({exc}); recorded up to there")
            self.truncated = True
            return
        for part in decoded:
            room = MAX_RECORDED_BYTES - len(self._body)
            if len(part) > room:
                part = part[:room]
                self.truncated = True
                self.notes.append(f"recorded the first {MAX_RECORDED_BYTES:,} bytes of the answer; the rest was forwarded, not recorded")
            if part:
                self._chunks.append(Chunk(offset=len(self._body), size=len(part), t=t))
                self._body += part
            if self.truncated:
                return

    def result(self) -> tuple[bytes, tuple[Chunk, ...]]:
        """The recorded body and its chunks (the decoder's tail included)."""
        if self._inflater is not None and not self.truncated:
            with contextlib.suppress(zlib.error):
                tail = self._inflater.flush()
                if tail:
                    self._chunks.append(Chunk(offset=len(self._body), size=len(tail), t=round(time.monotonic() - self.t0, 4)))
                    self._body += tail
        return bytes(self._body), tuple(self._chunks)


async def _watch(receive: Callable[[], Any], gone: asyncio.Event) -> None:
    """Set ``gone`` when the client disconnects (the only message left once its body was read)."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return


async def _answer(send: Callable[[dict[str, Any]], Any], status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _describe(exc: httpx.HTTPError, redactor: Redactor) -> tuple[str, ErrorKind]:
    """(message, error kind) of an upstream failure, the kind as the transport records it."""
    text, kind = redactor.text(str(exc)) or type(exc).__name__, kind_of(exc)
    return (f"connection failed: {text}" if kind is ErrorKind.UNREACHABLE else f"{type(exc).__name__}: {text}"), kind
