"""Faults in how gateways read credentials and request headers, and label and number their answers.

Keys checked by shape or not at all, the Bearer scheme matched case-sensitively, endpoints outside the
auth middleware, version and beta headers read loosely, media types compared as strings, request-ids
that do not identify one answer. Each is a deviation with a public source (deviation numbers refer to
the research notes' table, peers.md §4.6); the faithful app never learns it is wrapped.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import replace

from starlette.types import ASGIApp

from conformance._types import JSON, RawHeaders
from conformance.reference.fault import Fault, FaultContext
from conformance.reference.fault import plain_fault as _fault
from conformance.reference.headers import KNOWN_BETAS
from conformance.reference.rewrite import (
    RequestView,
    Wrapper,
    branch_on_request,
    compose,
    reanswer_json,
    refuse_request,
    rewrite_json_response,
    rewrite_request,
    rewrite_response_headers,
)

PEERS = "peers.md §4.6"
MSG_PATH = "/v1/messages"
# gitleaks' anthropic-api-key rule: the shape a format check accepts (contract.yaml headers.wrong_key_*).
KEY_SHAPE = re.compile(r"^sk-ant-api03-[A-Za-z0-9_-]{93}AA$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CONSTANT_ID = "req_011CSHoEeqs5C35K2UUqR7Fy"  # the errors page's example id, copied into a gateway's config
Refusal = tuple[int, str, str] | None


def _keyed(app: ASGIApp, context: FaultContext, swap: Callable[[str, str], str | None]) -> ASGIApp:
    """Replace each credential header ``swap(name, value)`` names by the deployment's own key (None keeps it)."""

    def rewrite(view: RequestView) -> RequestView:
        headers: list[tuple[str, str]] = []
        for name, value in view.headers:
            if name in ("x-api-key", "authorization") and swap(name, value) is not None:
                value = context.api_key if name == "x-api-key" else f"Bearer {context.api_key}"
            headers.append((name, value))
        return replace(view, headers=tuple(headers))

    return rewrite_request(rewrite)(app)


def _bearer_token(name: str, value: str) -> str | None:
    scheme, _, token = value.strip().partition(" ")
    if name != "authorization" or scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _well_formed(name: str, value: str) -> str | None:
    key = _bearer_token(name, value) if name == "authorization" else value.strip()
    return key if key is not None and KEY_SHAPE.match(key) else None


def _unverified_bearer(app: ASGIApp, context: FaultContext) -> ASGIApp:
    return _keyed(app, context, _bearer_token)


def _format_only(app: ASGIApp, context: FaultContext) -> ASGIApp:
    return _keyed(app, context, _well_formed)


def _auth_on_messages_only(app: ASGIApp, context: FaultContext) -> ASGIApp:
    def rewrite(view: RequestView) -> RequestView:
        if view.path.rstrip("/") == MSG_PATH:
            return view
        kept = tuple((k, v) for k, v in view.headers if k not in ("x-api-key", "authorization"))
        return replace(view, headers=(*kept, ("x-api-key", context.api_key)))

    return rewrite_request(rewrite)(app)


# -------------------------------------------------------------------------- request headers


def _edit_header(name: str, fn: Callable[[str], str | None]) -> Wrapper:
    """Rewrite every value of header ``name`` (None drops it) before the app reads it."""

    def rewrite(view: RequestView) -> RequestView:
        headers = [(k, fn(v) if k == name else v) for k, v in view.headers]
        return replace(view, headers=tuple((k, v) for k, v in headers if v is not None))

    return rewrite_request(rewrite)


def _exact_bearer(value: str) -> str | None:
    return value if value.startswith("Bearer ") else None  # "bearer <key>" is not recognised: as if no key was sent


def _dated_version(value: str) -> str:
    """Any date from 2023-06-01 on is taken for 2023-06-01 (a version check by comparison, not by list)."""
    stripped = value.strip()
    return "2023-06-01" if _DATE.match(stripped) and stripped >= "2023-06-01" and stripped != "2026-10-21" else value


def _first_version(value: str) -> str:
    return value.split(",", 1)[0].strip()


def _known_betas_only(value: str) -> str | None:
    kept = [name.strip() for name in value.split(",") if name.strip() in KNOWN_BETAS]
    return ",".join(kept) or None


def _beta_header_as_one_name(view: RequestView) -> Refusal:
    for key, value in view.headers:
        if key == "anthropic-beta" and value.strip() not in KNOWN_BETAS:
            return 400, "invalid_request_error", f"invalid beta flag: {value.strip()}"
    return None


def _exact_json_media_type(view: RequestView) -> Refusal:
    if view.method != "POST":
        return None
    label = next((v for k, v in view.headers if k == "content-type"), "")
    return None if label == "application/json" else (415, "invalid_request_error", f"Unsupported Media Type: {label!r}")


# -------------------------------------------------------------------------- answers


def _constant_request_id(headers: RawHeaders) -> RawHeaders:
    return tuple((k, CONSTANT_ID if k == "request-id" else v) for k, v in headers)


def _constant_body_id(_status: int, body: JSON) -> JSON:
    if isinstance(body, dict) and body.get("type") == "error" and "request_id" in body:
        return {**body, "request_id": CONSTANT_ID}
    return body


def _gateway_body_id(_status: int, body: JSON) -> JSON:
    if isinstance(body, dict) and body.get("type") == "error":
        body = copy.deepcopy(body)
        body["request_id"] = "gw-7f3c2a9e-0b1d-4c55-8e2f-3a9d1c0b7e64"
    return body


def _stream_request(view: RequestView) -> bool:
    return isinstance(view.body, dict) and view.body.get("stream") is True


def _error_as_event_stream(status: int, body: JSON) -> tuple[int, str, bytes] | None:
    return (status, "text/event-stream; charset=utf-8", json.dumps(body).encode()) if status >= 400 else None


FAULTS: tuple[Fault, ...] = (
    # ------------------------------------------------------------------ credentials
    Fault(
        name="bearer-token-unverified",
        breaks=("auth.wrong_bearer_rejected",),
        source="https://github.com/zitadel/nextgen/pull/137 (a gateway that forwards a Bearer token as OAuth auth without validating the caller: an open relay); https://github.com/github/gh-aw-firewall/issues/1454",
        description="x-api-key is verified, but any Authorization: Bearer token is taken for an OAuth token and served with the gateway's own key.",
        wrap=_unverified_bearer,
    ),
    Fault(
        name="key-format-only",
        breaks=("auth.wrong_bearer_rejected", "auth.wrong_key_rejected"),
        source="https://github.com/AndyMik90/Aperant/pull/181 (an API key 'validated' by its length and characters); https://github.com/gitleaks/gitleaks/blob/master/config/gitleaks.toml (the key shape: sk-ant-api03-, 93 characters, AA)",
        description="A key is checked only for the shape of an Anthropic key, then the gateway's own key is used: any well-formed key is accepted.",
        wrap=_format_only,
    ),
    Fault(
        name="aux-endpoints-unauthenticated",
        breaks=("auth.count_tokens_missing_key_rejected", "auth.models_missing_key_rejected"),
        source="https://github.com/github/gh-aw-firewall/issues/1454 (GET /v1/models with no x-api-key answered 200 by an Anthropic proxy)",
        description="The auth middleware covers /v1/messages only: count_tokens and /v1/models answer without a key.",
        wrap=_auth_on_messages_only,
    ),
    _fault("bearer-scheme-case-sensitive", ["auth.bearer_scheme_case_insensitive"],
           "https://www.rfc-editor.org/rfc/rfc9110#section-11.1 (the scheme is case-insensitive); https://github.com/aws-samples/sample-kolya-br-proxy/pull/35 (Bearer auth added to a gateway's messages route by hand)",
           'Only "Authorization: Bearer " spelled exactly so is read; "bearer <key>" is treated as no key.', _edit_header("authorization", _exact_bearer)),
    # ------------------------------------------------------------------ request headers
    _fault("version-date-compare", ["headers.version_unknown_rejected"],
           "https://github.com/ollama/ollama/blob/main/docs/api/anthropic-compatibility.mdx (cloud: anthropic-version ≥ 2023-06-01 [U], contract §8)",
           "anthropic-version is compared as a date: any date from 2023-06-01 on (2023-10-01 included) is served as 2023-06-01.", _edit_header("anthropic-version", _dated_version)),
    _fault("version-duplicate-first-wins", ["headers.version_duplicate_rejected"], "https://github.com/decolua/9router/issues/1227; https://github.com/decolua/9router/issues/2357",
           'A comma-separated anthropic-version is read up to its first comma, so "2023-06-01, 2023-06-01" is served.', _edit_header("anthropic-version", _first_version)),
    _fault("beta-list-read-as-one-name", ["headers.beta_accepted"], f"{PEERS} #18; https://github.com/anthropics/claude-code/issues/13770",
           "The whole anthropic-beta value is looked up as one beta name, so a comma-separated list (Claude Code's) is refused with 400 'invalid beta flag'.",
           refuse_request(_beta_header_as_one_name)),
    _fault("beta-unknown-dropped", ["headers.beta_unknown_rejected"], f"{PEERS} #18; https://github.com/BerriAI/litellm/pull/41203 (betas filtered per provider)",
           "anthropic-beta names the gateway does not know are dropped instead of refused.", _edit_header("anthropic-beta", _known_betas_only)),
    _fault("content-type-charset-refused", ["headers.content_type_charset_accepted"], "https://www.rfc-editor.org/rfc/rfc8259#section-11 (no charset parameter for application/json, and it changes nothing)",
           "Content-Type is compared as a string: application/json; charset=utf-8 is refused with 415.", refuse_request(_exact_json_media_type)),
    # ------------------------------------------------------------------ answers
    _fault("request-id-constant", ["headers.request_id_unique"], "https://platform.claude.com/docs/en/api/errors (request ids are unique per request); https://github.com/QuantumNous/new-api/issues/2975 (gateway-made ids)",
           "Every answer carries the same request-id, in the header and in error bodies.", compose(rewrite_response_headers(_constant_request_id), rewrite_json_response(_constant_body_id))),
    _fault("error-request-id-mismatch", ["errors.request_id_matches_header"], "https://platform.claude.com/docs/en/api/errors (the body's request_id is the request-id header's value); https://github.com/QuantumNous/new-api/issues/2975",
           "Error bodies carry the gateway's own id as request_id, not the request-id header's value.", rewrite_json_response(_gateway_body_id)),
    _fault("stream-errors-labelled-event-stream", ["headers.json_content_type"], f"{PEERS} #14 (proxies that relabel streams); anthropic-contract.md §1.2 (a 401 to stream: true is JSON, capture 52)",
           "An error answer to a stream request (401, 529...) keeps its JSON body but is labelled text/event-stream.",
           branch_on_request(_stream_request, reanswer_json(_error_as_event_stream))),
)
