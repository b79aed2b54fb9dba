"""conformance/checks/caching.py: the prefix is cached, read on the next turn, in the TTL asked; the breakdown adds up.

Each failing case is a deviation seen in the wild (the fault catalogue's sources): cache_control dropped
(LiteLLM#31069), a TTL dropped or upgraded (dario#679, fak#1850), a 0/0 breakdown beside a write
(anthropic-sdk-java#353), cache reads missing from message_start (LiteLLM#31069). A clean refusal passes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from capture_corpus import CAPTURES

from conformance.checks.registry import registered
from conformance.findings import REFUSED_CLEANLY, Judgement, NotApplicable
from conformance.validate import validate

from . import _events as ev
from ._build import error_body, message, request_json

PREFIX = "Reference material 0123456789ab for a prompt caching probe.\n" + " ".join(["alpha"] * 4200)
SYSTEM = [
    {"type": "text", "text": PREFIX, "cache_control": {"type": "ephemeral", "ttl": "1h"}},
    {"type": "text", "text": "You are a terse assistant.", "cache_control": {"type": "ephemeral"}},
]


def probe(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"system": SYSTEM, "max_tokens": 16, "messages": [{"role": "user", "content": "Reply with exactly this text and nothing else: ok"}]}
    return request_json(**{**fields, **changes})


def usage(*, written5: int = 0, written1h: int = 0, read: int = 0, input_tokens: int = 14, breakdown: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"input_tokens": input_tokens, "cache_creation_input_tokens": written5 + written1h, "cache_read_input_tokens": read, "output_tokens": 1}
    if breakdown:
        out["cache_creation"] = {"ephemeral_5m_input_tokens": written5, "ephemeral_1h_input_tokens": written1h}
    return out


def first(build, answer_usage: dict[str, Any] | None = None, *, status: int = 200, body: dict[str, Any] | None = None, request: dict[str, Any] | None = None):
    payload = body if body is not None else message("ok", usage=answer_usage or usage(written1h=4175, written5=20))
    return build.exchange(status=status, body=payload, request=request or probe(), scenario="caching.prefix")


def repeat_events(start_usage: dict[str, Any], delta_usage: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    opening = ev.start()
    opening["message"]["usage"] = start_usage
    closing = ev.message_delta("end_turn", output_tokens=1)
    if delta_usage is not None:
        closing["usage"].update(delta_usage)
    return [opening, ev.block_start(0), ev.PING, ev.text_delta("ok"), ev.block_stop(0), closing, ev.STOP]


def repeat(build, events: list[dict[str, Any]], *, prior=None):
    conversation = probe(stream=True)
    conversation["messages"] += [{"role": "assistant", "content": [{"type": "text", "text": "ok"}]}, {"role": "user", "content": "Reply with exactly this text and nothing else: ok"}]
    exchange = build.exchange(body=ev.sse(events), request=conversation, scenario="caching.repeat")
    return build.subject(exchange, peers=[prior if prior is not None else first(build)])


def judge(check_id: str, subject) -> Judgement:
    result = registered()[check_id](subject)
    assert isinstance(result, Judgement)
    return result


# ------------------------------------------------------------------------ caching.prefix_cached


def test_a_write_of_the_prefix_passes(build):
    result = judge("caching.prefix_cached", build.subject(first(build)))
    assert result.violations == ()
    assert result.judged == ("cache_creation_input_tokens 4195, cache_read_input_tokens 0 for a marked prefix of at least 4096 tokens",)


def test_a_read_left_by_an_earlier_request_passes_too(build):
    assert judge("caching.prefix_cached", build.subject(first(build, usage(read=4195)))).violations == ()


def test_cache_control_dropped_on_the_way_fails(build):
    # LiteLLM#31069, vLLM: the marker never reached a cache, so nothing is written or read and input_tokens carries it all.
    [violation] = judge("caching.prefix_cached", build.subject(first(build, usage(input_tokens=4209)))).violations
    assert violation.message.startswith(
        "Received: cache_creation_input_tokens 0, cache_read_input_tokens 0\n"
        "Expected: at least 4096 (the model's minimum cacheable length, models.yaml) tokens written or read: the prefix up to the first cache_control"
    )
    assert violation.at == "/usage"


def test_counters_missing_altogether_fail_as_nothing_cached(build):
    bare = message("ok", usage={"input_tokens": 4209, "output_tokens": 1})
    [violation] = judge("caching.prefix_cached", build.subject(first(build, body=bare))).violations
    assert violation.message.startswith("Received: cache_creation_input_tokens null, cache_read_input_tokens null\n")


def test_an_unknown_model_only_needs_something_cached(build):
    subject = replace(build.subject(first(build, usage(written5=12))), facts=replace(build.facts, cache_min_tokens=None))
    result = judge("caching.prefix_cached", subject)
    assert result.violations == ()
    assert result.judged == ("cache_creation_input_tokens 12, cache_read_input_tokens 0 for a marked prefix of at least 4096 tokens",)


def test_a_clean_refusal_naming_cache_control_passes(build):
    refused = first(build, status=400, body=error_body(text="system.0.cache_control: Extra inputs are not permitted"))
    result = judge("caching.prefix_cached", build.subject(refused))
    assert result.violations == ()
    assert result.judged == (f'{REFUSED_CLEANLY}: 400 invalid_request_error naming cache_control: "system.0.cache_control: Extra inputs are not permitted"',)


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (400, error_body(text="Invalid request"), 'status 400 (invalid_request_error: "Invalid request")'),
        (500, error_body("api_error", "cache_control crashed the converter"), 'status 500 (api_error: "cache_control crashed the converter")'),
        (404, {"detail": "Not Found"}, 'status 404 ("{\\"detail\\": \\"Not Found\\"}")'),
    ],
)
def test_a_refusal_no_client_can_act_on_fails(build, status, body, said):
    [violation] = judge("caching.prefix_cached", build.subject(first(build, status=status, body=body))).violations
    assert violation.message == (
        f"Received: {said}\nExpected: the prefix written to the cache or read from it (usage cache counters), or a clean refusal: "
        "status 400 invalid_request_error whose message names cache_control"
    )


def test_a_request_without_breakpoints_is_not_judged(build):
    with pytest.raises(NotApplicable, match="marks no cache breakpoint"):
        judge("caching.prefix_cached", build.subject(first(build, request=request_json())))


# ------------------------------------------------------------------------ caching.read_on_repeat


def test_the_repeat_reads_what_the_first_request_cached(build):
    read = usage(read=4195, input_tokens=20)
    result = judge("caching.read_on_repeat", repeat(build, repeat_events(read, {"cache_read_input_tokens": 4195, "cache_creation_input_tokens": 0})))
    assert result.violations == ()
    assert result.judged == (
        "cache_read_input_tokens 4195 in message_start (caching.prefix cached 4195)",
        "cache_read_input_tokens 4195 in the usage a client accumulates",
    )


def test_no_read_on_the_repeat_fails(build):
    [violation] = judge("caching.read_on_repeat", repeat(build, repeat_events(usage(input_tokens=4215)))).violations
    assert violation.message.startswith("Received: cache_read_input_tokens 0\nExpected: at least 4195, what caching.prefix cached: the next turn re-sends")
    assert violation.at.endswith("(message_start) @ byte 0 /message/usage")


def test_a_read_only_in_message_delta_fails_where_the_stream_starts(build):
    # LiteLLM#31069: message_start says 0, the real counters arrive at the end.
    events = repeat_events(usage(input_tokens=0), {"cache_read_input_tokens": 4195, "input_tokens": 20})
    messages_ = [v.message for v in judge("caching.read_on_repeat", repeat(build, events)).violations]
    assert messages_[0].startswith("Received: cache_read_input_tokens 0\nExpected: at least 4195")
    assert messages_[1].startswith("Received: cache_read_input_tokens 4195 in message_delta, 0 in message_start\nExpected: the same count")


def test_a_read_zeroed_by_message_delta_fails_in_the_final_usage(build):
    events = repeat_events(usage(read=4195, input_tokens=20), {"cache_read_input_tokens": 0})
    messages_ = [v.message for v in judge("caching.read_on_repeat", repeat(build, events)).violations]
    assert messages_[0] == "Received: cache_read_input_tokens 0 in the final usage\nExpected: at least 4195, what caching.prefix cached, as message_start said"
    assert messages_[1].startswith("Received: cache_read_input_tokens 0 in message_delta, 4195 in message_start")


def test_the_first_request_is_judged_here_only_when_refused(build):
    with pytest.raises(NotApplicable, match="the first request of the pair"):
        judge("caching.read_on_repeat", build.subject(first(build)))
    refused = first(build, status=400, body=error_body(text="cache_control: Extra inputs are not permitted"))
    assert judge("caching.read_on_repeat", build.subject(refused)).judged == (
        f'{REFUSED_CLEANLY}: 400 invalid_request_error naming cache_control: "cache_control: Extra inputs are not permitted" (so the repeat was not sent)',
    )
    with pytest.raises(NotApplicable, match=r"status 500, not a clean refusal: judged by caching\.prefix_cached"):
        judge("caching.read_on_repeat", build.subject(first(build, status=500, body=error_body("api_error", "boom"))))


# ------------------------------------------------------------------------ caching.ttl_honoured


def test_a_cold_write_puts_each_segment_in_the_ttl_it_asked(build):
    result = judge("caching.ttl_honoured", build.subject(first(build)))
    assert (result.judged, result.violations) == (("cache_creation {5m: 20, 1h: 4175} for breakpoints asking 1h, 5m",), ())


def test_a_dropped_ttl_writes_the_1h_prefix_as_5m(build):
    # dario#679, claude-code#46829: the 1h breakpoint written with the 5-minute default.
    [violation] = judge("caching.ttl_honoured", build.subject(first(build, usage(written5=4195)))).violations
    assert violation.message.startswith("Received: cache_creation {5m: 4195, 1h: 0} for a write of the whole prefix\nExpected: tokens in the 1h bucket")
    assert violation.at == "/usage/cache_creation"


def test_an_upgraded_ttl_writes_the_5m_segment_as_1h(build):
    # fak#1850: every breakpoint rewritten to 1h.
    [violation] = judge("caching.ttl_honoured", build.subject(first(build, usage(written1h=4195)))).violations
    assert violation.message.startswith("Received: cache_creation {5m: 0, 1h: 4195} for a write of the whole prefix\nExpected: tokens in the 5m bucket")


def test_a_ttl_no_breakpoint_asked_for_fails(build):
    five_only = probe(system=[{"type": "text", "text": PREFIX, "cache_control": {"type": "ephemeral"}}])
    empty, unasked = judge("caching.ttl_honoured", build.subject(first(build, usage(written1h=4175), request=five_only))).violations
    assert unasked.message == "Received: 4175 tokens written with TTL 1h\nExpected: none: no breakpoint asked for 1h (they ask 5m)"
    assert empty.message.startswith("Received: cache_creation {5m: 0, 1h: 4175} for a write of the whole prefix\nExpected: tokens in the 5m bucket")


def test_a_write_after_a_read_only_needs_the_buckets_asked(build):
    result = judge("caching.ttl_honoured", build.subject(first(build, usage(read=4175, written5=20))))
    assert (result.judged, result.violations) == (("cache_creation {5m: 20, 1h: 0} for breakpoints asking 1h, 5m, after a read of 4175",), ())


def test_no_breakdown_or_one_that_does_not_add_up_leaves_the_ttl_unjudged(build):
    with pytest.raises(NotApplicable, match=r"no usage\.cache_creation breakdown"):
        judge("caching.ttl_honoured", build.subject(first(build, usage(written1h=4175, breakdown=False))))
    zeroed = usage(written1h=4175)
    zeroed["cache_creation"] = {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}
    with pytest.raises(NotApplicable, match=r"judged by caching\.breakdown_sums"):
        judge("caching.ttl_honoured", build.subject(first(build, zeroed)))


def test_the_ttl_rule_leaves_an_unclean_refusal_to_prefix_cached(build):
    with pytest.raises(NotApplicable, match=r"judged by caching\.prefix_cached"):
        judge("caching.ttl_honoured", build.subject(first(build, status=502, body=error_body("api_error", "bad gateway"))))


# ------------------------------------------------------------------------ caching.breakdown_sums


def test_the_breakdown_adds_up_in_a_message_and_in_message_start(build):
    assert judge("caching.breakdown_sums", build.subject(first(build))).judged == ("cache_creation {5m: 20, 1h: 4175} against cache_creation_input_tokens 4195",)
    events = repeat_events(usage(read=4195, input_tokens=20))
    assert judge("caching.breakdown_sums", repeat(build, events)).violations == ()


def test_a_zero_breakdown_beside_a_write_fails(build):
    # anthropic-sdk-java#353: cacheCreationInputTokens > 0 but the TTL breakdown 0/0.
    zeroed = usage(written1h=4175)
    zeroed["cache_creation"] = {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}
    [violation] = judge("caching.breakdown_sums", build.subject(first(build, zeroed))).violations
    assert violation.message == (
        "Received: ephemeral_5m_input_tokens 0 + ephemeral_1h_input_tokens 0 = 0, cache_creation_input_tokens 4175\n"
        "Expected: equal: usage.cache_creation breaks the cache write down by TTL"
    )


def test_an_answer_without_a_breakdown_is_not_judged(build):
    with pytest.raises(NotApplicable, match="optional in the SDK's Usage"):
        judge("caching.breakdown_sums", build.plain())


@pytest.mark.parametrize("name", ["08-sonnet35-prompt-cache-write-2025-03.sse", "41-sonnet4-cache-write-1h-2026-03.json", "44-bedrock-haiku45-cache-eu.json", "26-sonnet46-compaction-2026-08.sse"])
def test_first_party_cache_answers_are_no_false_alarm(name):
    findings = {f.check_id: f for f in validate(CAPTURES / name).findings}
    finding = findings.get("caching.breakdown_sums")
    if "08-" in name:  # 2025-03: before the breakdown existed, nothing to judge
        assert finding is None
    else:
        assert finding is not None
        assert finding.outcome.value == "pass", finding
