"""conformance/checks/stream.py: framing, naming, grammar routing, schemas and the twin comparison.

Legal oddities come from the real captures (tests/fixtures/captures/INDEX.md, Observations) and
must pass every stream check; deviations come from research/peers.md §4.6 and must fail exactly
the check that owns them.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from conformance.checks.subject import Unjudgeable
from conformance.contract.loader import load_contract
from conformance.contract.model import RuleKind
from conformance.exchange import Chunk
from conformance.findings import NotApplicable, NotForced
from conformance.sse.reading import MAX_FRAMES

from ._build import (
    PING,
    STOP,
    Build,
    block_start,
    block_stop,
    delta,
    judged,
    message,
    message_delta,
    messages,
    request_json,
    run,
    sse,
    start,
    text_delta,
    text_events,
)

ANYWHERE = " (ping and error are accepted anywhere before the end)"


def _stream_checks() -> list[str]:
    """The stream area's rules, and the usage rules a run judges on any streamed answer: read from the spec, no list of ids."""
    rules = load_contract("2023-06-01", "anthropic").rules.values()
    usage = [r for r in rules if r.area == "usage" and r.kind is RuleKind.PROPERTY and r.on is not None and r.on.stream is not False and r.needs_plan is None]
    return sorted(r.id for r in [*(r for r in rules if r.area == "stream"), *usage])


STREAM_CHECKS = _stream_checks()


def at(events, index: int, kind: str) -> str:
    """The locator a check prints for event ``index`` of a stream built from ``events``."""
    return f"event #{index} ({kind}) @ byte {len(sse(events[:index]))}"


def findings(subject) -> dict[str, list[str]]:
    """Every stream check's violation messages, for the checks that found any."""
    out: dict[str, list[str]] = {}
    for cid in STREAM_CHECKS:
        try:
            found = run(cid, subject)
        except NotApplicable:
            continue
        if found:
            out[cid] = [v.message for v in found]
    return out


def padded(event: dict, spaces: int = 7) -> bytes:
    """Anthropic's wire form since mid-2024: spaces before the final ``}`` of the data line."""
    text = json.dumps(event, separators=(",", ":"))
    return f"event: {event['type']}\ndata: {text[:-1]}{' ' * spaces}}}\n\n".encode()


# ------------------------------------------------------------------- legal streams that pass


@pytest.mark.parametrize("check_id", STREAM_CHECKS)
def test_every_stream_check_passes_a_plain_stream_with_its_twin(build, check_id):
    assert run(check_id, build.stream(twin=build.twin())) == []


def test_pings_anywhere_after_message_start_are_legal(build):
    # INDEX.md observation 3: between deltas, before a stop, between blocks, after a later start,
    # after the last stop, back to back before message_delta (captures 10, 14, 15, 28, 30).
    events = [
        start(),
        block_start(0),
        text_delta("Grüße"),
        PING,
        text_delta(" ok"),
        PING,
        block_stop(0),
        PING,
        block_start(1, "tool_use"),
        PING,
        delta("input_json_delta", 1, partial_json=""),
        block_stop(1),
        PING,
        PING,
        message_delta("tool_use"),
        STOP,
    ]
    assert findings(build.stream(events)) == {}


def test_whitespace_padded_json_and_spaced_ping_are_legal(build):
    # INDEX.md observations 1 and 2: padding before the final brace; ping is {"type": "ping"}.
    events = text_events()
    raw = b"".join(b'event: ping\ndata: {"type": "ping"}\n\n' if e is PING else padded(e) for e in events)
    assert findings(build.stream(raw)) == {}


def test_a_refusal_stream_with_no_content_block_is_legal(build):
    # INDEX.md observation 10 (capture 27): message_start, message_delta, message_stop only.
    events = [start(output_tokens=0), message_delta("refusal", output_tokens=0), STOP]
    events[1]["delta"]["stop_details"] = {"type": "refusal", "category": "reasoning_extraction"}
    assert findings(build.stream(events)) == {}


def test_unknown_event_types_are_tolerated(build):
    # DOC-STR: "we may add new event types, and your code should handle unknown event types gracefully".
    events = text_events()
    events.insert(3, {"type": "content_block_annotation", "index": 0, "note": "new"})
    events.insert(0, {"type": "stream_metadata", "region": "eu"})
    assert findings(build.stream(events)) == {}


def test_block_order_and_empty_blocks_of_real_traffic_are_legal(build):
    # INDEX.md observations 10-14: "\n\n" text before thinking, zero-delta blocks, empty deltas,
    # a signature_delta last, unknown block and delta types.
    events = [
        start(output_tokens=0),
        block_start(0),
        text_delta("\n\n", 0),
        block_stop(0),
        block_start(1, "thinking"),
        delta("thinking_delta", 1, thinking="Counting."),
        delta("thinking_delta", 1, thinking=""),
        delta("signature_delta", 1, signature="EuYBCkQYAiJA"),
        block_stop(1),
        block_start(2, "redacted_thinking"),
        block_stop(2),
        block_start(3, "advisor_tool_result"),
        delta("advisor_delta", 3, text="note"),
        block_stop(3),
        block_start(4),
        delta("future_delta", 4, value=1),
        text_delta("ok", 4),
        block_stop(4),
        message_delta("end_turn", output_tokens=12, input_tokens=21),
        STOP,
    ]
    assert findings(build.stream(events)) == {}


def test_an_in_stream_error_event_ends_the_stream_legally(build):
    # INDEX.md observation 23: event: error, then the stream simply ends (fragments f1, f2).
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded", "details": None}}
    subject = build.stream([start(), block_start(), text_delta("Grüße"), error])
    assert findings(subject) == {}
    with pytest.raises(NotApplicable, match="no message_delta"):
        run("stream.message_delta_stop_reason", subject)


def test_crlf_line_endings_are_legal(build):
    raw = sse(text_events()).replace(b"\n", b"\r\n")
    assert findings(build.stream(raw)) == {}


def test_a_character_split_across_reads_is_legal(build):
    raw = sse(text_events())
    cut = raw.index("ü".encode()) + 1
    chunks = (Chunk(0, cut, 0.1), Chunk(cut, len(raw) - cut, 0.2))
    assert findings(build.stream(raw, chunks=chunks)) == {}


def test_stream_checks_need_a_stream(build):
    for cid in STREAM_CHECKS:
        if cid.startswith("stream.") and cid != "stream.rebuilt_matches_twin":
            with pytest.raises(NotApplicable):
                run(cid, build.plain())


# -------------------------------------------------------------- stream.event_name_matches_type


def test_event_name_matches_type_flags_data_only_events(build):
    # anthropic-contract.md §0.5: official SDKs drop events without an event: line.
    events = text_events()
    raw = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
    found = run("stream.event_name_matches_type", build.stream(raw))
    assert len(found) == len(events)
    assert found[0].message == 'Received: no event: line for data of type "message_start"\nExpected: event: message_start'
    assert found[0].at == "event #0 (message_start) @ byte 0"
    assert found[-1].message == 'Received: no event: line for data of type "message_stop"\nExpected: event: message_stop'


def test_event_name_matches_type_flags_a_wrong_name(build):
    events = text_events()
    raw = sse(events).replace(b"event: content_block_delta", b"event: completion", 1)
    [violation] = run("stream.event_name_matches_type", build.stream(raw))
    assert violation.message == 'Received: event: completion for data of type "content_block_delta"\nExpected: event: content_block_delta'
    assert violation.at == at(events, 3, "content_block_delta")
    assert violation.event_index == 3


def test_event_name_matches_type_flags_a_byte_order_mark(build):
    [violation] = run("stream.event_name_matches_type", build.stream(b"\xef\xbb\xbf" + sse(text_events())))
    assert violation.message == (
        "Received: a UTF-8 byte order mark at the start of the body"
        "\nExpected: the body starts with the first field (clients that keep the BOM lose the first event name)"
    )
    assert violation.at == "byte 0"


# ----------------------------------------------------------------------- stream.data_is_json


def test_data_is_json_flags_a_cut_payload(build):
    events = text_events()
    raw = sse(events).replace(b'{"type":"message_stop"}', b'{"type":"message_stop"')
    [violation] = run("stream.data_is_json", build.stream(raw))
    assert violation.message == 'Received: data "{\\"type\\":\\"message_stop\\""\nExpected: one JSON object'
    assert violation.at == at(events, 7, "message_stop")


def test_data_is_json_flags_json_that_is_not_an_object(build):
    raw = sse([*text_events()[:-1], b'event: message_stop\ndata: "done"\n\n'])
    assert messages("stream.data_is_json", build.stream(raw)) == ['Received: data "\\"done\\""\nExpected: one JSON object']


def test_data_is_json_leaves_done_to_its_own_check(build):
    assert run("stream.data_is_json", build.stream(sse(text_events()) + b"data: [DONE]\n\n")) == []


# -------------------------------------------------------------------- stream.no_done_sentinel


def test_no_done_sentinel_flags_openai_terminator(build):
    # peers.md §4.6 #14: the stream ends with data: [DONE] (GitHub Copilot proxy).
    raw = sse(text_events())
    [violation] = run("stream.no_done_sentinel", build.stream(raw + b"data: [DONE]\n\n"))
    assert violation.message == "Received: data: [DONE]\nExpected: no sentinel; message_stop ends the stream"
    assert violation.at == f"event #8 @ byte {len(raw)}"
    assert violation.event_index == 8


# ------------------------------------------------------------------------- stream.utf8_valid


def test_utf8_valid_flags_a_latin1_byte(build):
    raw = sse(text_events()).replace("ü".encode(), b"\xfc")
    bad = raw.index(b"\xfc")
    line = raw.rindex(b"\n", 0, bad) + 1
    [violation] = run("stream.utf8_valid", build.stream(raw))
    assert violation.message == (
        f"Received: invalid UTF-8 byte 0xfc at byte {bad} (1 invalid bytes on the line starting at byte {line})"
        "\nExpected: UTF-8 text (it was decoded with U+FFFD replacement)"
    )
    assert violation.at == f"byte {bad}"


# ----------------------------------------------------------------- stream.framing_terminated


def test_framing_terminated_flags_a_stream_cut_mid_event(build):
    raw = sse(text_events())[:-30]
    start_of_last = len(sse(text_events()[:-1]))
    [violation] = run("stream.framing_terminated", build.stream(raw))
    assert violation.message == (
        f"Received: stream ended mid-event after 7 complete events ({len(raw) - start_of_last} bytes of an unterminated event)"
        "\nExpected: every event ends with a blank line"
    )
    assert violation.at == f"byte {start_of_last}"


def test_framing_terminated_quotes_the_transport_error(build):
    raw = sse(text_events())[:-30]
    [violation] = run("stream.framing_terminated", build.stream(raw, error="read timeout: nothing received for 60 s"))
    assert violation.message.endswith("\nExpected: every event ends with a blank line\nNote: the transport reports: read timeout: nothing received for 60 s")


@pytest.mark.parametrize("check_id", ["stream.framing_terminated", "stream.ends_with_message_stop", "stream.message_delta_stop_reason"])
def test_a_body_our_size_cap_cut_is_not_judged_at_its_end(build, check_id):
    raw = sse(text_events())[:-30]
    with pytest.raises(Unjudgeable, match=f"^not judged: the suite's size cap cut the answer after {len(raw)} bytes$"):
        run(check_id, build.stream(raw, truncated=True))


@pytest.mark.parametrize("check_id", ["stream.framing_terminated", "stream.ends_with_message_stop"])
def test_a_stream_we_stopped_waiting_for_is_not_judged_at_its_end(build, check_id):
    subject = build.stream(sse(text_events())[:-30], error="no complete answer within 300 s (whole-exchange timeout)", error_kind="timeout")
    with pytest.raises(Unjudgeable, match=r"^not judged: the suite stopped waiting for the rest of the answer \(no complete answer within 300 s"):
        run(check_id, subject)
    with pytest.raises(Unjudgeable):
        subject.message()


def test_an_event_over_our_size_cap_stops_reading_and_is_no_verdict(build):
    small = Build(dataclasses.replace(build.contract, max_event_bytes=1024))
    events = text_events("x" * 2000)
    subject = small.stream(events)
    begins = len(sse(events[:3]))
    cap = f"not judged: an event at byte {begins:,} is larger than the suite's cap of 1,024 bytes for one event; reading stopped there"
    for check_id in ("stream.framing_terminated", "stream.ends_with_message_stop"):
        with pytest.raises(Unjudgeable) as caught:
            run(check_id, subject)
        assert str(caught.value) == cap
    assert judged("stream.event_order", subject) == ("2 events after message_start in the documented order",)  # what came before the cap
    with pytest.raises(Unjudgeable, match="so the final message is unknown"):
        subject.message()


def test_a_stream_past_our_event_cap_is_judged_up_to_it(build):
    events = [start(), block_start(), *(text_delta("x") for _ in range(MAX_FRAMES + 5)), block_stop(), message_delta(), STOP]
    subject = build.stream(events)
    with pytest.raises(Unjudgeable, match=f"^not judged: the suite reads at most {MAX_FRAMES:,} events of a stream"):
        run("stream.ends_with_message_stop", subject)
    assert judged("stream.event_order", subject) == (f"{MAX_FRAMES - 1:,} events after message_start in the documented order",)
    assert judged("stream.delta_matches_block", subject) == (f"the kind of {MAX_FRAMES - 2:,} deltas against its block",)


# ------------------------------------------------------------ grammar routing (stream.*)


def test_message_start_first_flags_a_duplicate_message_start(build):
    # peers.md §4.6 #8 (LiteLLM #32357): a second message_start with the same id.
    events = [start(), block_start(), text_delta("Grüße"), start(), text_delta(" ok"), block_stop(), message_delta(), STOP]
    subject = build.stream(events)
    [violation] = run("stream.message_start_first", subject)
    assert violation.message == f"Received: can't accept message_start in state IN_BLOCK (event #3)\nExpected: content_block_delta or content_block_stop{ANYWHERE}"
    assert violation.at == "event #3 (message_start)"
    assert findings(subject) == {"stream.message_start_first": [violation.message]}  # no cascade into other checks


def test_message_start_first_flags_a_block_before_message_start(build):
    assert messages("stream.message_start_first", build.stream(text_events()[1:])) == [f"Received: can't accept content_block_start in state BEFORE_START (event #0)\nExpected: message_start{ANYWHERE}"]


def test_event_order_flags_message_delta_inside_a_block(build):
    events = [start(), block_start(), text_delta("ok"), message_delta(), block_stop(), STOP]
    [violation] = run("stream.event_order", build.stream(events))
    assert violation.message == f"Received: can't accept message_delta in state IN_BLOCK (event #3)\nExpected: content_block_delta or content_block_stop{ANYWHERE}"
    assert violation.event_index == 3


def test_event_order_flags_a_nested_block(build):
    events = [start(), block_start(0), block_start(1, "tool_use"), block_stop(1), block_stop(0), message_delta(), STOP]
    assert messages("stream.event_order", build.stream(events)) == [f"Received: can't accept content_block_start in state IN_BLOCK (event #2)\nExpected: content_block_delta or content_block_stop{ANYWHERE}"]


def test_block_indices_sequential_flags_a_first_block_at_one(build):
    events = [start(), block_start(1), text_delta("ok", 1), block_stop(1), message_delta(), STOP]
    [violation] = run("stream.block_indices_sequential", build.stream(events))
    assert violation.message == "Received: content_block_start with index 1 (event #1)\nExpected: index 0: blocks are numbered 0, 1, 2… in the order they start"
    assert violation.at == "event #1 (content_block_start)"


def test_block_indices_sequential_flags_a_block_reopened_per_tool_chunk(build):
    # peers.md §4.6 #11 (nanoclaw #1241): a new block for every tool-argument chunk, same index again.
    events = [
        start(),
        block_start(0, "tool_use"),
        delta("input_json_delta", 0, partial_json='{"city": '),
        block_stop(0),
        block_start(0, "tool_use"),
        delta("input_json_delta", 0, partial_json='"Paris"}'),
        block_stop(0),
        message_delta("tool_use"),
        STOP,
    ]
    assert messages("stream.block_indices_sequential", build.stream(events)) == [
        "Received: content_block_start with index 0 (event #4)\nExpected: index 1: blocks are numbered 0, 1, 2… in the order they start"
    ]


def test_block_indices_sequential_flags_a_delta_for_another_block(build):
    events = [start(), block_start(0), text_delta("ok", 1), block_stop(0), message_delta(), STOP]
    assert messages("stream.block_indices_sequential", build.stream(events)) == [
        "Received: content_block_delta with index 1 (event #2)\nExpected: index 0, the open block"
    ]


def test_delta_matches_block_flags_reasoning_inside_text(build):
    # peers.md §4.6 #9 (LiteLLM #32357, #33224): thinking_delta inside a text block.
    events = [start(), block_start(0), delta("thinking_delta", 0, thinking="hmm"), block_stop(0), message_delta(), STOP]
    [violation] = run("stream.delta_matches_block", build.stream(events))
    assert violation.message == "Received: thinking_delta in a text block (index 0, event #2)\nExpected: thinking_delta only in thinking blocks"
    assert violation.at == "event #2 (content_block_delta)"


def test_delta_matches_block_flags_tool_json_inside_text(build):
    events = [start(), block_start(0), delta("input_json_delta", 0, partial_json="{}"), block_stop(0), message_delta(), STOP]
    assert messages("stream.delta_matches_block", build.stream(events)) == [
        "Received: input_json_delta in a text block (index 0, event #2)\nExpected: input_json_delta only in mcp_tool_use or server_tool_use or tool_use blocks"
    ]


# -------------------------------------------------------------- stream.message_delta_stop_reason


def test_message_delta_stop_reason_flags_null(build):
    events = text_events(stop_reason=None)
    [violation] = run("stream.message_delta_stop_reason", build.stream(events))
    assert violation.message == "Received: stop_reason null in the last message_delta\nExpected: a non-null stop_reason"
    assert violation.at == at(events, 6, "message_delta") + " /delta/stop_reason"


def test_message_delta_stop_reason_judges_the_last_message_delta(build):
    events = [start(), block_start(), text_delta("ok"), block_stop(), message_delta(None, output_tokens=1), message_delta("end_turn"), STOP]
    assert run("stream.message_delta_stop_reason", build.stream(events)) == []
    events = [start(), block_start(), text_delta("ok"), block_stop(), message_delta("end_turn", output_tokens=1), message_delta(""), STOP]
    assert messages("stream.message_delta_stop_reason", build.stream(events)) == ['Received: stop_reason "" in the last message_delta\nExpected: a non-null stop_reason']


# ---------------------------------------------------------------- stream.ends_with_message_stop


def test_ends_with_message_stop_flags_a_missing_message_stop(build):
    [violation] = run("stream.ends_with_message_stop", build.stream(text_events()[:-1]))
    assert violation.message == "Received: stream ended in state AFTER_DELTA after 7 events\nExpected: message_stop (or an error event) as the last event"


def test_ends_with_message_stop_flags_events_after_message_stop(build):
    [violation] = run("stream.ends_with_message_stop", build.stream([*text_events(), message_delta()]))
    assert violation.message == "Received: can't accept message_delta in state DONE (event #8)\nExpected: the end of the stream"
    assert violation.at == "event #8 (message_delta)"


def test_ends_with_message_stop_lets_a_ping_trail(build):
    # Pings come anywhere (DOC-STR) and the SDK skips them, after message_stop too.
    assert run("stream.ends_with_message_stop", build.stream([*text_events(), PING, PING])) == []


def test_ends_with_message_stop_quotes_the_transport_error(build):
    subject = build.stream(text_events()[:-1], error="read timeout: nothing received for 60 s")
    assert messages("stream.ends_with_message_stop", subject) == [
        "Received: stream ended in state AFTER_DELTA after 7 events\nExpected: message_stop (or an error event) as the last event"
        "\nNote: the transport reports: read timeout: nothing received for 60 s"
    ]


# ----------------------------------------------------------------------- stream.event_schema


def test_event_schema_flags_message_delta_without_usage(build):
    # peers.md §4.6 #5 (pi #6567): message_delta with no usage object crashes clients.
    events = text_events()
    events[-2] = {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}}
    [violation] = run("stream.event_schema", build.stream(events))
    assert violation.message == "Received: 'usage' is a required property\nExpected: a message_delta event as documented"
    assert violation.at == at(events, 6, "message_delta") + " /"


def test_event_schema_flags_tool_use_start_without_input(build):
    # peers.md §4.6 #13 (cc-switch #2557): content_block_start for tool_use lacks input: {}.
    events = [start(), block_start(0, "tool_use"), delta("input_json_delta", 0, partial_json="{}"), block_stop(0), message_delta("tool_use"), STOP]
    del events[1]["content_block"]["input"]
    [violation] = run("stream.event_schema", build.stream(events))
    assert violation.message == "Received: 'input' is a required property\nExpected: a content_block_start event as documented"
    assert violation.at == at(events, 1, "content_block_start") + " /content_block"


def test_event_schema_reports_at_most_ten_violations(build):
    events = [start(), block_start(), *({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta"}} for _ in range(12)), block_stop(), message_delta(), STOP]
    found = run("stream.event_schema", build.stream(events))
    assert len(found) == 10
    assert {v.message for v in found} == {"Received: 'text' is a required property\nExpected: a content_block_delta event as documented"}


# ---------------------------------------------------------------- stream.text_matches_twin


def test_text_matches_twin_passes_the_same_text_in_any_pieces(build):
    assert run("stream.text_matches_twin", build.stream(text_events("Gr", "üße", " ok"), twin=build.twin())) == []


@pytest.mark.parametrize(
    ("pieces", "received"),
    [(("Grüße",), "Grüße"), (("Grüße", "Grüße", " ok"), "GrüßeGrüße ok"), ((" ok",), " ok")],
    ids=["last-delta-dropped", "delta-repeated", "first-delta-dropped"],
)
def test_text_matches_twin_flags_text_lost_or_repeated_on_the_way(build, pieces, received):
    assert messages("stream.text_matches_twin", build.stream(text_events(*pieces), twin=build.twin())) == [
        f'Received: text "{received}" rebuilt from the stream, "Grüße ok" not streamed (plain)\nExpected: the same text both ways (the prompt asks for exactly "Grüße ok")'
    ]


def test_text_matches_twin_flags_a_non_stream_answer_that_lost_text(build):
    assert len(run("stream.text_matches_twin", build.stream(twin=build.twin(message("Grüße"))))) == 1


def test_text_matches_twin_is_not_forced_when_neither_answer_follows_the_prompt(build):
    # A sampling mock behind a faithful gateway: two different answers, neither the one asked for, no repeat to call it deterministic.
    with pytest.raises(NotForced) as caught:
        run("stream.text_matches_twin", build.stream(text_events("Lorem ipsum"), twin=build.twin(message("Dolor sit amet"))))
    assert str(caught.value) == (
        'Received: text "Lorem ipsum" streamed, "Dolor sit amet" not streamed\n'
        'Expected: a target that answers this request identically every time, or an answer that follows the prompt ("Grüße ok") (neither holds, so the two are different samples)'
    )


def _identical(build, text, sids=("plain", "auth.bearer")):
    """Non-streamed answers with the same text to the plain request: a deterministic target (a canned mock)."""
    return [build.exchange(body=message(text), request=request_json(), scenario=sid) for sid in sids]


def test_text_matches_twin_judges_a_deterministic_target_exactly(build):
    # A canned mock that always says "Hi there." and a proxy that drops the last delta: no prompt is followed, yet the loss is certain.
    twin, *peers = _identical(build, "Hi there.")
    subject = build.subject(build.exchange(body=sse(text_events("Hi", " there")), request=request_json(stream=True), scenario="plain.stream"), twin=twin, peers=[twin, *peers])
    assert messages("stream.text_matches_twin", subject) == [
        'Received: text "Hi there" rebuilt from the stream, "Hi there." not streamed (plain)\n'
        "Expected: the same text both ways (the target answered the same request identically 2 times (auth.bearer, plain))"
    ]


def test_text_matches_twin_does_not_call_two_different_answers_deterministic(build):
    twin = build.exchange(body=message("Hi there."), request=request_json(), scenario="plain")
    other = build.exchange(body=message("Hello."), request=request_json(), scenario="auth.bearer")
    subject = build.subject(build.exchange(body=sse(text_events("Hi")), request=request_json(stream=True), scenario="plain.stream"), twin=twin, peers=[twin, other])
    with pytest.raises(NotForced):
        run("stream.text_matches_twin", subject)


def test_text_matches_twin_names_what_it_judged_and_skips_answers_without_text(build):
    assert judged("stream.text_matches_twin", build.stream(twin=build.twin())) == ("the same text both ways (8 characters)",)
    tool = {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}
    twin = build.twin(message(content=[tool], stop_reason="tool_use"))
    events = [start(), block_start(0, "tool_use"), delta("input_json_delta", 0, partial_json='{"city": "Paris"}'), block_stop(0), message_delta("tool_use"), STOP]
    with pytest.raises(NotApplicable, match="neither answer has a text block"):
        run("stream.text_matches_twin", build.stream(events, twin=twin))


# ---------------------------------------------------------------- stream.rebuilt_matches_twin


def test_rebuilt_matches_twin_passes_the_same_shape(build):
    assert run("stream.rebuilt_matches_twin", build.stream(text_events("Grüße", " ok"), twin=build.twin())) == []


def test_rebuilt_matches_twin_does_not_compare_two_different_samples(build):
    # Two samples of a model at temperature 1 need not agree: one may run to max_tokens, one may open with text before a tool call.
    with pytest.raises(NotForced) as caught:
        run("stream.rebuilt_matches_twin", build.stream(text_events("Hello", " there", stop_reason="max_tokens"), twin=build.twin()))
    assert str(caught.value) == (
        'Received: text "Hello there" streamed, "Grüße ok" not streamed, from a target that does not answer this request identically every time\n'
        "Expected: two answers that can be compared on their shapes (the same text, or a deterministic target)"
    )


def test_rebuilt_matches_twin_compares_shapes_on_a_deterministic_target(build):
    # The texts differ (a dropped delta is text_matches_twin's finding), but a deterministic target must keep the shape.
    twin, *peers = _identical(build, "Hi there.")
    events = text_events("Hi", " there", stop_reason="max_tokens")
    subject = build.subject(build.exchange(body=sse(events), request=request_json(stream=True), scenario="plain.stream"), twin=twin, peers=[twin, *peers])
    assert messages("stream.rebuilt_matches_twin", subject) == [
        'Received: stop_reason "max_tokens" in the message rebuilt from the stream\nExpected: "end_turn", as the same request not streamed (plain)'
    ]
    assert judged("stream.rebuilt_matches_twin", subject)[0].endswith("(the target answered the same request identically 2 times (auth.bearer, plain))")


def test_rebuilt_matches_twin_flags_a_dropped_tool_call(build):
    # peers.md §4.6 #10 and #29: the stream loses the tool_use block the plain answer has.
    tool = {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}
    twin = build.twin(message(content=[{"type": "text", "text": "Checking."}, tool], stop_reason="tool_use"))
    found = run("stream.rebuilt_matches_twin", build.stream(text_events("Checking."), twin=twin))
    assert [v.message for v in found] == [
        'Received: stop_reason "end_turn" in the message rebuilt from the stream\nExpected: "tool_use", as the same request not streamed (plain)',
        'Received: content types ["text"] in the message rebuilt from the stream\nExpected: ["text", "tool_use"], as the same request not streamed (plain)',
    ]
    assert [v.at for v in found] == ["rebuilt message /stop_reason", "rebuilt message /content_types"]


def test_rebuilt_matches_twin_flags_a_missing_stop_sequence(build):
    twin = build.twin(message("one two three ", stop_reason="stop_sequence", stop_sequence="XYZZY"), scenario="stop_sequence")
    found = run("stream.rebuilt_matches_twin", build.stream(text_events("one two three "), twin=twin))
    assert [v.message for v in found] == [
        'Received: stop_reason "end_turn" in the message rebuilt from the stream\nExpected: "stop_sequence", as the same request not streamed (stop_sequence)',
        'Received: stop_sequence null in the message rebuilt from the stream\nExpected: "XYZZY", as the same request not streamed (stop_sequence)',
    ]


def test_rebuilt_matches_twin_needs_a_successful_twin(build):
    with pytest.raises(NotApplicable, match="no successful non-stream twin"):
        run("stream.rebuilt_matches_twin", build.stream(twin=build.twin(status=500)))


def test_rebuilt_matches_twin_needs_a_message_start(build):
    with pytest.raises(NotApplicable, match="no message_start"):
        run("stream.rebuilt_matches_twin", build.stream(text_events()[1:], twin=build.twin()))


def test_rebuilt_matches_twin_leaves_a_null_stop_reason_to_message_delta_stop_reason(build):
    assert run("stream.rebuilt_matches_twin", build.stream(text_events(stop_reason=None), twin=build.twin())) == []


def test_a_broken_stream_has_no_final_message_to_judge(build):
    # One broken order explains everything after it: message-level checks step aside.
    events = [start(), block_start(), text_delta("ok"), message_delta(), block_stop(), STOP]
    subject = build.stream(events, twin=build.twin())
    for cid in ("stream.rebuilt_matches_twin", "usage.output_within_max_tokens", "stop_reason.known_value"):
        with pytest.raises(NotApplicable, match=r"the stream is broken"):
            run(cid, subject)
    cut = build.stream(sse(text_events())[:-30] + b"\n", twin=build.twin())
    with pytest.raises(NotApplicable, match=r"the stream is broken"):
        run("usage.stream_matches_twin", cut)


# ---------------------------------------------------------------------- stream.text_intact


def test_text_intact_passes_the_same_characters(build):
    assert run("stream.text_intact", build.stream(text_events("Grü", "ße ok"), twin=build.twin())) == []


def test_text_intact_flags_replacement_characters_from_a_chunk_decoding_proxy(build):
    # A proxy that decodes each upstream chunk on its own turns the two bytes of ü into U+FFFD U+FFFD.
    [violation] = run("stream.text_intact", build.stream(text_events("Gr\ufffd\ufffd", "ße ok"), twin=build.twin()))
    assert violation.message == 'Received: streamed text "Gr\ufffd\ufffdße ok" with U+FFFD replacement characters\nExpected: "Grüße ok", as the same request not streamed'
    assert violation.at == "text_delta events"


def test_text_intact_accepts_replacement_characters_the_model_really_wrote(build):
    twin = build.twin(message("bad \ufffd byte"))
    assert run("stream.text_intact", build.stream(text_events("bad \ufffd byte"), twin=twin)) == []


def test_text_intact_leaves_invalid_bytes_to_utf8_valid(build):
    raw = sse(text_events()).replace("ü".encode(), b"\xfc")
    with pytest.raises(NotApplicable, match=r"stream\.utf8_valid"):
        run("stream.text_intact", build.stream(raw, twin=build.twin()))


def test_text_intact_needs_a_twin(build):
    with pytest.raises(NotApplicable, match="no successful non-stream twin"):
        run("stream.text_intact", build.stream(text_events("Gr\ufffd")))


# ---------------------------------------------------------------- stream.block_start_empty


def test_block_start_empty_passes_the_documented_starts(build):
    events = [start(), block_start(0, "thinking"), delta("thinking_delta", 0, thinking="Hm."), delta("signature_delta", 0, signature="EqQB"), block_stop(0),
              block_start(1), text_delta("ok", 1), block_stop(1), block_start(2, "tool_use"), delta("input_json_delta", 2, partial_json="{}"), block_stop(2),
              block_start(3, "web_search_tool_result"), block_stop(3), message_delta(), STOP]
    assert run("stream.block_start_empty", build.stream(events)) == []


def test_block_start_empty_flags_content_put_into_the_start(build):
    events = text_events()
    events[1] = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": "Grüße ok"}}
    events[3:5] = []
    [violation] = run("stream.block_start_empty", build.stream(events))
    assert violation.message == 'Received: a text block starting with text "Grüße ok"\nExpected: text "", the rest arriving as deltas'
    assert violation.at == "event #1 (content_block_start) @ byte 332"
    tool = {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}}}
    # The whole input at the start and no input_json_delta is programmatic tool calling (legal); with the deltas too it is not.
    assert messages("stream.block_start_empty", build.stream([start(), tool, block_stop(), message_delta("tool_use"), STOP])) == []
    piece = delta("input_json_delta", 0, partial_json='{"city": "Paris"}')
    assert messages("stream.block_start_empty", build.stream([start(), tool, piece, block_stop(), message_delta("tool_use"), STOP])) == [
        'Received: a tool_use block starting with input {"city": "Paris"}\nExpected: input {}, the rest arriving as deltas'
    ]


# ---------------------------------------------------------------- stream.text_intact: surrogates


def test_text_intact_flags_an_emoji_split_into_lone_surrogates(build):
    raw = sse([start(), block_start(), text_delta("Grüße ok "), block_stop(), message_delta(), STOP])
    halves = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\\ud83d"}}\n\n'
    halves += b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\\ude00"}}\n\n'
    cut = raw.index(b"event: content_block_stop")
    twin = build.twin(message("Grüße ok \U0001f600"))
    [violation] = run("stream.text_intact", build.stream(raw[:cut] + halves + raw[cut:], twin=twin))
    # Read as a UTF-8 client must read them, the halves are two U+FFFD (conformance/jsontext.py).
    assert violation.message == 'Received: streamed text "Grüße ok \ufffd\ufffd" with U+FFFD replacement characters\nExpected: "Grüße ok 😀", as the same request not streamed'
    whole = sse([start(), block_start(), text_delta("Grüße ok \U0001f600"), block_stop(), message_delta(), STOP])
    assert run("stream.text_intact", build.stream(whole, twin=twin)) == []


def test_a_json_answer_to_a_stream_request_is_left_to_the_content_type_check(build):
    # The target ignored "stream": true; framing and grammar findings on a JSON body would only mislead.
    subject = build.stream(json.dumps(message()).encode(), content_type="application/json")
    for check_id in ("stream.framing_terminated", "stream.ends_with_message_stop", "stream.event_order"):
        with pytest.raises(NotApplicable, match=r"^the answer is one JSON document \(application/json\), not an event stream"):
            run(check_id, subject)
    labelled = build.stream(json.dumps(message()).encode())  # the same body labelled text/event-stream is judged as the stream it claims to be
    assert run("stream.ends_with_message_stop", labelled) != []


# ------------------------------------------------------------ what each check says it judged


def test_the_judged_items_of_a_plain_stream(build):
    subject = build.stream(twin=build.twin())
    size = len(sse(text_events()))
    assert {cid: judged(cid, subject) for cid in STREAM_CHECKS if cid not in ("stream.text_matches_twin", "stream.rebuilt_matches_twin")} == {
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


DONE_WITHOUT_START = [block_start(), text_delta("Grüße"), text_delta(" ok"), block_stop(), message_delta()]


def test_a_stream_without_message_start_ending_in_done_is_judged_where_it_can_be(build):
    # Issue 9: once message_start is missing, order, index and delta kind were passed on nothing, and the missing end with them.
    subject = build.stream(sse(DONE_WITHOUT_START) + b"data: [DONE]\n\n")
    assert findings(subject) == {
        "stream.message_start_first": [f"Received: can't accept content_block_start in state BEFORE_START (event #0)\nExpected: message_start{ANYWHERE}"],
        "stream.no_done_sentinel": ["Received: data: [DONE]\nExpected: no sentinel; message_stop ends the stream"],
        "stream.ends_with_message_stop": ["Received: stream ended after 5 events, none of them message_stop or an error event\nExpected: message_stop (or an error event) as the last event"],
    }
    reason = "not judged: the stream has no message_start, see stream.message_start_first"
    for cid in ("stream.event_order", "stream.block_indices_sequential", "stream.delta_matches_block"):
        with pytest.raises(NotApplicable) as caught:
            run(cid, subject)
        assert str(caught.value) == reason
    assert judged("stream.ends_with_message_stop", subject) == ("the last of 5 events",)  # [DONE] is no JSON event


def test_a_misordered_stream_without_message_stop_fails_its_end(build):
    events = [start(), block_start(), text_delta("Grüße"), message_delta(), block_stop()]
    subject = build.stream(events)
    assert sorted(findings(subject)) == ["stream.ends_with_message_stop", "stream.event_order"]
    assert judged("stream.block_indices_sequential", subject) == (
        "the indices of 2 block events (1 block), up to event #3 (not judged after it: event #3 is out of order, see stream.event_order)",
    )


def test_events_after_message_stop_fail_even_after_the_grammar_went_silent(build):
    events = [start(), start(), block_start(), text_delta("Grüße"), block_stop(), message_delta(), STOP, PING, text_delta("late")]
    subject = build.stream(events)
    [violation] = run("stream.ends_with_message_stop", subject)
    assert violation.message == "Received: content_block_delta after the stream ended with message_stop (event #6), as event #8\nExpected: the end of the stream"
    with pytest.raises(NotApplicable, match=r"^not judged: a second message_start \(event #1\), see stream.message_start_first$"):
        run("stream.event_order", subject)


def test_a_partly_judged_stream_says_how_far(build):
    events = [start(), block_start(), text_delta("Grüße"), block_stop(), block_start(2), text_delta("x", 2), block_stop(2), message_delta(), STOP]
    subject = build.stream(events)
    assert judged("stream.event_order", subject) == (
        "3 events after message_start in the documented order, up to event #4 (not judged after it: event #4 has a block index out of sequence, see stream.block_indices_sequential)",
    )
    assert judged("stream.message_start_first", subject) == (
        "message_start first (event #0)",
        "no second message_start before event #4 (event #4 has a block index out of sequence, see stream.block_indices_sequential)",
    )
    assert judged("stream.ends_with_message_stop", subject) == ("message_stop ending the stream (event #8 of 9), nothing but pings after it",)


def test_a_stream_with_no_blocks_has_nothing_for_the_block_checks(build):
    subject = build.stream([start(output_tokens=0), message_delta("refusal", output_tokens=0), STOP])
    for cid, reason in [
        ("stream.block_indices_sequential", "the stream has no content blocks"),
        ("stream.delta_matches_block", "the stream has no content_block_delta"),
        ("stream.block_start_empty", "no text, thinking or tool_use block starts in the stream"),
    ]:
        with pytest.raises(NotApplicable, match=f"^{reason}$"):
            run(cid, subject)


def test_an_empty_stream_fails_only_its_end(build):
    subject = build.stream(b"")
    assert findings(subject) == {"stream.ends_with_message_stop": ["Received: stream ended in state BEFORE_START after 0 events\nExpected: message_stop (or an error event) as the last event"]}
    with pytest.raises(NotApplicable, match="no events"):
        run("stream.message_start_first", subject)


def test_a_flood_of_misnamed_events_keeps_ten_and_counts_the_rest(build):
    raw = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in [start(), block_start(), *(text_delta("x") for _ in range(30)), block_stop(), message_delta(), STOP])
    found = run("stream.event_name_matches_type", build.stream(raw))
    assert len(found) == 11
    assert found[-1].message == "Received: 25 more events like these\nExpected: none"
    assert found[-1].at == "after event #9 (content_block_delta) @ byte " + str(found[9].at.split("@ byte ")[1])
