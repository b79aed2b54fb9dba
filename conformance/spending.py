"""What a run cost: requests on the wire, and the tokens the target reported, in all and by tier.

Apart from the engine because three ways of running count the same way: a live run, a replay of a
cassette and the proxy's traffic (traffic.py) each build a ``Spend`` from their exchanges.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .contract.model import Tier
from .exchange import Exchange
from .judge import Judge
from .preflight import PREFLIGHT
from .shares import Share


@dataclass
class Spend:
    """What a run cost: requests on the wire (retries included) and tokens the target reported."""

    requests: int = 0
    retries: int = 0
    reopened: int = 0  # requests resent on a new connection after the target closed a kept-alive one under them
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    by_tier: dict[str, dict[str, int]] = field(default_factory=dict)
    planned_tokens: int | None = None  # the plan's upper bound, printed before the run, beside what was spent
    worst_seconds: float | None = None  # the plan's worst-case wall time (the run's clock)
    trips: tuple[str, ...] = ()  # what tripped the breaker: "stalled on plain.stream (...)"

    @property
    def tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


def spend_by_tier(reader: Judge, shares: Sequence[Share], exchanges: Mapping[str, Exchange]) -> dict[str, dict[str, int]]:
    """What each tier of this run cost: the requests its cases needed (with the preflight and the twins they compare with) and their tokens."""
    out: dict[str, dict[str, int]] = {}
    for tier in Tier:
        needed = {PREFLIGHT}
        for share in shares:
            for case in share.cases:
                if case.rule.tier.rank > tier.rank or case.skip:
                    continue
                for sid in case.scenarios:
                    needed.add(share.exchange_id(sid))
                    twin = share.requests[sid].twin if sid in share.requests else None
                    if twin:
                        needed.add(share.exchange_id(twin))
        chosen = {wid: exchanges[wid] for wid in needed if wid in exchanges}
        tokens_in, tokens_out = spend_of(reader, chosen)
        out[tier.value] = {"requests": len(chosen), "input_tokens": tokens_in, "output_tokens": tokens_out}
    return out


def spend_of(judge: Judge, exchanges: Mapping[str, Exchange]) -> tuple[int, int]:
    """Input and output tokens the target reported across the run."""
    total_in = total_out = 0
    for exchange in exchanges.values():
        if exchange.ok:
            tokens_in, tokens_out = tokens_of(judge, exchange)
            total_in, total_out = total_in + tokens_in, total_out + tokens_out
    return total_in, total_out


def tokens_of(judge: Judge, exchange: Exchange) -> tuple[int, int]:
    """Input (cache writes and reads included) and output tokens one answer reports; a field that is not a count adds nothing."""
    reading = judge.reading(exchange)
    message = reading.message if reading is not None else exchange.json
    usage = message.get("usage") if isinstance(message, dict) else None
    if not isinstance(usage, dict):
        return 0, 0
    counts = [usage.get(key) for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")]
    counted = [value if isinstance(value, int) and not isinstance(value, bool) else 0 for value in counts]
    return sum(counted[:3]), counted[3]
