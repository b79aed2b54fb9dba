"""conformance/checks/content.py: the stop sequence that fired when several were given, and what became of a prefill."""

from __future__ import annotations

import pytest

from conformance.findings import NotApplicable, NotForced

from . import _events as ev
from ._build import PLAIN_TEXT, PROMPT, judged, message, messages, request_json, run

VOWELS = request_json(stop_sequences=["o", "a", "e", "i"])


def _probe(build, body, *, expect_text=PLAIN_TEXT, stream=False, peers=()):
    if stream:
        exchange = build.exchange(body=ev.sse(body), request={**VOWELS, "stream": True}, scenario="stop_sequence.stream")
    else:
        exchange = build.exchange(body=body, request=VOWELS, scenario="stop_sequence")
    return build.subject(exchange, expect_text=expect_text, peers=peers)


def stopped(sequence: str | None = "e", reason: str = "stop_sequence", text: str = "Grüß") -> dict:
    return message(text, stop_reason=reason, stop_sequence=sequence)


# -------------------------------------------------------------- content.fired_stop_sequence_reported


def test_fired_stop_sequence_reported_passes(build):
    subject = _probe(build, stopped())
    assert run("content.fired_stop_sequence_reported", subject) == []
    assert judged("content.fired_stop_sequence_reported", subject) == ('stop_sequence "e" where "e" came first in the text',)


def test_fired_stop_sequence_reported_passes_on_a_stream(build):
    events = ev.text_events("Gr", "üß", stop_reason="stop_sequence", stop_sequence="e")
    assert run("content.fired_stop_sequence_reported", _probe(build, events, stream=True)) == []


def test_fired_stop_sequence_reported_flags_the_first_listed_sequence(build):
    # The earliest in the output wins, not the first listed (recorded against the real API: 0xPlaygrounds/rig#2329).
    [violation] = run("content.fired_stop_sequence_reported", _probe(build, stopped("o")))
    assert violation.message == (
        'Received: stop_reason "stop_sequence", stop_sequence "o" (the first one listed is "o")\n'
        'Expected: stop_sequence "e", the first of ["o", "a", "e", "i"] in the text (the prompt asks for exactly "Grüße ok"; that text holds "e" right after "Grüß")'
    )
    assert violation.at == "/stop_sequence"


def test_fired_stop_sequence_reported_flags_only_the_first_sequence_passed_on(build):
    # A backend that took the first sequence only: it stopped at "o", past the "e" that came first.
    body = message("Grüße ", stop_reason="stop_sequence", stop_sequence="o")
    assert messages("content.fired_stop_sequence_reported", _probe(build, body)) == [
        'Received: stop_reason "stop_sequence", stop_sequence "o" (the first one listed is "o")\n'
        'Expected: stop_sequence "e", the first of ["o", "a", "e", "i"] in the text (the answer\'s own text holds "e" at character 4)'
    ]


def test_fired_stop_sequence_reported_on_a_deterministic_target(build):
    # A canned "Hi." answered twice to plain: "i" had to fire, whatever the prompt asked for.
    peers = [build.exchange(body=message("Hi."), request=request_json(), scenario=sid) for sid in ("plain", "auth.bearer")]
    assert run("content.fired_stop_sequence_reported", _probe(build, stopped("i", text="H"), peers=peers)) == []
    [violation] = run("content.fired_stop_sequence_reported", _probe(build, stopped("o", text="H"), peers=peers))
    assert 'Expected: stop_sequence "i"' in violation.message


def test_fired_stop_sequence_reported_reads_the_stream_from_message_delta(build):
    events = ev.text_events("Gr", "üß", stop_reason="end_turn")
    [violation] = run("content.fired_stop_sequence_reported", _probe(build, events, stream=True))
    assert violation.at == "message_delta /delta/stop_sequence"


def test_fired_stop_sequence_reported_is_not_forced_when_the_text_is_unplaced(build):
    # A model that ignores the prompt, sampled anew: which of the listed sequences came first is unknown.
    with pytest.raises(NotForced):
        run("content.fired_stop_sequence_reported", _probe(build, stopped("e", text="Hm")))
    with pytest.raises(NotForced):
        run("content.fired_stop_sequence_reported", _probe(build, message("Hm.")))


def test_fired_stop_sequence_reported_flags_an_unlisted_sequence_even_unplaced(build):
    [violation] = run("content.fired_stop_sequence_reported", _probe(build, stopped("STOP", text="Hm")))
    assert violation.message == 'Received: stop_sequence "STOP"\nExpected: one of the request\'s stop_sequences ["o", "a", "e", "i"]'


@pytest.mark.parametrize("request_body", [request_json(stop_sequences=["e"]), request_json()], ids=["one", "none"])
def test_fired_stop_sequence_reported_needs_several_sequences(build, request_body):
    with pytest.raises(NotApplicable, match="fewer than two stop sequences"):
        run("content.fired_stop_sequence_reported", build.plain(stopped(), request=request_body))


# -------------------------------------------------------------------------- roles.prefill_not_echoed

PREFILLED = request_json(messages=[{"role": "user", "content": PROMPT}, {"role": "assistant", "content": "Antwort:"}])


def test_prefill_not_echoed_passes_on_a_continuation_or_a_restart(build):
    for text in (" Grüße ok", "Grüße ok", "Hi."):  # a model that continues, one that starts afresh, a canned mock
        subject = build.plain(message(text), request=PREFILLED)
        assert run("roles.prefill_not_echoed", subject) == []
    assert judged("roles.prefill_not_echoed", subject) == ('an answer starting "Hi." after the prefill "Antwort:"',)


def test_prefill_not_echoed_flags_the_prefill_repeated(build):
    [violation] = run("roles.prefill_not_echoed", build.plain(message("Antwort: Grüße ok"), request=PREFILLED))
    assert violation.message == (
        'Received: text "Antwort: Grüße ok", which starts with the prefill "Antwort:" again\n'
        "Expected: the continuation only; the prefill is the client's, and the answer carries on after it"
    )
    assert violation.at == "/content/0/text"


def test_prefill_not_echoed_reads_the_stream_and_block_prefills(build):
    request = request_json(messages=[{"role": "user", "content": PROMPT}, {"role": "assistant", "content": [{"type": "text", "text": "Antwort:"}]}])
    events = ev.text_events("Antwort:", " Grüße ok")
    [violation] = run("roles.prefill_not_echoed", build.stream(events, request=request))
    assert violation.at == "rebuilt message /content/0/text"


def test_prefill_not_echoed_needs_a_prefill_the_prompt_does_not_ask_for(build):
    with pytest.raises(NotApplicable, match="ends with a user turn"):
        run("roles.prefill_not_echoed", build.plain())
    asked = request_json(messages=[{"role": "user", "content": PROMPT}, {"role": "assistant", "content": "Grüße"}])
    with pytest.raises(NotApplicable, match="the prompt holds the prefill's text"):  # a restart may write it: no echo to tell
        run("roles.prefill_not_echoed", build.plain(message("Grüße ok"), request=asked))
    empty = request_json(messages=[{"role": "user", "content": PROMPT}, {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01A", "name": "x", "input": {}}]}])
    with pytest.raises(NotApplicable, match="no text"):
        run("roles.prefill_not_echoed", build.plain(message("ok"), request=empty))
