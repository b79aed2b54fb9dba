"""Header codecs shared by the request and the response plumbing: ASGI's byte pairs as lower-cased text and back."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import Message

from conformance._types import RawHeaders


def decode_headers(raw: Iterable[tuple[bytes, bytes]]) -> RawHeaders:
    return tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in raw)


def encode_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]


def with_length(headers: RawHeaders, length: int) -> RawHeaders:
    """The headers with ``content-length`` set to ``length``: a rewritten body must not keep the old length."""
    kept = tuple((k, v) for k, v in headers if k != "content-length")
    return (*kept, ("content-length", str(length)))


def content_type(start: Message) -> str:
    """The content type of an ``http.response.start`` message ("" when it has none)."""
    for key, value in start.get("headers", []):
        if key.lower() == b"content-type":
            return str(value.decode("latin-1"))
    return ""
