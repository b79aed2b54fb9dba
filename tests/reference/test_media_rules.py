"""conformance/reference/media_rules.py: image and document sources, directly and over a real socket."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import media
from conformance.reference.media_rules import IMAGE_TYPES, document_source, image_source

from ._support import HAIKU, V2026, user

AT = "messages.0.content.0.source"
ECHO = {"type": "text", "text": "Reply with exactly this text and nothing else: ok"}


def base64_image(media_type: str, data: str | None = None) -> dict[str, Any]:
    return {"type": "base64", "media_type": media_type, "data": data if data is not None else media.base64_of(media_type)}


# ------------------------------------------------------------------------------ image_source


@pytest.mark.parametrize("media_type", IMAGE_TYPES)
def test_every_accepted_media_type_passes(media_type):
    assert image_source(AT, base64_image(media_type)) is None


def test_url_and_file_sources_are_checked_for_shape_only():
    assert image_source(AT, {"type": "url", "url": "https://example.invalid/never-fetched.png"}) is None
    assert image_source(AT, {"type": "file", "file_id": "file_011CNha8iCJcU1wXNR6q4V8w"}) is None
    assert image_source(AT, {"type": "url"}) == "messages.0.content.0.image.source.url.url: Input should be a valid string"
    assert image_source(AT, {"type": "file", "file_id": ""}) == "messages.0.content.0.image.source.file.file_id: String should have at least 1 character"


def test_an_unknown_media_type_is_refused_in_the_first_party_words():
    assert image_source(AT, base64_image("image/bmp")) == (
        "messages.0.content.0.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'"
    )


def test_bytes_of_another_type_are_refused_in_the_first_party_words():
    assert image_source(AT, base64_image("image/jpeg", media.base64_of("image/png"))) == (
        "messages.0.content.0.image.source.base64: The image was specified using the image/jpeg media type, but the image appears to be a image/png image"
    )


def test_bytes_that_are_no_image_or_no_base64_are_refused():
    assert image_source(AT, base64_image("image/png", "aGVsbG8=")) == "messages.0.content.0.image.source.base64: Could not process image"
    assert image_source(AT, base64_image("image/png", "not base64!")) == "messages.0.content.0.image.source.base64.data: Invalid base64 data"
    assert image_source(AT, {"type": "base64", "media_type": "image/png"}) == "messages.0.content.0.image.source.base64.data: Input should be a valid string"


def test_an_unknown_source_type_is_refused():
    assert image_source(AT, {"type": "path"}) == "messages.0.content.0.source.type: Input should be 'base64', 'url' or 'file'"


# --------------------------------------------------------------------------- document_source


def test_pdf_and_text_documents_pass():
    assert document_source(AT, base64_image("application/pdf")) is None
    assert document_source(AT, {"type": "text", "media_type": "text/plain", "data": "The sky is blue."}) is None
    assert document_source(AT, {"type": "content", "content": [{"type": "text", "text": "The sky is blue."}]}) is None


def test_documents_of_the_wrong_type_are_refused():
    assert document_source(AT, {"type": "text", "media_type": "text/markdown", "data": "# sky"}) == (
        "messages.0.content.0.document.source.text.media_type: Input should be 'text/plain'"
    )
    assert document_source(AT, base64_image("image/png")) == "messages.0.content.0.document.source.base64.media_type: Input should be 'application/pdf'"
    assert document_source(AT, {"type": "base64", "media_type": "application/pdf", "data": media.base64_of("image/png")}) == (
        "messages.0.content.0.document.source.base64: The PDF specified was not valid."
    )


# -------------------------------------------------------------------------------- over HTTP


def ask(http, headers, *blocks: dict[str, Any]) -> Any:
    body = {"model": HAIKU, "max_tokens": 8, "messages": [{"role": "user", "content": [*blocks, ECHO]}]}
    return http.post("/v1/messages", headers=headers, json=body)


@pytest.mark.parametrize("media_type", IMAGE_TYPES)
def test_each_image_type_is_answered(http, headers, media_type):
    response = ask(http, headers, {"type": "image", "source": base64_image(media_type)})
    assert response.status_code == 200, response.text
    assert response.json()["content"][0]["text"] == "ok"


def test_mismatched_image_is_a_400_invalid_request_error(http, headers):
    response = ask(http, headers, {"type": "image", "source": base64_image("image/jpeg", media.base64_of("image/png"))})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_documents_are_answered(http, headers):
    assert ask(http, headers, {"type": "document", "source": base64_image("application/pdf")}).status_code == 200
    assert ask(http, headers, {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "The sky is blue."}}).status_code == 200


def test_2026_refuses_documents_in_assistant_turns(http, headers):
    document = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "The sky is blue."}}
    messages = [*user("Read this note."), {"role": "assistant", "content": [document, {"type": "text", "text": "Noted."}]}, *user("ok")]
    body = {"model": HAIKU, "max_tokens": 8, "messages": messages}
    assert http.post("/v1/messages", headers=headers, json=body).status_code == 200
    refused = http.post("/v1/messages", headers={**headers, "anthropic-version": V2026}, json=body)
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == "messages.1.content.0: document blocks are not supported in assistant messages"
