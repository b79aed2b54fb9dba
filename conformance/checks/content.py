"""Request content and extras as the answer shows them: which of several stop sequences fired, and what became of a prefill.

Acceptance of image, document, system and metadata shapes is judged by status (expectation rules
in the spec); only behaviour the answer's body shows lives here.
"""

from __future__ import annotations

from collections.abc import Mapping

from .._types import JSON
from ..findings import Judgement, NotApplicable, NotForced, Violation, judgement
from ._probes import answer_text, prompt_text, stop_outcome, stop_sequences
from .registry import check
from .subject import Subject, show


@check("content.fired_stop_sequence_reported")
def fired_stop_sequence_reported(s: Subject) -> Judgement:
    """Clients that pass several delimiters learn which one ended the text only from stop_sequence."""
    stops = stop_sequences(s.request_json())
    if len(stops) < 2:
        raise NotApplicable("the request has fewer than two stop sequences")
    message = s.message()
    value = message.get("stop_sequence")
    at = "message_delta /delta/stop_sequence" if s.reading is not None else "/stop_sequence"
    try:
        outcome = stop_outcome(s, message)
    except NotForced:
        if message.get("stop_reason") != "stop_sequence" or value in stops:
            raise  # which of the listed sequences came first is unknown
        return judgement(f"stop_sequence {show(value)}", [Violation(f"Received: stop_sequence {show(value)}\nExpected: one of the request's stop_sequences {show(stops)}", at=at)])
    item = f"stop_sequence {show(value)} where {show(outcome.expected)} came first in the text"
    if value == outcome.expected and outcome.cut:
        return judgement(item)
    listed = f" (the first one listed is {show(stops[0])})" if value == stops[0] != outcome.expected else ""
    return judgement(item, [Violation(
        f"Received: stop_reason {show(message.get('stop_reason'))}, stop_sequence {show(value)}{listed}\n"
        f"Expected: stop_sequence {show(outcome.expected)}, the first of {show(stops)} in the text ({outcome.why})",
        at=at,
    )])


def _prefill(body: Mapping[str, JSON]) -> str | None:
    """The text of a final assistant turn (the prefill), or None when the conversation ends with a user turn."""
    messages = body.get("messages")
    last = messages[-1] if isinstance(messages, list) and messages else None
    if not isinstance(last, dict) or last.get("role") != "assistant":
        return None
    content = last.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b["text"] for b in content if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str))
    return None


@check("roles.prefill_not_echoed")
def prefill_not_echoed(s: Subject) -> Judgement:
    """A client puts its prefill in front of the answer (a JSON "{" becomes the object); an answer that repeats it gets it twice."""
    prefill = _prefill(s.request_json())
    if prefill is None:
        raise NotApplicable("the request ends with a user turn: no prefill")
    if not prefill.strip():
        raise NotApplicable("the prefill has no text")
    if prefill.strip() in prompt_text(s.request_json()):
        raise NotApplicable(f"the prompt holds the prefill's text {show(prefill)}, so a model may write it on its own")
    text = answer_text(s.message())
    item = f"an answer starting {show(text[:24])} after the prefill {show(prefill)}"
    if text.lstrip().startswith(prefill.strip()):
        return judgement(item, [Violation(
            f"Received: text {show(text[:120])}, which starts with the prefill {show(prefill)} again\n"
            "Expected: the continuation only; the prefill is the client's, and the answer carries on after it",
            at="rebuilt message /content/0/text" if s.reading is not None else "/content/0/text",
        )])
    return judgement(item)
