"""What a request's own ``max_tokens`` allows its answer: how many stream events, and how many seconds.

A request says how much it wants: ``max_tokens`` is "the absolute maximum number of tokens to
generate" (OAS25). So a 32-token answer has no business sending 10,000 events or taking three
minutes, and both limits here follow from it, with generous room. Pure arithmetic over a request
body: the transport uses it to stop reading and to set deadlines, the stream check to judge.

Events: in the 30 first-party stream captures (``/work/shared/captures``, tests/fixtures/captures)
a stream never has more than ``output_tokens + 6`` events (02: 15 one-token deltas and 6 others;
server tools, thinking and a 25-block pause_turn all stay under it). The allowance is four events
per token (a gateway that re-chunks text into characters sends about four per token) plus 64 (ten
times the largest excess seen: many blocks, citations, signatures). Pings are not counted: they
carry nothing, are allowed anywhere, and a stream of pings only is bounded by time instead.

Seconds: an answer of ``max_tokens`` tokens takes at most the idle timeout before its first byte
plus ``SECONDS_PER_TOKEN`` per token (4 tokens/s, slower than a small model on a laptop CPU).
"""

from __future__ import annotations

from collections.abc import Mapping

from ._types import JSON

EVENTS_PER_TOKEN = 4
EVENTS_FIXED = 64  # ten times the largest excess of events over output_tokens in the captures (6)
SECONDS_PER_TOKEN = 0.25


def max_tokens(body: JSON) -> int | None:
    """The request's max_tokens when it is a positive integer, else None (absent, malformed: nothing to derive from)."""
    value = body.get("max_tokens") if isinstance(body, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def events(limit: int) -> int:
    """How many events (pings aside) a stream of a request with ``max_tokens = limit`` may send."""
    return EVENTS_PER_TOKEN * limit + EVENTS_FIXED


def describe(limit: int) -> str:
    """The allowance in words, for a Received/Expected line."""
    return f"at most {events(limit):,} events (pings aside) for max_tokens {limit:,}: {EVENTS_PER_TOKEN} per token plus {EVENTS_FIXED}"


def seconds(limit: int | None, *, idle: float, total: float) -> float:
    """How long an answer of ``limit`` tokens may take: the idle timeout plus the generation at the slowest rate, at most ``total``."""
    return min(total, idle + (limit or 0) * SECONDS_PER_TOKEN)


def is_ping(name: str | None, data: JSON) -> bool:
    """A keep-alive event: named ping, or carrying ``{"type": "ping"}``."""
    return name == "ping" or (isinstance(data, Mapping) and data.get("type") == "ping")
