"""Server-sent events: byte framing, event naming and the stream grammar, as recorded.

Framing violations come from ``sse.framer`` and ordering violations from ``sse.grammar`` (the
single home of every ordering rule); these checks only route them to their rule ids and judge
what neither layer can: event names, JSON payloads, schemas and agreement with the twin. Each
names what it judged; the ordering checks read the grammar's ``Progress``, so where the grammar
went silent before reaching what a check is about, the check skips naming the earlier finding.
Checks walk the events once and locate violations with the event in hand: a saved recording's
events may be read again from disk on every walk.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace

from .. import jsontext
from .._types import JSON, JSONObject
from ..findings import Judgement, NotApplicable, NotForced, Violation, judgement
from ..sse.frames import FrameIssue
from ..sse.grammar import GrammarIssue, Progress
from ..sse.reading import Event, StreamReading
from ._probes import answer_text, comparable, deterministic, text_blocks
from .registry import check
from .subject import Subject, counted, locate_event, show


def _reading(s: Subject) -> StreamReading:
    if s.reading is None:
        raise NotApplicable("not a stream")
    if s.exchange.media_type != "text/event-stream" and isinstance(s.exchange.json, dict):
        # A stream request answered with a plain JSON document: its frames would only be noise.
        raise NotApplicable(f"the answer is one JSON document ({s.exchange.media_type or 'no Content-Type'}), not an event stream (judged by headers.stream_content_type)")
    return s.reading


def _some_events(s: Subject, reading: StreamReading) -> int:
    """How many events the stream has; none is a skip (an empty stream is stream.ends_with_message_stop's finding), or an error when a limit of ours read none."""
    if not reading.events:
        raise s.unjudged("the stream has no events (judged by stream.ends_with_message_stop)")
    return len(reading.events)


def _route(violations: Iterable[Violation], *kinds: object) -> list[Violation]:
    return [v for v in violations if v.kind in kinds]


def _cut_note(s: Subject) -> str:
    ex = s.exchange
    return f"\nNote: the transport reports: {ex.error}" if ex.error else ""


def _noted(s: Subject, found: list[Violation]) -> list[Violation]:
    """The violations, each with the transport's note when the connection failed (the target's doing: our own limits never get here)."""
    note = _cut_note(s)
    return [replace(v, message=v.message + note) for v in found] if note else found


class _Kept:
    """Violations of a per-event rule: the first ``KEPT`` in full, the rest counted, so a long broken stream costs no more."""

    KEPT = 10

    def __init__(self, first: Iterable[Violation] = ()) -> None:
        self.found = list(first)
        self.more = 0

    def add(self, violation: Violation) -> None:
        if len(self.found) < self.KEPT:
            self.found.append(violation)
        else:
            self.more += 1

    def all(self) -> list[Violation]:
        if not self.more:
            return self.found
        last = self.found[-1]
        return [*self.found, Violation(f"Received: {self.more:,} more events like these\nExpected: none", at=f"after {last.at}" if last.at else None)]


# The check that reports each issue the grammar can go silent on, and how its skip reason names it.
_OWNER = {
    GrammarIssue.START: "stream.message_start_first",
    GrammarIssue.ORDER: "stream.event_order",
    GrammarIssue.INDEX: "stream.block_indices_sequential",
    GrammarIssue.DELTA_KIND: "stream.delta_matches_block",
    GrammarIssue.AFTER_END: "stream.ends_with_message_stop",
}


def _silence(p: Progress) -> str:
    """What silenced the grammar, in words, and which check reports it."""
    at, issue = p.silenced_at, p.silenced_by
    if issue is None:
        return "the grammar judged the whole stream"
    if issue is GrammarIssue.START:
        what = "the stream has no message_start" if p.starts_seen == 0 else "the stream does not begin with message_start" if p.start_at is None else f"a second message_start (event #{at})"
    else:
        what = {
            GrammarIssue.ORDER: f"event #{at} is out of order",
            GrammarIssue.INDEX: f"event #{at} has a block index out of sequence",
            GrammarIssue.DELTA_KIND: f"event #{at} is a delta of another kind than its block",
            GrammarIssue.AFTER_END: f"event #{at} comes after the end of the stream",
        }.get(issue, f"event #{at}")
    return f"{what}, see {_OWNER.get(issue, 'the stream checks')}"


def _grammar(s: Subject, issue: GrammarIssue) -> tuple[Progress, list[Violation]]:
    """How far the grammar judged the stream, and what it found of ``issue`` (the one rule a check reports)."""
    reading = _reading(s)
    return reading.progress, _route(reading.grammar, issue)


def _extent(p: Progress) -> str:
    """Where judging stopped, for a judged item that covers only part of the stream."""
    return "" if p.silenced_at is None else f", up to event #{p.silenced_at} (not judged after it: {_silence(p)})"


@check("stream.event_name_matches_type")
def event_name_matches_type(s: Subject) -> Judgement:
    """Official SDKs dispatch on the event: line and drop events without one (SDK _streaming.py)."""
    reading = _reading(s)
    found = _Kept(_route(reading.framing, FrameIssue.BOM))
    named = 0
    for event in reading.events:
        if event.data is None or not isinstance(event.data.get("type"), str):
            continue
        named += 1
        kind = event.data["type"]
        if event.name != kind:
            received = "no event: line" if event.name is None else f"event: {event.name}"
            found.add(Violation(f"Received: {received} for data of type {show(kind)}\nExpected: event: {kind}", at=locate_event(event), event_index=event.index))
    if not named and not found.found:
        raise s.unjudged("no event carries a JSON object with a string type to name (judged by stream.data_is_json and stream.event_schema)")
    return judgement(f"the event: line of {counted(named, 'event')}", found.all())


@check("stream.data_is_json")
def data_is_json(s: Subject) -> Judgement:
    """Every consumer parses data as JSON; anything else is an exception in the client."""
    reading = _reading(s)
    total = _some_events(s, reading)
    found = _Kept()
    for event in reading.events:
        raw = event.raw.strip()
        if event.data is not None or raw in ("", "[DONE]"):
            continue
        why = jsontext.problem(event.raw)
        found.add(Violation(f"Received: data {show(event.raw[:120])}{f' ({why})' if why else ''}\nExpected: one JSON object", at=locate_event(event), event_index=event.index))
    return judgement(f"the data of {counted(total, 'event')}", found.all())


@check("stream.no_done_sentinel")
def no_done_sentinel(s: Subject) -> Judgement:
    """[DONE] is OpenAI's terminator; Anthropic clients try to parse it as JSON and fail."""
    reading = _reading(s)
    total = _some_events(s, reading)
    found = _Kept()
    for event in reading.events:
        if event.raw.strip() == "[DONE]":
            found.add(Violation("Received: data: [DONE]\nExpected: no sentinel; message_stop ends the stream", at=locate_event(event), event_index=event.index))
    return judgement(f"the data of {counted(total, 'event')}", found.all())


@check("stream.utf8_valid")
def utf8_valid(s: Subject) -> Judgement:
    """Clients decode every line as UTF-8 and raise on bad bytes (SDK _streaming.py)."""
    reading = _reading(s)
    if not reading.read_bytes:
        raise s.unjudged("an empty body (judged by stream.ends_with_message_stop)")
    return judgement(f"{counted(reading.read_bytes, 'byte')} decoded as UTF-8", _route(reading.framing, FrameIssue.BAD_UTF8))


@check("stream.framing_terminated")
def framing_terminated(s: Subject) -> Judgement:
    """An unterminated last event is discarded by every SSE parser, silently losing it."""
    reading = _reading(s)
    s.whole()  # where a limit of ours cut the body, its last event is cut by us
    found = _noted(s, _route(reading.framing, FrameIssue.EOF_MID_EVENT, FrameIssue.EVENT_TOO_LARGE))
    if not reading.frames and not found:
        raise NotApplicable("an empty body (judged by stream.ends_with_message_stop)")
    return judgement(f"the end of {counted(len(reading.frames), 'frame')} and of the body", found)


@check("stream.message_start_first")
def message_start_first(s: Subject) -> Judgement:
    """Clients create the message object from message_start; a second one restarts or corrupts it."""
    p, found = _grammar(s, GrammarIssue.START)
    if found:
        return judgement(f"the first {counted(p.seen, 'event')} for message_start", found)
    if p.start_at is None:
        if not p.seen:
            raise s.unjudged("the stream has no events (judged by stream.ends_with_message_stop)")
        raise s.unjudged(f"the stream ended with {p.ended_by.value if p.ended_by else 'no event'} before any message_start (judged by recovery.pre_stream_error_is_status)")
    second = f"no second message_start in {counted(p.seen, 'event')}" if p.silenced_at is None else f"no second message_start before event #{p.silenced_at} ({_silence(p)})"
    return judgement([f"message_start first (event #{p.start_at})", second])


@check("stream.event_order")
def event_order(s: Subject) -> Judgement:
    """Accumulators follow the documented event order; anything else leaves blocks half-built."""
    p, found = _grammar(s, GrammarIssue.ORDER)
    if found:
        return judgement(f"the order of events #0–#{p.silenced_at}", found)
    if not p.in_message:
        if p.silenced_at is not None:
            raise NotApplicable(f"not judged: {_silence(p)}")
        if p.start_at is None:
            raise s.unjudged("the stream has no message_start (judged by stream.message_start_first)")
        raise s.unjudged("nothing follows message_start (judged by stream.ends_with_message_stop)")
    return judgement(f"{counted(p.in_message, 'event')} after message_start in the documented order{_extent(p)}")


@check("stream.block_indices_sequential")
def block_indices_sequential(s: Subject) -> Judgement:
    """The block index is the position in content; a gap or mismatch puts deltas in the wrong block."""
    p, found = _grammar(s, GrammarIssue.INDEX)
    if found:
        return judgement(f"the indices of {counted(p.block_events + 1, 'block event')}", found)
    if not p.block_events:
        if p.block_events_seen:
            raise NotApplicable(f"not judged: {_silence(p)}")
        raise s.unjudged("the stream has no content blocks")
    return judgement(f"the indices of {counted(p.block_events, 'block event')} ({counted(p.blocks, 'block')}){_extent(p)}")


@check("stream.delta_matches_block")
def delta_matches_block(s: Subject) -> Judgement:
    """A thinking_delta inside a text block is how reasoning leaks into answers (LiteLLM #32357)."""
    p, found = _grammar(s, GrammarIssue.DELTA_KIND)
    if found:
        return judgement(f"the kind of {counted(p.deltas_judged + 1, 'delta')} against its block", found)
    if not p.deltas_judged:
        if p.silenced_at is not None and p.deltas_seen:
            raise NotApplicable(f"not judged: {_silence(p)}")
        if not p.deltas_seen:
            raise s.unjudged("the stream has no content_block_delta")
        raise s.unjudged("no delta of a known type in a block of a known type (unknown types are tolerated)")
    return judgement(f"the kind of {counted(p.deltas_judged, 'delta')} against its block{_extent(p)}")


@check("stream.ends_with_message_stop")
def ends_with_message_stop(s: Subject) -> Judgement:
    """Clients wait for message_stop to finish; without it they hang or report a cut stream."""
    reading = _reading(s)
    s.whole()  # the end was never read when a limit of ours stopped reading
    p = reading.progress
    found = _noted(s, _route(reading.grammar, GrammarIssue.NO_END, GrammarIssue.AFTER_END))
    if p.ended_by is None:
        return judgement(f"the last of {counted(p.seen, 'event')}", found)
    ended = f"{p.ended_by.value} ending the stream (event #{p.ended_at} of {p.seen})"
    return judgement(ended if found else f"{ended}, nothing but pings after it", found)


@check("stream.message_delta_stop_reason")
def message_delta_stop_reason(s: Subject) -> Judgement:
    """The stream's stop_reason only arrives in message_delta; null there leaves clients guessing."""
    s.whole()  # the last message_delta may lie past a cut of ours
    last: Event | None = None
    for event in s.stream_events():
        if event.data is not None and event.data.get("type") == "message_delta":
            last = event
    if last is None or last.data is None:
        raise NotApplicable("no message_delta (judged by stream.ends_with_message_stop)")
    delta = last.data.get("delta")
    reason = delta.get("stop_reason") if isinstance(delta, dict) else None
    item = f"stop_reason {show(reason)} in the last message_delta (event #{last.index})"
    if not isinstance(reason, str) or not reason:
        return judgement(item, [Violation(f"Received: stop_reason {show(reason)} in the last message_delta\nExpected: a non-null stop_reason", at=locate_event(last) + " /delta/stop_reason", event_index=last.index)])
    return judgement(item)


# The field of each delta that varies event by event; the event schema asks of it only that it be a string (pinned by
# tests/checks/test_stream.py), so a delta that validates with it emptied validates with any string there.
_FREE_TEXT = {"text_delta": "text", "thinking_delta": "thinking", "input_json_delta": "partial_json", "signature_delta": "signature"}
_MEMO = 4096  # distinct event shapes remembered by stream.event_schema


def _shape_key(data: JSONObject) -> str | None:
    """A delta's JSON with its free text emptied (None for other events, or a delta whose free text is not a string)."""
    delta = data.get("delta") if data.get("type") == "content_block_delta" else None
    kind = delta.get("type") if isinstance(delta, dict) else None
    field = _FREE_TEXT.get(kind) if isinstance(kind, str) else None
    if field is None or not isinstance(delta, dict) or not isinstance(delta.get(field), str):
        return None
    try:
        return json.dumps({**data, "delta": {**delta, field: ""}}, sort_keys=True)
    except (TypeError, ValueError, RecursionError):
        return None


@check("stream.event_schema")
def event_schema(s: Subject) -> Judgement:
    """SDKs deserialise each event into typed classes; a missing field is a client exception."""
    found: list[Violation] = []
    judged = 0
    valid_shapes: set[str] = set()  # deltas that validated with their free text emptied: any other string there validates too
    known: dict[str, list[tuple[str, str]]] = {}  # raw data -> its schema errors: pings and repeated events are validated once
    for event in s.stream_events():
        data = event.data
        assert data is not None
        judged += 1
        shape = _shape_key(data)
        if shape is not None and shape in valid_shapes:
            continue
        errors = known.get(event.raw)
        if errors is None:
            errors = s.schemas.errors("stream_event", data, limit=3)
            if len(known) < _MEMO:
                known[event.raw] = errors
            if shape is not None and not errors and len(valid_shapes) < _MEMO:
                valid_shapes.add(shape)
        for pointer, message in errors:
            kind = data.get("type")
            expected = f"a {kind} event as documented" if isinstance(kind, str) else "an event object with a string type"
            found.append(Violation(f"Received: {message}\nExpected: {expected}", at=f"{locate_event(event)} {pointer}", event_index=event.index))
        if len(found) >= 10:
            return judgement(f"the first {counted(judged, 'event')} against the documented event schemas (stopped at 10 violations)", found)
    if not judged:
        raise s.unjudged("no event with a JSON object as data (judged by stream.data_is_json)")
    return judgement(f"{counted(judged, 'event')} against the documented event schemas", found)


def _shape(message: dict[str, object]) -> dict[str, object]:
    content = message.get("content")
    types = [b.get("type") for b in content if isinstance(b, dict)] if isinstance(content, list) else content
    return {"type": message.get("type"), "role": message.get("role"), "stop_reason": message.get("stop_reason"), "stop_sequence": message.get("stop_sequence"), "content types": types}


@check("stream.rebuilt_matches_twin")
def rebuilt_matches_twin(s: Subject) -> Judgement:
    """Clients switch between streaming and not; the same request must produce the same message shape."""
    twin = s.twin_message()
    message = s.message()
    why = comparable(s, message, twin, what="shapes")
    plain = _shape(twin)
    streamed = _shape(message)
    found = []
    for key, value in plain.items():
        if key == "stop_reason" and streamed.get(key) is None:
            continue  # a null stop_reason is stream.message_delta_stop_reason's finding
        if streamed.get(key) != value:
            found.append(
                Violation(
                    f"Received: {key} {show(streamed.get(key))} in the message rebuilt from the stream\nExpected: {show(value)}, as the same request not streamed ({s.twin.id if s.twin else '?'})",
                    at=f"rebuilt message /{key.replace(' ', '_')}",
                )
            )
    return judgement(f"stop_reason, stop_sequence and {len(streamed['content types']) if isinstance(streamed['content types'], list) else 0} block type(s) against the twin ({why})", found)


@check("stream.text_matches_twin")
def text_matches_twin(s: Subject) -> Judgement:
    """A proxy that drops, repeats or mislabels a text delta shows streaming clients another answer than the one it bills."""
    message, twin = s.message(), s.twin_message()
    streamed, plain = answer_text(message), answer_text(twin)
    if not text_blocks(message) and not text_blocks(twin):
        raise NotApplicable("neither answer has a text block")
    if streamed == plain:
        return judgement(f"the same text both ways ({len(streamed)} characters)")
    reference = deterministic(s)
    expected = s.request.expect_text
    if reference is not None:
        why = reference.why
    elif expected and expected in (streamed.strip(), plain.strip()):
        why = f"the prompt asks for exactly {show(expected)}"
    else:
        raise NotForced(
            f"Received: text {show(streamed)} streamed, {show(plain)} not streamed\n"
            "Expected: a target that answers this request identically every time, or an answer that follows the prompt"
            + (f" ({show(expected)})" if expected else "")
            + " (neither holds, so the two are different samples)"
        )
    return judgement(f"{len(streamed)} characters streamed against {len(plain)} not streamed", [
        Violation(
            f"Received: text {show(streamed)} rebuilt from the stream, {show(plain)} not streamed ({s.twin.id if s.twin else '?'})\n"
            f"Expected: the same text both ways ({why})",
            at="rebuilt message /content",
        )
    ])


@check("stream.text_intact")
def text_intact(s: Subject) -> Judgement:
    """A proxy that decodes each chunk on its own turns a split character into U+FFFD; users see mojibake."""
    if any(v.kind is FrameIssue.BAD_UTF8 for v in _reading(s).framing):
        raise NotApplicable("the bytes are not valid UTF-8 (judged by stream.utf8_valid)")
    pieces = [
        d["delta"]["text"] for _, d in s.events() if d.get("type") == "content_block_delta" and isinstance(d.get("delta"), dict) and isinstance(d["delta"].get("text"), str)
    ]
    if not pieces:
        raise s.unjudged("no text_delta in the stream")
    streamed = "".join(pieces)
    twin_text = answer_text(s.twin_message())
    item = f"{counted(len(pieces), 'text delta')} ({counted(len(streamed), 'character')}) for U+FFFD the plain answer does not have"
    if "\ufffd" in streamed and "\ufffd" not in twin_text:
        return judgement(item, [Violation(f"Received: streamed text {show(streamed)} with U+FFFD replacement characters\nExpected: {show(twin_text)}, as the same request not streamed", at="text_delta events")])
    return judgement(item)


@check("stream.block_start_empty")
def block_start_empty(s: Subject) -> Judgement:
    """Streaming clients show the deltas; content put into content_block_start never reaches their screen (the SDK's text_stream)."""
    found = _Kept()
    judged = 0
    # A tool_use block may start with its whole input and get no input_json_delta (programmatic tool calling); both at once is tools.stream_input_single_source's finding.
    pieces = {d.get("index") for _, d in s.events() if d.get("type") == "content_block_delta" and isinstance(d.get("delta"), dict) and d["delta"].get("type") == "input_json_delta" and d["delta"].get("partial_json")}
    for event in s.stream_events():
        data = event.data
        assert data is not None
        block = data.get("content_block") if data.get("type") == "content_block_start" else None
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        key, empty = _EMPTY_AT_START.get(kind, (None, None)) if isinstance(kind, str) else (None, None)
        if key is None:
            continue
        judged += 1
        if kind == "tool_use" and data.get("index") not in pieces:
            continue  # the whole input at the start and no input_json_delta: programmatic tool calling, legal
        if key in block and block[key] != empty:
            found.add(Violation(f"Received: a {kind} block starting with {key} {show(block[key])}\nExpected: {key} {show(empty)}, the rest arriving as deltas", at=locate_event(event), event_index=event.index))
    if not judged:
        raise s.unjudged("no text, thinking or tool_use block starts in the stream")
    return judgement(f"the start of {counted(judged, 'text, thinking or tool_use block')}", found.all())


# What each block type holds at content_block_start (DOC-STR; every capture): its content comes as deltas.
_EMPTY_AT_START: dict[str, tuple[str, JSON]] = {"text": ("text", ""), "thinking": ("thinking", ""), "tool_use": ("input", {})}
