"""What was sent and what came back, as recorded values that checks judge and replay re-judges.

An ``Exchange`` is already redacted when it is built (the transport owns secrets); everything
downstream (checks, cassettes, reports) only ever sees these values.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from functools import cached_property

from . import jsontext
from ._types import JSON, RawHeaders


def _find(headers: RawHeaders, name: str) -> list[str]:
    key = name.lower()
    return [value for header, value in headers if header == key]


@dataclass(frozen=True, slots=True)
class Chunk:
    """One read from the socket: where it starts in the body, its size, when it arrived."""

    offset: int
    size: int
    t: float


class _Unparsed:
    """Marker for a body that is not JSON (kept apart from a JSON ``null``)."""

    __slots__ = ()


UNPARSED = _Unparsed()


def _decoded(body: bytes) -> JSON:
    """A body as JSON, or ``UNPARSED``: an empty body and nesting deeper than the parser's stack are no judgeable JSON either."""
    try:
        return jsontext.loads(body) if body else UNPARSED
    except ValueError:
        return UNPARSED


class ErrorKind(enum.StrEnum):
    """Why an exchange has no whole answer; whose doing it was decides whether a rule may judge what came.

    The target's doing: TIMEOUT, UNREACHABLE, PROTOCOL (failures.py maps every httpx exception to one
    of these), OVERRAN. Ours: WITHHELD, INTERRUPTED, NOT_SENT. The values are what cassettes store.
    """

    TIMEOUT = "timeout"  # a deadline of ours ran out while the target was silent or slow
    UNREACHABLE = "unreachable"  # no connection to the target
    PROTOCOL = "protocol"  # the target's bytes broke HTTP, the content encoding or the text encoding
    OVERRAN = "overran"  # a stream the transport stopped past what its max_tokens allows
    WITHHELD = "withheld"  # not sent: its lane opened by the breaker, or the run's time out
    INTERRUPTED = "interrupted"  # not sent or not finished: the run was interrupted (interrupts.py)
    NOT_SENT = "not_sent"  # a follow-up whose answer to continue never came


class ConnectionKind(enum.Enum):
    """How the exchange's TCP connection came to carry it."""

    NEW = "new"  # opened for this request
    REUSED = "reused"  # a connection the target had kept alive after an earlier answer
    REOPENED = "reopened"  # a kept-alive connection died before any answer; the request was resent once on a new one


@dataclass(frozen=True, slots=True)
class ConnectionUse:
    """Which connection carried an exchange, and, when a kept-alive one was used, what it had carried before.

    ``after`` names the exchange(s) the kept-alive connection last answered (several only when the
    transport could not tell which of its idle connections it was), ``idle`` how long it had been idle
    (seconds, when known), ``dropped`` how it failed (REOPENED: the answer came on a fresh connection).
    """

    kind: ConnectionKind
    after: tuple[str, ...] = ()
    idle: float | None = None
    dropped: str | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """A behaviour probe sent again (``retries.py``): the exchange it repeats and which attempt it is (2 = the first retry)."""

    of: str
    number: int


@dataclass(frozen=True)
class RecordedRequest:
    """The request as it went on the wire, secrets already replaced."""

    method: str
    url: str
    headers: RawHeaders
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """First value of a header, or None."""
        values = _find(self.headers, name)
        return values[0] if values else None

    @cached_property
    def json(self) -> JSON:
        """The decoded JSON body, or ``UNPARSED`` when the body is not JSON (malformed-JSON probes)."""
        return _decoded(self.body)


@dataclass(frozen=True)
class Exchange:
    """One request/response pair (or a request that got no response: ``error`` is then set)."""

    id: str
    request: RecordedRequest
    status: int | None
    headers: RawHeaders = ()
    body: bytes = field(default=b"", repr=False)  # may be 32 MiB: never in a repr (asyncio prints task results)
    chunks: tuple[Chunk, ...] = ()
    elapsed: float = 0.0
    started_at: str = ""
    error: str | None = None
    error_kind: ErrorKind | None = None
    truncated: bool = False
    attempts: int = 1
    notes: tuple[str, ...] = field(default=())
    connection: ConnectionUse | None = None  # None: not recorded (a replayed older cassette, a validated file)
    attempt: Attempt | None = None  # a behaviour retry of another exchange; None: the first sending

    def header(self, name: str) -> str | None:
        """First value of a response header, or None."""
        values = _find(self.headers, name)
        return values[0] if values else None

    def header_all(self, name: str) -> list[str]:
        """Every value of a response header, in order."""
        return _find(self.headers, name)

    @property
    def ok(self) -> bool:
        """A 2xx answer arrived."""
        return self.status is not None and 200 <= self.status < 300

    @property
    def streamed(self) -> bool:
        """The request asked for a stream."""
        body = self.request.json
        return isinstance(body, dict) and body.get("stream") is True

    @property
    def media_type(self) -> str:
        """The response media type without parameters, lower-cased ('' when absent)."""
        value = self.header("content-type") or ""
        return value.split(";", 1)[0].strip().lower()

    @cached_property
    def json(self) -> JSON:
        """The decoded response body, or ``UNPARSED`` when it is not JSON."""
        return _decoded(self.body)

    def not_json(self) -> str:
        """How a Received: line describes a body that is not (strict) JSON: why, then its start."""
        why = jsontext.problem(self.body) if self.body else None
        text = json.dumps(self.text(200), ensure_ascii=False)
        return f"a body that is not JSON ({why}): {text}" if why else f"a body that is not JSON: {text}"

    def text(self, limit: int | None = None) -> str:
        """The body as text for evidence (invalid UTF-8 replaced), optionally cut to ``limit`` chars."""
        text = self.body.decode("utf-8", errors="replace")
        if limit is not None and len(text) > limit:
            return text[:limit] + f"… [{len(text) - limit} more characters]"
        return text
