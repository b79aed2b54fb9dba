"""JSON as RFC 8259 defines it and strict clients parse it: UTF-8 text, no byte order mark, no NaN or Infinity.

Python's json module is lenient where Node's JSON.parse, Go's encoding/json and browsers are not:
from bytes it sniffs UTF-16 and UTF-32 and skips a UTF-8 byte order mark, and it reads NaN and
Infinity. A target that sends those breaks such clients, so the suite reads every answer strictly.
Pure functions; nothing here knows HTTP or SSE.
"""

from __future__ import annotations

import json

from ._types import JSON


def _constant(name: str) -> JSON:
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


def loads(data: bytes | str) -> JSON:
    """Parse strictly; ``ValueError`` names what is wrong (nesting past the parser's stack included)."""
    nul = "\x00" in data if isinstance(data, str) else b"\x00" in data
    if nul:  # never legal in JSON text; the mark of UTF-16 or UTF-32
        raise ValueError("holds NUL bytes: UTF-16 or UTF-32, not UTF-8 (RFC 8259 §8.1)")
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 (byte {exc.start}: {exc.reason})") from exc
    if text.startswith("\ufeff"):
        raise ValueError("starts with a byte order mark (RFC 8259 §8.1: JSON text must not)")
    try:
        return json.loads(text, parse_constant=_constant)
    except RecursionError as exc:
        raise ValueError("nested deeper than a parser's stack") from exc


def problem(data: bytes | str) -> str | None:
    """What makes ``data`` unreadable to a strict client although a lenient one may read it; None for plain syntax errors and valid JSON."""
    try:
        loads(data)
    except json.JSONDecodeError:
        return None  # not JSON for anyone: the text itself says enough
    except ValueError as exc:
        return str(exc)
    return None
