"""Faults in error answers (errors.*): another envelope, every error typed alike, FastAPI's 422, a request_id that is not the header's.

Clients dispatch on the envelope's type and log its request_id; each fault names its public source;
deviation numbers refer to the research notes' table (peers.md §4.6).
"""

from __future__ import annotations

import copy

from conformance._types import JSON
from conformance.reference.fault import Fault, fault
from conformance.reference.rewrite.edits import PEERS
from conformance.reference.rewrite.response import replace_error, rewrite_json_response


def _gateway_body_id(_status: int, body: JSON) -> JSON:
    if isinstance(body, dict) and body.get("type") == "error":
        body = copy.deepcopy(body)
        body["request_id"] = "gw-7f3c2a9e-0b1d-4c55-8e2f-3a9d1c0b7e64"
    return body


def _openai_envelope(status: int, body: JSON) -> tuple[int, JSON]:
    message = body.get("error", {}).get("message", "") if isinstance(body, dict) else ""
    return status, {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}


def _fastapi_422(status: int, body: JSON) -> tuple[int, JSON] | None:
    if status != 400 or not isinstance(body, dict):
        return None
    message = body.get("error", {}).get("message", "")
    location, _, text = message.partition(": ")
    return 422, {"detail": [{"type": "value_error", "loc": ["body", *location.split(".")], "msg": text or message}]}


def _all_invalid_request(status: int, body: JSON) -> tuple[int, JSON] | None:
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(body, dict):
        return status, {**body, "error": {**error, "type": "invalid_request_error"}}
    return None


FAULTS: tuple[Fault, ...] = (
    fault("error-request-id-mismatch", ["errors.request_id_matches_header"], "https://platform.claude.com/docs/en/api/errors (the body's request_id is the request-id header's value); https://github.com/QuantumNous/new-api/issues/2975",
          "Error bodies carry the gateway's own id as request_id, not the request-id header's value.", rewrite_json_response(_gateway_body_id)),
    fault("openai-error-envelope", ["errors.envelope_shape", "errors.type_matches_status"], f"{PEERS} #22",
          'Errors come back as OpenAI\'s {"error":{"message","type","param","code"}} without "type":"error".', replace_error(_openai_envelope)),
    fault("error-types-all-invalid-request", ["errors.type_matches_status"], f"{PEERS} #23; https://github.com/langwatch/langwatch/pull/6207",
          "Every error is typed invalid_request_error whatever its status.", replace_error(_all_invalid_request)),
    fault("validation-errors-as-422",
          ["content.document_in_assistant_rejected", "content.document_media_type_unknown_rejected", "content.empty_content_rejected", "content.image_media_type_mismatch_rejected", "content.image_media_type_unknown_rejected",
            "content.metadata_invalid_rejected", "content.user_citations_rejected", "count_tokens.invalid_tool_name_rejected", "count_tokens.messages_only_fields_rejected", "count_tokens.messages_required",
            "count_tokens.model_required", "count_tokens.unknown_role_rejected", "errors.envelope_shape", "headers.beta_unknown_rejected",
            "headers.version_duplicate_rejected", "headers.version_required", "headers.version_unknown_rejected", "models.limit_zero_rejected",
            "params.invalid_value_rejected", "params.removed_rejected", "params.required_enforced", "params.wrong_type_rejected", "request.empty_messages_rejected",
            "request.malformed_json_rejected", "request.unknown_field_rejected", "roles.prefill_trailing_whitespace_rejected", "roles.system_role_handled",
            "roles.unknown_role_rejected", "thinking.adaptive_accepted", "thinking.budget_below_minimum_rejected", "thinking.budget_not_below_max_tokens_rejected",
            "thinking.budget_required", "thinking.forced_tool_choice_rejected", "thinking.prefill_rejected", "thinking.temperature_rejected",
            "tools.input_schema_not_object_rejected", "tools.invalid_name_rejected", "tools.missing_input_schema_rejected", "tools.tool_choice_unknown_tool_rejected",
            "tools.tool_choice_without_name_rejected", "tools.unanswered_tool_use_rejected", "tools.tool_result_unknown_id_rejected",
            "effort.level_honoured"],
          f"{PEERS} #22 (FastAPI 422 {{'detail': [...]}} instead of the Anthropic envelope)",
          "Request validation failures come back as FastAPI-style 422 {detail: [...]} bodies.", replace_error(_fastapi_422)),
)
