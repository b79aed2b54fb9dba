"""conformance/checks/connections.py: a kept-alive connection answers the next request, judged from the transport's record."""

from __future__ import annotations

import dataclasses

import pytest

from conformance.checks.connections import IDLE_TIMEOUT_FLOOR_S, connection_close_announced
from conformance.exchange import ConnectionKind, ConnectionUse
from conformance.findings import NotApplicable

from ._build import Build, error_body

DROPPED = "RemoteProtocolError: Server disconnected without sending a response."


def _subject(build: Build, use: ConnectionUse | None, *, status: int = 200, peers=()):
    exchange = dataclasses.replace(build.exchange(status=status, body=b"{}", scenario="plain.stream"), connection=use)
    return build.subject(exchange, peers=peers)


def test_a_reused_connection_that_answered_is_one_judged_item(build: Build):
    result = connection_close_announced(_subject(build, ConnectionUse(ConnectionKind.REUSED, after=("plain",), idle=0.01)))
    assert result.judged == ("the connection kept alive after plain answered",)
    assert result.violations == ()


def test_a_reused_connection_of_unknown_history_still_counts(build: Build):
    result = connection_close_announced(_subject(build, ConnectionUse(ConnectionKind.REUSED)))
    assert result.judged == ("the connection kept alive after an earlier answer answered",)


@pytest.mark.parametrize(("use", "why"), [
    (None, "the record does not say which connection carried the exchange"),
    (ConnectionUse(ConnectionKind.NEW), "sent on a new connection"),
    (ConnectionUse(ConnectionKind.REOPENED, after=("a", "b"), dropped=DROPPED), "several were idle and the transport cannot tell which"),
])
def test_nothing_to_judge_is_not_applicable(build: Build, use: ConnectionUse | None, why: str):
    with pytest.raises(NotApplicable, match=why):
        connection_close_announced(_subject(build, use))


def test_a_connection_closed_as_the_next_request_arrived_is_a_violation_with_its_history(build: Build):
    earlier = build.exchange(status=500, body=error_body("api_error", "Internal server error"), scenario="simulate.overloaded")
    use = ConnectionUse(ConnectionKind.REOPENED, after=("simulate.overloaded",), idle=0.004, dropped=DROPPED)
    result = connection_close_announced(_subject(build, use, peers=[earlier]))
    assert result.judged == ("the connection kept alive after simulate.overloaded",)
    [violation] = result.violations
    assert violation.message == (
        "Received: the connection left open after simulate.overloaded (status 500, no Connection: close) closed 0.004 s later, when this request arrived,"
        f" before any byte of an answer ({DROPPED}); resent once on a new connection, it was answered 200\n"
        "Expected: a connection left open answers the next request sent on it; a target that means to close it says Connection: close in the answer before (RFC 9112 §9.6)"
    )
    assert violation.at == "connection"


def test_an_earlier_exchange_outside_the_run_is_named_without_a_status(build: Build):
    use = ConnectionUse(ConnectionKind.REOPENED, after=("plain#attempt2",), idle=0.0, dropped=DROPPED)
    [violation] = connection_close_announced(_subject(build, use)).violations
    assert violation.message.startswith("Received: the connection left open after plain#attempt2 closed 0.000 s later")


def test_a_connection_idle_long_enough_for_an_idle_timeout_may_close(build: Build):
    use = ConnectionUse(ConnectionKind.REOPENED, after=("plain",), idle=IDLE_TIMEOUT_FLOOR_S + 1, dropped=DROPPED)
    result = connection_close_announced(_subject(build, use))
    assert result.violations == ()
    assert result.judged == ("the connection kept alive after plain closed after 2 s idle (an idle timeout, RFC 9112 §9.5)",)
