"""Tool-use deviations real gateways show in calls and definitions (tools.*), each a small wrapper around the faithful app.

Most come from translating Anthropic tool use to and from OpenAI's function calling: arguments are a JSON
string there, ids are call_…, finish_reason tool_calls has to be mapped, and definitions are validated by
other rules. tool_choice lives in tool_choice.py, results and history in tool_history.py. Deviation
numbers refer to the research notes' table (peers.md §4.6).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable

from conformance._types import JSON
from conformance.reference.fault import Fault, fault
from conformance.reference.rewrite.edits import PEERS, edit_content, refuse_if, request_body
from conformance.reference.rewrite.request import branch_on_request, compose, edit_body, refuse_request
from conformance.reference.rewrite.response import rewrite_json_response
from conformance.reference.rewrite.stream import event, rewrite_events, rewrite_events_with_state
from conformance.reference.rewrite.views import EventFn, EventOut, Refusal, RequestView

VLLM = "https://github.com/vllm-project/vllm/blob/main/vllm/entrypoints/anthropic/protocol.py"


def _blocks(kind: str, fn: Callable[[dict[str, JSON]], None]) -> Callable[[list[JSON]], list[JSON]]:
    def apply(content: list[JSON]) -> list[JSON]:
        for block in content:
            if isinstance(block, dict) and block.get("type") == kind:
                fn(block)
        return content

    return apply


def _tool_use_starts(fn: Callable[[dict[str, JSON]], None]) -> EventFn:
    """An event rewrite of every tool_use content_block_start's block."""

    def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
        block = data.get("content_block") if isinstance(data, dict) and data.get("type") == "content_block_start" else None
        if isinstance(data, dict) and isinstance(block, dict) and block.get("type") == "tool_use":
            block = copy.deepcopy(block)
            fn(block)
            data = {**data, "content_block": block}
        return [event(name, data)]

    return rewrite


def _without_tool_use(content: list[JSON]) -> list[JSON]:
    return [b for b in content if not (isinstance(b, dict) and b.get("type") == "tool_use")]


def _drop_tool_blocks() -> EventFn:
    """Drop every event of tool_use blocks and renumber the blocks after them."""
    state: dict[str, object] = {"dropped": set(), "shift": 0}

    def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
        if not isinstance(data, dict) or not isinstance(data.get("index"), int):
            return [event(name, data)]
        dropped = state["dropped"]
        assert isinstance(dropped, set)
        block = data.get("content_block")
        if data.get("type") == "content_block_start" and isinstance(block, dict) and block.get("type") == "tool_use":
            dropped.add(data["index"])
        if data["index"] in dropped:
            if data.get("type") == "content_block_stop":
                state["shift"] = len(dropped)
            return []
        shift = state["shift"]
        assert isinstance(shift, int)
        return [event(name, {**data, "index": data["index"] - shift})]

    return rewrite


def _lose_stream_input(name: str | None, data: JSON) -> Iterable[EventOut]:
    delta = data.get("delta") if isinstance(data, dict) else None
    if isinstance(data, dict) and isinstance(delta, dict) and delta.get("type") == "input_json_delta":
        data = {**data, "delta": {**delta, "partial_json": ""}}
    return [event(name, data)]


def _block_per_argument_chunk() -> EventFn:
    """Each input_json_delta of a tool_use block opens a new block with the same id; the first block stays empty."""
    state: dict[str, JSON] = {"next": 0, "tool": None}
    shift: dict[int, int] = {}

    def new_index() -> int:
        index = state["next"]
        assert isinstance(index, int)
        state["next"] = index + 1
        return index

    def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
        if not isinstance(data, dict) or not isinstance(data.get("index"), int):
            return [event(name, data)]
        kind, block = data.get("type"), data.get("content_block")
        if kind == "content_block_start":
            is_tool = isinstance(block, dict) and block.get("type") == "tool_use"
            state["tool"] = copy.deepcopy(block) if is_tool else None
            index = new_index()
            shift[data["index"]] = index
            if is_tool:
                return [event(name, {**data, "index": index}), event("content_block_stop", {"type": "content_block_stop", "index": index})]
            return [event(name, {**data, "index": index})]
        if state["tool"] is not None and kind in ("content_block_delta", "content_block_stop"):
            if kind == "content_block_stop":
                return []
            index = new_index()
            start = {"type": "content_block_start", "index": index, "content_block": state["tool"]}
            return [event("content_block_start", start), event(name, {**data, "index": index}), event("content_block_stop", {"type": "content_block_stop", "index": index})]
        return [event(name, {**data, "index": shift.get(data["index"], data["index"])})]

    return rewrite


def _drop_start_input(block: dict[str, JSON]) -> None:
    block.pop("input", None)


def _input_as_string(block: dict[str, JSON]) -> None:
    block["input"] = json.dumps(block.get("input"))


def _stream_input_as_string() -> EventFn:
    """Hold a tool_use block's input_json_delta pieces and send them as one JSON string literal at its stop."""
    pieces: dict[int, list[str]] = {}

    def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
        if not isinstance(data, dict) or not isinstance(data.get("index"), int):
            return [event(name, data)]
        index, delta = data["index"], data.get("delta")
        if data.get("type") == "content_block_delta" and isinstance(delta, dict) and delta.get("type") == "input_json_delta":
            pieces.setdefault(index, []).append(str(delta.get("partial_json", "")))
            return []
        if data.get("type") == "content_block_stop" and index in pieces:
            whole = json.dumps("".join(pieces.pop(index)) or "{}")
            joined = {"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": whole}}
            return [event("content_block_delta", joined), event(name, data)]
        return [event(name, data)]

    return rewrite


def _openai_id(block: dict[str, JSON]) -> None:
    block["id"] = "call_" + str(block.get("id", "")).removeprefix("toolu_")


def _namespaced(block: dict[str, JSON]) -> None:
    block["name"] = "mcp__client_tools__" + str(block.get("name", ""))


def _harmony_recipient(block: dict[str, JSON]) -> None:
    block["name"] = "functions." + str(block.get("name", ""))


def _free_choice(view: RequestView) -> bool:
    """A Messages call whose tool_choice leaves the name to the model (auto or absent): the backend's own parser writes it."""
    body = request_body(view)
    choice = body.get("tool_choice") if body is not None else None
    return body is not None and (not isinstance(choice, dict) or choice.get("type") in (None, "auto"))


def _end_turn_for_tool_use(target: dict[str, JSON]) -> None:
    if target.get("stop_reason") == "tool_use":
        target["stop_reason"] = "end_turn"


def _stop_in_body(status: int, body: JSON) -> JSON:
    if status == 200 and isinstance(body, dict) and body.get("type") == "message":
        body = copy.deepcopy(body)
        _end_turn_for_tool_use(body)
    return body


def _stop_in_delta(name: str | None, data: JSON) -> Iterable[EventOut]:
    delta = data.get("delta") if isinstance(data, dict) and data.get("type") == "message_delta" else None
    if isinstance(data, dict) and isinstance(delta, dict):
        delta = dict(delta)
        _end_turn_for_tool_use(delta)
        data = {**data, "delta": delta}
    return [event(name, data)]


_INVALID_NAME = re.compile(r"[^a-zA-Z0-9_-]")


def _sanitise_tools(body: dict[str, JSON]) -> None:
    tools = body.get("tools")
    for tool in tools if isinstance(tools, list) else ():
        if not isinstance(tool, dict):
            continue
        if isinstance(tool.get("name"), str):
            tool["name"] = _INVALID_NAME.sub("_", tool["name"])[:128] or "tool"
        schema = tool.get("input_schema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            tool["input_schema"] = {"type": "object", "properties": {}}


def _custom_tools(body: dict[str, JSON]) -> list[dict[str, JSON]]:
    tools = body.get("tools")
    return [t for t in tools if isinstance(t, dict) and t.get("type") in (None, "custom")] if isinstance(tools, list) else []


def _default_input_schema(body: dict[str, JSON]) -> None:
    for tool in _custom_tools(body):
        tool.setdefault("input_schema", {"type": "object", "properties": {}})


def _truncate_names(body: dict[str, JSON]) -> None:
    for tool in _custom_tools(body):
        if isinstance(tool.get("name"), str):
            tool["name"] = tool["name"][:64]


def _sanitise_names(body: dict[str, JSON]) -> None:
    for tool in _custom_tools(body):
        if isinstance(tool.get("name"), str):
            tool["name"] = _INVALID_NAME.sub("_", tool["name"])[:64] or "tool"


def _refuse_empty_properties(view: RequestView) -> Refusal:
    body = request_body(view, count_tokens=True)
    for index, tool in enumerate(_custom_tools(body) if body is not None else ()):
        schema = tool.get("input_schema")
        if isinstance(schema, dict) and schema.get("type") == "object" and not schema.get("properties"):
            return 400, "invalid_request_error", f"* GenerateContentRequest.tools[0].function_declarations[{index}].parameters.properties: should be non-empty for OBJECT type"
    return None


def _answer_dangling_calls(body: dict[str, JSON]) -> None:
    """Insert a placeholder tool_result for every tool call the next user turn leaves unanswered."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return
    for index, message in enumerate(messages[:-1]):
        content = message.get("content") if isinstance(message, dict) and message.get("role") == "assistant" else None
        calls = [b.get("id") for b in content if isinstance(b, dict) and b.get("type") == "tool_use"] if isinstance(content, list) else []
        following = messages[index + 1]
        if not calls or not isinstance(following, dict) or following.get("role") != "user":
            continue
        turn = following.get("content")
        blocks = [{"type": "text", "text": turn}] if isinstance(turn, str) else list(turn) if isinstance(turn, list) else []
        answered = {b.get("tool_use_id") for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"}
        missing: list[JSON] = [{"type": "tool_result", "tool_use_id": call, "content": "(no result)"} for call in calls if call not in answered]
        if missing:
            following["content"] = [*missing, *blocks]


def _tool_results(view: RequestView) -> list[dict[str, JSON]]:
    body = request_body(view, count_tokens=True)
    messages = body.get("messages") if body is not None else None
    found = []
    for message in messages if isinstance(messages, list) else ():
        content = message.get("content") if isinstance(message, dict) else None
        found += [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"] if isinstance(content, list) else []
    return found


def _has_tool_results(view: RequestView) -> bool:
    return bool(_tool_results(view))


def _result_is_error(view: RequestView) -> bool:
    return any("is_error" in block for block in _tool_results(view))


FAULTS: tuple[Fault, ...] = (
    fault("tool-call-dropped", ["tools.forced_tool_called", "tools.tool_use_block_present"], f"{PEERS} #10 (vLLM test_message_stream_converter.py docstring)",
          "stop_reason tool_use arrives, but the tool_use block was lost in translation (streamed or not).",
          compose(edit_content(_without_tool_use), rewrite_events_with_state(_drop_tool_blocks))),
    fault("stream-tool-input-lost", ["tools.input_matches_schema", "tools.stream_input_matches_twin", "structured.strict_tool_input_valid"], f"{PEERS} #12; https://github.com/BerriAI/litellm/issues/25605",
          "Streamed tool calls lose their arguments: every input_json_delta is empty, so the input is {} (non-stream is fine).",
          rewrite_events(_lose_stream_input)),
    fault("tool-use-block-per-chunk",
          ["stream.rebuilt_matches_twin", "tools.ids_unique", "tools.input_matches_schema", "tools.parallel_disabled_respected", "tools.stream_input_is_object",
            "tools.stream_input_matches_twin", "thinking.stream_round_trip_accepted", "structured.strict_tool_input_valid"],
          f"{PEERS} #11; https://github.com/nanocoai/nanoclaw/pull/1241",
          "Every tool-argument chunk opens a new tool_use block with the same id; the first block stays empty.",
          rewrite_events_with_state(_block_per_argument_chunk)),
    fault("tool-use-start-without-input", ["stream.event_schema"], f"{PEERS} #13; https://github.com/farion1231/cc-switch/pull/2557",
          "content_block_start of a tool_use block has no input field.", rewrite_events(_tool_use_starts(_drop_start_input))),
    fault("tool-input-json-string", ["shape.message_schema", "thinking.round_trip_accepted", "tools.stream_input_is_object", "thinking.stream_round_trip_accepted", "server_tools.stream_results_whole"],
          "https://github.com/nielspeter/claude-code-proxy/pull/13 (OpenAI arguments string forwarded as tool_use.input)",
          "tool_use input is OpenAI's arguments string instead of an object (streamed: the pieces join into a JSON string literal).",
          compose(edit_content(_blocks("tool_use", _input_as_string)), rewrite_events_with_state(_stream_input_as_string))),
    fault("openai-tool-call-ids", ["tools.id_prefix"], "https://github.com/theopenco/llmgateway/pull/3389 (call_… ids leaked on /v1/messages)",
          "tool_use ids are OpenAI call_… ids instead of toolu_… ids.",
          compose(edit_content(_blocks("tool_use", _openai_id)), rewrite_events(_tool_use_starts(_openai_id)))),
    fault("tool-names-namespaced", ["tools.forced_tool_called", "tools.name_declared"], "https://github.com/AntonioAEMartins/claude-code-proxy/issues/1 (tool_use named mcp__client_tools__get_weather)",
          "tool_use blocks name the tool with the gateway's MCP prefix (mcp__client_tools__get_weather), not as the request defined it.",
          compose(edit_content(_blocks("tool_use", _namespaced)), rewrite_events(_tool_use_starts(_namespaced)))),
    fault("tool-name-recipient-prefix", ["tools.name_declared"],
          "https://github.com/cubist38/mlx-openai-server/pull/51 (gpt-oss Harmony recipient functions.<name> not stripped); https://github.com/tontinton/maki/pull/518",
          "Unforced tool calls (tool_choice auto) name the tool functions.get_weather, the Harmony recipient a gpt-oss backend's parser leaves in; "
          "a forced call is right, its name written from tool_choice.",
          branch_on_request(_free_choice, compose(edit_content(_blocks("tool_use", _harmony_recipient)), rewrite_events(_tool_use_starts(_harmony_recipient))))),
    fault("tool-use-stop-reason-end-turn", ["tools.stop_reason_tool_use"], "https://github.com/pgEdge/pgedge-postgres-mcp/issues/217 (finish_reason tool_calls translated to end_turn)",
          "An answer that calls a tool reports stop_reason end_turn instead of tool_use.",
          compose(rewrite_json_response(_stop_in_body), rewrite_events(_stop_in_delta))),
    fault("tool-definitions-not-validated", ["count_tokens.invalid_tool_name_rejected", "tools.input_schema_not_object_rejected", "tools.invalid_name_rejected", "tools.missing_input_schema_rejected"],
          f"{VLLM} (tool name a plain str, input_schema any dict)",
          "Invalid tool definitions are served: names are sanitised and non-object schemas replaced instead of a 400.", edit_body(_sanitise_tools, count_tokens=True)),
    fault("tool-input-schema-defaulted", ["tools.missing_input_schema_rejected"], "https://platform.openai.com/docs/api-reference/chat/create (function parameters optional: 'Omitting parameters defines a function with an empty parameter list')",
          "A custom tool without input_schema is given {\"type\": \"object\", \"properties\": {}} and served.", edit_body(_default_input_schema, count_tokens=True)),
    fault("tool-name-truncated", ["tools.invalid_name_rejected"], "https://platform.openai.com/docs/guides/function-calling (function names up to 64 characters, which translating gateways cut to)",
          "Tool names longer than 64 characters are cut to 64 and served instead of refused.", edit_body(_truncate_names, count_tokens=True)),
    fault("tool-schema-needs-properties", ["tools.invalid_name_rejected", "tools.no_argument_tool_accepted"],
          "https://github.com/vercel/ai/issues/3371 (Gemini: 'parameters.properties: should be non-empty for OBJECT type')",
          "A Gemini-backed gateway: a tool whose object schema has no properties is refused, and tool names are sanitised instead of checked.",
          compose(refuse_request(_refuse_empty_properties), edit_body(_sanitise_names, count_tokens=True))),
    fault("tool-result-synthesised", ["tools.unanswered_tool_use_rejected"], "https://docs.litellm.ai/docs/completion/message_sanitization (modify_params: orphaned tool calls get tool results)",
          "A tool call the next user turn leaves unanswered gets a placeholder tool_result and the conversation is served.", edit_body(_answer_dangling_calls, count_tokens=True)),
    fault("tool-result-id-dropped", ["thinking.round_trip_accepted", "tools.tool_result_accepted", "thinking.stream_round_trip_accepted", "tools.parallel_results_accepted", "tools.tool_result_image_accepted", "context.edits_applied"], "https://github.com/vllm-project/vllm/pull/34745 (tool_use_id dropped from tool_result)",
          "tool_result blocks lose their tool_use_id in translation and the backend refuses the conversation.", refuse_request(refuse_if(_has_tool_results, "Unexpected tool call id in tool results"))),
    fault("tool-result-is-error-rejected", ["tools.tool_result_accepted", "tools.tool_result_image_accepted"], "https://github.com/sgl-project/sglang/pull/32610 (is_error has no OpenAI counterpart)",
          "A tool_result carrying is_error is refused as an extra input.", refuse_request(refuse_if(_result_is_error, "messages.2.content.0.tool_result.is_error: Extra inputs are not permitted"))),
)
