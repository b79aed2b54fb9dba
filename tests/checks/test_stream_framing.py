"""conformance/checks/stream.py: framing (event names, JSON data, [DONE], UTF-8, the end of each event) and event shapes.

Legal oddities come from the real captures (tests/fixtures/captures/INDEX.md); deviations from
research/peers.md §4.6 must fail exactly the check that owns them.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from conformance.checks.subject import Unjudgeable
from conformance.exchange import ErrorKind
from conformance.sse.reading import MAX_FRAMES

from . import _build as hand
from . import _events as ev
from ._stream import at

# -------------------------------------------------------------- stream.event_name_matches_type


def test_event_name_matches_type_flags_data_only_events(build):
    # anthropic-contract.md §0.5: official SDKs drop events without an event: line.
    events = ev.text_events()
    raw = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
    found = hand.run("stream.event_name_matches_type", build.stream(raw))
    assert len(found) == len(events)
    assert found[0].message == 'Received: no event: line for data of type "message_start"\nExpected: event: message_start'
    assert found[0].at == "event #0 (message_start) @ byte 0"
    assert found[-1].message == 'Received: no event: line for data of type "message_stop"\nExpected: event: message_stop'


def test_event_name_matches_type_flags_a_wrong_name(build):
    events = ev.text_events()
    raw = ev.sse(events).replace(b"event: content_block_delta", b"event: completion", 1)
    [violation] = hand.run("stream.event_name_matches_type", build.stream(raw))
    assert violation.message == 'Received: event: completion for data of type "content_block_delta"\nExpected: event: content_block_delta'
    assert violation.at == at(events, 3, "content_block_delta")
    assert violation.event_index == 3


def test_event_name_matches_type_flags_a_byte_order_mark(build):
    [violation] = hand.run("stream.event_name_matches_type", build.stream(b"\xef\xbb\xbf" + ev.sse(ev.text_events())))
    assert violation.message == (
        "Received: a UTF-8 byte order mark at the start of the body"
        "\nExpected: the body starts with the first field (clients that keep the BOM lose the first event name)"
    )
    assert violation.at == "byte 0"


# ----------------------------------------------------------------------- stream.data_is_json


def test_data_is_json_flags_a_cut_payload(build):
    events = ev.text_events()
    raw = ev.sse(events).replace(b'{"type":"message_stop"}', b'{"type":"message_stop"')
    [violation] = hand.run("stream.data_is_json", build.stream(raw))
    assert violation.message == 'Received: data "{\\"type\\":\\"message_stop\\""\nExpected: one JSON object'
    assert violation.at == at(events, 7, "message_stop")


def test_data_is_json_flags_json_that_is_not_an_object(build):
    raw = ev.sse([*ev.text_events()[:-1], b'event: message_stop\ndata: "done"\n\n'])
    assert hand.messages("stream.data_is_json", build.stream(raw)) == ['Received: data "\\"done\\""\nExpected: one JSON object']


def test_data_is_json_leaves_done_to_its_own_check(build):
    assert hand.run("stream.data_is_json", build.stream(ev.sse(ev.text_events()) + b"data: [DONE]\n\n")) == []


# -------------------------------------------------------------------- stream.no_done_sentinel


def test_no_done_sentinel_flags_openai_terminator(build):
    # peers.md §4.6 #14: the stream ends with data: [DONE] (GitHub Copilot proxy).
    raw = ev.sse(ev.text_events())
    [violation] = hand.run("stream.no_done_sentinel", build.stream(raw + b"data: [DONE]\n\n"))
    assert violation.message == "Received: data: [DONE]\nExpected: no sentinel; message_stop ends the stream"
    assert violation.at == f"event #8 @ byte {len(raw)}"
    assert violation.event_index == 8


# ------------------------------------------------------------------------- stream.utf8_valid


def test_utf8_valid_flags_a_latin1_byte(build):
    raw = ev.sse(ev.text_events()).replace("ü".encode(), b"\xfc")
    bad = raw.index(b"\xfc")
    line = raw.rindex(b"\n", 0, bad) + 1
    expected = f"Received: invalid UTF-8 byte 0xfc at byte {bad} (1 invalid bytes on the line starting at byte {line})\nExpected: UTF-8 text (it was decoded with U+FFFD replacement)"
    assert [(v.message, v.at) for v in hand.run("stream.utf8_valid", build.stream(raw))] == [(expected, f"byte {bad}")]


# ----------------------------------------------------------------- stream.framing_terminated


def test_framing_terminated_flags_a_stream_cut_mid_event(build):
    raw = ev.sse(ev.text_events())[:-30]
    start_of_last = len(ev.sse(ev.text_events()[:-1]))
    expected = f"Received: stream ended mid-event after 7 complete events ({len(raw) - start_of_last} bytes of an unterminated event)\nExpected: every event ends with a blank line"
    assert [(v.message, v.at) for v in hand.run("stream.framing_terminated", build.stream(raw))] == [(expected, f"byte {start_of_last}")]


def test_framing_terminated_quotes_the_transport_error(build):
    raw = ev.sse(ev.text_events())[:-30]
    [violation] = hand.run("stream.framing_terminated", build.stream(raw, error="read timeout: nothing received for 60 s"))
    assert violation.message.endswith("\nExpected: every event ends with a blank line\nNote: the transport reports: read timeout: nothing received for 60 s")


@pytest.mark.parametrize("check_id", ["stream.framing_terminated", "stream.ends_with_message_stop", "stream.message_delta_stop_reason"])
def test_a_body_our_size_cap_cut_is_not_judged_at_its_end(build, check_id):
    raw = ev.sse(ev.text_events())[:-30]
    with pytest.raises(Unjudgeable, match=f"^not judged: the suite's size cap cut the answer after {len(raw)} bytes$"):
        hand.run(check_id, build.stream(raw, truncated=True))


@pytest.mark.parametrize("check_id", ["stream.framing_terminated", "stream.ends_with_message_stop"])
def test_a_stream_we_stopped_waiting_for_is_not_judged_at_its_end(build, check_id):
    subject = build.stream(ev.sse(ev.text_events())[:-30], error="no complete answer within 300 s (whole-exchange timeout)", error_kind=ErrorKind.TIMEOUT)
    with pytest.raises(Unjudgeable, match=r"^not judged: the suite stopped waiting for the rest of the answer \(no complete answer within 300 s"):
        hand.run(check_id, subject)
    with pytest.raises(Unjudgeable):
        subject.message()


def test_an_event_over_our_size_cap_stops_reading_and_is_no_verdict(build):
    small = hand.Build(dataclasses.replace(build.contract, max_event_bytes=1024))
    events = ev.text_events("x" * 2000)
    subject = small.stream(events)
    begins = len(ev.sse(events[:3]))
    cap = f"not judged: an event at byte {begins:,} is larger than the suite's cap of 1,024 bytes for one event; reading stopped there"
    for check_id in ("stream.framing_terminated", "stream.ends_with_message_stop"):
        with pytest.raises(Unjudgeable) as caught:
            hand.run(check_id, subject)
        assert str(caught.value) == cap
    assert hand.judged("stream.event_order", subject) == ("2 events after message_start in the documented order",)  # what came before the cap
    with pytest.raises(Unjudgeable, match="so the final message is unknown"):
        subject.message()


def test_a_stream_past_our_event_cap_is_judged_up_to_it(build):
    events = [ev.start(), ev.block_start(), *(ev.text_delta("x") for _ in range(MAX_FRAMES + 5)), ev.block_stop(), ev.message_delta(), ev.STOP]
    subject = build.stream(events)
    with pytest.raises(Unjudgeable, match=f"^not judged: the suite reads at most {MAX_FRAMES:,} events of a stream"):
        hand.run("stream.ends_with_message_stop", subject)
    assert hand.judged("stream.event_order", subject) == (f"{MAX_FRAMES - 1:,} events after message_start in the documented order",)
    assert hand.judged("stream.delta_matches_block", subject) == (f"the kind of {MAX_FRAMES - 2:,} deltas against its block",)


# ----------------------------------------------------------------------- stream.event_schema


def test_event_schema_flags_message_delta_without_usage(build):
    # peers.md §4.6 #5 (pi #6567): message_delta with no usage object crashes clients.
    events = ev.text_events()
    events[-2] = {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}}
    [violation] = hand.run("stream.event_schema", build.stream(events))
    assert violation.message == "Received: 'usage' is a required property\nExpected: a message_delta event as documented"
    assert violation.at == at(events, 6, "message_delta") + " /"


def test_event_schema_flags_tool_use_start_without_input(build):
    # peers.md §4.6 #13 (cc-switch #2557): content_block_start for tool_use lacks input: {}.
    events = [ev.start(), ev.block_start(0, "tool_use"), ev.delta("input_json_delta", 0, partial_json="{}"), ev.block_stop(0), ev.message_delta("tool_use"), ev.STOP]
    del events[1]["content_block"]["input"]
    [violation] = hand.run("stream.event_schema", build.stream(events))
    assert violation.message == "Received: 'input' is a required property\nExpected: a content_block_start event as documented"
    assert violation.at == at(events, 1, "content_block_start") + " /content_block"


def test_event_schema_reports_at_most_ten_violations(build):
    events = [ev.start(), ev.block_start(), *({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta"}} for _ in range(12)), ev.block_stop(), ev.message_delta(), ev.STOP]
    found = hand.run("stream.event_schema", build.stream(events))
    assert len(found) == 10
    assert {v.message for v in found} == {"Received: 'text' is a required property\nExpected: a content_block_delta event as documented"}
