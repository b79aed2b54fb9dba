"""One assistant turn of the toy model: an optional thought, then tool calls or text, within max_tokens.

Owns the composition and its token arithmetic: thinking tokens count as output and come out of
max_tokens first; tool calls are made when tool_choice and the prompt call for them and they fit,
ending the turn with stop_reason tool_use; otherwise toy_model.py writes the text. Like a sensible
agent it never loops: once a turn brings tool results (and tool_choice leaves the choice to it) it
answers in text, with what the user's words in that turn ask for, else what the tools returned. A
server tool call (server_tools.py) comes before the text and its result joins the context; a paused
turn ends right after the call (pause_turn). Under ``output_config.format`` the text is the schema's
instance (structured.py: constrained decoding, whatever the prompt or a canned reply says). The
documented refusal test string ends the turn at once with stop_reason refusal and its stop_details
(streaming refusals guide), before any model writes a word. Knows nothing about HTTP, SSE or
validation (it receives an already-validated request).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace

from conformance._types import JSONObject
from conformance.reference import server_tools, structured, thoughts, tool_calls, toy_model
from conformance.reference.tool_rules import thinking_type
from conformance.reference.toy_model import Generation, StopReason
from conformance.reference.validation import MessagesRequest

# "If you need to test refusal handling in your application, you can use this special test string as your prompt"
# (https://platform.claude.com/docs/en/test-and-evaluate/strengthen-guardrails/handle-streaming-refusals).
REFUSAL_TEST_STRING = "ANTHROPIC_MAGIC_STRING_TRIGGER_REFUSAL_1FAEFB6177B4672DEE07F9D3AFC62588CCD2631EDCF22E8CCC1FB35B501C9C86"
# RefusalStopDetails: category and explanation are null when the refusal maps to no named category (refusals guide).
REFUSAL_DETAILS: JSONObject = {"type": "refusal", "category": None, "explanation": None}

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


Call = tool_calls.ToolCall | server_tools.ServerCall


def _plan(calls: Sequence[Call]) -> str:
    if not calls:
        return "No tool is needed, so I will answer the request directly."
    wanted = " and ".join(f"{call.name} with {call.input_json}" for call in calls)
    return f"The request needs a tool, so I will call {wanted}."


def _call_tokens(calls: Sequence[Call]) -> int:
    return sum(toy_model.count_text(call.name) + toy_model.count_text(call.input_json) for call in calls)


def _refusal() -> Generation:
    """A classifier refusal before the first token: no content block, no output (capture 27)."""
    return Generation(text="", output_tokens=0, stop_reason=StopReason.REFUSAL, stop_sequence=None, pieces=(), stop_details=dict(REFUSAL_DETAILS))


def _after_server_calls(request: MessagesRequest, calls: tuple[server_tools.ServerCall, ...], *, room: int, reply: str | None) -> Generation:
    """The turn after its server tool call: paused right there (pause_turn), or the text written with the result in the context."""
    used = _call_tokens(calls)
    if calls[-1].result is None:
        return Generation(text="", output_tokens=used, stop_reason=StopReason.PAUSE_TURN, stop_sequence=None, pieces=(), server_calls=calls)
    context = sum(toy_model.count_text(json.dumps(c.result, ensure_ascii=False)) for c in calls if c.result is not None)
    text = toy_model.generate(request.messages, max_tokens=max(room - used, 1), stop_sequences=request.stop_sequences, reply=reply)
    return replace(text, output_tokens=text.output_tokens + used, server_calls=calls, context_tokens=context)


def respond(request: MessagesRequest, *, reply: str | None = None, pause: bool = False) -> Generation:
    """What the model produces for ``request``: thought (if thinking is on), then a server tool call, tool calls or text (``reply``, when given, whatever the prompt).

    ``pause`` ends a turn that calls a server tool right after the call (the API paused it).
    """
    prompt = _prompt(request)
    if REFUSAL_TEST_STRING in prompt:
        return _refusal()
    schema = structured.output_schema(request.output_config)
    if schema is not None:  # constrained decoding writes the schema's instance, whatever the prompt or a canned reply
        reply = structured.text_for(schema)
    results = _results(request)
    chooses = not isinstance(request.tool_choice, dict) or request.tool_choice.get("type", "auto") == "auto"
    server: tuple[server_tools.ServerCall, ...] = ()
    calls: tuple[tool_calls.ToolCall, ...] = ()
    if results and chooses:  # the tools have run: answer, never call again (an agent that always calls loops forever)
        reply = after_results(request, results) if reply is None else reply
    else:
        server = server_tools.choose(prompt, request.tools, request.tool_choice, pause=pause)
        calls = () if server else tool_calls.choose(prompt, request.tools, request.tool_choice, workdir=_workdir(request))
    thought = thoughts.think(_plan(server or calls)) if thinking_type(request.thinking) else None
    thinking_tokens = toy_model.count_text(thought.text) if thought else 0
    if thinking_tokens >= request.max_tokens:  # only adaptive thinking can meet a max_tokens this small; it then skips the thought
        thought, thinking_tokens = None, 0
    room = request.max_tokens - thinking_tokens
    if server:
        turn = _after_server_calls(request, server, room=room, reply=reply)
        return replace(turn, output_tokens=turn.output_tokens + thinking_tokens, thought=thought)
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
