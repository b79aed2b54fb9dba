"""The toy model as an agent harness sees it: it calls a tool when the user's request needs one, answers once results are in, never loops.

Requests are shaped like Claude Code's (2.1.328, measured in notes/missing-rules.md): a Read tool whose
file_path must be absolute, the working directory and the list of agents in <system-reminder> text
blocks of the user turn, and the tool result sent back with a reminder appended.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.reference import tool_calls, toy_model

from ._support import HAIKU

READ = {
    "name": "Read",
    "description": "Reads a file from the local filesystem.",
    "input_schema": {
        "type": "object",
        "properties": {
            "file_path": {"type": "string", "description": "The absolute path to the file to read"},
            "offset": {"type": "integer"},
        },
        "required": ["file_path"],
    },
}
AGENT = {
    "name": "Agent",
    "description": "Launch a new agent.",
    "input_schema": {"type": "object", "properties": {"description": {"type": "string"}, "prompt": {"type": "string"}}, "required": ["description", "prompt"]},
}
WRITE = {"name": "Write", "description": "Write a file.", "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}, "content": {"type": "string"}}, "required": ["file_path", "content"]}}
REMINDERS = [
    {"type": "text", "text": "<system-reminder>\n# Environment\n - Primary working directory: /tmp/scratch/work\n - Is a git repository: false\n</system-reminder>"},
    {"type": "text", "text": "<system-reminder>\nAvailable agent types for the Agent tool:\n- general-purpose: use the Agent tool to Read and Write anything.\n</system-reminder>"},
]
THINKING = {"type": "enabled", "budget_tokens": 31999}


def turn(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [*REMINDERS, {"type": "text", "text": text}]}


def ask(http: Any, headers: dict[str, str], messages: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    body = {"model": HAIKU, "max_tokens": 32000, "thinking": THINKING, "tools": [AGENT, READ, WRITE], "messages": messages, **fields}
    body = {k: v for k, v in body.items() if v is not None}
    response = http.post("/v1/messages?beta=true", headers=headers, json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


def blocks(message: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [b for b in message["content"] if b["type"] == kind]


def test_reminders_are_context_not_the_request(http: Any, headers: dict[str, str]) -> None:
    """The reminders name Agent, Read and Write; the user asked for none of them, so no tool is called."""
    answer = ask(http, headers, [turn("Reply with exactly this text and nothing else: conformance-ok")])
    assert answer["stop_reason"] == "end_turn"
    assert [b["text"] for b in blocks(answer, "text")] == ["conformance-ok"]
    assert blocks(answer, "thinking")  # thinking enabled: it still thinks first


@pytest.mark.parametrize("prompt", ["Read notes.txt and tell me what it says.", "read notes.txt", "Please use Read on notes.txt."])
def test_a_request_that_needs_a_tool_calls_it_with_the_right_path(http: Any, headers: dict[str, str], prompt: str) -> None:
    answer = ask(http, headers, [turn(prompt)])
    assert answer["stop_reason"] == "tool_use"
    (call,) = blocks(answer, "tool_use")
    assert call["name"] == "Read"
    assert call["input"] == {"file_path": "/tmp/scratch/work/notes.txt"}  # absolute, as the schema's description asks, against the stated directory


def test_once_the_results_are_in_it_answers_in_text_and_stops(http: Any, headers: dict[str, str]) -> None:
    first = ask(http, headers, [turn("Read notes.txt and tell me what it says.")])
    (call,) = blocks(first, "tool_use")
    result = {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": call["id"], "content": [{"type": "text", "text": "     1\tThe secret word is pineapple-42.\n\n<system-reminder>\nmeta\n</system-reminder>"}]},
            {"type": "text", "text": "<system-reminder>\nRead was used.\n</system-reminder>"},
        ],
    }
    answer = ask(http, headers, [turn("Read notes.txt and tell me what it says."), {"role": "assistant", "content": first["content"]}, result])
    assert answer["stop_reason"] == "end_turn"
    assert not blocks(answer, "tool_use")
    (text,) = [b["text"] for b in blocks(answer, "text")]
    assert text == "The Read tool returned: 1\tThe secret word is pineapple-42."


def test_a_failed_tool_is_reported_not_retried(http: Any, headers: dict[str, str]) -> None:
    call = {"type": "tool_use", "id": "toolu_01AgentTestFailedRead000", "name": "Read", "input": {"file_path": "/nope"}}
    error = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call["id"], "is_error": True, "content": "File does not exist."}]}
    answer = ask(http, headers, [turn("Read notes.txt"), {"role": "assistant", "content": [call]}, error], thinking=None)
    assert answer["stop_reason"] == "end_turn"
    assert [b["text"] for b in blocks(answer, "text")] == ["The Read tool failed: File does not exist."]


def test_a_forced_choice_still_calls_after_results(http: Any, headers: dict[str, str]) -> None:
    """Only auto leaves the choice to the model; any and tool force a call whatever came before."""
    call = {"type": "tool_use", "id": "toolu_01AgentTestForcedRead000", "name": "Read", "input": {"file_path": "/tmp/a.txt"}}
    done = {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call["id"], "content": "a"}]}
    answer = ask(http, headers, [turn("Read a.txt"), {"role": "assistant", "content": [call]}, done], thinking=None, tool_choice={"type": "any"})
    assert answer["stop_reason"] == "tool_use"


def test_the_words_of_the_result_turn_still_rule_the_answer() -> None:
    """The suite's round trip puts a prompt after the results: that prompt, not the results, is the answer (tools.round_trip)."""
    assert toy_model.rule_reply(toy_model.user_words({"role": "user", "content": [{"type": "text", "text": "Reply with exactly this text and nothing else: Sunny in Paris"}]})) == "Sunny in Paris"


@pytest.mark.parametrize(
    ("prompt", "named"),
    [
        ("What is the weather in Paris? Use the get_weather tool.", ["get_weather"]),
        ("Call get_weather once for each city.", ["get_weather"]),
        ("Tell me about get_weathers", []),  # a word that merely starts with the name
        ("Read it, then use Write", ["Read", "Write"]),  # the earliest named first
        ("write it down", ["Write"]),  # the imperative names the tool, case aside
        ("Please write it down", []),  # a lower-case name elsewhere is just a word
    ],
)
def test_which_tools_a_prompt_names(prompt: str, named: list[str]) -> None:
    tools = [{"name": n, "input_schema": {"type": "object"}} for n in ("Write", "get_weather", "Read")]
    assert [t["name"] for t in tool_calls._named(tools, prompt)] == named
