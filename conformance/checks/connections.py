"""Recovery at the connection level: a connection the target keeps alive answers the next request sent on it.

Judged from the transport's record of each exchange (``Exchange.connection``), not from the answer,
so it lives apart from recovery.py. Every exchange sent on a reused connection is one judged item;
one whose kept-alive connection closed before any answer (the transport then resent it once on a
new connection) is a violation, unless the connection had been idle long enough for an idle timeout.
"""

from __future__ import annotations

from ..exchange import ConnectionKind, Exchange
from ..findings import Judgement, NotApplicable, Violation, judgement
from .registry import check
from .subject import Subject

# An idle connection may be closed at any time (RFC 9112 §9.5): the usual reason is an idle timeout,
# and a request that meets one in the act has lost a race nobody is to blame for. Common servers
# wait seconds before they time out an idle connection (gunicorn 2 s, uvicorn and Node.js 5 s, nginx
# 75 s); a connection closed less than this long after it was left open was not timed out, it was
# closed on purpose, without the Connection: close that would have said so.
IDLE_TIMEOUT_FLOOR_S = 1.0


def _previous(s: Subject, names: tuple[str, ...]) -> str:
    """The answer(s) the connection carried before, with their statuses when they are in this run."""
    shown = []
    for name in names:
        earlier: Exchange | None = s.peer(name)
        if earlier is not None and earlier.status is not None:
            close = earlier.header("connection")
            said = f", Connection: {close}" if close else ", no Connection: close"
            shown.append(f"{name} (status {earlier.status}{said})")
        else:
            shown.append(name)
    return " or ".join(shown)


@check("recovery.connection_close_announced")
def connection_close_announced(s: Subject) -> Judgement:
    """A kept-alive connection closed as the next request arrives fails that request: SDKs resend it after a backoff, other clients report an error."""
    use = s.exchange.connection
    if use is None:
        raise NotApplicable("the record does not say which connection carried the exchange (an older cassette, or a saved file)")
    if use.kind is ConnectionKind.NEW:
        raise NotApplicable("sent on a new connection: no kept-alive connection to judge")
    after = " or ".join(use.after) or "an earlier answer"
    if use.kind is ConnectionKind.REUSED:
        return judgement(f"the connection kept alive after {after} answered")
    if use.idle is None:
        raise NotApplicable(f"a kept-alive connection closed under it ({use.dropped}), but several were idle and the transport cannot tell which")
    if use.idle >= IDLE_TIMEOUT_FLOOR_S:
        return judgement(f"the connection kept alive after {after} closed after {use.idle:g} s idle (an idle timeout, RFC 9112 §9.5)")
    message = (
        f"Received: the connection left open after {_previous(s, use.after)} closed {use.idle:.3f} s later, when this request arrived,"
        f" before any byte of an answer ({use.dropped}); resent once on a new connection, it was answered {s.exchange.status}\n"
        "Expected: a connection left open answers the next request sent on it; a target that means to close it says Connection: close in the answer before (RFC 9112 §9.6)"
    )
    return judgement(f"the connection kept alive after {after}", [Violation(message, at="connection")])
