"""Server tools in the toy model: web search, web fetch and code execution, run offline on canned results.

Owns what the API does with a server tool (tool reference and the web search, web fetch and code
execution guides under https://platform.claude.com/docs/en/agents-and-tools/tool-use/; captures 10, 12,
16, 22, 24, 47): which server tool a turn calls (the one tool_choice names, or under auto one the
prompt names), the call's input (the query the prompt asks for, the URL it gives, the command it
quotes), and the result block the API adds right after the call: web_search_tool_result with
web_search_result items, web_fetch_tool_result with a web_fetch_result document (or
url_not_in_prior_context when the conversation gave no URL), bash_code_execution_tool_result with the
command's output, and max_uses_exceeded past ``max_uses``. Results are canned and deterministic
(the same request gets the same results), never fetched. Also the usage counters
(``usage.server_tool_use``), the container code execution runs in, and the request rule that a
server tool's name is the one its type defines. A paused turn (``pause``) stops after its first call,
before the result, as capture 24 ends. Knows nothing about HTTP, SSE or token arithmetic.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from conformance._types import JSON, JSONObject
from conformance.reference.ids import base62
from conformance.reference.shapes import Problem, at
from conformance.reference.tool_calls import ToolCall

# Versioned tool types by the name each one must carry (SDK WebSearchTool20250305Param, WebFetchTool20250910Param, CodeExecutionTool20250825Param).
_TYPES = (("web_search_", "web_search"), ("web_fetch_", "web_fetch"), ("code_execution_", "code_execution"))
_QUERY = re.compile(r"(?i)search(?: the web)? for:?\s*(.+?)(?:[.,;]\s|$)")
_URL = re.compile(r"https?://[^\s\"'<>)]+")
_COMMAND = re.compile(r"`([^`]+)`")
_RETRIEVED_AT = "2026-01-01T00:00:00Z"  # canned pages never change, so neither does their retrieval time
_PAGE_TITLE = "Example Domain"
_PAGE_TEXT = "Example Domain\nThis domain is for use in documentation examples without needing permission. Avoid use in operations."


@dataclass(frozen=True, slots=True)
class ServerCall(ToolCall):
    """One server tool call of a turn: the server_tool_use block, then the result the API added (None: the turn paused first).

    A tool call by its id, name (web_search, web_fetch, bash_code_execution) and input; ``tool`` is the tool of the request it runs.
    """

    tool: str  # web_search, web_fetch, code_execution
    result: JSONObject | None

    def block(self) -> JSONObject:
        """The server_tool_use content block."""
        return {"type": "server_tool_use", "id": self.id, "name": self.name, "input": self.input}


def server_tool_use_id() -> str:
    """`srvtoolu_01` + 22 base62 characters, the shape of first-party server tool ids (captures 10, 16, 22)."""
    return "srvtoolu_01" + base62(22)


def kind(tool: Mapping[str, JSON]) -> str | None:
    """The server tool a definition declares (web_search, web_fetch, code_execution), None for a custom tool or a server tool this server does not run."""
    declared = tool.get("type")
    if not isinstance(declared, str):
        return None
    return next((name for prefix, name in _TYPES if declared.startswith(prefix)), None)


def definitions(tools: Sequence[object]) -> dict[str, JSONObject]:
    """The server tools of a request this server runs, by name."""
    return {str(t["name"]): t for t in tools if isinstance(t, dict) and kind(t) is not None and isinstance(t.get("name"), str)}


def definition_problem(tools: Sequence[object]) -> Problem:
    """A server tool carries the name its type defines (web_search_20250305 is named web_search), as the API's tagged union requires."""
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict) or (expected := kind(tool)) is None:
            continue
        if tool.get("name") != expected:
            return at(f"tools.{index}.{tool['type']}.name", f"Input should be '{expected}'")
        uses = tool.get("max_uses")
        if uses is not None and (isinstance(uses, bool) or not isinstance(uses, int) or uses < 1):
            return at(f"tools.{index}.{tool['type']}.max_uses", "Input should be greater than or equal to 1")
    return None


def _chosen(prompt: str, tools: Mapping[str, JSONObject], tool_choice: object) -> JSONObject | None:
    choice = tool_choice if isinstance(tool_choice, dict) else {}
    wanted = choice.get("type", "auto")
    if wanted == "tool":
        return tools.get(str(choice.get("name")))
    if wanted == "auto":
        return next((tool for name, tool in tools.items() if name in prompt), None)
    return None


def _digest(*parts: str) -> str:
    return base64.b64encode(hashlib.sha256("\x00".join(parts).encode()).digest() * 3).decode()


def _search(call_id: str, prompt: str) -> tuple[JSONObject, JSONObject]:
    found = _QUERY.search(prompt)
    query = (found.group(1) if found else prompt).strip()[:200] or "conformance"
    slug = re.sub(r"[^a-z0-9]+", "-", query.lower()).strip("-")[:60] or "result"
    results: list[JSON] = [
        {"type": "web_search_result", "title": f"{query} ({source})", "url": f"https://{host}/{slug}", "encrypted_content": _digest(query, host), "page_age": "March 1, 2026"}
        for source, host in (("Example Encyclopedia", "encyclopedia.example.com"), ("Example News", "news.example.org"))
    ]
    return {"query": query}, {"type": "web_search_tool_result", "tool_use_id": call_id, "content": results}


def _fetch(call_id: str, prompt: str) -> tuple[JSONObject, JSONObject]:
    found = _URL.search(prompt)
    if found is None:  # the tool fetches only URLs the conversation already holds
        error: JSONObject = {"type": "web_fetch_tool_result_error", "error_code": "url_not_in_prior_context"}
        return {"url": ""}, {"type": "web_fetch_tool_result", "tool_use_id": call_id, "content": error}
    url = found.group(0).rstrip(".,;:!?")
    document: JSONObject = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": _PAGE_TEXT}, "title": _PAGE_TITLE}
    content: JSONObject = {"type": "web_fetch_result", "url": url, "retrieved_at": _RETRIEVED_AT, "content": document}
    return {"url": url}, {"type": "web_fetch_tool_result", "tool_use_id": call_id, "content": content}


def _bash(call_id: str, prompt: str) -> tuple[JSONObject, JSONObject]:
    found = _COMMAND.search(prompt)
    command = found.group(1) if found else "true"
    words = command.split(maxsplit=1)
    if words and words[0] == "echo":
        out: JSONObject = {"stdout": (words[1].strip("\"'") if len(words) > 1 else "") + "\n", "stderr": "", "return_code": 0}
    elif words and words[0] == "true":
        out = {"stdout": "", "stderr": "", "return_code": 0}
    else:
        out = {"stdout": "", "stderr": f"bash: {words[0] if words else command}: command not found\n", "return_code": 127}
    result: JSONObject = {"type": "bash_code_execution_result", **out, "content": []}
    return {"command": command}, {"type": "bash_code_execution_tool_result", "tool_use_id": call_id, "content": result}


_RUN = {"web_search": ("web_search", _search), "web_fetch": ("web_fetch", _fetch), "code_execution": ("bash_code_execution", _bash)}
_EXCEEDED = {"web_search": "web_search_tool_result_error", "web_fetch": "web_fetch_tool_result_error", "code_execution": "bash_code_execution_tool_result_error"}


def choose(prompt: str, tools: Sequence[object], tool_choice: object, *, pause: bool = False, calls_so_far: int = 0) -> tuple[ServerCall, ...]:
    """The server tool call a turn makes for ``prompt`` (at most one), with its result; empty when it calls none."""
    defined = definitions(tools)
    tool = _chosen(prompt, defined, tool_choice)
    if tool is None:
        return ()
    tool_kind = kind(tool)
    assert tool_kind is not None
    name, run = _RUN[tool_kind]
    call_id = server_tool_use_id()
    tool_input, result = run(call_id, prompt)
    limit = tool.get("max_uses")
    if isinstance(limit, int) and calls_so_far >= limit:
        error: JSONObject = {"type": _EXCEEDED[tool_kind], "error_code": "max_uses_exceeded"}
        result = {**result, "content": error}
    return (ServerCall(id=call_id, name=name, input=tool_input, tool=tool_kind, result=None if pause else result),)


def usage(calls: Sequence[ServerCall]) -> JSONObject:
    """usage.server_tool_use: the searches and fetches that ran (a paused call never ran; an error result still counts, capture 47)."""
    ran = [c for c in calls if c.result is not None]
    return {
        "web_search_requests": sum(1 for c in ran if c.tool == "web_search"),
        "web_fetch_requests": sum(1 for c in ran if c.tool == "web_fetch"),
    }


def container(calls: Sequence[ServerCall]) -> JSONObject | None:
    """The container a code execution ran in ({id, expires_at}, capture 22), None when none ran."""
    ran = [c for c in calls if c.tool == "code_execution" and c.result is not None]
    if not ran:
        return None
    return {"id": "container_011C" + base62(20), "expires_at": "2099-01-01T00:00:00Z"}
