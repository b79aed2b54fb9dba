"""Extended thinking: the thinking blocks of an answer, their signatures and how a stream delivers them.

A thinking block is only useful to a client that can send it back in the next turn, which takes
its signature unmodified; these checks judge what makes that possible. Whether the round trip is
accepted is an expectation rule (thinking.round_trip_accepted), judged by status.
"""

from __future__ import annotations

from .._types import JSONObject
from ..findings import Judgement, NotApplicable, Violation, judgement
from .registry import check
from .subject import Subject, counted, locate, locate_event, show

_THINKING = ("thinking", "redacted_thinking")


def _content(message: JSONObject) -> list[JSONObject]:
    content = message.get("content")
    if not isinstance(content, list):
        raise NotApplicable("no content array (judged by the schema checks)")
    return [b for b in content if isinstance(b, dict)]


def _continues_tool_calls(s: Subject) -> bool:
    """The request answers tool calls: the model continues its turn and need not think again."""
    messages = s.request_json().get("messages")
    last = messages[-1] if isinstance(messages, list) and messages else None
    content = last.get("content") if isinstance(last, dict) else None
    return isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content)


@check("thinking.block_present")
def block_present(s: Subject) -> Judgement:
    """Clients show and send back reasoning from thinking blocks; folded into text it leaks into the answer (peers #9)."""
    thinking = s.request_json().get("thinking")
    if not (isinstance(thinking, dict) and thinking.get("type") == "enabled"):
        raise NotApplicable("extended thinking is not enabled")
    if _continues_tool_calls(s):
        raise NotApplicable("the request continues a tool-use turn, which need not start with new thinking")
    blocks = _content(s.message())
    kinds = [b.get("type") for b in blocks]
    item = f"content types {show(kinds)} with thinking enabled"
    if not any(kind in _THINKING for kind in kinds):
        at = "rebuilt message /content" if s.reading is not None else "/content"
        return judgement(item, [Violation(f"Received: content types {show(kinds)}\nExpected: a thinking or redacted_thinking block (thinking is enabled)", at=at)])
    return judgement(item)


@check("thinking.signature_present")
def signature_present(s: Subject) -> Judgement:
    """The next turn must carry the block back with its signature; an empty one is refused (peers #20)."""
    blocks = [(i, b) for i, b in enumerate(_content(s.message())) if b.get("type") == "thinking"]
    if not blocks:
        raise NotApplicable("no thinking block")
    prefix = "rebuilt message " if s.reading is not None else ""
    return judgement(
        f"the signature of {counted(len(blocks), 'thinking block')}",
        [
            Violation(f"Received: signature {show(block.get('signature'))}\nExpected: a non-empty signature string", at=f"{prefix}/content/{position}/signature")
            for position, block in blocks
            if not (isinstance(block.get("signature"), str) and block["signature"])
        ],
    )


@check("thinking.stream_signature_delta")
def stream_signature_delta(s: Subject) -> Judgement:
    """The signature only arrives as a signature_delta; a stream without one leaves the block unsendable (Ollama lists none)."""
    if s.reading is None:
        raise NotApplicable("not a stream")
    if not any(b.get("type") == "thinking" for b in _content(s.message())):  # a broken stream is judged by the stream.* checks
        raise NotApplicable("no thinking block in the stream")
    open_blocks: dict[int, bool] = {}  # index of an open thinking block -> signature_delta seen
    judged = 0
    found: list[Violation] = []
    for event in s.stream_events():
        index, data = event.index, event.data
        if data is None:
            continue
        kind, block_index = data.get("type"), data.get("index")
        if not isinstance(block_index, int):
            continue
        if kind == "content_block_start":
            block = data.get("content_block")
            if isinstance(block, dict) and block.get("type") == "thinking":
                open_blocks[block_index] = False
        elif kind == "content_block_delta" and block_index in open_blocks:
            delta = data.get("delta")
            if isinstance(delta, dict) and delta.get("type") == "signature_delta":
                open_blocks[block_index] = True
        elif kind == "content_block_stop" and block_index in open_blocks:
            judged += 1
            if not open_blocks.pop(block_index):
                found.append(Violation(f"Received: content_block_stop of thinking block {block_index} without a signature_delta\nExpected: a signature_delta before the block stops", at=locate_event(event), event_index=index))
    if not judged:
        raise NotApplicable("no thinking block in the stream")
    return judgement(f"the signature_delta of {counted(judged, 'thinking block')}", found)


def _signature_deltas(s: Subject) -> dict[int, list[int]]:
    """Per streamed thinking block index, the event numbers of its signature_delta events."""
    found: dict[int, list[int]] = {}
    for index, data in s.events():
        block_index, block, delta = data.get("index"), data.get("content_block"), data.get("delta")
        if not isinstance(block_index, int) or isinstance(block_index, bool):
            continue
        if data.get("type") == "content_block_start" and isinstance(block, dict) and block.get("type") == "thinking":
            found[block_index] = []
        elif data.get("type") == "content_block_delta" and block_index in found and isinstance(delta, dict) and delta.get("type") == "signature_delta":
            found[block_index].append(index)
    return found


@check("thinking.signature_single_delta")
def signature_single_delta(s: Subject) -> Judgement:
    """Clients replace the signature with each signature_delta (SDK _messages.py, MessageStream.ts), so a split one leaves its tail and the next turn is refused."""
    if s.reading is None:
        raise NotApplicable("not a stream")
    blocks = _signature_deltas(s)
    if not blocks:
        raise NotApplicable("no thinking block in the stream")
    judged, found = [], []
    for block_index, events in sorted(blocks.items()):
        if not events:
            continue  # no signature at all: thinking.stream_signature_delta's finding
        judged.append(f"thinking block {block_index}: {len(events)} signature_delta")
        if len(events) > 1:
            found.append(
                Violation(
                    f"Received: {len(events)} signature_delta events for thinking block {block_index} (events {', '.join(f'#{i}' for i in events)})\n"
                    "Expected: exactly one, carrying the whole signature (clients keep only the last one they receive)",
                    at=locate(s, events[1]),
                    event_index=events[1],
                )
            )
    if not judged:
        raise NotApplicable("no thinking block received a signature_delta (judged by thinking.stream_signature_delta)")
    return judgement(judged, found)
