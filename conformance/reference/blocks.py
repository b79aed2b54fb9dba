"""The content blocks of one turn, whole (a Message's `content`) and as a stream sends them.

Owns block order (thinking first, then text or tool_use blocks; a variant may lead with a blank text block) and each block's stream form
(DOC-STR, captures 03, 07, 23): a thinking block starts empty with signature "", gets its text in
thinking_delta pieces and its signature in one signature_delta just before it stops; a tool_use block
starts with `input: {}` and gets its input as input_json_delta pieces, the first one "". A server tool
call streams like a tool_use block (server_tool_use, input_json_delta pieces) and its result block
arrives whole in content_block_start with no delta (DOC-STR; captures 10, 16, 22). A paused turn ends
with its last call (capture 24) and a refusal has no block at all (capture 27). Indices, pings and bytes
are responses.py's and sse_writer.py's job.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance._types import JSONObject
from conformance.reference.server_tools import ServerCall
from conformance.reference.tool_calls import ToolCall
from conformance.reference.toy_model import Generation, StopReason, tokenize


@dataclass(frozen=True, slots=True)
class StreamedBlock:
    """One block as streamed: what content_block_start carries, then the delta objects in order."""

    start: JSONObject
    deltas: tuple[JSONObject, ...]


BLANK_LEAD = "\n\n"
_NO_TEXT = (StopReason.PAUSE_TURN, StopReason.REFUSAL)  # a turn paused after a call, or refused before a word: no text block


def _text_block(generation: Generation) -> bool:
    return bool(generation.text) or generation.stop_reason not in _NO_TEXT


def _server_blocks(generation: Generation) -> list[JSONObject]:
    out: list[JSONObject] = []
    for call in generation.server_calls:
        out.append(call.block())
        if call.result is not None:
            out.append(call.result)
    return out  # the whole text of the block capture 18 (claude-opus-4-6, adaptive) shows before its thinking block


def content(generation: Generation, *, blank_lead: bool = False) -> list[JSONObject]:
    """A Message's content: the thought, then tool calls, or one text block (even when its text is empty).

    ``blank_lead`` puts a whitespace-only text block before the thought, as real answers sometimes have.
    """
    blocks: list[JSONObject] = []
    if blank_lead and generation.thought is not None:
        blocks.append({"type": "text", "text": BLANK_LEAD})
    if generation.thought is not None:
        blocks.append({"type": "thinking", "thinking": generation.thought.text, "signature": generation.thought.signature})
    blocks.extend(_server_blocks(generation))
    if generation.calls:
        blocks.extend(call.block() for call in generation.calls)
    elif _text_block(generation):
        blocks.append({"type": "text", "text": generation.text})
    return blocks


def _groups(pieces: tuple[str, ...], size: int) -> list[str]:
    return ["".join(pieces[i : i + size]) for i in range(0, len(pieces), size)]


def _tool_use(call: ToolCall, size: int) -> StreamedBlock:
    start: JSONObject = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
    pieces = ["", *_groups(tuple(tokenize(call.input_json)), size)]
    return StreamedBlock(start, tuple({"type": "input_json_delta", "partial_json": p} for p in pieces))


def _server_call(call: ServerCall, size: int) -> list[StreamedBlock]:
    start: JSONObject = {"type": "server_tool_use", "id": call.id, "name": call.name, "input": {}}
    pieces = ["", *_groups(tuple(tokenize(call.input_json)), size)]
    out = [StreamedBlock(start, tuple({"type": "input_json_delta", "partial_json": p} for p in pieces))]
    if call.result is not None:
        out.append(StreamedBlock(call.result, ()))
    return out


def streamed(generation: Generation, *, per_delta: int, blank_lead: bool = False) -> list[StreamedBlock]:
    """The blocks of `content(generation, blank_lead=...)` in stream form; deltas carry `per_delta` tokens each."""
    blocks: list[StreamedBlock] = []
    thought = generation.thought
    if blank_lead and thought is not None:
        blocks.append(StreamedBlock({"type": "text", "text": ""}, ({"type": "text_delta", "text": BLANK_LEAD},)))
    if thought is not None:
        deltas: list[JSONObject] = [{"type": "thinking_delta", "thinking": g} for g in _groups(tuple(tokenize(thought.text)), per_delta)]
        deltas.append({"type": "signature_delta", "signature": thought.signature})
        blocks.append(StreamedBlock({"type": "thinking", "thinking": "", "signature": ""}, tuple(deltas)))
    for call in generation.server_calls:
        blocks.extend(_server_call(call, per_delta))
    if generation.calls:
        blocks.extend(_tool_use(call, per_delta) for call in generation.calls)
    elif _text_block(generation):
        text = tuple({"type": "text_delta", "text": g} for g in _groups(generation.pieces, per_delta))
        blocks.append(StreamedBlock({"type": "text", "text": ""}, text))
    return blocks
