"""The simulation hooks (conformance/reference/simulate.py) over HTTP, the recovery faults' wire
effects, and the transport leaving a simulated 429 alone (`retry: false`)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from conformance.contract.loader import load_contract
from conformance.reference.catalogue.recovery import BACKEND_PACE_S, FAULTS, STALL_S
from conformance.reference.responses import Event
from conformance.reference.simulate import HEADER, break_off, rate_limit_headers
from conformance.scenarios import build_request, scenario_specs
from conformance.transport import Target, Transport

from ._support import GRUSSE, HAIKU, V2023, Probe, user, wire_probe_tests

MESSAGE = {"model": HAIKU, "max_tokens": 32, "messages": user(GRUSSE)}
STREAM = {**MESSAGE, "stream": True}


def simulate(headers: dict[str, str], what: str) -> dict[str, str]:
    return {**headers, HEADER: what}


def events(raw: bytes) -> list[tuple[str | None, dict]]:
    """(event name, data) per SSE event; the reference server writes LF-only streams."""
    out = []
    for block in raw.decode().split("\n\n"):
        if not block:
            continue
        name = next((line[7:] for line in block.split("\n") if line.startswith("event: ")), None)
        data = next(line[6:] for line in block.split("\n") if line.startswith("data: "))
        out.append((name, json.loads(data)))
    return out


# ----------------------------------------------------------------------------------- hooks


def test_rate_limited_is_a_429_with_the_documented_headers(http, headers):
    response = http.post("/v1/messages", headers=simulate(headers, "rate_limited"), json=MESSAGE)
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"]["type"] == "rate_limit_error"
    assert body["request_id"] == response.headers["request-id"]
    assert response.headers["retry-after"] == "1"
    for family in ("requests", "tokens", "input-tokens", "output-tokens"):
        assert int(response.headers[f"anthropic-ratelimit-{family}-limit"]) >= int(response.headers[f"anthropic-ratelimit-{family}-remaining"]) >= 0
        assert datetime.fromisoformat(response.headers[f"anthropic-ratelimit-{family}-reset"]).tzinfo is not None  # RFC 3339
    assert response.headers["anthropic-ratelimit-requests-remaining"] == "0"


@pytest.mark.parametrize("body", [MESSAGE, STREAM], ids=["plain", "stream"])
def test_overloaded_is_a_529_json_answer_even_to_a_stream_request(http, headers, body):
    response = http.post("/v1/messages", headers=simulate(headers, "overloaded"), json=body)
    assert (response.status_code, response.headers["content-type"]) == (529, "application/json")
    assert response.json()["error"] == {"type": "overloaded_error", "message": "Overloaded"}
    assert response.headers["x-should-retry"] == "true"


def test_too_large_is_a_413_request_too_large(http, headers):
    response = http.post("/v1/messages", headers=simulate(headers, "too_large"), json=MESSAGE)
    assert response.status_code == 413
    assert response.json()["error"] == {"type": "request_too_large", "message": "Request exceeds the maximum allowed number of bytes."}


def test_midstream_error_breaks_the_stream_off_after_its_first_delta(http, headers):
    response = http.post("/v1/messages", headers=simulate(headers, "midstream_error"), json=STREAM)
    assert (response.status_code, response.headers["content-type"]) == (200, "text/event-stream; charset=utf-8")
    seen = events(response.content)
    assert [name for name, _ in seen] == ["message_start", "content_block_start", "ping", "content_block_delta", "error"]
    assert seen[-1][1] == {"type": "error", "error": {"details": None, "type": "overloaded_error", "message": "Overloaded"}}
    assert response.content.endswith(b'"message":"Overloaded"}}\n\n')  # nothing after the error event (captures f1)


def test_midstream_error_leaves_a_non_stream_request_alone(http, headers):
    response = http.post("/v1/messages", headers=simulate(headers, "midstream_error"), json=MESSAGE)
    assert (response.status_code, response.json()["stop_reason"]) == (200, "end_turn")


def test_an_unknown_simulation_is_a_400_naming_the_known_ones(http, headers):
    response = http.post("/v1/messages", headers=simulate(headers, "meltdown"), json=MESSAGE)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == f"{HEADER}: unknown value 'meltdown' (known: rate_limited, overloaded, too_large, midstream_error, pause_turn)"


def test_authentication_comes_before_any_simulation(http):
    response = http.post("/v1/messages", headers={"anthropic-version": V2023, HEADER: "rate_limited"}, json=MESSAGE)
    assert response.status_code == 401


def test_break_off_never_cuts_after_a_block_closed():
    empty_block = [Event(n, {"type": n}) for n in ("message_start", "content_block_start", "content_block_stop", "message_delta", "message_stop")]
    assert [e.name for e in break_off(empty_block)] == ["message_start", "content_block_start", "error"]


def test_reset_headers_are_one_retry_after_ahead():
    headers = rate_limit_headers(datetime(2026, 11, 22, 4, 0, 59, tzinfo=UTC))
    assert (headers["retry-after"], headers["anthropic-ratelimit-requests-reset"]) == ("1", "2026-11-22T04:01:00Z")


# -------------------------------------------------------------------------- the transport


def test_the_transport_hands_back_a_simulated_429_without_retrying(server, api_key):
    contract = load_contract(V2023, "reference")
    request = build_request(contract, scenario_specs(contract, HAIKU), "simulate.rate_limited", model=HAIKU)
    assert request.retry is False

    async def send() -> tuple[int | None, int, int, int]:
        transport = Transport(Target(server.base_url, api_key))
        try:
            exchange = await transport.send(request)
        finally:
            await transport.aclose()
        return exchange.status, exchange.attempts, transport.counters.requests, transport.counters.retries

    assert asyncio.run(send()) == (429, 1, 1, 0)


# ------------------------------------------------------------------------------ the faults


def pre_stream_error_as_200_stream(http: httpx.Client, headers: dict[str, str]) -> None:
    response = http.post("/v1/messages", headers=simulate(headers, "overloaded"), json=STREAM)
    assert (response.status_code, response.headers["content-type"]) == (200, "text/event-stream; charset=utf-8")
    assert [name for name, _ in events(response.content)] == ["error"]
    assert int(response.headers["content-length"]) == len(response.content)
    assert http.post("/v1/messages", headers=simulate(headers, "overloaded"), json=MESSAGE).status_code == 529  # only streams


def midstream_error_swallowed(http: httpx.Client, headers: dict[str, str]) -> None:
    raw = http.post("/v1/messages", headers=simulate(headers, "midstream_error"), json=STREAM).content
    seen = events(raw)
    assert [name for name, _ in seen][-4:] == ["content_block_delta", "content_block_stop", "message_delta", "message_stop"]
    assert seen[-2][1]["delta"]["stop_reason"] == "end_turn"


def error_then_message_stop(http: httpx.Client, headers: dict[str, str]) -> None:
    raw = http.post("/v1/messages", headers=simulate(headers, "midstream_error"), json=STREAM).content
    assert [name for name, _ in events(raw)][-3:] == ["error", "message_delta", "message_stop"]


def midstream_error_openai_shape(http: httpx.Client, headers: dict[str, str]) -> None:
    raw = http.post("/v1/messages", headers=simulate(headers, "midstream_error"), json=STREAM).content
    assert events(raw)[-1] == ("error", {"error": {"message": "Overloaded", "type": "server_error", "param": None, "code": None}})


def midstream_error_data_only(http: httpx.Client, headers: dict[str, str]) -> None:
    raw = http.post("/v1/messages", headers=simulate(headers, "midstream_error"), json=STREAM).content
    assert events(raw)[-1][0] is None
    assert events(raw)[0][0] == "message_start"


def streamed_arrivals(http: httpx.Client, headers: dict[str, str]) -> list[tuple[float, bytes]]:
    """Each raw chunk of a stream answer with the seconds since the request went out: the stall faults are about timing."""
    arrivals: list[tuple[float, bytes]] = []
    started = time.monotonic()
    with http.stream("POST", "/v1/messages", headers=headers, json=STREAM) as response:
        for chunk in response.iter_raw():
            arrivals.append((time.monotonic() - started, chunk))
    return arrivals


def stream_stall_without_ping(http: httpx.Client, headers: dict[str, str]) -> None:
    arrivals = streamed_arrivals(http, headers)
    gaps = [b - a for (a, _), (b, _) in itertools.pairwise(arrivals)]
    assert max(gaps) > STALL_S - 0.25  # read timing jitters a little around the server's sleep


def retry_after_stripped(http: httpx.Client, headers: dict[str, str]) -> None:
    response = http.post("/v1/messages", headers=simulate(headers, "rate_limited"), json=MESSAGE)
    assert response.status_code == 429
    assert not [h for h in response.headers if h == "retry-after" or h.startswith("anthropic-ratelimit-")]


def retry_after_with_unit(http: httpx.Client, headers: dict[str, str]) -> None:
    response = http.post("/v1/messages", headers=simulate(headers, "rate_limited"), json=MESSAGE)
    assert (response.status_code, response.headers["retry-after"]) == (429, "1s")


def should_retry_false_on_errors(http: httpx.Client, headers: dict[str, str]) -> None:
    for simulation in ("rate_limited", "overloaded"):
        assert http.post("/v1/messages", headers=simulate(headers, simulation), json=MESSAGE).headers.get_list("x-should-retry") == ["false"]
    assert "x-should-retry" not in http.post("/v1/messages", headers=headers, json=MESSAGE).headers  # successes untouched


def ratelimit_reset_as_duration(http: httpx.Client, headers: dict[str, str]) -> None:
    response = http.post("/v1/messages", headers=simulate(headers, "rate_limited"), json=MESSAGE)
    assert response.headers["anthropic-ratelimit-requests-reset"] == "1s"
    assert response.headers["anthropic-ratelimit-requests-limit"] == "50"  # counts untouched


def stream_hung_up_after_message_start(http: httpx.Client, headers: dict[str, str]) -> None:
    started = time.monotonic()
    raw = http.post("/v1/messages", headers=headers, json=STREAM).content
    assert [name for name, _ in events(raw)] == ["message_start"]
    assert time.monotonic() - started > STALL_S - 0.25  # the silence before the connection closed
    assert http.post("/v1/messages", headers=headers, json=MESSAGE).json()["type"] == "message"  # only streams


def stream_buffered_until_complete(http: httpx.Client, headers: dict[str, str]) -> None:
    arrivals = streamed_arrivals(http, headers)
    body = b"".join(chunk for _, chunk in arrivals)
    assert body.count(b"event: ") >= 7
    assert body.rstrip().endswith(b'{"type":"message_stop"}')
    assert arrivals[0][0] > 5 * BACKEND_PACE_S  # nothing came while the backend was answering
    assert arrivals[-1][0] - arrivals[0][0] < 0.05  # then everything at once


def status_mapped(status: int, simulation: str, kind: str) -> Callable[[httpx.Client, dict[str, str]], None]:
    def probe(http: httpx.Client, headers: dict[str, str]) -> None:
        response = http.post("/v1/messages", headers=simulate(headers, simulation), json=MESSAGE)
        assert (response.status_code, response.json()["error"]["type"]) == (status, kind)

    return probe


PROBES: dict[str, Probe] = {
    "rate-limit-as-503": status_mapped(503, "rate_limited", "rate_limit_error"),
    "overloaded-as-api-error-500": status_mapped(500, "overloaded", "api_error"),
    "too-large-as-400": status_mapped(400, "too_large", "invalid_request_error"),
    "retry-after-stripped": retry_after_stripped,
    "pre-stream-error-as-200-stream": pre_stream_error_as_200_stream,
    "midstream-error-swallowed": midstream_error_swallowed,
    "midstream-error-openai-shape": midstream_error_openai_shape,
    "midstream-error-data-only": midstream_error_data_only,
    "error-then-message-stop": error_then_message_stop,
    "stream-stall-without-ping": stream_stall_without_ping,
    "retry-after-with-unit": retry_after_with_unit,
    "should-retry-false-on-errors": should_retry_false_on_errors,
    "ratelimit-reset-as-duration": ratelimit_reset_as_duration,
    "stream-hung-up-after-message-start": stream_hung_up_after_message_start,
    "stream-buffered-until-complete": stream_buffered_until_complete,
}


def test_every_recovery_fault_has_a_probe():
    assert sorted(PROBES) == sorted(f.name for f in FAULTS)


test_every_probe_names_a_fault, test_fault_changes_the_response, test_faithful_server_does_not_show_the_fault = wire_probe_tests(PROBES)


@pytest.mark.parametrize("name", ["stream-stall-without-ping", "stream-hung-up-after-message-start"])
def test_the_stall_faults_are_judged_under_a_short_silence_limit(name):
    [stall] = [f for f in FAULTS if f.name == name]
    contract = load_contract(V2023, stall.options["profile"])
    assert contract.profile.knob("max_stream_silence_s") == 1
    assert contract.profile.features["error_simulation"] is True  # judges everything the reference profile does
    assert contract.max_stream_silence == 15.0 > STALL_S > 1
