"""Faults in how a Message is written (shape.*): text that lenient parsers read and strict clients reject, OpenAI leftovers, ids and models that do not identify the answer.

Python's json module reads a byte order mark, UTF-16 and NaN; Node's JSON.parse, Go's encoding/json
and browsers do not (RFC 8259 §8.1, §6), so the suite must read answers as strictly as those clients do.
"""

from __future__ import annotations

import json

from conformance._types import JSON
from conformance.reference.fault import Fault, fault
from conformance.reference.rewrite.edits import PEERS, edit_answer, edit_message, is_message
from conformance.reference.rewrite.request import compose
from conformance.reference.rewrite.response import reanswer_json, rewrite_json_response
from conformance.reference.rewrite.stream import event, rewrite_events

RFC = "https://www.rfc-editor.org/rfc/rfc8259"


def _with_bom(status: int, body: JSON) -> JSON | bytes:
    return b"\xef\xbb\xbf" + json.dumps(body, ensure_ascii=False).encode() if is_message(status, body) else body


def _utf16(status: int, body: JSON) -> JSON | bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-16-le") if is_message(status, body) else body


def _nan(status: int, body: JSON) -> JSON | bytes:
    if not is_message(status, body):
        return body
    return json.dumps({**body, "latency_score": float("nan")}).encode()  # Python writes a bare NaN


def _created(status: int, body: JSON) -> tuple[int, str, bytes] | None:
    return (201, "application/json", json.dumps(body).encode()) if is_message(status, body) else None


_OPENAI = {"object": "chat.completion", "created": 1764662400, "system_fingerprint": "fp_44709d6fcb"}


def _openai_body(status: int, body: JSON) -> JSON | bytes:
    if not is_message(status, body):
        return body
    usage = body.get("usage", {})
    counts = {"prompt_tokens": usage.get("input_tokens"), "completion_tokens": usage.get("output_tokens")}
    return {**body, **_OPENAI, "usage": {**usage, **counts}}


def _openai_start(name: str | None, data: JSON) -> list[tuple[str | None, str]]:
    if isinstance(data, dict) and data.get("type") == "message_start" and isinstance(data.get("message"), dict):
        return [event(name, {**data, "message": {**data["message"], **_OPENAI}})]
    return [event(name, data)]


def _chatcmpl_id(target: dict[str, JSON]) -> None:
    target["id"] = "chatcmpl-" + str(target.get("id", "")).removeprefix("msg_")


def _omit_null_stop_sequence(body: dict[str, JSON]) -> None:
    if body.get("stop_sequence") is None:
        body.pop("stop_sequence", None)


CONSTANT_ID = "msg_proxy_stream"


def _constant_id(target: dict[str, JSON]) -> None:
    target["id"] = CONSTANT_ID


DEPLOYMENT_MODEL = "upstream-deployment-7b"


def _deployment_model(target: dict[str, JSON]) -> None:
    target["model"] = DEPLOYMENT_MODEL


FAULTS: tuple[Fault, ...] = (
    fault("json-byte-order-mark", ["shape.message_schema"], f"{RFC} §8.1 (implementations must not add a byte order mark)",
          "Messages start with a UTF-8 byte order mark, which JSON.parse and Go's decoder reject.", rewrite_json_response(_with_bom)),
    fault("json-utf16", ["shape.message_schema"], f"{RFC} §8.1 (JSON exchanged between systems is UTF-8)",
          "Messages are encoded as UTF-16LE, which only a sniffing parser reads.", rewrite_json_response(_utf16)),
    fault("json-nan", ["shape.message_schema"], f"{RFC} §6 (NaN and Infinity are not permitted)",
          "A metric field of the Message is a bare NaN, which Python writes and JSON.parse rejects.", rewrite_json_response(_nan)),
    fault("success-201", ["shape.status_is_200"], "https://github.com/wavetermdev/waveterm/blob/main/aiprompts/anthropic-messages-api.md (OAS25: the success response is 200)",
          "Successful Messages are answered 201 Created.", reanswer_json(_created)),
    fault("openai-fields-leak", ["shape.no_openai_fields"], "../shared/research/peers.md §4.6 #27 (native fields leak into Anthropic responses)",
          "The translated Message keeps OpenAI's object, created, system_fingerprint and prompt/completion token counts.",
          compose(rewrite_json_response(_openai_body), rewrite_events(_openai_start))),
    fault("stop-sequence-omitted", ["shape.message_schema"], "https://docs.toapis.com/docs/en/api-reference/chat/messages (example response has no stop_sequence)",
          "The stop_sequence key is left out of non-streamed messages when it is null.", edit_message(_omit_null_stop_sequence)),
    fault("chatcmpl-ids", ["shape.id_prefix"], f"{PEERS} #27 (OpenAI fields leak through translation)",
          "Message ids are OpenAI-style chatcmpl-… ids.", edit_answer(_chatcmpl_id, event_kind="message_start", key="message")),
    fault("message-id-constant", ["shape.message_ids_unique"],
          "https://github.com/Accio-Lab/Dressage/issues/39 (an Anthropic proxy sends the id msg_proxy_stream in every message_start; Claude Code merges the turns)",
          "Every answer, streamed or not, carries the same message id.",
          edit_answer(_constant_id, event_kind="message_start", key="message")),
    fault("model-id-rewritten", ["shape.model_matches_request"],
          "https://github.com/BerriAI/litellm/pull/38691 (/v1/messages restamps the client's model only after pricing the deployment's); "
          "https://github.com/zyycn/codex-proxy-rs/issues/130 (answers naming another model than requested)",
          "Answers name the upstream deployment (upstream-deployment-7b) instead of the requested model.",
          edit_answer(_deployment_model, event_kind="message_start", key="message")),
)
