"""conformance/checks/structured.py: output_config.format and strict tool use, honoured or refused."""

from __future__ import annotations

import json

import pytest

from conformance.findings import NotApplicable

from . import _events as ev
from ._build import error_body, judged, message, messages, request_json, run

SCHEMA = {"type": "object", "properties": {"colour": {"enum": ["blue"]}, "count": {"enum": [3]}}, "required": ["colour", "count"], "additionalProperties": False}
FORMAT = request_json(max_tokens=64, output_config={"format": {"type": "json_schema", "schema": SCHEMA}}, messages=[{"role": "user", "content": "Reply with exactly this text and nothing else: The colour is red."}])
STRICT_TOOL = {
    "name": "record_weather",
    "description": "Record the weather forecast for a city.",
    "strict": True,
    "input_schema": {"type": "object", "properties": {"city": {"enum": ["Paris"]}, "days": {"enum": [3]}}, "required": ["city", "days"], "additionalProperties": False},
}
STRICT = request_json(max_tokens=128, tools=[STRICT_TOOL], tool_choice={"type": "tool", "name": "record_weather"},
                      messages=[{"role": "user", "content": 'Call record_weather with city set to "Paris, France" and days set to "three".'}])


def called(tool_input: dict) -> dict:
    return message(content=[{"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "record_weather", "input": tool_input}], stop_reason="tool_use")


# ------------------------------------------------------------------------------ output_format_honoured


def test_the_only_instance_of_the_schema_passes(build):
    subject = build.plain(message('{"colour": "blue", "count": 3}'), request=FORMAT)
    assert run("structured.output_format_honoured", subject) == []
    assert judged("structured.output_format_honoured", subject) == ('JSON text {"colour": "blue", "count": 3} against output_config.format.schema',)


def test_prose_where_json_was_asked_fails(build):
    [text] = messages("structured.output_format_honoured", build.plain(message("The colour is red."), request=FORMAT))
    assert text.startswith('Received: text "The colour is red.", which is not JSON (stop_reason "end_turn")\n')
    assert "the format was dropped on the way" in text


def test_json_outside_the_schema_fails(build):
    [text] = messages("structured.output_format_honoured", build.plain(message('{"colour": "red", "count": 3}'), request=FORMAT))
    assert text.startswith('Received: {"colour": "red", "count": 3}: /colour: \'red\' is not one of [\'blue\']\nExpected: a value valid against output_config.format.schema')


def test_streamed_json_is_judged_on_the_rebuilt_text(build):
    events = [ev.start(), ev.block_start(0), ev.PING, ev.delta("text_delta", 0, text='{"colour": '), ev.delta("text_delta", 0, text='"blue", "count": 3}'), ev.block_stop(0), ev.message_delta(output_tokens=9), ev.STOP]
    assert run("structured.output_format_honoured", build.stream(events, request=FORMAT)) == []


def test_an_answer_cut_by_max_tokens_is_not_judged(build):
    with pytest.raises(NotApplicable, match="max_tokens cut the answer"):
        run("structured.output_format_honoured", build.plain(message('{"colour": ', stop_reason="max_tokens"), request=FORMAT))


def test_a_clean_refusal_of_output_config_passes_and_a_500_fails(build):
    refused = build.subject(build.exchange(status=400, body=error_body(text="output_config.format: Extra inputs are not permitted"), request=FORMAT))
    assert run("structured.output_format_honoured", refused) == []
    crashed = build.subject(build.exchange(status=500, body=error_body(kind="api_error", text="Internal"), request=FORMAT))
    assert messages("structured.output_format_honoured", crashed)


def test_requests_without_a_format_are_not_judged(build):
    with pytest.raises(NotApplicable, match=r"no output_config\.format"):
        run("structured.output_format_honoured", build.plain())


# ------------------------------------------------------------------------------ strict_tool_input_valid


def test_a_strict_input_valid_against_its_schema_passes(build):
    subject = build.plain(called({"city": "Paris", "days": 3}), request=STRICT)
    assert run("structured.strict_tool_input_valid", subject) == []
    assert judged("structured.strict_tool_input_valid", subject) == ("the input of 1 strict tool call(s) against its input_schema",)


def test_a_strict_input_outside_its_schema_fails(build):
    [text] = messages("structured.strict_tool_input_valid", build.plain(called({"city": "Paris, France", "days": "three"}), request=STRICT))
    assert text.startswith('Received: input {"city": "Paris, France", "days": "three"} for the strict tool "record_weather": /city: \'Paris, France\' is not one of [\'Paris\']; /days: \'three\' is not one of [3]\n')
    assert "strict: true guarantees it" in text


def test_a_streamed_strict_input_is_judged_joined(build):
    events = [
        ev.start(),
        {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "record_weather", "input": {}}},
        ev.delta("input_json_delta", 0, partial_json=""),
        ev.delta("input_json_delta", 0, partial_json=json.dumps({"city": "Paris", "days": 3})),
        ev.block_stop(0),
        ev.message_delta("tool_use", output_tokens=9),
        ev.STOP,
    ]
    assert run("structured.strict_tool_input_valid", build.stream(events, request=STRICT)) == []


def test_a_clean_refusal_naming_strict_passes(build):
    refused = build.subject(build.exchange(status=400, body=error_body(text="tools.0.custom.strict: Extra inputs are not permitted"), request=STRICT))
    assert judged("structured.strict_tool_input_valid", refused) == ('strict tool use refused with 400 invalid_request_error naming "strict"',)


def test_calls_of_tools_that_are_not_strict_are_not_judged(build):
    loose = {**STRICT, "tools": [{k: v for k, v in STRICT_TOOL.items() if k != "strict"}]}
    with pytest.raises(NotApplicable, match="no tool with strict: true"):
        run("structured.strict_tool_input_valid", build.plain(called({"city": "Paris, France"}), request=loose))
