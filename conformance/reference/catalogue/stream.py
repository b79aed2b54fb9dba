"""Faults in the event stream (stream.*): the grammar broken, the framing or encoding mangled, text lost or repeated on the way.

Each rewrites the faithful event stream the way a buffering or translating proxy does. Some break the
order of events, some only what a streaming client reads (the non-streamed answer stays intact, so only a
comparison with the twin shows the damage); deviation numbers refer to the research notes' table (peers.md
§4.6).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from conformance._types import JSON
from conformance.reference.fault import Fault, fault
from conformance.reference.rewrite.edits import PEERS, edit_event
from conformance.reference.rewrite.request import compose, per_request
from conformance.reference.rewrite.stream import (
    event,
    rewrite_events,
    rewrite_events_with_state,
    rewrite_stream_bytes,
)
from conformance.reference.rewrite.views import EventFn, EventOut, RequestView, Wrapper


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


def _drop_message_stop(name: str | None, data: JSON) -> Iterable[EventOut]:
    return [] if name == "message_stop" else [event(name, data)]


def _data_only(name: str | None, data: JSON) -> Iterable[EventOut]:
    return [event(None, data)]


def _done_sentinel(name: str | None, data: JSON) -> Iterable[EventOut]:
    out = [event(name, data)]
    if name == "message_stop":
        out.append((None, "[DONE]"))
    return out


def _text_keepalive(name: str | None, data: JSON) -> Iterable[EventOut]:
    out = [event(name, data)]
    if name == "message_start":
        out.append(("ping", "keep-alive"))
    return out


def _duplicate_start(name: str | None, data: JSON) -> Iterable[EventOut]:
    return [event(name, data), event(name, data)] if name == "message_start" else [event(name, data)]


def _block_stop_after_delta(*, unended: bool) -> Callable[[], EventFn]:
    """content_block_stop held back until after message_delta; with ``unended`` message_stop is never sent either."""

    def factory() -> EventFn:
        held: list[EventOut] = []

        def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
            if name == "content_block_stop":
                held.append(event(name, data))
                return []
            if name == "message_delta":
                out = [event(name, data), *held]
                held.clear()
                return out
            return [] if unended and name == "message_stop" else [event(name, data)]

        return rewrite

    return factory


def _block_per_chunk(*, same_index: bool) -> Callable[[], EventFn]:
    def factory() -> EventFn:
        state = {"blocks": 0, "text": True, "index": 0}

        def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
            if not isinstance(data, dict):
                return [event(name, data)]
            kind = data.get("type")
            if kind == "content_block_start":  # only text blocks are split; others (thinking, tool_use) pass, renumbered
                block = data.get("content_block")
                state["text"] = isinstance(block, dict) and block.get("type") == "text"
                if not state["text"]:
                    state["index"] = 0 if same_index else state["blocks"]
                    state["blocks"] += 1
            if kind in ("content_block_start", "content_block_delta", "content_block_stop") and not state["text"]:
                return [event(name, {**data, "index": state["index"]})]
            if kind in ("content_block_start", "content_block_stop"):
                return []  # replaced by one block per delta
            if kind == "content_block_delta":
                index = 0 if same_index else state["blocks"]
                state["blocks"] += 1
                start = {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}
                stop = {"type": "content_block_stop", "index": index}
                return [event("content_block_start", start), event(name, {**data, "index": index}), event("content_block_stop", stop)]
            return [event(name, data)]

        return rewrite

    return factory


def _thinking_in_text() -> EventFn:
    state = {"done": False}

    def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
        if isinstance(data, dict) and data.get("type") == "content_block_delta" and not state["done"]:
            state["done"] = True
            text = data["delta"].get("text", "")
            return [event(name, {**data, "delta": {"type": "thinking_delta", "thinking": text}})]
        return [event(name, data)]

    return rewrite


def _cut_mid_message_delta(name: str | None, data: JSON) -> Iterable[EventOut]:
    if name == "message_delta":
        whole = event(name, data)[1]
        return [(name, whole[: len(whole) // 2] + "\x00CUT")]
    if name == "message_stop":
        return []
    return [event(name, data)]


def _cut_stream(chunk: bytes) -> bytes:
    marker = chunk.find(b"\x00CUT")
    return chunk if marker < 0 else chunk[:marker]


def _latin1(chunk: bytes) -> bytes:
    return chunk.decode("utf-8", errors="replace").encode("latin-1", errors="replace")


def _lossy_utf8(chunk: bytes) -> bytes:
    return chunk.decode("utf-8", errors="replace").encode("utf-8")


def _null_stop_reason(data: dict[str, JSON]) -> None:
    delta = data.get("delta")
    if isinstance(delta, dict):
        delta["stop_reason"] = None


def _drop_usage(data: dict[str, JSON]) -> None:
    data.pop("usage", None)


FAULTS: tuple[Fault, ...] = (
    fault("message-delta-without-usage", ["stream.event_schema", "server_tools.usage_counts_requests"], f"{PEERS} #5",
          "message_delta carries no usage object.", edit_event("message_delta", _drop_usage)),
    fault("drop-message-stop", ["stream.ends_with_message_stop"], f"{PEERS} #14; https://github.com/huggingface/tau/pull/692",
          "The stream ends after message_delta without a message_stop event.", rewrite_events(_drop_message_stop)),
    fault("data-only-events", ["stream.event_name_matches_type"], "https://github.com/anthropics/anthropic-sdk-python/blob/main/src/anthropic/_streaming.py (events without event: are skipped)",
          "SSE events are sent as bare data: lines with no event: line.", rewrite_events(_data_only)),
    fault("done-sentinel", ["stream.no_done_sentinel"], f"{PEERS} #14; https://github.com/huggingface/tau/pull/692",
          "An OpenAI-style data: [DONE] follows message_stop.", rewrite_events(_done_sentinel)),
    fault("text-keepalive", ["stream.data_is_json"], f"{PEERS} #15 (keep-alives during silences)",
          "Keep-alives are sent as event: ping with the text data keep-alive instead of JSON.", rewrite_events(_text_keepalive)),
    fault("latin1-stream", ["stream.text_matches_twin", "stream.utf8_valid"], "https://html.spec.whatwg.org/multipage/server-sent-events.html (streams are always UTF-8)",
          "A proxy re-encodes the event stream as ISO-8859-1.", compose(rewrite_stream_bytes(_latin1), rewrite_events(lambda n, d: [event(n, d)]))),
    fault("lossy-utf8-chunks", ["stream.text_intact", "stream.text_matches_twin"], "https://github.com/cnighswonger/claude-code-cache-fix/issues/365",
          "A proxy decodes each chunk on its own, turning split multi-byte characters into U+FFFD.", rewrite_stream_bytes(_lossy_utf8)),
    fault("truncated-stream", ["stream.ends_with_message_stop", "stream.framing_terminated"], f"{PEERS} #16 (upstream failure mid-stream)",
          "The connection closes in the middle of message_delta.", compose(rewrite_stream_bytes(_cut_stream), rewrite_events(_cut_mid_message_delta))),
    fault("duplicate-message-start", ["stream.message_start_first"], f"{PEERS} #8; https://github.com/BerriAI/litellm/issues/32357",
          "message_start is sent twice with the same id.", rewrite_events(_duplicate_start)),
    fault("message-delta-before-block-stop", ["stream.event_order"], f"{PEERS} #6 (closing events sent before usage arrived)",
          "message_delta is sent before the open block's content_block_stop.", rewrite_events_with_state(_block_stop_after_delta(unended=False))),
    fault("block-per-chunk-index-zero", ["stream.block_indices_sequential"], f"{PEERS} #11; https://github.com/nanocoai/nanoclaw/pull/1241",
          "Every delta opens a new block, and every block is index 0.", rewrite_events_with_state(_block_per_chunk(same_index=True))),
    fault("block-per-chunk", ["stream.rebuilt_matches_twin"], f"{PEERS} #11; https://github.com/nanocoai/nanoclaw/pull/1241",
          "Every delta opens a new content block, so the streamed message has more blocks than the plain one.", rewrite_events_with_state(_block_per_chunk(same_index=False))),
    fault("thinking-delta-in-text", ["stream.delta_matches_block", "thinking.stream_round_trip_accepted"], f"{PEERS} #9; https://github.com/BerriAI/litellm/issues/33224",
          "A thinking_delta arrives inside a text block.", rewrite_events_with_state(_thinking_in_text)),
    fault("message-delta-null-stop-reason", ["stream.message_delta_stop_reason"], f"{PEERS} #29",
          "The final message_delta has stop_reason null.", edit_event("message_delta", _null_stop_reason)),
    # Where the grammar goes silent early, these prove the end is still judged and the silenced checks skip instead of passing.
    fault("no-message-start-done-terminated", ["recovery.pre_stream_error_is_status", "stream.ends_with_message_stop", "stream.message_start_first", "stream.no_done_sentinel"],
          f"{PEERS} #14 (https://github.com/huggingface/tau/pull/692: a proxy that ends with data: [DONE]), #8 (message_start is where clients create the message)",
          "A translator sends no message_start and ends with data: [DONE] instead of message_stop; order, indices and delta kinds are never judged (skip).",
          rewrite_events(_openai_framed)),
    fault("misordered-unended-stream", ["stream.ends_with_message_stop", "stream.event_order"],
          f"{PEERS} #6 (closing events sent before usage arrived), #16 (no message_stop)",
          "content_block_stop comes after message_delta, and message_stop never comes: both the order and the missing end are findings.",
          rewrite_events_with_state(_block_stop_after_delta(unended=True))),
    fault("last-text-delta-dropped", ["stream.text_matches_twin"], f"{PEERS} #12, #29 (a proxy that flushes its buffer only on the next chunk)",
          "Each text block's last text_delta is held back and lost when the block stops: streaming clients get a cut answer.", rewrite_events_with_state(_drop_last_text_delta)),
    fault("block-start-text-repeated", ["stream.block_start_empty", "stream.text_matches_twin"], "https://docs.claude.com/en/docs/build-with-claude/streaming (content_block_start text is \"\")",
          "content_block_start already carries the first text piece, which is then sent again as a text_delta: the SDK shows it twice.",
          rewrite_events_with_state(_repeat_first_text_in_start)),
    fault("block-start-whole-text", ["stream.block_start_empty"], "https://docs.claude.com/en/docs/build-with-claude/streaming (content_block_start text is \"\")",
          "A buffering gateway sends each text block whole in content_block_start and no text_delta: streaming clients display nothing.",
          rewrite_events_with_state(_whole_text_in_start)),
    fault("repetition-loop-stream", ["stream.length_within_max_tokens"],
          f"{PEERS} #21 (max_tokens not passed to the backend); https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md (n_predict: -1 = infinity, the default)",
          "On the stream path max_tokens is not passed on and the model falls into a repetition loop: its last text piece repeats far past "
          "what max_tokens allows before the stream ends. The suite stops reading at the allowance; the rules about the end skip, naming the finding.",
          per_request(_repetition_loop)),
    fault("split-surrogate-deltas", ["stream.text_intact", "stream.text_matches_twin"], "https://www.rfc-editor.org/rfc/rfc8259#section-8.2 (unpaired surrogates)",
          "A proxy re-chunks text by UTF-16 code units: an emoji arrives as two text_deltas holding lone surrogate escapes.",
          rewrite_events_with_state(_only_text_blocks(_split_surrogates))),
)
