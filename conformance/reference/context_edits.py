"""Context editing under the context-management-2025-06-27 beta: what the API accepts, applies and reports.

Owns (https://platform.claude.com/docs/en/build-with-claude/context-editing):
* the beta gate: without it, a context_management field is refused as Anthropic refuses it
  ("context_management: Extra inputs are not permitted", https://github.com/anthropics/claude-code/issues/14135);
* clear_tool_uses_20250919: once the prompt exceeds its trigger (input tokens, default 100,000, or tool
  uses), the oldest tool results are replaced by a placeholder, keeping the most recent ``keep`` tool uses
  (default 3) and any tool in ``exclude_tools``; ``clear_tool_inputs`` clears the calls' inputs too; nothing
  is applied when less than ``clear_at_least`` input tokens would go;
* clear_thinking_20251015: thinking blocks of all but the last ``keep`` assistant turns that have them
  (default 1; "all" keeps every one) are removed;
* the report: with the beta, every answer carries context_management {applied_edits: [...]}, empty when
  nothing was applied (capture 19), each edit with what it cleared (SDK BetaContextManagementResponse).
The edited prompt is what the model reads and the cache keys on; the client keeps its own history. Knows
nothing about HTTP.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

from conformance._types import JSON, JSONObject
from conformance.reference import toy_model

BETA = "context-management-2025-06-27"
CLEAR_TOOL_USES = "clear_tool_uses_20250919"
CLEAR_THINKING = "clear_thinking_20251015"
_EDITS = (CLEAR_TOOL_USES, CLEAR_THINKING)
PLACEHOLDER = "[cleared]"  # the placeholder text a cleared tool result keeps (its wording is not documented)
DEFAULT_TRIGGER_TOKENS = 100_000
DEFAULT_KEEP_TOOL_USES = 3


def _count(value: object, kind: str, *, minimum: int = 0) -> int | None:
    """The value of ``{type: kind, value: N}`` with N >= minimum, else None."""
    if isinstance(value, dict) and value.get("type") == kind:
        number = value.get("value")
        if isinstance(number, int) and not isinstance(number, bool) and number >= minimum:
            return number
    return None


def _edit_problem(path: str, edit: object) -> str | None:
    if not isinstance(edit, dict):
        return f"{path}: Input should be a valid dictionary"
    kind = edit.get("type")
    if kind not in _EDITS:
        tags = ", ".join(f"'{tag}'" for tag in _EDITS)
        return f"{path}: Input tag '{kind}' found using 'type' does not match any of the expected tags: {tags}"
    if kind == CLEAR_TOOL_USES:
        trigger = edit.get("trigger")
        if trigger is not None and _count(trigger, "input_tokens", minimum=1) is None and _count(trigger, "tool_uses", minimum=1) is None:
            return f"{path}.trigger: Input should be {{type: 'input_tokens' | 'tool_uses', value: a positive integer}}"
        if "keep" in edit and _count(edit["keep"], "tool_uses") is None:
            return f"{path}.keep: Input should be {{type: 'tool_uses', value: a non-negative integer}}"
        if edit.get("clear_at_least") is not None and _count(edit["clear_at_least"], "input_tokens") is None:
            return f"{path}.clear_at_least: Input should be {{type: 'input_tokens', value: a non-negative integer}}"
        return None
    keep = edit.get("keep")
    if keep is not None and keep != "all" and _count(keep, "thinking_turns", minimum=1) is None and not (isinstance(keep, dict) and keep.get("type") == "all"):
        return f"{path}.keep: Input should be 'all' or {{type: 'thinking_turns', value: a positive integer}}"
    return None


def problem(config: object, betas: Sequence[str]) -> str | None:
    """Why a request's context_management is refused, or None (absent, or well formed under the beta)."""
    if config is None:
        return None
    if BETA not in betas:
        return "context_management: Extra inputs are not permitted"
    if not isinstance(config, dict):
        return "context_management: Input should be a valid dictionary"
    edits = config.get("edits", [])
    if not isinstance(edits, list):
        return "context_management.edits: Input should be a valid list"
    for index, edit in enumerate(edits):
        found = _edit_problem(f"context_management.edits.{index}", edit)
        if found:
            return found
    return None


@dataclass(frozen=True, slots=True)
class Edited:
    """The prompt after the edits, and what the answer reports (None: the beta was not asked for)."""

    messages: tuple[JSONObject, ...]
    applied: list[JSONObject] | None


def _tokens(system: object, tools: Sequence[object], messages: Sequence[JSONObject]) -> int:
    return toy_model.input_tokens(system=system, messages=messages, tools=tools)


def _tool_uses(messages: Sequence[JSONObject]) -> list[tuple[int, JSONObject]]:
    """(message index, tool_use block) for every tool call of the history, oldest first."""
    out = []
    for number, message in enumerate(messages):
        content = message.get("content")
        if message.get("role") == "assistant" and isinstance(content, list):
            out += [(number, block) for block in content if isinstance(block, dict) and block.get("type") == "tool_use"]
    return out


def _clear_tool_uses(edit: JSONObject, messages: list[JSONObject], total: int) -> int:
    """Apply one clear_tool_uses edit in place; how many tool uses it cleared."""
    uses = _tool_uses(messages)
    trigger = edit.get("trigger")
    limit = _count(trigger, "tool_uses")
    exceeded = len(uses) > limit if limit is not None else total > (_count(trigger, "input_tokens") or DEFAULT_TRIGGER_TOKENS)
    if not exceeded:
        return 0
    keep = _count(edit.get("keep"), "tool_uses")
    kept = DEFAULT_KEEP_TOOL_USES if keep is None else keep
    excluded = set(edit.get("exclude_tools") or ())
    inputs = edit.get("clear_tool_inputs")
    candidates = [(n, block) for n, block in (uses[: len(uses) - kept] if kept else uses) if block.get("name") not in excluded]
    cleared = {str(block.get("id")) for _, block in candidates}
    for _, block in candidates:
        if inputs is True or (isinstance(inputs, list) and block.get("name") in inputs):
            block["input"] = {}
    for message in messages:
        content = message.get("content")
        if message.get("role") == "user" and isinstance(content, list):
            for block in content:
                if isinstance(block, dict) and block.get("type") == "tool_result" and block.get("tool_use_id") in cleared:
                    block["content"] = PLACEHOLDER
    return len(candidates)


def _clear_thinking(edit: JSONObject, messages: list[JSONObject]) -> int:
    """Apply one clear_thinking edit in place; how many assistant turns lost their thinking."""
    keep = edit.get("keep")
    if keep == "all" or (isinstance(keep, dict) and keep.get("type") == "all"):
        return 0
    kept = _count(keep, "thinking_turns", minimum=1) or 1
    thinking_turns = [
        m for m in messages if m.get("role") == "assistant" and isinstance(m.get("content"), list)
        and any(isinstance(b, dict) and b.get("type") in ("thinking", "redacted_thinking") for b in m["content"])
    ]  # fmt: skip
    cleared = thinking_turns[: max(len(thinking_turns) - kept, 0)]
    for message in cleared:
        message["content"] = [b for b in message["content"] if not (isinstance(b, dict) and b.get("type") in ("thinking", "redacted_thinking"))]
    return len(cleared)


def apply(config: object, betas: Sequence[str], *, system: object, tools: Sequence[object], messages: Sequence[JSONObject]) -> Edited:
    """The prompt after every edit the request asks for, and the applied_edits its answer reports."""
    if BETA not in betas:
        return Edited(tuple(messages), None)
    edits: list[JSON] = config.get("edits", []) if isinstance(config, dict) and isinstance(config.get("edits"), list) else []
    current = [copy.deepcopy(m) for m in messages]
    applied: list[JSONObject] = []
    for edit in edits:
        if not isinstance(edit, dict):
            continue
        before = _tokens(system, tools, current)
        trial = [copy.deepcopy(m) for m in current]
        if edit.get("type") == CLEAR_TOOL_USES:
            count = _clear_tool_uses(edit, trial, before)
            freed = before - _tokens(system, tools, trial)
            least = _count(edit.get("clear_at_least"), "input_tokens") or 0
            if count and freed >= least:
                current = trial
                applied.append({"type": CLEAR_TOOL_USES, "cleared_tool_uses": count, "cleared_input_tokens": max(freed, 0)})
        elif edit.get("type") == CLEAR_THINKING:
            count = _clear_thinking(edit, trial)
            if count:
                applied.append({"type": CLEAR_THINKING, "cleared_thinking_turns": count, "cleared_input_tokens": max(before - _tokens(system, tools, trial), 0)})
                current = trial
    return Edited(tuple(current), applied)
