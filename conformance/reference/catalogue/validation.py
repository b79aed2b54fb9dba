"""Request-validation deviations: a gateway that fills in, drops or rewrites what the API refuses with 400.

Each one turns a request Anthropic refuses into one the faithful app serves, the way permissive
gateways do (placeholders for empty turns, unknown fields dropped, OpenAI roles mapped, a stream path
that skips validation); the suite must see the 200 for what it is. Request rewrites only; the faithful
app never learns it is wrapped. Deviation numbers refer to the research notes' table (peers.md §4.6).
"""

from __future__ import annotations

from conformance._types import JSON, JSONObject
from conformance.reference.fault import Fault
from conformance.reference.fault import plain_fault as _fault
from conformance.reference.models import lookup
from conformance.reference.rewrite import edit_body

PEERS = "peers.md §4.6"
MSG_PATH = "/v1/messages"
PLACEHOLDER = "(empty)"

# Every top-level field CreateMessageParams has (contract §2.1); anything else is what a drop_params gateway removes.
KNOWN_FIELDS = frozenset(
    {
        "model", "messages", "max_tokens", "system", "metadata", "stop_sequences", "stream", "temperature", "top_p", "top_k",
        "tools", "tool_choice", "thinking", "service_tier", "container", "mcp_servers", "cache_control", "output_config",
        "inference_geo", "speed", "diagnostics", "context_management",
    }
)  # fmt: skip


_edit = edit_body  # a rewrite of /v1/messages bodies; count_tokens and models pass untouched


def _messages(body: JSONObject) -> list[JSONObject]:
    messages = body.get("messages")
    return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []


# ------------------------------------------------------------------------------ conversation


def _fill_empty_conversation(body: JSONObject) -> None:
    if body.get("messages") == []:
        body["messages"] = [{"role": "user", "content": "Hello"}]


def _fill_empty_content(body: JSONObject) -> None:
    for message in _messages(body):
        content = message.get("content")
        if content in ("", []):
            message["content"] = PLACEHOLDER
        for block in content if isinstance(content, list) else ():
            if isinstance(block, dict) and block.get("type") == "text" and block.get("text") == "":
                block["text"] = PLACEHOLDER


def _openai_roles_as_user(body: JSONObject) -> None:
    for message in _messages(body):
        if message.get("role") in ("developer", "function"):
            message["role"] = "user"


def _strip_prefill(body: JSONObject) -> None:
    messages = _messages(body)
    last = messages[-1] if messages else None
    if last is None or last.get("role") != "assistant":
        return
    content = last.get("content")
    if isinstance(content, str):
        last["content"] = content.rstrip()
    elif isinstance(content, list) and content and isinstance(content[-1], dict) and isinstance(content[-1].get("text"), str):
        content[-1]["text"] = content[-1]["text"].rstrip()


# ----------------------------------------------------------------------------------- fields


def _drop_unknown_fields(body: JSONObject) -> None:
    for name in [name for name in body if name not in KNOWN_FIELDS]:
        del body[name]


def _keep_user_id_only(body: JSONObject) -> None:
    metadata = body.get("metadata")
    if isinstance(metadata, dict):
        user_id: JSON = metadata.get("user_id")
        body["metadata"] = {} if user_id is None else {"user_id": str(user_id)[:256]}


def _unvalidated_stream(body: JSONObject) -> None:
    """What a gateway that checks only non-stream requests lets through: defaults and clamps instead of a 400."""
    if body.get("stream") is not True:
        return
    body.setdefault("max_tokens", 4096)
    model = lookup(body["model"]) if isinstance(body.get("model"), str) else None
    limit, value = (model.max_output_tokens if model else None), body["max_tokens"]
    if limit is not None and isinstance(value, int) and value > limit:
        body["max_tokens"] = limit
    for name in ("temperature", "top_p"):
        number = body.get(name)
        if isinstance(number, int | float) and not isinstance(number, bool):
            body[name] = min(max(number, 0), 1)
    for message in _messages(body):
        if message.get("role") not in ("user", "assistant", "system"):
            message["role"] = "user"


FAULTS: tuple[Fault, ...] = (
    _fault("empty-messages-filled", ["request.empty_messages_rejected"], f"{PEERS} #26 (llama.cpp test_anthropic_empty_messages)",
           "An empty messages array is filled with a placeholder user turn and served.", _edit(_fill_empty_conversation)),
    _fault("empty-content-filled", ["content.empty_content_rejected"],
           "https://docs.litellm.ai/docs/completion/message_sanitization (modify_params: empty message content fixed up); the refusal: https://github.com/anthropics/claude-code/issues/6774",
           "Empty content (\"\", [], a text block with \"\") is replaced by placeholder text and served.", _edit(_fill_empty_content)),
    _fault("unknown-fields-dropped", ["request.unknown_field_rejected"], "https://docs.litellm.ai/docs/completion/drop_params (unsupported parameters silently dropped)",
           "Top-level fields the Messages API does not have (frequency_penalty, n) are silently dropped instead of refused.", _edit(_drop_unknown_fields)),
    _fault("metadata-unchecked", ["content.metadata_invalid_rejected"], f"{PEERS} #19 (gateways rebuild the request from the fields they know)",
           "metadata is rebuilt from user_id alone: extra keys are dropped and a number is turned into a string.", _edit(_keep_user_id_only)),
    _fault("openai-roles-accepted", ["roles.unknown_role_rejected"], "https://platform.openai.com/docs/api-reference/chat/create (developer and function roles, mapped by translating gateways)",
           "OpenAI's developer (and function) roles are served as user turns; only tool is refused.", _edit(_openai_roles_as_user)),
    _fault("prefill-trailing-whitespace-stripped", ["roles.prefill_trailing_whitespace_rejected"], "https://github.com/tailcallhq/forgecode/issues/1872",
           "A prefill that ends in whitespace is right-stripped and served instead of refused.", _edit(_strip_prefill)),
    _fault("stream-requests-unvalidated", ["params.invalid_value_rejected", "params.required_enforced", "roles.unknown_role_rejected"],
           f"{PEERS} #21 (max_tokens defaulted or clamped instead of a 400); https://platform.claude.com/docs/en/api/messages (one body schema, stream or not)",
           "Only non-stream requests are validated: with stream true a missing max_tokens is defaulted, max_tokens, temperature and top_p are clamped into range, an unknown role is served as user.",
           _edit(_unvalidated_stream)),
)
