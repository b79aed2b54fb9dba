"""Stream faults that change what a streaming client reads, not the grammar: text lost or repeated on the way.

Each rewrites the faithful event stream the way a buffering or translating proxy does; the
non-streamed answer stays intact, so only a comparison with the twin shows the damage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from conformance._types import JSON
from conformance.reference.fault import Fault
from conformance.reference.fault import plain_fault as _fault
from conformance.reference.rewrite import EventOut, event, rewrite_events_with_state

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


FAULTS: tuple[Fault, ...] = (
    _fault("last-text-delta-dropped", ["stream.text_matches_twin"], f"{PEERS} #12, #29 (a proxy that flushes its buffer only on the next chunk)",
           "Each text block's last text_delta is held back and lost when the block stops: streaming clients get a cut answer.", rewrite_events_with_state(_drop_last_text_delta)),
    _fault("block-start-text-repeated", ["stream.text_matches_twin"], "https://docs.claude.com/en/docs/build-with-claude/streaming (content_block_start text is \"\")",
           "content_block_start already carries the first text piece, which is then sent again as a text_delta: the SDK shows it twice.",
           rewrite_events_with_state(_repeat_first_text_in_start)),
)
