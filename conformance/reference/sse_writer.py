"""Event → bytes for the faithful stream, one ASGI body message per returned chunk.

Owns the wire layout: `event:`/`data:` lines, the Variant's line ending, comment lines and JSON
padding, ping's distinctive `{"type": "ping"}` spelling (captures INDEX.md Observation 2), and the
deliberate split of multi-byte UTF-8 characters across chunks so clients' decoders get exercised.
Knows nothing about what the events mean.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from conformance.reference.responses import Event
from conformance.reference.variant import Variant

_PADDING = " " * 12


def _data(event: Event, variant: Variant) -> str:
    if event.name == "ping":
        return json.dumps(event.data)
    text = json.dumps(event.data, ensure_ascii=False, separators=(",", ":"))
    # Real streams pad with spaces before the closing brace (Observation 1); still valid JSON.
    return text[:-1] + _PADDING + "}" if variant.padded_json else text


def encode(event: Event, variant: Variant) -> bytes:
    """One complete event, blank line included."""
    eol = variant.line_ending.value
    return f"event: {event.name}{eol}data: {_data(event, variant)}{eol}{eol}".encode()


def split_inside_character(chunk: bytes) -> list[bytes]:
    """Cut right after the lead byte of the first multi-byte character; chunk boundaries are arbitrary."""
    for index, byte in enumerate(chunk):
        if byte >= 0xC0:
            return [chunk[: index + 1], chunk[index + 1 :]]
    return [chunk]


def event_chunks(events: Iterable[Event], variant: Variant) -> Iterator[list[bytes]]:
    """The ASGI messages grouped per event (a comment goes with the event it precedes), so a pace can fall between events."""
    eol = variant.line_ending.value
    for index, event in enumerate(events):
        comment = [f": keepalive{eol}{eol}".encode()] if variant.comments and index else []
        yield [*comment, *split_inside_character(encode(event, variant))]


def chunks(events: Iterable[Event], variant: Variant) -> Iterator[bytes]:
    """The body as the ASGI messages to send, comments interleaved when the variant asks for them."""
    for group in event_chunks(events, variant):
        yield from group
