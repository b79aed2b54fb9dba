"""Faults of server tools (server_tools.*, issue 13): a gateway that drops the tool, hands it to the client, loses its usage or splits its results.

Each is a deviation a real gateway showed, with its public source. Request rewrites, body and event
rewrites only; the faithful app never learns it is wrapped.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from conformance._types import JSON
from conformance.reference.fault import Fault, fault
from conformance.reference.rewrite.edits import each_item
from conformance.reference.rewrite.request import compose, edit_body
from conformance.reference.rewrite.response import rewrite_json_response
from conformance.reference.rewrite.stream import event, rewrite_events, rewrite_events_with_state
from conformance.reference.rewrite.views import EventFn, EventOut

SERVER_TYPES = ("web_search_", "web_fetch_", "code_execution_")


def _is_server_tool(tool: JSON) -> bool:
    kind = tool.get("type") if isinstance(tool, dict) else None
    return isinstance(kind, str) and kind.startswith(SERVER_TYPES)


def _forced_name(body: dict[str, JSON]) -> JSON:
    choice = body.get("tool_choice")
    return choice.get("name") if isinstance(choice, dict) and choice.get("type") == "tool" else None


def _strip_server_tools(body: dict[str, JSON]) -> None:
    """Drop every server tool, and a tool_choice that names one (a proxy that only forwards functions)."""
    tools = body.get("tools")
    if not isinstance(tools, list) or not any(_is_server_tool(t) for t in tools):
        return
    dropped = {t.get("name") for t in tools if isinstance(t, dict) and _is_server_tool(t)}
    kept = [t for t in tools if not _is_server_tool(t)]
    if kept:
        body["tools"] = kept
    else:
        del body["tools"]
    if _forced_name(body) in dropped or not kept:
        body.pop("tool_choice", None)


_AS_FUNCTION_SCHEMA: dict[str, JSON] = {
    "web_search": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    "web_fetch": {"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]},
    "code_execution": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]},
}


def _as_function(tool: JSON) -> list[JSON]:
    """A server tool declared as an ordinary function with the same name: the model calls it, the client gets a tool_use nobody runs."""
    if not (isinstance(tool, dict) and _is_server_tool(tool)):
        return [tool]
    name = str(tool.get("name"))
    return [{"name": name, "description": f"The {name} tool.", "input_schema": _AS_FUNCTION_SCHEMA.get(name, {"type": "object", "properties": {}})}]


def _drop_server_usage(usage: JSON) -> None:
    if isinstance(usage, dict):
        usage.pop("server_tool_use", None)


def _usage_dropped_in_body(status: int, body: JSON) -> JSON:
    if status == 200 and isinstance(body, dict) and body.get("type") == "message":
        body = copy.deepcopy(body)
        _drop_server_usage(body.get("usage"))
    return body


def _usage_dropped_in_stream(name: str | None, data: JSON) -> Iterable[EventOut]:
    if isinstance(data, dict) and data.get("type") == "message_delta":
        data = copy.deepcopy(data)
        _drop_server_usage(data.get("usage"))
    return [event(name, data)]


def _results_as_deltas() -> EventFn:
    """Open each server tool result block empty and send its content in a delta after it (a re-streamer that sends every block as start + deltas)."""

    def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
        block = data.get("content_block") if isinstance(data, dict) and data.get("type") == "content_block_start" else None
        if not isinstance(block, dict) or not str(block.get("type")).endswith("_tool_result") or "content" not in block:
            return [event(name, data)]
        assert isinstance(data, dict)
        index = data.get("index")
        opened = {**data, "content_block": {**block, "content": []}}
        delta = {"type": "content_block_delta", "index": index, "delta": {"type": "tool_result_delta", "content": block["content"]}}
        return [event(name, opened), event("content_block_delta", delta)]

    return rewrite


FAULTS: tuple[Fault, ...] = (
    fault("server-tools-stripped",
          ["server_tools.code_execution_run", "server_tools.web_tools_run", "stop_reason.pause_turn_passed_through"],
          "https://github.com/zts212653/clowder-ai/issues/1077 (WebSearch/WebFetch silently return empty through non-Anthropic proxies: a successful response, no results); "
          "https://github.com/router-for-me/CLIProxyAPI/issues/883 (Claude Code: \"Did 0 searches\"); "
          "https://github.com/NVIDIA/TensorRT-LLM/pull/18130 (review: \"Silently dropping a configured server tool lets the client believe live search was honored while the model answers without it\")",
          "Server tools (web_search, web_fetch, code_execution) and a tool_choice naming one are dropped on the way: the model answers alone, 200.",
          edit_body(_strip_server_tools)),
    fault("server-tool-as-client-tool",
          ["server_tools.code_execution_run", "server_tools.web_tools_run", "stop_reason.pause_turn_passed_through"],
          "https://github.com/mnfst/llm-gateway/pull/2881 (server tools forwarded to other providers as ordinary functions: \"The model could emit a tool_call for a tool nobody can run\")",
          "Each server tool is declared upstream as an ordinary function of the same name: the answer carries a tool_use block for web_search the client cannot run.",
          edit_body(each_item("tools", _as_function))),
    fault("server-tool-usage-dropped",
          ["server_tools.usage_counts_requests"],
          "https://github.com/WordPress/ai-provider-for-anthropic/issues/41 (usage.server_tool_use dropped, so consumers cannot price searches); "
          "https://github.com/experientiallabs/experiential/pull/689 (web_search_requests parsed past, not surfaced)",
          "usage.server_tool_use is dropped from every answer, streamed (message_delta) or not: the searches and fetches that ran are not reported.",
          compose(rewrite_json_response(_usage_dropped_in_body), rewrite_events(_usage_dropped_in_stream))),
    fault("server-tool-result-as-delta",
          ["server_tools.stream_results_whole"],
          "DOC-STR (server tool results arrive whole in content_block_start); the SDK accumulator applies only the deltas it knows "
          "(anthropic-sdk-python lib/streaming/_messages.py), so a re-streamer that sends every block as an empty start plus deltas loses them",
          "In streams, each server tool result block starts with empty content and its content follows in a content_block_delta.",
          rewrite_events_with_state(_results_as_deltas)),
)
