"""Recovery: what a client needs to retry, back off or give up correctly.

429s carry the wait, failures before a stream starts are HTTP statuses, failures after it started
reach the client as an error event, and a live stream never falls silent for long. The error
envelope, the status ↔ error.type pairing and an error event's place at the end are judged by
errors.* and stream.*; these checks only judge what those cannot.
"""

from __future__ import annotations

import itertools
import re

from .._types import JSON
from ..findings import NotApplicable, Violation
from ..sse.framer import Frame
from .registry import check
from .subject import Subject, describe_error, error_event, locate, show

_SECONDS = re.compile(r"^\d+(\.\d+)?$")
# error.details.error_code of the 429s a spend limit causes (SDK-2.12 _error_classes.py).
_SPEND_LIMIT_CODES = frozenset({"contract_spend_limit_reached", "enforced_spend_limit_reached"})


def _error_code(body: JSON) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    code = details.get("error_code") if isinstance(details, dict) else None
    return code if isinstance(code, str) else None


@check("recovery.retry_after_on_rate_limit")
def retry_after_on_rate_limit(s: Subject) -> list[Violation]:
    """Clients (Claude Code, the SDKs) wait what retry-after says; without it they guess or retry at once."""
    if s.exchange.status != 429:
        raise NotApplicable(f"status {s.exchange.status}, not 429")
    code = _error_code(s.exchange.json)
    if code in _SPEND_LIMIT_CODES:
        raise NotApplicable(f"a spend-limit 429 ({code}): Anthropic sends it without retry-after, since waiting does not help (DOC-RL)")
    value = s.exchange.header("retry-after")
    if value is None:
        ms = s.exchange.header("retry-after-ms")
        note = f" (only the non-standard retry-after-ms: {show(ms)})" if ms is not None else ""
        return [Violation(f"Received: a 429 without retry-after{note}\nExpected: retry-after with the number of seconds to wait, e.g. retry-after: 12", at="header retry-after")]
    if not _SECONDS.match(value.strip()):
        return [Violation(f"Received: retry-after {show(value)}\nExpected: the number of seconds to wait, e.g. retry-after: 12", at="header retry-after")]
    return []


@check("recovery.pre_stream_error_is_status")
def pre_stream_error_is_status(s: Subject) -> list[Violation]:
    """SDKs and Claude Code retry 429/529 statuses; the same failure sent as a 200 stream is not retried."""
    if s.reading is None:
        raise NotApplicable("not a stream")
    event = error_event(s.reading)
    if event is None or any(e.index < event.index and e.data is not None and e.data.get("type") == "message_start" for e in s.reading.events):
        return []
    return [
        Violation(
            f"Received: status 200 and an error event ({describe_error(event)}) before message_start\n"
            "Expected: an HTTP error status (e.g. 529 overloaded_error) when the request fails before its stream starts",
            at=locate(s, event.index),
            event_index=event.index,
        )
    ]


@check("recovery.stream_failure_surfaced")
def stream_failure_surfaced(s: Subject) -> list[Violation]:
    """A failure swallowed into a normal end hands the client a cut answer it takes for complete."""
    ex = s.exchange
    if ex.status is None:
        raise NotApplicable("no answer")
    if ex.status >= 400:
        return []  # the failure reached the client as a status (its envelope is judged by errors.*)
    if s.reading is None:
        raise NotApplicable("not a stream")
    if error_event(s.reading) is not None:
        return []
    deltas = [(i, d.get("delta")) for i, d in s.events() if d.get("type") == "message_delta"]
    if deltas:
        index, delta = deltas[-1]
        reason = delta.get("stop_reason") if isinstance(delta, dict) else None
        received, at = f"a stream that ends like a complete answer (stop_reason {show(reason)})", locate(s, index)
    else:
        received, at = "a stream with no error event", None
    return [
        Violation(
            f"Received: {received}, though the target was made to fail after the stream started\n"
            'Expected: an error event as the last event, e.g. {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}',
            at=at,
        )
    ]


def _silence_limit(s: Subject) -> float:
    knob = s.contract.profile.knob("max_stream_silence_s")
    if isinstance(knob, int | float) and not isinstance(knob, bool) and knob > 0:
        return float(knob)
    if s.contract.max_stream_silence is None:
        raise NotApplicable("the contract states no stream.max_silence_s")
    return s.contract.max_stream_silence


def _label(s: Subject, frame: Frame) -> str:
    event = next((e for e in s.reading.events if e.frame is frame), None) if s.reading is not None else None
    return locate(s, event.index) if event is not None else f"a comment @ byte {frame.start}"


@check("recovery.stream_silence_bounded")
def stream_silence_bounded(s: Subject) -> list[Violation]:
    """Claude Code shows "Waiting for API response" after ~20 s of silence and abandons stalled streams."""
    if s.reading is None:
        raise NotApplicable("not a stream")
    limit = _silence_limit(s)
    start = next((e.frame for e in s.reading.events if e.data is not None and e.data.get("type") == "message_start"), None)
    if start is None:
        raise NotApplicable("no message_start (judged by stream.message_start_first)")
    after_start = itertools.dropwhile(lambda f: f is not start, s.reading.frames)
    timed = [(f.t, f) for f in after_start if f.t is not None]
    if len(timed) < 2:
        raise NotApplicable("no arrival times were recorded for this stream")
    gap, before, after = max(((b - a, fa, fb) for (a, fa), (b, fb) in itertools.pairwise(timed)), key=lambda g: g[0])
    if gap <= limit:
        return []
    return [
        Violation(
            f"Received: {gap:.1f} s without any event, ping or comment, after {_label(s, before)}\n"
            f"Expected: at most {limit:g} s of silence after message_start (ping events keep a pending answer alive)",
            at=_label(s, after),
        )
    ]
