"""One call that reads a recorded stream: frames, events, framing and grammar violations, rebuilt message.

Owns the wiring of framer → JSON → grammar → rebuild so every check sees the same reading, and
the suite's own limits on one reading: how many frames a reading of a run keeps (a body within
the size cap can still hold millions of tiny events, each costing far more memory and time than
its bytes) and how large one event may be. A limit that stops reading is never a verdict: the
reading says so in ``limit`` and the checks that needed the rest report ``error`` naming it.

A saved file (``read_file``) is read in slices with no frame cap: one pass judges and rebuilds,
and a file with many events is not kept in memory but read again whenever a check walks its
events, so memory stays flat however long the recording is. It judges nothing itself (a data
payload that is not a JSON object is left for checks to flag).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import NamedTuple, TypeVar, overload

from .. import jsontext
from .._types import JSONObject
from ..exchange import Chunk
from ..findings import Violation
from .framer import Framer
from .frames import Frame, FrameTable
from .grammar import Grammar, Progress
from .rebuild import Rebuild

MAX_FRAMES = 10_000  # events (blank-line-terminated blocks) one reading of a run keeps; the suite's own answers need a few hundred
KEEP_EVENTS = 5_000  # frames a file reading keeps in memory (a few MB); past that, walking the events reads the file again
_SLICE = 64 * 1024  # most bytes fed at once, so a cap stops the framer early whatever the recorded reads were

Pieces = Callable[[], Iterator[tuple[bytes, float | None]]]  # the body from its start, as (bytes, arrival time) reads
T = TypeVar("T")


class Event(NamedTuple):
    """A frame that carried data, numbered among such frames, which is how violations name events.

    A named tuple, like ``Frame``: one is made per event, and a frozen dataclass costs more to make than framing the event.
    """

    index: int  # type: ignore[assignment]  # shadows tuple.index on purpose, as Frame.index does
    frame: Frame
    name: str | None
    raw: str
    data: JSONObject | None


@dataclass(frozen=True, slots=True)
class StreamReading:
    """Everything the stream checks need, computed once per exchange.

    ``frames`` and ``events`` are sequences; for a long saved file they are views that read the
    file again on every walk (walk them, don't index them in a loop). ``limit`` names the cap of
    ours that stopped reading before the end of the body (None when everything was read): what
    lies past it was never judged, and the end of the stream is unknown.
    """

    frames: Sequence[Frame]
    events: Sequence[Event]
    framing: tuple[Violation, ...]
    grammar: tuple[Violation, ...]
    message: JSONObject | None
    unread: int = 0  # bytes after the point where a cap stopped reading
    read_bytes: int = 0  # bytes framed: the whole body unless a cap stopped reading
    progress: Progress = field(default_factory=Progress)
    limit: str | None = None
    error_at: int | None = None  # the first event named error by its event: line or its data's type (how the SDK and the grammar see one)


class _Lazy(Sequence[T]):
    """A sequence whose items are made when read: subclasses say how to make one (and, where cheaper, a run of them)."""

    __slots__ = ()

    def _item(self, position: int) -> T:
        raise NotImplementedError

    def _items(self, positions: range) -> Sequence[T]:
        return tuple(self._item(i) for i in positions)

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...
    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        if isinstance(index, slice):
            return self._items(range(len(self))[index])
        return self._item(range(len(self))[index])


class _Replay(_Lazy[T]):
    """A sequence that is produced again, from the start, each time it is walked: constant memory, linear time per walk."""

    __slots__ = ("_produce", "_size")

    def __init__(self, produce: Callable[[], Iterator[T]], size: int) -> None:
        self._produce = produce
        self._size = size

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[T]:
        return islice(self._produce(), self._size)

    def _item(self, position: int) -> T:
        return next(islice(self._produce(), position, None))

    def _items(self, positions: range) -> Sequence[T]:
        found = {i: item for i, item in enumerate(self) if i in positions}  # one walk for the whole slice
        return [found[i] for i in positions]

    def __repr__(self) -> str:
        return f"<{self._size} items, read again on each walk>"


_object = jsontext.object_or_none


def _memory_pieces(body: bytes, chunks: Sequence[Chunk]) -> Pieces:
    """Feed at the recorded read boundaries (a framer bug may only show at a particular split), a slice at a time."""
    reads: list[tuple[int, int, float | None]] = [(c.offset, c.offset + c.size, c.t) for c in chunks]
    fed = max((end for _, end, _ in reads), default=0)
    if fed < len(body):
        reads.append((fed, len(body), None))

    def pieces() -> Iterator[tuple[bytes, float | None]]:
        for start, end, t in reads:
            for at in range(start, end, _SLICE):
                yield body[at : min(end, at + _SLICE)], t

    return pieces


def _file_pieces(path: Path) -> Pieces:
    def pieces() -> Iterator[tuple[bytes, float | None]]:
        with path.open("rb") as handle:
            while piece := handle.read(_SLICE):
                yield piece, None  # a saved file has no arrival times

    return pieces


def _prefix(pieces: Pieces, end: int) -> Pieces:
    """The same reads, cut at byte ``end``."""

    def cut() -> Iterator[tuple[bytes, float | None]]:
        at = 0
        for piece, t in pieces():
            if at >= end:
                return
            yield piece[: end - at], t
            at += len(piece)

    return cut


def _frames(pieces: Pieces, max_event_bytes: int) -> Iterator[Frame]:
    """Every frame of the body, in order, stopping before an event larger than the cap (see ``_Pass``)."""
    framer = Framer(max_event_bytes=max_event_bytes)
    for piece, t in pieces():
        frames = framer.feed(piece, t)
        if framer.oversized_at is not None:
            yield from (f for f in frames if f.start < framer.oversized_at)
            return
        yield from frames
    yield from framer.flush()


def _events(frames: Iterator[Frame]) -> Iterator[Event]:
    count = 0
    for frame in frames:
        if frame.data is not None:
            yield Event(count, frame, frame.event, frame.data, _object(frame.data))
            count += 1


class _Columns(_Lazy[T]):
    """A sequence read from columns, equal to any sequence of the same values (a tuple of them, in tests)."""

    __slots__ = ()
    NOUN = "items"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"<{len(self)} {self.NOUN}>"


class _Frames(_Columns[Frame]):
    """The frames of a reading, kept as columns (``FrameTable``) and made into ``Frame`` values when read."""

    __slots__ = ("_table",)
    NOUN = "frames"

    def __init__(self, table: FrameTable) -> None:
        self._table = table

    def __len__(self) -> int:
        return len(self._table)

    def __iter__(self) -> Iterator[Frame]:
        frame = self._table.frame
        return (frame(i) for i in range(len(self._table)))

    def _item(self, position: int) -> Frame:
        return self._table.frame(position)


class _Events(_Columns[Event]):
    """The events of a reading: the decoded data of each data-carrying frame, made into ``Event`` values when read."""

    __slots__ = ("_at", "_data", "_table")
    NOUN = "events"

    def __init__(self, table: FrameTable, at: list[int], data: list[JSONObject | None]) -> None:
        self._table, self._at, self._data = table, at, data

    def __len__(self) -> int:
        return len(self._at)

    def _item(self, k: int) -> Event:
        i = self._at[k]
        frame = self._table.frame(i)
        return _new_event(Event, (k, frame, frame.event, frame.data, self._data[k]))

    def __iter__(self) -> Iterator[Event]:
        return (self._item(k) for k in range(len(self._at)))



class _Pass:
    """One walk over the body that frames, decodes, judges and rebuilds, keeping frames and events only up to ``keep``.

    Frames go into a ``FrameTable`` and the decoded events into a list: no object per event beyond
    its JSON, so a long stream costs neither the tuples nor the collector's walks over them.
    """

    def __init__(self, *, delta_blocks: Mapping[str, frozenset[str]] | None, keep: int | None) -> None:
        self.grammar = Grammar(delta_blocks)
        self.rebuild = Rebuild()
        self.violations: list[Violation] = []
        self.table = FrameTable()
        self.at: list[int] = []  # the table position of each event's frame
        self.data: list[JSONObject | None] = []  # each event's decoded data
        self.kept = True  # False once more than ``keep`` frames came: walks read the body again
        self.frame_count = self.event_count = self.end = 0
        self.error_at: int | None = None
        self._done = 0  # table positions already walked
        self._keep = keep

    def take(self, room: int | None) -> bool:
        """Walk the frames the framer added to the table, at most ``room`` of them (None: all); False when room ran out first."""
        table = self.table
        size = len(table)
        whole = True
        if room is not None and size - self._done > room:
            size = self._done + room
            table.truncate(size)
            whole = False
        if size == self._done:
            return whole
        feed, rebuild, violations = self.grammar.feed, self.rebuild.feed, self.violations
        names, datas, at, kept_data = table.names, table.datas, self.at, self.data
        count = self.event_count
        error_at = self.error_at
        for i in range(self._done, size):
            raw = datas[i]
            if raw is None:
                continue
            data = _object(raw)
            at.append(i)
            kept_data.append(data)
            if data is not None:
                if error_at is None and (names[i] == "error" or data.get("type") == "error"):
                    error_at = count
                found = feed(data, count)
                if found:
                    violations += found
                rebuild(data)
            elif error_at is None and names[i] == "error":
                error_at = count
            count += 1
        self.error_at = error_at
        self.frame_count += size - self._done
        self.end = table.ends[size - 1]
        self.event_count = count
        self._done = size
        if self._keep is not None and (not self.kept or self.frame_count > self._keep):
            self.kept = False  # too many to hold: forget them, walks read the body again
            table.clear()
            at.clear()
            kept_data.clear()
            self._done = 0
        return whole


_new_event = tuple.__new__


def _read(
    pieces: Pieces,
    size: int,
    *,
    delta_blocks: Mapping[str, frozenset[str]] | None,
    max_event_bytes: int,
    max_frames: int | None,
    keep: int | None,
) -> StreamReading:
    walk = _Pass(delta_blocks=delta_blocks, keep=keep)
    framer = Framer(max_event_bytes=max_event_bytes)
    limit: str | None = None
    collecting = gc.isenabled()
    if collecting:  # every object made here is acyclic (JSON values, tuples): repeated full scans of the growing reading only cost time
        gc.disable()
    try:
        table = walk.table
        for read in chain(pieces(), [None]):
            if read is not None:
                framer.feed_into(table, *read)
            else:
                framer.flush_into(table)
            if framer.oversized_at is not None:
                cut = framer.oversized_at
                keep = len(table)
                while keep > 0 and table.starts[keep - 1] >= cut:
                    keep -= 1
                table.truncate(keep)
                limit = f"an event at byte {framer.oversized_at:,} is larger than the suite's cap of {max_event_bytes:,} bytes for one event; reading stopped there"
            if not walk.take(None if max_frames is None else max_frames - walk.frame_count):
                limit = f"the suite reads at most {max_frames:,} events of a stream; reading stopped after byte {walk.end:,}"
            if limit is not None:
                break
    finally:
        if collecting:
            gc.enable()
    if limit is None:
        framing = tuple(framer.close())
        grammar = (*walk.violations, *walk.grammar.close())
        unread = 0
    else:  # frame the kept part again: nothing past the last kept frame (bad bytes in the same read) is judged, and the end is unknown
        again = Framer(max_event_bytes=max_event_bytes)
        for piece, t in _prefix(pieces, walk.end)():
            again.feed(piece, t)
        framing, grammar, unread = tuple(again.close()), tuple(walk.violations), size - walk.end
    frames: Sequence[Frame] = _Frames(walk.table) if walk.kept else _Replay(lambda: _frames(pieces, max_event_bytes), walk.frame_count)
    events: Sequence[Event] = _Events(walk.table, walk.at, walk.data) if walk.kept else _Replay(lambda: _events(_frames(pieces, max_event_bytes)), walk.event_count)
    return StreamReading(
        frames=frames,
        events=events,
        framing=framing,
        grammar=grammar,
        message=walk.rebuild.result(),
        unread=unread,
        read_bytes=size - unread,
        progress=walk.grammar.progress,
        limit=limit,
        error_at=walk.error_at,
    )


def read_stream(
    body: bytes,
    chunks: Sequence[Chunk] = (),
    *,
    delta_blocks: Mapping[str, frozenset[str]] | None = None,
    max_event_bytes: int = 8 * 1024 * 1024,
    max_frames: int = MAX_FRAMES,
) -> StreamReading:
    """Read a recorded SSE body the way a client would, keeping every layer's evidence (at most ``max_frames`` frames)."""
    return _read(_memory_pieces(body, chunks), len(body), delta_blocks=delta_blocks, max_event_bytes=max_event_bytes, max_frames=max_frames, keep=None)


def read_file(
    path: Path,
    *,
    delta_blocks: Mapping[str, frozenset[str]] | None = None,
    max_event_bytes: int = 8 * 1024 * 1024,
    keep: int = KEEP_EVENTS,
) -> StreamReading:
    """Read a saved SSE file of any length in flat memory: no frame cap, events kept in memory only up to ``keep`` frames."""
    return _read(_file_pieces(path), path.stat().st_size, delta_blocks=delta_blocks, max_event_bytes=max_event_bytes, max_frames=None, keep=keep)
