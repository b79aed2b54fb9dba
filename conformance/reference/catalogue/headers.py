"""Faults in request and response headers (headers.*): versions and betas read loosely or refused, media types mislabelled, request-ids missing or constant.

Each is a deviation with a public source (deviation numbers refer to the research notes' table (peers.md
§4.6)); a version list that predates 2026-10-21 is still found by the preflight, which tries the other
live version before it gives up.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace

from conformance._types import JSON, RawHeaders
from conformance.reference.fault import Fault, fault
from conformance.reference.headers import KNOWN_BETAS
from conformance.reference.rewrite.edits import PEERS, edit_header, header
from conformance.reference.rewrite.request import branch_on_request, compose, refuse_request, rewrite_request
from conformance.reference.rewrite.response import (
    reanswer_json,
    rewrite_json_response,
    rewrite_response_headers,
)
from conformance.reference.rewrite.views import Refusal, RequestView

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

CONSTANT_ID = "req_011CSHoEeqs5C35K2UUqR7Fy"  # the errors page's example id, copied into a gateway's config


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


def _constant_request_id(headers: RawHeaders) -> RawHeaders:
    return tuple((k, CONSTANT_ID if k == "request-id" else v) for k, v in headers)


def _constant_body_id(_status: int, body: JSON) -> JSON:
    if isinstance(body, dict) and body.get("type") == "error" and "request_id" in body:
        return {**body, "request_id": CONSTANT_ID}
    return body


def _stream_request(view: RequestView) -> bool:
    return isinstance(view.body, dict) and view.body.get("stream") is True


def _error_as_event_stream(status: int, body: JSON) -> tuple[int, str, bytes] | None:
    return (status, "text/event-stream; charset=utf-8", json.dumps(body).encode()) if status >= 400 else None


REFUSED_VERSION = "2026-10-21"


def _pinned_version(view: RequestView) -> tuple[int, str, str] | None:
    """A version list that predates 2026-10-21: the newer version is refused as Anthropic refuses an unknown one."""
    for name, value in view.headers:
        if name == "anthropic-version" and value.strip() == REFUSED_VERSION:
            return 400, "invalid_request_error", f'anthropic-version: "{value.strip()}" is not a valid version'
    return None


def _default_version(view: RequestView) -> RequestView:
    if header(view.headers, "anthropic-version") in ("2023-06-01", "2026-10-21"):
        return view
    kept = tuple((k, v) for k, v in view.headers if k != "anthropic-version")
    return replace(view, headers=(*kept, ("anthropic-version", "2023-06-01")))


def _refuse_v2026(view: RequestView) -> tuple[int, str, str] | None:
    if header(view.headers, "anthropic-version") == "2026-10-21":
        return 400, "invalid_request_error", 'anthropic-version: "2026-10-21" is not a valid version'
    return None


def _refuse_beta(view: RequestView) -> tuple[int, str, str] | None:
    beta = header(view.headers, "anthropic-beta")
    return (400, "invalid_request_error", f"invalid beta flag: {beta}") if beta else None


def _content_type(old: str, new: str) -> Callable[[RawHeaders], RawHeaders]:
    def rewrite(headers: RawHeaders) -> RawHeaders:
        return tuple((k, new if k == "content-type" and v.startswith(old) else v) for k, v in headers)

    return rewrite


def _drop_request_id(headers: RawHeaders) -> RawHeaders:
    return tuple((k, v) for k, v in headers if k != "request-id")


# Betas a gateway validated against before Claude Code's own existed; anything else is "invalid".
STALE_BETA_ALLOWLIST = frozenset(
    {
        "computer-use-2024-10-22",
        "files-api-2025-04-14",
        "message-batches-2024-09-24",
        "output-128k-2025-02-19",
        "pdfs-2024-09-25",
        "prompt-caching-2024-07-31",
        "token-counting-2024-11-01",
        "token-efficient-tools-2025-02-19",
    }
)


def _refuse_unlisted_beta(view: RequestView) -> Refusal:
    values = [value for key, value in view.headers if key == "anthropic-beta"]
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in STALE_BETA_ALLOWLIST]
    return (400, "invalid_request_error", f"invalid beta flag: {', '.join(unknown)}") if unknown else None


FAULTS: tuple[Fault, ...] = (
    fault("version-2026-10-21-refused", ["headers.known_versions_accepted"],
          "https://platform.claude.com/docs/en/api/migration-2026-10-21 (SDK 2.x sends 2026-10-21); anthropic-contract.md §9 (flag gateways that reject 2026-10-21)",
          f'anthropic-version is checked against a list that predates {REFUSED_VERSION}: it is refused with 400 "is not a valid version".', refuse_request(_pinned_version)),
    # ------------------------------------------------------------------ request headers
    fault("version-date-compare", ["headers.version_unknown_rejected"],
          "https://github.com/ollama/ollama/blob/main/docs/api/anthropic-compatibility.mdx (cloud: anthropic-version ≥ 2023-06-01 [U], contract §8)",
          "anthropic-version is compared as a date: any date from 2023-06-01 on (2023-10-01 included) is served as 2023-06-01.", edit_header("anthropic-version", _dated_version)),
    fault("version-duplicate-first-wins", ["headers.version_duplicate_rejected"], "https://github.com/decolua/9router/issues/1227; https://github.com/decolua/9router/issues/2357",
          'A comma-separated anthropic-version is read up to its first comma, so "2023-06-01, 2023-06-01" is served.', edit_header("anthropic-version", _first_version)),
    fault("beta-list-read-as-one-name", ["headers.beta_accepted"], f"{PEERS} #18; https://github.com/anthropics/claude-code/issues/13770",
          "The whole anthropic-beta value is looked up as one beta name, so a comma-separated list (Claude Code's) is refused with 400 'invalid beta flag'.",
          refuse_request(_beta_header_as_one_name)),
    fault("beta-unknown-dropped", ["headers.beta_unknown_rejected"], f"{PEERS} #18; https://github.com/BerriAI/litellm/pull/41203 (betas filtered per provider)",
          "anthropic-beta names the gateway does not know are dropped instead of refused.", edit_header("anthropic-beta", _known_betas_only)),
    fault("content-type-charset-refused", ["headers.content_type_charset_accepted"], "https://www.rfc-editor.org/rfc/rfc8259#section-11 (no charset parameter for application/json, and it changes nothing)",
          "Content-Type is compared as a string: application/json; charset=utf-8 is refused with 415.", refuse_request(_exact_json_media_type)),
    # ------------------------------------------------------------------ answers
    fault("request-id-constant", ["headers.request_id_unique"], "https://platform.claude.com/docs/en/api/errors (request ids are unique per request); https://github.com/QuantumNous/new-api/issues/2975 (gateway-made ids)",
          "Every answer carries the same request-id, in the header and in error bodies.", compose(rewrite_response_headers(_constant_request_id), rewrite_json_response(_constant_body_id))),
    fault("stream-errors-labelled-event-stream", ["headers.json_content_type"], f"{PEERS} #14 (proxies that relabel streams); anthropic-contract.md §1.2 (a 401 to stream: true is JSON, capture 52)",
          "An error answer to a stream request (401, 529...) keeps its JSON body but is labelled text/event-stream.",
          branch_on_request(_stream_request, reanswer_json(_error_as_event_stream))),
    fault("version-header-ignored", ["headers.version_duplicate_rejected", "headers.version_required", "headers.version_unknown_rejected"], "https://github.com/ollama/ollama/blob/main/docs/api/anthropic-compatibility.mdx (anthropic-version accepted but unused)",
          "anthropic-version is optional and unknown values are ignored (defaulted to 2023-06-01).", rewrite_request(_default_version)),
    fault("version-2026-rejected", ["headers.known_versions_accepted"], "https://platform.claude.com/docs/en/api/migration-2026-10-21 (SDK 2.x sends 2026-10-21)",
          "Only anthropic-version 2023-06-01 is known, so every request from SDK 2.x is refused.", refuse_request(_refuse_v2026)),
    fault("beta-header-rejected", ["headers.beta_accepted"], "https://github.com/anthropics/claude-code/issues/46105",
          "Any anthropic-beta header makes the request fail with 400 'invalid beta flag'.", refuse_request(_refuse_beta)),
    fault("json-as-text-plain", ["headers.json_content_type"], f"{PEERS} (content-type conformance, Schemathesis check class)",
          "JSON answers are labelled text/plain.", rewrite_response_headers(_content_type("application/json", "text/plain; charset=utf-8"))),
    fault("stream-as-json-content-type", ["headers.stream_content_type"], f"{PEERS} #14 (proxies that relabel streams)",
          "Event streams are labelled application/json.", rewrite_response_headers(_content_type("text/event-stream", "application/json"))),
    fault("no-request-id", ["headers.request_id_present"], "https://platform.claude.com/docs/en/api/errors (request-id on every response)",
          "The request-id response header is stripped.", rewrite_response_headers(_drop_request_id)),
    # Documented by a provider and emulated for its profile (specs/profiles/): the suite fails it under the anthropic
    # profile, the provider's profile tolerates it (tests/profiles/).
    fault("beta-allowlist-stale", ["headers.beta_accepted"],
          "peers.md §4.6 #18; https://github.com/anthropics/claude-code/issues/13770 (a gateway refusing a beta Claude Code sends); https://github.com/BerriAI/litellm/pull/41203 (per-provider beta allowlists, 'invalid beta flag')",
          "anthropic-beta values missing from the gateway's frozen allowlist, Claude Code's own betas among them, are refused with 400 'invalid beta flag'.",
          refuse_request(_refuse_unlisted_beta), profile="claude-code"),
)
