"""What a frame is, and how a reader that keeps every frame of a long stream stores them.

The framer (framer.py) makes these values; checks, the reader and the recovery probes read them.
Kept apart from the framer so that a module that only reads frames does not import the byte
scanner, and the scanner's module holds only the scanning.
"""

from __future__ import annotations

import enum
import sys
from typing import NamedTuple


class LineEnding(enum.Enum):
    """The three line terminators SSE accepts; mixing them is legal but worth seeing."""

    LF = "LF"
    CR = "CR"
    CRLF = "CRLF"


# Line endings seen in a block, as a bit mask while framing (no set per block); a frame gets the frozenset.
ENDING_BIT = {LineEnding.LF: 1, LineEnding.CR: 2, LineEnding.CRLF: 4}
ENDINGS = tuple(frozenset(e for e, bit in ENDING_BIT.items() if mask & bit) for mask in range(8))
LF_ONLY = ENDINGS[1]
EVENT, DATA = sys.intern("event"), sys.intern("data")


class FrameIssue(enum.Enum):
    """Violation kinds the framer reports, so checks can route them without reading messages."""

    BAD_UTF8 = "bad_utf8"
    EOF_MID_EVENT = "eof_mid_event"
    EVENT_TOO_LARGE = "event_too_large"
    BOM = "bom"


class Frame(NamedTuple):
    """One blank-line-terminated block, with where and when it arrived, for evidence and timing checks.

    A named tuple rather than a frozen dataclass: one is made per event, and a frozen dataclass's
    ``__init__`` costs several times the framing of a typical event.
    """

    index: int  # type: ignore[assignment]  # shadows tuple.index on purpose: the frame's number is its index
    event: str | None
    data: str | None
    id: str | None
    retry: str | None
    comments: tuple[str, ...]
    fields: tuple[tuple[str, str], ...]
    start: int
    end: int
    endings: frozenset[LineEnding]
    t: float | None


new_frame = tuple.__new__  # Frame(...) without the keyword-argument machinery, on the hot path


def plain_fields(event: str | None, data: str | None) -> tuple[tuple[str, str], ...]:
    """The fields of a frame made of at most one event line and one data line, in that order."""
    if event is None:
        return ((DATA, data),) if data is not None else ()
    return ((EVENT, event), (DATA, data)) if data is not None else ((EVENT, event),)


class FrameTable:
    """Frames as columns, for a reader that keeps every frame of a long stream.

    A ``Frame`` per event costs its tuple and its fields' tuples, and the garbage collector walks
    every one of them: a stream of 50,000 events holds 250,000 tuples. Here an event of the common
    shape (see ``framer.Framer._fast``) is only its name, data, offsets and time in five lists; any other
    frame is kept whole in ``special``. ``frame(i)`` gives the same ``Frame`` either way.
    """

    __slots__ = ("datas", "ends", "names", "special", "starts", "times")

    def __init__(self) -> None:
        self.names: list[str | None] = []
        self.datas: list[str | None] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.times: list[float | None] = []
        self.special: dict[int, Frame] = {}  # position -> a frame that is not of the common shape

    def __len__(self) -> int:
        return len(self.starts)

    def append(self, frame: Frame) -> None:
        """Keep a frame made by the general path whole."""
        self.special[len(self.starts)] = frame
        self.names.append(frame.event)
        self.datas.append(frame.data)
        self.starts.append(frame.start)
        self.ends.append(frame.end)
        self.times.append(frame.t)

    def frame(self, i: int, index: int | None = None) -> Frame:
        """The frame at position ``i`` (numbered ``index``, by default its position)."""
        found = self.special.get(i)
        if found is not None:
            return found if index is None or found.index == index else found._replace(index=index)
        event, data = self.names[i], self.datas[i]
        number = i if index is None else index
        return new_frame(Frame, (number, event, data, None, None, (), plain_fields(event, data), self.starts[i], self.ends[i], LF_ONLY, self.times[i]))

    def truncate(self, size: int) -> None:
        """Forget every frame from position ``size`` on (a cap of the reader stopped there)."""
        for column in (self.names, self.datas, self.starts, self.ends, self.times):
            del column[size:]
        for i in [i for i in self.special if i >= size]:
            del self.special[i]

    def clear(self) -> None:
        """Forget every frame (a reader that may not keep them has judged them)."""
        self.truncate(0)
