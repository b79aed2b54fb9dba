"""Faults in how a target checks credentials (auth.*): keys accepted unread or by their shape, one scheme only, the wrong status.

Some let anyone in (the gateway substitutes its own upstream key), some keep a working client out (only
one of x-api-key and Authorization: Bearer is read, the Bearer scheme matched case-sensitively). A target
that reads one scheme only is still usable: the suite's preflight (preflight.py) tries the other scheme
before it gives up, and the refused way fails its own case. Each fault names its public source; deviation
numbers refer to the research notes' table (peers.md §4.6).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from conformance.reference.fault import Fault, FaultContext, fault
from conformance.reference.rewrite.edits import PEERS, edit_header, header
from conformance.reference.rewrite.request import MESSAGES_PATH, rewrite_request
from conformance.reference.rewrite.response import replace_error
from conformance.reference.rewrite.views import RequestView, Wrapper

# gitleaks' anthropic-api-key rule: the shape a format check accepts (contract.yaml headers.wrong_key_*).
KEY_SHAPE = re.compile(r"^sk-ant-api03-[A-Za-z0-9_-]{93}AA$")
CREDENTIALS = ("x-api-key", "authorization")


def _drop_header(name: str, *, unless: str | None = None) -> Wrapper:
    """The gateway never reads ``name`` (unless ``unless`` came too): to the app a key sent there is no key at all."""

    def rewrite(view: RequestView) -> RequestView:
        if unless is not None and header(view.headers, unless) is not None:
            return view
        return replace(view, headers=tuple((k, v) for k, v in view.headers if k != name))

    return rewrite_request(rewrite)


def _swap_key(swap: Callable[[str, str], str | None]) -> Callable[[FaultContext], Wrapper]:
    """Replace each credential header ``swap(name, value)`` names by the deployment's own key (None keeps it)."""

    def keyed(context: FaultContext) -> Wrapper:
        def rewrite(view: RequestView) -> RequestView:
            headers: list[tuple[str, str]] = []
            for name, value in view.headers:
                if name in CREDENTIALS and swap(name, value) is not None:
                    value = context.api_key if name == "x-api-key" else f"Bearer {context.api_key}"
                headers.append((name, value))
            return replace(view, headers=tuple(headers))

        return rewrite_request(rewrite)

    return keyed


def _own_key(where: Callable[[RequestView], bool]) -> Callable[[FaultContext], Wrapper]:
    """Where ``where`` holds, drop whatever credentials came and send the deployment's own key instead."""

    def keyed(context: FaultContext) -> Wrapper:
        def rewrite(view: RequestView) -> RequestView:
            if not where(view):
                return view
            kept = tuple((k, v) for k, v in view.headers if k not in CREDENTIALS)
            return replace(view, headers=(*kept, ("x-api-key", context.api_key)))

        return rewrite_request(rewrite)

    return keyed


def _bearer_token(name: str, value: str) -> str | None:
    scheme, _, token = value.strip().partition(" ")
    if name != "authorization" or scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _well_formed(name: str, value: str) -> str | None:
    key = _bearer_token(name, value) if name == "authorization" else value.strip()
    return key if key is not None and KEY_SHAPE.match(key) else None


def _exact_bearer(value: str) -> str | None:
    return value if value.startswith("Bearer ") else None  # "bearer <key>" is not recognised: as if no key was sent


FAULTS: tuple[Fault, ...] = (
    fault("x-api-key-not-read", ["auth.x_api_key_accepted"],
          "https://github.com/ollama/ollama/blob/main/docs/api/anthropic-compatibility.mdx (ollama.com requires Authorization: Bearer; x-api-key alone is rejected); "
          "https://openrouter.ai/docs/guides/coding-agents/claude-code-integration (ANTHROPIC_API_KEY explicitly empty: the key goes in Authorization: Bearer)",
          "Only Authorization: Bearer is read; a key sent as x-api-key (SDK 1.x, or 2023-06-01 clients) is treated as no key.", _drop_header("x-api-key")),
    fault("bearer-not-read", ["auth.bearer_accepted", "auth.bearer_scheme_case_insensitive"],
          "https://docs.requesty.ai/api-reference/endpoint/messages-create ('Uses x-api-key header instead of Authorization: Bearer')",
          "Only x-api-key is read; a key sent as Authorization: Bearer (SDK 2.x, Claude Code's ANTHROPIC_AUTH_TOKEN) is treated as no key.", _drop_header("authorization")),
    fault("bearer-token-unverified", ["auth.wrong_bearer_rejected"],
          "https://github.com/zitadel/nextgen/pull/137 (a gateway that forwards a Bearer token as OAuth auth without validating the caller: an open relay); https://github.com/github/gh-aw-firewall/issues/1454",
          "x-api-key is verified, but any Authorization: Bearer token is taken for an OAuth token and served with the gateway's own key.",
          keyed=_swap_key(_bearer_token)),
    fault("key-format-only", ["auth.wrong_bearer_rejected", "auth.wrong_key_rejected"],
          "https://github.com/AndyMik90/Aperant/pull/181 (an API key 'validated' by its length and characters); https://github.com/gitleaks/gitleaks/blob/master/config/gitleaks.toml (the key shape: sk-ant-api03-, 93 characters, AA)",
          "A key is checked only for the shape of an Anthropic key, then the gateway's own key is used: any well-formed key is accepted.",
          keyed=_swap_key(_well_formed)),
    fault("aux-endpoints-unauthenticated", ["auth.count_tokens_missing_key_rejected", "auth.models_missing_key_rejected"],
          "https://github.com/github/gh-aw-firewall/issues/1454 (GET /v1/models with no x-api-key answered 200 by an Anthropic proxy)",
          "The auth middleware covers /v1/messages only: count_tokens and /v1/models answer without a key.",
          keyed=_own_key(lambda view: view.path.rstrip("/") != MESSAGES_PATH)),
    fault("bearer-scheme-case-sensitive", ["auth.bearer_scheme_case_insensitive"],
          "https://www.rfc-editor.org/rfc/rfc9110#section-11.1 (the scheme is case-insensitive); https://github.com/aws-samples/sample-kolya-br-proxy/pull/35 (Bearer auth added to a gateway's messages route by hand)",
          'Only "Authorization: Bearer " spelled exactly so is read; "bearer <key>" is treated as no key.', edit_header("authorization", _exact_bearer)),
    fault("accepts-any-key", ["auth.count_tokens_missing_key_rejected", "auth.missing_key_rejected", "auth.models_missing_key_rejected", "auth.wrong_bearer_rejected", "auth.wrong_key_rejected"],
          "https://github.com/ollama/ollama/blob/main/docs/api/anthropic-compatibility.mdx (key 'required but ignored')",
          "Missing or wrong API keys are accepted (the gateway substitutes its own upstream key).",
          keyed=_own_key(lambda _view: True)),
    fault("bearer-unsupported", ["auth.bearer_accepted", "auth.bearer_scheme_case_insensitive"], "https://docs.requesty.ai/api-reference/endpoint/messages-create (x-api-key instead of Authorization: Bearer)",
          "Only x-api-key is read; a key sent as Authorization: Bearer is treated as missing.", _drop_header("authorization", unless="x-api-key")),
    fault("x-api-key-unsupported", ["auth.x_api_key_accepted"], "https://github.com/ollama/ollama/blob/main/docs/api/anthropic-compatibility.mdx (cloud: Bearer required, x-api-key alone rejected)",
          "Only Authorization: Bearer is read; a key sent as x-api-key is treated as missing.", _drop_header("x-api-key"), api_version="2026-10-21"),
    fault("auth-failure-403", ["auth.count_tokens_missing_key_rejected", "auth.missing_key_rejected", "auth.models_missing_key_rejected", "auth.wrong_bearer_rejected", "auth.wrong_key_rejected"], f"{PEERS} #23 (wrong status mapping)",
          "A missing or invalid key is answered 403 permission_error instead of 401 authentication_error.",
          replace_error(lambda status, body: (403, {**body, "error": {**body["error"], "type": "permission_error"}}) if status == 401 else None)),
)
