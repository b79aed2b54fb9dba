"""The reference server's server tools, structured outputs and refusals over HTTP (issue 13), and the SDK reading them."""

from __future__ import annotations

import json

import anthropic
import pytest

from conformance.reference.simulate import HEADER
from conformance.reference.turns import REFUSAL_TEST_STRING

from ._support import HAIKU, user

SEARCH_TOOL = {"type": "web_search_20250305", "name": "web_search", "max_uses": 1}
SEARCH = {
    "model": HAIKU,
    "max_tokens": 128,
    "tools": [SEARCH_TOOL],
    "tool_choice": {"type": "tool", "name": "web_search"},
    "messages": user("Search the web for the capital of France, then reply with exactly this text and nothing else: done"),
}
SCHEMA = {"type": "object", "properties": {"colour": {"enum": ["blue"]}, "count": {"enum": [3]}}, "required": ["colour", "count"], "additionalProperties": False}
STRICT_TOOL = {
    "name": "record_weather",
    "description": "Record the weather forecast for a city.",
    "input_schema": {"type": "object", "properties": {"city": {"enum": ["Paris"]}, "days": {"enum": [3]}}, "required": ["city", "days"], "additionalProperties": False},
}
STRICT_ASK = user('Call record_weather with city set to "Paris, France" and days set to "three".')


def events(raw: bytes) -> list[dict]:
    return [json.loads(line[6:]) for line in raw.decode().split("\n") if line.startswith("data: ")]


def test_a_forced_search_runs_and_is_counted(http, headers):
    body = http.post("/v1/messages", headers=headers, json=SEARCH).json()
    call, result, text = body["content"]
    assert (call["type"], call["name"], call["input"]) == ("server_tool_use", "web_search", {"query": "the capital of France"})
    assert call["id"].startswith("srvtoolu_01")
    assert (result["type"], result["tool_use_id"]) == ("web_search_tool_result", call["id"])
    assert [r["type"] for r in result["content"]] == ["web_search_result", "web_search_result"]
    assert text == {"type": "text", "text": "done"}
    assert body["stop_reason"] == "end_turn"
    assert body["usage"]["server_tool_use"] == {"web_search_requests": 1, "web_fetch_requests": 0}


def test_the_same_search_gets_the_same_results(http, headers):
    first, second = (http.post("/v1/messages", headers=headers, json=SEARCH).json()["content"][1]["content"] for _ in range(2))
    assert first == second  # canned and deterministic, so a stream and its twin compare


def test_a_streamed_search_sends_the_result_whole_in_its_start(http, headers):
    seen = events(http.post("/v1/messages", headers=headers, json={**SEARCH, "stream": True}).content)
    starts = [e for e in seen if e["type"] == "content_block_start"]
    assert [s["content_block"]["type"] for s in starts] == ["server_tool_use", "web_search_tool_result", "text"]
    assert starts[0]["content_block"]["input"] == {}
    result_index = starts[1]["index"]
    assert not [e for e in seen if e["type"] == "content_block_delta" and e["index"] == result_index]
    joined = "".join(e["delta"]["partial_json"] for e in seen if e["type"] == "content_block_delta" and e["index"] == starts[0]["index"])
    assert json.loads(joined) == {"query": "the capital of France"}
    final = [e for e in seen if e["type"] == "message_delta"][-1]
    assert final["usage"]["server_tool_use"]["web_search_requests"] == 1
    assert final["usage"]["input_tokens"] > seen[0]["message"]["usage"]["input_tokens"]  # the results joined the context (captures 10, 16)


def test_a_paused_turn_ends_with_the_call_and_pause_turn(http, headers):
    seen = events(http.post("/v1/messages", headers={**headers, HEADER: "pause_turn"}, json={**SEARCH, "stream": True}).content)
    assert [e["content_block"]["type"] for e in seen if e["type"] == "content_block_start"] == ["server_tool_use"]
    final = [e for e in seen if e["type"] == "message_delta"][-1]
    assert final["delta"]["stop_reason"] == "pause_turn"
    assert final["usage"]["server_tool_use"]["web_search_requests"] == 0


def test_a_fetch_needs_a_url_from_the_conversation(http, headers):
    fetch = {**SEARCH, "tools": [{"type": "web_fetch_20250910", "name": "web_fetch"}], "tool_choice": {"type": "tool", "name": "web_fetch"}}
    fetched = http.post("/v1/messages", headers=headers, json={**fetch, "messages": user("Fetch https://example.com, then reply with exactly this text and nothing else: done")}).json()
    assert fetched["content"][1]["content"]["type"] == "web_fetch_result"
    assert fetched["content"][1]["content"]["url"] == "https://example.com"
    refused = http.post("/v1/messages", headers=headers, json={**fetch, "messages": user("Fetch the front page, then reply with exactly this text and nothing else: done")}).json()
    assert refused["content"][1]["content"] == {"type": "web_fetch_tool_result_error", "error_code": "url_not_in_prior_context"}
    assert refused["usage"]["server_tool_use"]["web_fetch_requests"] == 1  # a failed fetch still counts (capture 47)


def test_code_execution_runs_in_a_container(http, headers):
    run = {**SEARCH, "tools": [{"type": "code_execution_20250825", "name": "code_execution"}], "tool_choice": {"type": "tool", "name": "code_execution"},
           "messages": user("Run `echo conformance` with the code execution tool, then reply with exactly this text and nothing else: done")}
    body = http.post("/v1/messages", headers=headers, json=run).json()
    assert body["content"][0]["name"] == "bash_code_execution"
    assert body["content"][1]["content"]["stdout"] == "conformance\n"
    assert body["container"]["id"].startswith("container_")


def test_a_server_tool_must_carry_the_name_of_its_type(http, headers):
    response = http.post("/v1/messages", headers=headers, json={**SEARCH, "tools": [{"type": "web_search_20250305", "name": "search"}], "tool_choice": {"type": "auto"}})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "tools.0.web_search_20250305.name: Input should be 'web_search'"


def test_output_config_format_makes_the_text_the_schema_instance(http, headers):
    ask = {"model": HAIKU, "max_tokens": 64, "messages": user("Reply with exactly this text and nothing else: The colour is red.")}
    body = http.post("/v1/messages", headers=headers, json={**ask, "output_config": {"format": {"type": "json_schema", "schema": SCHEMA}}}).json()
    assert json.loads(body["content"][0]["text"]) == {"colour": "blue", "count": 3}
    assert http.post("/v1/messages", headers=headers, json=ask).json()["content"][0]["text"] == "The colour is red."


def test_a_malformed_format_is_refused(http, headers):
    ask = {"model": HAIKU, "max_tokens": 64, "messages": user("hi"), "output_config": {"format": {"type": "json_object"}}}
    response = http.post("/v1/messages", headers=headers, json=ask)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("output_config.format.type: ")


@pytest.mark.parametrize(("strict", "expected"), [(True, {"city": "Paris", "days": 3}), (False, {"city": "Paris, France", "days": "three"})])
def test_only_a_strict_tool_is_held_to_its_schema(http, headers, strict, expected):
    tool = {**STRICT_TOOL, "strict": True} if strict else STRICT_TOOL
    ask = {"model": HAIKU, "max_tokens": 128, "tools": [tool], "tool_choice": {"type": "tool", "name": "record_weather"}, "messages": STRICT_ASK}
    assert http.post("/v1/messages", headers=headers, json=ask).json()["content"][0]["input"] == expected


def test_the_refusal_test_string_is_refused_before_a_word(http, headers):
    ask = {"model": HAIKU, "max_tokens": 32, "messages": user(REFUSAL_TEST_STRING)}
    body = http.post("/v1/messages", headers=headers, json=ask).json()
    assert (body["content"], body["stop_reason"], body["usage"]["output_tokens"]) == ([], "refusal", 0)
    assert body["stop_details"] == {"type": "refusal", "category": None, "explanation": None}
    seen = events(http.post("/v1/messages", headers=headers, json={**ask, "stream": True}).content)
    assert [e["type"] for e in seen if e["type"] != "ping"] == ["message_start", "message_delta", "message_stop"]  # capture 27
    assert seen[0]["message"]["usage"]["output_tokens"] == 0


def test_the_sdk_reads_server_tools_refusals_and_parsed_output(base_url, api_key, clean_env):
    with anthropic.Anthropic(api_key=api_key, base_url=base_url) as client:  # closed: its pooled connection would otherwise leak into a later test's ResourceWarning
        with client.messages.stream(**SEARCH) as stream:  # type: ignore[arg-type]
            final = stream.get_final_message()
        assert [b.type for b in final.content] == ["server_tool_use", "web_search_tool_result", "text"]
        assert final.usage.server_tool_use is not None
        assert final.usage.server_tool_use.web_search_requests == 1
        refused = client.messages.create(model=HAIKU, max_tokens=32, messages=user(REFUSAL_TEST_STRING))
        assert refused.stop_reason == "refusal"
        assert refused.stop_details is not None
        assert refused.stop_details.type == "refusal"
        structured = client.messages.create(model=HAIKU, max_tokens=64, messages=user("Reply with exactly this text and nothing else: red"),
                                            output_config={"format": {"type": "json_schema", "schema": SCHEMA}})
        assert json.loads(structured.content[0].text) == {"colour": "blue", "count": 3}  # type: ignore[union-attr]
