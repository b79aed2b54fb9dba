"""conformance/checks/content.py: the stop sequence that fired, when several were given."""

from __future__ import annotations

import pytest

from conformance.findings import NotApplicable, NotForced

from ._build import message, messages, request_json, run, text_events

SEVERAL = request_json(
    stop_sequences=["QQQQ", "XYZZY"],
    messages=[{"role": "user", "content": "Reply with exactly this text and nothing else: one two three XYZZY four five"}],
)
EXPECTED = 'Expected: stop_reason "stop_sequence" and stop_sequence "XYZZY" (the prompt makes the model print it; stop_sequences were ["QQQQ", "XYZZY"])'


def stopped(reason: str = "stop_sequence", sequence: str | None = "XYZZY") -> dict:
    return message("one two three ", stop_reason=reason, stop_sequence=sequence)


def test_fired_stop_sequence_reported_passes(build):
    assert run("content.fired_stop_sequence_reported", build.plain(stopped(), request=SEVERAL, marker="XYZZY")) == []


def test_fired_stop_sequence_reported_passes_on_a_stream(build):
    events = text_events("one two three ", stop_reason="stop_sequence", stop_sequence="XYZZY")
    assert run("content.fired_stop_sequence_reported", build.stream(events, request=SEVERAL, marker="XYZZY")) == []


def test_fired_stop_sequence_reported_flags_the_first_listed_sequence(build):
    [violation] = run("content.fired_stop_sequence_reported", build.plain(stopped(sequence="QQQQ"), request=SEVERAL, marker="XYZZY"))
    assert violation.message == f'Received: stop_reason "stop_sequence", stop_sequence "QQQQ"\n{EXPECTED}'
    assert violation.at == "/stop_sequence"


def test_fired_stop_sequence_reported_flags_a_sequence_that_never_stopped(build):
    body = message("one two three XYZZY four five", stop_reason="end_turn", stop_sequence=None)
    assert messages("content.fired_stop_sequence_reported", build.plain(body, request=SEVERAL, marker="XYZZY")) == [
        f"Received: stop_reason \"end_turn\", stop_sequence null\n{EXPECTED}"
    ]


def test_fired_stop_sequence_reported_reads_the_stream_from_message_delta(build):
    events = text_events("one two three ", stop_reason="end_turn")
    [violation] = run("content.fired_stop_sequence_reported", build.stream(events, request=SEVERAL, marker="XYZZY"))
    assert violation.at == "message_delta /delta/stop_sequence"


def test_fired_stop_sequence_reported_is_not_forced_by_a_model_that_never_prints_the_marker(build):
    with pytest.raises(NotForced, match=r'^Received: text "Hi\.", with neither the marker "XYZZY" nor "three"'):
        run("content.fired_stop_sequence_reported", build.plain(message("Hi."), request=SEVERAL, marker="XYZZY"))


@pytest.mark.parametrize("request_body", [request_json(stop_sequences=["XYZZY"]), request_json()], ids=["one", "none"])
def test_fired_stop_sequence_reported_needs_several_sequences(build, request_body):
    with pytest.raises(NotApplicable, match="several stop sequences"):
        run("content.fired_stop_sequence_reported", build.plain(stopped(), request=request_body, marker="XYZZY"))


def test_fired_stop_sequence_reported_needs_a_marker(build):
    with pytest.raises(NotApplicable, match="no marker"):
        run("content.fired_stop_sequence_reported", build.plain(stopped(), request=SEVERAL))
