"""Response headers: content types and request-id."""

from __future__ import annotations

from ..exchange import Exchange
from ..findings import Judgement, NotApplicable, Violation, judgement
from .registry import check
from .subject import Subject, counted, show

MAX_NAMED = 5  # scenarios named in one message; the rest are counted


def _answered(s: Subject) -> Exchange:
    """The exchange, for a rule about an answer's headers: no answer at all is a skip (the transport's finding)."""
    if s.exchange.status is None:
        raise NotApplicable("no answer")
    return s.exchange


@check("headers.json_content_type")
def json_content_type(s: Subject) -> Judgement:
    """Clients pick their parser from Content-Type; a JSON answer labelled otherwise breaks them."""
    ex = _answered(s)
    if ex.streamed and ex.ok:
        raise NotApplicable("a successful stream is judged by headers.stream_content_type")
    flag = s.request_json().get("stream", False)
    if ex.ok and not isinstance(flag, bool):
        raise NotApplicable(f"the request's stream is {show(flag)}, not a boolean: it asked for neither a stream nor a Message (judged by its parameter rule)")
    item = f"Content-Type {show(ex.header('content-type'))} of a status {ex.status} answer"
    if ex.media_type != "application/json":
        asked = ", to a stream request" if ex.streamed else ""
        return judgement(item, [Violation(f"Received: Content-Type {show(ex.header('content-type'))} (status {ex.status}{asked})\nExpected: application/json", at="header content-type")])
    return judgement(item)


@check("headers.stream_content_type")
def stream_content_type(s: Subject) -> Judgement:
    """SDKs only read an answer as server-sent events when it says text/event-stream."""
    ex = s.exchange
    item = f"Content-Type {show(ex.header('content-type'))} of a stream"
    if ex.media_type != "text/event-stream":
        return judgement(item, [Violation(f"Received: Content-Type {show(ex.header('content-type'))}\nExpected: text/event-stream", at="header content-type")])
    return judgement(item)


@check("headers.request_id_present")
def request_id_present(s: Subject) -> Judgement:
    """A request-id is what a user quotes to support; without it failures cannot be traced."""
    ex = _answered(s)
    value = ex.header("request-id")
    item = f"the request-id header of a status {ex.status} answer"
    if not value or not value.strip():
        return judgement(item, [Violation(f"Received: no request-id header (status {ex.status})\nExpected: a request-id header, e.g. req_018EeWyXxfu5pfWkrYcMdjWG", at="header request-id")])
    return judgement(item)


@check("headers.request_id_unique")
def request_id_unique(s: Subject) -> Judgement:
    """Support finds one request by its request-id; an id several answers share finds none of them."""
    ex = _answered(s)
    value = (ex.header("request-id") or "").strip()
    if not value:
        raise NotApplicable("no request-id header (judged by headers.request_id_present)")
    answered = [(sid, peer) for sid, peer in s.peers.items() if sid != ex.id and peer.status is not None]
    if not answered:
        raise NotApplicable("no other answer in the run to compare the request-id with")
    others = sorted(sid for sid, peer in answered if (peer.header("request-id") or "").strip() == value)
    item = f"request-id {show(value)} against {counted(len(answered), 'other answer')} of the run"
    if not others:
        return judgement(item)
    named = ", ".join(others[:MAX_NAMED]) + (f" and {len(others) - MAX_NAMED} more" if len(others) > MAX_NAMED else "")
    return judgement(item, [Violation(f"Received: request-id {show(value)}, also on the answer to {named}\nExpected: a request-id no other answer of the run carries", at="header request-id")])
