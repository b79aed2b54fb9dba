"""conformance/cacheable.py and its use by the planner: a prefix cacheable for the model, new in every run."""

from __future__ import annotations

import json

import pytest

from conformance import cacheable
from conformance.contract.loader import load_contract
from conformance.scenarios import build_cases, build_request, scenario_specs
from conformance.shares import plan_shares
from conformance.versions import load_contracts, run_cases

HAIKU = "claude-haiku-4-5"


def prefix_of(model: str, nonce: str = "n0nce") -> str:
    contract = load_contract("2023-06-01", "anthropic")
    body = json.loads(build_request(contract, scenario_specs(contract, model), "caching.prefix", model=model, nonce=nonce).body)
    text = body["system"][0]["text"]
    assert isinstance(text, str)
    return text


@pytest.mark.parametrize(("model", "minimum"), [(HAIKU, 4096), ("claude-sonnet-4-5", 1024), ("claude-sonnet-4-6", 2048), ("anthropic/claude-opus-4.8", 1024), ("toy-claude", 4096)])
def test_the_prefix_has_at_least_the_model_s_minimum_in_words(model, minimum):
    text = prefix_of(model)
    words = text.split("\n", 1)[1].split()
    assert len(words) == minimum + cacheable.MARGIN  # a word after a space is at least one token: N words >= N tokens
    assert text.startswith("Reference material n0nce for a prompt caching probe")


def test_the_placeholder_is_expanded_only_where_it_stands():
    assert cacheable.expand({"a": ["{cacheable_prefix}", "x {cacheable_prefix}"]}, "P") == {"a": ["P", "x {cacheable_prefix}"]}
    assert cacheable.mentions({"a": [{"b": "{cacheable_prefix}"}]})
    assert not cacheable.mentions({"a": "plain"})
    assert "{cacheable_prefix}" not in prefix_of(HAIKU)


def _plan(nonce: str | None = None) -> dict[str, bytes]:
    contracts = load_contracts("2023-06-01", "anthropic")
    cases = [c for c in run_cases(contracts, HAIKU) if c.check_id.startswith("caching.")]
    _, requests = plan_shares(contracts, cases, model=HAIKU, nonce=nonce)
    return {sid: r.body for sid, r in requests.items()}


def test_each_plan_draws_its_own_nonce_and_both_versions_share_it():
    one, two = _plan(), _plan()
    assert one["caching.prefix"] != two["caching.prefix"]  # every run writes a prefix no earlier run cached
    assert not any("@" in sid for sid in one)  # version-independent: sent once, under the primary version
    assert _plan("fixed") == _plan("fixed")


def test_the_repeat_continues_the_prefix_it_reads():
    contract = load_contract("2023-06-01", "anthropic")
    specs = scenario_specs(contract, HAIKU)
    first = json.loads(build_request(contract, specs, "caching.prefix", model=HAIKU, nonce="x").body)
    repeat = build_request(contract, specs, "caching.repeat", model=HAIKU, nonce="x")
    assert (repeat.follows, repeat.stream) == ("caching.prefix", True)
    assert json.loads(repeat.body)["system"] == first["system"]
    assert "caching.prefix_cached" in {c.check_id for c in build_cases(contract, HAIKU)}
