"""Bounded time on any target: each exchange's deadlines, the run's clock, and the run-wide breaker.

Every exchange gets deadlines derived from its own request (allowance.py): for the response head
(a stream's comes before generation, so the idle timeout; a plain answer's after it, so the
answer's allowance), for silence after the head, for the whole exchange, and the run's end. The
breaker watches what the target does with them. Once the target has stalled (said nothing past a
deadline, or dribbled a response head past its deadline) or run past what its request allows (a
stream past its max_tokens allowance, an answer still running at its whole-exchange deadline), the
breaker trips the *lane* it happened in: the head of any request, the body of a stream, or the body
of a plain answer. The exchanges of that lane, in flight and to come, then get short deadlines; a
second deadline run out in the lane opens it, and the rest of it is not sent ("not judged: the
target stalled on <case> ...", outcome error: a limit of ours, never the target's fail). A stream
stopped at its allowance cost no waiting and is judged as it is (stream.length_within_max_tokens),
so it only shortens: a target that floods every stream gets a finding on each, not a lane closed
on the rest. So a misbehaving target costs each lane at most its longest deadline plus two short
ones, and every exchange still ends with a verdict and its evidence.

The run's clock ends at the worst case the plan printed (``worst_case``): what is still waiting
then is cut, and nothing more is sent. Knows asyncio and the SSE framer; never httpx or a verdict.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from types import TracebackType

from . import allowance, jsontext
from .scenarios import Request
from .sse.framer import Framer

SHORT_IDLE = 10.0  # after a trip: the longest silence, and a stream's response head
SHORT_TOTAL = 30.0  # after a trip: the longest whole exchange
PREFLIGHT_HEAD = 30.0  # a target that cannot send the head of a tiny answer in 30 s cannot be tested
PREFLIGHT_TOTAL = 60.0  # the whole preflight, its fallbacks and 429 waits included
OPEN_AFTER = 2  # trips that open a lane: the first gets short deadlines, the second stops sending
FINISH = 30.0  # judging and writing the reports after the last exchange, in the printed worst case


class Lane(enum.Enum):
    """Where in an exchange the target misbehaved, and so which exchanges a trip shortens."""

    HEAD = "head"  # any request, until its response head is complete
    STREAM = "stream"  # a streamed answer, after its head
    BODY = "body"  # a plain answer, after its head

    @property
    def exchanges(self) -> str:
        """What the lane's exchanges are, in a sentence."""
        return {Lane.HEAD: "requests", Lane.STREAM: "streamed requests", Lane.BODY: "plain requests"}[self]


@dataclass(frozen=True, slots=True)
class Deadlines:
    """Seconds one attempt may take: for its response head, for any silence after it, in all."""

    head: float
    idle: float
    total: float


def derive(request: Request, *, idle: float, total: float) -> Deadlines:
    """The deadlines of ``request`` under the idle and whole-exchange timeouts given."""
    whole = allowance.seconds(allowance.max_tokens(request.json_body()), idle=idle, total=total)
    return Deadlines(head=min(idle, whole) if request.stream else whole, idle=min(idle, whole), total=whole)


@dataclass(frozen=True, slots=True)
class Trip:
    """One time the target ran into a deadline or an allowance: which lane, on which exchange, doing what."""

    lane: Lane
    scenario: str
    what: str  # "stalled", "did not finish a response head in time", ...
    detail: str  # the transport's words: "nothing received for 60 s after 180 bytes"
    waited: bool = True  # the run waited for it (a deadline ran out); a stream stopped at its allowance cost no wait, so it only shortens

    def describe(self) -> str:
        """``stalled on plain.stream (nothing received for 60 s ...)``."""
        return f"{self.what} on {self.scenario} ({self.detail})"


class Breaker:
    """The run-wide breaker and clock; one per transport (one run)."""

    def __init__(self, *, idle: float, total: float, short_idle: float = SHORT_IDLE, short_total: float = SHORT_TOTAL, preflight_head: float = PREFLIGHT_HEAD) -> None:
        self.idle, self.total = idle, total
        self.short_idle, self.short_total = min(short_idle, idle), min(short_total, total)
        self.preflight_head = min(preflight_head, total)
        self._trips: dict[Lane, list[Trip]] = {lane: [] for lane in Lane}
        self._live: set[Watch] = set()
        self.run_end: float | None = None  # loop time at which the run's clock stops everything (None: no clock)
        self.run_seconds = 0.0
        self.preflight_end: float | None = None  # loop time by which the preflight must settle, while it runs
        self.preflight_seconds = PREFLIGHT_TOTAL

    # -------------------------------------------------------------------------------- clocks

    def start_clock(self, seconds: float) -> None:
        """The run may send and wait for ``seconds`` from now, no longer."""
        self.run_seconds = seconds
        self.run_end = asyncio.get_running_loop().time() + seconds

    @contextlib.contextmanager
    def preflight(self, seconds: float = PREFLIGHT_TOTAL) -> Iterator[None]:
        """While open, requests are preflight attempts: a short head deadline, and all of them end within ``seconds``."""
        self.preflight_seconds = seconds
        self.preflight_end = asyncio.get_running_loop().time() + seconds
        try:
            yield
        finally:
            self.preflight_end = None

    def remaining(self) -> float | None:
        """Seconds left before the run's (or the preflight's) end, None without a clock: the longest a 429 wait may last."""
        ends = [e for e in (self.run_end, self.preflight_end) if e is not None]
        return max(0.0, min(ends) - asyncio.get_running_loop().time()) if ends else None

    # ---------------------------------------------------------------------------------- lanes

    @staticmethod
    def lanes(request: Request) -> tuple[Lane, Lane]:
        """The lanes an exchange runs through: the head, then its kind of body."""
        return Lane.HEAD, Lane.STREAM if request.stream else Lane.BODY

    @property
    def trips(self) -> tuple[Trip, ...]:
        """Every trip of the run, lane by lane."""
        return tuple(t for lane in Lane for t in self._trips[lane])

    def withheld(self, request: Request) -> str | None:
        """Why ``request`` is not sent (the run's time is out, or one of its lanes is open), else None."""
        if self.run_end is not None and asyncio.get_running_loop().time() >= self.run_end:
            return f"not judged: the run's time limit ran out (its worst case, {self.run_seconds:,.0f} s) before this request was sent"
        for lane in self.lanes(request):
            trips = [t for t in self._trips[lane] if t.waited]
            if len(trips) >= OPEN_AFTER:
                again = ", ".join(t.scenario for t in trips[1:4])
                return f"not judged: the target {trips[0].describe()}, and again on {again}; the remaining {lane.exchanges} were not sent"
        return None

    def trip(self, trip: Trip) -> None:
        """Record a trip and shorten the deadlines of the exchanges of its lane in flight."""
        self._trips[trip.lane].append(trip)
        for watch in list(self._live):
            if trip.lane in watch.lanes:
                watch.shorten(trip.lane)

    def shortened(self, lane: Lane) -> Trip | None:
        """The trip that put ``lane`` under short deadlines, or None."""
        return self._trips[lane][0] if self._trips[lane] else None

    def watch(self, request: Request) -> Watch:
        """The clock of one attempt at ``request``."""
        return Watch(self, request)

    def _enter(self, watch: Watch) -> None:
        self._live.add(watch)

    def _leave(self, watch: Watch) -> None:
        self._live.discard(watch)


class Watch:
    """One attempt's deadline: the phase it is in (head, then each silence), the whole exchange and the run's end, whichever comes first.

    An ``asyncio.timeout_at`` around the attempt, rescheduled as the attempt moves on (head
    complete, each read) and at once when the breaker trips one of its lanes. ``expired`` says which
    deadline fired, what the target did, and the trip it makes.
    """

    def __init__(self, breaker: Breaker, request: Request) -> None:
        self.breaker = breaker
        self.request = request
        self.lanes = breaker.lanes(request)
        self.long = derive(request, idle=breaker.idle, total=breaker.total)
        self.short = derive(request, idle=breaker.short_idle, total=breaker.short_total)
        self._preflight_end = breaker.preflight_end
        if self._preflight_end is not None:
            self.long = Deadlines(head=min(self.long.head, breaker.preflight_head), idle=self.long.idle, total=self.long.total)
        self._timeout: asyncio.Timeout | None = None
        self._head_end = self._total_end = self._last = self._t0 = 0.0
        self._idle = self.long.idle
        self._headed = False
        self._short: set[Lane] = set()
        self.bytes = 0

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    async def __aenter__(self) -> Watch:
        now = self._last = self._t0 = self._now()
        self._head_end, self._total_end = now + self.long.head, now + self.long.total
        for lane in self.lanes:
            if self.breaker.shortened(lane) is not None:
                self.shorten(lane, now=now)
        self._timeout = asyncio.timeout_at(self._deadline()[0])
        self.breaker._enter(self)
        await self._timeout.__aenter__()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.breaker._leave(self)
        assert self._timeout is not None
        await self._timeout.__aexit__(kind, exc, tb)  # turns its own cancellation into TimeoutError

    def _candidates(self) -> Iterable[tuple[float, str]]:
        yield self._total_end, "total"
        yield (self._last + self._idle, "idle") if self._headed else (self._head_end, "head")
        if self.breaker.run_end is not None:
            yield self.breaker.run_end, "run"
        if self._preflight_end is not None:
            yield self._preflight_end, "preflight"

    def _deadline(self) -> tuple[float, str]:
        return min(self._candidates())

    def _reschedule(self) -> None:
        if self._timeout is not None and not self._timeout.expired():
            self._timeout.reschedule(self._deadline()[0])

    def headed(self) -> None:
        """The response head is complete: from now on, silence is what is timed."""
        self._headed = True
        self._last = self._now()
        self._reschedule()

    def read(self, size: int) -> None:
        """Bytes arrived: the silence starts again."""
        self.bytes += size
        self._last = self._now()
        self._reschedule()

    def shorten(self, lane: Lane, *, now: float | None = None) -> None:
        """The breaker tripped ``lane``: from now on this attempt gets that lane's short deadlines."""
        now = self._now() if now is None else now
        self._short.add(lane)
        if lane is Lane.HEAD:
            self._head_end = min(self._head_end, now + self.short.head)
        else:
            self._idle = min(self._idle, self.short.idle)
            self._total_end = min(self._total_end, now + self.short.total)
        self._reschedule()

    def expired(self) -> tuple[str, Trip | None]:
        """Which deadline ended the attempt, in words, and the trip it makes (None: the run's or the preflight's clock, which are ours alone)."""
        when, which = self._deadline()
        elapsed = _secs(when - self._t0)  # the deadline that fired, from the attempt's start (not the jitter of the wake-up)
        got = f" after {self.bytes:,} bytes" if self._headed else ""
        if which == "run":
            return f"the run's time limit ran out (its worst case, {self.breaker.run_seconds:,.0f} s){got}", None
        if which == "preflight":
            return f"the preflight did not settle within {self.breaker.preflight_seconds:g} s{got}", None
        lane = self.lanes[0] if which == "head" else self.lanes[1]
        note = self._note(lane)
        if which == "head":
            text, what = f"no complete response head within {elapsed} s{note}", "did not finish a response head in time"
        elif which == "idle":
            text, what = f"read timeout: nothing received for {_secs(self._idle)} s{got}{note}", "stalled"
        else:
            limit = allowance.max_tokens(self.request.json_body())
            bound = f"max_tokens {limit:,}" if limit is not None else "no max_tokens"
            text, what = f"no complete answer within {elapsed} s (whole-exchange timeout for {bound}){got}{note}", "was still sending at its whole-exchange deadline"
        return text, Trip(lane, self.request.scenario, what, text)

    def stalled(self, text: str, *, headed: bool) -> Trip:
        """The trip for a silence the HTTP client timed (its read timeout): before the head, or after it."""
        return Trip(self.lanes[1] if headed else self.lanes[0], self.request.scenario, "stalled", text)

    def _note(self, lane: Lane) -> str:
        """Why a deadline was short: the trip that shortened the lane."""
        first = self.breaker.shortened(lane)
        if lane not in self._short or first is None:
            return ""
        return f"; a short deadline, since the target {first.what} on {first.scenario} before"


class StreamStop:
    """Counts a stream's events as they arrive and says where reading stops: after the first event of a probe of acceptance, or past the allowance."""

    def __init__(self, request: Request) -> None:
        self._framer = Framer()
        self.first_only = request.start_only
        self.limit = allowance.max_tokens(request.json_body())
        self.allowed = allowance.events(self.limit) if self.limit is not None else None
        self.counted = 0

    def feed(self, piece: bytes) -> int | None:
        """Feed the bytes that arrived; the body offset to cut at when reading must stop there, else None."""
        for frame in self._framer.feed(piece):
            if frame.data is None or allowance.is_ping(frame.event, _data(frame.event, frame.data)):
                continue
            self.counted += 1
            if self.first_only or (self.allowed is not None and self.counted > self.allowed):
                return frame.end
        return None

    def overran(self) -> str:
        """The transport's words for a stream stopped past its allowance."""
        assert self.limit is not None
        return f"the stream sent more than {allowance.describe(self.limit)}, with no end in sight; the suite stopped reading after event {self.counted:,}"


def _secs(seconds: float) -> str:
    """Seconds as a person reads them: ``60``, ``2.5``."""
    return f"{round(seconds, 1):g}"


def _data(name: str | None, raw: str) -> object:
    """The data of an unnamed event, decoded only when it may be a ping (a named event is judged by its name)."""
    if name is not None or "ping" not in raw:
        return None
    try:
        return jsontext.loads(raw)
    except ValueError:
        return None


def worst_case(requests: Iterable[Request], *, concurrency: int, idle: float, total: float, short_total: float = SHORT_TOTAL, extra: int = 0) -> float:
    """The longest a run of ``requests`` (plus ``extra`` retries) may take, in seconds: the run's clock stops it there.

    The preflight (``PREFLIGHT_TOTAL``, fallbacks included); then for each lane, its longest
    deadline (the first trip), a short one (the exchanges in flight, shortened at once) and
    another (the trip under short deadlines that opens it); then every other exchange, ``concurrency``
    at a time, at most a short whole-exchange deadline each. Plus judging and writing the reports.
    """
    listed = list(requests)
    short = min(short_total, total)
    per_lane: dict[Lane, float] = {}
    for request in listed:
        d = derive(request, idle=idle, total=total)
        head, body = Breaker.lanes(request)
        per_lane[head] = max(per_lane.get(head, 0.0), d.head)
        per_lane[body] = max(per_lane.get(body, 0.0), d.total)
    rounds = math.ceil(max(len(listed) + extra - 1, 0) / max(concurrency, 1))
    return PREFLIGHT_TOTAL + sum(longest + 2 * short for longest in per_lane.values()) + rounds * short + FINISH
