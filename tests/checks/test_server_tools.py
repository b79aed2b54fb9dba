"""conformance/checks/server_tools.py: server tools run and reported, or refused, never dropped."""

from __future__ import annotations

import pytest

from conformance.checks.subject import Unjudgeable
from conformance.findings import NotApplicable

from . import _events as ev
from ._build import error_body, judged, message, messages, request_json, run

SEARCH_TOOL = {"type": "web_search_20250305", "name": "web_search", "max_uses": 1}
FETCH_TOOL = {"type": "web_fetch_20250910", "name": "web_fetch", "max_uses": 1}
CODE_TOOL = {"type": "code_execution_20250825", "name": "code_execution"}
ASK = [{"role": "user", "content": "Search the web for the capital of France, then reply with exactly this text and nothing else: done"}]
SEARCH = request_json(max_tokens=128, tools=[SEARCH_TOOL], tool_choice={"type": "tool", "name": "web_search"}, messages=ASK)
FETCH = request_json(max_tokens=128, tools=[FETCH_TOOL], tool_choice={"type": "tool", "name": "web_fetch"}, messages=ASK)
CODE = request_json(max_tokens=128, tools=[CODE_TOOL], tool_choice={"type": "tool", "name": "code_execution"}, messages=ASK)
CALL_ID = "srvtoolu_01WiP3ZfXZXSykVQEL78XJ4T"
RESULTS = [{"type": "web_search_result", "title": "Paris", "url": "https://example.com/paris", "encrypted_content": "EqQQ", "page_age": None}]


def use(name: str = "web_search", call_id: str = CALL_ID, **tool_input: object) -> dict:
    return {"type": "server_tool_use", "id": call_id, "name": name, "input": tool_input or {"query": "capital of France"}}


def result(kind: str = "web_search_tool_result", call_id: str = CALL_ID, content: object = None) -> dict:
    return {"type": kind, "tool_use_id": call_id, "content": RESULTS if content is None else content}


def searched(*blocks: dict, stop_reason: str = "end_turn", server_tool_use: object = None) -> dict:
    usage = {"input_tokens": 2684, "output_tokens": 40}
    if server_tool_use is not False:
        usage["server_tool_use"] = server_tool_use or {"web_search_requests": 1, "web_fetch_requests": 0}
    content = list(blocks) if blocks else [use(), result(), {"type": "text", "text": "done"}]
    return message(content=content, stop_reason=stop_reason, usage=usage)


def stream_events(*, result_block: dict | None = None, extra: list[dict] | None = None, stop_reason: str = "end_turn") -> list[dict]:
    """A streamed forced search as capture 12 shows it: the call with its input in pieces, the result whole in its start."""
    events: list[dict] = [
        ev.start(),
        {"type": "content_block_start", "index": 0, "content_block": {**use(), "input": {}}},
        ev.PING,
        ev.delta("input_json_delta", 0, partial_json=""),
        ev.delta("input_json_delta", 0, partial_json='{"query": "capital'),
        ev.delta("input_json_delta", 0, partial_json=' of France"}'),
        ev.block_stop(0),
    ]
    if result_block is not False:
        events += [{"type": "content_block_start", "index": 1, "content_block": result_block or result()}, *(extra or []), ev.block_stop(1)]
    usage = {"web_search_requests": 1 if result_block is not False else 0, "web_fetch_requests": 0}
    events += [ev.message_delta(stop_reason, output_tokens=40, input_tokens=10387, server_tool_use=usage), ev.STOP]
    return events


# ----------------------------------------------------------------------- web_tools_run / code_execution_run


def test_a_forced_search_answered_by_its_result_passes(build):
    subject = build.plain(searched(), request=SEARCH)
    assert run("server_tools.web_tools_run", subject) == []
    assert judged("server_tools.web_tools_run", subject) == ('server_tool_use "web_search" answered by "web_search_tool_result"',)


def test_a_streamed_forced_search_passes(build):
    assert run("server_tools.web_tools_run", build.stream(stream_events(), request=SEARCH)) == []


def test_a_forced_search_answered_by_the_model_alone_fails(build):
    [text] = messages("server_tools.web_tools_run", build.plain(message("done"), request=SEARCH))
    assert text.startswith('Received: no server_tool_use block for "web_search": content types ["text"], stop_reason "end_turn"\n')
    assert "accepted and not run, the answer comes from the model alone" in text


def test_a_server_tool_handed_to_the_client_fails(build):
    body = message(content=[{"type": "tool_use", "id": "toolu_01A", "name": "web_search", "input": {"query": "x"}}], stop_reason="tool_use")
    [text] = messages("server_tools.web_tools_run", build.plain(body, request=SEARCH))
    assert text.startswith('Received: a tool_use block named "web_search" with input {"query": "x"}')
    assert "handed to the client as a function nobody runs" in text


def test_a_call_without_its_result_fails_unless_the_turn_paused(build):
    [text] = messages("server_tools.web_tools_run", build.plain(searched(use(), {"type": "text", "text": "done"}), request=SEARCH))
    assert 'with no result block naming it' in text
    paused = build.plain(searched(use(), stop_reason="pause_turn"), request=SEARCH)
    assert run("server_tools.web_tools_run", paused) == []
    assert judged("server_tools.web_tools_run", paused) == ('server_tool_use "web_search" cut before its result by stop_reason "pause_turn"',)


def test_a_search_that_failed_inside_its_result_still_ran(build):
    error = {"type": "web_search_tool_result_error", "error_code": "max_uses_exceeded"}
    assert run("server_tools.web_tools_run", build.plain(searched(use(), result(content=error)), request=SEARCH)) == []


def test_the_result_of_another_tool_fails(build):
    [text] = messages("server_tools.web_tools_run", build.plain(searched(use(), result("web_fetch_tool_result")), request=SEARCH))
    assert text == 'Received: a "web_fetch_tool_result" block for server_tool_use "web_search"\nExpected: web_search_tool_result'


def test_a_clean_refusal_naming_the_tool_passes(build):
    refused = error_body(text="tools.0: web search is not enabled for this organization")
    subject = build.subject(build.exchange(status=400, body=refused, request=SEARCH, scenario="server_tools.web_search"))
    assert run("server_tools.web_tools_run", subject) == []
    assert judged("server_tools.web_tools_run", subject) == ('the web_search server tool refused with 400 invalid_request_error naming "web_search"',)


def test_a_refusal_that_is_not_a_clean_400_fails(build):
    crashed = error_body(kind="api_error", text="'NoneType' object has no attribute 'get'")
    [text] = messages("server_tools.web_tools_run", build.subject(build.exchange(status=500, body=crashed, request=SEARCH)))
    assert text.startswith('Received: status 500 ("api_error": "\'NoneType\' object has no attribute \'get\'")\nExpected: the web_search server tool served as documented, or refused cleanly')


def test_an_answer_still_rate_limited_is_no_verdict(build):
    exchange = build.exchange(status=429, body=error_body(kind="rate_limit_error", text="slow down"), request=SEARCH)
    from dataclasses import replace

    with pytest.raises(Unjudgeable):
        run("server_tools.web_tools_run", build.subject(replace(exchange, attempts=3)))


def test_a_forced_fetch_is_judged_and_code_execution_has_its_own_rule(build):
    fetched = searched(use("web_fetch", url="https://example.com"), result("web_fetch_tool_result", content={"type": "web_fetch_result", "url": "https://example.com"}))
    assert run("server_tools.web_tools_run", build.plain(fetched, request=FETCH)) == []
    with pytest.raises(NotApplicable, match=r"judged by server_tools\.web_tools_run"):
        run("server_tools.code_execution_run", build.plain(fetched, request=FETCH))
    ran = searched(use("bash_code_execution", command="echo hi"), result("bash_code_execution_tool_result", content={"type": "bash_code_execution_result", "stdout": "hi\n"}))
    assert run("server_tools.code_execution_run", build.plain(ran, request=CODE)) == []
    with pytest.raises(NotApplicable, match=r"judged by server_tools\.code_execution_run"):
        run("server_tools.web_tools_run", build.plain(ran, request=CODE))


def test_requests_that_force_no_server_tool_are_not_judged(build):
    with pytest.raises(NotApplicable, match="forces no server tool"):
        run("server_tools.web_tools_run", build.plain(request=request_json(tools=[SEARCH_TOOL])))


# ----------------------------------------------------------------------------- usage_counts_requests


def test_usage_counts_each_search_that_ran(build):
    subject = build.plain(searched())
    assert run("server_tools.usage_counts_requests", subject) == []
    assert judged("server_tools.usage_counts_requests", subject) == ("usage.server_tool_use.web_search_requests 1 for 1 web_search call(s), 1 with results",)


def test_usage_without_server_tool_use_fails(build):
    [text] = messages("server_tools.usage_counts_requests", build.plain(searched(server_tool_use=False)))
    assert text == (
        "Received: no usage.server_tool_use for 1 web_search server_tool_use block(s), 1 of them answered with results\n"
        "Expected: usage.server_tool_use.web_search_requests counting the web_search requests that ran: at least 1, at most 1"
    )


def test_usage_that_counts_more_requests_than_calls_fails(build):
    assert messages("server_tools.usage_counts_requests", build.plain(searched(server_tool_use={"web_search_requests": 2})))


def test_a_paused_call_and_a_failed_fetch_may_or_may_not_count(build):
    paused = searched(use(), stop_reason="pause_turn", server_tool_use={"web_search_requests": 0})
    assert run("server_tools.usage_counts_requests", build.plain(paused)) == []
    failed = searched(use("web_fetch", url="https://x.test"), result("web_fetch_tool_result", content={"type": "web_fetch_tool_result_error", "error_code": "unavailable"}),
                      server_tool_use={"web_search_requests": 0, "web_fetch_requests": 1})
    assert run("server_tools.usage_counts_requests", build.plain(failed)) == []


def test_streamed_usage_is_read_from_message_delta(build):
    assert run("server_tools.usage_counts_requests", build.stream(stream_events(), request=SEARCH)) == []


def test_an_answer_without_web_calls_is_not_judged(build):
    with pytest.raises(NotApplicable, match="no web_search or web_fetch server_tool_use block"):
        run("server_tools.usage_counts_requests", build.plain())


# ----------------------------------------------------------------------------- stream_results_whole


def test_a_result_whole_in_its_start_passes(build):
    subject = build.stream(stream_events(), request=SEARCH)
    assert run("server_tools.stream_results_whole", subject) == []
    assert judged("server_tools.stream_results_whole", subject) == ("1 server_tool_use block(s)", "1 result block(s) whole in content_block_start")


def test_a_search_that_found_nothing_is_an_empty_list_not_a_missing_result(build):
    assert run("server_tools.stream_results_whole", build.stream(stream_events(result_block=result(content=[])), request=SEARCH)) == []


def test_a_result_sent_in_deltas_fails(build):
    events = stream_events(result_block=result(content=[]), extra=[ev.delta("tool_result_delta", 1, content=RESULTS)])
    [text] = messages("server_tools.stream_results_whole", build.stream(events, request=SEARCH))
    assert text.startswith('Received: a "tool_result_delta" delta for the "web_search_tool_result" block at index 1\n')


def test_a_result_start_without_content_fails(build):
    [text] = messages("server_tools.stream_results_whole", build.stream(stream_events(result_block={"type": "web_search_tool_result", "tool_use_id": CALL_ID}), request=SEARCH))
    assert text.startswith('Received: content_block_start of a "web_search_tool_result" block carrying {"tool_use_id": ')


def test_a_stream_without_server_tool_blocks_is_not_judged(build):
    with pytest.raises(NotApplicable, match="no server tool block"):
        run("server_tools.stream_results_whole", build.stream())
