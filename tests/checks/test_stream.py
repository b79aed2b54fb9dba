"""conformance/checks/stream.py: legal streams, grammar routing, the end of a stream and what each check judged.

Framing and event shapes are in test_stream_framing.py, the comparison with the twin in test_stream_twin.py.

Legal oddities come from the real captures (tests/fixtures/captures/INDEX.md, Observations) and
must pass every stream check; deviations come from research/peers.md §4.6 and must fail exactly
the check that owns them.
"""

from __future__ import annotations

import json

import pytest

from conformance.exchange import Chunk
from conformance.findings import NotApplicable

from . import _build as hand
from . import _events as ev
from ._stream import ANYWHERE, STREAM_CHECKS, at, findings, padded

# ------------------------------------------------------------------- legal streams that pass


@pytest.mark.parametrize("check_id", STREAM_CHECKS)
def test_every_stream_check_passes_a_plain_stream_with_its_twin(build, check_id):
    assert hand.run(check_id, build.stream(twin=build.twin())) == []


def test_pings_anywhere_after_message_start_are_legal(build):
    # INDEX.md observation 3: between deltas, before a stop, between blocks, after a later start,
    # after the last stop, back to back before message_delta (captures 10, 14, 15, 28, 30).
    events = [
        ev.start(),
        ev.block_start(0),
        ev.text_delta("Grüße"),
        ev.PING,
        ev.text_delta(" ok"),
        ev.PING,
        ev.block_stop(0),
        ev.PING,
        ev.block_start(1, "tool_use"),
        ev.PING,
        ev.delta("input_json_delta", 1, partial_json=""),
        ev.block_stop(1),
        ev.PING,
        ev.PING,
        ev.message_delta("tool_use"),
        ev.STOP,
    ]
    assert findings(build.stream(events)) == {}


def test_whitespace_padded_json_and_spaced_ping_are_legal(build):
    # INDEX.md observations 1 and 2: padding before the final brace; ping is {"type": "ping"}.
    events = ev.text_events()
    raw = b"".join(b'event: ping\ndata: {"type": "ping"}\n\n' if e is ev.PING else padded(e) for e in events)
    assert findings(build.stream(raw)) == {}


def test_a_refusal_stream_with_no_content_block_is_legal(build):
    # INDEX.md observation 10 (capture 27): message_start, message_delta, message_stop only.
    events = [ev.start(output_tokens=0), ev.message_delta("refusal", output_tokens=0), ev.STOP]
    events[1]["delta"]["stop_details"] = {"type": "refusal", "category": "reasoning_extraction"}
    assert findings(build.stream(events)) == {}


def test_unknown_event_types_are_tolerated(build):
    # DOC-STR: "we may add new event types, and your code should handle unknown event types gracefully".
    events = ev.text_events()
    events.insert(3, {"type": "content_block_annotation", "index": 0, "note": "new"})
    events.insert(0, {"type": "stream_metadata", "region": "eu"})
    assert findings(build.stream(events)) == {}


def test_block_order_and_empty_blocks_of_real_traffic_are_legal(build):
    # INDEX.md observations 10-14: "\n\n" text before thinking, zero-delta blocks, empty deltas,
    # a signature_delta last, unknown block and delta types.
    events = [
        ev.start(output_tokens=0),
        ev.block_start(0),
        ev.text_delta("\n\n", 0),
        ev.block_stop(0),
        ev.block_start(1, "thinking"),
        ev.delta("thinking_delta", 1, thinking="Counting."),
        ev.delta("thinking_delta", 1, thinking=""),
        ev.delta("signature_delta", 1, signature="EuYBCkQYAiJA"),
        ev.block_stop(1),
        ev.block_start(2, "redacted_thinking"),
        ev.block_stop(2),
        ev.block_start(3, "advisor_tool_result"),
        ev.delta("advisor_delta", 3, text="note"),
        ev.block_stop(3),
        ev.block_start(4),
        ev.delta("future_delta", 4, value=1),
        ev.text_delta("ok", 4),
        ev.block_stop(4),
        ev.message_delta("end_turn", output_tokens=12, input_tokens=21),
        ev.STOP,
    ]
    assert findings(build.stream(events)) == {}


def test_an_in_stream_error_event_ends_the_stream_legally(build):
    # INDEX.md observation 23: event: error, then the stream simply ends (fragments f1, f2).
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded", "details": None}}
    subject = build.stream([ev.start(), ev.block_start(), ev.text_delta("Grüße"), error])
    assert findings(subject) == {}
    with pytest.raises(NotApplicable, match="no message_delta"):
        hand.run("stream.message_delta_stop_reason", subject)


def test_crlf_line_endings_are_legal(build):
    raw = ev.sse(ev.text_events()).replace(b"\n", b"\r\n")
    assert findings(build.stream(raw)) == {}


def test_a_character_split_across_reads_is_legal(build):
    raw = ev.sse(ev.text_events())
    cut = raw.index("ü".encode()) + 1
    chunks = (Chunk(0, cut, 0.1), Chunk(cut, len(raw) - cut, 0.2))
    assert findings(build.stream(raw, chunks=chunks)) == {}


def test_checks_on_streams_find_nothing_to_judge_in_a_message(build):
    rules = build.contract.rules
    on_streams = [cid for cid in STREAM_CHECKS if rules[cid].on is not None and rules[cid].on.stream]  # the spec's selector, not the id
    assert on_streams
    for cid in on_streams:
        with pytest.raises(NotApplicable):
            hand.run(cid, build.plain())


# ------------------------------------------------------------ grammar routing (stream.*)


def test_message_start_first_flags_a_duplicate_message_start(build):
    # peers.md §4.6 #8 (LiteLLM #32357): a second message_start with the same id.
    events = [ev.start(), ev.block_start(), ev.text_delta("Grüße"), ev.start(), ev.text_delta(" ok"), ev.block_stop(), ev.message_delta(), ev.STOP]
    subject = build.stream(events)
    [violation] = hand.run("stream.message_start_first", subject)
    assert violation.message == f"Received: can't accept message_start in state IN_BLOCK (event #3)\nExpected: content_block_delta or content_block_stop{ANYWHERE}"
    assert violation.at == "event #3 (message_start)"
    assert findings(subject) == {"stream.message_start_first": [violation.message]}  # no cascade into other checks


def test_message_start_first_flags_a_block_before_message_start(build):
    assert hand.messages("stream.message_start_first", build.stream(ev.text_events()[1:])) == [f"Received: can't accept content_block_start in state BEFORE_START (event #0)\nExpected: message_start{ANYWHERE}"]


def test_event_order_flags_message_delta_inside_a_block(build):
    events = [ev.start(), ev.block_start(), ev.text_delta("ok"), ev.message_delta(), ev.block_stop(), ev.STOP]
    [violation] = hand.run("stream.event_order", build.stream(events))
    assert violation.message == f"Received: can't accept message_delta in state IN_BLOCK (event #3)\nExpected: content_block_delta or content_block_stop{ANYWHERE}"
    assert violation.event_index == 3


def test_event_order_flags_a_nested_block(build):
    events = [ev.start(), ev.block_start(0), ev.block_start(1, "tool_use"), ev.block_stop(1), ev.block_stop(0), ev.message_delta(), ev.STOP]
    assert hand.messages("stream.event_order", build.stream(events)) == [f"Received: can't accept content_block_start in state IN_BLOCK (event #2)\nExpected: content_block_delta or content_block_stop{ANYWHERE}"]


def test_block_indices_sequential_flags_a_first_block_at_one(build):
    events = [ev.start(), ev.block_start(1), ev.text_delta("ok", 1), ev.block_stop(1), ev.message_delta(), ev.STOP]
    [violation] = hand.run("stream.block_indices_sequential", build.stream(events))
    assert violation.message == "Received: content_block_start with index 1 (event #1)\nExpected: index 0: blocks are numbered 0, 1, 2… in the order they start"
    assert violation.at == "event #1 (content_block_start)"


def test_block_indices_sequential_flags_a_block_reopened_per_tool_chunk(build):
    # peers.md §4.6 #11 (nanoclaw #1241): a new block for every tool-argument chunk, same index again.
    events = [
        ev.start(),
        ev.block_start(0, "tool_use"),
        ev.delta("input_json_delta", 0, partial_json='{"city": '),
        ev.block_stop(0),
        ev.block_start(0, "tool_use"),
        ev.delta("input_json_delta", 0, partial_json='"Paris"}'),
        ev.block_stop(0),
        ev.message_delta("tool_use"),
        ev.STOP,
    ]
    assert hand.messages("stream.block_indices_sequential", build.stream(events)) == [
        "Received: content_block_start with index 0 (event #4)\nExpected: index 1: blocks are numbered 0, 1, 2… in the order they start"
    ]


def test_block_indices_sequential_flags_a_delta_for_another_block(build):
    events = [ev.start(), ev.block_start(0), ev.text_delta("ok", 1), ev.block_stop(0), ev.message_delta(), ev.STOP]
    assert hand.messages("stream.block_indices_sequential", build.stream(events)) == [
        "Received: content_block_delta with index 1 (event #2)\nExpected: index 0, the open block"
    ]


def test_delta_matches_block_flags_reasoning_inside_text(build):
    # peers.md §4.6 #9 (LiteLLM #32357, #33224): thinking_delta inside a text block.
    events = [ev.start(), ev.block_start(0), ev.delta("thinking_delta", 0, thinking="hmm"), ev.block_stop(0), ev.message_delta(), ev.STOP]
    [violation] = hand.run("stream.delta_matches_block", build.stream(events))
    assert violation.message == "Received: thinking_delta in a text block (index 0, event #2)\nExpected: thinking_delta only in thinking blocks"
    assert violation.at == "event #2 (content_block_delta)"


def test_delta_matches_block_flags_tool_json_inside_text(build):
    events = [ev.start(), ev.block_start(0), ev.delta("input_json_delta", 0, partial_json="{}"), ev.block_stop(0), ev.message_delta(), ev.STOP]
    assert hand.messages("stream.delta_matches_block", build.stream(events)) == [
        "Received: input_json_delta in a text block (index 0, event #2)\nExpected: input_json_delta only in mcp_tool_use or server_tool_use or tool_use blocks"
    ]


# -------------------------------------------------------------- stream.message_delta_stop_reason


def test_message_delta_stop_reason_flags_null(build):
    events = ev.text_events(stop_reason=None)
    [violation] = hand.run("stream.message_delta_stop_reason", build.stream(events))
    assert violation.message == "Received: stop_reason null in the last message_delta\nExpected: a non-null stop_reason"
    assert violation.at == at(events, 6, "message_delta") + " /delta/stop_reason"


def test_message_delta_stop_reason_judges_the_last_message_delta(build):
    events = [ev.start(), ev.block_start(), ev.text_delta("ok"), ev.block_stop(), ev.message_delta(None, output_tokens=1), ev.message_delta("end_turn"), ev.STOP]
    assert hand.run("stream.message_delta_stop_reason", build.stream(events)) == []
    events = [ev.start(), ev.block_start(), ev.text_delta("ok"), ev.block_stop(), ev.message_delta("end_turn", output_tokens=1), ev.message_delta(""), ev.STOP]
    assert hand.messages("stream.message_delta_stop_reason", build.stream(events)) == ['Received: stop_reason "" in the last message_delta\nExpected: a non-null stop_reason']


# ---------------------------------------------------------------- stream.ends_with_message_stop


def test_ends_with_message_stop_flags_a_missing_message_stop(build):
    [violation] = hand.run("stream.ends_with_message_stop", build.stream(ev.text_events()[:-1]))
    assert violation.message == "Received: stream ended in state AFTER_DELTA after 7 events\nExpected: message_stop (or an error event) as the last event"


def test_ends_with_message_stop_flags_events_after_message_stop(build):
    [violation] = hand.run("stream.ends_with_message_stop", build.stream([*ev.text_events(), ev.message_delta()]))
    assert violation.message == "Received: can't accept message_delta in state DONE (event #8)\nExpected: the end of the stream"
    assert violation.at == "event #8 (message_delta)"


def test_ends_with_message_stop_lets_a_ping_trail(build):
    # Pings come anywhere (DOC-STR) and the SDK skips them, after message_stop too.
    assert hand.run("stream.ends_with_message_stop", build.stream([*ev.text_events(), ev.PING, ev.PING])) == []


def test_ends_with_message_stop_quotes_the_transport_error(build):
    subject = build.stream(ev.text_events()[:-1], error="read timeout: nothing received for 60 s")
    assert hand.messages("stream.ends_with_message_stop", subject) == [
        "Received: stream ended in state AFTER_DELTA after 7 events\nExpected: message_stop (or an error event) as the last event"
        "\nNote: the transport reports: read timeout: nothing received for 60 s"
    ]


# ---------------------------------------------------------------- stream.block_start_empty


def test_block_start_empty_passes_the_documented_starts(build):
    events = [ev.start(), ev.block_start(0, "thinking"), ev.delta("thinking_delta", 0, thinking="Hm."), ev.delta("signature_delta", 0, signature="EqQB"), ev.block_stop(0),
              ev.block_start(1), ev.text_delta("ok", 1), ev.block_stop(1), ev.block_start(2, "tool_use"), ev.delta("input_json_delta", 2, partial_json="{}"), ev.block_stop(2),
              ev.block_start(3, "web_search_tool_result"), ev.block_stop(3), ev.message_delta(), ev.STOP]
    assert hand.run("stream.block_start_empty", build.stream(events)) == []


def test_block_start_empty_flags_content_put_into_the_start(build):
    events = ev.text_events()
    events[1] = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": "Grüße ok"}}
    events[3:5] = []
    [violation] = hand.run("stream.block_start_empty", build.stream(events))
    assert violation.message == 'Received: a text block starting with text "Grüße ok"\nExpected: text "", the rest arriving as deltas'
    assert violation.at == "event #1 (content_block_start) @ byte 332"
    tool = {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}}
    # The whole input at the start and no input_json_delta is programmatic tool calling (legal); with the deltas too it is not.
    assert hand.messages("stream.block_start_empty", build.stream([ev.start(), tool, ev.block_stop(), ev.message_delta("tool_use"), ev.STOP])) == []
    piece = ev.delta("input_json_delta", 0, partial_json='{"city": "Paris"}')
    assert hand.messages("stream.block_start_empty", build.stream([ev.start(), tool, piece, ev.block_stop(), ev.message_delta("tool_use"), ev.STOP])) == [
        'Received: a tool_use block starting with input {"city": "Paris"}\nExpected: input {}, the rest arriving as deltas'
    ]


# ------------------------------------------------------------ what each check says it judged


def test_the_judged_items_of_a_plain_stream(build):
    subject = build.stream(twin=build.twin())
    size = len(ev.sse(ev.text_events()))
    assert {cid: hand.judged(cid, subject) for cid in STREAM_CHECKS if cid not in ("stream.text_matches_twin", "stream.rebuilt_matches_twin")} == {
        "stream.block_indices_sequential": ("the indices of 4 block events (1 block)",),
        "stream.block_start_empty": ("the start of 1 text, thinking or tool_use block",),
        "stream.data_is_json": ("the data of 8 events",),
        "stream.delta_matches_block": ("the kind of 2 deltas against its block",),
        "stream.ends_with_message_stop": ("message_stop ending the stream (event #7 of 8), nothing but pings after it",),
        "stream.event_name_matches_type": ("the event: line of 8 events",),
        "stream.event_order": ("7 events after message_start in the documented order",),
        "stream.event_schema": ("8 events against the documented event schemas",),
        "stream.framing_terminated": ("the end of 8 frames and of the body",),
        "stream.length_within_max_tokens": ("7 events within 192 for max_tokens 32",),
        "stream.message_delta_stop_reason": ('stop_reason "end_turn" in the last message_delta (event #6)',),
        "stream.message_start_first": ("message_start first (event #0)", "no second message_start in 8 events"),
        "stream.no_done_sentinel": ("the data of 8 events",),
        "stream.text_intact": ("2 text deltas (8 characters) for U+FFFD the plain answer does not have",),
        "stream.utf8_valid": (f"{size} bytes decoded as UTF-8",),
        "usage.input_tokens_positive": ("input_tokens 21 in message_start",),
        "usage.output_tokens_counted": ("output_tokens 5 for 1 content block",),
        "usage.output_tokens_nonnegative": ("output_tokens of message_start and 1 message_delta",),
        "usage.output_within_max_tokens": ("output_tokens 5 against max_tokens 32",),
        "usage.stream_cumulative": ("output_tokens of message_start and 1 message_delta",),
    }


DONE_WITHOUT_START = [ev.block_start(), ev.text_delta("Grüße"), ev.text_delta(" ok"), ev.block_stop(), ev.message_delta()]


def test_a_stream_without_message_start_ending_in_done_is_judged_where_it_can_be(build):
    # Issue 9: once message_start is missing, order, index and delta kind were passed on nothing, and the missing end with them.
    subject = build.stream(ev.sse(DONE_WITHOUT_START) + b"data: [DONE]\n\n")
    assert findings(subject) == {
        "stream.message_start_first": [f"Received: can't accept content_block_start in state BEFORE_START (event #0)\nExpected: message_start{ANYWHERE}"],
        "stream.no_done_sentinel": ["Received: data: [DONE]\nExpected: no sentinel; message_stop ends the stream"],
        "stream.ends_with_message_stop": ["Received: stream ended after 5 events, none of them message_stop or an error event\nExpected: message_stop (or an error event) as the last event"],
    }
    reason = "not judged: the stream has no message_start, see stream.message_start_first"
    for cid in ("stream.event_order", "stream.block_indices_sequential", "stream.delta_matches_block"):
        with pytest.raises(NotApplicable) as caught:
            hand.run(cid, subject)
        assert str(caught.value) == reason
    assert hand.judged("stream.ends_with_message_stop", subject) == ("the last of 5 events",)  # [DONE] is no JSON event


def test_a_misordered_stream_without_message_stop_fails_its_end(build):
    events = [ev.start(), ev.block_start(), ev.text_delta("Grüße"), ev.message_delta(), ev.block_stop()]
    subject = build.stream(events)
    assert sorted(findings(subject)) == ["stream.ends_with_message_stop", "stream.event_order"]
    assert hand.judged("stream.block_indices_sequential", subject) == (
        "the indices of 2 block events (1 block), up to event #3 (not judged after it: event #3 is out of order, see stream.event_order)",
    )


def test_events_after_message_stop_fail_even_after_the_grammar_went_silent(build):
    events = [ev.start(), ev.start(), ev.block_start(), ev.text_delta("Grüße"), ev.block_stop(), ev.message_delta(), ev.STOP, ev.PING, ev.text_delta("late")]
    subject = build.stream(events)
    [violation] = hand.run("stream.ends_with_message_stop", subject)
    assert violation.message == "Received: content_block_delta after the stream ended with message_stop (event #6), as event #8\nExpected: the end of the stream"
    with pytest.raises(NotApplicable, match=r"^not judged: a second message_start \(event #1\), see stream.message_start_first$"):
        hand.run("stream.event_order", subject)


def test_a_partly_judged_stream_says_how_far(build):
    events = [ev.start(), ev.block_start(), ev.text_delta("Grüße"), ev.block_stop(), ev.block_start(2), ev.text_delta("x", 2), ev.block_stop(2), ev.message_delta(), ev.STOP]
    subject = build.stream(events)
    assert hand.judged("stream.event_order", subject) == (
        "3 events after message_start in the documented order, up to event #4 (not judged after it: event #4 has a block index out of sequence, see stream.block_indices_sequential)",
    )
    assert hand.judged("stream.message_start_first", subject) == (
        "message_start first (event #0)",
        "no second message_start before event #4 (event #4 has a block index out of sequence, see stream.block_indices_sequential)",
    )
    assert hand.judged("stream.ends_with_message_stop", subject) == ("message_stop ending the stream (event #8 of 9), nothing but pings after it",)


def test_a_stream_with_no_blocks_has_nothing_for_the_block_checks(build):
    subject = build.stream([ev.start(output_tokens=0), ev.message_delta("refusal", output_tokens=0), ev.STOP])
    for cid, reason in [
        ("stream.block_indices_sequential", "the stream has no content blocks"),
        ("stream.delta_matches_block", "the stream has no content_block_delta"),
        ("stream.block_start_empty", "no text, thinking or tool_use block starts in the stream"),
    ]:
        with pytest.raises(NotApplicable, match=f"^{reason}$"):
            hand.run(cid, subject)


def test_an_empty_stream_fails_only_its_end(build):
    subject = build.stream(b"")
    assert findings(subject) == {"stream.ends_with_message_stop": ["Received: stream ended in state BEFORE_START after 0 events\nExpected: message_stop (or an error event) as the last event"]}
    with pytest.raises(NotApplicable, match="no events"):
        hand.run("stream.message_start_first", subject)


def test_a_flood_of_misnamed_events_keeps_ten_and_counts_the_rest(build):
    raw = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in [ev.start(), ev.block_start(), *(ev.text_delta("x") for _ in range(30)), ev.block_stop(), ev.message_delta(), ev.STOP])
    found = hand.run("stream.event_name_matches_type", build.stream(raw))
    assert len(found) == 11
    assert found[-1].message == "Received: 25 more events like these\nExpected: none"
    assert found[-1].at == "after event #9 (content_block_delta) @ byte " + str(found[9].at.split("@ byte ")[1])
