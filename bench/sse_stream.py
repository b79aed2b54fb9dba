"""Large SSE bodies built from the real captures, for the throughput benchmark.

A concatenation of whole captures is not one valid stream (a second message_start after
message_stop sends the grammar into its error state, which then skips work), so the content
blocks of every capture are spliced into one message instead: the first capture's message_start,
then each capture's blocks and pings in order, renumbered, repeated until the body is large
enough, then a message_delta and message_stop. Each event keeps its recorded bytes (padding,
ping spelling) except for the rewritten ``"index":N``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CAPTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "captures"
_INDEX = re.compile(rb'"index":\s*(\d+)')
_TYPE = re.compile(rb'"type":\s*"([a-z_]+)"')


@dataclass(frozen=True, slots=True)
class RawEvent:
    """One recorded event: its name, its data line as sent, and its block index if it has one."""

    name: bytes
    data: bytes
    index: int | None


def _events(path: Path) -> list[RawEvent]:
    out: list[RawEvent] = []
    for block in path.read_bytes().replace(b"\r\n", b"\n").split(b"\n\n"):
        name = data = b""
        for line in block.split(b"\n"):
            if line.startswith(b"event:"):
                name = line[6:].strip()
            elif line.startswith(b"data:"):
                data = line[5:].lstrip(b" ")
        if data:
            found = _INDEX.search(data) if name.startswith(b"content_block") else None
            out.append(RawEvent(name, data, int(found.group(1)) if found else None))
    return out


def _encode(event: RawEvent, index: int | None = None) -> bytes:
    data = event.data if index is None else _INDEX.sub(b'"index":%d' % index, event.data, count=1)
    return b"event: " + event.name + b"\ndata: " + data + b"\n\n"


def capture_paths() -> list[Path]:
    """Every recorded stream, in file order."""
    return sorted(CAPTURES.glob("*.sse"))


def _blocks(events: list[RawEvent]) -> list[list[RawEvent]]:
    """The content-block events (and pings between them) of one capture, grouped per block."""
    groups: dict[int, list[RawEvent]] = {}
    order: list[int] = []
    for event in events:
        if event.index is None:
            continue
        if event.index not in groups:
            groups[event.index] = []
            order.append(event.index)
        groups[event.index].append(event)
    return [groups[i] for i in order]


def mixed_stream(min_bytes: int) -> tuple[bytes, int]:
    """Every capture's content blocks, repeated in one message until it is ``min_bytes`` long; also the block count."""
    per_capture = [_events(p) for p in capture_paths()]
    head = next(e for e in per_capture[0] if e.name == b"message_start")
    tail = [e for e in per_capture[0] if e.name in (b"message_delta", b"message_stop")]
    ping = RawEvent(b"ping", b'{"type": "ping"}', None)
    parts = [_encode(head), _encode(ping)]
    size = sum(map(len, parts))
    blocks = 0
    library = [group for events in per_capture for group in _blocks(events)]
    while size < min_bytes:
        for group in library:
            for event in group:
                piece = _encode(event, blocks)
                parts.append(piece)
                size += len(piece)
            blocks += 1
    parts += [_encode(e) for e in tail]
    return b"".join(parts), blocks


def long_text_stream(text_bytes: int) -> bytes:
    """One text block of about ``text_bytes`` of text, made of a real capture's text deltas (a long answer)."""
    events = _events(CAPTURES / "04-haiku3-text-2024-10.sse")
    deltas = [e for e in events if e.name == b"content_block_delta"]
    head = [e for e in events if e.name in (b"message_start", b"content_block_start", b"ping")][:3]
    tail = [e for e in events if e.name in (b"content_block_stop", b"message_delta", b"message_stop")]
    per_round = sum(len(json.loads(e.data)["delta"]["text"].encode()) for e in deltas)
    rounds = max(1, text_bytes // per_round)
    body: list[bytes] = [_encode(e) for e in head]
    for _ in range(rounds):
        body += [_encode(e) for e in deltas]
    body += [_encode(e) for e in tail]
    return b"".join(body)


def pieces(body: bytes, size: int) -> Iterator[bytes]:
    """The body as a client reads it off a socket: fixed-size reads, boundaries anywhere (inside characters too)."""
    for start in range(0, len(body), size):
        yield body[start : start + size]
