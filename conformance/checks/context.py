"""Context management and the betas Claude Code sends: the edits a request asks for are applied and reported.

Claude Code sends context_management with the context-management-2025-06-27 beta on every request to
/v1/messages?beta=true. With the beta, every answer carries context_management.applied_edits (capture 19:
empty when nothing applied); an edit whose trigger the history exceeds is applied and reported with what it
cleared (DOC-CTXEDIT; in a stream, at the top level of the final message_delta, where the beta SDK
accumulator reads it). An answer without the report, or without the edit, lost the beta or the field on
the way. A clean refusal naming context_management or the beta is a legal answer (_refusal.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from .._types import JSON, JSONObject
from ..findings import Judgement, NotApplicable, Violation, judgement
from ._refusal import clean_refusal, unclean
from .registry import check
from .subject import Subject, is_int, locate, show

FIELDS = ("context_management", "context-management-2025-06-27", "anthropic-beta")
CLEARED = {"clear_tool_uses_20250919": "cleared_tool_uses", "clear_thinking_20251015": "cleared_thinking_turns"}


def _tool_uses(body: Mapping[str, JSON]) -> int:
    messages = body.get("messages")
    count = 0
    for message in messages if isinstance(messages, list) else ():
        content = message.get("content") if isinstance(message, dict) and message.get("role") == "assistant" else None
        if isinstance(content, list):
            count += sum(1 for b in content if isinstance(b, dict) and b.get("type") == "tool_use")
    return count


def due_edits(body: Mapping[str, JSON]) -> Iterator[str]:
    """The edit types the request certainly triggers: clear_tool_uses with a tool-use trigger the history exceeds, something left to clear."""
    config = body.get("context_management")
    edits = config.get("edits") if isinstance(config, dict) else None
    uses = _tool_uses(body)
    for edit in edits if isinstance(edits, list) else ():
        if not isinstance(edit, dict) or edit.get("type") != "clear_tool_uses_20250919":
            continue
        trigger, keep = edit.get("trigger"), edit.get("keep")
        limit = trigger.get("value") if isinstance(trigger, dict) and trigger.get("type") == "tool_uses" else None
        kept = keep.get("value") if isinstance(keep, dict) and keep.get("type") == "tool_uses" else 3
        if is_int(limit) and is_int(kept) and uses > limit and uses > kept and not edit.get("exclude_tools"):
            yield "clear_tool_uses_20250919"


def _report(s: Subject) -> tuple[JSON, str]:
    """The answer's context_management and where it is: the body's, or the last message_delta's top level."""
    if s.reading is None:
        body = s.body()
        return body.get("context_management"), "/context_management"
    found: tuple[JSON, str] | None = None
    for index, data in s.events():
        if data.get("type") == "message_delta":
            found = (data.get("context_management"), f"{locate(s, index)} /context_management")
    if found is None:  # the stream ended before its message_delta: the report's place never came
        raise s.unjudged("the stream has no message_delta to carry the report (judged by stream.event_order and stream.ends_with_message_stop)")
    return found


@check("context.edits_applied")
def edits_applied(s: Subject) -> Judgement:
    """Claude Code asks for context edits on every turn; dropped on the way, the context it manages is not the one the model reads."""
    body = s.request_json()
    if "context_management" not in body:
        raise NotApplicable("the request sends no context_management")
    ex = s.exchange
    if not ex.ok:
        refusal = clean_refusal(ex, FIELDS)
        return judgement(refusal) if refusal else judgement(f"status {ex.status}", [unclean(ex, FIELDS, honoured="the edits applied and reported")])
    due = list(due_edits(body))
    if not due:
        raise NotApplicable("the request asks for no edit whose trigger it certainly exceeds")
    report, at = _report(s)
    if not isinstance(report, dict) or not isinstance(report.get("applied_edits"), list):
        where = "the final message_delta" if s.reading is not None else "the answer"
        return judgement(f"no context_management in {where}", [
            Violation(
                f"Received: context_management {show(report)} in {where}\nExpected: {{applied_edits: [...]}}: with the context-management beta every answer "
                "reports the edits it applied (capture 19), at the top level of the final message_delta of a stream; none means the beta, or the "
                "field, never reached the API",
                at=at,
            )
        ])
    applied: list[JSONObject] = [e for e in report["applied_edits"] if isinstance(e, dict)]
    found: list[Violation] = []
    items: list[str] = []
    for kind in due:
        entry = next((e for e in applied if e.get("type") == kind), None)
        count = entry.get(CLEARED[kind]) if entry is not None else None
        items.append(f"applied_edits {kind} {CLEARED[kind]} {show(count)}")
        if entry is None or not (is_int(count) and count >= 1):
            found.append(Violation(
                f"Received: applied_edits {show(report['applied_edits'])}\nExpected: a {kind} entry with {CLEARED[kind]} >= 1: the history holds "
                f"{_tool_uses(body)} tool uses, more than the edit's trigger, so it is applied; not applied, the edit never reached the API",
                at=at,
            ))
    return judgement(items, found)
