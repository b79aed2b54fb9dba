"""What a run will cost before it starts, and the limits that refuse to start an expensive one.

Live requests cost users money. The estimate is made from the planned requests alone: the
upper bound counts every request's full ``max_tokens`` (what a target that ignored every stop
could bill), the likely figure what the suite's short prompts normally produce. Prices, when a
profile states them per model, turn tokens into an estimated cost.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError
from .scenarios import Request

CHARS_PER_TOKEN = 3  # conservative (Anthropic's tokenizers average ~3.5 characters per token)
IMAGE_TOKENS = 1600  # the most one image can cost (vision docs: about (w×h)/750, capped by resizing)
DOCUMENT_TOKENS = 3000  # a one-page PDF: its text plus the page as an image
LIKELY_OUTPUT = 64  # the suite's prompts ask for a few words


class BudgetExceeded(ConfigError):
    """The planned run would exceed a limit the user set; nothing was sent."""


@dataclass(frozen=True, slots=True)
class Estimate:
    """The planned cost of a run."""

    requests: int
    upper_tokens: int
    likely_tokens: int
    retry_requests: int = 0

    def describe(self) -> str:
        """One line for the terminal."""
        extra = f" (+ up to {self.retry_requests} behaviour retries)" if self.retry_requests else ""
        return f"planned: {self.requests} requests{extra}, at most {self.upper_tokens:,} tokens (likely about {self.likely_tokens:,})"


def _input_tokens(body: Any) -> int:
    if not isinstance(body, dict):
        return 0
    images = documents = 0

    def walk(node: Any) -> None:
        nonlocal images, documents
        if isinstance(node, dict):
            kind = node.get("type")
            if kind == "image":
                images += 1
                return
            if kind == "document":
                documents += 1
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(body.get("messages"))
    stripped = {k: v for k, v in body.items() if k not in ("max_tokens", "stream", "model")}
    text = json.dumps(stripped, ensure_ascii=False)
    return math.ceil(len(text) / CHARS_PER_TOKEN) + images * IMAGE_TOKENS + documents * DOCUMENT_TOKENS


def estimate(requests: Iterable[Request], *, behaviour_scenarios: Iterable[Request] = (), behaviour_retries: int = 0) -> Estimate:
    """The planned requests and token bounds of a run (behaviour retries counted as possible extras)."""
    upper = likely = count = 0
    for request in requests:
        count += 1
        body = request.json_body()
        tokens_in = _input_tokens(body) if body is not None else math.ceil(len(request.body) / CHARS_PER_TOKEN)
        limit = body.get("max_tokens") if isinstance(body, dict) else None
        out = limit if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 else 0
        upper += tokens_in + out
        likely += tokens_in + min(out, LIKELY_OUTPUT)
    retry = list(behaviour_scenarios)
    extra = 0
    for request in retry:
        body = request.json_body()
        limit = body.get("max_tokens") if isinstance(body, dict) else 0
        extra += behaviour_retries * (_input_tokens(body) + (limit if isinstance(limit, int) else 0))
    return Estimate(requests=count, upper_tokens=upper + extra, likely_tokens=likely, retry_requests=behaviour_retries * len(retry))


def enforce(plan: Estimate, *, max_requests: int | None, max_tokens_total: int | None) -> None:
    """Refuse to start when the plan exceeds a limit."""
    worst_requests = plan.requests + plan.retry_requests
    if max_requests is not None and worst_requests > max_requests:
        raise BudgetExceeded(f"the run needs up to {worst_requests} requests, more than --max-requests {max_requests}; narrow it with --tier, -k or -m")
    if max_tokens_total is not None and plan.upper_tokens > max_tokens_total:
        raise BudgetExceeded(
            f"the run could use up to {plan.upper_tokens:,} tokens (likely about {plan.likely_tokens:,}), more than --max-tokens-total {max_tokens_total:,}; "
            "narrow it with --tier, -k or -m, or raise the limit"
        )


def cost(prices: Mapping[str, Any], model: str, input_tokens: int, output_tokens: int) -> float | None:
    """Estimated cost in USD from a profile's per-model prices (per million tokens), or None if unknown."""
    entry = prices.get(model) or prices.get(model.rsplit("/", 1)[-1])
    if not isinstance(entry, dict):
        return None
    try:
        return round(input_tokens * float(entry["input_per_mtok"]) / 1e6 + output_tokens * float(entry["output_per_mtok"]) / 1e6, 6)
    except (KeyError, TypeError, ValueError):
        return None
