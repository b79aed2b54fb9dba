"""Faults in how gateways honour the anthropic-version a client sends: one version's rules applied to the other's requests.

A run judges the version-dependent rules under both live versions (conformance/versions.py), so
each fault here breaks the cases of one version and leaves the other's passing: the fault matrix
sees a check fail under the version the gateway mishandles, and pass under the one it serves right.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from conformance.reference.fault import Fault
from conformance.reference.fault import plain_fault as _fault
from conformance.reference.rewrite import RequestView, Wrapper, rewrite_request

MIGRATION = "https://platform.claude.com/docs/en/api/migration-2026-10-21"


def _served_as(old: str, new: str) -> Wrapper:
    """Requests that name anthropic-version ``old`` reach the API as ``new`` (every other value passes unchanged)."""

    def swap(value: str) -> str:
        return new if value.strip() == old else value

    return _version_header(swap)


def _version_header(fn: Callable[[str], str]) -> Wrapper:
    def rewrite(view: RequestView) -> RequestView:
        return replace(view, headers=tuple((k, fn(v) if k == "anthropic-version" else v) for k, v in view.headers))

    return rewrite_request(rewrite)


FAULTS: tuple[Fault, ...] = (
    _fault("version-2026-served-as-2023", ["content.document_in_assistant_rejected", "content.user_citations_rejected", "params.removed_rejected"],
           f"{MIGRATION}; contract §8 (some gateways accept everything 2026-10-21 would reject: Synthorai test, 32/32 answered 200 [U]); "
           "https://github.com/ollama/ollama/blob/main/docs/api/anthropic-compatibility.mdx (anthropic-version accepted but unused)",
           "anthropic-version 2026-10-21 is accepted but served with 2023-06-01's rules: temperature, documents in assistant turns and citations in user turns go through.",
           _served_as("2026-10-21", "2023-06-01")),
    _fault("version-2023-served-as-2026", ["params.valid_value_accepted"],
           "https://code.claude.com/docs/en/llm-gateway-protocol (anthropic-version must be forwarded unchanged); "
           "https://github.com/anthropics/anthropic-sdk-python/blob/main/src/anthropic/_constants.py (SDK >= 2.0 sends its own ANTHROPIC_API_VERSION 2026-10-21: a gateway that re-issues requests through it does)",
           "Every request goes upstream as anthropic-version 2026-10-21, whatever the client sent: SDK 1.x clients on 2023-06-01 get their temperature refused.",
           _served_as("2023-06-01", "2026-10-21")),
)
