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
from ._stream import ANYWHERE, STREAM_CHECKS, at, findings, padded

# ------------------------------------------------------------------- legal streams that pass


@pytest.mark.parametrize("check_id", STREAM_CHECKS)
def test_every_stream_check_passes_a_plain_stream_with_its_twin(build, check_id):
    assert hand.run(check_id, build.stream(twin=build.twin())) == []


def test_pings_anywhere_after_message_start_are_legal(build):
    # INDEX.md observation 3: between deltas, before a stop, between blocks, after a later start,
    # after the last stop, back to back before message_delta (captures 10, 14, 15, 28, 30).
    events = [
        hand.start(),
        hand.block_start(0),
        hand.text_delta("Grüße"),
        hand.PING,
        hand.text_delta(" ok"),
        hand.PING,
        hand.block_stop(0),
        hand.PING,
        hand.block_start(1, "tool_use"),
        hand.PING,
        hand.delta("input_json_delta", 1, partial_json=""),
        hand.block_stop(1),
        hand.PING,
        hand.PING,
        hand.message_delta("tool_use"),
        hand.STOP,
    ]
    assert findings(build.stream(events)) == {}


def test_whitespace_padded_json_and_spaced_ping_are_legal(build):
    # INDEX.md observations 1 and 2: padding before the final brace; ping is {"type": "ping"}.
    events = hand.text_events()
    raw = b"".join(b'event: ping\ndata: {"type": "ping"}\n\n' if e is hand.PING else padded(e) for e in events)
    assert findings(build.stream(raw)) == {}


def test_a_refusal_stream_with_no_content_block_is_legal(build):
    # INDEX.md observation 10 (capture 27): message_start, message_delta, message_stop only.
    events = [hand.start(output_tokens=0), hand.message_delta("refusal", output_tokens=0), hand.STOP]
    events[1]["delta"]["stop_details"] = {"type": "refusal", "category": "reasoning_extraction"}
    assert findings(build.stream(events)) == {}


def test_unknown_event_types_are_tolerated(build):
    # DOC-STR: "we may add new event types, and your code should handle unknown event types gracefully".
    events = hand.text_events()
    events.insert(3, {"type": "content_block_annotation", "index": 0, "note": "new"})
    events.insert(0, {"type": "stream_metadata", "region": "eu"})
    assert findings(build.stream(events)) == {}


def test_block_order_and_empty_blocks_of_real_traffic_are_legal(build):
    # INDEX.md observations 10-14: "\n\n" text before thinking, zero-delta blocks, empty deltas,
    # a signature_delta last, unknown block and delta types.
    events = [
        hand.start(output_tokens=0),
        hand.block_start(0),
        hand.text_delta("\n\n", 0),
        hand.block_stop(0),
        hand.block_start(1, "thinking"),
        hand.delta("thinking_delta", 1, thinking="Counting."),
        hand.delta("thinking_delta", 1, thinking=""),
        hand.delta("signature_delta", 1, signature="EuYBCkQYAiJA"),
        hand.block_stop(1),
        hand.block_start(2, "redacted_thinking"),
        hand.block_stop(2),
        hand.block_start(3, "advisor_tool_result"),
        hand.delta("advisor_delta", 3, text="note"),
        hand.block_stop(3),
        hand.block_start(4),
        hand.delta("future_delta", 4, value=1),
        hand.text_delta("ok", 4),
        hand.block_stop(4),
        hand.message_delta("end_turn", output_tokens=12, input_tokens=21),
        hand.STOP,
    ]
    assert findings(build.stream(events)) == {}


def test_an_in_stream_error_event_ends_the_stream_legally(build):
    # INDEX.md observation 23: event: error, then the stream simply ends (fragments f1, f2).
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded", "details": None}}
    subject = build.stream([hand.start(), hand.block_start(), hand.text_delta("Grüße"), error])
    assert findings(subject) == {}
    with pytest.raises(NotApplicable, match="no message_delta"):
        hand.run("stream.message_delta_stop_reason", subject)


def test_crlf_line_endings_are_legal(build):
    raw = hand.sse(hand.text_events()).replace(b"\n", b"\r\n")
    assert findings(build.stream(raw)) == {}


def test_a_character_split_across_reads_is_legal(build):
    raw = hand.sse(hand.text_events())
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
    events = [hand.start(), hand.block_start(), hand.text_delta("Grüße"), hand.start(), hand.text_delta(" ok"), hand.block_stop(), hand.message_delta(), hand.STOP]
    subject = build.stream(events)
    [violation] = hand.run("stream.message_start_first", subject)
    assert violation.message == f"Received: can't accept message_start in state IN_BLOCK (event #3)\nExpected: content_block_delta or content_block_stop{ANYWHERE}"
    assert violation.at == "event #3 (message_start)"
    assert findings(subject) == {"stream.message_start_first": [violation.message]}  # no cascade into other checks


def test_message_start_first_flags_a_block_before_message_start(build):
    assert hand.messages("stream.message_start_first", build.stream(hand.text_events()[1:])) == [f"Received: can't accept content_block_start in state BEFORE_START (event #0)\nExpected: message_start{ANYWHERE}"]


def test_event_order_flags_message_delta_inside_a_block(build):
    events = [hand.start(), hand.block_start(), hand.text_delta("ok"), hand.message_delta(), hand.block_stop(), hand.STOP]
    [violation] = hand.run("stream.event_order", build.stream(events))
    assert violation.message == f"Received: can't accept message_delta in state IN_BLOCK (event #3)\nExpected: content_block_delta or content_block_stop{ANYWHERE}"
    assert violation.event_index == 3


def test_event_order_flags_a_nested_block(build):
    events = [hand.start(), hand.block_start(0), hand.block_start(1, "tool_use"), hand.block_stop(1), hand.block_stop(0), hand.message_delta(), hand.STOP]
    assert hand.messages("stream.event_order", build.stream(events)) == [f"Received: can't accept content_block_start in state IN_BLOCK (event #2)\nExpected: content_block_delta or content_block_stop{ANYWHERE}"]


def test_block_indices_sequential_flags_a_first_block_at_one(build):
    events = [hand.start(), hand.block_start(1), hand.text_delta("ok", 1), hand.block_stop(1), hand.message_delta(), hand.STOP]
    [violation] = hand.run("stream.block_indices_sequential", build.stream(events))
    assert violation.message == "Received: content_block_start with index 1 (event #1)\nExpected: index 0: blocks are numbered 0, 1, 2… in the order they start"
    assert violation.at == "event #1 (content_block_start)"


def test_block_indices_sequential_flags_a_block_reopened_per_tool_chunk(build):
    # peers.md §4.6 #11 (nanoclaw #1241): a new block for every tool-argument chunk, same index again.
    events = [
        hand.start(),
        hand.block_start(0, "tool_use"),
        hand.delta("input_json_delta", 0, partial_json='{"city": '),
        hand.block_stop(0),
        hand.block_start(0, "tool_use"),
        hand.delta("input_json_delta", 0, partial_json='"Paris"}'),
        hand.block_stop(0),
        hand.message_delta("tool_use"),
        hand.STOP,
    ]
    assert hand.messages("stream.block_indices_sequential", build.stream(events)) == [
        "Received: content_block_start with index 0 (event #4)\nExpected: index 1: blocks are numbered 0, 1, 2… in the order they start"
    ]


def test_block_indices_sequential_flags_a_delta_for_another_block(build):
    events = [hand.start(), hand.block_start(0), hand.text_delta("ok", 1), hand.block_stop(0), hand.message_delta(), hand.STOP]
    assert hand.messages("stream.block_indices_sequential", build.stream(events)) == [
        "Received: content_block_delta with index 1 (event #2)\nExpected: index 0, the open block"
    ]


def test_delta_matches_block_flags_reasoning_inside_text(build):
    # peers.md §4.6 #9 (LiteLLM #32357, #33224): thinking_delta inside a text block.
    events = [hand.start(), hand.block_start(0), hand.delta("thinking_delta", 0, thinking="hmm"), hand.block_stop(0), hand.message_delta(), hand.STOP]
    [violation] = hand.run("stream.delta_matches_block", build.stream(events))
    assert violation.message == "Received: thinking_delta in a text block (index 0, event #2)\nExpected: thinking_delta only in thinking blocks"
    assert violation.at == "event #2 (content_block_delta)"


def test_delta_matches_block_flags_tool_json_inside_text(build):
    events = [hand.start(), hand.block_start(0), hand.delta("input_json_delta", 0, partial_json="{}"), hand.block_stop(0), hand.message_delta(), hand.STOP]
    assert hand.messages("stream.delta_matches_block", build.stream(events)) == [
        "Received: input_json_delta in a text block (index 0, event #2)\nExpected: input_json_delta only in mcp_tool_use or server_tool_use or tool_use blocks"
    ]


# -------------------------------------------------------------- stream.message_delta_stop_reason


def test_message_delta_stop_reason_flags_null(build):
    events = hand.text_events(stop_reason=None)
    [violation] = hand.run("stream.message_delta_stop_reason", build.stream(events))
    assert violation.message == "Received: stop_reason null in the last message_delta\nExpected: a non-null stop_reason"
    assert violation.at == at(events, 6, "message_delta") + " /delta/stop_reason"


def test_message_delta_stop_reason_judges_the_last_message_delta(build):
    events = [hand.start(), hand.block_start(), hand.text_delta("ok"), hand.block_stop(), hand.message_delta(None, output_tokens=1), hand.message_delta("end_turn"), hand.STOP]
    assert hand.run("stream.message_delta_stop_reason", build.stream(events)) == []
    events = [hand.start(), hand.block_start(), hand.text_delta("ok"), hand.block_stop(), hand.message_delta("end_turn", output_tokens=1), hand.message_delta(""), hand.STOP]
    assert hand.messages("stream.message_delta_stop_reason", build.stream(events)) == ['Received: stop_reason "" in the last message_delta\nExpected: a non-null stop_reason']


# ---------------------------------------------------------------- stream.ends_with_message_stop


def test_ends_with_message_stop_flags_a_missing_message_stop(build):
    [violation] = hand.run("stream.ends_with_message_stop", build.stream(hand.text_events()[:-1]))
    assert violation.message == "Received: stream ended in state AFTER_DELTA after 7 events\nExpected: message_stop (or an error event) as the last event"


def test_ends_with_message_stop_flags_events_after_message_stop(build):
    [violation] = hand.run("stream.ends_with_message_stop", build.stream([*hand.text_events(), hand.message_delta()]))
    assert violation.message == "Received: can't accept message_delta in state DONE (event #8)\nExpected: the end of the stream"
    assert violation.at == "event #8 (message_delta)"


def test_ends_with_message_stop_lets_a_ping_trail(build):
    # Pings come anywhere (DOC-STR) and the SDK skips them, after message_stop too.
    assert hand.run("stream.ends_with_message_stop", build.stream([*hand.text_events(), hand.PING, hand.PING])) == []


def test_ends_with_message_stop_quotes_the_transport_error(build):
    subject = build.stream(hand.text_events()[:-1], error="read timeout: nothing received for 60 s")
    assert hand.messages("stream.ends_with_message_stop", subject) == [
        "Received: stream ended in state AFTER_DELTA after 7 events\nExpected: message_stop (or an error event) as the last event"
        "\nNote: the transport reports: read timeout: nothing received for 60 s"
    ]


# ---------------------------------------------------------------- stream.block_start_empty


def test_block_start_empty_passes_the_documented_starts(build):
    events = [hand.start(), hand.block_start(0, "thinking"), hand.delta("thinking_delta", 0, thinking="Hm."), hand.delta("signature_delta", 0, signature="EqQB"), hand.block_stop(0),
              hand.block_start(1), hand.text_delta("ok", 1), hand.block_stop(1), hand.block_start(2, "tool_use"), hand.delta("input_json_delta", 2, partial_json="{}"), hand.block_stop(2),
              hand.block_start(3, "web_search_tool_result"), hand.block_stop(3), hand.message_delta(), hand.STOP]
    assert hand.run("stream.block_start_empty", build.stream(events)) == []


def test_block_start_empty_flags_content_put_into_the_start(build):
    events = hand.text_events()
    events[1] = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": "Grüße ok"}}
    events[3:5] = []
    [violation] = hand.run("stream.block_start_empty", build.stream(events))
    assert violation.message == 'Received: a text block starting with text "Grüße ok"\nExpected: text "", the rest arriving as deltas'
    assert violation.at == "event #1 (content_block_start) @ byte 332"
    tool = {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}}
    # The whole input at the start and no input_json_delta is programmatic tool calling (legal); with the deltas too it is not.
    assert hand.messages("stream.block_start_empty", build.stream([hand.start(), tool, hand.block_stop(), hand.message_delta("tool_use"), hand.STOP])) == []
    piece = hand.delta("input_json_delta", 0, partial_json='{"city": "Paris"}')
    assert hand.messages("stream.block_start_empty", build.stream([hand.start(), tool, piece, hand.block_stop(), hand.message_delta("tool_use"), hand.STOP])) == [
        'Received: a tool_use block starting with input {"city": "Paris"}\nExpected: input {}, the rest arriving as deltas'
    ]


# ------------------------------------------------------------ what each check says it judged


def test_the_judged_items_of_a_plain_stream(build):
    subject = build.stream(twin=build.twin())
    size = len(hand.sse(hand.text_events()))
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


DONE_WITHOUT_START = [hand.block_start(), hand.text_delta("Grüße"), hand.text_delta(" ok"), hand.block_stop(), hand.message_delta()]


def test_a_stream_without_message_start_ending_in_done_is_judged_where_it_can_be(build):
    # Issue 9: once message_start is missing, order, index and delta kind were passed on nothing, and the missing end with them.
    subject = build.stream(hand.sse(DONE_WITHOUT_START) + b"data: [DONE]\n\n")
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
    events = [hand.start(), hand.block_start(), hand.text_delta("Grüße"), hand.message_delta(), hand.block_stop()]
    subject = build.stream(events)
    assert sorted(findings(subject)) == ["stream.ends_with_message_stop", "stream.event_order"]
    assert hand.judged("stream.block_indices_sequential", subject) == (
        "the indices of 2 block events (1 block), up to event #3 (not judged after it: event #3 is out of order, see stream.event_order)",
    )


def test_events_after_message_stop_fail_even_after_the_grammar_went_silent(build):
    events = [hand.start(), hand.start(), hand.block_start(), hand.text_delta("Grüße"), hand.block_stop(), hand.message_delta(), hand.STOP, hand.PING, hand.text_delta("late")]
    subject = build.stream(events)
    [violation] = hand.run("stream.ends_with_message_stop", subject)
    assert violation.message == "Received: content_block_delta after the stream ended with message_stop (event #6), as event #8\nExpected: the end of the stream"
    with pytest.raises(NotApplicable, match=r"^not judged: a second message_start \(event #1\), see stream.message_start_first$"):
        hand.run("stream.event_order", subject)


def test_a_partly_judged_stream_says_how_far(build):
    events = [hand.start(), hand.block_start(), hand.text_delta("Grüße"), hand.block_stop(), hand.block_start(2), hand.text_delta("x", 2), hand.block_stop(2), hand.message_delta(), hand.STOP]
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
    subject = build.stream([hand.start(output_tokens=0), hand.message_delta("refusal", output_tokens=0), hand.STOP])
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
    raw = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in [hand.start(), hand.block_start(), *(hand.text_delta("x") for _ in range(30)), hand.block_stop(), hand.message_delta(), hand.STOP])
    found = hand.run("stream.event_name_matches_type", build.stream(raw))
    assert len(found) == 11
    assert found[-1].message == "Received: 25 more events like these\nExpected: none"
    assert found[-1].at == "after event #9 (content_block_delta) @ byte " + str(found[9].at.split("@ byte ")[1])
