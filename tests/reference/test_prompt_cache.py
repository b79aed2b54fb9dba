"""The reference server's prompt cache, effort and context editing (issue 13): the faithful behaviour the checks expect.

The toy cache as a value (a fake clock drives the TTLs), then the live server: a write then a read by prefix,
the TTL breakdown, the minimum per model, streamed usage agreeing; effort refused as the API refuses it;
context_management gated by its beta and reported where the SDKs read it.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx
import pytest

from conformance.reference import context_edits, effort, prompt_cache
from conformance.reference.models import lookup

HAIKU = lookup("claude-haiku-4-5")
SONNET_45 = lookup("claude-sonnet-4-5")
assert HAIKU is not None
assert SONNET_45 is not None
CONTEXT_BETA = "context-management-2025-06-27"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def words(count: int, nonce: str = "") -> str:
    return (nonce + " " if nonce else "") + " ".join(["alpha"] * count)


def marks(prefix_words: int, *, ttl1: str | None = "1h", ttl2: str | None = None, nonce: str = "", model: str = "claude-haiku-4-5") -> list[prompt_cache.Breakpoint]:
    first: dict[str, Any] = {"type": "text", "text": words(prefix_words, nonce)}
    if ttl1 is not None:
        first["cache_control"] = {"type": "ephemeral", "ttl": ttl1}
    second: dict[str, Any] = {"type": "text", "text": "Answer briefly."}
    if ttl2 is not None:
        second["cache_control"] = {"type": "ephemeral", "ttl": ttl2}
    return prompt_cache.breakpoints(model, system=[first, second], tools=(), messages=[{"role": "user", "content": "hi"}])


# ------------------------------------------------------------------------------ the cache as a value


def test_a_prefix_is_written_once_then_read_in_the_bucket_of_its_ttl():
    cache = prompt_cache.PromptCache(clock=Clock())
    written = cache.use(HAIKU, marks(4200, ttl2="5m"))
    assert (written.read, written.written_1h, written.written_5m) == (0, 4200, 2)
    again = cache.use(HAIKU, marks(4200, ttl2="5m"))
    assert (again.read, again.written) == (4202, 0)
    assert again.usage(4210) == {
        "input_tokens": 8, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 4202,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
    }


def test_a_prefix_under_the_model_minimum_is_not_cached():
    cache = prompt_cache.PromptCache(clock=Clock())
    assert cache.use(HAIKU, marks(2000)) == prompt_cache.NO_CACHE  # Haiku 4.5: 4096
    assert cache.use(SONNET_45, marks(2000, model="claude-sonnet-4-5")).written_1h == 2000  # Sonnet 4.5: 1024


def test_a_short_breakpoint_s_tokens_count_with_the_next_cacheable_one():
    cache = prompt_cache.PromptCache(clock=Clock())
    # the 1h breakpoint ends at 2000 tokens (below 4096); the 5m one after 6000 more words is cacheable and takes them all
    first = {"type": "text", "text": words(2000), "cache_control": {"type": "ephemeral", "ttl": "1h"}}
    second = {"type": "text", "text": words(6000), "cache_control": {"type": "ephemeral"}}
    use = cache.use(HAIKU, prompt_cache.breakpoints("claude-haiku-4-5", system=[first, second], tools=(), messages=[]))
    assert (use.written_1h, use.written_5m) == (0, 8000)


def test_entries_expire_their_ttl_after_the_last_use():
    clock = Clock()
    cache = prompt_cache.PromptCache(clock=clock)
    cache.use(HAIKU, marks(4200, ttl1=None, ttl2="5m"))  # one 5m breakpoint at the end of the system prompt
    clock.now += 299
    assert cache.use(HAIKU, marks(4200, ttl1=None, ttl2="5m")).read == 4202  # a read refreshes the entry
    clock.now += 299
    assert cache.use(HAIKU, marks(4200, ttl1=None, ttl2="5m")).read == 4202
    clock.now += 301
    assert cache.use(HAIKU, marks(4200, ttl1=None, ttl2="5m")).read == 0
    cache.use(HAIKU, marks(4200, ttl1="1h", nonce="n1"))
    clock.now += 3599
    assert cache.use(HAIKU, marks(4200, ttl1="1h", nonce="n1")).read == 4201


def test_the_marker_is_not_part_of_the_prefix_and_the_model_is():
    a = marks(4200, ttl1="1h")
    b = marks(4200, ttl1="5m")
    assert a[0].key == b[0].key
    assert marks(4200, model="claude-sonnet-4-5")[0].key != a[0].key


def test_the_cache_stays_bounded():
    cache = prompt_cache.PromptCache(clock=Clock(), capacity=2)
    for nonce in ("a", "b", "c"):
        cache.use(HAIKU, marks(4200, nonce=nonce))
    assert cache.use(HAIKU, marks(4200, nonce="a")).read == 0
    assert cache.use(HAIKU, marks(4200, nonce="c")).read == 4201


def test_a_top_level_cache_control_marks_the_last_block():
    found = prompt_cache.breakpoints("m", system="s", tools=(), messages=[{"role": "user", "content": "hi there"}], top_level={"type": "ephemeral"})
    assert [(m.end, m.ttl) for m in found] == [(3, "5m")]


@pytest.mark.parametrize(
    ("system", "top", "problem"),
    [
        ([{"type": "text", "text": "a", "cache_control": {"type": "ephemeral", "ttl": "2h"}}], None, "cache_control.ephemeral.ttl: Input should be '5m' or '1h'"),
        ([{"type": "text", "text": "a", "cache_control": {"type": "persistent"}}], None, "cache_control.type: Input should be 'ephemeral'"),
        ([{"type": "text", "text": str(i), "cache_control": {"type": "ephemeral"}} for i in range(4)], {"type": "ephemeral"},
         "A maximum of 4 blocks with cache_control may be provided. Found 5."),
    ],
)
def test_markers_the_api_refuses(system, top, problem):
    assert prompt_cache.problem(system=system, tools=(), messages=[], top_level=top) == problem


# ------------------------------------------------------------------------------ effort and context edits as values


@pytest.mark.parametrize(
    ("model", "level", "problem"),
    [
        ("claude-haiku-4-5", "low", "This model does not support the effort parameter."),
        ("claude-opus-4-6", "xhigh", "This model does not support effort level 'xhigh'. Supported levels: high, low, max, medium."),  # capture 56
        ("claude-opus-4-6", "max", None),
        ("claude-opus-4-7", "xhigh", None),
        ("claude-opus-4-7", "extreme", "output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'"),
    ],
)
def test_effort_per_model(model, level, problem):
    facts = lookup(model)
    assert facts is not None
    assert effort.problem({"effort": level}, facts) == problem


def tool_history(rounds: int) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = [{"role": "user", "content": "weather?"}]
    for n in range(rounds):
        turns += [
            {"role": "assistant", "content": [{"type": "tool_use", "id": f"toolu_{n}", "name": "get_weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"toolu_{n}", "content": "18 degrees and sunny in Paris today"}]},
        ]
    return turns


def clear(**edit: Any) -> dict[str, Any]:
    return {"edits": [{"type": "clear_tool_uses_20250919", **edit}]}


def test_clear_tool_uses_keeps_the_most_recent_and_reports_what_it_cleared():
    config = clear(trigger={"type": "tool_uses", "value": 2}, keep={"type": "tool_uses", "value": 1})
    edited = context_edits.apply(config, [CONTEXT_BETA], system=None, tools=(), messages=tool_history(3))
    assert edited.applied == [{"type": "clear_tool_uses_20250919", "cleared_tool_uses": 2, "cleared_input_tokens": 12}]
    results = [b["content"] for m in edited.messages if m["role"] == "user" and isinstance(m["content"], list) for b in m["content"]]
    assert results == [context_edits.PLACEHOLDER, context_edits.PLACEHOLDER, "18 degrees and sunny in Paris today"]


@pytest.mark.parametrize(
    ("config", "rounds"),
    [
        (clear(trigger={"type": "tool_uses", "value": 3}), 3),  # not exceeded
        (clear(), 3),  # the default trigger: 100,000 input tokens
        (clear(trigger={"type": "tool_uses", "value": 1}, keep={"type": "tool_uses", "value": 1}, clear_at_least={"type": "input_tokens", "value": 500}), 3),
        (clear(trigger={"type": "tool_uses", "value": 1}, exclude_tools=["get_weather"]), 3),
    ],
)
def test_nothing_applied_reports_an_empty_list(config, rounds):
    edited = context_edits.apply(config, [CONTEXT_BETA], system=None, tools=(), messages=tool_history(rounds))
    assert edited.applied == []


def test_without_the_beta_nothing_is_reported_and_the_field_is_refused():
    assert context_edits.apply(None, [], system=None, tools=(), messages=tool_history(1)).applied is None
    assert context_edits.problem(clear(), []) == "context_management: Extra inputs are not permitted"  # claude-code#14135
    assert context_edits.problem(clear(), [CONTEXT_BETA]) is None
    assert context_edits.problem({"edits": [{"type": "clear_everything"}]}, [CONTEXT_BETA]).startswith("context_management.edits.0: Input tag 'clear_everything'")


def test_clear_thinking_keeps_the_last_turns_with_thinking():
    def turn(n: int) -> dict[str, Any]:
        return {"role": "assistant", "content": [{"type": "thinking", "thinking": "plan " * 10, "signature": "sig"}, {"type": "text", "text": f"answer {n}"}]}

    messages = [{"role": "user", "content": "a"}, turn(1), {"role": "user", "content": "b"}, turn(2), {"role": "user", "content": "c"}]
    edited = context_edits.apply({"edits": [{"type": "clear_thinking_20251015"}]}, [CONTEXT_BETA], system=None, tools=(), messages=messages)
    assert edited.applied is not None
    assert edited.applied[0]["cleared_thinking_turns"] == 1
    assert [b["type"] for b in edited.messages[1]["content"]] == ["text"]
    assert context_edits.apply({"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]}, [CONTEXT_BETA], system=None, tools=(), messages=messages).applied == []


# ------------------------------------------------------------------------------ the live server


def cached_body(nonce: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-haiku-4-5",
        "max_tokens": 8,
        "system": [
            {"type": "text", "text": words(4100, nonce), "cache_control": {"type": "ephemeral", "ttl": "1h"}},
            {"type": "text", "text": "Answer with the requested text only.", "cache_control": {"type": "ephemeral"}},
        ],
        "messages": [{"role": "user", "content": "Reply with exactly this text and nothing else: ok"}],
        **extra,
    }


def stream_usage(response: httpx.Response) -> tuple[dict[str, Any], dict[str, Any]]:
    events = [json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:")]
    opening = next(e for e in events if e["type"] == "message_start")["message"]["usage"]
    closing = next(e for e in events if e["type"] == "message_delta")
    return opening, closing


def test_the_server_writes_then_reads_and_a_stream_reports_it_at_both_ends(http, headers):
    nonce = secrets.token_hex(6)
    first = http.post("/v1/messages", headers=headers, json=cached_body(nonce)).json()["usage"]
    assert (first["cache_creation"], first["cache_read_input_tokens"]) == ({"ephemeral_5m_input_tokens": 6, "ephemeral_1h_input_tokens": 4101}, 0)
    assert first["cache_creation_input_tokens"] == 4107
    again = http.post("/v1/messages", headers=headers, json=cached_body(nonce, stream=True))
    opening, closing = stream_usage(again)
    assert (opening["cache_read_input_tokens"], opening["cache_creation_input_tokens"]) == (4107, 0)
    assert {k: closing["usage"][k] for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")} == {
        k: opening[k] for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
    }
    assert "context_management" not in closing  # no beta, no report


def test_count_tokens_counts_the_whole_prompt_whatever_is_cached(http, headers):
    body = cached_body(secrets.token_hex(6))
    counted = http.post("/v1/messages/count_tokens", headers=headers, json={k: v for k, v in body.items() if k != "max_tokens"}).json()["input_tokens"]
    usage = http.post("/v1/messages", headers=headers, json=body).json()["usage"]
    assert counted == usage["input_tokens"] + usage["cache_creation_input_tokens"] + usage["cache_read_input_tokens"]


def test_effort_is_refused_in_the_api_s_words(http, headers):
    answer = http.post("/v1/messages", headers=headers, json={**cached_body("e"), "output_config": {"effort": "low"}})
    assert (answer.status_code, answer.json()["error"]["message"]) == (400, "This model does not support the effort parameter.")
    accepted = http.post("/v1/messages", headers=headers, json={**cached_body("e"), "model": "claude-opus-4-6", "output_config": {"effort": "low"}})
    assert accepted.status_code == 200


def test_context_management_needs_its_beta_and_is_reported_where_the_sdks_read_it(http, headers):
    body = {
        "model": "claude-haiku-4-5", "max_tokens": 8, "messages": tool_history(3),
        "tools": [{"name": "get_weather", "input_schema": {"type": "object"}}],
        "context_management": clear(trigger={"type": "tool_uses", "value": 2}, keep={"type": "tool_uses", "value": 1}),
    }
    body["messages"][-1]["content"].append({"type": "text", "text": "Reply with exactly this text and nothing else: ok"})
    refused = http.post("/v1/messages", headers=headers, json=body)
    assert (refused.status_code, refused.json()["error"]["message"]) == (400, "context_management: Extra inputs are not permitted")
    beta = {**headers, "anthropic-beta": CONTEXT_BETA}
    plain = http.post("/v1/messages?beta=true", headers=beta, json=body).json()
    assert plain["context_management"] == {"applied_edits": [{"type": "clear_tool_uses_20250919", "cleared_tool_uses": 2, "cleared_input_tokens": 12}]}
    _, closing = stream_usage(http.post("/v1/messages?beta=true", headers=beta, json={**body, "stream": True}))
    assert closing["context_management"] == plain["context_management"]
    bare = http.post("/v1/messages", headers=beta, json={k: v for k, v in body.items() if k != "context_management"}).json()
    assert bare["context_management"] == {"applied_edits": []}  # capture 19: the beta alone makes the answer carry the report


def test_the_server_s_models_take_the_minimum_and_the_levels_the_spec_states():
    """The probe's prefix is sized from models.yaml and the server caches by its own table: they must agree."""
    from conformance.contract.loader import load_contract
    from conformance.reference.models import CATALOGUE

    contract = load_contract("2023-06-01", "anthropic")
    for model in CATALOGUE:
        facts = contract.model_facts(model.id)
        assert (facts.cache_min_tokens, set(facts.effort or ())) == (model.cache_min_tokens, set(model.effort)), model.id
