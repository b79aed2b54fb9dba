"""Stream faults that change what a streaming client reads, not the grammar: text lost or repeated on the way.

Each rewrites the faithful event stream the way a buffering or translating proxy does; the
non-streamed answer stays intact, so only a comparison with the twin shows the damage.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from conformance._types import JSON
from conformance.reference.fault import Fault
from conformance.reference.fault import plain_fault as _fault
from conformance.reference.rewrite import (
    EventOut,
    RequestView,
    Wrapper,
    event,
    per_request,
    rewrite_events,
    rewrite_events_with_state,
)

PEERS = "../shared/research/peers.md §4.6"
EventFn = Callable[[str | None, JSON], Iterable[EventOut]]


def _drop_last_text_delta() -> EventFn:
    """Hold each text_delta until the next event; a block's stop arrives first and the held piece is lost."""
    held: list[EventOut] = []

    def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
        if isinstance(data, dict) and data.get("type") == "content_block_delta" and isinstance(data.get("delta"), dict) and data["delta"].get("type") == "text_delta":
            out, held[:] = list(held), [event(name, data)]
            return out
        if isinstance(data, dict) and data.get("type") == "content_block_stop":
            held.clear()
        out = [*held, event(name, data)]
        held.clear()
        return out

    return rewrite


def _repeat_first_text_in_start() -> EventFn:
    """Put the first text piece into content_block_start as well as sending it as a delta (the SDK shows it twice)."""
    state: dict[str, JSON] = {"start": None}

    def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
        if not isinstance(data, dict):
            return [event(name, data)]
        block = data.get("content_block")
        if data.get("type") == "content_block_start" and isinstance(block, dict) and block.get("type") == "text":
            state["start"] = data
            return []
        start = state["start"]
        if isinstance(start, dict) and data.get("type") == "content_block_delta" and isinstance(data.get("delta"), dict):
            state["start"] = None
            filled = {**start, "content_block": {"type": "text", "text": data["delta"].get("text", "")}}
            return [event("content_block_start", filled), event(name, data)]
        if isinstance(start, dict) and data.get("type") != "ping":  # an empty block: release its start untouched
            state["start"] = None
            return [event("content_block_start", start), event(name, data)]
        return [event(name, data)]

    return rewrite


def _whole_text_in_start() -> EventFn:
    """Buffer each text block and send it whole in content_block_start, with no text_delta at all."""
    held: dict[str, JSON] = {}

    def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
        if not isinstance(data, dict):
            return [event(name, data)]
        block, delta = data.get("content_block"), data.get("delta")
        if data.get("type") == "content_block_start" and isinstance(block, dict) and block.get("type") == "text":
            held["start"], held["text"] = data, ""
            return []
        if "start" in held and data.get("type") == "content_block_delta" and isinstance(delta, dict) and delta.get("type") == "text_delta":
            held["text"] = f"{held['text']}{delta.get('text', '')}"
            return []
        if "start" in held and data.get("type") == "content_block_stop":
            start, text = held.pop("start"), held.pop("text")
            assert isinstance(start, dict)
            return [event("content_block_start", {**start, "content_block": {"type": "text", "text": text}}), event(name, data)]
        return [event(name, data)]

    return rewrite


def _split_surrogates(name: str | None, data: JSON) -> Iterable[EventOut]:
    """After each text block's last piece, send an emoji as two text_deltas, one lone UTF-16 surrogate escape each."""
    if isinstance(data, dict) and data.get("type") == "content_block_stop":
        index = json.dumps(data.get("index"))
        halves = [f'{{"type":"content_block_delta","index":{index},"delta":{{"type":"text_delta","text":"{half}"}}}}' for half in ("\\ud83d", "\\ude00")]
        return [("content_block_delta", halves[0]), ("content_block_delta", halves[1]), event(name, data)]
    return [event(name, data)]


def _openai_framed(name: str | None, data: JSON) -> Iterable[EventOut]:
    """A translator that opens no message and closes with OpenAI's terminator: no message_start, data: [DONE] for message_stop."""
    if name == "message_start":
        return []
    if name == "message_stop":
        return [(None, "[DONE]")]
    return [event(name, data)]


def _late_close_unended() -> EventFn:
    """content_block_stop held back until after message_delta, and message_stop never sent."""
    held: list[EventOut] = []

    def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
        if name == "content_block_stop":
            held.append(event(name, data))
            return []
        if name == "message_delta":
            out = [event(name, data), *held]
            held.clear()
            return out
        return [] if name == "message_stop" else [event(name, data)]

    return rewrite


def _repetition_loop(view: RequestView) -> Wrapper | None:
    """On a stream, the last text piece of each text block repeats five times per token of max_tokens plus 100 (at most 6,000: past every allowance the suite's answers have), then the block ends."""
    body = view.body
    limit = body.get("max_tokens") if isinstance(body, dict) and body.get("stream") is True else None
    if not isinstance(limit, int) or isinstance(limit, bool):
        return None
    repeats = min(5 * limit + 100, 6000)  # a probe's 64,000 would cost the server seconds of CPU for a stream the suite closes at once

    def factory() -> EventFn:
        last: list[EventOut] = []

        def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
            if isinstance(data, dict) and data.get("type") == "content_block_delta" and isinstance(data.get("delta"), dict) and data["delta"].get("type") == "text_delta":
                last[:] = [event(name, data)]
            elif isinstance(data, dict) and data.get("type") == "content_block_stop" and last:
                looped = last * repeats
                last.clear()
                return [*looped, event(name, data)]
            return [event(name, data)]

        return rewrite

    return rewrite_events_with_state(factory)


def _only_text_blocks(fn: Callable[[str | None, JSON], Iterable[EventOut]]) -> Callable[[], EventFn]:
    """Apply ``fn`` to the stop of text blocks only (tool and thinking blocks take no text_delta)."""

    def factory() -> EventFn:
        state = {"text": False}

        def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
            if isinstance(data, dict) and data.get("type") == "content_block_start":
                block = data.get("content_block")
                state["text"] = isinstance(block, dict) and block.get("type") == "text"
            if state["text"] and isinstance(data, dict) and data.get("type") == "content_block_stop":
                return fn(name, data)
            return [event(name, data)]

        return rewrite

    return factory


FAULTS: tuple[Fault, ...] = (
    # Where the grammar goes silent early, these prove the end is still judged and the silenced checks skip instead of passing.
    _fault("no-message-start-done-terminated", ["recovery.pre_stream_error_is_status", "stream.ends_with_message_stop", "stream.message_start_first", "stream.no_done_sentinel"],
           f"{PEERS} #14 (https://github.com/huggingface/tau/pull/692: a proxy that ends with data: [DONE]), #8 (message_start is where clients create the message)",
           "A translator sends no message_start and ends with data: [DONE] instead of message_stop; order, indices and delta kinds are never judged (skip).",
           rewrite_events(_openai_framed)),
    _fault("misordered-unended-stream", ["stream.ends_with_message_stop", "stream.event_order"],
           f"{PEERS} #6 (closing events sent before usage arrived), #16 (no message_stop)",
           "content_block_stop comes after message_delta, and message_stop never comes: both the order and the missing end are findings.",
           rewrite_events_with_state(_late_close_unended)),
    _fault("last-text-delta-dropped", ["stream.text_matches_twin"], f"{PEERS} #12, #29 (a proxy that flushes its buffer only on the next chunk)",
           "Each text block's last text_delta is held back and lost when the block stops: streaming clients get a cut answer.", rewrite_events_with_state(_drop_last_text_delta)),
    _fault("block-start-text-repeated", ["stream.block_start_empty", "stream.text_matches_twin"], "https://docs.claude.com/en/docs/build-with-claude/streaming (content_block_start text is \"\")",
           "content_block_start already carries the first text piece, which is then sent again as a text_delta: the SDK shows it twice.",
           rewrite_events_with_state(_repeat_first_text_in_start)),
    _fault("block-start-whole-text", ["stream.block_start_empty"], "https://docs.claude.com/en/docs/build-with-claude/streaming (content_block_start text is \"\")",
           "A buffering gateway sends each text block whole in content_block_start and no text_delta: streaming clients display nothing.",
           rewrite_events_with_state(_whole_text_in_start)),
    _fault("repetition-loop-stream", ["stream.length_within_max_tokens"],
           f"{PEERS} #21 (max_tokens not passed to the backend); https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md (n_predict: -1 = infinity, the default)",
           "On the stream path max_tokens is not passed on and the model falls into a repetition loop: its last text piece repeats far past "
           "what max_tokens allows before the stream ends. The suite stops reading at the allowance; the rules about the end skip, naming the finding.",
           per_request(_repetition_loop)),
    _fault("split-surrogate-deltas", ["stream.text_intact", "stream.text_matches_twin"], "https://www.rfc-editor.org/rfc/rfc8259#section-8.2 (unpaired surrogates)",
           "A proxy re-chunks text by UTF-16 code units: an emoji arrives as two text_deltas holding lone surrogate escapes.",
           rewrite_events_with_state(_only_text_blocks(_split_surrogates))),
)
