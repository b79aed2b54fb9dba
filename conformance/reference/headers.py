"""Request-header rules: authentication, `anthropic-version` and `anthropic-beta`.

Owns which credentials, versions and beta names are accepted and the exact rejection texts
(contract §1.1). Knows nothing about bodies, models or routing.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from enum import Enum

from conformance._types import RawHeaders
from conformance.reference.api_error import ApiError, ErrorType, invalid


class ApiVersion(Enum):
    """The `anthropic-version` values the API answers to (https://platform.claude.com/docs/en/api/versioning)."""

    V2023_01_01 = "2023-01-01"
    V2023_06_01 = "2023-06-01"
    V2026_10_21 = "2026-10-21"

    @property
    def removes_sampling(self) -> bool:
        """2026-10-21 dropped temperature/top_p/top_k (https://platform.claude.com/docs/en/api/migration-2026-10-21)."""
        return self is ApiVersion.V2026_10_21


# Union of the brief's list and SDK 2.12 `anthropic/types/anthropic_beta_param.py` (names only).
KNOWN_BETAS: frozenset[str] = frozenset(
    {
        "advanced-tool-use-2025-11-20",
        "advisor-tool-2026-03-01",
        "claude-code-20250219",
        "code-execution-2025-05-22",
        "code-execution-2025-08-25",
        "compact-2026-01-12",
        "compact-2026-09-04",
        "computer-use-2024-10-22",
        "computer-use-2025-01-24",
        "computer-use-2025-11-24",
        "context-1m-2025-08-07",
        "context-management-2025-06-27",
        "dev-full-thinking-2025-05-14",
        "effort-2025-11-24",
        "extended-cache-ttl-2025-04-11",
        "fast-mode-2026-02-01",
        "files-api-2025-04-14",
        "fine-grained-tool-streaming-2025-05-14",
        "inline-tools-2026-09-15",
        "interleaved-thinking-2025-05-14",
        "mcp-client-2025-04-04",
        "mcp-client-2025-11-20",
        "mcp-client-2026-09-15",
        "message-batches-2024-09-24",
        "mid-conversation-output-config-2026-07-01",
        "mid-conversation-system-clear-at-2026-08-21",
        "mid-conversation-tool-changes-2026-07-01",
        "model-context-window-exceeded-2025-08-26",
        "oauth-2025-04-20",
        "output-128k-2025-02-19",
        "output-300k-2026-03-24",
        "pdfs-2024-09-25",
        "prompt-caching-2024-07-31",
        "prompt-caching-scope-2026-01-05",
        "redact-thinking-2026-02-12",
        "server-side-fallback-2026-06-01",
        "server-side-fallback-2026-07-01",
        "skills-2025-10-02",
        "structured-outputs-2025-11-13",
        "task-budgets-2026-03-13",
        "thinking-display-updates-2026-08-18",
        "thinking-token-count-2026-05-13",
        "token-counting-2024-11-01",
        "token-efficient-tools-2025-02-19",
        "web-fetch-2025-09-10",
    }
)


@dataclass(frozen=True, slots=True)
class Negotiated:
    """What the headers asked for, once they passed."""

    version: ApiVersion
    betas: tuple[str, ...]


def _values(headers: RawHeaders, name: str) -> list[str]:
    return [value for key, value in headers if key == name]


def _presented_key(headers: RawHeaders) -> str | None:
    api_keys = [v.strip() for v in _values(headers, "x-api-key") if v.strip()]
    if api_keys:
        return ", ".join(api_keys)
    for value in _values(headers, "authorization"):
        scheme, _, token = value.strip().partition(" ")
        return token.strip() if scheme.lower() == "bearer" else value
    return None


def check_auth(headers: RawHeaders, *, api_key: str) -> ApiError | None:
    """Accept `x-api-key` or `Authorization: Bearer`; x-api-key wins when both are sent."""
    presented = _presented_key(headers)
    if presented is None:
        return ApiError(ErrorType.AUTHENTICATION, "x-api-key header is required")
    if not hmac.compare_digest(presented.encode(), api_key.encode()):
        return ApiError(ErrorType.AUTHENTICATION, "invalid x-api-key")
    return None


def _version(headers: RawHeaders) -> ApiError | ApiVersion:
    values = [v.strip() for v in _values(headers, "anthropic-version")]
    if not values or values == [""]:
        return invalid("anthropic-version: header is required")
    joined = ", ".join(values)
    try:
        return ApiVersion(joined)
    except ValueError:
        return invalid(f'anthropic-version: "{joined}" is not a valid version')


def _betas(headers: RawHeaders) -> ApiError | tuple[str, ...]:
    names = [name.strip() for value in _values(headers, "anthropic-beta") for name in value.split(",")]
    unknown = [name for name in names if name not in KNOWN_BETAS]
    if unknown:
        listed = ", ".join(f"`{name}`" for name in unknown)
        return invalid(
            f"Unexpected value(s) {listed} for the `anthropic-beta` header. Please consult our "
            "documentation at docs.claude.com or try again without the header."
        )
    return tuple(names)


def negotiate(headers: RawHeaders) -> ApiError | Negotiated:
    """Check `anthropic-version` then `anthropic-beta`, in the order the API reports them."""
    version = _version(headers)
    if isinstance(version, ApiError):
        return version
    betas = _betas(headers)
    if isinstance(betas, ApiError):
        return betas
    return Negotiated(version, betas)
