"""Framer: WHATWG line and field rules, chunk-boundary independence, bounded memory."""

from __future__ import annotations

import itertools
import re
import tracemalloc
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.sse.framer import Framer
from conformance.sse.frames import Frame, FrameIssue, FrameTable, LineEnding

TRAILING = b"data: trailing"


def run(chunks: list[bytes], **kwargs: int) -> tuple[list[Frame], list]:
    framer = Framer(**kwargs)
    frames = [frame for chunk in chunks for frame in framer.feed(chunk)]
    frames += framer.flush()
    violations = framer.close()
    columns, table = Framer(**kwargs), FrameTable()  # the same frames kept as columns (what a reading keeps)
    for chunk in chunks:
        columns.feed_into(table, chunk)
    columns.flush_into(table)
    assert [table.frame(i) for i in range(len(table))] == frames
    assert columns.close() == violations
    return frames, violations


def ways(data: bytes) -> Iterator[list[bytes]]:
    """Whole, byte by byte, and every split in two: the frames must not depend on where reads end."""
    yield [data]
    yield [data[i : i + 1] for i in range(len(data))]
    for cut in range(1, len(data)):
        yield [data[:cut], data[cut:]]


def frame_it(data: bytes, **kwargs: int) -> tuple[list[Frame], list]:
    """Frames and violations of ``data``, after checking every feeding gives the same (h11 style)."""
    frames, violations = run([data], **kwargs)
    for chunks in ways(data):
        assert run(chunks, **kwargs) == (frames, violations), chunks
    if not any(v.kind is FrameIssue.EOF_MID_EVENT for v in violations):
        more_frames, more = run([data, TRAILING], **kwargs)
        assert more_frames == frames
        assert [v.kind for v in more] == [v.kind for v in violations] + [FrameIssue.EOF_MID_EVENT]
    return frames, violations


def pairs(frames: list[Frame]) -> list[tuple[str | None, str | None]]:
    return [(frame.event, frame.data) for frame in frames]


@pytest.mark.parametrize(
    ("eol", "kind"),
    [(b"\n", LineEnding.LF), (b"\r", LineEnding.CR), (b"\r\n", LineEnding.CRLF)],
    ids=["LF", "CR", "CRLF"],
)
def test_each_line_ending_frames_the_same(eol, kind):
    data = b"event: a" + eol + b"data: 1" + eol + eol + b"event: b" + eol + b"data: 2" + eol + eol
    frames, violations = frame_it(data)
    assert violations == []
    assert pairs(frames) == [("a", "1"), ("b", "2")]
    assert [frame.endings for frame in frames] == [frozenset({kind})] * 2
    half = len(data) // 2
    assert [(frame.index, frame.start, frame.end) for frame in frames] == [(0, 0, half), (1, half, len(data))]


def test_mixed_line_endings_are_recorded_per_block():
    frames, violations = frame_it(b"event: a\r\ndata: 1\r\rdata: 2\n\r\n")
    assert violations == []
    assert pairs(frames) == [("a", "1"), (None, "2")]
    assert frames[0].endings == {LineEnding.CRLF, LineEnding.CR}
    assert frames[1].endings == {LineEnding.LF, LineEnding.CRLF}


def test_crlf_split_across_chunks_is_one_line_end():
    frames, violations = run([b"data: a\r", b"\n\r", b"\n"])
    assert violations == []
    assert pairs(frames) == [(None, "a")]
    assert frames[0].endings == {LineEnding.CRLF}
    assert frames[0].end == 11


def test_cr_at_chunk_end_waits_for_the_next_chunk():
    framer = Framer()
    assert framer.feed(b"data: a\n\r") == []
    assert pairs(framer.feed(b"data: b\n\n")) == [(None, "a"), (None, "b")]
    assert framer.close() == []


def test_trailing_cr_at_eof_is_a_line_end():
    framer = Framer()
    assert framer.feed(b"data: a\n\r") == []
    frames = framer.flush()
    assert pairs(frames) == [(None, "a")]
    assert frames[0].endings == {LineEnding.LF, LineEnding.CR}
    assert framer.close() == []


def test_trailing_cr_ends_the_line_but_not_the_event():
    frames, violations = frame_it(b"data: a\r")
    assert frames == []
    assert [v.message for v in violations] == [
        "Received: stream ended mid-event after 0 complete events (8 bytes of an unterminated event)"
        "\nExpected: every event ends with a blank line"
    ]


def test_multibyte_utf8_split_across_chunks():
    frames, violations = frame_it("data: é€😀\n\n".encode())
    assert violations == []
    assert pairs(frames) == [(None, "é€😀")]


def test_invalid_utf8_is_reported_with_its_offset():
    frames, violations = frame_it(b"data: ok\n\ndata: a\xffb\xfe\n\n")
    assert pairs(frames) == [(None, "ok"), (None, "a\ufffdb\ufffd")]
    assert violations[0].kind is FrameIssue.BAD_UTF8
    assert violations[0].at == "byte 17"
    assert violations[0].message == (
        "Received: invalid UTF-8 byte 0xff at byte 17 (2 invalid bytes on the line starting at byte 10)"
        "\nExpected: UTF-8 text (it was decoded with U+FFFD replacement)"
    )
    assert len(violations) == 1


def test_truncated_multibyte_char_before_a_line_end_is_invalid():
    frames, violations = frame_it(b"data: \xe2\x82\n\n")
    assert pairs(frames) == [(None, "\ufffd")]
    assert [v.at for v in violations] == ["byte 6"]


def test_bad_utf8_reports_a_few_lines_then_a_count():
    frames, violations = run([b"data: \xff\n" * 5 + b"\n"])
    assert pairs(frames) == [(None, "\n".join(["\ufffd"] * 5))]
    assert [v.at for v in violations] == ["byte 6", "byte 14", "byte 22", None]
    assert violations[-1].message == (
        "Received: 5 invalid UTF-8 bytes on 5 lines (only the first 3 lines reported)\nExpected: a UTF-8 body"
    )


def test_comment_only_block_is_a_frame_without_data():
    frames, violations = frame_it(b": keep-alive\n:\n\n")
    assert violations == []
    assert frames == [
        Frame(
            index=0,
            event=None,
            data=None,
            id=None,
            retry=None,
            comments=(" keep-alive", ""),
            fields=(),
            start=0,
            end=16,
            endings=frozenset({LineEnding.LF}),
            t=None,
        )
    ]


def test_event_without_data_has_data_none():
    frames, _ = frame_it(b"event: ping\n\n")
    assert pairs(frames) == [("ping", None)]


def test_data_lines_are_joined_with_lf():
    frames, _ = frame_it(b"data: a\ndata:\ndata\ndata: b\n\n")
    assert pairs(frames) == [(None, "a\n\n\nb")]


@pytest.mark.parametrize(
    ("line", "value"),
    [(b"data:x", "x"), (b"data: x", "x"), (b"data:  x", " x"), (b"data: a:b", "a:b"), (b"data", "")],
)
def test_exactly_one_leading_space_is_stripped(line, value):
    frames, _ = frame_it(line + b"\n\n")
    assert frames[0].data == value


def test_last_event_field_wins_and_every_field_is_kept():
    frames, _ = frame_it(b"event: a\nevent:b\nid: 7\nretry: 1000\nfoo: bar\ndata: x\n\n")
    (frame,) = frames
    assert (frame.event, frame.id, frame.retry) == ("b", "7", "1000")
    assert frame.fields == (
        ("event", "a"),
        ("event", "b"),
        ("id", "7"),
        ("retry", "1000"),
        ("foo", "bar"),
        ("data", "x"),
    )


def test_id_with_nul_is_ignored():
    frames, _ = frame_it(b"id: a\x00b\ndata: x\n\n")
    assert frames[0].id is None


def test_consecutive_blank_lines_yield_nothing():
    frames, violations = frame_it(b"\n\r\n\rdata: 1\n\n\n\n\ndata: 2\n\n")
    assert violations == []
    assert [(frame.index, frame.data, frame.start) for frame in frames] == [(0, "1", 4), (1, "2", 16)]


def test_bom_is_stripped_and_reported():
    frames, violations = frame_it(b"\xef\xbb\xbfevent: message_start\ndata: {}\n\n")
    assert pairs(frames) == [("message_start", "{}")]
    assert frames[0].start == 3
    assert [(v.kind, v.at) for v in violations] == [(FrameIssue.BOM, "byte 0")]


@pytest.mark.parametrize(
    ("data", "kinds"),
    [
        (b"\xef\xbb", [FrameIssue.EOF_MID_EVENT]),
        (b"\xef", [FrameIssue.EOF_MID_EVENT]),
        (b"\xef\xbbdata: x\n\n", [FrameIssue.BAD_UTF8]),
        (b"\xef\xbb\xbf", [FrameIssue.BOM]),
    ],
)
def test_only_a_whole_bom_is_a_bom(data, kinds):
    _, violations = frame_it(data)
    assert [v.kind for v in violations] == kinds


def test_eof_mid_event_says_how_far_the_stream_got():
    tail = b'event: message_delta\ndata: {"a":'
    frames, violations = frame_it(b"data: {}\n\n" * 5 + tail)
    assert len(frames) == 5
    assert [(v.kind, v.at, v.message) for v in violations] == [
        (
            FrameIssue.EOF_MID_EVENT,
            "byte 50",
            f"Received: stream ended mid-event after 5 complete events ({len(tail)} bytes of an unterminated event)"
            "\nExpected: every event ends with a blank line",
        )
    ]


def test_eof_in_a_partial_first_line():
    _, violations = frame_it(b"\n\nda")
    assert violations[0].message.startswith(
        "Received: stream ended mid-event after 0 complete events (2 bytes"
    )
    assert violations[0].at == "byte 2"


def test_frame_time_is_the_chunk_that_completed_it():
    framer = Framer()
    assert framer.feed(b"data: a\n", 1.0) == []
    (first,) = framer.feed(b"\ndata: b\n", 2.0)
    (second,) = framer.feed(b"\n", 3.0)
    assert (first.t, second.t) == (2.0, 3.0)


def test_close_returns_every_violation_of_the_life_in_order():
    framer = Framer(max_event_bytes=16)
    framer.feed(b"\xef\xbb\xbfdata: \xff\n\n")
    framer.feed(b"data: " + b"x" * 40 + b"\n\ndata: y")
    assert [v.kind for v in framer.close()] == [
        FrameIssue.BOM,
        FrameIssue.BAD_UTF8,
        FrameIssue.EVENT_TOO_LARGE,
        FrameIssue.EOF_MID_EVENT,
    ]


def test_event_too_large_is_reported_once_and_framing_recovers():
    frames, violations = frame_it(
        b"data: 1\n\ndata: " + b"x" * 30 + b"\ndata: y\n\ndata: 2\n\n", max_event_bytes=20
    )
    assert pairs(frames) == [(None, "1"), (None, "2")]
    assert [frame.index for frame in frames] == [0, 1]
    assert [(v.kind, v.at, v.message) for v in violations] == [
        (
            FrameIssue.EVENT_TOO_LARGE,
            "byte 9",
            "Received: an event larger than 20 bytes starting at byte 9"
            "\nExpected: events of at most 20 bytes (the rest of this event was skipped)",
        )
    ]


def test_many_small_lines_also_count_towards_the_limit():
    frames, violations = run([b"data: x\n" * 10 + b"\ndata: ok\n\n"], max_event_bytes=40)
    assert pairs(frames) == [(None, "ok")]
    assert [v.kind for v in violations] == [FrameIssue.EVENT_TOO_LARGE]


@pytest.mark.parametrize("shape", ["one line", "many lines"])
def test_oversized_event_keeps_memory_bounded(shape):
    """20 MB in 64 KB chunks with a 1 MB cap: one violation, bounded memory, next event intact."""
    mib, piece = 1024 * 1024, 64 * 1024
    filler = b"x" * piece if shape == "one line" else (b"data: " + b"y" * 249 + b"\n") * (piece // 256)
    framer = Framer(max_event_bytes=mib)
    frames = framer.feed(b"data: ")
    tracemalloc.start()
    try:
        for _ in range(20 * mib // piece):
            frames += framer.feed(filler)
        frames += framer.feed(b"\n\nevent: next\ndata: {}\n\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * mib  # a small multiple of the cap (str overhead per line), never the 20 MB fed
    assert pairs(frames) == [("next", "{}")]
    assert [v.kind for v in framer.close()] == [FrameIssue.EVENT_TOO_LARGE]


# A naive whole-body reference: what the incremental framer must agree with, feeding aside.
_REFERENCE_EOL = re.compile(rb"\r\n|\r|\n")


def reference(body: bytes) -> list[tuple[str | None, str | None, tuple[str, ...]]]:
    body = body.removeprefix(b"\xef\xbb\xbf")
    lines = _REFERENCE_EOL.split(body)[:-1]
    blocks, event, data, comments, started = [], None, [], [], False
    for raw in lines:
        line = raw.decode("utf-8", "replace")
        if not line:
            if started:
                blocks.append((event, "\n".join(data) if data else None, tuple(comments)))
            event, data, comments, started = None, [], [], False
            continue
        started = True
        if line.startswith(":"):
            comments.append(line[1:])
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
    return blocks


FIELD_PIECES = [b"data:", b"data: ", b"event: ", b"id:", b":", b" ", b"x", b"{}"]
BYTE_PIECES = [b"\r", b"\n", b"\r\n", b"\xef\xbb\xbf", b"\xff", b"\xc3", b"\xa9", "€".encode(), b"\x00"]
SSE_PIECES = st.sampled_from([*FIELD_PIECES, *BYTE_PIECES])
BODIES = st.one_of(st.binary(max_size=300), st.lists(SSE_PIECES, max_size=60).map(b"".join))


@st.composite
def chunked(draw):
    body = draw(BODIES)
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=12)))
    bounds = [0, *cuts, len(body)]
    return body, [body[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=400)
@given(chunked())
def test_fuzz_framing_never_raises_and_ignores_chunking(case):
    body, chunks = case
    whole = run([body])
    assert run(chunks) == whole
    assert run([body[i : i + 1] for i in range(len(body))]) == whole
    assert [(f.event, f.data, f.comments) for f in whole[0]] == reference(body)


@settings(max_examples=200)
@given(chunked(), st.integers(1, 40))
def test_fuzz_size_cap_never_raises_and_ignores_chunking(case, cap):
    body, chunks = case
    assert run(chunks, max_event_bytes=cap) == run([body], max_event_bytes=cap)
