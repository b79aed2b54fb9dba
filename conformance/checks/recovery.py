"""Recovery: what a client needs to retry, back off or give up correctly.

429s carry the wait, failures before a stream starts are HTTP statuses, failures after it started
reach the client as an error event, and a live stream never falls silent for long. The error
envelope, the status ↔ error.type pairing and an error event's place at the end are judged by
errors.* and stream.*; these checks only judge what those cannot.
"""

from __future__ import annotations

import re

from ..findings import NotApplicable, Violation
from ..sse.framer import Frame
from .registry import check
from .subject import Subject, describe_error, error_event, locate, show

_SECONDS = re.compile(r"^\d+(\.\d+)?$")


@check("recovery.retry_after_on_rate_limit")
def retry_after_on_rate_limit(s: Subject) -> list[Violation]:
    """Clients (Claude Code, the SDKs) wait what retry-after says; without it they guess or retry at once."""
    if s.exchange.status != 429:
        raise NotApplicable(f"status {s.exchange.status}, not 429")
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
    for index, data in s.events():
        if data.get("type") == "message_start":
            return []
        event = error_event(s.reading) if s.reading is not None else None
        if event is not None and event.index == index:
            return [
                Violation(
                    f"Received: status 200 and an error event ({describe_error(event)}) before message_start\n"
                    "Expected: an HTTP error status (e.g. 529 overloaded_error) when the request fails before its stream starts",
                    at=locate(s, index),
                    event_index=index,
                )
            ]
    return []


@check("recovery.stream_failure_surfaced")
def stream_failure_surfaced(s: Subject) -> list[Violation]:
    """A failure swallowed into a normal end hands the client a cut answer it takes for complete."""
    ex = s.exchange
    if ex.status is None:
        raise NotApplicable("no answer")
    if ex.status >= 400:
        return []  # the failure reached the client as a status (its envelope is judged by errors.*)
    if s.reading is None:
        return [Violation(f"Received: status {ex.status} and no stream (Content-Type {show(ex.header('content-type'))})\nExpected: a stream that ends with an error event, since the target was made to fail mid-stream")]
    if error_event(s.reading) is not None:
        return []
    ends = [(i, d.get("type")) for i, d in s.events() if d.get("type") in ("message_delta", "message_stop")]
    reason = next((d.get("delta", {}).get("stop_reason") for _, d in s.events() if d.get("type") == "message_delta" and isinstance(d.get("delta"), dict)), None)
    received = f"a stream that ends normally (stop_reason {show(reason)})" if ends else "a stream with no error event"
    return [
        Violation(
            f"Received: {received}, though the target was made to fail after the stream started\n"
            'Expected: an error event, e.g. {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, as the last event',
            at=locate(s, ends[-1][0]) if ends else None,
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
    frames = list(s.reading.frames)
    start = next((i for i, f in enumerate(frames) if any(e.frame is f and e.data and e.data.get("type") == "message_start" for e in s.reading.events)), None)
    if start is None:
        raise NotApplicable("no message_start (judged by stream.message_start_first)")
    timed = [f for f in frames[start:] if f.t is not None]
    if len(timed) < 2:
        raise NotApplicable("no arrival times were recorded for this stream")
    gap, before, after = max(((b.t - a.t, a, b) for a, b in zip(timed, timed[1:], strict=False) if a.t is not None and b.t is not None), key=lambda g: g[0])
    if gap <= limit:
        return []
    return [
        Violation(
            f"Received: {gap:.1f} s without any event, ping or comment, after {_label(s, before)}\n"
            f"Expected: at most {limit:g} s of silence after message_start (send ping events while the answer is pending)",
            at=_label(s, after),
        )
    ]
