"""Image and document sources: the media types the API takes and whether the bytes are what they claim.

Owns the source shapes of `image` and `document` blocks (contract §2.3) and the first-party wording
of their refusals: the media-type enum ("…image.source.base64.media_type: Input should be 'image/jpeg',
…", https://github.com/anthropics/claude-code/issues/8184) and the bytes check ("The image was
specified using the image/jpeg media type, but the image appears to be a image/png image",
https://github.com/home-assistant/core/issues/167208). A `url` source is checked for shape only:
this server never fetches. Knows nothing about messages, roles or HTTP.
"""

from __future__ import annotations

import base64
import binascii

from conformance import media
from conformance.reference import shapes
from conformance.reference.shapes import Problem, at

IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
_IMAGE_SOURCES = ("base64", "url", "file")
_DOCUMENT_SOURCES = ("base64", "text", "content", "url", "file")


def _typed(path: str, value: object, kinds: tuple[str, ...]) -> Problem:
    return shapes.object_fields(path, value, required={"type": shapes.one_of_literal(kinds)}, optional={}, extra_allowed=True)


def _decoded(path: str, data: str) -> bytes | str:
    """The bytes of a base64 `data` field, or the problem with it."""
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return at(path, "Invalid base64 data")


def _located(path: str, *, block: str, kind: str) -> str:
    """The pydantic location of a source: `messages.0.content.1.image.source.base64` for `messages.0.content.1.source`."""
    return f"{path.removesuffix('.source')}.{block}.source.{kind}"


def _url(path: str, value: dict[str, object], block: str) -> Problem:
    return shapes.string(f"{_located(path, block=block, kind='url')}.url", value.get("url"), min_len=1)


def _file(path: str, value: dict[str, object], block: str) -> Problem:
    return shapes.string(f"{_located(path, block=block, kind='file')}.file_id", value.get("file_id"), min_len=1)


def image_source(path: str, value: object) -> Problem:
    """An image block's `source`: base64 of an accepted type whose bytes match it, a URL, or a file id."""
    problem = _typed(path, value, _IMAGE_SOURCES)
    if problem or not isinstance(value, dict):
        return problem
    if value["type"] == "url":
        return _url(path, value, "image")
    if value["type"] == "file":
        return _file(path, value, "image")
    where = _located(path, block="image", kind="base64")
    declared = value.get("media_type")
    problem = shapes.literal(f"{where}.media_type", declared, IMAGE_TYPES) or shapes.string(f"{where}.data", value.get("data"))
    if problem:
        return problem
    raw = _decoded(f"{where}.data", str(value["data"]))
    if isinstance(raw, str):
        return raw
    sniffed = media.sniff(raw)
    if sniffed not in IMAGE_TYPES:
        return at(where, "Could not process image")
    if sniffed != declared:
        return at(where, f"The image was specified using the {declared} media type, but the image appears to be a {sniffed} image")
    return None


def document_source(path: str, value: object) -> Problem:
    """A document block's `source`: a base64 PDF, plain text, content blocks, a URL or a file id."""
    problem = _typed(path, value, _DOCUMENT_SOURCES)
    if problem or not isinstance(value, dict):
        return problem
    kind = value["type"]
    if kind == "url":
        return _url(path, value, "document")
    if kind == "file":
        return _file(path, value, "document")
    where = _located(path, block="document", kind=kind)
    if kind == "content":
        content = value.get("content")
        return None if isinstance(content, str) else shapes.array(f"{where}.content", content)
    wanted = "application/pdf" if kind == "base64" else "text/plain"
    problem = shapes.literal(f"{where}.media_type", value.get("media_type"), (wanted,)) or shapes.string(f"{where}.data", value.get("data"))
    if problem or kind == "text":
        return problem
    raw = _decoded(f"{where}.data", str(value["data"]))
    if isinstance(raw, str):
        return raw
    if media.sniff(raw) != "application/pdf":
        return at(where, "The PDF specified was not valid.")
    return None
