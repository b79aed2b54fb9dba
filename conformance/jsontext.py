"""JSON as RFC 8259 defines it and strict clients parse it: UTF-8 text, no byte order mark, no NaN or Infinity.

Python's json module is lenient where Node's JSON.parse, Go's encoding/json and browsers are not:
from bytes it sniffs UTF-16 and UTF-32 and skips a UTF-8 byte order mark, and it reads NaN and
Infinity. A target that sends those breaks such clients, so the suite reads every answer strictly.
Pure functions; nothing here knows HTTP or SSE.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from ._types import JSON, JSONObject

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _constant(name: str) -> JSON:
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


_DECODER = json.JSONDecoder(parse_constant=_constant)  # built once: json.loads builds one per call when given parse_constant
_SCAN: Callable[[str, int], tuple[JSON, int]] = _DECODER.scan_once  # type: ignore[attr-defined]  # the C scanner: one value at an index, no whitespace handling
_SPACE = " \t\n\r"


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
        value = _value(text)
        return _whole_characters(value) if "\\u" in text and _SURROGATE_ESCAPE.search(text) else value
    except RecursionError as exc:
        raise ValueError("nested deeper than a parser's stack") from exc


def _value(text: str) -> JSON:
    """One JSON text: the C scanner directly when the text starts with its value (every event's data does), else decode() for its error."""
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:
        return _DECODER.decode(text)  # leading whitespace, or not JSON: decode() raises with its usual message
    if end != len(text) and text[end:].strip(_SPACE):
        return _DECODER.decode(text)  # extra data after the value: decode()'s message
    return value


def object_or_none(text: str) -> JSONObject | None:
    """The JSON object ``text`` holds, or None when it holds anything else or is not strict JSON: ``loads`` for one stream event, in one call."""
    if "\x00" in text or text[:1] == "\ufeff":
        return None
    try:
        value, end = _SCAN(text, 0)
        if end != len(text) and text[end:].strip(_SPACE):
            return None
        if "\\u" in text and _SURROGATE_ESCAPE.search(text):
            value = _whole_characters(value)
    except StopIteration:  # leading whitespace before the value, or no value at all
        try:
            value = loads(text)
        except ValueError:
            return None
    except (ValueError, RecursionError):
        return None
    return value if value.__class__ is dict else None


def _whole_characters(value: JSON) -> JSON:
    """Replace unpaired surrogate escapes (\\ud83d alone) by U+FFFD, as a UTF-8 client must.

    JSON may escape half of a UTF-16 pair; such a string cannot be encoded as UTF-8, so Python and Go
    clients fail on it (JavaScript rejoins halves across strings). Replaced here, it is a visible
    U+FFFD for the checks (stream.text_intact) and can never crash a report or a follow-up request.
    """
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_whole_characters(item) for item in value]
    if isinstance(value, dict):
        return {_whole_characters(key): _whole_characters(item) for key, item in value.items()}
    return value


def problem(data: bytes | str) -> str | None:
    """What makes ``data`` unreadable to a strict client although a lenient one may read it; None for plain syntax errors and valid JSON."""
    try:
        loads(data)
    except json.JSONDecodeError:
        return None  # not JSON for anyone: the text itself says enough
    except ValueError as exc:
        return str(exc)
    return None
