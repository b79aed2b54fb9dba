"""Rules for the `messages` array: item and block shapes, then conversation-level rules.

Owns roles, content-block shapes (contract §2.2, §2.3), prefill, mid-conversation system messages and
the 2026-10-21 content restrictions. Shape checks run before the model is known; conversation checks
need the model's facts. Knows nothing about HTTP or the other top-level fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from conformance._types import JSONObject
from conformance.reference import media_rules, shapes
from conformance.reference.headers import ApiVersion
from conformance.reference.models import ModelFacts
from conformance.reference.shapes import Check, Problem, at, join

_ANY: Check = lambda path, value: None  # noqa: E731
_STR: Check = lambda path, value: shapes.string(path, value)  # noqa: E731
_DICT: Check = shapes.obj
_CACHE = shapes.nullable(shapes.obj)


def _tool_result_content(path: str, value: object) -> Problem:
    return None if isinstance(value, str) else shapes.array(path, value)


# Required fields per request block type; extras are tolerated (light checks, easy to extend).
BLOCKS: Mapping[str, Mapping[str, Check]] = {
    "text": {"text": _STR},
    "image": {"source": media_rules.image_source},
    "document": {"source": media_rules.document_source},
    "search_result": {"source": _STR, "title": _STR, "content": shapes.array},
    "thinking": {"thinking": _STR, "signature": _STR},
    "redacted_thinking": {"data": _STR},
    "tool_use": {"id": _STR, "name": _STR, "input": _DICT},
    "tool_result": {"tool_use_id": _STR},
    "server_tool_use": {"id": _STR, "name": _STR, "input": _DICT},
    "web_search_tool_result": {"tool_use_id": _STR, "content": _ANY},
    "web_fetch_tool_result": {"tool_use_id": _STR, "content": _ANY},
    "code_execution_tool_result": {"tool_use_id": _STR, "content": _ANY},
    "bash_code_execution_tool_result": {"tool_use_id": _STR, "content": _ANY},
    "text_editor_code_execution_tool_result": {"tool_use_id": _STR, "content": _ANY},
    "tool_search_tool_result": {"tool_use_id": _STR, "content": _ANY},
    "container_upload": {"file_id": _STR},
    "mcp_tool_use": {"id": _STR, "name": _STR, "server_name": _STR, "input": _DICT},
    "mcp_tool_result": {"tool_use_id": _STR},
}
_OPTIONAL: Mapping[str, Mapping[str, Check]] = {
    "text": {"cache_control": _CACHE, "citations": shapes.nullable(shapes.array)},
    "tool_result": {"content": _tool_result_content, "is_error": shapes.boolean, "cache_control": _CACHE},
}
_TAGS = ", ".join(f"'{tag}'" for tag in BLOCKS)
ROLES = ("user", "assistant", "system")


def block_shape(path: str, value: object) -> Problem:
    """One content block: a known `type` tag and that type's required fields."""
    problem = shapes.obj(path, value)
    if problem or not isinstance(value, dict):
        return problem
    tag = value.get("type")
    if not isinstance(tag, str):
        return at(path, "Unable to extract tag using discriminator 'type'")
    if tag not in BLOCKS:
        return at(
            path, f"Input tag '{tag}' found using 'type' does not match any of the expected tags: {_TAGS}"
        )
    return shapes.object_fields(
        path, value, required=BLOCKS[tag], optional=_OPTIONAL.get(tag, {}), extra_allowed=True
    )


def _content_shape(path: str, value: object) -> Problem:
    if isinstance(value, str):
        return None
    if not isinstance(value, list):
        return at(path, "Input should be a valid string or a list of content blocks")
    return shapes.list_of(block_shape)(path, value)


def _role_shape(path: str, value: object) -> Problem:
    return None if value in ROLES else shapes.literal(path, value, ("user", "assistant"))


def _message_shape(path: str, value: object) -> Problem:
    return shapes.object_fields(
        path, value, required={"role": _role_shape, "content": _content_shape}, optional={}
    )


def messages_shape(path: str, value: object) -> Problem:
    """The `messages` array before any model is known: a non-empty list of well-formed messages."""
    problem = shapes.array(path, value)
    if problem or not isinstance(value, list):
        return problem
    if not value:
        return at(path, "at least one message is required")
    return shapes.list_of(_message_shape)(path, value)


def _blocks(message: JSONObject) -> list[JSONObject]:
    content = message["content"]
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [block for block in content if isinstance(block, dict)]


def _is_empty(message: JSONObject) -> bool:
    return message["content"] in ("", [])


def _text_problem(blocks: list[JSONObject]) -> Problem:
    for block in blocks:
        if block.get("type") == "text":
            if block["text"] == "":
                return "messages: text content blocks must be non-empty"
            if not block["text"].strip():
                return "messages: text content blocks must contain non-whitespace text"
    return None


def _system_problem(index: int, messages: Sequence[JSONObject], model: ModelFacts) -> Problem:
    path = f"messages.{index}"
    if not model.system_messages:
        return at(f"{path}.role", "role 'system' is not supported on this model")
    if index == 0 or messages[index - 1]["role"] != "user":
        return at(path, "system messages must immediately follow a user message")
    for position, block in enumerate(_blocks(messages[index])):
        if block.get("type") != "text":
            return at(join(f"{path}.content", position), "system messages may only contain text blocks")
    return None


def _version_problem(index: int, message: JSONObject, version: ApiVersion) -> Problem:
    if version is not ApiVersion.V2026_10_21 or isinstance(message["content"], str):
        return None
    for position, block in enumerate(_blocks(message)):
        path = f"messages.{index}.content.{position}"
        if message["role"] == "assistant" and block.get("type") == "document":
            return at(path, "document blocks are not supported in assistant messages")
        if message["role"] == "user" and _has_citations(block):
            return at(f"{path}.citations", "citations are not supported in user messages")
    return None


def _has_citations(block: JSONObject) -> bool:
    if block.get("type") == "text":
        return bool(block.get("citations"))
    if block.get("type") == "search_result" and isinstance(block.get("content"), list):
        return any(isinstance(inner, dict) and _has_citations(inner) for inner in block["content"])
    return False


def _prefill_problem(messages: Sequence[JSONObject], model: ModelFacts) -> Problem:
    last = messages[-1]
    if last["role"] != "assistant":
        return None
    if not model.prefill:
        return "Prefilling assistant messages is not supported for this model."
    texts = [b["text"] for b in _blocks(last) if b.get("type") == "text"]
    if texts and texts[-1] != texts[-1].rstrip():
        return "messages: final assistant content cannot end with trailing whitespace"
    return None


def conversation_problem(
    messages: Sequence[JSONObject], model: ModelFacts, *, version: ApiVersion
) -> Problem:
    """Rules that need the model: system-role placement, empty turns, text blocks, prefill, version limits."""
    for index, message in enumerate(messages):
        final_assistant = index == len(messages) - 1 and message["role"] == "assistant"
        problem: Problem = None
        if message["role"] == "system":
            problem = _system_problem(index, messages, model)
        if not problem and _is_empty(message) and not final_assistant:
            problem = at(
                f"messages.{index}",
                "all messages must have non-empty content except for the optional final assistant message",
            )
        if not problem and not final_assistant:
            problem = _text_problem(_blocks(message))
        problem = problem or _version_problem(index, message, version)
        if problem:
            return problem
    return _prefill_problem(messages, model)
