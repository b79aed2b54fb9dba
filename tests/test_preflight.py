"""conformance/preflight.py: which ways are tried after a refusal, in which order, and what is reported.

A scripted transport answers each (scheme, version) the way a target that accepts only some of them
would; the tests count the requests (at most three more, only after a refusal) and read the report
and the one-line error.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from conformance.auth import Auth, Scheme
from conformance.errors import AuthRejected, TargetError, TargetTimeout
from conformance.exchange import ErrorKind, Exchange, RecordedRequest
from conformance.preflight import MAX_FALLBACKS, Way, alternatives, preflight_problem, settle
from conformance.scenarios import Request

V1, V2 = "2023-06-01", "2026-10-21"
VERSIONS = (V1, V2)
ASKED = Way(Scheme.X_API_KEY, V1)
OK = (200, {"type": "message", "content": []})


def _request(way: Way) -> Request:
    return Request(scenario="plain", endpoint="messages", method="POST", path="/v1/messages", headers=(("anthropic-version", way.version),),
                   auth=Auth(way.scheme), body=b"{}", stream=False, tags=frozenset())


class _Target:
    base_url = "http://127.0.0.1:9"


class _Transport:
    """Answers each (scheme, version) from a table; unlisted ways get a 401."""

    target = _Target()

    def __init__(self, answers: dict[Way, tuple[int | None, object]]) -> None:
        self.answers = answers
        self.sent: list[Way] = []

    async def send(self, request: Request) -> Exchange:
        way = Way(Scheme(request.auth), dict(request.headers)["anthropic-version"])
        self.sent.append(way)
        status, payload = self.answers.get(way, (401, {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}))
        headers = (("authorization", "Bearer [REDACTED]"),) if way.scheme is Scheme.BEARER else (("x-api-key", "[REDACTED]"),)
        recorded = RecordedRequest(method="POST", url="http://127.0.0.1:9/v1/messages", headers=headers, body=b"{}")
        if status is None:
            return Exchange(id="plain", request=recorded, status=None, error=str(payload), error_kind=ErrorKind.TIMEOUT)
        return Exchange(id="plain", request=recorded, status=status, headers=(("content-type", "application/json"),), body=json.dumps(payload).encode())


def _settle(answers: dict[Way, tuple[int | None, object]], allowed: int = MAX_FALLBACKS):
    transport = _Transport(answers)
    result = asyncio.run(settle(transport, ASKED, _request, versions=VERSIONS, allowed=allowed))  # type: ignore[arg-type]
    return result, transport.sent


def _refused_version(version: str) -> tuple[int, object]:
    return 400, {"type": "error", "error": {"type": "invalid_request_error", "message": f'anthropic-version: "{version}" is not a valid version'}}


def test_an_auth_refusal_tries_the_other_scheme_first():
    assert alternatives(ASKED, VERSIONS, 401) == [Way(Scheme.BEARER, V1), Way(Scheme.X_API_KEY, V2), Way(Scheme.BEARER, V2)]


@pytest.mark.parametrize("status", [400, 422])
def test_a_bad_request_tries_the_other_version_first(status: int):
    assert alternatives(ASKED, VERSIONS, status) == [Way(Scheme.X_API_KEY, V2), Way(Scheme.BEARER, V1), Way(Scheme.BEARER, V2)]


def test_with_one_known_version_only_the_scheme_is_tried():
    assert alternatives(ASKED, (V1,), 401) == [Way(Scheme.BEARER, V1)]


def test_a_target_that_accepts_the_way_asked_costs_one_request():
    (exchange, report), sent = _settle({ASKED: OK})
    assert sent == [ASKED]
    assert exchange.status == 200
    assert (report.fell_back, report.used, len(report.attempts)) == (False, ASKED, 1)
    assert report.refused_exchanges() == []
    assert report.record()["fell_back"] is False


def test_a_bearer_only_target_is_run_with_bearer_after_one_more_request():
    (exchange, report), sent = _settle({Way(Scheme.BEARER, V1): OK})
    assert sent == [ASKED, Way(Scheme.BEARER, V1)]
    assert exchange.status == 200
    assert (report.fell_back, report.used) == (True, Way(Scheme.BEARER, V1))
    assert report.summary() == (
        "refused: x-api-key with 2023-06-01 → 401 authentication_error: invalid x-api-key;"
        " the run used Authorization: Bearer with 2023-06-01 instead, and judges the refused ways in their own cases"
    )
    record = report.record()
    assert record["asked"] == {"auth": "x-api-key", "api_version": V1}
    assert record["used"] == {"auth": "bearer", "api_version": V1}
    assert [(a["auth"], a["status"]) for a in record["attempts"]] == [("x-api-key", 401), ("bearer", 200)]
    assert [e.id for e in report.refused_exchanges()] == ["preflight:x-api-key:2023-06-01"]


def test_a_target_of_the_other_version_only_is_run_with_that_version():
    answers = {ASKED: _refused_version(V1), Way(Scheme.BEARER, V1): _refused_version(V1), Way(Scheme.X_API_KEY, V2): OK}
    (_, report), sent = _settle(answers)
    assert sent == [ASKED, Way(Scheme.X_API_KEY, V2)]  # a 400 points at the version first
    assert report.used == Way(Scheme.X_API_KEY, V2)


def test_a_target_that_wants_both_changed_is_found_with_the_third_try():
    (_, report), sent = _settle({Way(Scheme.BEARER, V2): OK})
    assert len(sent) == 1 + MAX_FALLBACKS
    assert report.used == Way(Scheme.BEARER, V2)
    assert len(report.refused()) == 3


def test_when_every_way_is_refused_the_error_names_each_of_them():
    with pytest.raises(AuthRejected) as caught:
        _settle({})
    message = str(caught.value)
    assert message.startswith("the target refused the API key sent as x-api-key: 401 authentication_error: invalid x-api-key (check the key")
    assert message.endswith(
        "; also tried Authorization: Bearer with 2023-06-01 → 401 authentication_error: invalid x-api-key;"
        " x-api-key with 2026-10-21 → 401 authentication_error: invalid x-api-key;"
        " Authorization: Bearer with 2026-10-21 → 401 authentication_error: invalid x-api-key"
    )
    assert "\n" not in message


def test_no_room_for_fallbacks_says_so():
    with pytest.raises(AuthRejected, match="no other way tried"):
        _settle({Way(Scheme.BEARER, V1): OK}, allowed=0)


@pytest.mark.parametrize(("answer", "kind"), [
    ((404, {"type": "error", "error": {"type": "not_found_error", "message": "model: claude-x"}}), TargetError),
    ((500, {"type": "error", "error": {"type": "api_error", "message": "Internal server error"}}), TargetError),
    ((529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}), TargetError),
    ((None, "read timeout: nothing received for 60 s"), TargetTimeout),
])
def test_failures_no_other_way_can_cure_cost_no_extra_request(answer, kind):
    with pytest.raises(kind):
        _settle({ASKED: answer, Way(Scheme.BEARER, V1): OK})


def test_an_alternative_that_times_out_is_reported_and_the_next_one_tried():
    (_, report), sent = _settle({Way(Scheme.BEARER, V1): (None, "read timeout"), Way(Scheme.X_API_KEY, V2): OK})
    assert sent == [ASKED, Way(Scheme.BEARER, V1), Way(Scheme.X_API_KEY, V2)]
    assert report.attempts[1].said() == "read timeout"


def test_preflight_problem_names_the_scheme_the_key_was_refused_in():
    transport = _Transport({})
    exchange = asyncio.run(transport.send(_request(Way(Scheme.BEARER, V1))))
    problem = preflight_problem(exchange, "")
    assert isinstance(problem, AuthRejected)
    assert str(problem).startswith("the target refused the API key sent as Authorization: Bearer: 401")
