"""read_stream: the real captures read clean, and the layers are wired at the recorded chunk boundaries."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from capture_corpus import corpus

from conformance.exchange import Chunk
from conformance.sse.frames import FrameIssue
from conformance.sse.grammar import GrammarIssue
from conformance.sse.reading import read_file, read_stream

STREAMS = corpus("*.sse")
FRAGMENTS = corpus("fragments/*.sse")


def name(path):
    return path.stem if path else "none"


def reads(chunks: list[bytes]) -> tuple[bytes, list[Chunk]]:
    """A body and its Chunk records, as if each piece were one socket read at t = 0, 1, 2…"""
    records, offset = [], 0
    for n, chunk in enumerate(chunks):
        records.append(Chunk(offset, len(chunk), float(n)))
        offset += len(chunk)
    return b"".join(chunks), records


@pytest.mark.parametrize("path", STREAMS, ids=name)
def test_every_capture_reads_clean(path):
    reading = read_stream(path.read_bytes())
    assert reading.framing == ()
    assert reading.grammar == ()
    assert reading.message is not None
    assert reading.events
    assert all(event.data is not None and event.name == event.data["type"] for event in reading.events)


@pytest.mark.parametrize("path", STREAMS, ids=name)
def test_every_capture_reads_the_same_in_small_reads(path):
    body = path.read_bytes()
    _, chunks = reads([body[i : i + 7] for i in range(0, len(body), 7)])
    small = read_stream(body, chunks)
    whole = read_stream(body)
    assert small.message == whole.message
    assert [event.raw for event in small.events] == [event.raw for event in whole.events]
    assert (small.framing, small.grammar) == ((), ())


@pytest.mark.parametrize("path", FRAGMENTS, ids=name)
def test_fragments_frame_clean_and_carry_json(path):
    reading = read_stream(path.read_bytes())
    assert reading.framing == ()
    assert reading.events
    assert all(isinstance(json.loads(event.raw), dict) for event in reading.events)


def test_fragment_ending_in_an_error_event_is_a_start_violation_only(captures):
    (path,) = captures.glob("fragments/f1-*.sse")
    reading = read_stream(path.read_bytes())
    assert [(v.kind, v.event_index) for v in reading.grammar] == [(GrammarIssue.START, 0)]
    assert reading.events[-1].data["error"]["type"] == "api_error"
    assert reading.message is None


START = b'event: message_start\ndata: {"type":"message_start","message":{"content":[],"usage":{}}}\n\n'
DELTA = (
    b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{}}\n\n'
)
STOP = b'event: message_stop\ndata: {"type":"message_stop"}\n\n'


def test_events_are_frames_with_data_numbered_among_themselves():
    body = b": hello\n\n" + START + b"event: ping\n\n" + b"data: [DONE]\n\n" + DELTA + STOP
    reading = read_stream(body)
    assert len(reading.frames) == 6
    assert [(e.index, e.frame.index, e.name) for e in reading.events] == [
        (0, 1, "message_start"),
        (1, 3, None),
        (2, 4, "message_delta"),
        (3, 5, "message_stop"),
    ]
    assert (reading.events[1].raw, reading.events[1].data) == ("[DONE]", None)
    assert reading.grammar == ()
    assert reading.message == {"content": [], "usage": {}, "stop_reason": "end_turn"}


def test_non_object_json_is_not_judged_by_the_grammar():
    reading = read_stream(START + b"data: [1, 2]\n\ndata: 3\n\ndata: {bad\n\n" + DELTA + STOP)
    assert [e.data for e in reading.events[1:4]] == [None, None, None]
    assert reading.grammar == ()


def test_frames_carry_the_recorded_arrival_times():
    body, chunks = reads([START[:10], START[10:] + DELTA[:-1], DELTA[-1:] + STOP])
    reading = read_stream(body, chunks)
    assert [frame.t for frame in reading.frames] == [1.0, 2.0, 2.0]
    assert reading.grammar == ()


def test_bytes_after_the_last_chunk_are_still_read():
    body, chunks = reads([START, DELTA])
    reading = read_stream(body + STOP, chunks)
    assert [frame.t for frame in reading.frames] == [0.0, 1.0, None]
    assert reading.grammar == ()


def test_grammar_violations_carry_the_event_index():
    reading = read_stream(START + STOP)
    assert [(v.kind, v.event_index, v.message) for v in reading.grammar] == [
        (GrammarIssue.ORDER, 1, "Received: can't accept message_stop in state IN_MESSAGE (event #1)\nExpected: content_block_start or message_delta (ping and error are accepted anywhere before the end)")
    ]


def test_a_truncated_stream_has_both_framing_and_grammar_findings():
    reading = read_stream(START + DELTA[:30])
    assert [v.kind for v in reading.framing] == [FrameIssue.EOF_MID_EVENT]
    assert [v.kind for v in reading.grammar] == [GrammarIssue.NO_END]
    assert reading.grammar[0].message.startswith("Received: stream ended in state IN_MESSAGE after 1 events")


def test_delta_table_and_size_cap_are_passed_through():
    block = b'data: {"type":"content_block_start","index":0,"content_block":{"type":"text"}}\n\n'
    thinking = b'data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta"}}\n\n'
    assert read_stream(START + block + thinking).grammar[0].kind is GrammarIssue.DELTA_KIND
    lenient = read_stream(START + block + thinking, delta_blocks={"thinking_delta": frozenset({"text"})})
    assert lenient.grammar[0].kind is GrammarIssue.NO_END
    capped = read_stream(START + DELTA + STOP, max_event_bytes=len(START))
    # An event over our cap stops reading there: judging around the hole would blame the target for our limit.
    assert capped.framing == capped.grammar == ()
    assert [e.name for e in capped.events] == ["message_start"]
    assert capped.limit == f"an event at byte {len(START)} is larger than the suite's cap of {len(START)} bytes for one event; reading stopped there"
    assert capped.unread == len(DELTA + STOP)


def test_a_file_reads_like_a_body_and_walks_again_past_keep(tmp_path):
    body = START + b"".join([DELTA] * 50) + STOP
    path = tmp_path / "stream.sse"
    path.write_bytes(body)
    whole = read_stream(body)
    for keep in (1_000, 7):
        kept = read_file(path, keep=keep)
        assert (kept.framing, kept.grammar, kept.message, kept.progress, kept.limit) == (whole.framing, whole.grammar, whole.message, whole.progress, None)
        assert len(kept.events) == len(whole.events) == 52
        assert [e.raw for e in kept.events] == [e.raw for e in whole.events]  # twice: a view reads the file again
        assert [e.raw for e in kept.events] == [e.raw for e in whole.events]
        assert [f.t for f in kept.frames] == [None] * 52  # a file has no arrival times
        assert (kept.events[-1].index, kept.events[3].raw, [e.index for e in kept.events[1:3]]) == (51, whole.events[3].raw, [1, 2])
    view = read_file(path, keep=7).events
    assert isinstance(view, Sequence)
    assert not isinstance(view, tuple)


def test_empty_body():
    reading = read_stream(b"")
    assert (reading.frames, reading.events, reading.framing, reading.message) == ((), (), (), None)
    assert [v.kind for v in reading.grammar] == [GrammarIssue.NO_END]
