"""conformance/checks/tools.py: tool calls judged against the request's tools and tool_choice."""

from __future__ import annotations

import json

import pytest
from capture_corpus import answers

from conformance.findings import NotApplicable

from . import _events as ev
from ._build import judged, message, messages, request_json, run, violations

TOOL_ID = "toolu_01A09q90qw90lq917835lq9"
WEATHER = {
    "name": "get_weather",
    "description": "Get the current weather in a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string", "enum": ["Paris", "London", "Tokyo"]}},
        "required": ["city"],
        "additionalProperties": False,
    },
}
ASK = [{"role": "user", "content": "What is the weather in Paris? Use the get_weather tool."}]
FORCED = request_json(max_tokens=128, tools=[WEATHER], tool_choice={"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True}, messages=ASK)
ANY = request_json(max_tokens=128, tools=[WEATHER], tool_choice={"type": "any", "disable_parallel_tool_use": True}, messages=ASK)
NONE = request_json(max_tokens=16, tools=[WEATHER], tool_choice={"type": "none"}, messages=ASK)
AUTO = request_json(max_tokens=128, tools=[WEATHER], messages=ASK)


def tool_use(city: object = "Paris", *, tool_id: str = TOOL_ID, name: str = "get_weather") -> dict:
    return {"type": "tool_use", "id": tool_id, "name": name, "input": {"city": city} if city is not None else {}}


def called(*blocks: dict, stop_reason: str = "tool_use") -> dict:
    return message(content=list(blocks) or [tool_use()], stop_reason=stop_reason)


def tool_events(*pieces: str, tool_id: str = TOOL_ID, stop_reason: str = "tool_use") -> list[dict]:
    """A stream of one tool_use block whose input arrives in ``pieces`` (first-party sends "" first)."""
    first = ev.block_start(0, "tool_use")
    first["content_block"]["id"] = tool_id
    return [
        ev.start(),
        first,
        ev.PING,
        *(ev.delta("input_json_delta", 0, partial_json=p) for p in (pieces or ("", '{"city": ', '"Paris"}'))),
        ev.block_stop(0),
        ev.message_delta(stop_reason, output_tokens=40),
        ev.STOP,
    ]


# ------------------------------------------------------------------- tools.forced_tool_called


def test_forced_tool_called_passes(build):
    assert run("tools.forced_tool_called", build.plain(called(), request=FORCED)) == []
    assert run("tools.forced_tool_called", build.plain(called(), request=ANY)) == []
    assert run("tools.forced_tool_called", build.stream(tool_events(), request=FORCED)) == []


def test_forced_tool_called_flags_a_text_answer(build):
    # peers.md §4.6 #10: the call is lost in translation.
    [violation] = run("tools.forced_tool_called", build.plain(message("It is sunny.", stop_reason="tool_use"), request=FORCED))
    assert violation.message == 'Received: no tool_use block (content types ["text"], stop_reason "tool_use")\nExpected: a tool_use block named "get_weather" (tool_choice forces it)'
    assert violation.at == "/content"


def test_forced_tool_called_flags_a_namespaced_name(build):
    body = called(tool_use(name="mcp__client_tools__get_weather"))
    assert messages("tools.forced_tool_called", build.plain(body, request=FORCED)) == [
        'Received: tool_use blocks for "mcp__client_tools__get_weather"\nExpected: a tool_use block named "get_weather" (tool_choice forces it)'
    ]
    assert messages("tools.forced_tool_called", build.plain(body, request=ANY)) == [
        'Received: tool_use blocks for "mcp__client_tools__get_weather"\nExpected: a tool_use block for one of ["get_weather"] (tool_choice any)'
    ]


def test_forced_tool_called_needs_a_forcing_tool_choice(build):
    for request in (AUTO, NONE, request_json()):
        with pytest.raises(NotApplicable, match="does not force"):
            run("tools.forced_tool_called", build.plain(called(), request=request))


@pytest.mark.parametrize("choice", [{"type": "tool"}, {"type": "tool", "name": "get_time"}], ids=["no-name", "unknown-name"])
def test_forced_tool_called_does_not_judge_a_choice_of_no_defined_tool(build, choice):
    # Such a request is to be refused (tools.tool_choice_*_rejected); a gateway that served it has nothing to honour.
    request = request_json(max_tokens=16, tools=[WEATHER], tool_choice=choice, messages=ASK)
    with pytest.raises(NotApplicable, match="which is no tool of the request"):
        run("tools.forced_tool_called", build.plain(called(), request=request))
    # The answer carries a call, so its stop_reason is judged by the call, whatever the tool_choice.
    assert run("tools.stop_reason_tool_use", build.plain(called(), request=request)) == []


def test_forced_tool_called_leaves_answers_cut_by_max_tokens(build):
    with pytest.raises(NotApplicable, match="max_tokens cut"):
        run("tools.forced_tool_called", build.plain(message("I", stop_reason="max_tokens"), request=FORCED))


# -------------------------------------------------------------------- tools.stop_reason_tool_use


def test_stop_reason_tool_use_passes(build):
    assert run("tools.stop_reason_tool_use", build.plain(called(), request=FORCED)) == []
    assert run("tools.stop_reason_tool_use", build.stream(tool_events(), request=FORCED)) == []


def test_stop_reason_tool_use_flags_end_turn(build):
    # finish_reason tool_calls translated to end_turn (pgEdge/pgedge-postgres-mcp#217).
    [violation] = run("tools.stop_reason_tool_use", build.plain(called(stop_reason="end_turn"), request=FORCED))
    assert violation.message == 'Received: stop_reason "end_turn" with tool_use blocks for "get_weather"\nExpected: "tool_use" (tool_choice forces a tool call)'
    assert violation.at == "/stop_reason"
    [violation] = run("tools.stop_reason_tool_use", build.stream(tool_events(stop_reason="end_turn"), request=FORCED))
    assert violation.at == "message_delta /delta/stop_reason"


def test_stop_reason_tool_use_leaves_null_to_the_schema(build):
    with pytest.raises(NotApplicable, match="no stop_reason"):
        run("tools.stop_reason_tool_use", build.plain(called(stop_reason=None), request=FORCED))


# ------------------------------------------------------------------- tools.tool_use_block_present


def test_tool_use_block_present_passes(build):
    assert run("tools.tool_use_block_present", build.plain(called(), request=AUTO)) == []
    assert run("tools.tool_use_block_present", build.stream(tool_events(), request=FORCED)) == []


def test_tool_use_block_present_flags_a_stop_reason_without_a_call(build):
    events = [ev.start(), ev.block_start(0), ev.delta("text_delta", 0, text="Checking."), ev.block_stop(0), ev.message_delta("tool_use"), ev.STOP]
    [violation] = run("tools.tool_use_block_present", build.stream(events, request=AUTO))
    assert violation.message == 'Received: no tool_use block (content types ["text"], stop_reason "tool_use")\nExpected: at least one tool_use block with stop_reason tool_use'
    assert violation.at == "rebuilt message /content"


def test_tool_use_block_present_only_judges_tool_use_stops(build):
    with pytest.raises(NotApplicable, match="not tool_use"):
        run("tools.tool_use_block_present", build.plain())


# --------------------------------------------------------------------------- tools.id_prefix


def test_id_prefix_passes_first_party_and_platform_ids(build):
    body = called(tool_use(), tool_use("London", tool_id="toolu_bdrk_01Xyz"), tool_use("Tokyo", tool_id="toolu_vrtx_01Abc"))
    assert run("tools.id_prefix", build.plain(body, request=AUTO)) == []


def test_id_prefix_flags_openai_call_ids(build):
    [violation] = run("tools.id_prefix", build.plain(called(tool_use(tool_id="call_abc123")), request=FORCED))
    assert violation.message == 'Received: tool_use id "call_abc123"\nExpected: an id starting with toolu_'
    assert violation.at == "/content/0/id"
    [violation] = run("tools.id_prefix", build.stream(tool_events(tool_id="call_abc123"), request=FORCED))
    assert violation.at == "rebuilt message /content/0/id"


def test_id_prefix_needs_a_call(build):
    with pytest.raises(NotApplicable, match="no tool_use block"):
        run("tools.id_prefix", build.plain())


# -------------------------------------------------------------------------- tools.ids_unique


def test_ids_unique_passes_distinct_ids(build):
    body = called(tool_use(), tool_use("London", tool_id="toolu_01B"))
    assert run("tools.ids_unique", build.plain(body, request=AUTO)) == []


def test_ids_unique_flags_a_repeated_id(build):
    # peers.md §4.6 #11: a new block for every argument chunk, same id.
    [violation] = run("tools.ids_unique", build.plain(called(tool_use(), tool_use("London")), request=AUTO))
    assert violation.message == f'Received: tool_use id "{TOOL_ID}" again (first at /content/0)\nExpected: a distinct id for every tool_use block'
    assert violation.at == "/content/1/id"


# ---------------------------------------------------------------- tools.input_matches_schema


def test_input_matches_schema_passes(build):
    assert run("tools.input_matches_schema", build.plain(called(), request=FORCED)) == []
    assert run("tools.input_matches_schema", build.stream(tool_events(), request=FORCED)) == []


def test_input_matches_schema_flags_lost_arguments(build):
    # LiteLLM #25605: streamed input {} (arguments lost).
    [violation] = run("tools.input_matches_schema", build.stream(tool_events("", ""), request=FORCED))
    assert violation.message == "Received: input {}: 'city' is a required property\nExpected: an input valid against get_weather's input_schema"
    assert violation.at == "rebuilt message /content/0/input"


def test_input_matches_schema_points_at_the_wrong_value(build):
    [violation] = run("tools.input_matches_schema", build.plain(called(tool_use("Berlin")), request=FORCED))
    assert violation.message == 'Received: input {"city": "Berlin"}: \'Berlin\' is not one of [\'Paris\', \'London\', \'Tokyo\']\nExpected: an input valid against get_weather\'s input_schema'
    assert violation.at == "/content/0/input/city"


def test_input_matches_schema_leaves_non_objects_and_unknown_tools(build):
    string_input = called({"type": "tool_use", "id": TOOL_ID, "name": "get_weather", "input": '{"city": "Paris"}'})
    for body, request in ((string_input, FORCED), (called(tool_use(name="other")), FORCED), (called(), request_json())):
        with pytest.raises(NotApplicable, match="no tool_use block with an object input"):
            run("tools.input_matches_schema", build.plain(body, request=request))


# ----------------------------------------------------------------------- tools.name_declared


def test_name_declared_passes_on_a_faithful_call(build):
    for request in (AUTO, ANY, FORCED):
        assert run("tools.name_declared", build.plain(called(), request=request)) == []
    assert run("tools.name_declared", build.stream(tool_events(), request=AUTO)) == []
    assert judged("tools.name_declared", build.plain(called(), request=AUTO)) == ('the names of 1 tool_use block(s) against the request\'s tools ["get_weather"]',)


def test_name_declared_flags_an_unforced_call_under_another_name(build):
    # The fault tool-name-recipient-prefix: gpt-oss's Harmony recipient left in (cubist38/mlx-openai-server#51); forced_tool_called cannot see it.
    body = called(tool_use(name="functions.get_weather"))
    [violation] = run("tools.name_declared", build.plain(body, request=AUTO))
    assert violation.message == 'Received: tool_use named "functions.get_weather"\nExpected: one of the request\'s tools ["get_weather"], spelled as defined'
    assert violation.at == "/content/0/name"
    with pytest.raises(NotApplicable, match="does not force"):
        run("tools.forced_tool_called", build.plain(body, request=AUTO))


def test_name_declared_leaves_out_what_it_cannot_judge(build):
    with pytest.raises(NotApplicable, match="defines no tools"):
        run("tools.name_declared", build.plain(called(tool_use(name="functions.get_weather")), request=request_json()))
    with pytest.raises(NotApplicable, match="no tool_use block"):
        run("tools.name_declared", build.plain(message("Sunny."), request=AUTO))
    member = {**tool_use(name="search_issues"), "toolset_name": "github"}
    with pytest.raises(NotApplicable, match="toolset"):
        run("tools.name_declared", build.plain(called(member), request=AUTO))
    toolset = request_json(max_tokens=128, tools=[WEATHER, {"type": "mcp_toolset", "mcp_server_name": "github"}], messages=ASK)
    with pytest.raises(NotApplicable, match="without a name"):
        run("tools.name_declared", build.plain(called(tool_use(name="search_issues")), request=toolset))


# -------------------------------------------------------------- tools.stream_input_is_object


def test_stream_input_is_object_passes(build):
    assert run("tools.stream_input_is_object", build.stream(tool_events(), request=FORCED)) == []
    assert run("tools.stream_input_is_object", build.stream(tool_events(""), request=FORCED)) == []  # no pieces: {}


def test_stream_input_is_object_flags_a_json_string(build):
    # OpenAI's arguments string forwarded as input (nielspeter/claude-code-proxy#13).
    [violation] = run("tools.stream_input_is_object", build.stream(tool_events(json.dumps('{"city": "Paris"}')), request=FORCED))
    assert violation.message == 'Received: input_json_delta pieces joining into "{\\"city\\": \\"Paris\\"}"\nExpected: the JSON text of an object'
    assert violation.at == "rebuilt message /content/0/input"


def test_stream_input_is_object_flags_unparseable_pieces(build):
    assert messages("tools.stream_input_is_object", build.stream(tool_events('{"city": '), request=FORCED)) == [
        'Received: input_json_delta pieces joining into "{\\"city\\": "\nExpected: the JSON text of an object'
    ]


def test_stream_input_is_object_needs_a_stream(build):
    with pytest.raises(NotApplicable, match="not a stream"):
        run("tools.stream_input_is_object", build.plain(called(), request=FORCED))


# ----------------------------------------------------------- tools.stream_input_matches_twin


def test_stream_input_matches_twin_passes(build):
    twin = build.twin(called(), scenario="tools.forced")
    assert run("tools.stream_input_matches_twin", build.stream(tool_events(), request=FORCED, twin=twin)) == []


def test_stream_input_matches_twin_flags_lost_arguments(build):
    # peers.md §4.6 #12 (LiteLLM #25605): the stream's input is {} while the plain answer has the city.
    twin = build.twin(called(), scenario="tools.forced")
    [violation] = run("tools.stream_input_matches_twin", build.stream(tool_events("", ""), request=FORCED, twin=twin))
    assert violation.message == (
        'Received: input {} joined from input_json_delta\n'
        'Expected: the arguments of {"city": "Paris"} (same keys, same JSON types), as the same request not streamed (tools.forced)'
    )
    assert violation.at == "rebuilt message /content/0/input"


def test_stream_input_matches_twin_lets_two_samples_pick_different_values(build):
    # A model (or a mock) may fill the forced call with another valid city: the arguments are the same.
    twin = build.twin(called(), scenario="tools.forced")
    events = tool_events('{"city": ', '"London"}')
    assert run("tools.stream_input_matches_twin", build.stream(events, request=FORCED, twin=twin)) == []


def test_stream_input_matches_twin_flags_a_retyped_argument(build):
    twin = build.twin(called(), scenario="tools.forced")
    [violation] = run("tools.stream_input_matches_twin", build.stream(tool_events('{"city": ', '["Paris"]}'), request=FORCED, twin=twin))
    assert violation.message.startswith('Received: input {"city": ["Paris"]} joined from input_json_delta')


def test_stream_input_matches_twin_needs_a_forced_call_in_the_twin(build):
    with pytest.raises(NotApplicable, match="made no tool call"):
        run("tools.stream_input_matches_twin", build.stream(tool_events(), request=FORCED, twin=build.twin()))
    with pytest.raises(NotApplicable, match="no successful non-stream twin"):
        run("tools.stream_input_matches_twin", build.stream(tool_events(), request=FORCED))
    with pytest.raises(NotApplicable, match="does not force"):
        run("tools.stream_input_matches_twin", build.stream(tool_events(), request=AUTO, twin=build.twin(called())))


# ---------------------------------------------------- tools.tool_choice_none_respected


def test_tool_choice_none_respected_passes(build):
    assert run("tools.tool_choice_none_respected", build.plain(message("I cannot check that."), request=NONE)) == []


def test_tool_choice_none_respected_flags_a_call(build):
    [violation] = run("tools.tool_choice_none_respected", build.plain(called(), request=NONE))
    assert violation.message == 'Received: tool_use blocks for "get_weather"\nExpected: no tool_use block (tool_choice none)'
    assert violation.at == "/content/0"


def test_tool_choice_none_respected_only_judges_none(build):
    with pytest.raises(NotApplicable, match="not none"):
        run("tools.tool_choice_none_respected", build.plain(called(), request=AUTO))


# --------------------------------------------------- tools.parallel_disabled_respected


def test_parallel_disabled_respected_passes_one_call(build):
    assert run("tools.parallel_disabled_respected", build.plain(called(), request=ANY)) == []


def test_parallel_disabled_respected_flags_a_second_call(build):
    body = called(tool_use(), tool_use("London", tool_id="toolu_01B"))
    [violation] = run("tools.parallel_disabled_respected", build.plain(body, request=ANY))
    assert violation.message == 'Received: 2 tool_use blocks (tool_use blocks for "get_weather", "get_weather")\nExpected: at most one (disable_parallel_tool_use true)'
    assert violation.at == "/content/1"


def test_parallel_disabled_respected_only_judges_the_flag(build):
    with pytest.raises(NotApplicable, match="not true"):
        run("tools.parallel_disabled_respected", build.plain(called(tool_use(), tool_use("London", tool_id="toolu_01B")), request=AUTO))


# ------------------------------------------------------------------------------ captures

REQUEST_FREE = ["tools.tool_use_block_present", "tools.id_prefix", "tools.ids_unique", "tools.stream_input_is_object", "tools.input_matches_schema"]


@pytest.mark.parametrize("path", answers(), ids=lambda p: p.stem)
def test_real_answers_raise_no_tool_alarm(build, path):
    assert violations(build.real(path), REQUEST_FREE) == {}


# ------------------------------------------------------------------ tools.no_text_before_forced_call


def test_no_text_before_forced_call_passes(build):
    subject = build.plain(called(), request=FORCED)
    assert run("tools.no_text_before_forced_call", subject) == []
    assert judged("tools.no_text_before_forced_call", subject) == ('0 block(s) before the first tool_use under tool_choice "tool"',)
    # Whitespace-only text blocks are what Anthropic itself sends (captures 17, 18): tolerated.
    assert run("tools.no_text_before_forced_call", build.plain(called({"type": "text", "text": "\n\n"}, tool_use()), request=ANY)) == []


def test_no_text_before_forced_call_flags_a_preamble(build):
    # A forced tool_choice prefills the assistant turn (tool-use guide); a gateway whose backend writes a preamble first breaks that.
    body = called({"type": "text", "text": "I'll use the get_weather tool for that."}, tool_use())
    [violation] = run("tools.no_text_before_forced_call", build.plain(body, request=ANY))
    assert violation.message == (
        'Received: a text block "I\'ll use the get_weather tool for that." before the tool_use block\n'
        "Expected: the tool_use block first (a forced tool_choice prefills the assistant turn, so no text precedes the call)"
    )
    assert violation.at == "/content/0/text"


def test_no_text_before_forced_call_applies_to_forced_calls_only(build):
    with pytest.raises(NotApplicable, match="does not force"):
        run("tools.no_text_before_forced_call", build.plain(called(), request=AUTO))
    with pytest.raises(NotApplicable, match=r"judged by tools\.forced_tool_called"):
        run("tools.no_text_before_forced_call", build.plain(message("Paris"), request=FORCED))


def test_converted_tool_checks_name_what_they_judged(build):
    assert judged("tools.forced_tool_called", build.plain(called(), request=FORCED)) == ('tool_use blocks for "get_weather" under tool_choice "tool"',)
    assert judged("tools.stop_reason_tool_use", build.plain(called(), request=FORCED)) == ('stop_reason "tool_use" with 1 tool_use block(s) under tool_choice "tool"',)
    assert judged("tools.tool_choice_none_respected", build.plain(message("Sunny."), request=NONE)) == (
        'no tool_use block (content types ["text"], stop_reason "end_turn") under tool_choice "none"',
    )
    assert judged("tools.parallel_disabled_respected", build.plain(called(), request=ANY)) == ("1 tool_use block(s) with disable_parallel_tool_use true",)
    assert judged("tools.ids_unique", build.plain(called(), request=FORCED)) == ("the ids of 1 tool_use block(s)",)


def test_stream_input_matches_twin_leaves_a_stream_without_calls_to_forced_tool_called(build):
    twin = build.twin(called(), scenario="tools.forced")
    events = [ev.start(), ev.block_start(0), ev.delta("text_delta", 0, text="Paris"), ev.block_stop(0), ev.message_delta("end_turn"), ev.STOP]
    with pytest.raises(NotApplicable, match=r"the stream made no tool call \(judged by tools\.forced_tool_called\)"):
        run("tools.stream_input_matches_twin", build.stream(events, request=FORCED, twin=twin))
