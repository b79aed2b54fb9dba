"""Faults in the ways a target lets a client in: one auth scheme only, one API version only.

A target like these is still usable, and the suite's preflight finds the way in (preflight.py): it
tries the other scheme and the other live version before it gives up, runs with the one that works,
and the refused way fails its own case (auth.x_api_key_accepted, auth.bearer_accepted,
headers.known_versions_accepted). Each fault names the provider documentation it reproduces.
"""

from __future__ import annotations

from dataclasses import replace

from conformance.reference.fault import Fault
from conformance.reference.fault import plain_fault as _fault
from conformance.reference.rewrite import RequestView, Wrapper, refuse_request, rewrite_request

REFUSED_VERSION = "2026-10-21"


def _drop(header: str) -> Wrapper:
    """The gateway never reads ``header``: to the app a key sent there is no key at all."""

    def rewrite(view: RequestView) -> RequestView:
        return replace(view, headers=tuple((k, v) for k, v in view.headers if k != header))

    return rewrite_request(rewrite)


def _pinned_version(view: RequestView) -> tuple[int, str, str] | None:
    """A version list that predates 2026-10-21: the newer version is refused as Anthropic refuses an unknown one."""
    for name, value in view.headers:
        if name == "anthropic-version" and value.strip() == REFUSED_VERSION:
            return 400, "invalid_request_error", f'anthropic-version: "{value.strip()}" is not a valid version'
    return None


FAULTS: tuple[Fault, ...] = (
    _fault("x-api-key-not-read", ["auth.x_api_key_accepted"],
           "https://github.com/ollama/ollama/blob/main/docs/api/anthropic-compatibility.mdx (ollama.com requires Authorization: Bearer; x-api-key alone is rejected); "
           "https://openrouter.ai/docs/guides/coding-agents/claude-code-integration (ANTHROPIC_API_KEY explicitly empty: the key goes in Authorization: Bearer)",
           "Only Authorization: Bearer is read; a key sent as x-api-key (SDK 1.x, or 2023-06-01 clients) is treated as no key.", _drop("x-api-key")),
    _fault("bearer-not-read", ["auth.bearer_accepted", "auth.bearer_scheme_case_insensitive"],
           "https://docs.requesty.ai/api-reference/endpoint/messages-create ('Uses x-api-key header instead of Authorization: Bearer')",
           "Only x-api-key is read; a key sent as Authorization: Bearer (SDK 2.x, Claude Code's ANTHROPIC_AUTH_TOKEN) is treated as no key.", _drop("authorization")),
    _fault("version-2026-10-21-refused", ["headers.known_versions_accepted"],
           "https://platform.claude.com/docs/en/api/migration-2026-10-21 (SDK 2.x sends 2026-10-21); anthropic-contract.md §9 (flag gateways that reject 2026-10-21)",
           f'anthropic-version is checked against a list that predates {REFUSED_VERSION}: it is refused with 400 "is not a valid version".', refuse_request(_pinned_version)),
)
