"""Response headers: content types and request-id."""

from __future__ import annotations

from ..findings import NotApplicable, Violation
from .registry import check
from .subject import Subject, show


@check("headers.json_content_type")
def json_content_type(s: Subject) -> list[Violation]:
    """Clients pick their parser from Content-Type; a JSON answer labelled otherwise breaks them."""
    ex = s.exchange
    if ex.status is None:
        raise NotApplicable("no answer")
    if ex.streamed and ex.ok:
        raise NotApplicable("a successful stream is judged by headers.stream_content_type")
    if ex.media_type != "application/json":
        return [Violation(f"Received: Content-Type {show(ex.header('content-type'))} (status {ex.status})\nExpected: application/json", at="header content-type")]
    return []


@check("headers.stream_content_type")
def stream_content_type(s: Subject) -> list[Violation]:
    """SDKs only read an answer as server-sent events when it says text/event-stream."""
    ex = s.exchange
    if ex.media_type != "text/event-stream":
        return [Violation(f"Received: Content-Type {show(ex.header('content-type'))}\nExpected: text/event-stream", at="header content-type")]
    return []


@check("headers.request_id_present")
def request_id_present(s: Subject) -> list[Violation]:
    """A request-id is what a user quotes to support; without it failures cannot be traced."""
    ex = s.exchange
    if ex.status is None:
        raise NotApplicable("no answer")
    value = ex.header("request-id")
    if not value or not value.strip():
        return [Violation(f"Received: no request-id header (status {ex.status})\nExpected: a request-id header, e.g. req_018EeWyXxfu5pfWkrYcMdjWG", at="header request-id")]
    return []
