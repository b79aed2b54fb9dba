"""One assistant turn of the toy model: an optional thought, then tool calls or text, within max_tokens.

Owns the composition and its token arithmetic: thinking tokens count as output and come out of
max_tokens first; tool calls are made when tool_choice and the prompt call for them and they fit,
ending the turn with stop_reason tool_use; otherwise toy_model.py writes the text. Knows nothing
about HTTP, SSE or validation (it receives an already-validated request).
"""

from __future__ import annotations

from dataclasses import replace

from conformance.reference import thoughts, tool_calls, toy_model
from conformance.reference.tool_rules import thinking_type
from conformance.reference.toy_model import Generation, StopReason
from conformance.reference.validation import MessagesRequest


def _prompt(request: MessagesRequest) -> str:
    return next((toy_model.message_text(m) for m in reversed(request.messages) if m.get("role") == "user"), "")


def _plan(calls: tuple[tool_calls.ToolCall, ...]) -> str:
    if not calls:
        return "No tool is needed, so I will answer the request directly."
    wanted = " and ".join(f"{call.name} with {call.input_json}" for call in calls)
    return f"The request needs a tool, so I will call {wanted}."


def _call_tokens(calls: tuple[tool_calls.ToolCall, ...]) -> int:
    return sum(toy_model.count_text(call.name) + toy_model.count_text(call.input_json) for call in calls)


def respond(request: MessagesRequest, *, reply: str | None = None) -> Generation:
    """What the model produces for ``request``: thought (if thinking is on), then tool calls or text (``reply``, when given, whatever the prompt)."""
    calls = tool_calls.choose(_prompt(request), request.tools, request.tool_choice)
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

