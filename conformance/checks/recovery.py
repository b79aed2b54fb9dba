"""Recovery: what a client needs to retry, back off or give up correctly.

429s carry the wait, retry and rate-limit headers say what they mean in the form clients parse,
failures before a stream starts are HTTP statuses, failures after it started reach the client as
an error event, and a live stream never falls silent for long. The error envelope, the status ↔
error.type pairing and an error event's place at the end are judged by errors.* and stream.*;
these checks only judge what those cannot.
"""

from __future__ import annotations

import email.utils
import itertools
import re
from datetime import datetime

from .._types import JSON
from ..findings import Judgement, NotApplicable, Violation, judgement
from ..sse.frames import Frame
from ..sse.reading import StreamReading
from .registry import check
from .subject import Subject, counted, describe_error, error_event, locate, locate_event, show

_SECONDS = re.compile(r"^\d+(\.\d+)?$")
# RFC 9110 §5.6.7 HTTP-date: IMF-fixdate, or the obsolete RFC 850 and asctime forms recipients must accept.
_DAY, _WEEKDAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)", r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_MONTH, _TIME = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)", r"\d{2}:\d{2}:\d{2}"
_HTTP_DATE = re.compile(
    rf"^(?:{_DAY}, \d{{2}} {_MONTH} \d{{4}} {_TIME} GMT|{_WEEKDAY}, \d{{2}}-{_MONTH}-\d{{2}} {_TIME} GMT|{_DAY} {_MONTH} [ \d]\d {_TIME} \d{{4}})$"
)
# RFC 3339 date-time (§5.6); a space instead of T is the readability variant §5.6 allows.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$")
_RATE_LIMIT_HEADER = re.compile(r"^anthropic-(?:ratelimit|priority)-[a-z-]+-(limit|remaining|reset)$")
_COUNT = re.compile(r"^\d+$")
# Refusals resending cannot fix: x-should-retry: true there makes the SDK resend a hopeless request.
_FINAL_STATUSES = frozenset({400, 401, 403, 404, 413})
# error.details.error_code of the 429s a spend limit causes (SDK-2.12 _error_classes.py).
_SPEND_LIMIT_CODES = frozenset({"contract_spend_limit_reached", "enforced_spend_limit_reached"})


def _error_code(body: JSON) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    code = details.get("error_code") if isinstance(details, dict) else None
    return code if isinstance(code, str) else None


@check("recovery.retry_after_on_rate_limit")
def retry_after_on_rate_limit(s: Subject) -> Judgement:
    """Clients (Claude Code, the SDKs) wait what retry-after says; without it they guess or retry at once."""
    if s.exchange.status != 429:
        raise NotApplicable(f"status {s.exchange.status}, not 429")
    code = _error_code(s.exchange.json)
    if code in _SPEND_LIMIT_CODES:
        raise NotApplicable(f"a spend-limit 429 ({code}): Anthropic sends it without retry-after, since waiting does not help (DOC-RL)")
    value = s.exchange.header("retry-after")
    item = f"retry-after {show(value)} on a 429"
    if value is None:
        ms = s.exchange.header("retry-after-ms")
        note = f" (only the non-standard retry-after-ms: {show(ms)})" if ms is not None else ""
        return judgement(item, [Violation(f"Received: a 429 without retry-after{note}\nExpected: retry-after with the number of seconds to wait, e.g. retry-after: 12", at="header retry-after")])
    if not (_SECONDS.match(value.strip()) or _is_http_date(value.strip())):
        return judgement(item, [Violation(f"Received: retry-after {show(value)}\nExpected: the number of seconds to wait, e.g. retry-after: 12 (or an HTTP date)", at="header retry-after")])
    return judgement(item)


def _is_http_date(value: str) -> bool:
    """An HTTP-date that names a real day (Retry-After's other form, RFC 9110 §10.2.3)."""
    if not _HTTP_DATE.match(value):
        return False
    try:
        email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return False
    return True


def _is_rfc3339(value: str) -> bool:
    if not _RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace(" ", "T"))
    except ValueError:
        return False
    return True


@check("recovery.should_retry_consistent")
def should_retry_consistent(s: Subject) -> Judgement:
    """SDK 2.x obeys x-should-retry over the status: false on a 529 stops every retry, true on a 401 resends a hopeless request."""
    ex = s.exchange
    values = ex.header_all("x-should-retry")
    if ex.status is None or not values:
        raise NotApplicable("no x-should-retry header")
    value, status = values[0].strip(), ex.status
    item = f"x-should-retry {show(', '.join(values))} on a {status}"
    if len(values) > 1 or value not in ("true", "false"):
        return judgement(item, [Violation(f"Received: x-should-retry {show(', '.join(values))} (status {status})\nExpected: x-should-retry \"true\" or \"false\" (the SDK ignores any other value)", at="header x-should-retry")])
    if value == "false" and (status in (429, 529) or status >= 500) and _error_code(ex.json) not in _SPEND_LIMIT_CODES:
        return judgement(item, [Violation(f'Received: x-should-retry "false" on a {status}\nExpected: "true" or no x-should-retry: clients retry a {status}, and the SDK stops when told "false"', at="header x-should-retry")])
    if value == "true" and status in _FINAL_STATUSES:
        return judgement(item, [Violation(f'Received: x-should-retry "true" on a {status}\nExpected: "false" or no x-should-retry: the same request cannot succeed when sent again', at="header x-should-retry")])
    return judgement(item)


@check("recovery.ratelimit_headers_wellformed")
def ratelimit_headers_wellformed(s: Subject) -> Judgement:
    """Clients pace themselves on these headers; a reset they cannot parse or a count that is not one leaves them guessing."""
    found = [(name, value.strip(), m.group(1)) for name, value in s.exchange.headers if (m := _RATE_LIMIT_HEADER.match(name))]
    if not found:
        raise NotApplicable("no anthropic-ratelimit-* headers (they are optional)")
    violations = []
    for name, value, kind in found:
        if kind == "reset" and not _is_rfc3339(value):
            violations.append(Violation(f"Received: {name} {show(value)}\nExpected: an RFC 3339 timestamp, e.g. 2026-04-21T07:28:00Z", at=f"header {name}"))
        elif kind != "reset" and not _COUNT.match(value):
            violations.append(Violation(f"Received: {name} {show(value)}\nExpected: a non-negative integer, e.g. 50", at=f"header {name}"))
    return judgement(counted(len(found), "anthropic-ratelimit-* header"), violations)


@check("recovery.pre_stream_error_is_status")
def pre_stream_error_is_status(s: Subject) -> Judgement:
    """SDKs and Claude Code retry 429/529 statuses; the same failure sent as a 200 stream is not retried."""
    if s.reading is None:
        raise NotApplicable("not a stream")
    for event in s.reading.events:
        kind = event.data.get("type") if event.data is not None else None
        if kind == "message_start":
            return judgement(f"the events before message_start (event #{event.index})")
        if event.name == "error" or kind == "error":
            return judgement(
                f"an error event before message_start (event #{event.index})",
                [
                    Violation(
                        f"Received: status 200 and an error event ({describe_error(event)}) before message_start\n"
                        "Expected: an HTTP error status (e.g. 529 overloaded_error) when the request fails before its stream starts",
                        at=locate_event(event),
                        event_index=event.index,
                    )
                ],
            )
    s.whole()  # an error event may lie past a cut of ours
    raise NotApplicable("neither message_start nor an error event in the stream (judged by stream.message_start_first)")


@check("recovery.stream_failure_surfaced")
def stream_failure_surfaced(s: Subject) -> Judgement:
    """A failure swallowed into a normal end hands the client a cut answer it takes for complete."""
    ex = s.exchange
    if ex.status is None:
        raise NotApplicable("no answer")
    if ex.status >= 400:
        return judgement(f"status {ex.status}")  # the failure reached the client as a status (its envelope is judged by errors.*)
    if s.reading is None:
        raise NotApplicable("not a stream")
    found = error_event(s.reading)
    if found is not None:
        return judgement(f"an error event (event #{found.index}, {describe_error(found)})")
    s.whole()  # the error event may lie past a cut of ours
    last: tuple[int, JSON] | None = None
    for index, data in s.events():
        if data.get("type") == "message_delta":
            last = (index, data.get("delta"))
    if last is not None:
        index, delta = last
        reason = delta.get("stop_reason") if isinstance(delta, dict) else None
        received, at = f"a stream that ends like a complete answer (stop_reason {show(reason)})", locate(s, index)
    else:
        received, at = "a stream with no error event", None
    return judgement(
        f"the {counted(len(s.reading.events), 'event')} of the stream for an error event",
        [
            Violation(
                f"Received: {received}, though the target was made to fail after the stream started\n"
                'Expected: an error event as the last event, e.g. {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}',
                at=at,
            )
        ],
    )


def _silence_limit(s: Subject) -> float:
    knob = s.contract.profile.knob("max_stream_silence_s")
    if isinstance(knob, int | float) and not isinstance(knob, bool) and knob > 0:
        return float(knob)
    if s.contract.max_stream_silence is None:
        raise NotApplicable("the contract states no stream.max_silence_s")
    return s.contract.max_stream_silence


def _label(s: Subject, frame: Frame) -> str:
    event = next((e for e in s.reading.events if e.frame.index == frame.index), None) if s.reading is not None else None
    return locate_event(event) if event is not None else f"a comment @ byte {frame.start}"


@check("recovery.stream_silence_bounded")
def stream_silence_bounded(s: Subject) -> Judgement:
    """Claude Code shows "Waiting for API response" after ~20 s of silence and abandons stalled streams."""
    if s.reading is None:
        raise NotApplicable("not a stream")
    if not s.exchange.chunks:
        raise NotApplicable("no arrival times were recorded for this stream")
    limit = _silence_limit(s)
    start = next((e.frame.index for e in s.reading.events if e.data is not None and e.data.get("type") == "message_start"), None)
    if start is None:
        raise s.unjudged("no message_start (judged by stream.message_start_first)")
    longest: tuple[float, Frame, Frame | None] | None = None  # gap, the frame before it, the frame after it (None: the end)
    count, previous, previous_t = 0, None, 0.0
    for frame in itertools.islice(s.reading.frames, start, None):
        if frame.t is None:
            continue
        count += 1
        if previous is not None and (longest is None or frame.t - previous_t > longest[0]):
            longest = (frame.t - previous_t, previous, frame)
        previous, previous_t = frame, frame.t
    if previous is None:
        raise NotApplicable("no arrival times were recorded for this stream")
    # Silence until the stream ended counts too, unless a cap of ours, not the target, ended reading (a timeout is observed silence).
    trailing = s.exchange.elapsed - previous_t
    cut_by_us = s.reading.limit is not None or s.exchange.truncated
    if not _finished(s.reading) and not cut_by_us and trailing > 0 and (longest is None or trailing > longest[0]):
        longest = (trailing, previous, None)
    if longest is None:
        raise NotApplicable("one arrival time only, and the stream finished: no silence to measure")
    gap, before, after = longest
    item = f"the gaps between {counted(count, 'frame')} after message_start (longest {gap:.1f} s)"
    if gap <= limit:
        return judgement(item)
    return judgement(
        item,
        [
            Violation(
                f"Received: {gap:.1f} s without any event, ping or comment, after {_label(s, before)}\n"
                f"Expected: at most {limit:g} s of silence after message_start (ping events keep a pending answer alive)",
                at=_label(s, after) if after is not None else _end_of(s),
            )
        ],
    )


def _finished(reading: StreamReading) -> bool:
    """The stream reached its documented end (message_stop or an error event), so what came after it is not silence."""
    return error_event(reading) is not None or any(e.data is not None and e.data.get("type") == "message_stop" for e in reading.events)


def _end_of(s: Subject) -> str:
    """Where an unfinished stream ended: the read that gave up, or the connection the target closed."""
    ex = s.exchange
    if ex.error is not None:
        return f"the end of the answer, {ex.elapsed:.1f} s in ({ex.error})"
    return f"the end of the answer, {ex.elapsed:.1f} s in (the connection closed with no message_stop)"


# A gateway that holds a stream until the answer is complete sends every delta at once at the end. A fast
# backend does too, so only a burst that came late says so: at least _BURST_DELTAS content deltas within
# _BURST_S (over 1,000 deltas a second, far beyond any model's pace), the last of them at least
# _BUFFERED_AFTER_S into the request. Deltas spread over time show the stream was passed on as it came.
_BURST_S = 0.02
_BURST_DELTAS = 20
_BUFFERED_AFTER_S = 1.0


@check("recovery.stream_not_buffered")
def stream_not_buffered(s: Subject) -> Judgement:
    """Claude Code warns of a slow first byte and retries a silent stream; a gateway that holds a long answer and sends it whole looks like a stall, then floods."""
    if s.reading is None:
        raise NotApplicable("not a stream")
    deltas = [e for e in s.reading.events if e.data is not None and e.data.get("type") == "content_block_delta" and e.frame.t is not None]
    arrivals = [e.frame.t for e in deltas if e.frame.t is not None]
    if not arrivals:
        raise NotApplicable("no content delta with a recorded arrival time")
    spread, last = arrivals[-1] - arrivals[0], arrivals[-1]
    judged = f"{len(arrivals)} content deltas arriving over {spread:.3f} s, the last {last:.2f} s into the request"
    if spread >= _BURST_S:
        return judgement(judged)
    burst = f"all {len(arrivals)} content deltas within {spread * 1000:.0f} ms, {last:.2f} s into the request"
    if len(arrivals) < _BURST_DELTAS:
        raise NotApplicable(f"{burst}: too few to tell an answer held back from a short one (judged from {_BURST_DELTAS} deltas)")
    if last < _BUFFERED_AFTER_S:
        raise NotApplicable(f"{burst}: too soon to tell an answer held back from a fast backend (judged from {_BUFFERED_AFTER_S:g} s)")
    return judgement(
        judged,
        [
            Violation(
                f"Received: {burst}: the answer held back until complete, then sent in one burst\n"
                f"Expected: deltas passed on as they are generated (a model does not produce {_BURST_DELTAS} deltas in {_BURST_S * 1000:.0f} ms)",
                at=locate(s, deltas[0].index),
                event_index=deltas[0].index,
            )
        ],
    )
