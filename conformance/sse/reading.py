"""One call that reads a recorded stream: frames, events, framing and grammar violations, rebuilt message.

Owns the wiring of framer → JSON → grammar → rebuild so every check sees the same reading, and
the cap on how many frames one reading keeps (a body within the size cap can still hold millions
of tiny events, each costing far more memory and time than its bytes). It judges nothing itself
(a data payload that is not a JSON object is left for checks to flag).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from .. import jsontext
from .._types import JSONObject
from ..exchange import Chunk
from ..findings import Violation
from .framer import Frame, Framer
from .grammar import Grammar, GrammarIssue
from .rebuild import rebuild

MAX_FRAMES = 10_000  # events (blank-line-terminated blocks) one reading keeps; the suite's own answers need a few hundred
_SLICE = 64 * 1024  # most bytes fed at once, so the cap stops the framer early whatever the recorded reads were


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
    unread: int = 0  # bytes after the frame cap, never framed


def _object(raw: str) -> JSONObject | None:
    try:
        value = jsontext.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _frames(body: bytes, chunks: Sequence[Chunk], framer: Framer, max_frames: int) -> tuple[list[Frame], int]:
    """Feed at the recorded read boundaries (a framer bug may only show at a particular split), a slice at a time.

    Stops once more than ``max_frames`` frames are in; returns the first ``max_frames`` and the offset
    reading got to (the end of the last kept frame, or ``len(body)`` when everything was read).
    """
    reads: list[tuple[int, int, float | None]] = [(c.offset, c.offset + c.size, c.t) for c in chunks]
    fed = max((end for _, end, _ in reads), default=0)
    if fed < len(body):
        reads.append((fed, len(body), None))
    frames: list[Frame] = []
    for start, end, t in reads:
        for at in range(start, end, _SLICE):
            frames += framer.feed(body[at : min(end, at + _SLICE)], t)
            if len(frames) > max_frames:
                return frames[:max_frames], frames[max_frames - 1].end
    frames += framer.flush()
    if len(frames) > max_frames:
        return frames[:max_frames], frames[max_frames - 1].end
    return frames, len(body)


def read_stream(
    body: bytes,
    chunks: Sequence[Chunk] = (),
    *,
    delta_blocks: Mapping[str, frozenset[str]] | None = None,
    max_event_bytes: int = 8 * 1024 * 1024,
    max_frames: int = MAX_FRAMES,
) -> StreamReading:
    """Read a recorded SSE body the way a client would, keeping every layer's evidence."""
    framer = Framer(max_event_bytes=max_event_bytes)
    frames, read = _frames(body, chunks, framer, max_frames)
    unread = len(body) - read
    if unread:  # read the kept part again, so nothing past the last kept frame (bad bytes in the same read) is judged
        framer = Framer(max_event_bytes=max_event_bytes)
        frames, _ = _frames(body[:read], chunks, framer, max_frames)
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
    if unread:  # the stream did not end where reading stopped: say so wherever the end is judged
        note = f"\nNote: the suite reads at most {max_frames:,} events of a stream; the last {unread:,} bytes were not read"
        judged = [replace(v, message=v.message + note) if v.kind is GrammarIssue.NO_END else v for v in judged]
    return StreamReading(
        frames=tuple(frames),
        events=tuple(events),
        framing=tuple(framer.close()),
        grammar=tuple(judged),
        message=rebuild(event.data for event in events if event.data is not None),
        unread=unread,
    )
