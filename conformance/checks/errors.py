"""Error answers: the envelope and the status → error.type map."""

from __future__ import annotations

from ..exchange import UNPARSED
from ..findings import NotApplicable, Violation
from .registry import check
from .subject import Subject, show


@check("errors.envelope_shape")
def envelope_shape(s: Subject) -> list[Violation]:
    """SDKs build their exception from error.type and error.message; another shape hides the cause."""
    data = s.exchange.json
    if data is UNPARSED:
        return [Violation(f"Received: status {s.exchange.status} with {s.exchange.not_json()}\nExpected: {{\"type\": \"error\", \"error\": {{\"type\": …, \"message\": …}}}}")]
    return [
        Violation(f"Received: {message} in {show(data)}\nExpected: {{\"type\": \"error\", \"error\": {{\"type\": …, \"message\": …}}}}", at=pointer)
        for pointer, message in s.schemas.errors("error", data, limit=3)
    ]


@check("errors.type_matches_status")
def type_matches_status(s: Subject) -> list[Violation]:
    """Clients retry on overloaded_error and re-authenticate on authentication_error; a wrong pair misleads them."""
    data = s.exchange.json
    error = data.get("error") if isinstance(data, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    if not isinstance(kind, str):
        raise NotApplicable("no error.type (judged by errors.envelope_shape)")
    status = s.exchange.status
    allowed = s.contract.status_types.get(status or 0)
    if allowed is None:
        raise NotApplicable(f"status {status} has no documented error type")
    if kind not in allowed:
        expected = " or ".join(allowed)
        return [Violation(f"Received: status {status} with error.type {show(kind)}\nExpected: error.type {expected}", at="/error/type")]
    return []
