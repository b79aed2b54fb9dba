"""conformance/checks/stop_reason.py: documented values and the stop the request forced."""

from __future__ import annotations

import pytest

from conformance.findings import NotApplicable, NotForced

from . import _events as ev
from ._build import PLAIN_TEXT, judged, message, message_without, messages, request_json, run

KNOWN = ["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal", "model_context_window_exceeded"]
LIMIT = request_json(max_tokens=5, messages=[{"role": "user", "content": "Count from 1 to 200, separated by spaces."}])
VOWELS = request_json(stop_sequences=["o", "a", "e", "i"])


# ------------------------------------------------------------------ stop_reason.known_value


@pytest.mark.parametrize("reason", KNOWN)
def test_known_value_accepts_every_documented_reason(build, reason):
    assert run("stop_reason.known_value", build.plain(message(stop_reason=reason))) == []


def test_known_value_flags_openai_finish_reasons(build):
    [violation] = run("stop_reason.known_value", build.plain(message(stop_reason="stop")))
    assert violation.message == f'Received: stop_reason "stop"\nExpected: one of {", ".join(KNOWN)}'
    assert violation.at == "/stop_reason"


def test_known_value_reads_the_stream_from_message_delta(build):
    [violation] = run("stop_reason.known_value", build.stream(ev.text_events(stop_reason="length")))
    assert violation.message == f'Received: stop_reason "length"\nExpected: one of {", ".join(KNOWN)}'
    assert violation.at == "message_delta /delta/stop_reason"


def test_known_value_leaves_missing_values_to_their_owners(build):
    with pytest.raises(NotApplicable, match=r"^no stop_reason \(judged by shape\.message_schema\)$"):
        run("stop_reason.known_value", build.plain(message(stop_reason=None)))
    with pytest.raises(NotApplicable, match=r"^no stop_reason \(judged by shape\.message_schema\)$"):
        run("stop_reason.known_value", build.plain(message_without("stop_reason")))
    with pytest.raises(NotApplicable, match=r"^no stop_reason \(judged by stream\.message_delta_stop_reason\)$"):
        run("stop_reason.known_value", build.stream(ev.text_events(stop_reason=None)))


def test_known_value_leaves_non_strings_to_the_schema(build):
    with pytest.raises(NotApplicable, match="not a string"):
        run("stop_reason.known_value", build.plain(message(stop_reason=7)))


# -------------------------------------------------------- stop_reason.end_turn_on_natural_stop


def test_end_turn_on_natural_stop_passes(build):
    assert run("stop_reason.end_turn_on_natural_stop", build.plain()) == []
    assert run("stop_reason.end_turn_on_natural_stop", build.stream()) == []


def test_end_turn_on_natural_stop_flags_another_reason(build):
    [violation] = run("stop_reason.end_turn_on_natural_stop", build.stream(ev.text_events(stop_reason="max_tokens")))
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
    assert violation.message == 'Received: stop_reason "end_turn"\nExpected: "max_tokens" (the answer reaches max_tokens=5)'
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
        'Received: stop_reason "end_turn"\nExpected: "max_tokens" (the answer reaches max_tokens=5)'
    ]


# ------------------------------------------------------------ stop_reason.stop_sequence_reported
# The probe: plain's prompt with four one-letter stop sequences. Where the text had to stop comes from
# the target's own identical answers to plain (deterministic) or from the text the prompt asks for.


def _peers(build, text, n=2):
    """``n`` identical non-streamed answers to the plain request (no stop sequences): a deterministic target."""
    return [build.exchange(body=message(text), request=request_json(), scenario=sid) for sid in ("plain", "auth.bearer", "beta")[:n]]


def _probe(build, body, *, peers=(), expect_text=None, stream=False):
    if stream:
        exchange = build.exchange(body=ev.sse(body), request={**VOWELS, "stream": True}, scenario="stop_sequence.stream")
    else:
        exchange = build.exchange(body=body, request=VOWELS, scenario="stop_sequence")
    return build.subject(exchange, peers=peers, expect_text=expect_text, tags=["sequence_stop"])


def test_stop_sequence_reported_passes_on_a_deterministic_target(build):
    # A canned mock that always says "Hi.": "i" is the first of the four to occur, so the text stops at "H".
    subject = _probe(build, message("H", stop_reason="stop_sequence", stop_sequence="i"), peers=_peers(build, "Hi."))
    assert run("stop_reason.stop_sequence_reported", subject) == []
    assert judged("stop_reason.stop_sequence_reported", subject) == ('stop_reason "stop_sequence" and stop_sequence "i" for a text cut before "i"',)


def test_stop_sequence_reported_flags_a_cut_labelled_end_turn(build):
    # praxis-proxy/ai#1246, vLLM #45807: the sequence was applied, the answer says end_turn with stop_sequence null.
    found = run("stop_reason.stop_sequence_reported", _probe(build, message("H", stop_reason="end_turn"), peers=_peers(build, "Hi.")))
    why = 'the target answered the same request identically 2 times (auth.bearer, plain); that text holds "i" right after "H"'
    assert [v.message for v in found] == [
        f'Received: stop_reason "end_turn" for a text cut right before the stop sequence "i"\nExpected: "stop_sequence" ({why})',
        f'Received: stop_sequence null\nExpected: "i", the sequence that stopped the text ({why})',
    ]
    assert [v.at for v in found] == ["/stop_reason", "/stop_sequence"]


def test_stop_sequence_reported_follows_a_model_that_obeys_the_prompt(build):
    # No deterministic answers (a real model), but the answer is the prompt's text cut before "e".
    subject = _probe(build, message("Grüß", stop_reason="stop_sequence", stop_sequence="e"), expect_text=PLAIN_TEXT)
    assert run("stop_reason.stop_sequence_reported", subject) == []
    found = run("stop_reason.stop_sequence_reported", _probe(build, message("Grüß", stop_reason="end_turn"), expect_text=PLAIN_TEXT))
    assert found[0].message == (
        'Received: stop_reason "end_turn" for a text cut right before the stop sequence "e"\n'
        'Expected: "stop_sequence" (the prompt asks for exactly "Grüße ok"; that text holds "e" right after "Grüß")'
    )


def test_stop_sequence_reported_flags_a_text_that_runs_past_a_sequence(build):
    # Rapid-MLX #469: stop sequences accepted but never applied.
    [violation] = run("stop_reason.stop_sequence_reported", _probe(build, message("Grüße ok")))
    assert violation.message == (
        'Received: stop_reason "end_turn", stop_sequence null, text "Grüße ok"\n'
        'Expected: the text cut right before "e", with stop_reason "stop_sequence" (the answer\'s own text holds "e" at character 4)'
    )


def test_stop_sequence_reported_leaves_a_sequence_kept_at_the_end_to_the_exclusion_rule(build):
    # Stopped at "e" and reported, but the "e" left in the text: stop_reason.stop_sequence_excluded's finding.
    assert run("stop_reason.stop_sequence_reported", _probe(build, message("Grüße", stop_reason="stop_sequence", stop_sequence="e"))) == []


def test_stop_sequence_reported_in_a_stream(build):
    events = ev.text_events("Gr", "üß", stop_reason="stop_sequence", stop_sequence="e")
    assert run("stop_reason.stop_sequence_reported", _probe(build, events, stream=True, expect_text=PLAIN_TEXT)) == []
    events = ev.text_events("Gr", "üß", stop_reason="stop_sequence", stop_sequence="o")
    [violation] = run("stop_reason.stop_sequence_reported", _probe(build, events, stream=True, expect_text=PLAIN_TEXT))
    assert violation.message.startswith('Received: stop_sequence "o"\nExpected: "e", the sequence that stopped the text')
    assert violation.at == "message_delta /delta/stop_sequence"


def test_stop_sequence_reported_is_not_forced_by_an_answer_with_none_of_the_sequences(build):
    # A deterministic target whose answer holds none of the four letters: nothing had to stop it.
    with pytest.raises(NotForced) as caught:
        run("stop_reason.stop_sequence_reported", _probe(build, message("OK."), peers=_peers(build, "OK.")))
    assert str(caught.value).startswith('Received: text "OK.", which holds none of the stop sequences ["o", "a", "e", "i"] (the target answered')


def test_stop_sequence_reported_is_not_forced_by_a_model_that_samples_anew(build):
    # Two different answers to plain (not deterministic), and an answer that is not the prompt's text.
    peers = [build.exchange(body=message(text), request=request_json(), scenario=sid) for text, sid in (("Hm.", "plain"), ("Hmm!", "beta"))]
    with pytest.raises(NotForced) as caught:
        run("stop_reason.stop_sequence_reported", _probe(build, message("Hm.", stop_reason="end_turn"), peers=peers, expect_text=PLAIN_TEXT))
    assert str(caught.value) == (
        'Received: text "Hm.", which holds none of the stop sequences ["o", "a", "e", "i"], and no answer of the run shows what the model would have written\n'
        "Expected: a deterministic target (the same request answered identically twice) or an answer that follows the prompt, to tell where a stop sequence had to cut"
    )


def test_stop_sequence_reported_holds_an_unplaced_stop_to_the_request(build):
    # Where the text had to stop is unknown, but the answer says a sequence stopped it: one the request listed.
    assert run("stop_reason.stop_sequence_reported", _probe(build, message("Hm", stop_reason="stop_sequence", stop_sequence="e"))) == []
    [violation] = run("stop_reason.stop_sequence_reported", _probe(build, message("Hm", stop_reason="stop_sequence", stop_sequence="STOP")))
    assert violation.message == 'Received: stop_sequence "STOP"\nExpected: one of the request\'s stop_sequences ["o", "a", "e", "i"]'


def test_stop_sequence_reported_needs_a_stop_sequence(build):
    with pytest.raises(NotApplicable, match="no stop sequence"):
        run("stop_reason.stop_sequence_reported", build.plain())


# ------------------------------------------------------------ stop_reason.stop_sequence_excluded


def test_stop_sequence_excluded_passes(build):
    subject = _probe(build, message("H", stop_reason="stop_sequence", stop_sequence="i"))
    assert run("stop_reason.stop_sequence_excluded", subject) == []
    assert judged("stop_reason.stop_sequence_excluded", subject) == ("1 text block(s) against 4 stop sequence(s)",)


def test_stop_sequence_excluded_flags_any_requested_sequence_in_the_text(build):
    [violation] = run("stop_reason.stop_sequence_excluded", _probe(build, message("Grüße ok")))
    assert violation.message == 'Received: text "Grüße ok", which holds the stop sequence "o"\nExpected: text without any of ["o", "a", "e", "i"] (generation stops at the first, which is not returned)'
    assert violation.at == "/content/0/text"


def test_stop_sequence_excluded_reads_the_rebuilt_stream_text(build):
    events = ev.text_events("Gr", "üß", "e", stop_reason="stop_sequence", stop_sequence="e")
    [violation] = run("stop_reason.stop_sequence_excluded", _probe(build, events, stream=True))
    assert violation.message.startswith('Received: text "Grüße", which holds the stop sequence "e"')
    assert violation.at == "rebuilt message /content/0/text"


def test_stop_sequence_excluded_needs_stop_sequences_and_text(build):
    with pytest.raises(NotApplicable, match="no stop sequence"):
        run("stop_reason.stop_sequence_excluded", build.plain())
    with pytest.raises(NotApplicable, match="no text block"):
        run("stop_reason.stop_sequence_excluded", _probe(build, message(content=[], stop_reason="stop_sequence", stop_sequence="o")))


# ------------------------------------------------------- stop_reason.stop_sequence_null_otherwise


@pytest.mark.parametrize(("reason", "value"), [("end_turn", None), ("max_tokens", None), ("stop_sequence", "XYZZY")])
def test_stop_sequence_null_otherwise_passes(build, reason, value):
    assert run("stop_reason.stop_sequence_null_otherwise", build.plain(message(stop_reason=reason, stop_sequence=value))) == []


def test_stop_sequence_null_otherwise_flags_a_stale_value(build):
    [violation] = run("stop_reason.stop_sequence_null_otherwise", build.plain(message(stop_reason="end_turn", stop_sequence="XYZZY")))
    assert violation.message == 'Received: stop_sequence "XYZZY" with stop_reason "end_turn"\nExpected: null'
    assert violation.at == "/stop_sequence"


def test_stop_sequence_null_otherwise_flags_an_empty_string_in_a_stream(build):
    [violation] = run("stop_reason.stop_sequence_null_otherwise", build.stream(ev.text_events(stop_reason="max_tokens", stop_sequence="")))
    assert violation.message == 'Received: stop_sequence "" with stop_reason "max_tokens"\nExpected: null'
    assert violation.at == "message_delta /delta/stop_sequence"


def test_stop_sequence_null_otherwise_names_what_it_judged(build):
    assert judged("stop_reason.stop_sequence_null_otherwise", build.plain()) == ('stop_sequence null with stop_reason "end_turn"',)


# ------------------------------------------------------- stop_reason.stop_sequence_set_on_match


def test_stop_sequence_set_on_match_passes(build):
    subject = _probe(build, message("H", stop_reason="stop_sequence", stop_sequence="i"))
    assert run("stop_reason.stop_sequence_set_on_match", subject) == []
    assert judged("stop_reason.stop_sequence_set_on_match", subject) == ('stop_sequence "i" with stop_reason "stop_sequence"',)


@pytest.mark.parametrize(("value", "expected"), [(None, "the stop sequence that matched"), ("", "the stop sequence that matched"), ("u", 'one of the request\'s stop_sequences ["o", "a", "e", "i"]')])
def test_stop_sequence_set_on_match_flags_a_missing_or_foreign_value(build, value, expected):
    # sglang #33153 (before the fix): the streamed message_delta never carried stop_sequence.
    [violation] = run("stop_reason.stop_sequence_set_on_match", _probe(build, message("H", stop_reason="stop_sequence", stop_sequence=value)))
    assert violation.message.endswith(f"\nExpected: {expected}")
    events = ev.text_events("H", stop_reason="stop_sequence", stop_sequence=value)
    [violation] = run("stop_reason.stop_sequence_set_on_match", _probe(build, events, stream=True))
    assert violation.at == "message_delta /delta/stop_sequence"


def test_stop_sequence_set_on_match_without_a_request_judges_the_value_only(build):
    # validate judges a saved answer with no request: a value is all it can hold to.
    subject = build.plain(message("H", stop_reason="stop_sequence", stop_sequence="```"), request={})
    assert run("stop_reason.stop_sequence_set_on_match", subject) == []
    subject = build.plain(message("H", stop_reason="stop_sequence", stop_sequence=None), request={})
    assert len(run("stop_reason.stop_sequence_set_on_match", subject)) == 1


def test_stop_sequence_set_on_match_applies_to_stop_sequence_answers_only(build):
    with pytest.raises(NotApplicable, match='stop_reason is "end_turn", not "stop_sequence"'):
        run("stop_reason.stop_sequence_set_on_match", build.plain())


def test_end_turn_on_natural_stop_leaves_tool_calls_to_the_tools_checks(build):
    # tool_choice none sent on as required: a call where a text answer was due is tools.tool_choice_none_respected's.
    body = message(content=[{"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris"}}], stop_reason="tool_use")
    with pytest.raises(NotApplicable, match="calls a tool"):
        run("stop_reason.end_turn_on_natural_stop", build.plain(body))


def test_end_turn_on_natural_stop_names_what_it_judged(build):
    assert judged("stop_reason.end_turn_on_natural_stop", build.plain()) == ('stop_reason "end_turn"',)


def test_max_tokens_on_limit_is_not_forced_by_an_empty_answer(build):
    # max_tokens 1 cuts any answer with text; a model whose first token ends its turn wrote nothing to cut.
    request = request_json(max_tokens=1)
    body = message("", stop_reason="end_turn", usage={"input_tokens": 21, "output_tokens": 1})
    with pytest.raises(NotForced, match=r"^Received: an empty answer that ends its turn at once"):
        run("stop_reason.max_tokens_on_limit", build.plain(body, request=request))
    body = message("1", stop_reason="end_turn", usage={"input_tokens": 21, "output_tokens": 1})
    assert messages("stop_reason.max_tokens_on_limit", build.plain(body, request=request)) == ['Received: stop_reason "end_turn"\nExpected: "max_tokens" (the answer reaches max_tokens=1)']
