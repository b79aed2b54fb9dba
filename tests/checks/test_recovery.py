"""conformance/checks/recovery.py and the Subject's broken-off signal: retry-after, errors before and
after a stream starts, swallowed failures, silences.

Legal shapes come from real captures (429 bodies 57/58, the in-stream error fragments f1/f2); the
deviations from research/peers.md §4.6 #15, #16, #24 and fail exactly the check that owns them.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from capture_corpus import capture, corpus

from conformance.checks.subject import Unjudgeable, describe_error, error_event, infrastructure_failure
from conformance.exchange import Chunk, ErrorKind
from conformance.findings import NotApplicable

from . import _events as ev
from ._build import Build, judged, messages, run

RATE_LIMIT = {"type": "error", "error": {"type": "rate_limit_error", "message": "This request would exceed your account's rate limit. Please try again later."}}
OVERLOADED = {"type": "error", "error": {"details": None, "type": "overloaded_error", "message": "Overloaded"}}
ERROR_EVENT = {"type": "error", **{k: v for k, v in OVERLOADED.items() if k != "type"}}
JSON = ("content-type", "application/json")
MIDSTREAM = [ev.start(), ev.block_start(0), ev.PING, ev.text_delta("Grüße"), ERROR_EVENT]


def rate_limited(build: Build, *headers: tuple[str, str], body: object = RATE_LIMIT):
    return build.error(body, status=429, headers=[JSON, *headers])


def timed(build: Build, pieces: list[tuple[float, dict | bytes]], **kwargs):
    """A stream whose pieces (events or raw bytes) arrived at the given seconds, one read each."""
    raw, chunks = b"", []
    for t, piece in pieces:
        data = ev.sse([piece])
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


@pytest.mark.parametrize("value", ["Wed, 21 Oct 2026 07:28:00 GMT", "Wednesday, 21-Oct-26 07:28:00 GMT", "Wed Oct 21 07:28:00 2026", "Sun Nov  6 08:49:37 1994"])
def test_a_429_whose_retry_after_is_an_http_date_passes(build, value):
    # RFC 9110 §10.2.3: Retry-After = HTTP-date / delay-seconds (IMF-fixdate and the two obsolete forms); the SDK honours dates.
    assert run("recovery.retry_after_on_rate_limit", rate_limited(build, ("retry-after", value))) == []


@pytest.mark.parametrize("value", ["1s", "soon", "-1", "", "Wed, 32 Oct 2026 07:28:00 GMT", "Wed, 21 Oct 2026 07:28:00", "2026-10-21T07:28:00Z", "1 s"])
def test_a_429_whose_retry_after_is_neither_seconds_nor_a_date_warns(build, value):
    assert messages("recovery.retry_after_on_rate_limit", rate_limited(build, ("retry-after", value))) == [
        f"Received: retry-after {json.dumps(value)}\nExpected: the number of seconds to wait, e.g. retry-after: 12 (or an HTTP date)"
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
    assert run("recovery.retry_after_on_rate_limit", rate_limited(build, ("retry-after", "37"), body=capture(name).read_bytes())) == []


# ----------------------------------------------------------------- errors before the stream


def test_an_error_after_message_start_is_in_band_as_documented(build):
    assert run("recovery.pre_stream_error_is_status", build.stream(MIDSTREAM)) == []
    assert run("recovery.pre_stream_error_is_status", build.stream()) == []


@pytest.mark.parametrize("events", [[ERROR_EVENT], [ev.PING, ERROR_EVENT]], ids=["first", "after-ping"])
def test_an_error_before_message_start_should_have_been_a_status(build, events):
    [violation] = run("recovery.pre_stream_error_is_status", build.stream(events))
    index = len(events) - 1
    assert violation.message == (
        "Received: status 200 and an error event (overloaded_error: Overloaded) before message_start\n"
        "Expected: an HTTP error status (e.g. 529 overloaded_error) when the request fails before its stream starts"
    )
    assert (violation.event_index, violation.at) == (index, f"event #{index} (error) @ byte {len(ev.sse(events[:index]))}")


def test_pre_stream_errors_are_judged_on_streams_only(build):
    with pytest.raises(NotApplicable, match="not a stream"):
        run("recovery.pre_stream_error_is_status", build.plain())


# ----------------------------------------------------------------- errors after the stream


def test_a_failure_that_reaches_the_client_passes(build):
    assert run("recovery.stream_failure_surfaced", build.stream(MIDSTREAM)) == []
    assert run("recovery.stream_failure_surfaced", build.error(OVERLOADED, status=529)) == []
    data_only = ev.sse(MIDSTREAM[:-1]) + b"data: " + json.dumps(ERROR_EVENT).encode() + b"\n\n"
    assert run("recovery.stream_failure_surfaced", build.stream(data_only)) == []  # judged by stream.event_name_matches_type


def test_a_failure_swallowed_into_a_normal_end_fails(build):
    events = [*MIDSTREAM[:-1], ev.block_stop(0), ev.message_delta("end_turn", output_tokens=2), ev.STOP]
    [violation] = run("recovery.stream_failure_surfaced", build.stream(events))
    assert violation.message == (
        'Received: a stream that ends like a complete answer (stop_reason "end_turn"), though the target was made to fail after the stream started\n'
        'Expected: an error event as the last event, e.g. {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}'
    )
    assert violation.at == f"event #5 (message_delta) @ byte {len(ev.sse(events[:5]))}"


def test_a_failure_that_just_stops_fails_without_a_locator(build):
    [violation] = run("recovery.stream_failure_surfaced", build.stream(MIDSTREAM[:-1]))
    assert violation.message.startswith("Received: a stream with no error event, though the target was made to fail")
    assert violation.at is None


# ------------------------------------------------------------------------------ x-should-retry


def answer(build: Build, status: int, *headers: tuple[str, str], body: object = None):
    kinds = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error", 413: "request_too_large",
             429: "rate_limit_error", 500: "api_error", 503: "api_error", 529: "overloaded_error"}
    payload = body if body is not None else {"type": "error", "error": {"type": kinds.get(status, "api_error"), "message": "x"}}
    return build.error(payload, status=status, headers=[JSON, *headers])


@pytest.mark.parametrize(("status", "value"), [(401, "false"), (529, "true"), (429, "true"), (500, "true"), (400, "false"), (409, "true"), (409, "false"), (408, "false")])
def test_should_retry_that_fits_the_status_passes(build, status, value):
    # Captures 52 (false on a 401) and 59 (true on a 529); 408/409 are the target's call.
    assert run("recovery.should_retry_consistent", answer(build, status, ("x-should-retry", value))) == []
    assert run("recovery.should_retry_consistent", build.plain(headers=[JSON, ("x-should-retry", value)])) == []


@pytest.mark.parametrize("status", [429, 529, 500, 503])
def test_should_retry_false_on_a_retryable_status_warns(build, status):
    [violation] = run("recovery.should_retry_consistent", answer(build, status, ("x-should-retry", "false")))
    assert violation.message == (
        f'Received: x-should-retry "false" on a {status}\nExpected: "true" or no x-should-retry: clients retry a {status}, and the SDK stops when told "false"'
    )
    assert violation.at == "header x-should-retry"


def test_should_retry_false_on_a_spend_limit_429_passes(build):
    body = {"type": "error", "error": {"type": "rate_limit_error", "message": "spend limit reached", "details": {"error_code": "contract_spend_limit_reached"}}}
    assert run("recovery.should_retry_consistent", answer(build, 429, ("x-should-retry", "false"), body=body)) == []


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
def test_should_retry_true_on_a_final_refusal_warns(build, status):
    assert messages("recovery.should_retry_consistent", answer(build, status, ("x-should-retry", "true"))) == [
        f'Received: x-should-retry "true" on a {status}\nExpected: "false" or no x-should-retry: the same request cannot succeed when sent again'
    ]


@pytest.mark.parametrize(("values", "shown"), [(["True"], '"True"'), (["1"], '"1"'), (["yes"], '"yes"'), (["false", "false"], '"false, false"')])
def test_should_retry_other_than_true_or_false_warns(build, values, shown):
    # SDK-2.12 _should_retry compares with "true" and "false" exactly; anything else is ignored.
    assert messages("recovery.should_retry_consistent", answer(build, 529, *(("x-should-retry", v) for v in values))) == [
        f'Received: x-should-retry {shown} (status 529)\nExpected: x-should-retry "true" or "false" (the SDK ignores any other value)'
    ]


def test_should_retry_is_judged_only_where_it_is_sent(build):
    with pytest.raises(NotApplicable, match="no x-should-retry"):
        run("recovery.should_retry_consistent", answer(build, 529))
    with pytest.raises(NotApplicable, match="no x-should-retry"):
        run("recovery.should_retry_consistent", build.subject(build.exchange(status=None, headers=[("x-should-retry", "true")])))


# --------------------------------------------------------------------------- rate-limit headers


def test_the_documented_rate_limit_headers_pass(build):
    headers = [(f"anthropic-ratelimit-{family}-{part}", value) for family in ("requests", "tokens", "input-tokens", "output-tokens")
               for part, value in (("limit", "50"), ("remaining", "0"), ("reset", "2026-04-21T07:28:00Z"))]
    headers += [("anthropic-priority-input-tokens-reset", "2026-04-21T07:28:00.123+02:00"), ("anthropic-priority-input-tokens-limit", "1000")]
    assert run("recovery.ratelimit_headers_wellformed", rate_limited(build, ("retry-after", "1"), *headers)) == []
    assert run("recovery.ratelimit_headers_wellformed", build.plain(headers=[JSON, ("anthropic-ratelimit-tokens-reset", "2026-04-21 07:28:00z")])) == []


A_TIMESTAMP = "an RFC 3339 timestamp, e.g. 2026-04-21T07:28:00Z"  # what a malformed reset header is told to be
A_COUNT = "a non-negative integer, e.g. 50"  # what a malformed limit or remaining header is told to be


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("anthropic-ratelimit-requests-reset", "1s", A_TIMESTAMP),
        ("anthropic-ratelimit-tokens-reset", "1776756480", A_TIMESTAMP),
        ("anthropic-ratelimit-tokens-reset", "2026-04-21T07:28:00", A_TIMESTAMP),
        ("anthropic-ratelimit-input-tokens-reset", "2026-13-01T00:00:00Z", A_TIMESTAMP),
        ("anthropic-ratelimit-requests-limit", "50.0", A_COUNT),
        ("anthropic-ratelimit-output-tokens-remaining", "-3", A_COUNT),
        ("anthropic-priority-output-tokens-remaining", "lots", A_COUNT),
    ],
)
def test_a_malformed_rate_limit_header_warns(build, name, value, expected):
    [violation] = run("recovery.ratelimit_headers_wellformed", rate_limited(build, ("anthropic-ratelimit-requests-limit", "50"), (name, value)))
    assert violation.message == f"Received: {name} {json.dumps(value)}\nExpected: {expected}"
    assert violation.at == f"header {name}"


def test_rate_limit_headers_are_judged_only_where_they_are_sent(build):
    with pytest.raises(NotApplicable, match="no anthropic-ratelimit"):
        run("recovery.ratelimit_headers_wellformed", rate_limited(build, ("retry-after", "1"), ("x-ratelimit-reset-requests", "1s")))


# ------------------------------------------------------------------------------- silences


def test_a_stream_that_keeps_talking_passes(build):
    pieces = [(0.0, ev.start()), (0.1, ev.block_start(0)), (14.0, ev.PING), (28.0, ev.text_delta("Grüße")), (29.0, ev.block_stop(0)), (29.5, ev.message_delta()), (29.5, ev.STOP)]
    assert run("recovery.stream_silence_bounded", timed(build, pieces)) == []


def test_a_long_silence_after_message_start_warns(build):
    pieces = [(0.0, ev.start()), (0.1, ev.block_start(0)), (20.6, ev.PING), (20.7, ev.text_delta("Grüße")), (20.8, ev.block_stop(0)), (20.9, ev.message_delta()), (21.0, ev.STOP)]
    subject = timed(build, pieces)
    [violation] = run("recovery.stream_silence_bounded", subject)
    assert violation.message == (
        f"Received: 20.5 s without any event, ping or comment, after event #1 (content_block_start) @ byte {len(ev.sse([ev.start()]))}\n"
        "Expected: at most 15 s of silence after message_start (ping events keep a pending answer alive)"
    )
    assert violation.at == f"event #2 (ping) @ byte {len(ev.sse([ev.start(), ev.block_start(0)]))}"


def test_comments_count_as_activity_and_the_wait_before_message_start_does_not_count(build):
    pieces = [(0.0, b": keepalive\n\n"), (40.0, ev.start()), (41.0, ev.block_start(0)), (50.0, b": keepalive\n\n"), (60.0, ev.text_delta("ok")), (61.0, ev.block_stop(0)), (61.0, ev.message_delta()), (61.0, ev.STOP)]
    assert run("recovery.stream_silence_bounded", timed(build, pieces)) == []
    pieces[3] = (44.0, b": keepalive\n\n")
    [violation] = run("recovery.stream_silence_bounded", timed(build, pieces))
    assert violation.message.startswith("Received: 16.0 s without any event, ping or comment, after a comment @ byte ")


def test_a_profile_may_change_the_silence_limit(build):
    profile = dataclasses.replace(build.contract.profile, strictness={"max_stream_silence_s": 1})
    strict = Build(dataclasses.replace(build.contract, profile=profile))
    pieces = [(0.0, ev.start()), (0.1, ev.block_start(0)), (1.6, ev.text_delta("ok")), (1.7, ev.block_stop(0)), (1.8, ev.message_delta()), (1.8, ev.STOP)]
    assert run("recovery.stream_silence_bounded", timed(build, pieces)) == []
    [violation] = run("recovery.stream_silence_bounded", timed(strict, pieces))
    assert "Expected: at most 1 s of silence after message_start" in violation.message


def test_a_stream_that_stalls_until_the_read_times_out_warns(build):
    # /tmp/redteam-req robust-stream-hang: message_start, then nothing until the idle timeout; no second arrival time.
    subject = timed(build, [(0.0, ev.start())], elapsed=20.0, error="read timeout: nothing received for 20 s")
    [violation] = run("recovery.stream_silence_bounded", subject)
    assert violation.message == (
        "Received: 20.0 s without any event, ping or comment, after event #0 (message_start) @ byte 0\n"
        "Expected: at most 15 s of silence after message_start (ping events keep a pending answer alive)"
    )
    assert violation.at == "the end of the answer, 20.0 s in (read timeout: nothing received for 20 s)"


def test_a_stream_closed_after_a_long_silence_warns_and_a_short_one_passes(build):
    pieces = [(0.0, ev.start()), (0.1, ev.block_start(0)), (0.2, ev.text_delta("Grüße"))]
    [violation] = run("recovery.stream_silence_bounded", timed(build, pieces, elapsed=16.2))
    assert violation.message.startswith(f"Received: 16.0 s without any event, ping or comment, after event #2 (content_block_delta) @ byte {len(ev.sse(MIDSTREAM[:2]))}\n")
    assert violation.at == "the end of the answer, 16.2 s in (the connection closed with no message_stop)"
    assert run("recovery.stream_silence_bounded", timed(build, pieces, elapsed=3.0)) == []


def test_the_wait_after_a_finished_stream_is_not_silence(build):
    # After message_stop (or an error event) the answer is complete: a connection left open is not a stall.
    finished = [(0.0, ev.start()), (0.1, ev.block_start(0)), (0.2, ev.text_delta("ok")), (0.3, ev.block_stop(0)), (0.4, ev.message_delta()), (0.5, ev.STOP)]
    assert run("recovery.stream_silence_bounded", timed(build, finished, elapsed=60.0)) == []
    assert run("recovery.stream_silence_bounded", timed(build, [(0.0, ev.start()), (0.1, ERROR_EVENT)], elapsed=60.0)) == []


def test_silences_cannot_be_judged_without_times_or_a_start(build):
    with pytest.raises(NotApplicable, match="no arrival times"):
        run("recovery.stream_silence_bounded", build.stream())
    with pytest.raises(NotApplicable, match="no message_start"):
        run("recovery.stream_silence_bounded", timed(build, [(0.0, ERROR_EVENT)]))
    unstated = Build(dataclasses.replace(build.contract, max_stream_silence=None))
    with pytest.raises(NotApplicable, match=r"states no stream\.max_silence_s"):
        run("recovery.stream_silence_bounded", timed(unstated, [(0.0, ev.start()), (1.0, ev.PING)]))


# ------------------------------------------------------------- the Subject's broken-off signal


def test_a_stream_broken_off_by_an_error_event_has_no_final_message(build):
    subject = build.stream(MIDSTREAM)
    assert subject.broken_off() == f"the stream broke off with an error event (overloaded_error: Overloaded) at event #4 (error) @ byte {len(ev.sse(MIDSTREAM[:4]))}"
    with pytest.raises(Unjudgeable, match=r"broke off with an error event .*, so there is no final message to judge"):
        subject.message()
    assert [i for i, _ in subject.events()] == [0, 1, 2, 3, 4]  # what did arrive stays judgeable
    assert build.stream().broken_off() is None
    assert build.plain().broken_off() is None


def test_an_error_event_is_recognised_by_its_name_or_its_type(build):
    named = build.stream(ev.sse(MIDSTREAM[:-1]) + b'event: error\ndata: {"error": "upstream failed"}\n\n')
    assert named.reading is not None
    event = error_event(named.reading)
    assert event is not None
    assert describe_error(event) == '"{\\"error\\": \\"upstream failed\\"}"'
    typed = build.stream(ev.sse(MIDSTREAM[:-1]) + b"data: " + json.dumps(ERROR_EVENT).encode() + b"\n\n")
    assert typed.broken_off() is not None


def test_a_twin_still_rate_limited_after_retries_is_unjudgeable(build):
    twin = dataclasses.replace(build.twin(status=429, body=RATE_LIMIT), attempts=4)
    with pytest.raises(Unjudgeable, match=r"the non-stream twin plain has nothing to compare with: still 429 after 4 attempts"):
        build.stream(ev.text_events(), twin=twin).twin_message()
    once = build.twin(status=429, body=RATE_LIMIT)  # a single 429 is an answer: not infrastructure
    with pytest.raises(NotApplicable) as caught:
        build.stream(ev.text_events(), twin=once).twin_message()
    assert not isinstance(caught.value, Unjudgeable)


def test_infrastructure_failures_are_no_answer_or_429_529_after_retries(build):
    ok = build.twin()
    assert infrastructure_failure(ok) is None
    assert infrastructure_failure(dataclasses.replace(ok, status=529, attempts=2)) == "still 529 after 2 attempts (the target is rate limiting or overloaded)"
    assert infrastructure_failure(dataclasses.replace(ok, status=529, attempts=1)) is None
    assert infrastructure_failure(dataclasses.replace(ok, status=None, error="read timeout", error_kind=ErrorKind.TIMEOUT)) == "no answer: read timeout"


# ------------------------------------------------------------------- real captures: no false alarms


@pytest.mark.parametrize("path", corpus("*.sse"), ids=lambda p: p.stem)
def test_real_streams_raise_no_recovery_alarm(build, path):
    subject = build.stream(path.read_bytes())
    assert run("recovery.pre_stream_error_is_status", subject) == []
    assert subject.broken_off() is None


def test_the_real_midstream_error_fragment_is_a_legal_break_off(build):
    fragment = capture("fragments/f1-midstream-api-error-2024-07.sse")
    if not fragment.is_file():
        pytest.skip("fragment f1 not found")
    subject = build.stream(ev.sse([ev.start(), ev.block_start(0)]) + fragment.read_bytes())
    assert run("recovery.pre_stream_error_is_status", subject) == []
    assert run("recovery.stream_failure_surfaced", subject) == []
    assert run("stream.ends_with_message_stop", subject) == []
    assert run("stream.event_schema", subject) == []
    assert subject.broken_off() is not None
    assert "(api_error: Internal server error)" in subject.broken_off()


# ------------------------------------------------------------------------ what was judged


def test_what_the_recovery_checks_judged(build):
    assert judged("recovery.retry_after_on_rate_limit", rate_limited(build, ("retry-after", "12"))) == ('retry-after "12" on a 429',)
    assert judged("recovery.should_retry_consistent", rate_limited(build, ("x-should-retry", "true"))) == ('x-should-retry "true" on a 429',)
    headers = [("anthropic-ratelimit-requests-limit", "50"), ("anthropic-ratelimit-requests-reset", "2026-04-21T07:28:00Z")]
    assert judged("recovery.ratelimit_headers_wellformed", rate_limited(build, *headers)) == ("2 anthropic-ratelimit-* headers",)
    assert judged("recovery.pre_stream_error_is_status", build.stream()) == ("the events before message_start (event #0)",)
    assert judged("recovery.stream_failure_surfaced", build.stream(MIDSTREAM)) == ("an error event (event #4, overloaded_error: Overloaded)",)
    pieces = [(0.0, ev.start()), (0.1, ev.block_start(0)), (14.0, ev.PING), (28.0, ev.text_delta("Grüße")), (29.0, ev.block_stop(0)), (29.5, ev.message_delta()), (29.5, ev.STOP)]
    assert judged("recovery.stream_silence_bounded", timed(build, pieces)) == ("the gaps between 7 frames after message_start (longest 14.0 s)",)


def test_a_swallowed_failure_past_our_cap_is_not_judged(build):
    subject = build.stream(ev.sse(ev.text_events())[:-40], truncated=True)
    with pytest.raises(Unjudgeable, match="size cap"):
        run("recovery.stream_failure_surfaced", subject)


def test_a_silence_past_our_size_cap_is_not_the_targets(build):
    # The cap stopped reading; what came after the last kept frame was never seen, so it is no silence.
    pieces = [(0.0, ev.start()), (0.1, ev.block_start(0)), (0.2, ev.text_delta("Grüße"))]
    raw, chunks = b"", []
    for t, piece in pieces:
        data = ev.sse([piece])
        chunks.append(Chunk(offset=len(raw), size=len(data), t=t))
        raw += data
    subject = build.stream(raw, chunks=tuple(chunks), elapsed=30.0, truncated=True)
    assert run("recovery.stream_silence_bounded", subject) == []
