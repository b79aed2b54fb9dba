"""Wrappers that rewrite an event stream on its way out: raw chunks, whole events, or the pace of either.

Owns re-framing text/event-stream bodies (an event split across chunks is reassembled before a rewrite
sees it), delaying chunks and hanging up. Non-stream answers pass untouched. Knows nothing about any
particular fault.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conformance._types import JSON
from conformance.reference.rewrite.views import EventFn, EventOut, Wrapper
from conformance.reference.rewrite.wire import content_type

_BLOCK_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_LINE = re.compile(r"\r\n|\r|\n")


def _is_stream(message: Message) -> bool:
    return message["type"] == "http.response.start" and content_type(message).startswith("text/event-stream")


def _stream_wrapper(make: Callable[[], Callable[[bytes, bool], list[bytes]]]) -> Wrapper:
    """Route text/event-stream body bytes through a fresh per-response transformer."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            transform: Callable[[bytes, bool], list[bytes]] | None = None

            async def intercept(message: Message) -> None:
                nonlocal transform
                if _is_stream(message):
                    transform = make()
                if transform is None or message["type"] != "http.response.body":
                    await send(message)
                    return
                more = message.get("more_body", False)
                for chunk in transform(message.get("body", b""), not more):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                if not more:
                    await send({"type": "http.response.body", "body": b"", "more_body": False})

            await app(scope, receive, intercept)

        return wrapped

    return wrap


def rewrite_stream_bytes(fn: Callable[[bytes], bytes]) -> Wrapper:
    """Apply `fn` to each SSE body chunk as sent, the way a naive proxy touches raw chunks."""
    return _stream_wrapper(lambda: lambda chunk, _last: [fn(chunk)] if chunk else [])


def _parse_block(block: str) -> tuple[str | None, str | None]:
    name: str | None = None
    data: list[str] = []
    for line in _LINE.split(block):
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    return name, "\n".join(data) if data else None


def format_event(name: str | None, data: str) -> bytes:
    """Serialise one event with LF line endings; a None name leaves out the `event:` line."""
    head = f"event: {name}\n" if name is not None else ""
    return f"{head}data: {data}\n\n".encode()


def event(name: str | None, data: JSON) -> EventOut:
    """Convenience for rewrite_events callbacks: serialise `data` compactly."""
    return name, json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def rewrite_events(fn: EventFn) -> Wrapper:
    """Re-frame the stream event by event: `fn` maps (name, parsed data) to zero or more (name, data text)."""
    return rewrite_events_with_state(lambda: fn)


def rewrite_events_with_state(factory: Callable[[], EventFn]) -> Wrapper:
    """Like `rewrite_events`, with a fresh `fn` from `factory` per response, for rewrites that count or remember."""

    def make() -> Callable[[bytes, bool], list[bytes]]:
        pending = bytearray()
        fn = factory()

        def transform(chunk: bytes, last: bool) -> list[bytes]:
            pending.extend(chunk)
            out: list[bytes] = []
            while match := _BLOCK_END.search(pending):
                raw = bytes(pending[: match.end()])
                del pending[: match.end()]
                name, data = _parse_block(raw[: match.start()].decode("utf-8"))
                if data is None:
                    out.append(raw)
                    continue
                try:
                    parsed = json.loads(data)
                except ValueError:
                    out.append(raw)
                    continue
                out.extend(format_event(n, d) for n, d in fn(name, parsed))
            if last and pending:
                out.append(bytes(pending))
            return out

        return transform

    return _stream_wrapper(make)


def hang_up_stream(last: Callable[[bytes], bool], wait_s: float) -> Wrapper:
    """Send SSE body chunks up to the first one ``last`` accepts, stay silent ``wait_s`` seconds, then end the body and drop the rest."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            state = {"stream": False, "cut": False, "closed": False}

            async def intercept(message: Message) -> None:
                if message["type"] == "http.response.start":
                    state["stream"] = _is_stream(message)
                elif state["stream"] and message["type"] == "http.response.body":
                    if state["closed"]:
                        return
                    if state["cut"]:
                        state["closed"] = True
                        await asyncio.sleep(wait_s)
                        await send({"type": "http.response.body", "body": b"", "more_body": False})
                        return
                    state["cut"] = last(message.get("body", b""))
                await send(message)

            await app(scope, receive, intercept)

        return wrapped

    return wrap


def stall_stream(factory: Callable[[], Callable[[bytes], float]]) -> Wrapper:
    """Hold SSE body chunks back: a fresh `fn` per response says how many seconds to wait before sending each one."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            delay: Callable[[bytes], float] | None = None

            async def intercept(message: Message) -> None:
                nonlocal delay
                if _is_stream(message):
                    delay = factory()
                elif delay is not None and message["type"] == "http.response.body":
                    seconds = delay(message.get("body", b""))
                    if seconds > 0:
                        await asyncio.sleep(seconds)
                await send(message)

            await app(scope, receive, intercept)

        return wrapped

    return wrap
