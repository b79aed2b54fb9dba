"""Tool use: the calls an answer makes, judged against the tools and tool_choice of its request.

Each check reads tool_choice and tools from the request it judges, so it applies wherever a run
forced, forbade or limited tool calls and is not applicable elsewhere. A streamed answer is judged
on the message a client rebuilds from its events (input_json_delta pieces joined and parsed at the
block's stop, as the SDK does); a broken stream is left to the stream.* checks.
"""

from __future__ import annotations

from collections.abc import Mapping

from jsonschema import Draft202012Validator

from .._types import JSON, JSONObject
from ..findings import Judgement, NotApplicable, Violation, judgement
from .registry import check
from .subject import Subject, locate, show


def _content_at(s: Subject) -> str:
    return "rebuilt message /content" if s.reading is not None else "/content"


def _where(s: Subject, position: int, key: str = "") -> str:
    return f"{_content_at(s)}/{position}" + (f"/{key}" if key else "")


def _tool_uses(message: JSONObject) -> list[tuple[int, JSONObject]]:
    """(position in content, block) of every tool_use block."""
    content = message.get("content")
    if not isinstance(content, list):
        raise NotApplicable("no content array (judged by the schema checks)")
    return [(i, b) for i, b in enumerate(content) if isinstance(b, dict) and b.get("type") == "tool_use"]


def _calls(s: Subject) -> list[tuple[int, JSONObject]]:
    """The answer's tool_use blocks, for a rule about each call: an answer without one is a skip."""
    calls = _tool_uses(s.message())
    if not calls:
        raise NotApplicable("no tool_use block")
    return calls


def _choice(s: Subject) -> Mapping[str, JSON]:
    choice = s.request_json().get("tool_choice")
    return choice if isinstance(choice, dict) else {}


def _tools(s: Subject) -> dict[str, JSONObject]:
    tools = s.request_json().get("tools")
    if not isinstance(tools, list):
        return {}
    return {t["name"]: t for t in tools if isinstance(t, dict) and isinstance(t.get("name"), str)}


def _forced(s: Subject) -> Mapping[str, JSON]:
    choice = _choice(s)
    if choice.get("type") not in ("tool", "any"):
        raise NotApplicable("tool_choice does not force a tool call")
    if choice.get("type") == "tool" and choice.get("name") not in _tools(s):
        # Nothing to honour: such a request is to be refused (tools.tool_choice_without_name_rejected, tools.tool_choice_unknown_tool_rejected).
        raise NotApplicable(f"tool_choice forces {show(choice.get('name'))}, which is no tool of the request")
    if choice.get("type") == "tool" and _tools(s)[str(choice.get("name"))].get("type") not in (None, "custom"):
        # A server tool runs inside the API and comes back as server_tool_use, never as a call for the client (server_tools.*).
        raise NotApplicable(f"tool_choice forces the server tool {show(choice.get('name'))} (judged by the server_tools.* checks)")
    return choice


def _not_cut(message: JSONObject) -> None:
    if message.get("stop_reason") == "max_tokens":
        raise NotApplicable("max_tokens cut the answer, so a forced call may be incomplete")


def _received(calls: list[tuple[int, JSONObject]], message: JSONObject) -> str:
    if calls:
        return "tool_use blocks for " + ", ".join(show(b.get("name")) for _, b in calls)
    content = message.get("content")
    kinds = [b.get("type") for b in content if isinstance(b, dict)] if isinstance(content, list) else []
    return f"no tool_use block (content types {show(kinds)}, stop_reason {show(message.get('stop_reason'))})"


@check("tools.forced_tool_called")
def forced_tool_called(s: Subject) -> Judgement:
    """An agent that forces a tool waits for that call; an answer without it stalls the loop."""
    choice = _forced(s)
    message = s.message()
    _not_cut(message)
    calls = _tool_uses(message)
    item = f"{_received(calls, message)} under tool_choice {show(choice.get('type'))}"
    if choice.get("type") == "tool":
        wanted = choice.get("name")
        if not any(b.get("name") == wanted for _, b in calls):
            return judgement(item, [Violation(f"Received: {_received(calls, message)}\nExpected: a tool_use block named {show(wanted)} (tool_choice forces it)", at=_content_at(s))])
        return judgement(item)
    declared = sorted(_tools(s))
    if not any(b.get("name") in declared for _, b in calls):
        return judgement(item, [Violation(f"Received: {_received(calls, message)}\nExpected: a tool_use block for one of {show(declared)} (tool_choice any)", at=_content_at(s))])
    return judgement(item)


@check("tools.stop_reason_tool_use")
def stop_reason_tool_use(s: Subject) -> Judgement:
    """Agents and the SDK's tool runner run calls on stop_reason tool_use; end_turn is final and leaves the calls unrun (anthropics/claude-code#16785)."""
    message = s.message()
    calls = _tool_uses(message)
    try:
        choice = _forced(s)
    except NotApplicable as exc:
        if not calls:
            raise NotApplicable(f"no tool_use block, and {exc}") from None
        choice = _choice(s)
    reason = message.get("stop_reason")
    if reason is None:
        raise NotApplicable("no stop_reason (judged by the schema and stream checks)")
    if isinstance(reason, str) and reason in _CALL_CUT_SHORT:
        raise NotApplicable(f"stop_reason {show(reason)}: {_CALL_CUT_SHORT[reason]}, so the call need not be final")
    judged = f"stop_reason {show(reason)} with {len(calls)} tool_use block(s) under tool_choice {show(choice.get('type') or 'auto')}"
    if reason == "tool_use":
        return judgement(judged)
    at = "message_delta /delta/stop_reason" if s.reading is not None else "/stop_reason"
    why = "tool_choice forces a tool call" if choice.get("type") in ("tool", "any") else "the answer ends in tool calls for the client to run"
    return judgement(judged, [Violation(f"Received: stop_reason {show(reason)} with {_received(calls, message)}\nExpected: \"tool_use\" ({why})", at=at)])


@check("tools.tool_use_block_present")
def tool_use_block_present(s: Subject) -> Judgement:
    """stop_reason tool_use with no call to run leaves an agent with nothing to answer and nothing to say (peers #10)."""
    message = s.stopped_by("tool_use")
    calls = _tool_uses(message)
    item = f"{_received(calls, message)} with stop_reason \"tool_use\""
    if not calls:
        return judgement(item, [Violation(f"Received: {_received(calls, message)}\nExpected: at least one tool_use block with stop_reason tool_use", at=_content_at(s))])
    return judgement(item)


@check("tools.id_prefix")
def id_prefix(s: Subject) -> Judgement:
    """Clients and logs recognise tool calls by the toolu_ prefix; Anthropic warns formats may change."""
    calls = _calls(s)
    found = []
    for position, block in calls:
        value = block.get("id")
        if isinstance(value, str) and not value.startswith("toolu_"):
            found.append(Violation(f"Received: tool_use id {show(value)}\nExpected: an id starting with toolu_", at=_where(s, position, "id")))
    return judgement(f"the ids of {len(calls)} tool_use block(s)", found)


@check("tools.ids_unique")
def ids_unique(s: Subject) -> Judgement:
    """tool_result names its call by id; a repeated id is ambiguous, and the API refuses a history that has one."""
    calls = _calls(s)
    first: dict[str, int] = {}
    found = []
    for position, block in calls:
        value = block.get("id")
        if not isinstance(value, str):
            continue
        if value in first:
            found.append(Violation(f"Received: tool_use id {show(value)} again (first at /content/{first[value]})\nExpected: a distinct id for every tool_use block", at=_where(s, position, "id")))
        else:
            first[value] = position
    return judgement(f"the ids of {len(calls)} tool_use block(s)", found)


@check("tools.input_matches_schema")
def input_matches_schema(s: Subject) -> Judgement:
    """The client passes input straight to its tool; an input outside the schema makes the tool fail."""
    tools = _tools(s)
    calls = [(p, b) for p, b in _tool_uses(s.message()) if isinstance(b.get("input"), dict) and isinstance(tools.get(str(b.get("name"))), dict)]
    if not calls:
        raise NotApplicable("no tool_use block with an object input for a tool of the request")
    found = []
    for position, block in calls:
        schema = tools[str(block["name"])].get("input_schema")
        if not isinstance(schema, dict):
            continue
        for error in sorted(Draft202012Validator(schema).iter_errors(block["input"]), key=lambda e: list(e.absolute_path))[:3]:
            pointer = "".join(f"/{p}" for p in error.absolute_path)
            found.append(
                Violation(
                    f"Received: input {show(block['input'])}: {error.message}\nExpected: an input valid against {block['name']}'s input_schema",
                    at=_where(s, position, "input") + pointer,
                )
            )
    return judgement(f"the input of {len(calls)} tool_use block(s) against its tool's input_schema", found)


@check("tools.name_declared")
def name_declared(s: Subject) -> Judgement:
    """A client finds the tool to run by the call's name; the SDK's tool runner answers a name it was not given with an error and runs nothing."""
    tools = s.request_json().get("tools")
    if not isinstance(tools, list) or not tools:
        raise NotApplicable("the request defines no tools to compare names with (a saved answer's request is not known)")
    declared = _tools(s)
    calls = [(p, b) for p, b in _tool_uses(s.message()) if "toolset_name" not in b]
    if not calls:
        raise NotApplicable("no tool_use block outside an SDK toolset")
    if len(declared) < len(tools):
        # A tool entry without a name (an MCP toolset, a future kind) may answer to names the request does not spell out.
        calls = [(p, b) for p, b in calls if b.get("name") in declared]
        if not calls:
            raise NotApplicable("every tool_use name may belong to a request tool entry without a name")
    found = [
        Violation(f"Received: tool_use named {show(b.get('name'))}\nExpected: one of the request's tools {show(sorted(declared))}, spelled as defined", at=_where(s, p, "name"))
        for p, b in calls
        if b.get("name") not in declared
    ]
    return judgement(f"the names of {len(calls)} tool_use block(s) against the request's tools {show(sorted(declared))}", found)


@check("tools.stream_input_is_object")
def stream_input_is_object(s: Subject) -> Judgement:
    """Clients parse the joined input_json_delta pieces at the block's stop; anything but an object breaks the call."""
    if s.reading is None:
        raise NotApplicable("not a stream")
    calls = _calls(s)
    found = []
    for position, block in calls:
        value = block.get("input")
        if "input" in block and not isinstance(value, dict):
            found.append(Violation(f"Received: input_json_delta pieces joining into {show(value)}\nExpected: the JSON text of an object", at=_where(s, position, "input")))
    return judgement(f"the joined input of {len(calls)} streamed tool_use block(s)", found)


@check("tools.stream_input_matches_twin")
def stream_input_matches_twin(s: Subject) -> Judgement:
    """A client that streams must get the same arguments as one that does not (LiteLLM #25605 lost them to {})."""
    if s.reading is None:
        raise NotApplicable("not a stream")
    _forced(s)
    expected = _tool_uses(s.twin_message())
    if not expected:
        raise NotApplicable("the non-stream twin made no tool call (judged by tools.forced_tool_called)")
    received = _tool_uses(s.message())
    if not received:
        raise NotApplicable("the stream made no tool call (judged by tools.forced_tool_called)")
    found = []
    for (position, block), (_, twin) in zip(received, expected, strict=False):
        # Two samples may pick different values (Paris or London); lost or mangled arguments change the keys or their types.
        if _arguments(block.get("input")) != _arguments(twin.get("input")):
            found.append(
                Violation(
                    f"Received: input {show(block.get('input'))} joined from input_json_delta\nExpected: the arguments of {show(twin.get('input'))} (same keys, same JSON types), as the same request not streamed ({s.twin.id if s.twin else '?'})",
                    at=_where(s, position, "input"),
                )
            )
    return judgement(f"the arguments of {min(len(received), len(expected))} streamed tool call(s) against the non-stream twin's", found)


def _arguments(value: JSON) -> object:
    """A tool input's argument names with the JSON type of each value, or the value itself when it is not an object."""
    if not isinstance(value, dict):
        return value
    return {key: _JSON_TYPES.get(type(item), "other") for key, item in value.items()}


_JSON_TYPES = {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object", type(None): "null"}


@check("tools.tool_choice_none_respected")
def tool_choice_none_respected(s: Subject) -> Judgement:
    """tool_choice none is how a client asks for a plain answer; a call it did not allow cannot be run."""
    if _choice(s).get("type") != "none":
        raise NotApplicable("tool_choice is not none")
    message = s.message()
    calls = _tool_uses(message)
    item = f"{_received(calls, message)} under tool_choice \"none\""
    if calls:
        return judgement(item, [Violation(f"Received: {_received(calls, message)}\nExpected: no tool_use block (tool_choice none)", at=_where(s, calls[0][0]))])
    return judgement(item)


@check("tools.parallel_disabled_respected")
def parallel_disabled_respected(s: Subject) -> Judgement:
    """Clients that run one tool at a time set disable_parallel_tool_use; extra calls go unanswered."""
    if _choice(s).get("disable_parallel_tool_use") is not True:
        raise NotApplicable("disable_parallel_tool_use is not true")
    calls = _tool_uses(s.message())
    item = f"{len(calls)} tool_use block(s) with disable_parallel_tool_use true"
    if len(calls) > 1:
        return judgement(item, [Violation(f"Received: {len(calls)} tool_use blocks ({_received(calls, s.message())})\nExpected: at most one (disable_parallel_tool_use true)", at=_where(s, calls[1][0]))])
    return judgement(item)


@check("tools.no_text_before_forced_call")
def no_text_before_forced_call(s: Subject) -> Judgement:
    """A forced call is how clients get structured output; a preamble before it is text they did not ask for and may show or parse."""
    choice = _forced(s)
    message = s.message()
    calls = _tool_uses(message)
    if not calls:
        raise NotApplicable("no tool_use block (judged by tools.forced_tool_called)")
    content = message.get("content")
    first = calls[0][0]
    before = [(i, b) for i, b in enumerate(content[:first]) if isinstance(b, dict)] if isinstance(content, list) else []
    words = [(i, b) for i, b in before if b.get("type") == "text" and isinstance(b.get("text"), str) and b["text"].strip()]
    item = f"{len(before)} block(s) before the first tool_use under tool_choice {show(choice.get('type'))}"
    if words:
        position, block = words[0]
        return judgement(item, [Violation(
            f"Received: a text block {show(str(block.get('text'))[:120])} before the tool_use block\n"
            f"Expected: the tool_use block first (a forced tool_choice prefills the assistant turn, so no text precedes the call)",
            at=_where(s, position, "text"),
        )])
    return judgement(item)


# ------------------------------------------------------------------ calls across the run, stop_reason, streamed input
# (issue 9, "rules still missing": written in the Judgement form; tools.stop_reason_tool_use
# judges unforced calls too)


def _calls_elsewhere(s: Subject) -> dict[str, str]:
    """Every tool_use id in the run's other answers, with the first scenario (in id order) whose answer carries it."""
    seen: dict[str, str] = {}
    for sid in sorted(s.peers):
        answer = s.answer_of(s.peers[sid]) if sid != s.scenario else None
        content = answer.get("content") if answer is not None else None
        for block in content if isinstance(content, list) else ():
            if isinstance(block, dict) and block.get("type") == "tool_use" and isinstance(block.get("id"), str):
                seen.setdefault(block["id"], sid)
    return seen


@check("tools.ids_unique_across_run")
def ids_unique_across_run(s: Subject) -> Judgement:
    """Agents pair each tool_result with its call by id over the whole conversation; an id another answer already used is refused in the next turn, or loops the agent."""
    calls = [(p, b) for p, b in _tool_uses(s.message()) if isinstance(b.get("id"), str)]
    if not calls:
        raise NotApplicable("no tool_use block with an id")
    elsewhere = _calls_elsewhere(s)
    if not elsewhere:
        raise NotApplicable("no other answer of the run carries a tool_use block to compare ids with")
    judged, found = [], []
    for position, block in calls:
        value = str(block["id"])
        judged.append(f"tool_use id {show(value)} against {len(elsewhere)} call(s) of other answers")
        if value in elsewhere:
            found.append(
                Violation(
                    f"Received: tool_use id {show(value)}, already the id of a call in the answer to {elsewhere[value]}\nExpected: a fresh id for every call (no two tool_use blocks of a conversation share one)",
                    at=_where(s, position, "id"),
                )
            )
    return judgement(judged, found)


# Stop reasons under which a tool_use block may stand without stop_reason tool_use: the turn was cut or paused.
_CALL_CUT_SHORT = {
    "max_tokens": "max_tokens cut the answer",
    "model_context_window_exceeded": "the context window cut the answer",
    "refusal": "the model refused part-way",
    "pause_turn": "the turn was paused, to be continued by sending it back",
}


def _input_piece(delta: JSON) -> bool:
    """An input_json_delta that carries some JSON text (first-party streams open with an empty one)."""
    return isinstance(delta, dict) and delta.get("type") == "input_json_delta" and isinstance(delta.get("partial_json"), str) and bool(delta["partial_json"])


def _start_inputs(s: Subject) -> tuple[dict[int, tuple[int, JSON]], dict[int, int]]:
    """Per streamed tool_use block index: (event number, input at content_block_start), and how many non-empty input_json_delta pieces followed."""
    starts: dict[int, tuple[int, JSON]] = {}
    pieces: dict[int, int] = {}
    for index, data in s.events():
        block_index = data.get("index")
        if not isinstance(block_index, int) or isinstance(block_index, bool):
            continue
        block, delta = data.get("content_block"), data.get("delta")
        if data.get("type") == "content_block_start" and isinstance(block, dict) and block.get("type") == "tool_use":
            starts[block_index] = (index, block.get("input"))
        elif data.get("type") == "content_block_delta" and block_index in starts and _input_piece(delta):
            pieces[block_index] = pieces.get(block_index, 0) + 1
    return starts, pieces


@check("tools.stream_input_single_source")
def stream_input_single_source(s: Subject) -> Judgement:
    """A client that starts from a non-empty start input and appends the deltas (the AI SDK) gets {…}{…}, and the call fails."""
    if s.reading is None:
        raise NotApplicable("not a stream")
    starts, pieces = _start_inputs(s)
    if not starts:
        raise NotApplicable("no streamed tool_use block")
    judged, found = [], []
    for block_index, (event_index, start) in sorted(starts.items()):
        whole = isinstance(start, dict) and bool(start)
        streamed = pieces.get(block_index, 0)
        source = "content_block_start" if whole and not streamed else f"{streamed} input_json_delta piece(s)" if streamed else "neither (an empty input)"
        judged.append(f"tool_use block {block_index}: input from {source}")
        if whole and streamed:
            found.append(
                Violation(
                    f"Received: content_block_start of tool_use block {block_index} with input {show(start)}, then {streamed} input_json_delta piece(s)\n"
                    "Expected: the input from one source: input {} at the start and the JSON in input_json_delta pieces, or the whole input at the start and no input_json_delta (programmatic tool calling)",
                    at=locate(s, event_index),
                    event_index=event_index,
                )
            )
    return judgement(judged, found)
