"""conformance/checks/recovery.py and the Subject's broken-off signal: retry-after, errors before and
after a stream starts, swallowed failures, silences.

Legal shapes come from real captures (429 bodies 57/58, the in-stream error fragments f1/f2); the
deviations from research/peers.md §4.6 #15, #16, #24 and fail exactly the check that owns them.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from conformance.checks.subject import Unjudgeable, describe_error, error_event, infrastructure_failure
from conformance.exchange import Chunk
from conformance.findings import NotApplicable

from ._build import (
    PING,
    STOP,
    Build,
    block_start,
    block_stop,
    message_delta,
    messages,
    run,
    sse,
    start,
    text_delta,
    text_events,
)

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
RATE_LIMIT = {"type": "error", "error": {"type": "rate_limit_error", "message": "This request would exceed your account's rate limit. Please try again later."}}
OVERLOADED = {"type": "error", "error": {"details": None, "type": "overloaded_error", "message": "Overloaded"}}
ERROR_EVENT = {"type": "error", **{k: v for k, v in OVERLOADED.items() if k != "type"}}
JSON = ("content-type", "application/json")
MIDSTREAM = [start(), block_start(0), PING, text_delta("Grüße"), ERROR_EVENT]


def rate_limited(build: Build, *headers: tuple[str, str], body: object = RATE_LIMIT):
    return build.error(body, status=429, headers=[JSON, *headers])


def timed(build: Build, pieces: list[tuple[float, dict | bytes]], **kwargs):
    """A stream whose pieces (events or raw bytes) arrived at the given seconds, one read each."""
    raw, chunks = b"", []
    for t, piece in pieces:
        data = sse([piece])
        chunks.append(Chunk(offset=len(raw), size=len(data), t=t))
        raw += data
    return build.stream(raw, chunks=tuple(chunks), **kwargs)


# ------------------------------------------------------------------------------ retry-after


@pytest.mark.parametrize("value", ["1", "0", "60", " 12 ", "1.5"])
def test_a_429_with_seconds_to_wait_passes(build, value):
    assert run("recovery.retry_after_on_rate_limit", rate_limited(build, ("retry-after", value))) == []


def test_a_429_without_retry_after_warns(build):
    assert messages("recovery.retry_after_on_rate_limit", rate_limited(build)) == [
        "Received: a 429 without retry-after\nExpected: retry-after with the number of seconds to wait, e.g. retry-after: 12"
    ]
    [violation] = run("recovery.retry_after_on_rate_limit", rate_limited(build, ("retry-after-ms", "1500")))
    assert violation.message.startswith('Received: a 429 without retry-after (only the non-standard retry-after-ms: "1500")\n')
    assert violation.at == "header retry-after"


@pytest.mark.parametrize("value", ["Wed, 21 Oct 2026 07:28:00 GMT", "soon", "-1", ""])
def test_a_429_whose_retry_after_is_not_seconds_warns(build, value):
    assert messages("recovery.retry_after_on_rate_limit", rate_limited(build, ("retry-after", value))) == [
        f"Received: retry-after {json.dumps(value)}\nExpected: the number of seconds to wait, e.g. retry-after: 12"
    ]


def test_the_spend_limit_429_needs_no_retry_after(build):
    body = {"type": "error", "error": {"type": "rate_limit_error", "message": "spend limit reached", "details": {"error_code": "contract_spend_limit_reached"}}}
    with pytest.raises(NotApplicable, match="spend-limit 429"):
        run("recovery.retry_after_on_rate_limit", rate_limited(build, body=body))


def test_retry_after_is_only_judged_on_429s(build):
    with pytest.raises(NotApplicable, match="status 529, not 429"):
        run("recovery.retry_after_on_rate_limit", build.error(OVERLOADED, status=529))


@pytest.mark.parametrize("name", ["57-error-429-rate-limit-org-2025-03.json", "58-error-429-rate-limit-2026-04.json"])
def test_real_429_bodies_with_their_retry_after_pass(build, name):
    path = CAPTURES / name
    if not path.is_file():
        pytest.skip(f"capture {name} not found")
    assert run("recovery.retry_after_on_rate_limit", rate_limited(build, ("retry-after", "37"), body=path.read_bytes())) == []


# ----------------------------------------------------------------- errors before the stream


def test_an_error_after_message_start_is_in_band_as_documented(build):
    assert run("recovery.pre_stream_error_is_status", build.stream(MIDSTREAM)) == []
    assert run("recovery.pre_stream_error_is_status", build.stream()) == []


@pytest.mark.parametrize("events", [[ERROR_EVENT], [PING, ERROR_EVENT]], ids=["first", "after-ping"])
def test_an_error_before_message_start_should_have_been_a_status(build, events):
    [violation] = run("recovery.pre_stream_error_is_status", build.stream(events))
    index = len(events) - 1
    assert violation.message == (
        "Received: status 200 and an error event (overloaded_error: Overloaded) before message_start\n"
        "Expected: an HTTP error status (e.g. 529 overloaded_error) when the request fails before its stream starts"
    )
    assert (violation.event_index, violation.at) == (index, f"event #{index} (error) @ byte {len(sse(events[:index]))}")


def test_pre_stream_errors_are_judged_on_streams_only(build):
    with pytest.raises(NotApplicable, match="not a stream"):
        run("recovery.pre_stream_error_is_status", build.plain())


# ----------------------------------------------------------------- errors after the stream


def test_a_failure_that_reaches_the_client_passes(build):
    assert run("recovery.stream_failure_surfaced", build.stream(MIDSTREAM)) == []
    assert run("recovery.stream_failure_surfaced", build.error(OVERLOADED, status=529)) == []
    data_only = sse(MIDSTREAM[:-1]) + b"data: " + json.dumps(ERROR_EVENT).encode() + b"\n\n"
    assert run("recovery.stream_failure_surfaced", build.stream(data_only)) == []  # judged by stream.event_name_matches_type


def test_a_failure_swallowed_into_a_normal_end_fails(build):
    events = [*MIDSTREAM[:-1], block_stop(0), message_delta("end_turn", output_tokens=2), STOP]
    [violation] = run("recovery.stream_failure_surfaced", build.stream(events))
    assert violation.message == (
        'Received: a stream that ends like a complete answer (stop_reason "end_turn"), though the target was made to fail after the stream started\n'
        'Expected: an error event as the last event, e.g. {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}'
    )
    assert violation.at == f"event #5 (message_delta) @ byte {len(sse(events[:5]))}"


def test_a_failure_that_just_stops_fails_without_a_locator(build):
    [violation] = run("recovery.stream_failure_surfaced", build.stream(MIDSTREAM[:-1]))
    assert violation.message.startswith("Received: a stream with no error event, though the target was made to fail")
    assert violation.at is None


# ------------------------------------------------------------------------------- silences


def test_a_stream_that_keeps_talking_passes(build):
    pieces = [(0.0, start()), (0.1, block_start(0)), (14.0, PING), (28.0, text_delta("Grüße")), (29.0, block_stop(0)), (29.5, message_delta()), (29.5, STOP)]
    assert run("recovery.stream_silence_bounded", timed(build, pieces)) == []


def test_a_long_silence_after_message_start_warns(build):
    pieces = [(0.0, start()), (0.1, block_start(0)), (20.6, PING), (20.7, text_delta("Grüße")), (20.8, block_stop(0)), (20.9, message_delta()), (21.0, STOP)]
    subject = timed(build, pieces)
    [violation] = run("recovery.stream_silence_bounded", subject)
    assert violation.message == (
        f"Received: 20.5 s without any event, ping or comment, after event #1 (content_block_start) @ byte {len(sse([start()]))}\n"
        "Expected: at most 15 s of silence after message_start (ping events keep a pending answer alive)"
    )
    assert violation.at == f"event #2 (ping) @ byte {len(sse([start(), block_start(0)]))}"


def test_comments_count_as_activity_and_the_wait_before_message_start_does_not_count(build):
    pieces = [(0.0, b": keepalive\n\n"), (40.0, start()), (41.0, block_start(0)), (50.0, b": keepalive\n\n"), (60.0, text_delta("ok")), (61.0, block_stop(0)), (61.0, message_delta()), (61.0, STOP)]
    assert run("recovery.stream_silence_bounded", timed(build, pieces)) == []
    pieces[3] = (44.0, b": keepalive\n\n")
    [violation] = run("recovery.stream_silence_bounded", timed(build, pieces))
    assert violation.message.startswith("Received: 16.0 s without any event, ping or comment, after a comment @ byte ")


def test_a_profile_may_change_the_silence_limit(build):
    profile = dataclasses.replace(build.contract.profile, strictness={"max_stream_silence_s": 1})
    strict = Build(dataclasses.replace(build.contract, profile=profile))
    pieces = [(0.0, start()), (0.1, block_start(0)), (1.6, text_delta("ok")), (1.7, block_stop(0)), (1.8, message_delta()), (1.8, STOP)]
    assert run("recovery.stream_silence_bounded", timed(build, pieces)) == []
    [violation] = run("recovery.stream_silence_bounded", timed(strict, pieces))
    assert "Expected: at most 1 s of silence after message_start" in violation.message


def test_silences_cannot_be_judged_without_times_or_a_start(build):
    with pytest.raises(NotApplicable, match="no arrival times"):
        run("recovery.stream_silence_bounded", build.stream())
    with pytest.raises(NotApplicable, match="no message_start"):
        run("recovery.stream_silence_bounded", timed(build, [(0.0, ERROR_EVENT)]))
    unstated = Build(dataclasses.replace(build.contract, max_stream_silence=None))
    with pytest.raises(NotApplicable, match=r"states no stream\.max_silence_s"):
        run("recovery.stream_silence_bounded", timed(unstated, [(0.0, start()), (1.0, PING)]))


# ------------------------------------------------------------- the Subject's broken-off signal


def test_a_stream_broken_off_by_an_error_event_has_no_final_message(build):
    subject = build.stream(MIDSTREAM)
    assert subject.broken_off() == f"the stream broke off with an error event (overloaded_error: Overloaded) at event #4 (error) @ byte {len(sse(MIDSTREAM[:4]))}"
    with pytest.raises(Unjudgeable, match=r"broke off with an error event .*, so there is no final message to judge"):
        subject.message()
    assert [i for i, _ in subject.events()] == [0, 1, 2, 3, 4]  # what did arrive stays judgeable
    assert build.stream().broken_off() is None
    assert build.plain().broken_off() is None


def test_an_error_event_is_recognised_by_its_name_or_its_type(build):
    named = build.stream(sse(MIDSTREAM[:-1]) + b'event: error\ndata: {"error": "upstream failed"}\n\n')
    assert named.reading is not None
    event = error_event(named.reading)
    assert event is not None
    assert describe_error(event) == '"{\\"error\\": \\"upstream failed\\"}"'
    typed = build.stream(sse(MIDSTREAM[:-1]) + b"data: " + json.dumps(ERROR_EVENT).encode() + b"\n\n")
    assert typed.broken_off() is not None


def test_a_twin_still_rate_limited_after_retries_is_unjudgeable(build):
    twin = dataclasses.replace(build.twin(status=429, body=RATE_LIMIT), attempts=4)
    with pytest.raises(Unjudgeable, match=r"the non-stream twin plain has nothing to compare with: still 429 after 4 attempts"):
        build.stream(text_events(), twin=twin).twin_message()
    once = build.twin(status=429, body=RATE_LIMIT)  # a single 429 is an answer: not infrastructure
    with pytest.raises(NotApplicable) as caught:
        build.stream(text_events(), twin=once).twin_message()
    assert not isinstance(caught.value, Unjudgeable)


def test_infrastructure_failures_are_no_answer_or_429_529_after_retries(build):
    ok = build.twin()
    assert infrastructure_failure(ok) is None
    assert infrastructure_failure(dataclasses.replace(ok, status=529, attempts=2)) == "still 529 after 2 attempts (the target is rate limiting or overloaded)"
    assert infrastructure_failure(dataclasses.replace(ok, status=529, attempts=1)) is None
    assert infrastructure_failure(dataclasses.replace(ok, status=None, error="read timeout", error_kind="timeout")) == "no answer: read timeout"


# ------------------------------------------------------------------- real captures: no false alarms


@pytest.mark.parametrize("path", sorted(CAPTURES.glob("*.sse")), ids=lambda p: p.stem)
def test_real_streams_raise_no_recovery_alarm(build, path):
    subject = build.stream(path.read_bytes())
    assert run("recovery.pre_stream_error_is_status", subject) == []
    assert subject.broken_off() is None


def test_the_real_midstream_error_fragment_is_a_legal_break_off(build):
    fragment = CAPTURES / "fragments" / "f1-midstream-api-error-2024-07.sse"
    if not fragment.is_file():
        pytest.skip("fragment f1 not found")
    subject = build.stream(sse([start(), block_start(0)]) + fragment.read_bytes())
    assert run("recovery.pre_stream_error_is_status", subject) == []
    assert run("recovery.stream_failure_surfaced", subject) == []
    assert run("stream.ends_with_message_stop", subject) == []
    assert run("stream.event_schema", subject) == []
    assert subject.broken_off() is not None
    assert "(api_error: Internal server error)" in subject.broken_off()
