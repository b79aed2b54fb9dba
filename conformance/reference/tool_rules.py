"""Request rules of tool use and thinking, worded as the first-party API words its 400s.

Owns (contract §2.2, §2.4, §2.5): tool definitions (name pattern, object input_schema, unique names),
tool_choice naming a defined tool, the thinking type the model offers and its budget, thinking's
incompatibility with a forced tool_choice and with temperature != 1, and the conversation rules
tools and thinking add: tool blocks need tools, tool_use ids are unique and each is answered by a
tool_result in the next turn, a thinking block comes back only with the signature this server gave
it, and with thinking on the final assistant turn (a prefill, or the one before a tool_result) starts
with thinking (https://github.com/n8n-io/n8n/issues/22550: a text prefill with thinking is refused).
Runs after the shape checks of validation.py/content.py; knows nothing about HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from conformance._types import JSON, JSONObject
from conformance.reference import thoughts
from conformance.reference.models import ModelFacts
from conformance.reference.shapes import Problem, at

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_THINKING_BLOCKS = ("thinking", "redacted_thinking")


def _blocks(message: Mapping[str, JSON]) -> list[JSONObject]:
    content = message.get("content")
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _custom(tool: Mapping[str, JSON]) -> bool:
    return tool.get("type") in (None, "custom")


def _tool_problem(index: int, tool: Mapping[str, JSON]) -> Problem:
    path = f"tools.{index}.custom"
    name = tool.get("name")
    if not isinstance(name, str):
        return at(f"{path}.name", "Field required" if name is None else "Input should be a valid string")
    if not _NAME.match(name):
        return at(f"{path}.name", "String should match pattern '^[a-zA-Z0-9_-]{1,128}$'")
    schema = tool.get("input_schema")
    if not isinstance(schema, dict):
        return at(f"{path}.input_schema", "Field required" if schema is None else "Input should be a valid dictionary")
    if schema.get("type") != "object":
        return at(f"{path}.input_schema.type", "Input should be 'object'")
    return None


def tools_problem(tools: Sequence[object]) -> Problem:
    """Custom tool definitions: name pattern, an object input_schema, unique names (server tools are not judged)."""
    names: list[str] = []
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict):
            continue
        if _custom(tool):
            problem = _tool_problem(index, tool)
            if problem:
                return problem
        if isinstance(tool.get("name"), str):
            names.append(tool["name"])
    if len(names) != len(set(names)):
        return "tools: Tool names must be unique."
    return None


def tool_choice_problem(tool_choice: object, tools: Sequence[object]) -> Problem:
    """tool_choice {type: tool} must name a defined tool; disable_parallel_tool_use is a boolean."""
    if not isinstance(tool_choice, dict):
        return None
    parallel = tool_choice.get("disable_parallel_tool_use")
    if parallel is not None and not isinstance(parallel, bool):
        return at("tool_choice.disable_parallel_tool_use", "Input should be a valid boolean")
    if tool_choice.get("type") != "tool":
        return None
    name = tool_choice.get("name")
    if not isinstance(name, str):
        return at("tool_choice.tool.name", "Field required")
    if name not in {t.get("name") for t in tools if isinstance(t, dict)}:
        return at("tool_choice.tool.name", f"Tool '{name}' not found in tools")
    return None


def thinking_type(thinking: object) -> str | None:
    """The requested thinking type ("enabled", "adaptive", ...), None when thinking is off or absent."""
    if isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive"):
        return str(thinking["type"])
    return None


def thinking_problem(body: Mapping[str, JSON], model: ModelFacts, *, max_tokens: int | None) -> Problem:
    """The model offers the thinking type, the budget fits under max_tokens, and nothing incompatible is set."""
    kind = thinking_type(body.get("thinking"))
    if kind is None:
        return None
    if kind not in model.thinking:
        if kind == "enabled":
            return '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.'
        return "adaptive thinking is not supported on this model"
    thinking = body["thinking"]
    assert isinstance(thinking, dict)
    if kind == "enabled" and max_tokens is not None and max_tokens <= thinking["budget_tokens"]:
        return "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size"
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        return "Thinking may not be enabled when tool_choice forces tool use."
    if "temperature" in body and body["temperature"] != 1:
        return "`temperature` may only be set to 1 when thinking is enabled or in adaptive mode."
    return None


def _pairing_problem(index: int, message: Mapping[str, JSON], messages: Sequence[Mapping[str, JSON]]) -> Problem:
    if message.get("role") == "assistant":
        calls = [b.get("id") for b in _blocks(message) if b.get("type") == "tool_use"]
        if calls and index + 1 < len(messages):
            answered = {b.get("tool_use_id") for b in _blocks(messages[index + 1]) if b.get("type") == "tool_result"}
            missing = [str(c) for c in calls if c not in answered]
            if messages[index + 1].get("role") != "user" or missing:
                ids = ", ".join(missing or [str(c) for c in calls])
                return at(
                    f"messages.{index}",
                    f"`tool_use` ids were found without `tool_result` blocks immediately after: {ids}. "
                    "Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
                )
    if message.get("role") == "user":
        previous = messages[index - 1] if index > 0 else {}
        offered = {b.get("id") for b in _blocks(previous) if b.get("type") == "tool_use"} if previous.get("role") == "assistant" else set()
        for position, block in enumerate(_blocks(message)):
            if block.get("type") == "tool_result" and block.get("tool_use_id") not in offered:
                return at(
                    f"messages.{index}.content.{position}",
                    f"unexpected `tool_use_id` found in `tool_result` blocks: {block.get('tool_use_id')}. "
                    "Each `tool_result` block must have a corresponding `tool_use` block in the previous message.",
                )
    return None


def _signature_problem(index: int, message: Mapping[str, JSON]) -> Problem:
    if message.get("role") != "assistant":
        return None
    for position, block in enumerate(_blocks(message)):
        if block.get("type") == "thinking" and not thoughts.issued(block.get("thinking"), block.get("signature")):
            return at(f"messages.{index}.content.{position}", "Invalid `signature` in `thinking` block")
    return None


def _final_assistant(messages: Sequence[Mapping[str, JSON]]) -> int | None:
    """The final assistant turn: a prefill (the last message), or the turn whose tool calls the last turn answers."""
    if messages and messages[-1].get("role") == "assistant":
        return len(messages) - 1
    if len(messages) < 2 or not any(b.get("type") == "tool_result" for b in _blocks(messages[-1])):
        return None
    index = len(messages) - 2
    if messages[index].get("role") != "assistant" or not any(b.get("type") == "tool_use" for b in _blocks(messages[index])):
        return None
    return index


def _thinking_first_problem(messages: Sequence[Mapping[str, JSON]]) -> Problem:
    """With thinking on, the final assistant turn must start with thinking: so a plain prefill is refused ("You cannot pre-fill responses when thinking is enabled")."""
    index = _final_assistant(messages)
    if index is None:
        return None
    blocks = _blocks(messages[index])
    first = blocks[0].get("type") if blocks else "text"
    if first in _THINKING_BLOCKS:
        return None
    return at(
        f"messages.{index}.content.0.type",
        f"Expected `thinking` or `redacted_thinking`, but found `{first}`. When `thinking` is enabled, a final `assistant` message "
        "must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). "
        "We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`. "
        "Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking",
    )


def conversation_problem(messages: Sequence[Mapping[str, JSON]], *, has_tools: bool, thinking: str | None) -> Problem:
    """What tool and thinking blocks add to the conversation rules, in the API's order."""
    seen: set[JSON] = set()
    uses_tools = False
    for index, message in enumerate(messages):
        for position, block in enumerate(_blocks(message)):
            kind = block.get("type")
            uses_tools = uses_tools or kind in ("tool_use", "tool_result")
            if kind == "tool_use":
                if block.get("id") in seen:
                    return at(f"messages.{index}.content.{position}", "`tool_use` ids must be unique")
                seen.add(block.get("id"))
    if uses_tools and not has_tools:
        return "Requests which include `tool_use` or `tool_result` blocks must define tools."
    for index, message in enumerate(messages):
        problem = _pairing_problem(index, message, messages) or _signature_problem(index, message)
        if problem:
            return problem
    return _thinking_first_problem(messages) if thinking == "enabled" else None
