"""conformance/checks/stop_reason.py: documented values and the stop the request forced."""

from __future__ import annotations

import pytest

from conformance.findings import NotApplicable, NotForced

from ._build import message, messages, request_json, run, text_events

KNOWN = ["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal", "model_context_window_exceeded"]
LIMIT = request_json(max_tokens=5, messages=[{"role": "user", "content": "Count from 1 to 200, separated by spaces."}])
XYZZY = request_json(stop_sequences=["XYZZY"], messages=[{"role": "user", "content": "Reply with exactly this text and nothing else: one two three XYZZY four five"}])


# ------------------------------------------------------------------ stop_reason.known_value


@pytest.mark.parametrize("reason", KNOWN)
def test_known_value_accepts_every_documented_reason(build, reason):
    assert run("stop_reason.known_value", build.plain(message(stop_reason=reason))) == []


def test_known_value_flags_openai_finish_reasons(build):
    [violation] = run("stop_reason.known_value", build.plain(message(stop_reason="stop")))
    assert violation.message == f'Received: stop_reason "stop"\nExpected: one of {", ".join(KNOWN)}'
    assert violation.at == "/stop_reason"


def test_known_value_reads_the_stream_from_message_delta(build):
    [violation] = run("stop_reason.known_value", build.stream(text_events(stop_reason="length")))
    assert violation.message == f'Received: stop_reason "length"\nExpected: one of {", ".join(KNOWN)}'
    assert violation.at == "message_delta /delta/stop_reason"


def test_known_value_leaves_missing_values_to_their_owners(build):
    with pytest.raises(NotApplicable, match=r"^no stop_reason \(judged by shape\.message_schema\)$"):
        run("stop_reason.known_value", build.plain(message(stop_reason=None)))
    body = message()
    del body["stop_reason"]
    with pytest.raises(NotApplicable, match=r"^no stop_reason \(judged by shape\.message_schema\)$"):
        run("stop_reason.known_value", build.plain(body))
    with pytest.raises(NotApplicable, match=r"^no stop_reason \(judged by stream\.message_delta_stop_reason\)$"):
        run("stop_reason.known_value", build.stream(text_events(stop_reason=None)))


def test_known_value_leaves_non_strings_to_the_schema(build):
    with pytest.raises(NotApplicable, match="not a string"):
        run("stop_reason.known_value", build.plain(message(stop_reason=7)))


# -------------------------------------------------------- stop_reason.end_turn_on_natural_stop


def test_end_turn_on_natural_stop_passes(build):
    assert run("stop_reason.end_turn_on_natural_stop", build.plain()) == []
    assert run("stop_reason.end_turn_on_natural_stop", build.stream()) == []


def test_end_turn_on_natural_stop_flags_another_reason(build):
    [violation] = run("stop_reason.end_turn_on_natural_stop", build.stream(text_events(stop_reason="max_tokens")))
    assert violation.message == 'Received: stop_reason "max_tokens"\nExpected: "end_turn" (the prompt asks for a short answer well within max_tokens)'
    assert violation.at == "message_delta /delta/stop_reason"


def test_end_turn_on_natural_stop_flags_a_non_string_reason(build):
    assert messages("stop_reason.end_turn_on_natural_stop", build.plain(message(stop_reason=["end_turn"]))) == [
        'Received: stop_reason ["end_turn"]\nExpected: "end_turn" (the prompt asks for a short answer well within max_tokens)'
    ]


def test_end_turn_on_natural_stop_leaves_a_null_reason_to_the_schema(build):
    with pytest.raises(NotApplicable, match=r"shape\.message_schema"):
        run("stop_reason.end_turn_on_natural_stop", build.plain(message(stop_reason=None)))


def test_end_turn_on_natural_stop_is_not_forced_when_the_model_runs_to_the_limit(build):
    # A mock backend that ignores "Reply with exactly…" and writes on: a faithful gateway must not fail.
    body = message("word " * 32, stop_reason="max_tokens", usage={"input_tokens": 21, "output_tokens": 32})
    with pytest.raises(NotForced, match=r'^Received: text "word word .*", cut at max_tokens=32 \(32 output tokens\)\nExpected: the short reply'):
        run("stop_reason.end_turn_on_natural_stop", build.plain(body))


def test_end_turn_on_natural_stop_flags_max_tokens_claimed_below_the_limit(build):
    body = message(stop_reason="max_tokens", usage={"input_tokens": 21, "output_tokens": 3})
    assert messages("stop_reason.end_turn_on_natural_stop", build.plain(body)) == [
        'Received: stop_reason "max_tokens"\nExpected: "end_turn" (the prompt asks for a short answer well within max_tokens)'
    ]


# ------------------------------------------------------------- stop_reason.max_tokens_on_limit


def test_max_tokens_on_limit_passes(build):
    assert run("stop_reason.max_tokens_on_limit", build.plain(message(stop_reason="max_tokens"), request=LIMIT)) == []


def test_max_tokens_on_limit_flags_end_turn(build):
    # peers.md §4.6 #21: a target that ignores max_tokens finishes the answer instead.
    [violation] = run("stop_reason.max_tokens_on_limit", build.plain(message(stop_reason="end_turn"), request=LIMIT))
    assert violation.message == 'Received: stop_reason "end_turn"\nExpected: "max_tokens" (the prompt asks for far more than max_tokens=5 tokens)'
    assert violation.at == "/stop_reason"


def test_max_tokens_on_limit_is_not_forced_by_a_model_that_stops_early(build):
    body = message("Hi.", stop_reason="end_turn", usage={"input_tokens": 21, "output_tokens": 1})
    with pytest.raises(NotForced) as caught:
        run("stop_reason.max_tokens_on_limit", build.plain(body, request=LIMIT))
    assert str(caught.value) == (
        'Received: text "Hi.", ended by the model on its own after 1 output token(s)\n'
        "Expected: an answer that reaches max_tokens=5 (the prompt asks for far more; the model did not follow it)"
    )


@pytest.mark.parametrize(
    ("text", "usage"),
    [
        ("1 2 3 4 5 6 7", {"input_tokens": 21, "output_tokens": 1}),  # the usage undercounts: the words show the limit was reached
        ("1 2", {"input_tokens": 21, "output_tokens": 5}),  # the limit was reached, the reason is wrong
        ("1 2", {"input_tokens": 21}),  # no usage to say otherwise: judged strictly
    ],
)
def test_max_tokens_on_limit_flags_end_turn_when_the_answer_reached_the_limit(build, text, usage):
    body = message(text, stop_reason="end_turn", usage=usage)
    assert messages("stop_reason.max_tokens_on_limit", build.plain(body, request=LIMIT)) == [
        'Received: stop_reason "end_turn"\nExpected: "max_tokens" (the prompt asks for far more than max_tokens=5 tokens)'
    ]


# ------------------------------------------------------------ stop_reason.stop_sequence_reported


def test_stop_sequence_reported_passes(build):
    body = message("one two three ", stop_reason="stop_sequence", stop_sequence="XYZZY")
    assert run("stop_reason.stop_sequence_reported", build.plain(body, request=XYZZY, marker="XYZZY")) == []


def test_stop_sequence_reported_reads_the_marker_from_the_request(build):
    body = message("one two three ", stop_reason="stop_sequence", stop_sequence="XYZZY")
    assert run("stop_reason.stop_sequence_reported", build.plain(body, request=XYZZY)) == []


def test_stop_sequence_reported_flags_a_hard_coded_null(build):
    # peers.md §4.6 #3: stop_reason never "stop_sequence", stop_sequence always null.
    body = message("one two three ", stop_reason="end_turn", stop_sequence=None)
    found = run("stop_reason.stop_sequence_reported", build.plain(body, request=XYZZY, marker="XYZZY"))
    assert [v.message for v in found] == [
        "Received: stop_reason \"end_turn\"\nExpected: \"stop_sequence\" (the prompt makes the model print 'XYZZY', a stop sequence)",
        'Received: stop_sequence null\nExpected: "XYZZY"',
    ]
    assert [v.at for v in found] == ["/stop_reason", "/stop_sequence"]


def test_stop_sequence_reported_in_a_stream(build):
    events = text_events("one two three ", stop_reason="stop_sequence", stop_sequence="XYZZY")
    assert run("stop_reason.stop_sequence_reported", build.stream(events, request=XYZZY, marker="XYZZY")) == []
    events = text_events("one two three ", stop_reason="stop_sequence", stop_sequence="XY")
    [violation] = run("stop_reason.stop_sequence_reported", build.stream(events, request=XYZZY, marker="XYZZY"))
    assert violation.message == 'Received: stop_sequence "XY"\nExpected: "XYZZY"'
    assert violation.at == "message_delta /delta/stop_sequence"


def test_stop_sequence_reported_flags_a_marker_left_in_the_text(build):
    # Stop sequences not applied at all: the marker and what follows come back, with end_turn.
    body = message("one two three XYZZY four five", stop_reason="end_turn")
    assert len(run("stop_reason.stop_sequence_reported", build.plain(body, request=XYZZY))) == 2


def test_stop_sequence_reported_is_not_forced_by_a_model_that_never_prints_the_marker(build):
    body = message("Sure! Here is my answer.", stop_reason="end_turn")
    with pytest.raises(NotForced) as caught:
        run("stop_reason.stop_sequence_reported", build.plain(body, request=XYZZY))
    assert str(caught.value) == (
        'Received: text "Sure! Here is my answer.", with neither the marker "XYZZY" nor "three", the word the prompt puts before it\n'
        "Expected: an answer that prints the marker, so the stop sequence can match (the model did not follow the prompt)"
    )
    events = text_events("Hi.", stop_reason="end_turn")
    with pytest.raises(NotForced):
        run("stop_reason.stop_sequence_reported", build.stream(events, request=XYZZY))


def test_stop_sequence_reported_is_strict_when_the_prompt_does_not_place_the_marker(build):
    request = request_json(stop_sequences=["XYZZY"])  # the prompt never mentions the marker
    assert len(run("stop_reason.stop_sequence_reported", build.plain(message("Hi."), request=request, marker="XYZZY"))) == 2


def test_stop_sequence_reported_needs_a_stop_sequence(build):
    with pytest.raises(NotApplicable, match="no stop sequence"):
        run("stop_reason.stop_sequence_reported", build.plain())


# ------------------------------------------------------------ stop_reason.stop_sequence_excluded


def test_stop_sequence_excluded_passes(build):
    body = message("one two three ", stop_reason="stop_sequence", stop_sequence="XYZZY")
    assert run("stop_reason.stop_sequence_excluded", build.plain(body, request=XYZZY, marker="XYZZY")) == []


def test_stop_sequence_excluded_flags_the_marker_in_the_text(build):
    body = message("one two three XYZZY", stop_reason="stop_sequence", stop_sequence="XYZZY")
    [violation] = run("stop_reason.stop_sequence_excluded", build.plain(body, request=XYZZY, marker="XYZZY"))
    assert violation.message == "Received: text \"one two three XYZZY\"\nExpected: text without the stop sequence 'XYZZY'"
    assert violation.at == "/content"


def test_stop_sequence_excluded_reads_the_rebuilt_stream_text(build):
    events = text_events("one two three ", "XYZ", "ZY", stop_reason="stop_sequence", stop_sequence="XYZZY")
    assert messages("stop_reason.stop_sequence_excluded", build.stream(events, request=XYZZY, marker="XYZZY")) == [
        "Received: text \"one two three XYZZY\"\nExpected: text without the stop sequence 'XYZZY'"
    ]


# ------------------------------------------------------- stop_reason.stop_sequence_null_otherwise


@pytest.mark.parametrize(("reason", "value"), [("end_turn", None), ("max_tokens", None), ("stop_sequence", "XYZZY")])
def test_stop_sequence_null_otherwise_passes(build, reason, value):
    assert run("stop_reason.stop_sequence_null_otherwise", build.plain(message(stop_reason=reason, stop_sequence=value))) == []


def test_stop_sequence_null_otherwise_flags_a_stale_value(build):
    [violation] = run("stop_reason.stop_sequence_null_otherwise", build.plain(message(stop_reason="end_turn", stop_sequence="XYZZY")))
    assert violation.message == 'Received: stop_sequence "XYZZY" with stop_reason "end_turn"\nExpected: null'
    assert violation.at == "/stop_sequence"


def test_stop_sequence_null_otherwise_flags_an_empty_string_in_a_stream(build):
    [violation] = run("stop_reason.stop_sequence_null_otherwise", build.stream(text_events(stop_reason="max_tokens", stop_sequence="")))
    assert violation.message == 'Received: stop_sequence "" with stop_reason "max_tokens"\nExpected: null'
    assert violation.at == "message_delta /delta/stop_sequence"
