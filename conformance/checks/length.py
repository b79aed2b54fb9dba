"""How long a stream may run: what its request's max_tokens allows (allowance.py).

The transport stops reading a stream one event past its allowance, so an endless stream ends as
this rule's finding, not as a hang; the rules about the stream's end then skip and name this one.
A stream the suite stopped for a limit of its own (a timeout, a size cap) before the allowance was
reached says nothing about its length: that is ``error``, never this rule's fail.
"""

from __future__ import annotations

from .. import allowance
from ..findings import Judgement, NotApplicable, Violation, judgement
from .registry import check
from .subject import Subject


@check("stream.length_within_max_tokens")
def length_within_max_tokens(s: Subject) -> Judgement:
    """An answer that streams past what max_tokens allows never stops where the client told it to, and an SDK client reading it never returns."""
    if s.reading is None:
        raise NotApplicable("not a stream")
    if s.exchange.media_type != "text/event-stream" and isinstance(s.exchange.json, dict):
        raise NotApplicable(f"the answer is one JSON document ({s.exchange.media_type or 'no Content-Type'}), not an event stream (judged by headers.stream_content_type)")
    limit = allowance.max_tokens(s.request.json_body())
    if limit is None:
        raise NotApplicable("the request has no max_tokens to bound its stream by")
    allowed = allowance.events(limit)
    counted = sum(1 for e in s.reading.events if not allowance.is_ping(e.name, e.data))
    if counted > allowed:
        stopped = "; the suite stopped reading there, with no end in sight" if s.overran() is not None else ""
        return judgement(
            [f"{counted:,} events for max_tokens {limit:,}"],
            [Violation(f"Received: {counted:,} events (pings aside){stopped}\nExpected: {allowance.describe(limit)}", at=f"event #{counted - 1}")],
        )
    s.whole()  # a limit of ours stopped reading before the allowance: the length is unknown
    if counted == 0:
        raise s.unjudged("the stream has no events (judged by stream.ends_with_message_stop)")
    return judgement([f"{counted:,} events within {allowed:,} for max_tokens {limit:,}"], [])
