"""Tool use and thinking on the faithful server: the toy model's calls and thoughts, and every 400 they add.

Exact messages are the first-party wording where it is known (quoted in the modules' docstrings).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from conformance.reference import thoughts, tool_calls

from ._support import HAIKU, WEATHER_ASK, WEATHER_TOOL
from .test_validation_http import assert_error

THINKING = {"type": "enabled", "budget_tokens": 1024}


def body(prompt: str = WEATHER_ASK, **fields: Any) -> dict[str, Any]:
    """A tools request (fields override; None removes one)."""
    base: dict[str, Any] = {"model": HAIKU, "max_tokens": 128, "tools": [WEATHER_TOOL], "messages": [{"role": "user", "content": prompt}]}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def post(http, headers, payload: dict[str, Any]):
    return http.post("/v1/messages", headers=headers, json=payload)


def events(response) -> list[dict[str, Any]]:
    """The data objects of a stream, pings left out."""
    out = []
    for block in response.text.split("\n\n"):
        for line in block.split("\n"):
            if line.startswith("data: "):
                data = json.loads(line[6:])
                if data["type"] != "ping":
                    out.append(data)
    return out


# ---------------------------------------------------------------------------- tool calls


@pytest.mark.parametrize(
    ("choice", "prompt", "cities"),
    [
        ({"type": "tool", "name": "get_weather"}, "What is the weather in Paris?", ["Paris"]),
        ({"type": "any"}, "Weather in London please.", ["London"]),
        ({"type": "auto"}, WEATHER_ASK, ["Paris"]),
        (None, WEATHER_ASK, ["Paris"]),
        ({"type": "any"}, "What is the weather in Paris and in London?", ["Paris", "London"]),
        ({"type": "any", "disable_parallel_tool_use": True}, "What is the weather in Paris and in London?", ["Paris"]),
    ],
    ids=["tool", "any", "auto-named", "default-named", "parallel", "parallel-disabled"],
)
def test_calls_follow_tool_choice(http, headers, choice, prompt, cities):
    message = post(http, headers, body(prompt, tool_choice=choice)).json()
    assert message["stop_reason"] == "tool_use"
    assert [b["type"] for b in message["content"]] == ["tool_use"] * len(cities)
    assert [b["input"] for b in message["content"]] == [{"city": c} for c in cities]
    assert all(b["id"].startswith("toolu_01") and len(b["id"]) == 30 for b in message["content"])
    assert len({b["id"] for b in message["content"]}) == len(cities)


@pytest.mark.parametrize("choice", [{"type": "none"}, {"type": "auto"}], ids=["none", "auto-unnamed"])
def test_no_call_without_reason(http, headers, choice):
    prompt = WEATHER_ASK if choice["type"] == "none" else "Reply with exactly this text and nothing else: ok"
    message = post(http, headers, body(prompt, tool_choice=choice)).json()
    assert [b["type"] for b in message["content"]] == ["text"]
    assert message["stop_reason"] == "end_turn"


def test_streamed_call_joins_into_the_same_input(http, headers):
    data = events(post(http, headers, body(tool_choice={"type": "tool", "name": "get_weather"}, stream=True)))
    start = data[1]
    assert start["content_block"] == {"type": "tool_use", "id": start["content_block"]["id"], "name": "get_weather", "input": {}}
    pieces = [d["delta"]["partial_json"] for d in data if d["type"] == "content_block_delta"]
    assert pieces[0] == ""
    assert json.loads("".join(pieces)) == {"city": "Paris"}
    assert data[-2]["delta"]["stop_reason"] == "tool_use"


def test_input_fills_required_properties_of_every_type():
    schema = {
        "type": "object",
        "properties": {"place": {"type": "string"}, "days": {"type": "integer"}, "metric": {"type": "boolean"}, "note": {"type": "string"}},
        "required": ["place", "days", "metric"],
    }
    (call,) = tool_calls.choose("Forecast in Lyon for 3 days", [{"name": "forecast", "input_schema": schema}], {"type": "any"})
    assert call.input == {"place": "Lyon", "days": 3, "metric": True}
    assert call.block() == {"type": "tool_use", "id": call.id, "name": "forecast", "input": call.input}


def test_server_tools_are_never_called_by_the_toy():
    assert tool_calls.choose("use web_search", [{"type": "web_search_20250305", "name": "web_search"}], {"type": "any"}) == ()


# ----------------------------------------------------------------------------- tool 400s


@pytest.mark.parametrize(
    ("tools", "message"),
    [
        ([{**WEATHER_TOOL, "name": "weather.get"}], "tools.0.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'"),
        ([{**WEATHER_TOOL, "name": "x" * 129}], "tools.0.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'"),
        ([{**WEATHER_TOOL, "input_schema": {"type": "array"}}], "tools.0.custom.input_schema.type: Input should be 'object'"),
        ([{"name": "get_weather"}], "tools.0.custom.input_schema: Field required"),
        ([WEATHER_TOOL, WEATHER_TOOL], "tools: Tool names must be unique."),
    ],
    ids=["dotted-name", "long-name", "array-schema", "no-schema", "duplicate"],
)
def test_invalid_tool_definitions(http, headers, tools, message):
    assert_error(post(http, headers, body(tools=tools)), 400, "invalid_request_error", message)


def test_a_server_tool_keeps_its_versioned_type(http, headers):
    tools = [WEATHER_TOOL, {"type": "web_search_20250305", "name": "web_search"}]
    assert post(http, headers, body(tools=tools)).status_code == 200


def test_tool_choice_must_name_a_defined_tool(http, headers):
    response = post(http, headers, body(tool_choice={"type": "tool", "name": "nope"}))
    assert_error(response, 400, "invalid_request_error", "tool_choice.tool.name: Tool 'nope' not found in tools")
    response = post(http, headers, body(tool_choice={"type": "tool"}))
    assert_error(response, 400, "invalid_request_error", "tool_choice.tool.name: Field required")


def _history(*turns: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": WEATHER_ASK}, *turns]


CALL = {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris"}}]}
RESULT = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01A", "content": "sunny", "is_error": False}]}


def test_a_tool_round_trip_is_answered(http, headers):
    message = post(http, headers, body(messages=_history(CALL, RESULT))).json()
    assert message["type"] == "message"


@pytest.mark.parametrize(
    ("messages", "tools", "text"),
    [
        (_history(CALL, RESULT), None, "Requests which include `tool_use` or `tool_result` blocks must define tools."),
        (
            _history(CALL, {"role": "user", "content": "thanks"}),
            [WEATHER_TOOL],
            "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_01A. "
            "Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
        ),
        (
            _history({"role": "assistant", "content": "Let me check."}, RESULT),
            [WEATHER_TOOL],
            "messages.2.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_01A. "
            "Each `tool_result` block must have a corresponding `tool_use` block in the previous message.",
        ),
        (_history(CALL, RESULT, CALL, RESULT), [WEATHER_TOOL], "messages.3.content.0: `tool_use` ids must be unique"),
    ],
    ids=["no-tools", "unanswered-call", "orphan-result", "repeated-id"],
)
def test_tool_conversation_rules(http, headers, messages, tools, text):
    assert_error(post(http, headers, body(messages=messages, tools=tools)), 400, "invalid_request_error", text)


# ------------------------------------------------------------------------------ thinking


def test_thinking_comes_first_and_is_signed(http, headers):
    message = post(http, headers, body(max_tokens=1100, thinking=THINKING)).json()
    thought, call = message["content"]
    assert thought["type"] == "thinking"
    assert thoughts.issued(thought["thinking"], thought["signature"])
    assert call["type"] == "tool_use"
    assert message["usage"]["output_tokens"] <= 1100


def test_streamed_thinking_has_deltas_then_one_signature(http, headers):
    data = events(post(http, headers, body(max_tokens=1100, thinking=THINKING, stream=True)))
    thinking = [d for d in data if d.get("index") == 0]
    assert thinking[0]["content_block"] == {"type": "thinking", "thinking": "", "signature": ""}
    kinds = [d["delta"]["type"] for d in thinking if d["type"] == "content_block_delta"]
    assert kinds[-1] == "signature_delta"
    assert set(kinds[:-1]) == {"thinking_delta"}
    text = "".join(d["delta"].get("thinking", "") for d in thinking if d["type"] == "content_block_delta")
    assert thoughts.issued(text, thinking[-2]["delta"]["signature"])
    assert thinking[-1]["type"] == "content_block_stop"


def _continued(http, headers, change=None):
    first = post(http, headers, body(max_tokens=1100, thinking=THINKING)).json()
    content = copy.deepcopy(first["content"])
    if change is not None:
        content = change(content)
    calls = [b["id"] for b in first["content"] if b["type"] == "tool_use"]
    turn = [{"type": "tool_result", "tool_use_id": call, "content": "18 °C and sunny"} for call in calls]
    history = _history({"role": "assistant", "content": content}, {"role": "user", "content": turn})
    return post(http, headers, body(max_tokens=1100, thinking=THINKING, messages=history))


def _set(key: str, value: Any):
    def change(content):
        content[0][key] = value
        return content

    return change


def test_thinking_round_trip_is_accepted(http, headers):
    assert _continued(http, headers).status_code == 200


@pytest.mark.parametrize(
    ("change", "text"),
    [
        (_set("signature", ""), "messages.1.content.0: Invalid `signature` in `thinking` block"),
        (_set("thinking", "edited"), "messages.1.content.0: Invalid `signature` in `thinking` block"),
        (
            lambda content: content[1:],
            "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`. When `thinking` is enabled, "
            "a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). "
            "We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`. "
            "Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking",
        ),
    ],
    ids=["empty-signature", "edited-thinking", "thinking-dropped"],
)
def test_thinking_round_trip_refusals(http, headers, change, text):
    assert_error(_continued(http, headers, change), 400, "invalid_request_error", text)


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"thinking": {"type": "enabled", "budget_tokens": 1023}, "max_tokens": 2048}, "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"),
        (
            {"thinking": THINKING, "max_tokens": 1024},
            "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at "
            "https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size",
        ),
        ({"thinking": THINKING, "max_tokens": 1100, "tool_choice": {"type": "any"}}, "Thinking may not be enabled when tool_choice forces tool use."),
        ({"thinking": THINKING, "max_tokens": 1100, "temperature": 0.5}, "`temperature` may only be set to 1 when thinking is enabled or in adaptive mode."),
        ({"thinking": {"type": "adaptive"}}, "adaptive thinking is not supported on this model"),
        (
            {"thinking": THINKING, "max_tokens": 1100, "model": "claude-opus-4-7"},
            '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.',
        ),
    ],
    ids=["budget-below-1024", "budget-not-below-max", "forced-tool", "temperature", "adaptive-on-haiku", "enabled-on-opus-4-7"],
)
def test_thinking_refusals(http, headers, fields, text):
    assert_error(post(http, headers, body(**fields)), 400, "invalid_request_error", text)


@pytest.mark.parametrize("prefill", ["Let me", [{"type": "text", "text": "Let me"}]], ids=["string", "blocks"])
def test_no_prefill_with_thinking(http, headers, prefill):
    # "You cannot pre-fill responses when thinking is enabled" (extended-thinking guide); wording from https://github.com/n8n-io/n8n/issues/22550.
    messages = [{"role": "user", "content": WEATHER_ASK}, {"role": "assistant", "content": prefill}]
    assert_error(
        post(http, headers, body(max_tokens=1100, thinking=THINKING, messages=messages)),
        400,
        "invalid_request_error",
        "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `text`. When `thinking` is enabled, "
        "a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). "
        "We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`. "
        "Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking",
    )
    assert post(http, headers, body(max_tokens=1100, messages=messages)).status_code == 200  # the same prefill without thinking is fine


def test_temperature_one_is_fine_with_thinking(http, headers):
    assert post(http, headers, body(thinking=THINKING, max_tokens=1100, temperature=1)).status_code == 200


def test_adaptive_thinking_on_a_model_that_has_it(http, headers):
    message = post(http, headers, body("Reply with exactly this text and nothing else: ok", model="claude-sonnet-4-6", max_tokens=512, thinking={"type": "adaptive"})).json()
    assert [b["type"] for b in message["content"]] == ["thinking", "text"]
    assert message["content"][1]["text"] == "ok"


def test_count_tokens_takes_thinking_and_tools(http, headers):
    payload = {k: v for k, v in body(thinking=THINKING).items() if k != "max_tokens"}
    response = http.post("/v1/messages/count_tokens", headers=headers, json=payload)
    assert response.status_code == 200, response.text
    assert response.json()["input_tokens"] > 0


def test_signatures_are_deterministic_and_bound_to_the_text():
    thought = thoughts.think("I will answer.")
    assert thought.signature == thoughts.sign(thought.text)
    assert thoughts.issued(thought.text, thought.signature)
    assert not thoughts.issued(thought.text + " ", thought.signature)
    assert not thoughts.issued(thought.text, None)

