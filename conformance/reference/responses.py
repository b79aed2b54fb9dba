"""Success bodies: the Message object, the stream's event sequence and the ids they carry.

Owns field order and values as real 2026 responses show them (captures 20, 45: `model` first,
`stop_details: null`, zeroed cache counters, `service_tier`, `inference_geo`), and where pings and
unknown events sit in a stream. Byte layout (line endings, padding, chunking) is `sse_writer.py`'s job.
A turn with server tools adds what the API adds (captures 10, 16, 22): `usage.server_tool_use` in the
final usage, the results' tokens in its `input_tokens` (message_start still counts the request only),
and the code execution `container`; a refusal carries its `stop_details`.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance._types import JSONObject
from conformance.reference import blocks, server_tools
from conformance.reference.ids import base62
from conformance.reference.prompt_cache import NO_CACHE, CacheUse
from conformance.reference.toy_model import Generation
from conformance.reference.validation import MessagesRequest
from conformance.reference.variant import Variant


def request_id() -> str:
    """`req_` + 24 base62 characters, the shape of first-party request ids."""
    return "req_" + base62(24)


def message_id() -> str:
    """`msg_01` + 22 base62 characters, the shape of first-party message ids."""
    return "msg_01" + base62(22)


@dataclass(frozen=True, slots=True)
class Event:
    """One SSE event before serialisation: its name and its data object."""

    name: str
    data: JSONObject


def _usage(input_tokens: int, output_tokens: int, cache: CacheUse = NO_CACHE) -> JSONObject:
    """Usage with the cache counters: ``input_tokens`` is the whole input, of which the cache read and wrote some (prompt_cache.py)."""
    return {
        **cache.usage(input_tokens),
        "output_tokens": output_tokens,
        "service_tier": "standard",
        "inference_geo": "not_available",
    }


def _message(
    request: MessagesRequest,
    msg_id: str,
    *,
    content: list[JSONObject],
    generation: Generation | None,
    usage: JSONObject,
) -> JSONObject:
    return {
        "model": request.requested_model,
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "content": content,
        "stop_reason": generation.stop_reason.value if generation else None,
        "stop_sequence": generation.stop_sequence if generation else None,
        "stop_details": generation.stop_details if generation else None,
        "usage": usage,
    }


def _server_usage(request: MessagesRequest, generation: Generation, usage: JSONObject) -> JSONObject:
    """The final usage of a turn that could call server tools: their counters, and the results' tokens in the input."""
    if not server_tools.definitions(request.tools):
        return usage
    return {**usage, "input_tokens": int(usage["input_tokens"] or 0) + generation.context_tokens, "server_tool_use": server_tools.usage(generation.server_calls)}


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer to write, streamed or not: what was asked, what the model generated, and how it is counted."""

    request: MessagesRequest
    generation: Generation
    input_tokens: int
    msg_id: str
    variant: Variant
    cache: CacheUse = NO_CACHE
    context_management: JSONObject | None = None


def message_body(answer: Answer) -> JSONObject:
    """The non-streaming Message; without tool calls one text block even when the text is empty.

    ``context_management`` (the beta's report) follows usage at the top level, as in capture 42.
    """
    usage = _server_usage(answer.request, answer.generation, _usage(answer.input_tokens, answer.generation.output_tokens, answer.cache))
    body = _message(
        answer.request,
        answer.msg_id,
        content=blocks.content(answer.generation, blank_lead=answer.variant.blank_text_before_thinking),
        generation=answer.generation,
        usage=usage,
    )
    container = server_tools.container(answer.generation.server_calls)
    if container is not None:
        body = {**body, "container": container}
    return {**body, "context_management": answer.context_management} if answer.context_management is not None else body


def stream_events(answer: Answer) -> list[Event]:
    """The full event sequence: start, each block (start, deltas, stop), stop reason, end; pings after the first block opens.

    message_delta repeats the input counters of message_start (captures 13, 20-27) and carries the
    context-management report at its top level (captures 19, 26, 29).
    """
    ping = Event("ping", {"type": "ping"})
    start = _message(answer.request, answer.msg_id, content=[], generation=None, usage=_usage(answer.input_tokens, min(1, answer.generation.output_tokens), answer.cache))
    events = [Event("message_start", {"type": "message_start", "message": start})]
    if answer.variant.unknown_events:
        events.append(Event("future_event", {"type": "future_event"}))
    pings_left = answer.variant.pings
    for index, block in enumerate(blocks.streamed(answer.generation, per_delta=answer.variant.delta_chunk_tokens, blank_lead=answer.variant.blank_text_before_thinking)):
        events.append(Event("content_block_start", {"type": "content_block_start", "index": index, "content_block": block.start}))
        if pings_left and index == 0:
            events.append(ping)
            pings_left -= 1
        for delta in block.deltas:
            events.append(Event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
            if pings_left:
                events.append(ping)
                pings_left -= 1
        events.append(Event("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.extend([ping] * pings_left)
    stop: JSONObject = {
        "stop_reason": answer.generation.stop_reason.value,
        "stop_sequence": answer.generation.stop_sequence,
        "stop_details": answer.generation.stop_details,
    }
    container = server_tools.container(answer.generation.server_calls)
    if container is not None:
        stop["container"] = container
    counters = answer.cache.usage(answer.input_tokens)
    usage = _server_usage(answer.request, answer.generation, {
        "input_tokens": counters["input_tokens"],
        "cache_creation_input_tokens": counters["cache_creation_input_tokens"],
        "cache_read_input_tokens": counters["cache_read_input_tokens"],
        "output_tokens": answer.generation.output_tokens,
    })
    closing: JSONObject = {"type": "message_delta", "delta": stop, "usage": usage}
    if answer.context_management is not None:
        closing["context_management"] = answer.context_management
    events.append(Event("message_delta", closing))
    events.append(Event("message_stop", {"type": "message_stop"}))
    return events
