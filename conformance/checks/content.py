"""Request content and extras: what an answer to several stop sequences must report.

Acceptance of image, document, system and metadata shapes is judged by status (expectation rules
in the spec); only behaviour the answer's body shows lives here.
"""

from __future__ import annotations

from ..findings import NotApplicable, Violation
from ._probes import stop_sequence_not_forced
from .registry import check
from .subject import Subject, show


@check("content.fired_stop_sequence_reported")
def fired_stop_sequence_reported(s: Subject) -> list[Violation]:
    """Clients that pass several delimiters learn which one ended the text only from stop_sequence."""
    marker = s.request.marker
    stops = s.request_json().get("stop_sequences")
    if not marker or not isinstance(stops, list) or len(stops) < 2:
        raise NotApplicable("the request has no marker among several stop sequences")
    message = s.message()
    reason, value = message.get("stop_reason"), message.get("stop_sequence")
    if reason == "stop_sequence" and value == marker:
        return []
    if reason != "stop_sequence":
        stop_sequence_not_forced(s, message, marker)
    at = "message_delta /delta/stop_sequence" if s.reading is not None else "/stop_sequence"
    return [
        Violation(
            f"Received: stop_reason {show(reason)}, stop_sequence {show(value)}\n"
            f"Expected: stop_reason \"stop_sequence\" and stop_sequence {show(marker)} (the prompt makes the model print it; stop_sequences were {show(stops)})",
            at=at,
        )
    ]
