"""conformance/checks/recovery.py, recovery.stream_not_buffered: a long answer is not held back and sent in one burst."""

from __future__ import annotations

import pytest

from conformance.checks.registry import registered
from conformance.exchange import Chunk
from conformance.findings import Judgement, NotApplicable

from . import _events as ev


def judge(subject) -> Judgement:
    result = registered()["recovery.stream_not_buffered"](subject)
    assert isinstance(result, Judgement)
    return result


def timed(build, deltas: int, arrival):
    """A stream of ``deltas`` text deltas; ``arrival(i)`` is when the i-th event's bytes arrived (seconds into the request)."""
    events = [ev.start(), ev.block_start(0), ev.PING, *(ev.text_delta(f" {n}") for n in range(deltas)), ev.block_stop(0), ev.message_delta(output_tokens=deltas), ev.STOP]
    pieces = [ev.sse([e]) for e in events]
    chunks, offset = [], 0
    for index, piece in enumerate(pieces):
        chunks.append(Chunk(offset=offset, size=len(piece), t=arrival(index)))
        offset += len(piece)
    return build.stream(b"".join(pieces), chunks=tuple(chunks), request={"model": "m", "max_tokens": 64, "messages": []})


def test_stream_not_buffered_passes_deltas_spread_over_time(build):
    # A model's pace: one delta every 30 ms after a slow first byte.
    result = judge(timed(build, 30, lambda i: 1.2 + 0.03 * i))
    assert result.violations == ()
    assert result.judged == ("30 content deltas arriving over 0.870 s, the last 2.16 s into the request",)


def test_stream_not_buffered_flags_a_long_answer_sent_at_once(build):
    # A gateway that held the whole answer (proxy_buffering on, fake streaming) and released it 2.5 s in.
    [violation] = judge(timed(build, 30, lambda i: 2.5)).violations
    assert violation.message == (
        "Received: all 30 content deltas within 0 ms, 2.50 s into the request: the answer held back until complete, then sent in one burst\n"
        "Expected: deltas passed on as they are generated (a model does not produce 20 deltas in 20 ms)"
    )
    assert violation.at.startswith("event #3 (content_block_delta) @ byte ")


def test_stream_not_buffered_leaves_short_or_fast_answers(build):
    with pytest.raises(NotApplicable, match=r"too few to tell an answer held back from a short one \(judged from 20 deltas\)"):
        judge(timed(build, 5, lambda i: 3.0))
    with pytest.raises(NotApplicable, match=r"too soon to tell an answer held back from a fast backend \(judged from 1 s\)"):
        judge(timed(build, 40, lambda i: 0.05))
    with pytest.raises(NotApplicable, match="no content delta with a recorded arrival time"):
        judge(build.stream())  # no chunk timings (a file, a capture)
