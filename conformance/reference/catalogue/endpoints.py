"""Faults in POST /v1/messages/count_tokens and GET /v1/models[/{id}]: missing routes, wrong shapes, wrong counts, broken pages.

Each is a deviation a real gateway showed, with its public source; deviation numbers refer to the
research notes' table (peers.md §4.6). Every wrapper touches only its own route, so /v1/messages
answers as the faithful app does.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode

from conformance._types import JSON
from conformance.reference.fault import Fault
from conformance.reference.fault import plain_fault as _fault
from conformance.reference.rewrite import (
    RequestView,
    branch_on_request,
    reanswer_json,
    refuse_request,
    replace_error,
    rewrite_json_response,
    rewrite_request,
)

PEERS = "peers.md §4.6"
COUNT_PATH = "/v1/messages/count_tokens"
MODELS_PATH = "/v1/models"
Refusal = tuple[int, str, str] | None




def _counting(view: RequestView) -> bool:
    return view.path.rstrip("/") == COUNT_PATH


def _listing(view: RequestView) -> bool:
    return view.method == "GET" and view.path.rstrip("/") == MODELS_PATH


def _retrieving(view: RequestView) -> bool:
    return view.method == "GET" and view.path.startswith(MODELS_PATH + "/")


# ------------------------------------------------------------------------------ count_tokens


def _no_count_route(view: RequestView) -> Refusal:
    return (404, "not_found_error", "Not Found") if _counting(view) else None


def _beta_query_unrouted(view: RequestView) -> Refusal:
    if _counting(view) and "beta=true" in view.query:
        return 404, "not_found_error", f"invalid_path: {view.path}?{view.query}"
    return None


def _count_requires_max_tokens(view: RequestView) -> Refusal:
    if _counting(view) and isinstance(view.body, dict) and "max_tokens" not in view.body:
        return 400, "invalid_request_error", "max_tokens: Field required"
    return None


def _prompt_tokens(status: int, body: JSON) -> JSON:
    if status == 200 and isinstance(body, dict) and "input_tokens" in body:
        return {"prompt_tokens": body["input_tokens"]}
    return body


def _drop_system(view: RequestView) -> RequestView:
    if not _counting(view) or not isinstance(view.body, dict) or "system" not in view.body:
        return view
    body = {k: v for k, v in view.body.items() if k != "system"}
    return RequestView(view.method, view.path, view.headers, body, view.query)


def _zero(_status: int, _body: JSON) -> tuple[int, str, bytes]:
    return 200, "application/json", b'{"input_tokens":0}'


# ------------------------------------------------------------------------------------ models


def _openai_model(item: JSON) -> JSON:
    model_id = item.get("id") if isinstance(item, dict) else None
    return {"id": model_id, "object": "model", "created": 1_759_276_800, "owned_by": "anthropic"}


def _openai_shapes(status: int, body: JSON) -> JSON:
    """OpenAI's list and model objects in place of Anthropic's page and ModelInfo."""
    if status != 200 or not isinstance(body, dict):
        return body
    if isinstance(body.get("data"), list):
        return {"object": "list", "data": [_openai_model(item) for item in body["data"]]}
    return _openai_model(body) if body.get("type") == "model" else body


def _null_cursor_ids(status: int, body: JSON) -> JSON:
    if status == 200 and isinstance(body, dict) and "first_id" in body:
        body = copy.deepcopy(body)
        body["first_id"] = body["last_id"] = None
    return body


def _ignore_paging(view: RequestView) -> RequestView:
    if not _listing(view):
        return view
    kept = [(k, v) for k, v in parse_qsl(view.query) if k not in ("limit", "after_id", "before_id")]
    return RequestView(view.method, view.path, view.headers, view.body, urlencode(kept))


def _not_found_as(status: int, kind: str) -> Callable[[int, JSON], tuple[int, JSON] | None]:
    def rewrite(old: int, body: JSON) -> tuple[int, JSON] | None:
        if old != 404 or not isinstance(body, dict):
            return None
        return status, {**body, "error": {"type": kind, "message": "Internal server error"}}

    return rewrite


def _empty_200(status: int, _body: JSON) -> tuple[int, str, bytes] | None:
    return (200, "application/json", b"") if status == 404 else None


# A keyless count is answered too (404, or the stub's 200) instead of 401: auth.count_tokens_missing_key_rejected.
_COUNT_ROUTE = ["auth.count_tokens_missing_key_rejected", "count_tokens.beta_query_accepted", "count_tokens.max_tokens_not_required", "count_tokens.messages_required", "count_tokens.model_required"]

FAULTS: tuple[Fault, ...] = (
    # ------------------------------------------------------------- count_tokens
    _fault("count-tokens-missing", _COUNT_ROUTE,
           f"{PEERS} #17; https://github.com/BerriAI/litellm/issues/13252 (404 on /v1/messages/count_tokens?beta=true from Claude Code)",
           "/v1/messages/count_tokens is not served: every count is a 404.",
           refuse_request(_no_count_route)),
    _fault("count-tokens-beta-query-unrouted", ["count_tokens.beta_query_accepted"],
           f"{PEERS} #17; https://github.com/envoyproxy/ai-gateway/issues/1360 ('invalid_path: anthropic/v1/messages/count_tokens?beta=true')",
           "count_tokens answers on its bare path, but the ?beta=true path Claude Code calls is a 404.",
           refuse_request(_beta_query_unrouted)),
    _fault("count-tokens-requires-max-tokens", ["auth.count_tokens_missing_key_rejected", "count_tokens.beta_query_accepted", "count_tokens.max_tokens_not_required"],
           "https://github.com/experientiallabs/experiential/pull/914 (count requests decoded with the generation schema, which requires max_tokens)",
           "count_tokens validates the body as a Messages request, so a count without max_tokens is a 400.",
           refuse_request(_count_requires_max_tokens)),
    _fault("count-tokens-prompt-tokens", ["count_tokens.response_schema"],
           f"{PEERS} #27 (OpenAI vocabulary leaks into Anthropic answers)",
           'count_tokens answers OpenAI-style {"prompt_tokens": N} instead of {"input_tokens": N}.',
           branch_on_request(_counting, rewrite_json_response(_prompt_tokens))),
    _fault("count-tokens-ignores-system", ["count_tokens.matches_usage"],
           "https://github.com/router-for-me/CLIProxyAPI/issues/679 (count_tokens ignores system prompts: 48 counted, 728 used)",
           "count_tokens counts the messages only, leaving the system prompt out.",
           rewrite_request(_drop_system)),
    _fault("count-tokens-stub-zero", ["auth.count_tokens_missing_key_rejected", "count_tokens.matches_usage", "count_tokens.messages_required", "count_tokens.model_required"],
           "https://github.com/ShouZhuo0413/codebuddy2api/issues/12 (count_tokens returns input_tokens 0 for any input)",
           'count_tokens is a stub: {"input_tokens": 0} for any body, valid or not.',
           branch_on_request(_counting, reanswer_json(_zero))),
    # ------------------------------------------------------------------- models
    _fault("models-openai-shape", ["models.list_schema", "models.retrieve_schema"],
           f"{PEERS} #27; https://github.com/BerriAI/litellm/issues/13128 (the /v1/models listing and model objects in OpenAI's shape)",
           'GET /v1/models answers OpenAI\'s {"object": "list", "data": [...]} and /v1/models/{id} an {"id", "object": "model", "created", "owned_by"}.',
           branch_on_request(lambda view: _listing(view) or _retrieving(view), rewrite_json_response(_openai_shapes))),
    _fault("models-null-cursor-ids", ["models.list_schema"],
           "https://github.com/databricks/unity-gateway/issues/680 (first_id and last_id stay null, so clients cannot page)",
           "Model pages carry first_id and last_id null whatever they hold.",
           branch_on_request(_listing, rewrite_json_response(_null_cursor_ids))),
    _fault("models-pagination-ignored", ["models.after_id_pages", "models.limit_respected"],
           "https://github.com/diegosouzapw/OmniRoute/issues/13389 (the full catalogue whatever limit and after are)",
           "GET /v1/models ignores limit and after_id: every request gets the same first page.",
           rewrite_request(_ignore_paging)),
    _fault("unknown-model-id-500", ["models.unknown_id_not_found"],
           f"{PEERS} #23 (wrong status mapping); https://github.com/langwatch/langwatch/pull/6207",
           "GET /v1/models/{id} for an unknown id is a 500 api_error instead of a 404.",
           branch_on_request(_retrieving, replace_error(_not_found_as(500, "api_error")))),
    _fault("unknown-model-id-200-empty", ["models.retrieve_schema", "models.unknown_id_not_found"],
           "https://github.com/epam/ai-dial-chat/issues/7926 (an unknown model lookup returns 200 with an empty body)",
           "GET /v1/models/{id} for an unknown id is a 200 with an empty body.",
           branch_on_request(_retrieving, reanswer_json(_empty_200))),
)
