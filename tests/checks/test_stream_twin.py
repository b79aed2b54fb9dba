"""conformance/checks/stream.py: the stream against its non-stream twin (text, rebuilt shape, characters intact).

A twin is the same request sent without streaming; a stream must tell the same answer, within
the room the contract leaves a model between two samples.
"""

from __future__ import annotations

import json

import pytest

from conformance.findings import NotApplicable, NotForced

from . import _build as hand
from . import _events as ev

# ---------------------------------------------------------------- stream.text_matches_twin


def test_text_matches_twin_passes_the_same_text_in_any_pieces(build):
    assert hand.run("stream.text_matches_twin", build.stream(ev.text_events("Gr", "üße", " ok"), twin=build.twin())) == []


@pytest.mark.parametrize(
    ("pieces", "received"),
    [(("Grüße",), "Grüße"), (("Grüße", "Grüße", " ok"), "GrüßeGrüße ok"), ((" ok",), " ok")],
    ids=["last-delta-dropped", "delta-repeated", "first-delta-dropped"],
)
def test_text_matches_twin_flags_text_lost_or_repeated_on_the_way(build, pieces, received):
    assert hand.messages("stream.text_matches_twin", build.stream(ev.text_events(*pieces), twin=build.twin())) == [
        f'Received: text "{received}" rebuilt from the stream, "Grüße ok" not streamed (plain)\nExpected: the same text both ways (the prompt asks for exactly "Grüße ok")'
    ]


def test_text_matches_twin_flags_a_non_stream_answer_that_lost_text(build):
    assert len(hand.run("stream.text_matches_twin", build.stream(twin=build.twin(hand.message("Grüße"))))) == 1


def test_text_matches_twin_is_not_forced_when_neither_answer_follows_the_prompt(build):
    # A sampling mock behind a faithful gateway: two different answers, neither the one asked for, no repeat to call it deterministic.
    with pytest.raises(NotForced) as caught:
        hand.run("stream.text_matches_twin", build.stream(ev.text_events("Lorem ipsum"), twin=build.twin(hand.message("Dolor sit amet"))))
    assert str(caught.value) == (
        'Received: text "Lorem ipsum" streamed, "Dolor sit amet" not streamed\n'
        'Expected: a target that answers this request identically every time, or an answer that follows the prompt ("Grüße ok") (neither holds, so the two are different samples)'
    )


def _identical(build, text, sids=("plain", "auth.bearer")):
    """Non-streamed answers with the same text to the plain request: a deterministic target (a canned mock)."""
    return [build.exchange(body=hand.message(text), request=hand.request_json(), scenario=sid) for sid in sids]


def test_text_matches_twin_judges_a_deterministic_target_exactly(build):
    # A canned mock that always says "Hi there." and a proxy that drops the last delta: no prompt is followed, yet the loss is certain.
    twin, *peers = _identical(build, "Hi there.")
    subject = build.subject(build.exchange(body=ev.sse(ev.text_events("Hi", " there")), request=hand.request_json(stream=True), scenario="plain.stream"), twin=twin, peers=[twin, *peers])
    assert hand.messages("stream.text_matches_twin", subject) == [
        'Received: text "Hi there" rebuilt from the stream, "Hi there." not streamed (plain)\n'
        "Expected: the same text both ways (the target answered the same request identically 2 times (auth.bearer, plain))"
    ]


def test_text_matches_twin_does_not_call_two_different_answers_deterministic(build):
    twin = build.exchange(body=hand.message("Hi there."), request=hand.request_json(), scenario="plain")
    other = build.exchange(body=hand.message("Hello."), request=hand.request_json(), scenario="auth.bearer")
    subject = build.subject(build.exchange(body=ev.sse(ev.text_events("Hi")), request=hand.request_json(stream=True), scenario="plain.stream"), twin=twin, peers=[twin, other])
    with pytest.raises(NotForced):
        hand.run("stream.text_matches_twin", subject)


def test_text_matches_twin_names_what_it_judged_and_skips_answers_without_text(build):
    assert hand.judged("stream.text_matches_twin", build.stream(twin=build.twin())) == ("the same text both ways (8 characters)",)
    tool = {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}
    twin = build.twin(hand.message(content=[tool], stop_reason="tool_use"))
    events = [ev.start(), ev.block_start(0, "tool_use"), ev.delta("input_json_delta", 0, partial_json='{"city": "Paris"}'), ev.block_stop(0), ev.message_delta("tool_use"), ev.STOP]
    with pytest.raises(NotApplicable, match="neither answer has a text block"):
        hand.run("stream.text_matches_twin", build.stream(events, twin=twin))


# ---------------------------------------------------------------- stream.rebuilt_matches_twin


def test_rebuilt_matches_twin_passes_the_same_shape(build):
    assert hand.run("stream.rebuilt_matches_twin", build.stream(ev.text_events("Grüße", " ok"), twin=build.twin())) == []


def test_rebuilt_matches_twin_does_not_compare_two_different_samples(build):
    # Two samples of a model at temperature 1 need not agree: one may run to max_tokens, one may open with text before a tool call.
    with pytest.raises(NotForced) as caught:
        hand.run("stream.rebuilt_matches_twin", build.stream(ev.text_events("Hello", " there", stop_reason="max_tokens"), twin=build.twin()))
    assert str(caught.value) == (
        'Received: text "Hello there" streamed, "Grüße ok" not streamed, from a target that does not answer this request identically every time\n'
        "Expected: two answers that can be compared on their shapes (the same text, or a deterministic target)"
    )


def test_rebuilt_matches_twin_compares_shapes_on_a_deterministic_target(build):
    # The texts differ (a dropped delta is text_matches_twin's finding), but a deterministic target must keep the shape.
    twin, *peers = _identical(build, "Hi there.")
    events = ev.text_events("Hi", " there", stop_reason="max_tokens")
    subject = build.subject(build.exchange(body=ev.sse(events), request=hand.request_json(stream=True), scenario="plain.stream"), twin=twin, peers=[twin, *peers])
    assert hand.messages("stream.rebuilt_matches_twin", subject) == [
        'Received: stop_reason "max_tokens" in the message rebuilt from the stream\nExpected: "end_turn", as the same request not streamed (plain)'
    ]
    assert hand.judged("stream.rebuilt_matches_twin", subject)[0].endswith("(the target answered the same request identically 2 times (auth.bearer, plain))")


def test_rebuilt_matches_twin_flags_a_dropped_tool_call(build):
    # peers.md §4.6 #10 and #29: the stream loses the tool_use block the plain answer has.
    tool = {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}
    twin = build.twin(hand.message(content=[{"type": "text", "text": "Checking."}, tool], stop_reason="tool_use"))
    found = hand.run("stream.rebuilt_matches_twin", build.stream(ev.text_events("Checking."), twin=twin))
    assert [v.message for v in found] == [
        'Received: stop_reason "end_turn" in the message rebuilt from the stream\nExpected: "tool_use", as the same request not streamed (plain)',
        'Received: content types ["text"] in the message rebuilt from the stream\nExpected: ["text", "tool_use"], as the same request not streamed (plain)',
    ]
    assert [v.at for v in found] == ["rebuilt message /stop_reason", "rebuilt message /content_types"]


def test_rebuilt_matches_twin_flags_a_missing_stop_sequence(build):
    twin = build.twin(hand.message("one two three ", stop_reason="stop_sequence", stop_sequence="XYZZY"), scenario="stop_sequence")
    found = hand.run("stream.rebuilt_matches_twin", build.stream(ev.text_events("one two three "), twin=twin))
    assert [v.message for v in found] == [
        'Received: stop_reason "end_turn" in the message rebuilt from the stream\nExpected: "stop_sequence", as the same request not streamed (stop_sequence)',
        'Received: stop_sequence null in the message rebuilt from the stream\nExpected: "XYZZY", as the same request not streamed (stop_sequence)',
    ]


def test_rebuilt_matches_twin_needs_a_successful_twin(build):
    with pytest.raises(NotApplicable, match="no successful non-stream twin"):
        hand.run("stream.rebuilt_matches_twin", build.stream(twin=build.twin(status=500)))


def test_rebuilt_matches_twin_needs_a_message_start(build):
    with pytest.raises(NotApplicable, match="no message_start"):
        hand.run("stream.rebuilt_matches_twin", build.stream(ev.text_events()[1:], twin=build.twin()))


def test_rebuilt_matches_twin_leaves_a_null_stop_reason_to_message_delta_stop_reason(build):
    assert hand.run("stream.rebuilt_matches_twin", build.stream(ev.text_events(stop_reason=None), twin=build.twin())) == []


def test_a_broken_stream_has_no_final_message_to_judge(build):
    # One broken order explains everything after it: message-level checks step aside.
    events = [ev.start(), ev.block_start(), ev.text_delta("ok"), ev.message_delta(), ev.block_stop(), ev.STOP]
    subject = build.stream(events, twin=build.twin())
    for cid in ("stream.rebuilt_matches_twin", "usage.output_within_max_tokens", "stop_reason.known_value"):
        with pytest.raises(NotApplicable, match=r"the stream is broken"):
            hand.run(cid, subject)
    cut = build.stream(ev.sse(ev.text_events())[:-30] + b"\n", twin=build.twin())
    with pytest.raises(NotApplicable, match=r"the stream is broken"):
        hand.run("usage.stream_matches_twin", cut)


# ---------------------------------------------------------------------- stream.text_intact


def test_text_intact_passes_the_same_characters(build):
    assert hand.run("stream.text_intact", build.stream(ev.text_events("Grü", "ße ok"), twin=build.twin())) == []


def test_text_intact_flags_replacement_characters_from_a_chunk_decoding_proxy(build):
    # A proxy that decodes each upstream chunk on its own turns the two bytes of ü into U+FFFD U+FFFD.
    [violation] = hand.run("stream.text_intact", build.stream(ev.text_events("Gr\ufffd\ufffd", "ße ok"), twin=build.twin()))
    assert violation.message == 'Received: streamed text "Gr\ufffd\ufffdße ok" with U+FFFD replacement characters\nExpected: "Grüße ok", as the same request not streamed'
    assert violation.at == "text_delta events"


def test_text_intact_accepts_replacement_characters_the_model_really_wrote(build):
    twin = build.twin(hand.message("bad \ufffd byte"))
    assert hand.run("stream.text_intact", build.stream(ev.text_events("bad \ufffd byte"), twin=twin)) == []


def test_text_intact_leaves_invalid_bytes_to_utf8_valid(build):
    raw = ev.sse(ev.text_events()).replace("ü".encode(), b"\xfc")
    with pytest.raises(NotApplicable, match=r"stream\.utf8_valid"):
        hand.run("stream.text_intact", build.stream(raw, twin=build.twin()))


def test_text_intact_needs_a_twin(build):
    with pytest.raises(NotApplicable, match="no successful non-stream twin"):
        hand.run("stream.text_intact", build.stream(ev.text_events("Gr\ufffd")))


# ---------------------------------------------------------------- stream.text_intact: surrogates


def test_text_intact_flags_an_emoji_split_into_lone_surrogates(build):
    raw = ev.sse([ev.start(), ev.block_start(), ev.text_delta("Grüße ok "), ev.block_stop(), ev.message_delta(), ev.STOP])
    halves = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\\ud83d"}}\n\n'
    halves += b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\\ude00"}}\n\n'
    cut = raw.index(b"event: content_block_stop")
    twin = build.twin(hand.message("Grüße ok \U0001f600"))
    [violation] = hand.run("stream.text_intact", build.stream(raw[:cut] + halves + raw[cut:], twin=twin))
    # Read as a UTF-8 client must read them, the halves are two U+FFFD (conformance/jsontext.py).
    assert violation.message == 'Received: streamed text "Grüße ok \ufffd\ufffd" with U+FFFD replacement characters\nExpected: "Grüße ok 😀", as the same request not streamed'
    whole = ev.sse([ev.start(), ev.block_start(), ev.text_delta("Grüße ok \U0001f600"), ev.block_stop(), ev.message_delta(), ev.STOP])
    assert hand.run("stream.text_intact", build.stream(whole, twin=twin)) == []


def test_a_json_answer_to_a_stream_request_is_left_to_the_content_type_check(build):
    # The target ignored "stream": true; framing and grammar findings on a JSON body would only mislead.
    subject = build.stream(json.dumps(hand.message()).encode(), content_type="application/json")
    for check_id in ("stream.framing_terminated", "stream.ends_with_message_stop", "stream.event_order"):
        with pytest.raises(NotApplicable, match=r"^the answer is one JSON document \(application/json\), not an event stream"):
            hand.run(check_id, subject)
    labelled = build.stream(json.dumps(hand.message()).encode())  # the same body labelled text/event-stream is judged as the stream it claims to be
    assert hand.run("stream.ends_with_message_stop", labelled) != []
