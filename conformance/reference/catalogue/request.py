"""Faults in how a gateway treats a request the API refuses as a whole (request.*): an unknown model, a body that is not JSON, an empty conversation, unknown fields.

Each turns Anthropic's refusal into another status or into a 200 for a request it filled in or trimmed;
deviation numbers refer to the research notes' table (peers.md §4.6).
"""

from __future__ import annotations

from collections.abc import Callable

from conformance._types import JSON, JSONObject
from conformance.reference.fault import Fault, fault
from conformance.reference.rewrite.edits import PEERS
from conformance.reference.rewrite.request import edit_body
from conformance.reference.rewrite.response import replace_error


def _error_where(kind: str, starts: str, status: int, new_kind: str, new_message: str | None = None) -> Callable[[int, JSON], tuple[int, JSON] | None]:
    def rewrite(old_status: int, body: JSON) -> tuple[int, JSON] | None:
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and error.get("type") == kind and str(error.get("message", "")).startswith(starts):
            assert isinstance(body, dict)
            return status, {**body, "error": {"type": new_kind, "message": new_message or error["message"]}}
        return None

    return rewrite


# Every top-level field CreateMessageParams has (contract §2.1); anything else is what a drop_params gateway removes.
KNOWN_FIELDS = frozenset(
    {
        "model", "messages", "max_tokens", "system", "metadata", "stop_sequences", "stream", "temperature", "top_p", "top_k",
        "tools", "tool_choice", "thinking", "service_tier", "container", "mcp_servers", "cache_control", "output_config",
        "inference_geo", "speed", "diagnostics", "context_management",
    }
)  # fmt: skip


def _fill_empty_conversation(body: JSONObject) -> None:
    if body.get("messages") == []:
        body["messages"] = [{"role": "user", "content": "Hello"}]


def _drop_unknown_fields(body: JSONObject) -> None:
    for name in [name for name in body if name not in KNOWN_FIELDS]:
        del body[name]


FAULTS: tuple[Fault, ...] = (
    fault("unknown-model-400", ["count_tokens.unknown_model_not_found", "models.unknown_id_not_found", "request.unknown_model_not_found"], f"{PEERS} #23 (status mapping)",
          "An unknown model is a 400 invalid_request_error instead of 404 not_found_error.", replace_error(_error_where("not_found_error", "model:", 400, "invalid_request_error"))),
    fault("malformed-json-500", ["request.malformed_json_rejected"], f"{PEERS} #21, #25 (client errors answered as 5xx)",
          "A body that is not JSON crashes the handler: 500 api_error.", replace_error(_error_where("invalid_request_error", "The request body is not valid JSON", 500, "api_error", "Internal server error"))),
    fault("empty-messages-filled", ["request.empty_messages_rejected"], f"{PEERS} #26 (llama.cpp test_anthropic_empty_messages)",
          "An empty messages array is filled with a placeholder user turn and served.", edit_body(_fill_empty_conversation)),
    fault("unknown-fields-dropped", ["request.unknown_field_rejected"], "https://docs.litellm.ai/docs/completion/drop_params (unsupported parameters silently dropped)",
          "Top-level fields the Messages API does not have (frequency_penalty, n) are silently dropped instead of refused.", edit_body(_drop_unknown_fields)),
)
