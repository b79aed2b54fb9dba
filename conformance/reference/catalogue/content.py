"""Faults in content blocks and request extras (content.*): images, documents, system prompts, metadata, empty content, 2026-10-21's content rules.

Each is a deviation a real gateway or backend showed, with its public source; deviation numbers refer to
the research notes' table (peers.md §4.6). Request rewrites and refusals only; the faithful app never
learns it is wrapped.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator

from conformance import media
from conformance._types import JSON, JSONObject
from conformance.reference.fault import Fault, fault
from conformance.reference.media_rules import IMAGE_TYPES
from conformance.reference.rewrite.edits import PEERS, refuse_field, request_body, turns
from conformance.reference.rewrite.request import compose, edit_body, refuse_request
from conformance.reference.rewrite.views import Refusal, RequestView


def _blocks(body: JSONObject) -> Iterator[tuple[str, JSONObject, JSONObject]]:
    """(location, message, block) for every content block of every message."""
    messages = body.get("messages")
    for i, message in enumerate(messages if isinstance(messages, list) else ()):
        content = message.get("content") if isinstance(message, dict) else None
        for j, block in enumerate(content if isinstance(content, list) else ()):
            if isinstance(block, dict):
                yield f"messages.{i}.content.{j}", message, block


def _source(block: JSONObject) -> JSONObject:
    source = block.get("source")
    return source if isinstance(source, dict) else {}


def _refuse_block(test: Callable[[JSONObject], bool], problem: str) -> Callable[[RequestView], Refusal]:
    def refuse(view: RequestView) -> Refusal:
        body = request_body(view)
        for where, _message, block in _blocks(body) if body is not None else ():
            if test(block):
                return 400, "invalid_request_error", f"{where}: {problem}"
        return None

    return refuse


def _is_image(block: JSONObject) -> bool:
    return block.get("type") == "image"


def _is_webp(block: JSONObject) -> bool:
    return _is_image(block) and _source(block).get("media_type") == "image/webp"


def _is_url_image(block: JSONObject) -> bool:
    return _is_image(block) and _source(block).get("type") == "url"


def _relabel_images(body: JSONObject) -> None:
    """What a gateway that hands images on as data URLs lets through: the backend decodes whatever bytes arrive."""
    for _where, _message, block in _blocks(body):
        source = _source(block)
        if not _is_image(block) or source.get("type") != "base64" or not isinstance(source.get("data"), str):
            continue
        try:
            sniffed = media.sniff(base64.b64decode(source["data"], validate=True))
        except (binascii.Error, ValueError):
            continue
        if sniffed in IMAGE_TYPES:
            source["media_type"] = sniffed
        elif sniffed is not None:  # another real image format (BMP): decoded and passed on as pixels
            source["media_type"], source["data"] = "image/png", media.base64_of("image/png")


def _dimensions(raw: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG, GIF or BMP header (what a converting gateway reads before it decodes)."""
    kind = media.sniff(raw)
    if kind == "image/png" and len(raw) >= 24:
        return int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")
    if kind == "image/gif" and len(raw) >= 10:
        return int.from_bytes(raw[6:8], "little"), int.from_bytes(raw[8:10], "little")
    if kind == "image/bmp" and len(raw) >= 26:
        return int.from_bytes(raw[18:22], "little", signed=True), abs(int.from_bytes(raw[22:26], "little", signed=True))
    return None


def _image_bytes(block: JSONObject) -> bytes | None:
    source = _source(block)
    if not _is_image(block) or source.get("type") != "base64" or not isinstance(source.get("data"), str):
        return None
    try:
        return base64.b64decode(source["data"], validate=True)
    except (binascii.Error, ValueError):
        return None


def _is_tiny_image(block: JSONObject) -> bool:
    raw = _image_bytes(block)
    size = _dimensions(raw) if raw is not None else None
    return size is not None and min(size) < 8


def _convert_bmp(body: JSONObject) -> None:
    """A gateway that re-encodes what its image library reads: a BMP goes on as a PNG."""
    for _where, _message, block in _blocks(body):
        raw = _image_bytes(block)
        if raw is not None and media.sniff(raw) == "image/bmp":
            _source(block)["media_type"], _source(block)["data"] = "image/png", media.base64_of("image/png")


def _is_document(block: JSONObject) -> bool:
    return block.get("type") == "document"


def _relabel_documents(body: JSONObject) -> None:
    """Documents go on with the media type their source kind implies, whatever the request declared."""
    for _where, _message, block in _blocks(body):
        source = _source(block)
        if _is_document(block) and source.get("type") in ("base64", "text"):
            source["media_type"] = "application/pdf" if source["type"] == "base64" else "text/plain"


def _drop_2026_content(body: JSONObject) -> None:
    """Quietly remove what 2026-10-21 refuses: documents in assistant turns, citations in user turns."""
    for _where, message, block in list(_blocks(body)):
        content = message["content"]
        if message.get("role") == "assistant" and _is_document(block):
            content.remove(block)
        elif message.get("role") == "user" and block.get("type") == "text":
            block.pop("citations", None)


def _wrap_string_system(body: JSONObject) -> None:
    """Prepend an attribution block to a string system prompt, leaving the string itself as a raw array item."""
    system: JSON = body.get("system")
    if isinstance(system, str):
        body["system"] = [{"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.0"}, system]


def _refuse_system_cache_control(view: RequestView) -> Refusal:
    body = request_body(view)
    system = body.get("system") if body is not None else None
    for index, block in enumerate(system if isinstance(system, list) else ()):
        if isinstance(block, dict) and "cache_control" in block:
            return 400, "invalid_request_error", f"system.{index}.cache_control: Extra inputs are not permitted"
    return None


PLACEHOLDER = "(empty)"


def _fill_empty_content(body: JSONObject) -> None:
    for message in turns(body):
        content = message.get("content")
        if content in ("", []):
            message["content"] = PLACEHOLDER
        for block in content if isinstance(content, list) else ():
            if isinstance(block, dict) and block.get("type") == "text" and block.get("text") == "":
                block["text"] = PLACEHOLDER


def _keep_user_id_only(body: JSONObject) -> None:
    metadata = body.get("metadata")
    if isinstance(metadata, dict):
        user_id: JSON = metadata.get("user_id")
        body["metadata"] = {} if user_id is None else {"user_id": str(user_id)[:256]}


FAULTS: tuple[Fault, ...] = (
    # ------------------------------------------------------------------ images
    fault("images-refused",
          ["content.image_gif_accepted", "content.image_jpeg_accepted", "content.image_png_accepted", "content.image_url_accepted", "content.image_webp_accepted"],
          f"{PEERS} #25 (image input to a text-only backend); https://github.com/ggml-org/llama.cpp/issues/13566",
          "Every image block is refused: the backend behind the gateway takes text only.",
          refuse_request(_refuse_block(_is_image, "image input is not supported by this model"))),
    fault("webp-refused", ["content.image_webp_accepted"],
          "https://github.com/cline/cline/issues/8977 (llama-server: 400 'Failed to load image or audio file'; stb_image has no WebP decoder)",
          "image/webp images are refused; JPEG, PNG and GIF pass.",
          refuse_request(_refuse_block(_is_webp, "Failed to load image or audio file"))),
    fault("image-url-refused", ["content.image_url_accepted"],
          "https://github.com/ollama/ollama/blob/main/docs/api/anthropic-compatibility.mdx (images: base64 only, no URL)",
          "Image blocks with a url source are refused; only base64 images are taken.",
          refuse_request(_refuse_block(_is_url_image, "Input tag 'url' found using 'type' does not match any of the expected tags: 'base64'"))),
    fault("image-media-type-unchecked", ["content.image_media_type_mismatch_rejected", "content.image_media_type_unknown_rejected"],
          "https://github.com/mealie-recipes/mealie/pull/5897 (OpenAI-style backends take a media type Anthropic refuses with 400)",
          "Images go on as data URLs to a backend that decodes any bytes: an unknown or wrong media type is accepted.",
          edit_body(_relabel_images)),
    fault("bmp-converted-tiny-refused", ["content.image_media_type_unknown_rejected"],
          "https://github.com/vellum-ai/vellum-assistant/pull/37802 (images of a few pixels refused); gateways that re-encode images with an image library",
          "Any image the gateway's library reads is re-encoded as PNG (so a BMP is served), but images under 8×8 px are refused: a 1×1 BMP probe would pass for that reason.",
          compose(refuse_request(_refuse_block(_is_tiny_image, "image is too small; the minimum is 8x8 pixels")), edit_body(_convert_bmp))),
    # --------------------------------------------------------------- documents
    fault("document-media-type-unchecked", ["content.document_media_type_unknown_rejected"],
          "https://github.com/wavetermdev/waveterm/blob/main/aiprompts/anthropic-messages-api.md (OAS25: base64 documents are application/pdf, text documents text/plain); gateways that hand documents on as files relabel them",
          "A document's declared media_type is not checked: base64 sources go on as application/pdf, text sources as text/plain.",
          edit_body(_relabel_documents)),
    fault("documents-refused", ["content.pdf_document_accepted", "content.text_document_accepted"],
          "https://github.com/vllm-project/vllm/blob/main/vllm/entrypoints/anthropic/protocol.py (blocks: text, image, tool_use, tool_result, thinking); Ollama's compatibility doc lists documents as unsupported",
          "document blocks are refused as an unknown content block type.",
          refuse_request(_refuse_block(_is_document, "Input tag 'document' found using 'type' does not match any of the expected tags: 'text', 'image', 'tool_use', 'tool_result', 'thinking'"))),
    fault("content-2026-rules-ignored", ["content.document_in_assistant_rejected", "content.user_citations_rejected"],
          "https://platform.claude.com/docs/en/api/migration-2026-10-21 (gateways that accept everything 2026-10-21 rejects, contract §8)",
          "Under 2026-10-21, documents in assistant turns and citations in user turns are silently dropped instead of refused.",
          edit_body(_drop_2026_content), api_version="2026-10-21"),
    # ------------------------------------------------------------------ extras
    fault("system-string-refused", ["content.system_string_accepted"],
          "https://github.com/horselock/claude-code-proxy/pull/12 (a string system prompt was put into the system array as a raw string)",
          "A string system prompt is appended raw to an injected system array, so the request is refused.",
          edit_body(_wrap_string_system)),
    fault("system-cache-control-refused", ["content.system_blocks_accepted"],
          f"{PEERS} #19 ('Extra inputs are not permitted' for cache_control and other fields Claude Code sends)",
          "cache_control on a system block is refused as an extra input.",
          refuse_request(_refuse_system_cache_control)),
    fault("metadata-refused", ["content.metadata_user_id_accepted"],
          f"{PEERS} #19; https://github.com/ollama/ollama/blob/main/docs/api/anthropic-compatibility.mdx (metadata not supported)",
          "metadata is refused as an extra input, though Claude Code sends metadata.user_id on every request.",
          refuse_request(refuse_field("metadata"))),
    fault("empty-content-filled", ["content.empty_content_rejected"],
          "https://docs.litellm.ai/docs/completion/message_sanitization (modify_params: empty message content fixed up); the refusal: https://github.com/anthropics/claude-code/issues/6774",
          "Empty content (\"\", [], a text block with \"\") is replaced by placeholder text and served.", edit_body(_fill_empty_content)),
    fault("metadata-unchecked", ["content.metadata_invalid_rejected"], f"{PEERS} #19 (gateways rebuild the request from the fields they know)",
          "metadata is rebuilt from user_id alone: extra keys are dropped and a number is turned into a string.", edit_body(_keep_user_id_only)),
)
