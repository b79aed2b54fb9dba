"""Hypothesis on the reading layer (framer → JSON → grammar → rebuild) with hostile bodies and read boundaries.

tests/sse fuzzes each layer alone; what is left is their wiring: the recorded read boundaries, the
frame cap, JSON that is deep, huge or not JSON at all, and a flood of events (which the cap cuts).
"""

from __future__ import annotations

import itertools
import json
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.exchange import Chunk
from conformance.sse.grammar import GrammarIssue
from conformance.sse.reading import StreamReading, read_stream
from conformance.sse.rebuild import rebuild

# Adversarial JSON: nesting deeper than any parser's stack, numbers no float holds, NaN, lone surrogates.
DEEP = st.integers(1, 3000).map(lambda n: "[" * n + "]" * n)
ODD = st.sampled_from(["NaN", "-Infinity", "1e999", "123456789012345678901234567890", '"\\ud800"', '"\\u0000"', "null", "{}", "[]", '""'])
SCALAR = st.one_of(ODD, st.integers().map(str), st.text(max_size=6).map(json.dumps))
VALUE = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=3).map(lambda xs: "[" + ",".join(xs) + "]")
                     | st.dictionaries(st.sampled_from(["type", "index", "delta", "text", "message", "usage", "content_block"]), inner, max_size=3)
                     .map(lambda d: "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in d.items()) + "}"), max_leaves=6)
TYPES = st.sampled_from(["message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop", "ping", "error"])


@st.composite
def event_data(draw: st.DrawFn) -> str:
    """A data payload: mostly an event-shaped object with adversarial values, sometimes anything at all."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.one_of(DEEP, VALUE, st.text(max_size=20)))
    fields = {"type": json.dumps(draw(TYPES))}
    for name in draw(st.lists(st.sampled_from(["index", "message", "content_block", "delta", "usage"]), max_size=3, unique=True)):
        fields[name] = draw(st.one_of(VALUE, DEEP, st.integers(-1, 3).map(str)))
    return "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in fields.items()) + "}"


@st.composite
def stream_body(draw: st.DrawFn) -> bytes:
    pieces = []
    for data in draw(st.lists(event_data(), max_size=12)):
        name = draw(st.sampled_from(["", "event: x\n", "event: message_start\n", ": comment\n"]))
        ending = draw(st.sampled_from([b"\n\n", b"\r\n\r\n", b"\r\r", b"\n"]))
        pieces.append(name.encode() + b"data: " + data.encode("utf-8", "surrogatepass") + ending)
    tail = draw(st.sampled_from([b"", b"data: {\"type\":", b"\xff\xfe", b"\r"]))
    return b"".join(pieces) + tail


@st.composite
def recorded(draw: st.DrawFn) -> tuple[bytes, list[Chunk]]:
    """A body and the reads it arrived in, as the transport records them."""
    body = draw(stream_body())
    cuts = sorted(set(draw(st.lists(st.integers(0, len(body)), max_size=10))))
    bounds = [0, *cuts, len(body)]
    return body, [Chunk(a, b - a, float(i)) for i, (a, b) in enumerate(itertools.pairwise(bounds)) if b > a]


def seen(reading: StreamReading) -> tuple[object, ...]:
    """Everything a check can read, without arrival times (those do follow the reads)."""
    frames = [(f.index, f.event, f.data, f.id, f.comments, f.fields, f.start, f.end, f.endings) for f in reading.frames]
    events = [(e.index, e.name, e.raw, json.dumps(e.data, sort_keys=True, default=str) if e.data is not None else None) for e in reading.events]
    try:
        message = json.dumps(reading.message, sort_keys=True, default=str)
    except (ValueError, RecursionError):
        message = repr(type(reading.message))
    return frames, events, reading.framing, reading.grammar, message, reading.unread


@settings(max_examples=300)
@given(recorded(), st.integers(1, 8))
def test_fuzz_reading_never_raises_and_ignores_read_boundaries(case, cap):
    body, chunks = case
    assert seen(read_stream(body, chunks, max_frames=cap)) == seen(read_stream(body, max_frames=cap))
    assert seen(read_stream(body, chunks)) == seen(read_stream(body))


@settings(max_examples=300)
@given(recorded(), st.integers(1, 8))
def test_fuzz_the_frame_cap_keeps_exactly_a_prefix(case, cap):
    body, chunks = case
    whole, capped = read_stream(body, chunks), read_stream(body, chunks, max_frames=cap)
    if len(whole.frames) <= cap:
        assert seen(capped) == seen(whole)
        return
    assert seen(capped)[0] == seen(read_stream(body[: whole.frames[cap - 1].end]))[0] == seen(whole)[0][:cap]
    assert capped.unread == len(body) - whole.frames[cap - 1].end > 0
    assert capped.limit is not None
    assert capped.limit.startswith(f"the suite reads at most {cap:,} events of a stream")
    assert not any(v.kind is GrammarIssue.NO_END for v in capped.grammar)  # the end was not read, so it is not judged


def test_a_flood_of_tiny_events_is_cut_at_the_cap_fast():
    delta = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"ha"}}\n\n'
    head = b'data: {"type":"message_start","message":{"content":[]}}\n\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n'
    body = head + delta * 300_000  # 33 MB, the transport's cap, in a single recorded read
    started = time.monotonic()
    reading = read_stream(body, [Chunk(0, len(body), 0.0)], max_frames=10_000)
    assert time.monotonic() - started < 10, "reading stops at the cap instead of framing 33 MB"
    assert len(reading.frames) == 10_000
    assert reading.unread == len(body) - reading.frames[-1].end
    assert reading.message is not None
    assert reading.message["content"][0]["text"] == "ha" * 9_998
    assert reading.grammar == ()  # no verdict on an end that was never read: the limit is ours
    assert reading.limit == f"the suite reads at most 10,000 events of a stream; reading stopped after byte {reading.frames[-1].end:,}"


PIECE = st.one_of(st.text(max_size=5), st.integers(), st.none(), st.lists(st.text(max_size=2), max_size=2))
DELTA_STEP = st.tuples(st.just("delta"), st.integers(0, 2), st.sampled_from(["text", "thinking"]), PIECE)
START_STEP = st.tuples(st.just("start"), st.integers(0, 2), st.sampled_from(["text", "thinking"]), st.one_of(st.text(max_size=3), st.integers()))


@settings(max_examples=300)
@given(st.lists(st.one_of(DELTA_STEP, DELTA_STEP, START_STEP), max_size=30))
def test_fuzz_text_accumulation_matches_the_sdk_model(steps):
    """Pieces join in order per block and field; a non-string piece or field is left alone; a restarted block starts over."""
    events: list[dict[str, object]] = [{"type": "message_start", "message": {"content": []}}]
    model: dict[int, dict[str, object]] = {}
    for kind, index, key, value in steps:
        if kind == "start":
            events.append({"type": "content_block_start", "index": index, "content_block": {"type": key, key: value}})
            model[index] = {"type": key, key: value}
            continue
        events.append({"type": "content_block_delta", "index": index, "delta": {"type": f"{key}_delta", key: value}})
        block = model.get(index)
        if block is not None and isinstance(value, str) and isinstance(block.get(key, ""), str):
            block[key] = str(block.get(key, "")) + value
    message = rebuild(events)
    assert message is not None
    assert message["content"] == [model[i] for i in sorted(model)]


@settings(max_examples=100)
@given(st.integers(900, 12_000), st.sampled_from(["message", "delta", "usage", "content_block"]))
def test_fuzz_deep_json_anywhere_in_an_event_never_raises(depth, field):
    deep = "[" * depth + "]" * depth
    events = [
        '{"type":"message_start","message":{"content":[],"usage":{"input_tokens":1}}}',
        f'{{"type":"content_block_start","index":0,"{field}":{deep}}}',
        f'{{"type":"message_delta","{field}":{deep},"delta":{{"stop_reason":{deep}}}}}',
        '{"type":"message_stop"}',
    ]
    body = "".join(f"data: {e}\n\n" for e in events).encode()
    reading = read_stream(body)
    assert len(reading.events) == 4
    assert reading.events[0].data is not None
