"""Server tools (web search, web fetch, code execution): run by the API and reported in the answer, or refused, never dropped.

A probe forces the server tool with tool_choice naming it, as Claude Code's WebSearch tool does, so
whether it ran does not depend on the model obeying a prompt. An answer shows the call as a
server_tool_use block followed by the result block the API adds (web_search_tool_result,
web_fetch_tool_result, *code_execution_tool_result); ``usage.server_tool_use`` counts the searches and
fetches; a stream sends the call like a tool_use block and each result whole in its
content_block_start. A clean refusal (400 invalid_request_error naming the tool) is a legal answer; a
2xx without the call (the tool stripped, the model answering alone) or with a client tool_use in its
place is the failure. Pure functions over recorded values.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from .._types import JSON, JSONObject
from ..findings import Judgement, NotApplicable, Violation, judgement
from .registry import check
from .subject import Subject, Unjudgeable, infrastructure_failure, locate, show

# Which server_tool_use names and result block types belong to each server tool (SDK ServerToolUseBlock.name; captures 10, 16, 22).
_CALLS = {"web_search": ("web_search",), "web_fetch": ("web_fetch",), "code_execution": ("code_execution", "bash_code_execution", "text_editor_code_execution")}
_RESULTS = {"web_search": ("web_search_tool_result",), "web_fetch": ("web_fetch_tool_result",), "code_execution": ("code_execution_tool_result", "bash_code_execution_tool_result", "text_editor_code_execution_tool_result")}
_TYPE_PREFIXES = {"web_search": "web_search_", "web_fetch": "web_fetch_", "code_execution": "code_execution_"}
# A call may stay without its result only when the turn was cut before the API ran it (pause_turn: the turn paused; capture 24).
CUT_BEFORE_RESULT = frozenset({"pause_turn", "max_tokens", "refusal", "model_context_window_exceeded"})


def server_kind(tool: JSON) -> str | None:
    """The server tool a request's tool definition declares (web_search, web_fetch, code_execution), None for any other tool."""
    declared = tool.get("type") if isinstance(tool, dict) else None
    if not isinstance(declared, str):
        return None
    return next((kind for kind, prefix in _TYPE_PREFIXES.items() if declared.startswith(prefix)), None)


@dataclass(frozen=True, slots=True)
class Forced:
    """The server tool a request forces: its name in tools and its kind."""

    name: str
    kind: str


def forced_server_tool(body: JSON) -> Forced | None:
    """The server tool tool_choice names, when it names one of the request's server tools."""
    if not isinstance(body, dict):
        return None
    choice, tools = body.get("tool_choice"), body.get("tools")
    if not isinstance(choice, dict) or choice.get("type") != "tool" or not isinstance(tools, list):
        return None
    for tool in tools:
        if isinstance(tool, dict) and tool.get("name") == choice.get("name") and (kind := server_kind(tool)) is not None:
            return Forced(str(tool["name"]), kind)
    return None


def blocks(message: JSONObject) -> list[tuple[int, JSONObject]]:
    """(position, block) of every object in content."""
    content = message.get("content")
    if not isinstance(content, list):
        raise NotApplicable("no content array (judged by the schema checks)")
    return [(i, b) for i, b in enumerate(content) if isinstance(b, dict)]


def _kinds(types: Iterable[JSON]) -> list[str]:
    return [str(t) for t in types]


def _content_at(s: Subject, position: int | None = None) -> str:
    base = "rebuilt message /content" if s.reading is not None else "/content"
    return base if position is None else f"{base}/{position}"


def refusal_verdict(s: Subject, names: Collection[str], what: str) -> Judgement:
    """A non-2xx answer to a request with a feature: a clean refusal (400 invalid_request_error naming it) passes, anything else fails."""
    ex = s.exchange
    failure = infrastructure_failure(ex)
    if failure is not None:
        raise Unjudgeable(f"{ex.id}: {failure}")
    if ex.status is None:
        raise NotApplicable(f"no answer: {ex.error}")
    data = ex.json
    error = data.get("error") if isinstance(data, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    text = str(error.get("message", "")) if isinstance(error, dict) else ex.text(300)
    said = f"status {ex.status} ({show(kind)}: {show(text[:160])})"
    normalised = text.lower().replace("-", "_").replace(" ", "_")
    named = [n for n in names if n.lower().replace(" ", "_") in normalised]
    if ex.status == 400 and kind == "invalid_request_error" and named:
        return judgement(f"{what} refused with 400 invalid_request_error naming {show(named[0])}")
    return judgement(said, [Violation(
        f"Received: {said}\nExpected: {what} served as documented, or refused cleanly: 400 invalid_request_error whose message names {show(sorted(names)[0])}"
        " (a target that does not offer it says so, in its profile or in its refusal)",
        at=f"{ex.request.method} {ex.request.url}",
    )])


def _run(s: Subject, kinds: Collection[str], others: str) -> Judgement:
    """The forced server tool ran: its server_tool_use block and the result block the API adds for it."""
    forced = forced_server_tool(s.request_json())
    if forced is None:
        raise NotApplicable("tool_choice forces no server tool of the request")
    if forced.kind not in kinds:
        raise NotApplicable(f"tool_choice forces {show(forced.name)} (judged by {others})")
    if not s.exchange.ok:
        return refusal_verdict(s, (forced.name, "tools", "tool_choice", forced.name.replace("_", " ")), f"the {forced.name} server tool")
    message = s.message()
    found = blocks(message)
    calls = [(i, b) for i, b in found if b.get("type") == "server_tool_use" and b.get("name") in _CALLS[forced.kind]]
    client = [(i, b) for i, b in found if b.get("type") == "tool_use" and b.get("name") == forced.name]
    results = {b.get("tool_use_id"): (i, b) for i, b in found if str(b.get("type")).endswith("_tool_result")}
    reason = message.get("stop_reason")
    types = _kinds(b.get("type") for _, b in found)
    if client:
        position, block = client[0]
        return judgement(f"a client tool_use block named {show(forced.name)}", [Violation(
            f"Received: a tool_use block named {show(forced.name)} with input {show(block.get('input'))} (content types {show(types)}, stop_reason {show(reason)})\n"
            f"Expected: a server_tool_use block the API runs itself, then its {_RESULTS[forced.kind][0]} block (the server tool was handed to the client as a function nobody runs)",
            at=_content_at(s, position),
        )])
    if not calls:
        return judgement(f"no server_tool_use block (content types {show(types)})", [Violation(
            f"Received: no server_tool_use block for {show(forced.name)}: content types {show(types)}, stop_reason {show(reason)}\n"
            f"Expected: a server_tool_use block named {show(_CALLS[forced.kind][0])} and its {_RESULTS[forced.kind][0]} (tool_choice forces the tool: "
            "accepted and not run, the answer comes from the model alone)",
            at=_content_at(s),
        )])
    found_violations: list[Violation] = []
    items: list[str] = []
    for number, (position, call) in enumerate(calls):
        answer = results.get(call.get("id"))
        if answer is None:
            if number == len(calls) - 1 and reason in CUT_BEFORE_RESULT:
                items.append(f"server_tool_use {show(call.get('name'))} cut before its result by stop_reason {show(reason)}")
                continue
            found_violations.append(Violation(
                f"Received: server_tool_use {show(call.get('name'))} id {show(call.get('id'))} with no result block naming it (content types {show(types)}, stop_reason {show(reason)})\n"
                f"Expected: its {_RESULTS[forced.kind][0]} block right after it, with tool_use_id {show(call.get('id'))}",
                at=_content_at(s, position),
            ))
            continue
        where, result = answer
        if result.get("type") not in _RESULTS[forced.kind]:
            found_violations.append(Violation(
                f"Received: a {show(result.get('type'))} block for server_tool_use {show(call.get('name'))}\nExpected: {' or '.join(_RESULTS[forced.kind])}",
                at=_content_at(s, where),
            ))
        items.append(f"server_tool_use {show(call.get('name'))} answered by {show(result.get('type'))}")
    return judgement(items, found_violations)


@check("server_tools.web_tools_run")
def web_tools_run(s: Subject) -> Judgement:
    """Claude Code's WebSearch tool forces web_search and reads the results; a dropped tool leaves it with an answer from the model alone."""
    return _run(s, ("web_search", "web_fetch"), "server_tools.code_execution_run")


@check("server_tools.code_execution_run")
def code_execution_run(s: Subject) -> Judgement:
    """A forced code execution runs in the API's sandbox and comes back with its output; dropped, the model makes the output up."""
    return _run(s, ("code_execution",), "server_tools.web_tools_run")


def _counted(found: list[tuple[int, JSONObject]], kind: str) -> tuple[int, int]:
    """(calls, results that carry what the tool found) for web_search or web_fetch."""
    calls = {b.get("id") for _, b in found if b.get("type") == "server_tool_use" and b.get("name") == kind}
    ok = 0
    for _, block in found:
        if block.get("type") != f"{kind}_tool_result" or block.get("tool_use_id") not in calls:
            continue
        content = block.get("content")
        if (kind == "web_search" and isinstance(content, list)) or (kind == "web_fetch" and isinstance(content, dict) and content.get("type") == "web_fetch_result"):
            ok += 1
    return len(calls), ok


@check("server_tools.usage_counts_requests")
def usage_counts_requests(s: Subject) -> Judgement:
    """Searches and fetches are billed per request from usage.server_tool_use; a gateway that drops or zeroes it hides what the client paid for."""
    message = s.message()
    found = blocks(message)
    usage = message.get("usage")
    counters = usage.get("server_tool_use") if isinstance(usage, dict) else None
    at = "message_delta /usage/server_tool_use" if s.reading is not None else "/usage/server_tool_use"
    items: list[str] = []
    violations: list[Violation] = []
    for kind in ("web_search", "web_fetch"):
        calls, ok = _counted(found, kind)
        if not calls:
            continue
        key = f"{kind}_requests"
        value = counters.get(key) if isinstance(counters, dict) else None
        items.append(f"usage.server_tool_use.{key} {show(value)} for {calls} {kind} call(s), {ok} with results")
        if not isinstance(value, int) or isinstance(value, bool) or not ok <= value <= calls:
            shown = show(counters) if counters is not None else "no usage.server_tool_use"
            violations.append(Violation(
                f"Received: {shown} for {calls} {kind} server_tool_use block(s), {ok} of them answered with results\n"
                f"Expected: usage.server_tool_use.{key} counting the {kind} requests that ran: at least {ok}, at most {calls}",
                at=at,
            ))
    if not items:
        raise NotApplicable("no web_search or web_fetch server_tool_use block")
    return judgement(items, violations)


@check("server_tools.stream_results_whole")
def stream_results_whole(s: Subject) -> Judgement:
    """Clients take a server tool's result from its content_block_start and apply only the deltas they know: results sent otherwise never arrive."""
    results: dict[int, tuple[int, JSONObject]] = {}
    calls: dict[int, int] = {}
    deltas: dict[int, list[tuple[int, str]]] = {}
    for number, data in s.events():
        kind = data.get("type")
        index = data.get("index")
        if not isinstance(index, int):
            continue
        block = data.get("content_block")
        if kind == "content_block_start" and isinstance(block, dict):
            if block.get("type") == "server_tool_use":
                calls[index] = number
            elif str(block.get("type")).endswith("_tool_result"):
                results[index] = (number, block)
        elif kind == "content_block_delta" and index in results:
            delta = data.get("delta")
            deltas.setdefault(index, []).append((number, str(delta.get("type")) if isinstance(delta, dict) else "?"))
    if not results and not calls:
        raise NotApplicable("no server tool block in the stream")
    violations: list[Violation] = []
    for index, (number, block) in sorted(results.items()):
        if block.get("content") is None or "tool_use_id" not in block:  # an empty list is a search that found nothing
            violations.append(Violation(
                f"Received: content_block_start of a {show(block.get('type'))} block carrying {show({k: v for k, v in block.items() if k != 'type'})}\n"
                "Expected: the whole result in content_block_start: its tool_use_id and its content (server tool results arrive whole, with no delta)",
                at=locate(s, number),
            ))
        for delta_at, delta_type in deltas.get(index, [])[:1]:
            violations.append(Violation(
                f"Received: a {show(delta_type)} delta for the {show(block.get('type'))} block at index {index}\n"
                "Expected: no delta for a server tool result block (it arrives whole in content_block_start; clients ignore deltas they do not know)",
                at=locate(s, delta_at),
            ))
    message = s.message()
    for position, block in blocks(message):
        if block.get("type") == "server_tool_use" and not isinstance(block.get("input"), dict):
            violations.append(Violation(f"Received: server_tool_use input_json_delta pieces joining into {show(block.get('input'))}\nExpected: the JSON text of an object", at=_content_at(s, position)))
    items = [f"{len(calls)} server_tool_use block(s)"] + ([f"{len(results)} result block(s) whole in content_block_start"] if results else [])
    return judgement(items, violations)
