"""conformance/traffic.py and Rule.needs_plan: which rules judge any exchange, one verdict per session, bounded memory."""

from __future__ import annotations

import json
import tracemalloc
from dataclasses import replace

import pytest

from conformance.auth import Auth
from conformance.contract.loader import load_contract
from conformance.contract.model import RuleKind
from conformance.exchange import Chunk, Exchange, RecordedRequest
from conformance.findings import Finding, Level, Outcome, Violation
from conformance.scenarios import Request
from conformance.traffic import EVIDENCE, KEPT_VIOLATIONS, WINDOW, Tally, TrafficJudge, describe, endpoint_of
from conformance.versions import load_contracts
from tests.checks import _build as hand
from tests.checks import _events as ev

MODEL = "claude-haiku-4-5"


def test_needs_plan_is_read_from_the_rule_not_from_a_list() -> None:
    contract = load_contract("2023-06-01", "anthropic")
    rules = contract.rules
    assert rules["auth.missing_key_rejected"].needs_plan  # an expectation: a request composed on purpose
    assert "forces a behaviour" in str(rules["stop_reason.end_turn_on_natural_stop"].needs_plan)  # selected by tag
    assert "scenarios" in str(rules["count_tokens.matches_usage"].needs_plan)  # selected by name
    assert "twin" in str(rules["stream.text_matches_twin"].needs_plan)  # the spec says it reads a twin
    for rule_id in ("stream.event_order", "errors.envelope_shape", "shape.message_schema", "tools.ids_unique_across_run", "models.list_schema"):
        assert rules[rule_id].needs_plan is None, rule_id
    traffic = [r for r in rules.values() if r.needs_plan is None]
    assert traffic
    assert all(r.kind is RuleKind.PROPERTY and r.on is not None and not r.on.scenarios and not r.on.tags for r in traffic)


def test_every_twin_comparison_says_it_needs_the_plan() -> None:
    """A check that compares with the twin can never be judged from traffic: its rule must say so, or the proxy reports a skip on every stream."""
    contract = load_contract("2023-06-01", "anthropic")
    import inspect

    from conformance.checks.registry import registered

    for rule_id, fn in registered().items():
        if "twin_message" in inspect.getsource(fn) and rule_id in contract.rules:
            assert contract.rules[rule_id].needs_plan is not None, rule_id


@pytest.mark.parametrize(
    ("path", "endpoint"),
    [("/v1/messages", "messages"), ("/v1/messages?beta=true", "messages"), ("/v1/messages/count_tokens?beta=true", "count_tokens"), ("/v1/models", "models"), ("/v1/models/claude-x", "models"), ("/health", None), ("/v1/complete", None)],
)
def test_endpoint_of(path: str, endpoint: str | None) -> None:
    assert endpoint_of(path) == endpoint


def test_describe_a_selector() -> None:
    rule = load_contract("2023-06-01", "anthropic").rules["headers.stream_content_type"]
    assert rule.on is not None
    assert describe(rule.on) == "streamed 2xx answers of /v1/messages"


def _case(check_id: str = "shape.message_schema"):
    from conformance.scenarios import build_cases

    contract = load_contract("2023-06-01", "anthropic")
    return next(c for c in build_cases(contract, MODEL) if c.id == check_id)


def test_a_tally_keeps_the_first_violations_and_counts_the_rest() -> None:
    case = _case()
    tally = Tally(case)
    passed = Finding(check_id=case.check_id, case="", outcome=Outcome.PASS, level=Level.MUST, judged=("x: the body",))
    assert not tally.add(passed, "0001-messages")
    failed = Finding(check_id=case.check_id, case="", outcome=Outcome.FAIL, level=Level.MUST, violations=(Violation("Received: 1\nExpected: 2", exchange="0002-messages"),))
    assert tally.add(failed, "0002-messages")  # the first exchange that broke it
    for n in range(3, 200):
        assert not tally.add(replace(failed, violations=(Violation("Received: 1\nExpected: 2", exchange=f"{n:04d}-messages"),)), f"{n:04d}-messages")
    finding = tally.finding(judged_total=199)
    assert finding.outcome is Outcome.FAIL
    assert len(finding.violations) == KEPT_VIOLATIONS
    assert len(finding.exchanges) <= 6
    assert "… and 195 more violation(s); broken on 198 exchange(s)" in finding.message
    assert finding.notes[0] == "looked at 199 of the session's 199 judged exchange(s): 1 pass, 198 fail"


def test_a_tally_that_judged_nothing_is_a_skip_with_the_reasons() -> None:
    case = _case("roles.prefill_not_echoed")
    tally = Tally(case)
    skip = Finding(check_id=case.check_id, case="", outcome=Outcome.SKIP, level=Level.MUST, message="not applicable: 0001-messages: the request ends with a user turn: no prefill")
    tally.add(skip, "0001-messages")
    tally.add(replace(skip, message="not applicable: 0002-messages: the request ends with a user turn: no prefill"), "0002-messages")
    finding = tally.finding(judged_total=2)
    assert finding.outcome is Outcome.SKIP
    assert finding.message == "not applicable to any exchange of the session: the request ends with a user turn: no prefill"
    assert Tally(case).finding(judged_total=0).message == "no exchange of the session was one this rule judges (2xx answers of /v1/messages)"


def _exchange(n: int, *, stream: bool, body_changes: dict | None = None) -> tuple[Exchange, Request]:
    exchange_id = f"{n:04d}-messages"
    req = hand.request_json(stream=True if stream else None, **{"max_tokens": 64, **(body_changes or {})})
    raw_req = json.dumps(req).encode()
    if stream:
        data = ev.sse([ev.start(msg_id=f"msg_{n:024d}"), ev.block_start(0), *(ev.text_delta("Hello there ") for _ in range(50)), ev.block_stop(0), ev.message_delta(output_tokens=20), ev.STOP])
        headers = (("content-type", "text/event-stream"), ("request-id", f"req_{n:024d}"))
    else:
        data = json.dumps(hand.message(id=f"msg_{n:024d}")).encode()
        headers = (("content-type", "application/json"), ("request-id", f"req_{n:024d}"))
    exchange = Exchange(
        id=exchange_id,
        request=RecordedRequest("POST", "http://upstream/v1/messages", (("anthropic-version", "2023-06-01"),), raw_req),
        status=200, headers=headers, body=data, chunks=(Chunk(0, len(data), 0.0),),
    )  # fmt: skip
    request = Request(scenario=exchange_id, endpoint="messages", method="POST", path="/v1/messages", headers=(("anthropic-version", "2023-06-01"),), auth=Auth.X_API_KEY, body=raw_req, stream=stream, tags=frozenset())
    return exchange, request


def test_a_long_session_is_judged_in_bounded_memory() -> None:
    judge = TrafficJudge(load_contracts("2023-06-01", "anthropic"), default_model=MODEL)
    for n in range(1, 41):
        judge.add(*_exchange(n, stream=n % 2 == 0))
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    for n in range(41, 161):
        judge.add(*_exchange(n, stream=n % 2 == 0))
    now, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(judge.window.items) == WINDOW
    assert len(judge.requests) == WINDOW
    assert all(len(j._readings) <= WINDOW for j in judge._judges.values())
    assert now - base < 8 * 1024 * 1024, f"{(now - base) / 1e6:.1f} MB held after 120 more exchanges"
    findings = {f.check_id: f for f in judge.findings()}
    assert findings["stream.event_order"].outcome is Outcome.PASS
    assert findings["shape.message_ids_unique"].outcome is Outcome.PASS
    assert len(findings["stream.event_order"].judged) <= 50
    assert judge.judged_exchanges == judge.spend.requests == 160


def test_evidence_is_kept_for_the_first_breaks_only() -> None:
    judge = TrafficJudge(load_contracts("2023-06-01", "anthropic"), default_model=MODEL)
    for n in range(1, EVIDENCE + 30):
        judge.add(*_exchange(n, stream=False, body_changes={"max_tokens": 1}))  # usage 5 > max_tokens 1: breaks usage.output_within_max_tokens
    result = judge.result()
    assert len(result.exchanges) == EVIDENCE
    broken = next(f for f in result.findings if f.check_id == "usage.output_within_max_tokens")
    assert broken.outcome is Outcome.FAIL
    assert broken.exchanges[0] == "0001-messages"


def test_each_exchange_is_judged_under_the_version_it_names() -> None:
    judge = TrafficJudge(load_contracts("2023-06-01", "anthropic"), default_model=MODEL)
    exchange, request = _exchange(1, stream=False)
    newer = replace(request, headers=(("anthropic-version", "2026-10-21"),))
    judge.add(exchange, newer)
    judge.add(*_exchange(2, stream=False))
    assert judge.versions == {"2026-10-21": 1, "2023-06-01": 1}
    judge.add(*_exchange(3, stream=False))
    assert judge.version_of(replace(request, headers=(("anthropic-version", "1999-01-01"),))) == "2023-06-01"
