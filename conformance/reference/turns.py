"""One assistant turn of the toy model: an optional thought, then tool calls or text, within max_tokens.

Owns the composition and its token arithmetic: thinking tokens count as output and come out of
max_tokens first; tool calls are made when tool_choice and the prompt call for them and they fit,
ending the turn with stop_reason tool_use; otherwise toy_model.py writes the text. Like a sensible
agent it never loops: once a turn brings tool results (and tool_choice leaves the choice to it) it
answers in text, with what the user's words in that turn ask for, else what the tools returned.
Knows nothing about HTTP, SSE or validation (it receives an already-validated request).
"""

from __future__ import annotations

import re
from dataclasses import replace

from conformance._types import JSONObject
from conformance.reference import thoughts, tool_calls, toy_model
from conformance.reference.tool_rules import thinking_type
from conformance.reference.toy_model import Generation, StopReason
from conformance.reference.validation import MessagesRequest

_WORKDIR = re.compile(r"(?i)working directory:\s*(/\S*)")
RESULT_SHOWN = 2000  # characters of tool results the answer after them repeats


def _prompt(request: MessagesRequest) -> str:
    return next((toy_model.user_words(m) for m in reversed(request.messages) if m.get("role") == "user"), "")


def _blocks(message: JSONObject | None, kind: str) -> list[JSONObject]:
    content = message.get("content") if message is not None else None
    return [b for b in content if isinstance(b, dict) and b.get("type") == kind] if isinstance(content, list) else []


def _results(request: MessagesRequest) -> list[JSONObject]:
    """The tool_result blocks of the last turn when it is the user's: the tools the model called have run."""
    last = request.messages[-1] if request.messages else None
    return _blocks(last, "tool_result") if last is not None and last.get("role") == "user" else []


def _workdir(request: MessagesRequest) -> str | None:
    """The working directory the request states (an agent harness puts it in the system prompt or a reminder), if any."""
    texts = [request.system] if isinstance(request.system, str) else [b.get("text") for b in request.system if isinstance(b, dict)] if isinstance(request.system, list) else []
    texts += [toy_model.message_text(m) for m in request.messages if m.get("role") == "user"]
    for text in texts:
        found = _WORKDIR.search(text) if isinstance(text, str) else None
        if found:
            return found.group(1).rstrip(".,;")
    return None


def _result_text(block: JSONObject) -> str:
    content = block.get("content")
    if isinstance(content, str):
        return content
    return "\n".join(b["text"] for b in content if isinstance(b, dict) and isinstance(b.get("text"), str)) if isinstance(content, list) else ""


def after_results(request: MessagesRequest, results: list[JSONObject]) -> str:
    """The text answer once tools have run: what the user's words in that turn ask for, else what each tool returned."""
    asked = toy_model.rule_reply(toy_model.user_words(request.messages[-1]))
    if asked is not None:
        return asked
    previous = request.messages[-2] if len(request.messages) > 1 else None
    names = {str(b.get("id")): str(b.get("name")) for b in _blocks(previous, "tool_use")}
    parts = []
    for block in results:
        name = names.get(str(block.get("tool_use_id")), "the")
        said = toy_model.without_reminders(_result_text(block))[:RESULT_SHOWN]
        parts.append(f"The {name} tool {'failed' if block.get('is_error') is True else 'returned'}: {said}" if said else f"The {name} tool returned nothing.")
    return "\n".join(parts)


def _plan(calls: tuple[tool_calls.ToolCall, ...]) -> str:
    if not calls:
        return "No tool is needed, so I will answer the request directly."
    wanted = " and ".join(f"{call.name} with {call.input_json}" for call in calls)
    return f"The request needs a tool, so I will call {wanted}."


def _call_tokens(calls: tuple[tool_calls.ToolCall, ...]) -> int:
    return sum(toy_model.count_text(call.name) + toy_model.count_text(call.input_json) for call in calls)


def respond(request: MessagesRequest, *, reply: str | None = None) -> Generation:
    """What the model produces for ``request``: thought (if thinking is on), then tool calls or text (``reply``, when given, whatever the prompt)."""
    results = _results(request)
    chooses = not isinstance(request.tool_choice, dict) or request.tool_choice.get("type", "auto") == "auto"
    if results and chooses:  # the tools have run: answer, never call again (an agent that always calls loops forever)
        calls: tuple[tool_calls.ToolCall, ...] = ()
        reply = after_results(request, results) if reply is None else reply
    else:
        calls = tool_calls.choose(_prompt(request), request.tools, request.tool_choice, workdir=_workdir(request))
    thought = thoughts.think(_plan(calls)) if thinking_type(request.thinking) else None
    thinking_tokens = toy_model.count_text(thought.text) if thought else 0
    if thinking_tokens >= request.max_tokens:  # only adaptive thinking can meet a max_tokens this small; it then skips the thought
        thought, thinking_tokens = None, 0
    room = request.max_tokens - thinking_tokens
    if calls and _call_tokens(calls) <= room:
        return Generation(
            text="",
            output_tokens=thinking_tokens + _call_tokens(calls),
            stop_reason=StopReason.TOOL_USE,
            stop_sequence=None,
            pieces=(),
            thought=thought,
            calls=calls,
        )
    text = toy_model.generate(request.messages, max_tokens=room, stop_sequences=request.stop_sequences, reply=reply)
    return replace(text, output_tokens=text.output_tokens + thinking_tokens, thought=thought)

