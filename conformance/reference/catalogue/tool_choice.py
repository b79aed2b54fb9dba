"""Faults in tool_choice (tools.*): forced choices sent on as auto, none ignored, refused or made required, OpenAI's forms accepted, unknown names unchecked.

Most come from translating tool_choice to OpenAI's, which has no direct counterpart for none with tools,
disable_parallel_tool_use or a forced call without text. The forced-call faults are invisible to a probe
that needs the model's cooperation; the protocol forces them (issue 9). Deviation numbers refer to the
research notes' table (peers.md §4.6).
"""

from __future__ import annotations

from collections.abc import Iterable

from conformance._types import JSON
from conformance.reference.fault import Fault, fault
from conformance.reference.rewrite.edits import PEERS, edit_message, request_body
from conformance.reference.rewrite.request import compose, edit_body, refuse_request
from conformance.reference.rewrite.stream import event, rewrite_events_with_state
from conformance.reference.rewrite.views import EventFn, EventOut, Refusal, RequestView


def _forced_as_auto(body: dict[str, JSON]) -> None:
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        body["tool_choice"] = {key: value for key, value in choice.items() if key != "name"} | {"type": "auto"}


def _none_as_required(body: dict[str, JSON]) -> None:
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "none":
        body["tool_choice"] = {"type": "any"}


def _preamble_before_tool_use() -> EventFn:
    """Open a text block with a preamble before the first tool_use block and renumber the blocks after it."""
    state = {"shift": 0}

    def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
        if not isinstance(data, dict) or not isinstance(data.get("index"), int):
            return [event(name, data)]
        block = data.get("content_block")
        out: list[EventOut] = []
        if data.get("type") == "content_block_start" and isinstance(block, dict) and block.get("type") == "tool_use" and not state["shift"]:
            index = data["index"]
            out = [
                event("content_block_start", {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
                event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": PREAMBLE}}),
                event("content_block_stop", {"type": "content_block_stop", "index": index}),
            ]
            state["shift"] = 1
        return [*out, event(name, {**data, "index": data["index"] + state["shift"]})]

    return rewrite


PREAMBLE = "I'll use the get_weather tool for that."


def _preamble_in_body(message: dict[str, JSON]) -> None:
    content = message.get("content")
    if isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "tool_use" for b in content):
        first = next(i for i, b in enumerate(content) if isinstance(b, dict) and b.get("type") == "tool_use")
        content.insert(first, {"type": "text", "text": PREAMBLE})


OLLAMA = "https://docs.ollama.com/api/anthropic-compatibility"

_edit = edit_body  # a rewrite of /v1/messages bodies; count_tokens and models pass untouched


def _drop_tool_choice(body: dict[str, JSON]) -> None:
    body.pop("tool_choice", None)


def _unforce_tool_choice(body: dict[str, JSON]) -> None:
    """The model is not forced: asked for a tool under any/tool, it answers in text (as tool_choice none makes the reference do)."""
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        body["tool_choice"] = {"type": "none"}


VLLM = "https://github.com/vllm-project/vllm/blob/main/vllm/entrypoints/anthropic/protocol.py"


def _choice(body: dict[str, JSON]) -> dict[str, JSON] | None:
    choice = body.get("tool_choice")
    return choice if isinstance(choice, dict) else None


def _ignore_none(body: dict[str, JSON]) -> None:
    choice = _choice(body)
    if choice is not None and choice.get("type") == "none":
        del body["tool_choice"]


def _refuse_none(view: RequestView) -> Refusal:
    body = request_body(view, count_tokens=True)
    choice = _choice(body) if body is not None else None
    if choice is not None and choice.get("type") == "none":
        return 400, "invalid_request_error", "tool_choice.type: Input should be 'auto', 'any' or 'tool'"
    return None


def _drop_parallel_flag(body: dict[str, JSON]) -> None:
    choice = _choice(body)
    if choice is not None:
        choice.pop("disable_parallel_tool_use", None)


_OPENAI_CHOICES: dict[str, str] = {"auto": "auto", "none": "none", "required": "any", "any": "any"}


def _openai_tool_choice(body: dict[str, JSON]) -> None:
    """OpenAI's tool_choice forms mapped to Anthropic's: the bare strings, and {type: required} for any."""
    choice = body.get("tool_choice")
    if isinstance(choice, str) and choice in _OPENAI_CHOICES:
        body["tool_choice"] = {"type": _OPENAI_CHOICES[choice]}
    elif isinstance(choice, dict) and choice.get("type") == "required":
        body["tool_choice"] = {**choice, "type": "any"}


def _tool_names(body: dict[str, JSON]) -> set[JSON]:
    tools = body.get("tools")
    return {tool.get("name") for tool in tools if isinstance(tool, dict)} if isinstance(tools, list) else set()


def _unknown_choice_is_auto(body: dict[str, JSON]) -> None:
    choice = _choice(body)
    if choice is not None and choice.get("type") == "tool" and choice.get("name") not in _tool_names(body):
        body["tool_choice"] = {"type": "auto"}


FAULTS: tuple[Fault, ...] = (
    fault("forced-tool-choice-as-auto",
          ["thinking.forced_tool_choice_rejected", "tools.forced_tool_called", "tools.stop_reason_tool_use", "tools.tool_choice_unknown_tool_rejected",
            "tools.tool_choice_without_name_rejected", "server_tools.code_execution_run", "server_tools.web_tools_run", "stop_reason.pause_turn_passed_through"],
          "https://github.com/hivecommons/hive/pull/1643 (an Anthropic→OpenAI proxy that did not forward tool_choice: auto by default); "
          "https://github.com/Blaizzy/mlx-vlm/issues/2000 (/v1/messages ignores a forced tool_choice)",
          "tool_choice any and tool are sent on as auto: a prompt that asks for text gets text, no tool call.",
          edit_body(_forced_as_auto)),
    fault("tool-choice-none-as-required",
          ["tools.tool_choice_none_respected"],
          "https://github.com/mozilla-ai/any-llm/pull/1292 (a tool_choice converter that fell back to \"any\", forcing tool use the caller never asked for)",
          "tool_choice none is sent on as any (OpenAI's required): the model must call a tool it was forbidden.",
          edit_body(_none_as_required)),
    fault("forced-tool-call-with-preamble", ["tools.no_text_before_forced_call"],
          f"{PEERS} #10 (an upstream delta carrying text and a tool call together); DOC-STR's tool example (text before a call forced with tool_choice any)",
          "A forced tool call comes after a text block with a preamble, streamed or not.",
          compose(edit_message(_preamble_in_body), rewrite_events_with_state(_preamble_before_tool_use))),
    # Documented by a provider and emulated for its profile (specs/profiles/): the suite fails it under the anthropic
    # profile, the provider's profile tolerates it (tests/profiles/).
    fault("tool-choice-dropped",
          ["params.invalid_value_rejected", "params.wrong_type_rejected", "thinking.forced_tool_choice_rejected", "tools.forced_tool_called",
            "tools.parallel_disabled_respected", "tools.stop_reason_tool_use", "tools.tool_choice_none_respected", "tools.tool_choice_unknown_tool_rejected",
            "tools.tool_choice_without_name_rejected", "server_tools.code_execution_run", "server_tools.web_tools_run", "stop_reason.pause_turn_passed_through"],
          OLLAMA + " (Not supported: tool_choice)",
          "tool_choice is not read: a forced call is not made, none and disable_parallel_tool_use have no effect (the model calls the tool as it likes), and a mistyped or invalid one is not refused.",
          _edit(_drop_tool_choice)),
    fault("forced-tool-call-answered-in-text",
          ["thinking.forced_tool_choice_rejected", "tools.forced_tool_called", "tools.stop_reason_tool_use", "tools.tool_choice_unknown_tool_rejected",
            "tools.tool_choice_without_name_rejected", "server_tools.code_execution_run", "server_tools.web_tools_run", "stop_reason.pause_turn_passed_through"],
          OLLAMA + " (Not supported: tool_choice, 'forcing specific tool use')",
          "A tool_choice that forces a tool (any, tool) is not honoured: the model answers the request in text.",
          _edit(_unforce_tool_choice)),
    fault("tool-choice-none-ignored", ["tools.tool_choice_none_respected"], "https://github.com/ollama/ollama/blob/main/docs/api/anthropic-compatibility.mdx (tool_choice not supported)",
          "tool_choice none is dropped, so the model may call the tool anyway.", edit_body(_ignore_none, count_tokens=True)),
    fault("tool-choice-none-rejected", ["tools.tool_choice_none_accepted"], f"{VLLM} (tool_choice type auto, any or tool only)",
          "tool_choice {type: none} is refused with 400.", refuse_request(_refuse_none)),
    fault("parallel-tool-use-not-disabled", ["tools.parallel_disabled_respected"], f"{VLLM} (no disable_parallel_tool_use)",
          "disable_parallel_tool_use is dropped, so the model makes one call per city.", edit_body(_drop_parallel_flag, count_tokens=True)),
    fault("tool-choice-openai-forms-accepted", ["params.invalid_value_rejected", "params.wrong_type_rejected"],
          "https://docs.requesty.ai/api-reference/endpoint/messages-create (example request sends tool_choice \"auto\"); https://platform.openai.com/docs/api-reference/chat/create (tool_choice auto, none, required)",
          "OpenAI's tool_choice forms are accepted: the strings auto, none, required and {type: required} are mapped to Anthropic's objects.", edit_body(_openai_tool_choice, count_tokens=True)),
    fault("tool-choice-name-unchecked", ["tools.tool_choice_unknown_tool_rejected", "tools.tool_choice_without_name_rejected"], f"{VLLM} (AnthropicToolChoice.name optional)",
          "tool_choice {type: tool} without a name, or naming a tool the request does not define, falls back to auto.", edit_body(_unknown_choice_is_auto, count_tokens=True)),
)
