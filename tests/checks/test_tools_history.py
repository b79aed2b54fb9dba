"""conformance/checks/tools.py, the rules issue 9 added: ids across the run, stop_reason with any call, one source of streamed input.

Hand-built exchanges both ways: a faithful answer passes and names what it judged, each deviation the
rule exists for fails with its exact message, and what the rule cannot judge is NotApplicable with why.
"""

from __future__ import annotations

import contextlib

import pytest
from capture_corpus import answers

from conformance.checks.registry import registered
from conformance.findings import Judgement, NotApplicable

from . import _events as ev
from ._build import message, request_json

WEATHER = {"name": "get_weather", "description": "Weather.", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
ASK = [{"role": "user", "content": "What is the weather in Paris? Use the get_weather tool."}]
AUTO = request_json(max_tokens=128, tools=[WEATHER], messages=ASK)
FORCED = request_json(max_tokens=128, tools=[WEATHER], tool_choice={"type": "tool", "name": "get_weather"}, messages=ASK)


def judge(check_id: str, subject) -> Judgement:
    result = registered()[check_id](subject)
    assert isinstance(result, Judgement), "the rules of issue 9 return a Judgement"
    return result


def call(tool_id: str = "toolu_01A09q90qw90lq917835lq9", city: str = "Paris") -> dict:
    return {"type": "tool_use", "id": tool_id, "name": "get_weather", "input": {"city": city}}


def called(*blocks: dict, stop_reason: str = "tool_use") -> dict:
    return message(content=list(blocks) or [call()], stop_reason=stop_reason)


def tool_stream(*pieces: str, tool_id: str = "toolu_01A09q90qw90lq917835lq9", start_input: dict | None = None, stop_reason: str = "tool_use") -> bytes:
    first = ev.block_start(0, "tool_use")
    first["content_block"]["id"] = tool_id
    if start_input is not None:
        first["content_block"]["input"] = start_input
    return ev.sse([ev.start(), first, ev.PING, *(ev.delta("input_json_delta", 0, partial_json=p) for p in pieces), ev.block_stop(0), ev.message_delta(stop_reason, output_tokens=40), ev.STOP])


# ----------------------------------------------------------------- tools.ids_unique_across_run


def run_of(build, own: dict, others: dict[str, dict | bytes]):
    """A subject for ``own`` (tools.forced) with the run's other answers as peers (a bytes body is a stream)."""
    peers = [
        build.exchange(body=body, scenario=sid, request={**AUTO, "stream": True} if isinstance(body, bytes) else AUTO)
        for sid, body in others.items()
    ]
    return build.subject(build.exchange(body=own, scenario="tools.forced", request=FORCED), peers=peers)


def test_ids_unique_across_run_passes_on_fresh_ids(build):
    subject = run_of(build, called(call("toolu_01Aaaa")), {"thinking.tool": called(call("toolu_01Bbbb")), "tools.forced.stream": tool_stream("", '{"city":"Paris"}', tool_id="toolu_01Cccc")})
    result = judge("tools.ids_unique_across_run", subject)
    assert result.violations == ()
    assert result.judged == ('tool_use id "toolu_01Aaaa" against 2 call(s) of other answers',)


def test_ids_unique_across_run_flags_an_id_another_answer_used(build):
    # NVIDIA-NeMo/Switchyard#502: per-response ids (call_0 in every answer); here toolu_0, restarted by each answer.
    subject = run_of(build, called(call("toolu_0")), {"thinking.tool": called(call("toolu_0")), "tools.single": called(call("toolu_1"))})
    [violation] = judge("tools.ids_unique_across_run", subject).violations
    assert violation.message == 'Received: tool_use id "toolu_0", already the id of a call in the answer to thinking.tool\nExpected: a fresh id for every call (no two tool_use blocks of a conversation share one)'
    assert violation.at == "/content/0/id"


def test_ids_unique_across_run_reads_streamed_answers_as_rebuilt(build):
    subject = run_of(build, called(call("toolu_0")), {"tools.forced.stream": tool_stream("", '{"city":"Paris"}', tool_id="toolu_0")})
    [violation] = judge("tools.ids_unique_across_run", subject).violations
    assert "in the answer to tools.forced.stream" in violation.message


def test_ids_unique_across_run_ignores_histories_and_refusals(build):
    # A request's history repeats ids by design (a follow-up sends the call back); a refusal carries no calls.
    history = build.exchange(body=message("Sunny."), scenario="thinking.round_trip", request={**AUTO, "messages": [*ASK, {"role": "assistant", "content": [call("toolu_0")]}]})
    refused = build.exchange(status=400, body={"type": "error", "error": {"type": "invalid_request_error", "message": "no"}}, scenario="tools.bad_name")
    subject = build.subject(build.exchange(body=called(call("toolu_0")), scenario="tools.forced", request=FORCED), peers=[history, refused])
    with pytest.raises(NotApplicable, match="no other answer of the run carries a tool_use block"):
        judge("tools.ids_unique_across_run", subject)


def test_ids_unique_across_run_needs_a_call(build):
    with pytest.raises(NotApplicable, match="no tool_use block with an id"):
        judge("tools.ids_unique_across_run", build.plain(message("Sunny.")))


# ------------------------------------------------------ tools.stop_reason_tool_use


def test_stop_reason_when_called_passes_forced_or_not(build):
    for request, choice in ((AUTO, "auto"), (FORCED, "tool")):
        result = judge("tools.stop_reason_tool_use", build.plain(called(), request=request))
        assert (result.judged, result.violations) == ((f'stop_reason "tool_use" with 1 tool_use block(s) under tool_choice "{choice}"',), ())
    assert judge("tools.stop_reason_tool_use", build.stream(tool_stream("", '{"city":"Paris"}'), request=AUTO)).violations == ()


def test_stop_reason_when_called_flags_an_unforced_call_reported_end_turn(build):
    # pgEdge/pgedge-postgres-mcp#217: the call's finish reason translated to end_turn; the SDK tool runner then stops.
    [violation] = judge("tools.stop_reason_tool_use", build.plain(called(stop_reason="end_turn"), request=AUTO)).violations
    assert violation.message == 'Received: stop_reason "end_turn" with tool_use blocks for "get_weather"\nExpected: "tool_use" (the answer ends in tool calls for the client to run)'
    assert violation.at == "/stop_reason"
    [streamed] = judge("tools.stop_reason_tool_use", build.stream(tool_stream("", '{"city":"Paris"}', stop_reason="end_turn"), request=AUTO)).violations
    assert streamed.at == "message_delta /delta/stop_reason"


@pytest.mark.parametrize("reason", ["max_tokens", "model_context_window_exceeded", "refusal", "pause_turn"])
def test_stop_reason_when_called_leaves_turns_cut_or_paused(build, reason):
    with pytest.raises(NotApplicable, match=f'stop_reason "{reason}"'):
        judge("tools.stop_reason_tool_use", build.plain(called(stop_reason=reason), request=AUTO))


def test_stop_reason_when_called_needs_a_call(build):
    with pytest.raises(NotApplicable, match="no tool_use block"):
        judge("tools.stop_reason_tool_use", build.plain(message("Sunny.", stop_reason="tool_use"), request=AUTO))


@pytest.mark.parametrize("path", answers(), ids=lambda p: p.stem)
def test_stop_reason_when_called_holds_on_every_capture(build, path):
    subject = build.real(path, AUTO)
    with contextlib.suppress(NotApplicable):
        assert judge("tools.stop_reason_tool_use", subject).violations == ()


# ---------------------------------------------------------- tools.stream_input_single_source


def test_stream_input_single_source_passes_deltas_or_a_whole_start(build):
    result = judge("tools.stream_input_single_source", build.stream(tool_stream("", '{"city": ', '"Paris"}'), request=FORCED))
    assert (result.judged, result.violations) == (("tool_use block 0: input from 2 input_json_delta piece(s)",), ())
    # Programmatic tool calling: the whole input at the start, no input_json_delta (an empty first piece carries nothing).
    whole = judge("tools.stream_input_single_source", build.stream(tool_stream("", start_input={"city": "Paris"}), request=FORCED))
    assert (whole.judged, whole.violations) == (("tool_use block 0: input from content_block_start",), ())


def test_stream_input_single_source_flags_a_start_input_with_deltas(build):
    # The AI SDK starts from the start input and appends the deltas: {"city":"Paris"}{"city":"Paris"}.
    subject = build.stream(tool_stream("", '{"city":"Paris"}', start_input={"city": "Paris"}), request=FORCED)
    [violation] = judge("tools.stream_input_single_source", subject).violations
    assert violation.message == (
        'Received: content_block_start of tool_use block 0 with input {"city": "Paris"}, then 1 input_json_delta piece(s)\n'
        "Expected: the input from one source: input {} at the start and the JSON in input_json_delta pieces, or the whole input at the start and no input_json_delta (programmatic tool calling)"
    )
    assert violation.at.startswith("event #1 (content_block_start) @ byte ")


def test_stream_input_single_source_needs_a_streamed_call(build):
    with pytest.raises(NotApplicable, match="not a stream"):
        judge("tools.stream_input_single_source", build.plain(called(), request=FORCED))
    with pytest.raises(NotApplicable, match="no streamed tool_use block"):
        judge("tools.stream_input_single_source", build.stream())


def test_block_start_empty_leaves_a_programmatic_tool_call_start(build):
    # The whole input at the start with no input_json_delta is legal (programmatic tool calling); with deltas too it still warns.
    assert build_run(build, tool_stream("", start_input={"city": "Paris"})) == []
    [violation] = build_run(build, tool_stream("", '{"city":"Paris"}', start_input={"city": "Paris"}))
    assert violation.message == 'Received: a tool_use block starting with input {"city": "Paris"}\nExpected: input {}, the rest arriving as deltas'
    text_first = ev.sse([ev.start(), {**ev.block_start(0), "content_block": {"type": "text", "text": "Hi"}}, ev.text_delta(" there"), ev.block_stop(0), ev.message_delta(), ev.STOP])
    assert len(build_run(build, text_first)) == 1


def build_run(build, body: bytes) -> list:
    result = registered()["stream.block_start_empty"](build.stream(body, request=FORCED))
    return list(result) if isinstance(result, list) else list(result.violations)
