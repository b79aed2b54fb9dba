"""What a person needs to act on a failure: a curl that reproduces it, readable bodies, the events around it.

Pure functions over recorded ``Exchange`` values; they return plain text and small values and
know nothing of HTML or Markdown (the renderers escape). Exchanges arrive redacted, so the only
credential text here is the mask, which ``curl`` turns into ``$API_KEY``.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
from dataclasses import dataclass

from ..exchange import Exchange
from ..redact import MASK
from ..sse.reading import StreamReading, read_stream

BODY_LIMIT = 10_000
PARSE_LIMIT = 1024 * 1024
DATA_LIMIT = 200
API_KEY = "$API_KEY"

_KEY_HEADERS = frozenset({"x-api-key", "api-key", "x-goog-api-key"})
_SCHEME_HEADERS = frozenset({"authorization", "proxy-authorization"})
_CURL_SETS = frozenset({"content-length", "host", "connection", "transfer-encoding"})
_CONTROL = re.compile(r"\r\n|[\x00-\x08\x0b-\x1f\x7f]")
_DOUBLE_QUOTED = re.compile(r'(["\\`$])')
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]|[^\s{}\[\],:"]+')
MAX_DEPTH = 32


@dataclass(frozen=True, slots=True)
class BodyView:
    """A body ready to show: text (maybe cut), what kind it was, and a note when it is not shown verbatim."""

    text: str
    kind: str
    size: int
    note: str = ""


@dataclass(frozen=True, slots=True)
class MessageView:
    """One side of an exchange as a person reads it: a start line, headers, body."""

    start_line: str
    headers: tuple[tuple[str, str], ...]
    body: BodyView


@dataclass(frozen=True, slots=True)
class EventLine:
    """One SSE event near the offending one; ``offending`` marks the event a violation names."""

    index: int
    name: str | None
    type: str | None
    data: str
    offset: int
    offending: bool


# --------------------------------------------------------------------------- curl


def _double_quoted(text: str) -> str:
    """``text`` in shell double quotes with ``$API_KEY`` left to expand and nothing else."""
    escaped = _DOUBLE_QUOTED.sub(r"\\\1", text).replace("\\$API_KEY", API_KEY)
    return f'"{escaped}"'


def _header_arg(name: str, value: str) -> str:
    """A ``-H`` argument; a masked credential becomes ``$API_KEY`` so the line never holds a key."""
    lowered = name.lower()
    if lowered in _KEY_HEADERS and MASK in value:
        return "-H " + _double_quoted(f"{lowered}: {API_KEY}")
    if lowered in _SCHEME_HEADERS and MASK in value:
        scheme = value.partition(" ")[0] if " " in value else "Bearer"
        return "-H " + _double_quoted(f"{name.capitalize()}: {scheme} {API_KEY}")
    return "-H " + shlex.quote(f"{name}: {value}")


def _delimiter(text: str) -> str:
    """A heredoc end word that no line of the body equals."""
    lines = set(text.split("\n"))
    word = "JSON"
    while word in lines:
        word += "_END"
    return word


def curl(exchange: Exchange) -> str:
    """A copy-pasteable command that sends the recorded request again, with the key read from ``$API_KEY``."""
    request = exchange.request
    body = request.body
    args = ["curl", "-sS", "-i"]
    if exchange.streamed:
        args.append("--no-buffer")
    if request.method != ("POST" if body else "GET"):
        args += ["-X", shlex.quote(request.method)]
    args.append(shlex.quote(request.url))
    lines = [" ".join(args)]
    for name, value in request.headers:
        if name.lower() not in _CURL_SETS:
            lines.append("  " + _header_arg(name, value))
    if any(name.lower() == "accept-encoding" for name, _ in request.headers):
        lines.append("  --compressed")
    heredoc = ""
    if body:
        text = _utf8(body)
        if text is not None and _is_json_text(text) and "\r" not in text and "\0" not in text:
            word = _delimiter(text)
            lines.append(f"  --data-binary @- <<'{word}'")
            heredoc = text + ("" if text.endswith("\n") else "\n") + word
        elif text is not None and "\0" not in text:
            lines.append("  --data-raw " + shlex.quote(text))
        else:
            encoded = base64.b64encode(body).decode("ascii")
            lines[0] = f"printf %s {encoded} | base64 -d | " + lines[0]
            lines.append("  --data-binary @-")
    command = " \\\n".join(lines)
    return command + ("\n" + heredoc if heredoc else "")


# --------------------------------------------------------------------------- bodies


def _utf8(data: bytes) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _is_json_text(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\r\n":
        return char
    if char == "\r":
        return "\\r\n"  # a lone CR ends an SSE line: show it and keep the line break
    return f"\\x{ord(char):02x}"


def visible_text(text: str) -> str:
    """Control characters as ``\\xNN`` escapes (tabs, LF and CRLF kept) so nothing invisible hides in evidence."""
    return _CONTROL.sub(_visible, text)


def _reindent(text: str, limit: int) -> str | None:
    """Valid JSON laid out two spaces per level, every token verbatim (numbers, escapes, duplicate keys), stopping past ``limit``."""
    out: list[str] = []
    size = depth = 0
    tokens = _TOKEN.finditer(text)
    token = next(tokens, None)
    while token is not None and size <= limit:
        value = token.group()
        following = next(tokens, None)
        if value in ("{", "[") and following is not None and following.group() in ("}", "]"):
            piece, following = value + following.group(), next(tokens, None)
        elif value in ("{", "["):
            depth += 1
            if depth > MAX_DEPTH:
                return None  # deep nesting would be mostly indentation: show it as sent
            piece = value + "\n" + "  " * depth
        elif value in ("}", "]"):
            depth -= 1
            piece = "\n" + "  " * depth + value
        elif value == ",":
            piece = ",\n" + "  " * depth
        else:
            piece = ": " if value == ":" else value
        out.append(piece)
        size += len(piece)
        token = following
    return "".join(out)


def _cut(text: str, limit: int) -> tuple[str, str]:
    if len(text) <= limit:
        return text, ""
    return text[:limit], f"cut at {limit:,} of {len(text):,} characters"


def _head_end(data: bytes, end: int) -> int:
    """``end`` moved back off a UTF-8 continuation byte, so a cut head does not look like bad UTF-8."""
    start = end
    while 0 < end < len(data) and start - end < 3 and 0x80 <= data[end] <= 0xBF:
        end -= 1
    return end


def _shown(text: str, limit: int, size: int, *, whole: bool) -> tuple[str, str]:
    if whole:
        return _cut(text, limit)
    return text[:limit], f"cut at {limit:,} characters of a {size:,}-byte body"


def _text_view(data: bytes, size: int, limit: int, *, whole: bool) -> BodyView:
    """Text verbatim (controls escaped), a few bad bytes as ``\\xNN``, else base64; ``whole`` is False for the head of a huge body."""
    text = _utf8(data)
    if text is not None:
        shown, note = _shown(visible_text(text), limit, size, whole=whole)
        return BodyView(shown, "text", size, note)
    lossy = data.decode("utf-8", errors="backslashreplace")
    invalid = lossy.count("\\x") - data.count(b"\\x")
    if b"\0" not in data and invalid * 100 <= len(data):
        shown, note = _shown(visible_text(lossy), limit, size, whole=whole)
        return BodyView(shown, "text", size, "; ".join(filter(None, [f"not valid UTF-8: {invalid} byte(s) shown as \\xNN", note])))
    shown, note = _shown(base64.b64encode(data).decode("ascii"), limit, size, whole=whole)
    return BodyView(shown, "base64", size, "; ".join(filter(None, [f"binary body ({size:,} bytes) shown as base64", note])))


def body_view(data: bytes, *, limit: int = BODY_LIMIT) -> BodyView:
    """A body as text: JSON pretty-printed, other text verbatim, bytes that are not UTF-8 escaped or base64.

    A body larger than ``PARSE_LIMIT`` is shown from its head and never decoded, parsed or escaped
    whole: the recorder keeps up to 32 MiB, and a report must not cost several copies of that.
    """
    size = len(data)
    if not data:
        return BodyView("", "empty", 0)
    if size > max(PARSE_LIMIT, 4 * limit):
        return _text_view(data[: _head_end(data, 4 * limit)], size, limit, whole=False)
    text = _utf8(data)
    if text is not None and _is_json_text(text):
        pretty = _reindent(text, limit)
        if pretty is not None and len(pretty) > limit:
            return BodyView(pretty[:limit], "json", size, f"cut at {limit:,} characters of a {size:,}-byte body")
        if pretty is not None:
            return BodyView(pretty, "json", size)
    return _text_view(data, size, limit, whole=True)


def request_view(exchange: Exchange, *, limit: int = BODY_LIMIT) -> MessageView:
    """The request as sent (already redacted)."""
    request = exchange.request
    return MessageView(f"{request.method} {request.url}", tuple(request.headers), body_view(request.body, limit=limit))


def response_view(exchange: Exchange, *, limit: int = BODY_LIMIT) -> MessageView | None:
    """The response, or None when none arrived (see ``failure_text``)."""
    if exchange.status is None and not exchange.body and not exchange.headers:
        return None
    status = "no status" if exchange.status is None else f"HTTP {exchange.status}"
    body = body_view(exchange.body, limit=limit)
    if exchange.truncated:
        body = BodyView(body.text, body.kind, body.size, "; ".join(filter(None, ["the recorder stopped reading (size cap)", body.note])))
    return MessageView(status, tuple(exchange.headers), body)


def failure_text(exchange: Exchange) -> str | None:
    """Why no answer arrived (transport error), or None when one did."""
    if exchange.error is None:
        return None
    return f"{exchange.error_kind}: {exchange.error}" if exchange.error_kind else exchange.error


# --------------------------------------------------------------------------- streams


def _short(text: str, limit: int) -> str:
    text = visible_text(text).replace("\n", "\\n")
    return text if len(text) <= limit else text[:limit] + f"… [{len(text) - limit} more]"


def event_window(
    exchange: Exchange, event_index: int | None, context: int = 4, *, data_limit: int = DATA_LIMIT, reading: StreamReading | None = None
) -> tuple[EventLine, ...]:
    """The events around ``event_index`` (the stream's tail when None or out of range), the named one marked; pass ``reading`` to reuse one."""
    events = (reading or read_stream(exchange.body, exchange.chunks)).events
    if not events:
        return ()
    marked = event_index is not None and 0 <= event_index < len(events)
    centre = event_index if marked and event_index is not None else len(events) - 1
    first = max(0, centre - (context if marked else 2 * context))
    last = centre + context + 1 if marked else len(events)
    return tuple(
        EventLine(
            index=event.index,
            name=event.name,
            type=event.data.get("type") if event.data is not None and isinstance(event.data.get("type"), str) else None,
            data=_short(event.raw, data_limit),
            offset=event.frame.start,
            offending=marked and event.index == event_index,
        )
        for event in events[first:last]
    )
