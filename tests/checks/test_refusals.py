"""conformance/checks/refusals.py: refusal and pause_turn kept as Anthropic sends them."""

from __future__ import annotations

import pytest

from conformance.checks.refusals import REFUSAL_TEST_STRING
from conformance.findings import NotApplicable
from conformance.reference.turns import REFUSAL_TEST_STRING as SERVED

from . import _events as ev
from ._build import judged, message, messages, request_json, run

REFUSE = request_json(messages=[{"role": "user", "content": REFUSAL_TEST_STRING}])
DETAILS = {"type": "refusal", "category": "cyber", "explanation": "This request was declined because it could enable cyber harm."}
CALL = {"type": "server_tool_use", "id": "srvtoolu_01A", "name": "web_search", "input": {"query": "x"}}
RESULT = {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_01A", "content": []}


def refused_stream(details: object = DETAILS) -> list[dict]:
    """Capture 27's shape: no content block, the refusal and its details in message_delta."""
    delta = {"type": "message_delta", "delta": {"stop_reason": "refusal", "stop_sequence": None, "stop_details": details}, "usage": {"output_tokens": 0}}
    return [ev.start(output_tokens=0), delta, ev.STOP]


def test_the_suite_sends_the_string_the_reference_refuses():
    assert REFUSAL_TEST_STRING == SERVED


def test_the_test_string_answered_with_a_refusal_passes(build):
    subject = build.stream(refused_stream(), request=REFUSE)
    assert run("stop_reason.refusal_reported", subject) == []
    assert judged("stop_reason.refusal_reported", subject) == ('stop_reason "refusal" for the refusal test string',)


def test_the_test_string_answered_as_a_finished_turn_fails(build):
    [text] = messages("stop_reason.refusal_reported", build.plain(message("I can't help with that."), request=REFUSE))
    assert text == 'Received: stop_reason "end_turn" with text "I can\'t help with that."\nExpected: "refusal" (the documented refusal test string triggers the streaming classifier)'


def test_other_prompts_are_not_judged_for_a_refusal(build):
    with pytest.raises(NotApplicable, match="not the documented refusal test string"):
        run("stop_reason.refusal_reported", build.plain())


def test_stop_details_with_category_or_nulls_pass(build):
    assert run("stop_reason.refusal_details_present", build.stream(refused_stream(), request=REFUSE)) == []
    nulls = {"type": "refusal", "category": None, "explanation": None}
    assert run("stop_reason.refusal_details_present", build.plain(message(content=[], stop_reason="refusal", stop_details=nulls))) == []


def test_a_refusal_without_stop_details_fails(build):
    [text] = messages("stop_reason.refusal_details_present", build.stream(refused_stream(None), request=REFUSE))
    assert text.startswith('Received: stop_details null with stop_reason "refusal"\nExpected: an object {"type": "refusal"')
    [wrong] = messages("stop_reason.refusal_details_present", build.plain(message(content=[], stop_reason="refusal", stop_details={"type": "refusal", "category": 7})))
    assert wrong.endswith("Expected: category a string or null")


def test_details_are_judged_only_on_refusals(build):
    with pytest.raises(NotApplicable, match="stop_reason is not refusal"):
        run("stop_reason.refusal_details_present", build.plain())


def test_answered_server_tool_calls_end_as_the_model_ends(build):
    subject = build.plain(message(content=[CALL, RESULT, {"type": "text", "text": "done"}]))
    assert run("stop_reason.pause_turn_reported", subject) == []
    assert judged("stop_reason.pause_turn_reported", subject) == ('1 server tool call(s), each answered by its result, stop_reason "end_turn"',)


def test_a_pending_call_needs_pause_turn(build):
    assert run("stop_reason.pause_turn_reported", build.plain(message(content=[CALL], stop_reason="pause_turn"))) == []
    [text] = messages("stop_reason.pause_turn_reported", build.plain(message(content=[CALL], stop_reason="end_turn")))
    assert text.startswith('Received: stop_reason "end_turn" with 1 server_tool_use block(s) (["web_search"]) left without a result\nExpected: "pause_turn"')


def test_the_simulated_pause_must_arrive_as_pause_turn(build):
    assert run("stop_reason.pause_turn_passed_through", build.plain(message(content=[CALL], stop_reason="pause_turn"))) == []
    [text] = messages("stop_reason.pause_turn_passed_through", build.plain(message(content=[CALL, RESULT])))
    assert text.startswith('Received: stop_reason "end_turn", 1 server tool call(s) answered, 0 pending\n')


def test_answers_without_server_tool_calls_are_not_judged_for_pause_turn(build):
    with pytest.raises(NotApplicable, match="no server_tool_use block"):
        run("stop_reason.pause_turn_reported", build.plain())
