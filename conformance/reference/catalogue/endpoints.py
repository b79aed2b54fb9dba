"""Faults in POST /v1/messages/count_tokens and GET /v1/models[/{id}]: missing routes, wrong shapes, wrong counts, broken pages.

Each is a deviation a real gateway showed, with its public source; deviation numbers refer to the
research notes' table (peers.md §4.6). Every wrapper touches only its own route, so /v1/messages
answers as the faithful app does (messages-beta-query-404 touches it only on the ?beta=true path).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode

from conformance._types import JSON
from conformance.reference import models_api
from conformance.reference.api_error import ApiError
from conformance.reference.fault import Fault, fault
from conformance.reference.models import CATALOGUE, lookup
from conformance.reference.rewrite.edits import PEERS
from conformance.reference.rewrite.request import (
    branch_on_request,
    per_request,
    refuse_request,
    rewrite_request,
)
from conformance.reference.rewrite.response import reanswer_json, replace_error, rewrite_json_response
from conformance.reference.rewrite.views import Refusal, RequestView, Wrapper

COUNT_PATH = "/v1/messages/count_tokens"

MODELS_PATH = "/v1/models"

MESSAGES_ONLY = ("max_tokens", "temperature", "top_p", "top_k", "stop_sequences", "stream", "metadata", "service_tier")


def _counting(view: RequestView) -> bool:
    return view.path.rstrip("/") == COUNT_PATH


def _listing(view: RequestView) -> bool:
    return view.method == "GET" and view.path.rstrip("/") == MODELS_PATH


def _retrieving(view: RequestView) -> bool:
    return view.method == "GET" and view.path.startswith(MODELS_PATH + "/")


def _messages_beta_query_unrouted(view: RequestView) -> Refusal:
    if view.path.rstrip("/") == "/v1/messages" and "beta=true" in view.query:
        return 404, "not_found_error", f"invalid_path: {view.path}?{view.query}"
    return None


def _no_count_route(view: RequestView) -> Refusal:
    return (404, "not_found_error", "Not Found") if _counting(view) else None


def _no_listing_route(view: RequestView) -> Refusal:
    return (404, "not_found_error", "Not Found") if _listing(view) else None


def _no_model_found(view: RequestView) -> Refusal:
    return (404, "not_found_error", f"model: {view.path.removeprefix(MODELS_PATH + '/')}") if _retrieving(view) else None


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


def _recount(change: Callable[[int], int]) -> Callable[[int, JSON], JSON]:
    """Every successful count replaced by ``change(count)``."""

    def rewrite(status: int, body: JSON) -> JSON:
        if status == 200 and isinstance(body, dict) and isinstance(body.get("input_tokens"), int):
            return {**body, "input_tokens": change(body["input_tokens"])}
        return body

    return rewrite


def _edit_count(edit: Callable[[dict[str, JSON]], None]) -> Wrapper:
    """A request rewrite that edits a copy of every count_tokens body."""

    def rewrite(view: RequestView) -> RequestView:
        if not _counting(view) or not isinstance(view.body, dict):
            return view
        body = copy.deepcopy(view.body)
        edit(body)
        return RequestView(view.method, view.path, view.headers, body, view.query)

    return rewrite_request(rewrite)


def _any_model(body: dict[str, JSON]) -> None:
    model = body.get("model")
    if isinstance(model, str) and lookup(model) is None:
        body["model"] = CATALOGUE[0].id  # the local tokenizer counts whatever the name


def _strip_messages_fields(body: dict[str, JSON]) -> None:
    for name in MESSAGES_ONLY:
        body.pop(name, None)


def _drop_tools(body: dict[str, JSON]) -> None:
    body.pop("tools", None)
    body.pop("tool_choice", None)


def _coerce(body: dict[str, JSON]) -> None:
    """Make any body countable, as a local tokenizer does: unknown roles become user, tool names are sanitised."""
    for message in body.get("messages") or []:
        if isinstance(message, dict) and message.get("role") not in ("user", "assistant"):
            message["role"] = "user"
    for tool in body.get("tools") or []:
        if isinstance(tool, dict) and isinstance(tool.get("name"), str):
            tool["name"] = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in tool["name"])[:128]


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


def _not_found_as(status: int, kind: str) -> Callable[[int, JSON], tuple[int, JSON] | None]:
    def rewrite(old: int, body: JSON) -> tuple[int, JSON] | None:
        if old != 404 or not isinstance(body, dict):
            return None
        return status, {**body, "error": {"type": kind, "message": "Internal server error"}}

    return rewrite


def _empty_200(status: int, _body: JSON) -> tuple[int, str, bytes] | None:
    return (200, "application/json", b"") if status == 404 else None


def _has_more_true(status: int, body: JSON) -> JSON:
    return {**body, "has_more": True} if status == 200 and isinstance(body, dict) and "has_more" in body else body


def _naive(item: JSON) -> JSON:
    if isinstance(item, dict) and isinstance(item.get("created_at"), str):
        return {**item, "created_at": item["created_at"].removesuffix("Z")}
    return item


def _naive_created_at(status: int, body: JSON) -> JSON:
    """created_at as Python's naive datetime.isoformat() prints it: no Z, no offset."""
    if status != 200 or not isinstance(body, dict):
        return body
    if isinstance(body.get("data"), list):
        return {**body, "data": [_naive(item) for item in body["data"]]}
    return _naive(body)


def _alias_retrieved(view: RequestView) -> bool:
    return _retrieving(view) and view.path[len(MODELS_PATH) + 1 :] not in {facts.id for facts in CATALOGUE}


def _newest_model(status: int, body: JSON) -> JSON:
    """Whatever the alias, the newest model of the listing (an alias table that falls through to its first entry)."""
    return models_api.model_info(CATALOGUE[0]) if status == 200 and isinstance(body, dict) else body


def _oldest_first(view: RequestView) -> Wrapper | None:
    """Listings paged consistently over the catalogue in the reverse order: oldest first."""
    if not _listing(view):
        return None
    query = dict(parse_qsl(view.query))

    def repage(status: int, body: JSON) -> JSON:
        page = models_api.list_page(query, catalogue=tuple(reversed(CATALOGUE))) if status == 200 else None
        return body if page is None or isinstance(page, ApiError) else page

    return rewrite_json_response(repage)


def _drop_query(*names: str) -> Callable[[RequestView], RequestView]:
    def rewrite(view: RequestView) -> RequestView:
        if not _listing(view):
            return view
        kept = [(k, v) for k, v in parse_qsl(view.query) if k not in names]
        return RequestView(view.method, view.path, view.headers, view.body, urlencode(kept))

    return rewrite


def _clamp_limit(view: RequestView) -> RequestView:
    if not _listing(view):
        return view
    pairs = []
    for key, value in parse_qsl(view.query):
        if key == "limit" and value.lstrip("-").isdigit():
            number = int(value)
            value = str(models_api.DEFAULT_LIMIT if number < 1 else min(number, models_api.MAX_LIMIT))
        pairs.append((key, value))
    return RequestView(view.method, view.path, view.headers, view.body, urlencode(pairs))


# Every count rule that expects an answer other than 404 (count_tokens.unknown_model_not_found gets its 404 from a missing route too);
# a keyless count is answered too (404, or the stub's 200) instead of 401: auth.count_tokens_missing_key_rejected.
_COUNT_ROUTE = [
    "auth.count_tokens_missing_key_rejected",
    "count_tokens.beta_query_accepted", "count_tokens.invalid_tool_name_rejected", "count_tokens.max_tokens_not_required", "count_tokens.messages_only_fields_rejected",
    "count_tokens.messages_required", "count_tokens.model_required", "count_tokens.unknown_role_rejected",
]

_COUNTS_ANYTHING = ["count_tokens.invalid_tool_name_rejected", "count_tokens.messages_only_fields_rejected", "count_tokens.unknown_model_not_found", "count_tokens.unknown_role_rejected"]


FAULTS: tuple[Fault, ...] = (
    # ------------------------------------------------------------- count_tokens
    fault("count-tokens-missing", _COUNT_ROUTE,
          f"{PEERS} #17; https://github.com/BerriAI/litellm/issues/13252 (404 on /v1/messages/count_tokens?beta=true from Claude Code)",
          "/v1/messages/count_tokens is not served: every count is a 404.",
          refuse_request(_no_count_route)),
    fault("count-tokens-beta-query-unrouted", ["count_tokens.beta_query_accepted"],
          f"{PEERS} #17; https://github.com/envoyproxy/ai-gateway/issues/1360 ('invalid_path: anthropic/v1/messages/count_tokens?beta=true')",
          "count_tokens answers on its bare path, but the ?beta=true path Claude Code calls is a 404.",
          refuse_request(_beta_query_unrouted)),
    fault("count-tokens-requires-max-tokens", ["auth.count_tokens_missing_key_rejected", "count_tokens.beta_query_accepted", "count_tokens.max_tokens_not_required", "count_tokens.unknown_model_not_found"],
          "https://github.com/experientiallabs/experiential/pull/914 (count requests decoded with the generation schema, which requires max_tokens)",
          "count_tokens validates the body as a Messages request, so a count without max_tokens is a 400.",
          refuse_request(_count_requires_max_tokens)),
    fault("count-tokens-prompt-tokens", ["count_tokens.response_schema"],
          f"{PEERS} #27 (OpenAI vocabulary leaks into Anthropic answers)",
          'count_tokens answers OpenAI-style {"prompt_tokens": N} instead of {"input_tokens": N}.',
          branch_on_request(_counting, rewrite_json_response(_prompt_tokens))),
    fault("count-tokens-ignores-system", ["count_tokens.matches_usage"],
          "https://github.com/router-for-me/CLIProxyAPI/issues/679 (count_tokens ignores system prompts: 48 counted, 728 used)",
          "count_tokens counts the messages only, leaving the system prompt out.",
          rewrite_request(_drop_system)),
    fault("count-tokens-any-model", ["count_tokens.unknown_model_not_found"],
          "https://github.com/pleaseai/shunt/issues/89 (count_tokens answered by a local o200k_base tokenizer, whatever the model); capture 54 (Anthropic: 404 not_found_error)",
          "count_tokens counts with a local tokenizer, so a model id that does not exist still gets a count instead of a 404.",
          _edit_count(_any_model)),
    fault("count-tokens-messages-fields-accepted", ["count_tokens.messages_only_fields_rejected"],
          "https://github.com/Wei-Shaw/sub2api/pull/4913 (the gateway strips max_tokens from counts; Anthropic answers it 'Extra inputs are not permitted')",
          "count_tokens strips max_tokens, temperature, stop_sequences, stream and the other Messages-only fields before counting, instead of refusing them.",
          _edit_count(_strip_messages_fields)),
    fault("count-tokens-ignores-tools", ["count_tokens.invalid_tool_name_rejected", "count_tokens.matches_usage"],
          "https://github.com/router-for-me/CLIProxyAPI/issues/840 (countTokens ignores the tools field: content-only counts)",
          "count_tokens counts system and messages but leaves the tool definitions out (so it never validates them either).",
          _edit_count(_drop_tools)),
    fault("count-tokens-unvalidated", ["count_tokens.invalid_tool_name_rejected", "count_tokens.unknown_role_rejected"],
          "https://github.com/pleaseai/shunt/issues/89 (a local count for whatever arrives, where the upstream would validate)",
          "count_tokens counts bodies /v1/messages refuses: a role tool becomes user, a tool name with a dot is sanitised.",
          _edit_count(_coerce)),
    fault("count-tokens-local-tokenizer", ["count_tokens.matches_usage"],
          "https://github.com/BerriAI/litellm/pull/37185 (a local tokenizer counts ~1.77x under Claude's usage)",
          "count_tokens is a local estimate with another tokenizer than the one behind usage: every count is usage divided by 1.8. "
          "A deviation in front of Claude; a translating gateway's honest difference (strictness.translates).",
          branch_on_request(_counting, rewrite_json_response(_recount(lambda n: round(n / 1.8))))),
    fault("count-tokens-own-prompt", ["count_tokens.matches_usage"],
          "https://github.com/router-for-me/CLIProxyAPI/issues/4103 (count_tokens includes the gateway's own ~2k-token system prompt, which is never sent)",
          "Every count adds 2,000 tokens of a prompt the gateway never sends: beyond even the translated band.",
          branch_on_request(_counting, rewrite_json_response(_recount(lambda n: n + 2000)))),
    fault("count-tokens-stub-zero", ["auth.count_tokens_missing_key_rejected", "count_tokens.matches_usage", "count_tokens.messages_required", "count_tokens.model_required", *_COUNTS_ANYTHING],
          "https://github.com/ShouZhuo0413/codebuddy2api/issues/12 (count_tokens returns input_tokens 0 for any input)",
          'count_tokens is a stub: {"input_tokens": 0} for any body, valid or not.',
          branch_on_request(_counting, reanswer_json(_zero))),
    # ------------------------------------------------------------------- models
    fault("models-openai-shape", ["models.list_schema", "models.retrieve_schema"],
          f"{PEERS} #27; https://github.com/BerriAI/litellm/issues/13128 (the /v1/models listing and model objects in OpenAI's shape)",
          'GET /v1/models answers OpenAI\'s {"object": "list", "data": [...]} and /v1/models/{id} an {"id", "object": "model", "created", "owned_by"}.',
          branch_on_request(lambda view: _listing(view) or _retrieving(view), rewrite_json_response(_openai_shapes))),
    fault("models-null-cursor-ids", ["models.list_schema"],
          "https://github.com/databricks/unity-gateway/issues/680 (first_id and last_id stay null, so clients cannot page)",
          "Model pages carry first_id and last_id null whatever they hold.",
          branch_on_request(_listing, rewrite_json_response(_null_cursor_ids))),
    fault("models-pagination-ignored", ["models.after_id_pages", "models.before_id_pages", "models.limit_respected", "models.limit_zero_rejected"],
          "https://github.com/diegosouzapw/OmniRoute/issues/13389 (the full catalogue whatever limit and after are)",
          "GET /v1/models ignores limit, after_id and before_id: every request gets the same first page.",
          rewrite_request(_drop_query("limit", "after_id", "before_id"))),
    fault("models-has-more-always-true", ["models.has_more_false_on_short_page"],
          "https://github.com/ogx-ai/ogx/issues/5611 (a compatibility layer hard-codes has_more; there False, here True)",
          "Model pages always say has_more true, so SDK auto-pagination asks again after the last page.",
          branch_on_request(_listing, rewrite_json_response(_has_more_true))),
    fault("models-created-at-naive", ["models.list_schema", "models.retrieve_schema"],
          "https://github.com/antonagestam/phantom-types/pull/168 (a naive datetime is not an RFC 3339 / OpenAPI date-time)",
          "created_at is printed as a naive datetime (2025-10-15T00:00:00) without Z or offset.",
          branch_on_request(lambda view: _listing(view) or _retrieving(view), rewrite_json_response(_naive_created_at))),
    fault("models-alias-retrieve-wrong-model", ["models.retrieve_schema"],
          "https://github.com/vercel/ai/issues/18118 (a gateway names a different model than the one asked for)",
          "GET /v1/models/{alias} answers the newest listed model (claude-opus-4-8) whatever the alias; listed ids answer correctly.",
          branch_on_request(_alias_retrieved, rewrite_json_response(_newest_model))),
    fault("models-oldest-first", ["models.most_recent_first"],
          "https://github.com/diegosouzapw/OmniRoute/issues/13389 (a gateway serves its own catalogue order); DOC-MODELS-LIST: most recent first",
          "GET /v1/models lists the oldest model first (paging consistently in that order).",
          per_request(_oldest_first)),
    fault("models-before-id-ignored", ["models.before_id_pages"],
          "https://github.com/diegosouzapw/OmniRoute/issues/13389 (paging parameters ignored); here only before_id",
          "GET /v1/models ignores before_id: a page before a model is the first page.",
          rewrite_request(_drop_query("before_id"))),
    fault("models-limit-clamped", ["models.limit_zero_rejected"],
          "https://github.com/NousResearch/hermes-agent/pull/98211 (a paginated mock that caps the page size instead of refusing); DOC-MODELS-LIST: limit 1-1000",
          "GET /v1/models clamps limit into 1-1000 (0 becomes the default 20) instead of refusing it.",
          rewrite_request(_clamp_limit)),
    fault("unknown-model-id-500", ["models.unknown_id_not_found"],
          f"{PEERS} #23 (wrong status mapping); https://github.com/langwatch/langwatch/pull/6207",
          "GET /v1/models/{id} for an unknown id is a 500 api_error instead of a 404.",
          branch_on_request(_retrieving, replace_error(_not_found_as(500, "api_error")))),
    fault("models-listing-unrouted", ["auth.models_missing_key_rejected", "models.limit_zero_rejected", "models.list_schema"],
          "https://github.com/zxcloli666/AI-Worker-Proxy/pull/14 (a proxy that served no /v1/models until the route was added); DOC-MODELS-LIST",
          "GET /v1/models is not served: every listing is a 404 (retrieving one model still works).",
          refuse_request(_no_listing_route)),
    fault("models-retrieve-listed-404", ["models.retrieve_schema"],
          "https://github.com/BaseIntelligence/bounty-challenge/issues/7122 (the listing names six models, retrieving any but one is a 404)",
          "GET /v1/models/{id} is a 404 not_found_error for every id, the ones GET /v1/models lists included.",
          refuse_request(_no_model_found)),
    fault("unknown-model-id-200-empty", ["models.retrieve_schema", "models.unknown_id_not_found"],
          "https://github.com/epam/ai-dial-chat/issues/7926 (an unknown model lookup returns 200 with an empty body)",
          "GET /v1/models/{id} for an unknown id is a 200 with an empty body.",
          branch_on_request(_retrieving, reanswer_json(_empty_200))),
    # ----------------------------------------------------------------- messages
    fault("messages-beta-query-404", ["endpoints.messages_beta_query_accepted", "context.edits_applied"],
          "https://github.com/router-for-me/CLIProxyAPI/issues/3892 (404 on …/v1/messages?beta=true after a routing change); https://github.com/envoyproxy/ai-gateway/issues/1360 (the count_tokens analogue)",
          "/v1/messages answers on its bare path, but the ?beta=true path the SDKs' beta clients and Claude Code post to is a 404.",
          refuse_request(_messages_beta_query_unrouted)),
)
