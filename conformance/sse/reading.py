"""One call that reads a recorded stream: frames, events, framing and grammar violations, rebuilt message.

Owns the wiring of framer → JSON → grammar → rebuild so every check sees the same reading;
it judges nothing itself (a data payload that is not a JSON object is left for checks to flag).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .._types import JSONObject
from ..exchange import Chunk
from ..findings import Violation
from .framer import Frame, Framer
from .grammar import Grammar
from .rebuild import rebuild


@dataclass(frozen=True, slots=True)
class Event:
    """A frame that carried data, numbered among such frames, which is how violations name events."""

    index: int
    frame: Frame
    name: str | None
    raw: str
    data: JSONObject | None


@dataclass(frozen=True, slots=True)
class StreamReading:
    """Everything the stream checks need, computed once per exchange."""

    frames: tuple[Frame, ...]
    events: tuple[Event, ...]
    framing: tuple[Violation, ...]
    grammar: tuple[Violation, ...]
    message: JSONObject | None


def _object(raw: str) -> JSONObject | None:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _frames(body: bytes, chunks: Sequence[Chunk], framer: Framer) -> list[Frame]:
    """Feed at the recorded read boundaries, since a framer bug may only show at a particular split."""
    frames: list[Frame] = []
    fed = 0
    for chunk in chunks:
        frames += framer.feed(body[chunk.offset : chunk.offset + chunk.size], chunk.t)
        fed = max(fed, chunk.offset + chunk.size)
    if fed < len(body):
        frames += framer.feed(body[fed:])
    frames += framer.flush()
    return frames


def read_stream(
    body: bytes,
    chunks: Sequence[Chunk] = (),
    *,
    delta_blocks: Mapping[str, frozenset[str]] | None = None,
    max_event_bytes: int = 8 * 1024 * 1024,
) -> StreamReading:
    """Read a recorded SSE body the way a client would, keeping every layer's evidence."""
    framer = Framer(max_event_bytes=max_event_bytes)
    frames = _frames(body, chunks, framer)
    events: list[Event] = []
    for frame in frames:
        if frame.data is not None:
            events.append(Event(len(events), frame, frame.event, frame.data, _object(frame.data)))
    grammar = Grammar(delta_blocks)
    judged: list[Violation] = []
    for event in events:
        if event.data is not None:
            judged += grammar.feed(event.data, event.index)
    judged += grammar.close()
    return StreamReading(
        frames=tuple(frames),
        events=tuple(events),
        framing=tuple(framer.close()),
        grammar=tuple(judged),
        message=rebuild(event.data for event in events if event.data is not None),
    )
