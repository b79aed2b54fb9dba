"""stop_reason and stop_sequence: their values and the behaviour the request forced."""

from __future__ import annotations

from .._types import JSONObject
from ..findings import NotApplicable, Violation
from ._probes import answer_text, limit_not_reached, ran_to_limit, stop_sequence_not_forced
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


@check("stop_reason.known_value")
def known_value(s: Subject) -> list[Violation]:
    """Clients switch on stop_reason; a value outside the documented set reaches their default branch."""
    _, reason = _stop(s)
    if not isinstance(reason, str):
        raise NotApplicable("stop_reason is not a string (judged by the schema checks)")
    if reason not in s.contract.stop_reasons:
        known = ", ".join(s.contract.stop_reasons)
        return [Violation(f"Received: stop_reason {show(reason)}\nExpected: one of {known}", at=_where(s))]
    return []


def _expect_reason(s: Subject, wanted: str, why: str) -> list[Violation]:
    _, reason = _stop(s)
    if reason != wanted:
        return [Violation(f"Received: stop_reason {show(reason)}\nExpected: {show(wanted)} ({why})", at=_where(s))]
    return []


@check("stop_reason.end_turn_on_natural_stop")
def end_turn_on_natural_stop(s: Subject) -> list[Violation]:
    """Agents loop until end_turn; any other value for a finished answer makes them continue or fail."""
    ran_to_limit(s.message(), s.request_json().get("max_tokens"))
    return _expect_reason(s, "end_turn", "the prompt asks for a short answer well within max_tokens")


@check("stop_reason.max_tokens_on_limit")
def max_tokens_on_limit(s: Subject) -> list[Violation]:
    """Clients detect truncated answers only through stop_reason max_tokens."""
    limit = s.request_json().get("max_tokens")
    message, reason = _stop(s)
    if reason != "max_tokens":
        limit_not_reached(message, limit)
    return _expect_reason(s, "max_tokens", f"the prompt asks for far more than max_tokens={limit} tokens")


def _marker(s: Subject) -> str:
    if s.request.marker:
        return s.request.marker
    stops = s.request_json().get("stop_sequences")
    if isinstance(stops, list) and stops and isinstance(stops[0], str):
        return stops[0]
    raise NotApplicable("the request has no stop sequence")


@check("stop_reason.stop_sequence_reported")
def stop_sequence_reported(s: Subject) -> list[Violation]:
    """Clients that use stop sequences as delimiters need to know which one fired."""
    marker = _marker(s)
    message, reason = _stop(s)
    if reason != "stop_sequence":
        stop_sequence_not_forced(s, message, marker)
    found: list[Violation] = []
    if reason != "stop_sequence":
        found.append(Violation(f"Received: stop_reason {show(reason)}\nExpected: \"stop_sequence\" (the prompt makes the model print {marker!r}, a stop sequence)", at=_where(s)))
    if message.get("stop_sequence") != marker:
        at = "message_delta /delta/stop_sequence" if s.reading is not None else "/stop_sequence"
        found.append(Violation(f"Received: stop_sequence {show(message.get('stop_sequence'))}\nExpected: {show(marker)}", at=at))
    return found


@check("stop_reason.stop_sequence_excluded")
def stop_sequence_excluded(s: Subject) -> list[Violation]:
    """The stop sequence is a delimiter, not content; returning it corrupts parsed output."""
    marker = _marker(s)
    text = answer_text(s.message())
    if marker in text:
        return [Violation(f"Received: text {show(text)}\nExpected: text without the stop sequence {marker!r}", at="/content")]
    return []


@check("stop_reason.stop_sequence_null_otherwise")
def stop_sequence_null_otherwise(s: Subject) -> list[Violation]:
    """A non-null stop_sequence claims a stop sequence matched; clients act on that claim."""
    message, reason = _stop(s)
    value = message.get("stop_sequence")
    if reason != "stop_sequence" and value is not None:
        at = "message_delta /delta/stop_sequence" if s.reading is not None else "/stop_sequence"
        return [Violation(f"Received: stop_sequence {show(value)} with stop_reason {show(reason)}\nExpected: null", at=at)]
    return []
