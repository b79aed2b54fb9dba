"""Error answers: the envelope, the status → error.type map and the body's request_id."""

from __future__ import annotations

from ..exchange import UNPARSED
from ..findings import Judgement, NotApplicable, Violation, judgement
from .registry import check
from .subject import Subject, show


@check("errors.envelope_shape")
def envelope_shape(s: Subject) -> Judgement:
    """SDKs build their exception from error.type and error.message; another shape hides the cause."""
    data = s.exchange.json
    item = f"the status {s.exchange.status} envelope"
    if data is UNPARSED:
        s.whole()  # a body a limit of ours cut is no JSON through our doing
        return judgement(item, [Violation(f"Received: status {s.exchange.status} with {s.exchange.not_json()}\nExpected: {{\"type\": \"error\", \"error\": {{\"type\": …, \"message\": …}}}}")])
    return judgement(
        item,
        [
            Violation(f"Received: {message} in {show(data)}\nExpected: {{\"type\": \"error\", \"error\": {{\"type\": …, \"message\": …}}}}", at=pointer)
            for pointer, message in s.schemas.errors("error", data, limit=3)
        ],
    )


@check("errors.type_matches_status")
def type_matches_status(s: Subject) -> Judgement:
    """Clients retry on overloaded_error and re-authenticate on authentication_error; a wrong pair misleads them."""
    data = s.exchange.json
    error = data.get("error") if isinstance(data, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    if not isinstance(kind, str):
        raise NotApplicable("no error.type (judged by errors.envelope_shape)")
    status = s.exchange.status
    allowed = s.contract.status_types.get(status or 0)
    if allowed is None:
        raise NotApplicable(f"status {status} has no documented error type (the status itself is judged by the rule that expected another)")
    item = f"error.type {show(kind)} with status {status}"
    if kind not in allowed:
        expected = " or ".join(allowed)
        return judgement(item, [Violation(f"Received: status {status} with error.type {show(kind)}\nExpected: error.type {expected}", at="/error/type")])
    return judgement(item)


@check("errors.request_id_matches_header")
def request_id_matches_header(s: Subject) -> Judgement:
    """Users quote the id from the body or the header to support; two different ids send support after the wrong request."""
    data = s.exchange.json
    body_id = data.get("request_id") if isinstance(data, dict) else None
    if not isinstance(body_id, str):
        raise NotApplicable("the error body has no request_id (it is optional; its type is judged by errors.envelope_shape)")
    header = s.exchange.header("request-id")
    if header is None:
        raise NotApplicable("no request-id header (judged by headers.request_id_present)")
    item = f"request_id {show(body_id)} against the request-id header"
    if body_id.strip() != header.strip():
        return judgement(item, [Violation(f"Received: request_id {show(body_id)} in the body, request-id {show(header)} in the header\nExpected: the same id in both", at="/request_id")])
    return judgement(item)
