"""conformance/judge.py: recorded exchanges + cases → findings, for expectation and property cases."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from conformance.contract.loader import load_contract
from conformance.exchange import ErrorKind, Exchange, RecordedRequest
from conformance.findings import Level, Outcome
from conformance.judge import Judge
from conformance.scenarios import build_cases, plan_requests
from tests.checks._build import message

MODEL = "claude-haiku-4-5"
URL = "http://127.0.0.1:9/v1/messages"
RID = ("request-id", "req_011CSHoEeqs5C35K2UUqR7Fy")
JSON = ("content-type", "application/json")
MESSAGE = message(model=MODEL, usage={"input_tokens": 21, "output_tokens": 5})
AUTH_ERROR = {"type": "error", "error": {"type": "authentication_error", "message": "x-api-key header is required"}}


@pytest.fixture(scope="module")
def contract():
    return load_contract()


@pytest.fixture(scope="module")
def cases(contract):
    return {case.id: case for case in build_cases(contract, MODEL)}


@pytest.fixture(scope="module")
def requests(contract, cases):
    return plan_requests(contract, cases.values(), model=MODEL)


def answer(requests, sid, status=200, body=MESSAGE, headers=(JSON, RID), **kwargs) -> Exchange:
    """The exchange the transport would record for scenario ``sid``."""
    req = requests[sid]
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    recorded = RecordedRequest(method=req.method, url=URL, headers=req.headers, body=req.body)
    return Exchange(id=sid, request=recorded, status=status, headers=tuple(headers), body=raw, **kwargs)


def judge(contract, requests, *exchanges: Exchange) -> Judge:
    return Judge(contract, requests, {e.id: e for e in exchanges}, model=MODEL)


# ------------------------------------------------------------------------- expectation cases


def test_expectation_passes_and_carries_notes(contract, cases, requests):
    ex = answer(requests, "auth.missing", 401, AUTH_ERROR, notes=("attempt 1: 429, retried after 0.0 s",))
    finding = judge(contract, requests, ex).judge(cases["auth.missing_key_rejected"])
    assert (finding.outcome, finding.message, finding.case_id, finding.level) == (Outcome.PASS, "", "auth.missing_key_rejected", Level.MUST)
    assert finding.notes == ("attempt 1: 429, retried after 0.0 s",)
    assert finding.exchanges == ("auth.missing",)


def test_expectation_pass_notes_include_the_case_note(contract, cases, requests):
    finding = judge(contract, requests, answer(requests, "roles.system", 400, {"type": "error", "error": {"type": "invalid_request_error", "message": "no"}})).judge(
        cases["roles.system_role_handled"]
    )
    assert finding.outcome is Outcome.PASS
    assert finding.notes == (cases["roles.system_role_handled"].note,)


def test_expectation_fails_with_the_status_message(contract, cases, requests):
    finding = judge(contract, requests, answer(requests, "auth.missing", 200)).judge(cases["auth.missing_key_rejected"])
    assert finding.outcome is Outcome.FAIL
    assert finding.message == f"[auth.missing] Received: status 200 (the request was accepted)\nExpected: status 401\nAt: POST {URL}"
    [violation] = finding.violations
    assert (violation.exchange, violation.at) == ("auth.missing", f"POST {URL}")


def test_expectation_failure_quotes_the_error_body(contract, cases, requests):
    body = {"type": "error", "error": {"type": "not_found_error", "message": "model: claude-conformance-no-such-model"}}
    finding = judge(contract, requests, answer(requests, "roles.unknown", 404, body)).judge(cases["roles.unknown_role_rejected"])
    assert finding.message == (
        f"[roles.unknown] Received: status 404 (not_found_error: model: claude-conformance-no-such-model)\nExpected: status 400\nAt: POST {URL}"
    )


def test_expectation_failure_quotes_a_text_body(contract, cases, requests):
    ex = answer(requests, "body.malformed", 422, b"Unprocessable Entity", headers=(("content-type", "text/plain"),))
    finding = judge(contract, requests, ex).judge(cases["request.malformed_json_rejected"])
    assert finding.message == f"[body.malformed] Received: status 422 (Unprocessable Entity)\nExpected: status 400\nAt: POST {URL}"


def test_expectation_notes_a_server_error_for_a_client_error(contract, cases, requests):
    body = {"type": "error", "error": {"type": "api_error", "message": "Internal server error"}}
    finding = judge(contract, requests, answer(requests, "body.malformed", 500, body)).judge(cases["request.malformed_json_rejected"])
    assert finding.outcome is Outcome.FAIL
    assert finding.message == (
        "[body.malformed] Received: status 500 (api_error: Internal server error)\nExpected: status 400"
        "\nNote: a client error answered as a server error (clients retry 5xx)"
        f"\nAt: POST {URL}"
    )


def test_expectation_without_an_answer_is_an_error(contract, cases, requests):
    ex = answer(requests, "auth.missing", None, b"", error="connection failed: [Errno 111] Connection refused", error_kind=ErrorKind.UNREACHABLE)
    finding = judge(contract, requests, ex).judge(cases["auth.missing_key_rejected"])
    assert (finding.outcome, finding.message) == (Outcome.ERROR, "no answer to auth.missing: connection failed: [Errno 111] Connection refused")


def test_expectation_still_rate_limited_after_retries_is_an_error(contract, cases, requests):
    body = {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}
    ex = answer(requests, "auth.missing", 429, body, attempts=4)
    finding = judge(contract, requests, ex).judge(cases["auth.missing_key_rejected"])
    assert (finding.outcome, finding.message) == (Outcome.ERROR, "auth.missing: still 429 after 4 attempts; the target is rate limiting or overloaded")


def test_expectation_a_single_429_is_a_verdict(contract, cases, requests):
    body = {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}
    finding = judge(contract, requests, answer(requests, "auth.missing", 429, body)).judge(cases["auth.missing_key_rejected"])
    assert finding.outcome is Outcome.FAIL


def test_expectation_of_an_unexecuted_scenario_is_an_error(contract, cases, requests):
    finding = judge(contract, requests).judge(cases["auth.missing_key_rejected"])
    assert (finding.outcome, finding.message) == (Outcome.ERROR, "scenario 'auth.missing' was not executed")


REFUSED = {"type": "error", "error": {"type": "invalid_request_error", "message": "messages.0.role: Input should be 'user' or 'assistant'"}}
ROLE_PROBES = ("roles.unknown", "roles.developer", "roles.unknown.stream")  # the case's scenario and its `also`


def test_expectation_of_several_scenarios_passes_when_every_one_does(contract, cases, requests):
    finding = judge(contract, requests, *(answer(requests, sid, 400, REFUSED) for sid in ROLE_PROBES)).judge(cases["roles.unknown_role_rejected"])
    assert (finding.outcome, finding.message, finding.exchanges) == (Outcome.PASS, "", ROLE_PROBES)
    assert finding.notes == (cases["roles.unknown_role_rejected"].note,)  # once, not once per scenario


def test_expectation_of_several_scenarios_names_the_one_that_failed(contract, cases, requests):
    stream = answer(requests, "roles.unknown.stream", 200, b"event: message_start\n\n", headers=(("content-type", "text/event-stream"), RID))
    exchanges = [answer(requests, "roles.unknown", 400, REFUSED), answer(requests, "roles.developer", 200), stream]
    finding = judge(contract, requests, *exchanges).judge(cases["roles.unknown_role_rejected"])
    assert finding.outcome is Outcome.FAIL
    assert finding.message == (
        f"[roles.developer] Received: status 200 (the request was accepted)\nExpected: status 400\nAt: POST {URL}\n"
        f"[roles.unknown.stream] Received: status 200 (the request was accepted)\nExpected: status 400\nAt: POST {URL}"
    )
    assert [v.exchange for v in finding.violations] == ["roles.developer", "roles.unknown.stream"]


def test_expectation_of_several_scenarios_is_an_error_when_one_got_no_answer(contract, cases, requests):
    lost = answer(requests, "roles.developer", None, b"", error="read timeout: nothing received for 60 s", error_kind=ErrorKind.TIMEOUT)
    exchanges = [answer(requests, "roles.unknown", 400, REFUSED), lost, answer(requests, "roles.unknown.stream", 400, REFUSED)]
    finding = judge(contract, requests, *exchanges).judge(cases["roles.unknown_role_rejected"])
    assert (finding.outcome, finding.message) == (Outcome.ERROR, "no answer to roles.developer: read timeout: nothing received for 60 s")


def test_expectation_at_should_level_warns(contract, cases, requests):
    case = replace(cases["auth.missing_key_rejected"], level=Level.SHOULD)
    assert judge(contract, requests, answer(requests, "auth.missing", 200)).judge(case).outcome is Outcome.WARN


def test_generated_case_is_judged_by_its_expectation(contract, cases, requests):
    case = cases["params.invalid_value_rejected:max_tokens.below_min"]
    finding = judge(contract, requests, answer(requests, "param.max_tokens.below_min", 200)).judge(case)
    assert (finding.outcome, finding.case_id) == (Outcome.PASS, "params.invalid_value_rejected:max_tokens.below_min")
    finding = judge(contract, requests, answer(requests, "param.max_tokens.below_min", 500, b"")).judge(case)
    assert finding.message == f"[param.max_tokens.below_min] Received: status 500\nExpected: status 2xx or 400\nNote: a client error answered as a server error (clients retry 5xx)\nAt: POST {URL}"


def test_a_skipped_case_is_skipped_with_its_reason(contract, requests):
    [case] = [c for c in build_cases(contract, "llama-3") if c.id == "params.valid_value_accepted:max_tokens.at_max"]
    finding = judge(contract, requests).judge(case)
    assert (finding.outcome, finding.message) == (Outcome.SKIP, case.skip)


# ---------------------------------------------------------------------------- property cases


def test_property_aggregates_violations_across_exchanges(contract, cases, requests):
    html = (("content-type", "text/html"), RID)
    plain = answer(requests, "plain", 200, MESSAGE, headers=html)
    missing = answer(requests, "auth.missing", 401, AUTH_ERROR, headers=html)
    finding = judge(contract, requests, plain, missing).judge(cases["headers.json_content_type"])
    assert finding.outcome is Outcome.FAIL
    assert finding.exchanges == ("plain", "auth.missing")
    assert [v.exchange for v in finding.violations] == ["plain", "auth.missing"]
    assert finding.message == (
        '[plain] Received: Content-Type "text/html" (status 200)\nExpected: application/json\nAt: header content-type\n'
        '[auth.missing] Received: Content-Type "text/html" (status 401)\nExpected: application/json\nAt: header content-type'
    )
    assert finding.notes == ("judged on 2 exchange(s): plain, auth.missing",)


def test_property_passes_when_every_exchange_passes(contract, cases, requests):
    found = judge(contract, requests, answer(requests, "plain"), answer(requests, "auth.missing", 401, AUTH_ERROR)).judge(cases["headers.json_content_type"])
    assert (found.outcome, found.message, found.violations) == (Outcome.PASS, "", ())


def test_property_selector_picks_only_matching_exchanges(contract, cases, requests):
    # errors.* judge error answers only; the successful plain answer is not even looked at.
    j = judge(contract, requests, answer(requests, "plain", 200, b"not json"), answer(requests, "auth.missing", 401, AUTH_ERROR))
    finding = j.judge(cases["errors.envelope_shape"])
    assert (finding.outcome, finding.exchanges) == (Outcome.PASS, ("auth.missing",))


def test_stream_scoped_rules_leave_a_non_boolean_stream_to_its_parameter_rule(contract, cases, requests):
    # LiteLLM 1.106.2 answers stream: <not a bool> with a 200 event stream; params.wrong_type_rejected
    # fails that once, and the rules about non-streamed answers must not judge it as one again.
    sse = b"event: message_start\ndata: {}\n\n"
    wrong = answer(requests, "param.stream.wrong_type", 200, sse, headers=(("content-type", "text/event-stream"), RID))
    j = judge(contract, requests, answer(requests, "plain"), answer(requests, "auth.missing", 401, AUTH_ERROR), wrong)
    assert j.judge(cases["headers.json_content_type"]).exchanges == ("plain", "auth.missing")
    assert j.judge(cases["shape.message_schema"]).exchanges == ("plain",)


def test_property_shows_three_violations_and_counts_the_rest(contract, cases, requests):
    events = [{"type": "message_start", "message": dict(MESSAGE, content=[], stop_reason=None)}, {"type": "ping"}, {"type": "ping"}, {"type": "ping"}, {"type": "message_stop"}]
    raw = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
    ex = answer(requests, "plain.stream", 200, raw, headers=(("content-type", "text/event-stream"), RID))
    finding = judge(contract, requests, ex).judge(cases["stream.event_name_matches_type"])
    assert finding.outcome is Outcome.FAIL
    assert len(finding.violations) == 5
    assert finding.message.count("[plain.stream] Received: no event: line") == 3
    assert finding.message.endswith("\n… and 2 more violation(s)")


def test_property_not_applicable_everywhere_is_a_skip(contract, cases, requests):
    body = {k: v for k, v in MESSAGE.items() if k != "id"}
    finding = judge(contract, requests, answer(requests, "plain", 200, body)).judge(cases["shape.id_prefix"])
    assert (finding.outcome, finding.message) == (Outcome.SKIP, "not applicable: plain: no string id (judged by the schema checks)")


def test_property_records_where_it_was_not_applicable(contract, cases, requests):
    body = {k: v for k, v in MESSAGE.items() if k != "id"}
    j = judge(contract, requests, answer(requests, "plain", 200, body), answer(requests, "auth.missing", 401, AUTH_ERROR))
    finding = j.judge(cases["headers.request_id_present"])
    assert finding.outcome is Outcome.PASS
    j = judge(contract, requests, answer(requests, "plain", 200, dict(MESSAGE, id="chatcmpl-1")), answer(requests, "max_tokens_limit", 200, body))
    finding = j.judge(cases["shape.id_prefix"])
    assert finding.outcome is Outcome.WARN  # SHOULD
    assert finding.notes == ("judged on 1 exchange(s): plain", "not applicable: max_tokens_limit: no string id (judged by the schema checks)")


def test_property_should_violation_warns(contract, cases, requests):
    finding = judge(contract, requests, answer(requests, "plain", headers=(JSON,))).judge(cases["headers.request_id_present"])
    assert (finding.outcome, finding.level) == (Outcome.WARN, Level.SHOULD)
    assert finding.message == "[plain] Received: no request-id header (status 200)\nExpected: a request-id header, e.g. req_018EeWyXxfu5pfWkrYcMdjWG\nAt: header request-id"


def test_property_with_nothing_selected_is_a_prerequisite_skip(contract, cases, requests):
    finding = judge(contract, requests, answer(requests, "plain", 500, b"")).judge(cases["shape.message_schema"])
    assert finding.outcome is Outcome.SKIP
    assert finding.message == "prerequisite failed: no exchange this rule judges got the answer it needs (plain → 500)"


def test_property_with_only_unanswered_exchanges_is_an_error(contract, cases, requests):
    ex = answer(requests, "plain", None, b"", error="read timeout: nothing received for 60 s", error_kind=ErrorKind.TIMEOUT)
    finding = judge(contract, requests, ex).judge(cases["shape.message_schema"])
    assert (finding.outcome, finding.message) == (Outcome.ERROR, "no answer to judge: plain: read timeout: nothing received for 60 s")


def test_property_notes_unanswered_exchanges_next_to_a_verdict(contract, cases, requests):
    lost = answer(requests, "auth.missing", None, b"", error="connection failed")
    finding = judge(contract, requests, answer(requests, "plain"), lost).judge(cases["headers.json_content_type"])
    assert finding.outcome is Outcome.PASS
    assert finding.notes == ("judged on 1 exchange(s): plain", "no answer to: auth.missing")


def test_property_check_that_raises_is_an_error_naming_the_check(contract, cases, requests):
    def message_schema(subject):
        raise KeyError("usage")

    j = judge(contract, requests, answer(requests, "plain"))
    j._checks = {**j._checks, "shape.message_schema": message_schema}  # a stand-in for a buggy check
    finding = j.judge(cases["shape.message_schema"])
    assert (finding.outcome, finding.message) == (Outcome.ERROR, "check shape.message_schema raised KeyError: 'usage'")


def test_property_without_a_registered_check_is_an_error(contract, cases, requests):
    case = replace(cases["shape.message_schema"], rule=replace(cases["shape.message_schema"].rule, id="shape.no_such_check"))
    finding = judge(contract, requests, answer(requests, "plain")).judge(case)
    assert (finding.outcome, finding.message) == (Outcome.ERROR, "no check function is registered for shape.no_such_check")


def test_a_deeply_nested_body_is_a_verdict_not_an_error(contract, cases, requests):
    deep = b"[" * 100_000 + b"]" * 100_000
    finding = judge(contract, requests, answer(requests, "plain", 200, deep)).judge(cases["shape.message_schema"])
    assert finding.outcome is Outcome.FAIL
    assert finding.message.startswith('[plain] Received: a body that is not JSON (nested deeper than a parser\'s stack): "[[[[')


def test_stream_twin_is_given_to_the_subject_and_readings_are_shared(contract, cases, requests):
    events = [
        {"type": "message_start", "message": dict(MESSAGE, content=[], stop_reason=None, usage={"input_tokens": 21, "output_tokens": 1})},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Grüße ok"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 5}},
        {"type": "message_stop"},
    ]
    raw = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()
    stream = answer(requests, "plain.stream", 200, raw, headers=(("content-type", "text/event-stream"), RID))
    j = judge(contract, requests, answer(requests, "plain"), stream)
    subject = j.subject(stream)
    assert subject.twin is not None
    assert subject.twin.id == "plain"
    assert subject.reading is j.reading(stream)
    assert j.reading(answer(requests, "plain")) is None
    findings = {f.case_id: f.outcome for f in j.judge_all([cases["usage.stream_matches_twin"], cases["stream.rebuilt_matches_twin"], cases["stream.event_order"]])}
    assert findings == {"usage.stream_matches_twin": Outcome.PASS, "stream.rebuilt_matches_twin": Outcome.PASS, "stream.event_order": Outcome.PASS}


# ------------------------------------------------- answers that broke off: infrastructure, not verdicts

SSE = ("content-type", "text/event-stream")
START = {"type": "message_start", "message": dict(MESSAGE, content=[], stop_reason=None, usage={"input_tokens": 21, "output_tokens": 1})}
OVERLOADED = {"type": "error", "error": {"details": None, "type": "overloaded_error", "message": "Overloaded"}}
RATE_LIMIT = {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}


def sse(*events) -> bytes:
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()


BROKEN_OFF = sse(
    START,
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Grüße"}},
    OVERLOADED,
)
BROKE_OFF = "the stream broke off with an error event (overloaded_error: Overloaded) at event #3 (error) @ byte "


def broken_stream(requests, sid="plain.stream"):
    return answer(requests, sid, 200, BROKEN_OFF, headers=(SSE, RID))


def test_a_check_that_needs_the_final_message_of_a_broken_off_stream_is_an_error(contract, cases, requests):
    finding = judge(contract, requests, broken_stream(requests)).judge(cases["stop_reason.known_value"])
    assert finding.outcome is Outcome.ERROR
    assert finding.message.startswith("no complete answer to judge (infrastructure, not a verdict): plain.stream: " + BROKE_OFF)
    assert finding.message.endswith(", so there is no final message to judge")


def test_not_applicable_on_a_broken_off_stream_is_an_error_too(contract, cases, requests):
    # "no message_delta" is the abort's doing, not a reason the rule does not apply.
    finding = judge(contract, requests, broken_stream(requests)).judge(cases["stream.message_delta_stop_reason"])
    assert finding.outcome is Outcome.ERROR
    assert finding.message.startswith("no complete answer to judge (infrastructure, not a verdict): plain.stream: " + BROKE_OFF)


def test_what_did_arrive_of_a_broken_off_stream_is_still_judged(contract, cases, requests):
    j = judge(contract, requests, broken_stream(requests))
    assert {c: j.judge(cases[c]).outcome for c in ("stream.event_order", "stream.ends_with_message_stop", "usage.input_tokens_positive")} == dict.fromkeys(
        ("stream.event_order", "stream.ends_with_message_stop", "usage.input_tokens_positive"), Outcome.PASS
    )


def test_other_exchanges_reach_the_verdict_and_the_broken_off_one_is_noted(contract, cases, requests):
    finding = judge(contract, requests, answer(requests, "plain"), broken_stream(requests)).judge(cases["stop_reason.known_value"])
    assert finding.outcome is Outcome.PASS
    assert finding.notes[0] == "judged on 1 exchange(s): plain"
    assert finding.notes[1].startswith("not judged, no complete answer: plain.stream: " + BROKE_OFF)


def test_a_broken_off_stream_never_turns_into_a_failure(contract, cases, requests):
    # The partial message has no stop_reason and one short block: without the signal it would fail these.
    j = judge(contract, requests, answer(requests, "plain"), broken_stream(requests))
    outcomes = {c: j.judge(cases[c]).outcome for c in ("stream.rebuilt_matches_twin", "usage.stream_matches_twin", "stop_reason.end_turn_on_natural_stop")}
    assert outcomes == {"stream.rebuilt_matches_twin": Outcome.ERROR, "usage.stream_matches_twin": Outcome.ERROR, "stop_reason.end_turn_on_natural_stop": Outcome.PASS}


def test_answers_still_rate_limited_after_retries_are_an_error_not_a_skip(contract, cases, requests):
    throttled = answer(requests, "plain", 429, RATE_LIMIT, attempts=4)
    finding = judge(contract, requests, throttled).judge(cases["shape.message_schema"])
    assert (finding.outcome, finding.message) == (
        Outcome.ERROR,
        "no complete answer to judge (infrastructure, not a verdict): plain: still 429 after 4 attempts (the target is rate limiting or overloaded)",
    )
    once = answer(requests, "plain", 429, RATE_LIMIT)  # not retried: an answer like any other, so a prerequisite skip
    assert judge(contract, requests, once).judge(cases["shape.message_schema"]).outcome is Outcome.SKIP


def test_rules_on_error_answers_judge_a_throttled_answer_as_it_is(contract, cases, requests):
    throttled = answer(requests, "plain", 429, RATE_LIMIT, attempts=4)
    finding = judge(contract, requests, throttled).judge(cases["errors.type_matches_status"])
    assert (finding.outcome, finding.exchanges) == (Outcome.PASS, ("plain",))


def test_a_twin_still_overloaded_after_retries_makes_the_comparison_an_error(contract, cases, requests):
    stream = answer(requests, "plain.stream", 200, sse(START, {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 5}}, {"type": "message_stop"}), headers=(SSE, RID))
    twin = answer(requests, "plain", 529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, attempts=4)
    finding = judge(contract, requests, twin, stream).judge(cases["usage.stream_matches_twin"])
    assert finding.outcome is Outcome.ERROR
    assert finding.message == (
        "no complete answer to judge (infrastructure, not a verdict): plain.stream: the non-stream twin plain has nothing to compare with: "
        "still 529 after 4 attempts (the target is rate limiting or overloaded)"
    )


# ------------------------------------------------------- the simulated refusals (reference profile)


@pytest.fixture(scope="module")
def simulating():
    contract = load_contract("2023-06-01", "reference")
    cases = {case.id: case for case in build_cases(contract, MODEL)}
    return contract, cases, plan_requests(contract, cases.values(), model=MODEL)


def test_simulations_are_planned_only_where_the_profile_offers_them(requests, simulating):
    _, cases, planned = simulating
    simulated = sorted(sid for sid in planned if sid.startswith("simulate."))
    assert simulated == ["simulate.midstream_error", "simulate.overloaded", "simulate.pause_turn", "simulate.rate_limited", "simulate.too_large"]
    assert all(planned[sid].retry is False for sid in simulated)
    assert not [sid for sid in requests if sid.startswith("simulate.")]  # the anthropic profile never sends them
    assert cases["recovery.rate_limited_status"].skip is None


def test_simulated_refusals_are_judged_by_the_errors_checks(simulating):
    contract, cases, planned = simulating
    refusals = [
        answer(planned, "simulate.rate_limited", 429, RATE_LIMIT, headers=(JSON, RID, ("retry-after", "1"))),
        answer(planned, "simulate.overloaded", 529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
        answer(planned, "simulate.too_large", 413, {"type": "error", "error": {"type": "request_too_large", "message": "too big"}}),
    ]
    j = judge(contract, planned, answer(planned, "auth.missing", 401, AUTH_ERROR), *refusals)
    for case_id in ("errors.envelope_shape", "errors.type_matches_status", "recovery.retry_after_on_rate_limit"):
        finding = j.judge(cases[case_id])
        assert finding.outcome is Outcome.PASS, finding.message
        assert "simulate.rate_limited" in finding.exchanges
    assert set(j.judge(cases["errors.type_matches_status"]).exchanges) >= {"simulate.overloaded", "simulate.too_large"}
    assert j.judge(cases["recovery.rate_limited_status"]).outcome is Outcome.PASS  # a single, unretried 429 is the verdict


def test_overloaded_answered_as_500_api_error_fails_only_the_status_rule(simulating):
    contract, cases, planned = simulating
    five_hundred = answer(planned, "simulate.overloaded", 500, {"type": "error", "error": {"type": "api_error", "message": "Internal server error"}})
    j = judge(contract, planned, five_hundred)
    finding = j.judge(cases["recovery.overloaded_status"])
    assert finding.outcome is Outcome.FAIL
    assert finding.message == f"[simulate.overloaded] Received: status 500 (api_error: Internal server error)\nExpected: status 529\nAt: POST {URL}"
    assert j.judge(cases["errors.type_matches_status"]).outcome is Outcome.PASS  # 500 api_error is a consistent pair


def test_a_rate_limit_answered_503_is_not_called_a_client_error(simulating):
    contract, cases, planned = simulating
    finding = judge(contract, planned, answer(planned, "simulate.rate_limited", 503, RATE_LIMIT)).judge(cases["recovery.rate_limited_status"])
    assert finding.outcome is Outcome.FAIL
    assert "client error" not in finding.message


def test_a_rule_skipped_for_the_target_s_own_reasons_stays_a_skip_beside_a_broken_off_stream(contract, cases, requests):
    # Every other stream was cut by the target itself (judged by stream.*): the rule is not applicable, not an error.
    cut = answer(requests, "max_tokens_limit.stream", 200, sse(START), headers=(SSE, RID))
    finding = judge(contract, requests, broken_stream(requests), cut).judge(cases["stream.message_delta_stop_reason"])
    assert finding.outcome is Outcome.SKIP
    assert finding.message == "not applicable: max_tokens_limit.stream: no message_delta (judged by stream.ends_with_message_stop)"
    assert finding.notes[0].startswith("not judged, no complete answer: plain.stream: " + BROKE_OFF)


# ------------------------------------------------------------------- peers of an exchange


def test_property_checks_read_other_exchanges_of_the_run(contract, cases, requests):
    def page(ids):
        return {"data": [{"type": "model", "id": i, "display_name": i, "created_at": "2026-01-01T00:00:00Z"} for i in ids], "has_more": False, "first_id": ids[0] if ids else None, "last_id": ids[-1] if ids else None}

    listing = answer(requests, "models.list", body=page(["claude-opus-4-8", "claude-haiku-4-5-20251001", "claude-sonnet-4-5-20250929"]))
    retrieved = answer(requests, "models.retrieve", body=page(["claude-haiku-4-5-20251001"])["data"][0])
    after = answer(requests, "models.after", body=page(["claude-sonnet-4-5-20250929"]))
    rule = cases["models.after_id_pages"]
    assert judge(contract, requests, listing, retrieved, after).judge(rule).outcome is Outcome.PASS
    alone = judge(contract, requests, after).judge(rule)
    assert (alone.outcome, alone.message) == (Outcome.SKIP, "not applicable: models.after: no usable models.list page (GET /v1/models) to compare with: it was not sent (judged by models.list_schema)")


# ------------------------------------------------- limits of ours: error naming the limit, never fail


def _long_stream(deltas: int) -> bytes:
    block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    piece = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "ha"}}
    closing = [{"type": "content_block_stop", "index": 0}, {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": deltas}}, {"type": "message_stop"}]
    return sse(START, block) + sse(piece) * deltas + sse(*closing)


def test_a_stream_past_the_readers_event_cap_is_an_error_naming_the_cap(contract, cases, requests):
    stream = answer(requests, "plain.stream", 200, _long_stream(10_010), headers=(SSE, RID))
    j = judge(contract, requests, stream)
    end = j.judge(cases["stream.ends_with_message_stop"])
    assert end.outcome is Outcome.ERROR
    assert end.message.startswith("no complete answer to judge (infrastructure, not a verdict): plain.stream: not judged: the suite reads at most 10,000 events of a stream")
    order = j.judge(cases["stream.event_order"])
    assert (order.outcome, order.judged) == (Outcome.PASS, ("plain.stream: 9,999 events after message_start in the documented order",))
    assert j.judge(cases["stop_reason.known_value"]).outcome is Outcome.ERROR  # the final message lies past the cap


def test_a_body_cut_at_our_size_cap_is_an_error_not_a_cut_stream(contract, cases, requests):
    raw = _long_stream(50)
    stream = answer(requests, "plain.stream", 200, raw[: len(raw) // 2], headers=(SSE, RID), truncated=True, notes=("body cut at 1024 bytes (the cap)",))
    j = judge(contract, requests, stream)
    for case in ("stream.ends_with_message_stop", "stream.framing_terminated"):
        finding = j.judge(cases[case])
        assert finding.outcome is Outcome.ERROR, finding
        assert "the suite's size cap cut the answer after" in finding.message


# ------------------------------------------------------------------ probes of acceptance (issue 10)

PROBE_START = b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}}\n\n'
PROBE_OVERLOADED = b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
PROBE_SSE = (("content-type", "text/event-stream"), RID)


def test_an_accepted_probe_is_200_plus_message_start(contract, cases, requests):
    assert requests["param.max_tokens.at_max"].start_only
    finding = judge(contract, requests, answer(requests, "param.max_tokens.at_max", 200, PROBE_START, headers=PROBE_SSE)).judge(cases["params.valid_value_accepted:max_tokens.at_max"])
    assert (finding.outcome, finding.judged) == (Outcome.PASS, ("param.max_tokens.at_max: status 200 and message_start",))


def test_a_200_whose_first_event_is_an_error_was_not_accepted(contract, cases, requests):
    finding = judge(contract, requests, answer(requests, "param.max_tokens.at_max", 200, PROBE_OVERLOADED, headers=PROBE_SSE)).judge(cases["params.valid_value_accepted:max_tokens.at_max"])
    assert finding.outcome is Outcome.FAIL
    assert finding.message == (
        "[param.max_tokens.at_max] Received: status 200, then an error event where message_start belongs\n"
        f"Expected: status 2xx (an accepted request is 200 plus message_start)\nAt: POST {URL}"
    )


def test_a_probe_the_contract_refuses_fails_when_accepted(contract, cases, requests):
    finding = judge(contract, requests, answer(requests, "param.max_tokens.above_max", 200, PROBE_START, headers=PROBE_SSE)).judge(cases["params.invalid_value_rejected:max_tokens.above_max"])
    assert finding.outcome is Outcome.FAIL
    assert finding.message.startswith("[param.max_tokens.above_max] Received: status 200, then message_start: the request was accepted\nExpected: status 400")


def test_a_probe_cut_by_a_deadline_of_ours_before_any_event_is_an_error(contract, cases, requests):
    cut = answer(requests, "param.max_tokens.at_max", 200, b"", headers=PROBE_SSE, error="read timeout: nothing received for 60 s after 0 bytes", error_kind=ErrorKind.TIMEOUT)
    finding = judge(contract, requests, cut).judge(cases["params.valid_value_accepted:max_tokens.at_max"])
    assert (finding.outcome, finding.message) == (Outcome.ERROR, "no answer to param.max_tokens.at_max: status 200, then read timeout: nothing received for 60 s after 0 bytes")


def test_an_accepted_probe_is_no_answer_for_the_stream_rules(contract, cases, requests):
    # closed by the suite after message_start: judging its end would blame the target for our hanging up
    probe = answer(requests, "param.max_tokens.at_max", 200, PROBE_START, headers=PROBE_SSE)
    assert probe not in judge(contract, requests, probe).select(cases["stream.ends_with_message_stop"].rule.on)


def test_a_withheld_exchange_is_an_error_naming_why(contract, cases, requests):
    why = "not judged: the target stalled on plain.stream (read timeout: nothing received for 60 s after 420 bytes), and again on x.stream; the remaining streamed requests were not sent"
    withheld = answer(requests, "auth.missing", None, b"", headers=(), error=why, error_kind=ErrorKind.WITHHELD, attempts=0)
    finding = judge(contract, requests, withheld).judge(cases["auth.missing_key_rejected"])
    assert (finding.outcome, finding.message) == (Outcome.ERROR, f"no answer to auth.missing: {why}")
