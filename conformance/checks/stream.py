"""Server-sent events: byte framing, event naming and the stream grammar, as recorded.

Framing violations come from ``sse.framer`` and ordering violations from ``sse.grammar`` (the
single home of every ordering rule); these checks only route them to their rule ids and judge
what neither layer can: event names, JSON payloads, schemas and agreement with the twin.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from .. import jsontext
from .._types import JSON
from ..findings import Judgement, NotApplicable, NotForced, Violation, judgement
from ..sse.framer import FrameIssue
from ..sse.grammar import GrammarIssue
from ..sse.reading import StreamReading
from ._probes import answer_text, comparable, deterministic, text_blocks
from .registry import check
from .subject import Subject, locate, show


def _reading(s: Subject) -> StreamReading:
    if s.reading is None:
        raise NotApplicable("not a stream")
    if s.exchange.media_type != "text/event-stream" and isinstance(s.exchange.json, dict):
        # A stream request answered with a plain JSON document: its frames would only be noise.
        raise NotApplicable(f"the answer is one JSON document ({s.exchange.media_type or 'no Content-Type'}), not an event stream (judged by headers.stream_content_type)")
    return s.reading


def _route(violations: Iterable[Violation], *kinds: object) -> list[Violation]:
    return [v for v in violations if v.kind in kinds]


def _cut_note(s: Subject) -> str:
    ex = s.exchange
    if ex.error:
        return f"\nNote: the transport reports: {ex.error}"
    if ex.truncated:
        return "\nNote: the body was cut at the size cap"
    return ""


def _noted(s: Subject, found: list[Violation]) -> list[Violation]:
    """The violations, each with the transport's note when the stream was cut on our side."""
    note = _cut_note(s)
    return [replace(v, message=v.message + note) for v in found] if note else found


@check("stream.event_name_matches_type")
def event_name_matches_type(s: Subject) -> list[Violation]:
    """Official SDKs dispatch on the event: line and drop events without one (SDK _streaming.py)."""
    reading = _reading(s)
    found = list(_route(reading.framing, FrameIssue.BOM))
    for event in reading.events:
        if event.data is None or not isinstance(event.data.get("type"), str):
            continue
        kind = event.data["type"]
        if event.name != kind:
            received = "no event: line" if event.name is None else f"event: {event.name}"
            found.append(Violation(f"Received: {received} for data of type {show(kind)}\nExpected: event: {kind}", at=locate(s, event.index), event_index=event.index))
    return found


@check("stream.data_is_json")
def data_is_json(s: Subject) -> list[Violation]:
    """Every consumer parses data as JSON; anything else is an exception in the client."""
    found: list[Violation] = []
    for event in _reading(s).events:
        raw = event.raw.strip()
        if event.data is not None or raw in ("", "[DONE]"):
            continue
        why = jsontext.problem(event.raw)
        found.append(Violation(f"Received: data {show(event.raw[:120])}{f' ({why})' if why else ''}\nExpected: one JSON object", at=locate(s, event.index), event_index=event.index))
    return found


@check("stream.no_done_sentinel")
def no_done_sentinel(s: Subject) -> list[Violation]:
    """[DONE] is OpenAI's terminator; Anthropic clients try to parse it as JSON and fail."""
    return [
        Violation("Received: data: [DONE]\nExpected: no sentinel; message_stop ends the stream", at=locate(s, e.index), event_index=e.index)
        for e in _reading(s).events
        if e.raw.strip() == "[DONE]"
    ]


@check("stream.utf8_valid")
def utf8_valid(s: Subject) -> list[Violation]:
    """Clients decode every line as UTF-8 and raise on bad bytes (SDK _streaming.py)."""
    return _route(_reading(s).framing, FrameIssue.BAD_UTF8)


@check("stream.framing_terminated")
def framing_terminated(s: Subject) -> list[Violation]:
    """An unterminated last event is discarded by every SSE parser, silently losing it."""
    return _noted(s, _route(_reading(s).framing, FrameIssue.EOF_MID_EVENT, FrameIssue.EVENT_TOO_LARGE))


@check("stream.message_start_first")
def message_start_first(s: Subject) -> list[Violation]:
    """Clients create the message object from message_start; a second one restarts or corrupts it."""
    return _route(_reading(s).grammar, GrammarIssue.START)


@check("stream.event_order")
def event_order(s: Subject) -> list[Violation]:
    """Accumulators follow the documented event order; anything else leaves blocks half-built."""
    return _route(_reading(s).grammar, GrammarIssue.ORDER)


@check("stream.block_indices_sequential")
def block_indices_sequential(s: Subject) -> list[Violation]:
    """The block index is the position in content; a gap or mismatch puts deltas in the wrong block."""
    return _route(_reading(s).grammar, GrammarIssue.INDEX)


@check("stream.delta_matches_block")
def delta_matches_block(s: Subject) -> list[Violation]:
    """A thinking_delta inside a text block is how reasoning leaks into answers (LiteLLM #32357)."""
    return _route(_reading(s).grammar, GrammarIssue.DELTA_KIND)


@check("stream.ends_with_message_stop")
def ends_with_message_stop(s: Subject) -> list[Violation]:
    """Clients wait for message_stop to finish; without it they hang or report a cut stream."""
    return _noted(s, _route(_reading(s).grammar, GrammarIssue.NO_END, GrammarIssue.AFTER_END))


@check("stream.message_delta_stop_reason")
def message_delta_stop_reason(s: Subject) -> list[Violation]:
    """The stream's stop_reason only arrives in message_delta; null there leaves clients guessing."""
    deltas = [(i, d) for i, d in s.events() if d.get("type") == "message_delta"]
    if not deltas:
        raise NotApplicable("no message_delta (judged by stream.ends_with_message_stop)")
    index, last = deltas[-1]
    delta = last.get("delta")
    reason = delta.get("stop_reason") if isinstance(delta, dict) else None
    if not isinstance(reason, str) or not reason:
        return [Violation(f"Received: stop_reason {show(reason)} in the last message_delta\nExpected: a non-null stop_reason", at=locate(s, index) + " /delta/stop_reason", event_index=index)]
    return []


@check("stream.event_schema")
def event_schema(s: Subject) -> list[Violation]:
    """SDKs deserialise each event into typed classes; a missing field is a client exception."""
    found: list[Violation] = []
    for index, data in s.events():
        for pointer, message in s.schemas.errors("stream_event", data, limit=3):
            kind = data.get("type")
            expected = f"a {kind} event as documented" if isinstance(kind, str) else "an event object with a string type"
            found.append(Violation(f"Received: {message}\nExpected: {expected}", at=f"{locate(s, index)} {pointer}", event_index=index))
        if len(found) >= 10:
            break
    return found


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
def text_intact(s: Subject) -> list[Violation]:
    """A proxy that decodes each chunk on its own turns a split character into U+FFFD; users see mojibake."""
    if any(v.kind is FrameIssue.BAD_UTF8 for v in _reading(s).framing):
        raise NotApplicable("the bytes are not valid UTF-8 (judged by stream.utf8_valid)")
    streamed = "".join(
        d.get("delta", {}).get("text", "") for _, d in s.events() if d.get("type") == "content_block_delta" and isinstance(d.get("delta"), dict) and isinstance(d["delta"].get("text"), str)
    )
    twin_text = answer_text(s.twin_message())
    if "\ufffd" in streamed and "\ufffd" not in twin_text:
        return [Violation(f"Received: streamed text {show(streamed)} with U+FFFD replacement characters\nExpected: {show(twin_text)}, as the same request not streamed", at="text_delta events")]
    return []


@check("stream.block_start_empty")
def block_start_empty(s: Subject) -> list[Violation]:
    """Streaming clients show the deltas; content put into content_block_start never reaches their screen (the SDK's text_stream)."""
    found = []
    # A tool_use block may start with its whole input and get no input_json_delta (programmatic tool calling); both at once is tools.stream_input_single_source's finding.
    pieces = {d.get("index") for _, d in s.events() if d.get("type") == "content_block_delta" and isinstance(d.get("delta"), dict) and d["delta"].get("type") == "input_json_delta" and d["delta"].get("partial_json")}
    for index, data in s.events():
        block = data.get("content_block") if data.get("type") == "content_block_start" else None
        if not isinstance(block, dict) or (block.get("type") == "tool_use" and data.get("index") not in pieces):
            continue
        kind = block.get("type")
        key, empty = _EMPTY_AT_START.get(kind, (None, None)) if isinstance(kind, str) else (None, None)
        if key is not None and key in block and block[key] != empty:
            found.append(
                Violation(f"Received: a {kind} block starting with {key} {show(block[key])}\nExpected: {key} {show(empty)}, the rest arriving as deltas", at=locate(s, index), event_index=index)
            )
    return found


# What each block type holds at content_block_start (DOC-STR; every capture): its content comes as deltas.
_EMPTY_AT_START: dict[str, tuple[str, JSON]] = {"text": ("text", ""), "thinking": ("thinking", ""), "tool_use": ("input", {})}
