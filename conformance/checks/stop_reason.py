"""stop_reason and stop_sequence: their values, how they agree with each other and with the request, and the stop the request forced.

The stop-sequence probe sends sequences that occur in nearly any answer, so whatever a model writes,
one of them has to stop it; where exactly is read from the answer itself, from the target's own
answer to the same request without stop sequences, or from the text the prompt asks for (_probes.py).
"""

from __future__ import annotations

from .._types import JSONObject
from ..findings import Judgement, NotApplicable, NotForced, Violation, judgement
from ._probes import limit_not_reached, ran_to_limit, stop_outcome, stop_sequences, text_blocks
from .registry import check
from .subject import Subject, show


def _stop(s: Subject) -> tuple[JSONObject, object]:
    message = s.message()
    if message.get("stop_reason") is None:
        owner = "stream.message_delta_stop_reason" if s.reading is not None else "shape.message_schema"
        raise NotApplicable(f"no stop_reason (judged by {owner})")
    return message, message["stop_reason"]


def _where(s: Subject) -> str:
    return "message_delta /delta/stop_reason" if s.reading is not None else "/stop_reason"


def _where_sequence(s: Subject) -> str:
    return "message_delta /delta/stop_sequence" if s.reading is not None else "/stop_sequence"


def _request_known(s: Subject) -> bool:
    """Whether the request is known (a saved answer judged by ``validate`` has none): only then can the answer be held to its stop_sequences."""
    return isinstance(s.request_json().get("messages"), list)


@check("stop_reason.known_value")
def known_value(s: Subject) -> Judgement:
    """Clients switch on stop_reason; a value outside the documented set reaches their default branch."""
    _, reason = _stop(s)
    if not isinstance(reason, str):
        raise NotApplicable("stop_reason is not a string (judged by the schema checks)")
    if reason not in s.contract.stop_reasons:
        known = ", ".join(s.contract.stop_reasons)
        return judgement(f"stop_reason {show(reason)}", [Violation(f"Received: stop_reason {show(reason)}\nExpected: one of {known}", at=_where(s))])
    return judgement(f"stop_reason {show(reason)}")


def _expect_reason(s: Subject, wanted: str, why: str) -> Judgement:
    _, reason = _stop(s)
    if reason != wanted:
        return judgement(f"stop_reason {show(reason)}", [Violation(f"Received: stop_reason {show(reason)}\nExpected: {show(wanted)} ({why})", at=_where(s))])
    return judgement(f"stop_reason {show(reason)}")


@check("stop_reason.end_turn_on_natural_stop")
def end_turn_on_natural_stop(s: Subject) -> Judgement:
    """Agents loop until end_turn; any other value for a finished answer makes them continue or fail."""
    message = s.message()
    content = message.get("content")
    if isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "tool_use" for b in content):
        raise NotApplicable("the answer calls a tool (judged by the tools.* checks)")
    ran_to_limit(message, s.request_json().get("max_tokens"))
    return _expect_reason(s, "end_turn", "the prompt asks for a short answer well within max_tokens")


@check("stop_reason.max_tokens_on_limit")
def max_tokens_on_limit(s: Subject) -> Judgement:
    """Clients detect truncated answers only through stop_reason max_tokens."""
    limit = s.request_json().get("max_tokens")
    message, reason = _stop(s)
    if reason != "max_tokens":
        limit_not_reached(message, limit)
    return _expect_reason(s, "max_tokens", f"the answer reaches max_tokens={limit}")


@check("stop_reason.stop_sequence_reported")
def stop_sequence_reported(s: Subject) -> Judgement:
    """Clients that use stop sequences as delimiters need to know that one fired, and which."""
    stops = stop_sequences(s.request_json())
    if not stops:
        raise NotApplicable("the request has no stop sequence")
    message, reason = _stop(s)
    value = message.get("stop_sequence")
    try:
        outcome = stop_outcome(s, message)
    except NotForced:
        if reason != "stop_sequence":
            raise
        # Where the text had to stop is unknown, but the answer says a sequence stopped it: it must be one the request listed.
        item = f"stop_reason \"stop_sequence\" with stop_sequence {show(value)}"
        if value not in stops:
            return judgement(item, [Violation(f"Received: stop_sequence {show(value)}\nExpected: one of the request's stop_sequences {show(stops)}", at=_where_sequence(s))])
        return judgement(item + ", one the request listed")
    if not outcome.cut:
        item = f"text running past {show(outcome.expected)}"
        return judgement(item, [Violation(
            f"Received: stop_reason {show(reason)}, stop_sequence {show(value)}, text {show(outcome.text[:120])}\n"
            f"Expected: the text cut right before {show(outcome.expected)}, with stop_reason \"stop_sequence\" ({outcome.why})",
            at=_where(s),
        )])
    found = []
    if reason != "stop_sequence":
        found.append(Violation(
            f"Received: stop_reason {show(reason)} for a text cut right before the stop sequence {show(outcome.expected)}\n"
            f"Expected: \"stop_sequence\" ({outcome.why})",
            at=_where(s),
        ))
    if value != outcome.expected:
        found.append(Violation(f"Received: stop_sequence {show(value)}\nExpected: {show(outcome.expected)}, the sequence that stopped the text ({outcome.why})", at=_where_sequence(s)))
    return judgement(f"stop_reason {show(reason)} and stop_sequence {show(value)} for a text cut before {show(outcome.expected)}", found)


@check("stop_reason.stop_sequence_excluded")
def stop_sequence_excluded(s: Subject) -> Judgement:
    """Generation stops at the first stop sequence and leaves it out; text that holds one was not stopped, or carries the delimiter into parsed output."""
    stops = stop_sequences(s.request_json())
    if not stops:
        raise NotApplicable("the request has no stop sequence")
    blocks = text_blocks(s.message())
    if not blocks:
        raise NotApplicable("the answer has no text block")
    found = []
    for position, text in blocks:
        held = [stop for stop in stops if stop in text]
        if held:
            found.append(Violation(
                f"Received: text {show(text[:120])}, which holds the stop sequence {show(held[0])}\nExpected: text without any of {show(stops)} (generation stops at the first, which is not returned)",
                at=f"{'rebuilt message ' if s.reading is not None else ''}/content/{position}/text",
            ))
    return judgement(f"{len(blocks)} text block(s) against {len(stops)} stop sequence(s)", found)


@check("stop_reason.stop_sequence_null_otherwise")
def stop_sequence_null_otherwise(s: Subject) -> Judgement:
    """A non-null stop_sequence claims a stop sequence matched; clients act on that claim."""
    message, reason = _stop(s)
    value = message.get("stop_sequence")
    if reason != "stop_sequence" and value is not None:
        return judgement(f"stop_sequence {show(value)}", [Violation(f"Received: stop_sequence {show(value)} with stop_reason {show(reason)}\nExpected: null", at=_where_sequence(s))])
    if reason == "stop_sequence":
        return judgement("stop_reason \"stop_sequence\" (its value is judged by stop_reason.stop_sequence_set_on_match)")
    return judgement(f"stop_sequence {show(value)} with stop_reason {show(reason)}")


@check("stop_reason.stop_sequence_set_on_match")
def stop_sequence_set_on_match(s: Subject) -> Judgement:
    """A client told that a stop sequence fired reads which from stop_sequence; null or a string it never sent leaves it guessing."""
    message, reason = _stop(s)
    if reason != "stop_sequence":
        raise NotApplicable(f"stop_reason is {show(reason)}, not \"stop_sequence\"")
    value = message.get("stop_sequence")
    item = f"stop_sequence {show(value)} with stop_reason \"stop_sequence\""
    if not isinstance(value, str) or not value:
        return judgement(item, [Violation(f"Received: stop_sequence {show(value)} with stop_reason \"stop_sequence\"\nExpected: the stop sequence that matched", at=_where_sequence(s))])
    if not _request_known(s):
        return judgement(item)
    stops = stop_sequences(s.request_json())
    if value not in stops:
        return judgement(item, [Violation(f"Received: stop_sequence {show(value)}\nExpected: one of the request's stop_sequences {show(stops)}", at=_where_sequence(s))])
    return judgement(item)
