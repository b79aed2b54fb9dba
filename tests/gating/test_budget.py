"""Planned cost and the limits that refuse to start a run."""

from __future__ import annotations

import pytest

from conformance import budget
from conformance.contract.loader import load_contract
from conformance.scenarios import build_cases, plan_requests


def plan():
    contract = load_contract()
    cases = build_cases(contract, "claude-haiku-4-5")
    return plan_requests(contract, cases, model="claude-haiku-4-5")


def _max_tokens(request) -> int:
    body = request.json_body()
    value = body.get("max_tokens") if isinstance(body, dict) else None
    return value if isinstance(value, int) and value > 0 else 0


def test_the_estimate_counts_requests_and_bounds_tokens_by_max_tokens() -> None:
    requests = plan()
    estimate = budget.estimate(requests.values())
    assert estimate.requests == len(requests)
    answers = [r for r in requests.values() if not r.start_only]
    probes = [r for r in requests.values() if r.start_only]
    assert {r.scenario for r in probes} == {"param.max_tokens.at_max", "param.max_tokens.above_max", "param.max_tokens.missing"}
    # every answer may run to its max_tokens; a probe of acceptance is closed after message_start, so it costs the plain answer at most
    assert estimate.upper_tokens >= sum(_max_tokens(r) for r in answers) + budget.PROBE_OUTPUT * len(probes)
    outputs = sum(budget.request_tokens(r)[1] for r in requests.values())
    assert outputs <= sum(_max_tokens(r) for r in answers) + budget.PROBE_OUTPUT * len(probes)  # no probe counts its 64,000 any more
    assert estimate.likely_tokens < estimate.upper_tokens


def test_limits_refuse_to_start() -> None:
    estimate = budget.Estimate(requests=50, upper_tokens=200_000, likely_tokens=3_000, retry_requests=4)
    with pytest.raises(budget.BudgetExceeded, match="up to 54 requests, more than --max-requests 53"):
        budget.enforce(estimate, max_requests=53, max_tokens_total=None)
    with pytest.raises(budget.BudgetExceeded, match=r"up to 200,000 tokens .* more than --max-tokens-total 1,000"):
        budget.enforce(estimate, max_requests=None, max_tokens_total=1_000)
    budget.enforce(estimate, max_requests=54, max_tokens_total=200_000)


def test_cost_uses_the_profile_prices() -> None:
    prices = load_contract().profile.prices
    assert budget.cost(prices, "claude-haiku-4-5", 1_000_000, 100_000) == pytest.approx(1.5)
    assert budget.cost(prices, "anthropic/claude-haiku-4-5", 1_000_000, 0) == pytest.approx(1.0)
    assert budget.cost(prices, "mystery-model", 10, 10) is None


def test_the_plan_prices_the_prompt_caching_probes_apart() -> None:
    """Issue 13: a cache write costs more than plain input, so the plan says what the full tier's caching probes send."""
    requests = plan()
    probes = [r for r in requests.values() if budget.PROMPT_CACHE_TAG in r.tags]
    assert sorted(r.scenario for r in probes) == ["caching.prefix", "caching.repeat"]
    estimate = budget.estimate(requests.values())
    assert estimate.cache_requests == 2
    assert estimate.cache_tokens >= 2 * 4096  # Haiku 4.5's minimum cacheable prefix, twice
    line = estimate.describe()
    assert f"of them 2 prompt-caching requests (tier full) send about {estimate.cache_tokens:,} input tokens" in line
    assert "1.25x the input price for 5 minutes, 2x for 1 hour) and read back (0.1x)" in line
    without = budget.estimate(r for r in requests.values() if budget.PROMPT_CACHE_TAG not in r.tags)
    assert "prompt-caching" not in without.describe()


def test_server_tools_add_what_their_results_can_cost() -> None:
    request = plan()["server_tools.web_search"]
    body = request.json_body()
    without = budget.estimate([request]).upper_tokens - budget._server_tool_tokens(body)
    assert budget._server_tool_tokens(body) == budget.SERVER_TOOL_PROMPT + budget.SERVER_TOOL_TOKENS["web_search_"]  # max_uses 1
    assert budget.estimate([request]).upper_tokens == without + 18_000
    assert budget._server_tool_tokens(body, likely=True) == budget.SERVER_TOOL_PROMPT + budget.SERVER_TOOL_LIKELY["web_search_"]
    fetch = plan()["server_tools.web_fetch"].json_body()
    assert budget._server_tool_tokens(fetch) == budget.SERVER_TOOL_PROMPT + 1024 + budget.SERVER_TOOL_PROMPT  # max_content_tokens bounds the page
    assert budget._server_tool_tokens({"tools": [{"name": "get_weather", "input_schema": {"type": "object"}}]}) == 0
