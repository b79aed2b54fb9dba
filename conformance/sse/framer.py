"""Bytes to SSE frames by the WHATWG rules.

Owns line splitting (CR, LF, CRLF at the byte level), per-line UTF-8 decoding, the BOM and the
event size cap, and reports what it could not frame as ``Violation`` values. It knows no JSON
and no event names: what a frame means is the grammar's job. The values it makes (``Frame``,
``FrameTable``, ``LineEnding``, ``FrameIssue``) live in frames.py.

Speed (live traffic goes through here): an event in the shape nearly every server sends
(``event: NAME`` and/or ``data: VALUE`` lines ended by LF, then a blank line, whole inside one read)
is framed by ``bytes.find`` and one decode per line, with no per-line objects; anything else
(CR or CRLF, comments, other fields, an event split across reads, bad UTF-8, an event near the size
cap) goes through the general line-by-line path, which defines the behaviour. Both yield the same
frames for the same bytes (tests/sse/test_framer.py feeds every case both ways).
"""

from __future__ import annotations

import re
import sys

from ..findings import Violation
from .frames import (
    ENDING_BIT,
    ENDINGS,
    LF_ONLY,
    Frame,
    FrameIssue,
    FrameTable,
    LineEnding,
    new_frame,
    plain_fields,
)

_ESCAPED = re.compile("[\udc80-\udcff]")
_BOM = b"\xef\xbb\xbf"
_LF = 0x0A
_REPORTED_BAD_LINES = 3
_ENDING_SIZE = {LineEnding.LF: 1, LineEnding.CR: 1, LineEnding.CRLF: 2}


class _Block:
    """Scratch state of the block being read; never leaves the framer."""

    __slots__ = ("comments", "data", "dropped", "endings", "event", "fields", "id", "retry", "size", "start")

    def __init__(self, start: int) -> None:
        self.start = start
        self.size = 0
        self.dropped = False
        self.event: str | None = None
        self.id: str | None = None
        self.retry: str | None = None
        self.data: list[str] = []
        self.comments: list[str] = []
        self.fields: list[tuple[str, str]] = []
        self.endings = 0  # a mask of _BIT values

    def add(self, line: str) -> None:
        """Interpret one non-blank line as WHATWG does: comment, ``name:value`` or a bare name."""
        if line.startswith(":"):
            self.comments.append(line[1:])
            return
        name, colon, value = line.partition(":")
        name = sys.intern(name)  # thousands of "data" lines share one name
        if colon and value.startswith(" "):
            value = value[1:]
        self.fields.append((name, value))
        if name == "event":
            self.event = value
        elif name == "data":
            self.data.append(value)
        elif name == "id" and "\0" not in value:
            self.id = value
        elif name == "retry":
            self.retry = value

    def drop(self) -> None:
        """Forget everything collected so an oversized event costs no memory."""
        self.dropped = True
        self.data.clear()
        self.comments.clear()
        self.fields.clear()

    def frame(self, index: int, end: int, t: float | None) -> Frame:
        """Freeze the block into the value the rest of the tool sees."""
        data = "\n".join(self.data) if self.data else None
        return Frame(index, self.event, data, self.id, self.retry, tuple(self.comments), tuple(self.fields), self.start, end, ENDINGS[self.endings], t)


class Framer:
    """Incremental SSE framer: chunk boundaries must never change the frames, so it is fed as bytes arrive."""

    __slots__ = (
        "_bad_bytes",
        "_bad_lines",
        "_block",
        "_cr",
        "_head",
        "_index",
        "_line",
        "_line_len",
        "_line_start",
        "_max",
        "_oversized_at",
        "_pos",
        "_t",
        "_violations",
    )

    def __init__(self, *, max_event_bytes: int = 8 * 1024 * 1024) -> None:
        self._max = max_event_bytes
        self._pos = 0
        self._head: bytearray | None = bytearray()
        self._line = bytearray()
        self._line_len = 0
        self._line_start = 0
        self._cr = False
        self._block: _Block | None = None
        self._index = 0
        self._t: float | None = None
        self._violations: list[Violation] = []
        self._bad_lines = 0
        self._bad_bytes = 0
        self._oversized_at: int | None = None

    @property
    def oversized_at(self) -> int | None:
        """Where the first event larger than the cap starts, or None: a reader that must not judge around a hole stops there."""
        return self._oversized_at

    def feed(self, chunk: bytes, t: float | None = None) -> list[Frame]:
        """Frames completed by this chunk; a trailing CR waits, since it may be half of a CRLF."""
        frames: list[Frame] = []
        self.feed_into(frames, chunk, t)
        return frames

    def flush(self) -> list[Frame]:
        """End of input: a held CR is a line end after all, and may complete one last frame."""
        frames: list[Frame] = []
        self.flush_into(frames)
        return frames

    def feed_into(self, sink: list[Frame] | FrameTable, chunk: bytes, t: float | None = None) -> None:
        """``feed``, appending the completed frames to ``sink`` (a ``FrameTable`` keeps common ones as columns)."""
        self._t = t
        if self._head is not None:
            self._head += chunk
            if len(self._head) < len(_BOM) and _BOM.startswith(self._head):
                return
            chunk = self._settle_head()
        self._scan(chunk, sink)

    def flush_into(self, sink: list[Frame] | FrameTable) -> None:
        """``flush``, appending to ``sink``."""
        if self._head:
            self._scan(self._settle_head(), sink)
        if self._cr:
            self._cr = False
            self._end_line(LineEnding.CR, self._pos, sink)

    def close(self) -> list[Violation]:
        """Every violation of the stream's life; call ``flush()`` first to keep a frame a final CR completes."""
        self.flush()
        violations = list(self._violations)
        if self._bad_lines > _REPORTED_BAD_LINES:
            violations.append(
                Violation(
                    f"Received: {self._bad_bytes} invalid UTF-8 bytes on {self._bad_lines} lines"
                    f" (only the first {_REPORTED_BAD_LINES} lines reported)\nExpected: a UTF-8 body",
                    kind=FrameIssue.BAD_UTF8,
                )
            )
        if self._block is not None:
            left = self._pos - self._block.start
            violations.append(
                Violation(
                    f"Received: stream ended mid-event after {self._index} complete events"
                    f" ({left} bytes of an unterminated event)\nExpected: every event ends with a blank line",
                    at=f"byte {self._block.start}",
                    kind=FrameIssue.EOF_MID_EVENT,
                )
            )
        return violations

    def _settle_head(self) -> bytes:
        """Decide the BOM question once the first bytes are in; the SDK keeps a BOM and loses the first event name."""
        head = bytes(self._head or b"")
        self._head = None
        if not head.startswith(_BOM):
            return head
        self._violations.append(
            Violation(
                "Received: a UTF-8 byte order mark at the start of the body"
                "\nExpected: the body starts with the first field (clients that keep the BOM lose the first event name)",
                at="byte 0",
                kind=FrameIssue.BOM,
            )
        )
        self._pos = self._line_start = len(_BOM)
        return head[len(_BOM) :]

    def _scan(self, chunk: bytes, frames: list[Frame] | FrameTable) -> None:
        base = self._pos
        size = len(chunk)
        i = 0
        if self._cr and size:
            self._cr = False
            if chunk[0] == _LF:
                self._end_line(LineEnding.CRLF, base + 1, frames)
                i = 1
            else:
                self._end_line(LineEnding.CR, base, frames)
        find = chunk.find
        cr = find(b"\r", i)  # the next CR at or after i (-1: none left): found once per chunk, not once per line
        lf = -2  # the next LF at or after i, found when needed
        while i < size:
            if self._block is None and not self._line_len:
                i = self._fast(chunk, i, base, frames, size if cr < 0 else cr)
                if i == size:
                    break
            if lf < i and lf != -1:
                lf = find(b"\n", i)
            if 0 <= cr < i:
                cr = find(b"\r", i)
            j = lf if cr < 0 or 0 <= lf < cr else cr
            if j < 0:
                self._extend(chunk, i, size)
                break
            self._extend(chunk, i, j)
            if j == lf:
                self._end_line(LineEnding.LF, base + j + 1, frames)
                i = j + 1
            elif j + 1 == size:
                self._cr = True
                i = size
            elif chunk[j + 1] == _LF:
                self._end_line(LineEnding.CRLF, base + j + 2, frames)
                i = j + 2
            else:
                self._end_line(LineEnding.CR, base + j + 1, frames)
                i = j + 1
        self._pos = base + size

    def _fast(self, chunk: bytes, i: int, base: int, frames: list[Frame] | FrameTable, stop: int) -> int:
        """Frame whole events of the common shape between ``i`` and ``stop`` (the next CR); return where the general path takes over.

        The shape: an optional ``event:`` line, an optional ``data:`` line, each ended by LF, then
        the blank line, all before ``stop``. Anything else (another field, a comment, a second data
        line, bad UTF-8, an event past the size cap, an event cut by the end of the read) stops here.
        """
        find, starts = chunk.find, chunk.startswith
        limit, index, t = self._max, self._index, self._t
        table = frames if isinstance(frames, FrameTable) else None
        while i < stop:
            if chunk[i] == _LF:  # a blank line between blocks: nothing to frame
                i += 1
                continue
            at = i
            event = data = None
            try:
                if starts(b"event:", at):
                    eol = find(b"\n", at, stop)
                    if eol < 0:
                        break
                    value = at + 7 if chunk[at + 6 : at + 7] == b" " else at + 6
                    event = chunk[value:eol].decode()
                    at = eol + 1
                if starts(b"data:", at):
                    eol = find(b"\n", at, stop)
                    if eol < 0:
                        break
                    value = at + 6 if chunk[at + 5 : at + 6] == b" " else at + 5
                    data = chunk[value:eol].decode()
                    at = eol + 1
            except UnicodeDecodeError:
                break
            if at == i or at >= stop or chunk[at] != _LF or at - i > limit:
                break
            at += 1
            if table is not None:
                table.names.append(event)
                table.datas.append(data)
                table.starts.append(base + i)
                table.ends.append(base + at)
                table.times.append(t)
            else:
                frames.append(new_frame(Frame, (index, event, data, None, None, (), plain_fields(event, data), base + i, base + at, LF_ONLY, t)))
            index += 1
            i = at
        self._index = index
        self._line_start = base + i
        return i

    def _extend(self, chunk: bytes, i: int, j: int) -> None:
        if i == j:
            return
        self._line_len += j - i
        block = self._open()
        if block.dropped:
            return
        if block.size + self._line_len > self._max:
            self._drop(block)
            return
        self._line += chunk[i:j]

    def _end_line(self, ending: LineEnding, end: int, frames: list[Frame] | FrameTable) -> None:
        block = self._block
        if self._line_len == 0:
            if block is not None:
                if not block.dropped:
                    block.endings |= ENDING_BIT[ending]
                    frames.append(block.frame(self._index, end, self._t))
                    self._index += 1
                self._block = None
        else:
            block = self._open()
            size = self._line_len + _ENDING_SIZE[ending]
            if not block.dropped and block.size + size > self._max:
                self._drop(block)
            if not block.dropped:
                block.size += size
                block.endings |= ENDING_BIT[ending]
                block.add(self._decode(bytes(self._line), self._line_start))
        self._line.clear()
        self._line_len = 0
        self._line_start = end

    def _open(self) -> _Block:
        if self._block is None:
            self._block = _Block(self._line_start)
        return self._block

    def _drop(self, block: _Block) -> None:
        block.drop()
        self._line.clear()
        if self._oversized_at is None:
            self._oversized_at = block.start
        self._violations.append(
            Violation(
                f"Received: an event larger than {self._max} bytes starting at byte {block.start}"
                f"\nExpected: events of at most {self._max} bytes (the rest of this event was skipped)",
                at=f"byte {block.start}",
                kind=FrameIssue.EVENT_TOO_LARGE,
            )
        )

    def _decode(self, raw: bytes, start: int) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
        escaped = raw.decode("utf-8", "surrogateescape")
        bad = _ESCAPED.findall(escaped)
        first = _ESCAPED.search(escaped)
        self._bad_lines += 1
        self._bad_bytes += len(bad)
        if first is not None and self._bad_lines <= _REPORTED_BAD_LINES:
            where = len(escaped[: first.start()].encode("utf-8", "surrogateescape"))
            self._violations.append(
                Violation(
                    f"Received: invalid UTF-8 byte 0x{raw[where]:02x} at byte {start + where}"
                    f" ({len(bad)} invalid bytes on the line starting at byte {start})"
                    "\nExpected: UTF-8 text (it was decoded with U+FFFD replacement)",
                    at=f"byte {start + where}",
                    kind=FrameIssue.BAD_UTF8,
                )
            )
        return raw.decode("utf-8", "replace")
