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


def test_the_estimate_counts_requests_and_bounds_tokens_by_max_tokens() -> None:
    requests = plan()
    estimate = budget.estimate(requests.values())
    assert estimate.requests == len(requests)
    assert estimate.upper_tokens >= sum(r.json_body().get("max_tokens", 0) for r in requests.values() if isinstance(r.json_body(), dict) and isinstance(r.json_body().get("max_tokens"), int))
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
