"""Test hooks: answers a real API only gives under load or abuse, produced on demand.

A request carrying ``anthropic-conformance-simulate: <what>`` is answered as if that had happened:
``rate_limited`` → 429 rate_limit_error with ``retry-after`` and ``anthropic-ratelimit-*`` headers,
``overloaded`` → 529 overloaded_error, ``too_large`` → 413 request_too_large (all as JSON, also to a
stream request), ``midstream_error`` → a stream cut after its first content block started by an
``error`` event, then the end (DOC-STR; captures fragments f1/f2), ``pause_turn`` → a turn that calls a
server tool paused right after the call, before its result (stop_reason pause_turn, capture 24: what the
API does to a long-running server-tool turn). A non-stream request ignores ``midstream_error``. Owns the header, its values and the bytes of those answers; knows nothing about
routing (app.py decides when to ask) or about faults.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import Enum

from conformance._types import RawHeaders
from conformance.reference.api_error import ApiError, ErrorType, invalid
from conformance.reference.responses import Event

HEADER = "anthropic-conformance-simulate"
RETRY_AFTER_S = 1


class Simulation(Enum):
    """What a request may ask the server to pretend happened."""

    RATE_LIMITED = "rate_limited"
    OVERLOADED = "overloaded"
    TOO_LARGE = "too_large"
    MIDSTREAM_ERROR = "midstream_error"
    PAUSE_TURN = "pause_turn"


# Texts as first-party answers show them (captures 58, 59; DOC-ERR for the 413).
_REFUSALS: dict[Simulation, ApiError] = {
    Simulation.RATE_LIMITED: ApiError(ErrorType.RATE_LIMIT, "This request would exceed your account's rate limit. Please try again later."),
    Simulation.OVERLOADED: ApiError(ErrorType.OVERLOADED, "Overloaded"),
    Simulation.TOO_LARGE: ApiError(ErrorType.REQUEST_TOO_LARGE, "Request exceeds the maximum allowed number of bytes."),
}


def requested(headers: RawHeaders) -> Simulation | ApiError | None:
    """The simulation the request asks for, None without the header, or a 400 for an unknown value."""
    value = next((v for k, v in headers if k == HEADER), None)
    if value is None:
        return None
    try:
        return Simulation(value.strip())
    except ValueError:
        known = ", ".join(s.value for s in Simulation)
        return invalid(f"{HEADER}: unknown value {value.strip()!r} (known: {known})")


def refusal(simulation: Simulation, *, now: datetime | None = None) -> tuple[ApiError, dict[str, str]] | None:
    """The error and extra headers a refusing simulation answers with; None for ``midstream_error``."""
    error = _REFUSALS.get(simulation)
    if error is None:
        return None
    extra = {"x-should-retry": "true"} if simulation is not Simulation.TOO_LARGE else {}
    if simulation is Simulation.RATE_LIMITED:
        extra |= rate_limit_headers(now or datetime.now(UTC))
    return error, extra


def rate_limit_headers(now: datetime) -> dict[str, str]:
    """``retry-after`` plus the documented ``anthropic-ratelimit-*`` families, requests exhausted (DOC-RL)."""
    reset = (now + timedelta(seconds=RETRY_AFTER_S)).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = {"retry-after": str(RETRY_AFTER_S)}
    for family, limit, remaining in (("requests", 50, 0), ("tokens", 50000, 49000), ("input-tokens", 40000, 40000), ("output-tokens", 10000, 9000)):
        headers |= {
            f"anthropic-ratelimit-{family}-limit": str(limit),
            f"anthropic-ratelimit-{family}-remaining": str(remaining),
            f"anthropic-ratelimit-{family}-reset": reset,
        }
    return headers


def break_off(events: list[Event]) -> list[Event]:
    """The stream up to the first delta of its first block, then an overloaded error event (f2's payload)."""
    kept: list[Event] = []
    for event in events:
        if event.name in ("content_block_stop", "message_delta", "message_stop"):
            break  # an empty block: break off before it closes
        kept.append(event)
        if event.name == "content_block_delta":
            break
    error = {"type": "error", "error": {"details": None, "type": ErrorType.OVERLOADED.value, "message": "Overloaded"}}
    return [*kept, Event("error", error)]
