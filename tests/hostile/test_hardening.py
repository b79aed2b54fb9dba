"""Pinned one layer at a time, what the hostile battery found (in the CLI runs) and how it was fixed."""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from pathlib import Path

import pytest

from conformance import cassette
from conformance.auth import Auth
from conformance.errors import TargetError, TargetTimeout
from conformance.exchange import ErrorKind, Exchange, RecordedRequest
from conformance.preflight import preflight_problem
from conformance.report import evidence, summary, terminal
from conformance.scenarios import Request
from conformance.transport import Limits, Target, Timeouts, Transport

from .servers import MIB, Behaviour, HostileServer, Phase, Received, Wire, gzip_bomb, head

KEY = "sk-ant-api03-HOSTILE-hardening-0123456789abcdef"
REQUEST = Request(
    scenario="plain", endpoint="messages", method="POST", path="/v1/messages",
    headers=(("content-type", "application/json"), ("anthropic-version", "2023-06-01")), auth=Auth.X_API_KEY,
    body=b'{"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}', stream=False, tags=frozenset(),
)


def serving(answer) -> HostileServer:
    return HostileServer(Behaviour("unit", Phase.LATER, "a unit test's answer", answer, 0))


def send_all(server: HostileServer, count: int, limits: Limits) -> list[Exchange]:
    sent: list[Exchange] = []

    async def go() -> None:  # returns nothing: asyncio.run reprs its main task's result on the way out (see engine.run)
        transport = Transport(Target(server.base_url, KEY), timeouts=Timeouts(connect=5, read=5, total=20), limits=limits, concurrency=1)
        try:
            sent.extend([await transport.send(REQUEST) for _ in range(count)])
        finally:
            await transport.aclose()

    asyncio.run(go())
    return sent


# ------------------------------------------------------------------------------ transport


def _bomb(server: HostileServer, wire: Wire, request: Received) -> None:
    body = gzip_bomb()
    wire.send(head(200, "OK", [("content-type", "application/json"), ("content-encoding", "gzip")], length=len(body)) + body)


def test_a_gzip_bomb_is_inflated_in_steps_so_the_cap_bounds_memory():
    """httpx inflates a whole 64 KiB read at once (64 MiB of zeros); the transport inflates 1 MiB at a time."""
    gzip_bomb()
    with serving(_bomb) as server:
        tracemalloc.start()
        try:
            (exchange,) = send_all(server, 1, Limits(max_body_bytes=8 * MIB))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert exchange.truncated
    assert len(exchange.body) == 8 * MIB
    assert exchange.notes == (f"body cut at {8 * MIB} bytes (the cap)",)
    assert peak < 3 * 8 * MIB + 4 * MIB, f"{peak / MIB:.0f} MiB traced for an 8 MiB cap"


def _kilobyte(server: HostileServer, wire: Wire, request: Received) -> None:
    wire.send(head(200, "OK", [("content-type", "application/json")], length=1000) + b"x" * 1000)


def test_a_run_keeps_at_most_its_budget_of_body_bytes():
    with serving(_kilobyte) as server:
        exchanges = send_all(server, 4, Limits(max_body_bytes=1000, max_run_body_bytes=2500))
    assert [len(e.body) for e in exchanges] == [1000, 1000, 500, 0]
    assert [e.truncated for e in exchanges] == [False, False, True, True]
    assert exchanges[2].notes == ("body cut at 500 bytes: the run's budget of 2500 bytes for all bodies is spent",)


def _corrupt_gzip(server: HostileServer, wire: Wire, request: Received) -> None:
    wire.send(head(200, "OK", [("content-encoding", "gzip")], length=12) + b"not gzip at all"[:12])


def test_a_corrupt_gzip_body_is_a_recorded_protocol_error():
    with serving(_corrupt_gzip) as server:
        (exchange,) = send_all(server, 1, Limits())
    assert (exchange.status, exchange.error_kind) == (200, "protocol")
    assert exchange.error is not None
    assert "decompressing" in exchange.error


# ------------------------------------------------------------------------------ engine


def answered(status: int | None, body: bytes = b"", *, error: str | None = None, kind: str | None = None) -> Exchange:
    request = RecordedRequest("POST", "http://127.0.0.1:9/v1/messages", (("x-api-key", "[REDACTED]"),), b"{}")
    return Exchange(id="plain", request=request, status=status, body=body, error=error, error_kind=kind)


def test_the_preflight_line_is_one_line_with_target_controls_made_visible():
    problem = preflight_problem(answered(502, "<html>\r\n<title>Bad\x1b]0;pwned\x07</title>\n\n\x9b2J</html>".encode()), "http://127.0.0.1:9")
    assert str(problem) == "the target cannot answer a basic request: POST http://127.0.0.1:9/v1/messages → 502 <html> <title>Bad\\x1b]0;pwned\\x07</title> \\x9b2J</html>"


def test_an_error_message_nested_deep_is_named_not_printed():
    deep = "[" * 900 + "]" * 900
    problem = preflight_problem(answered(400, f'{{"type":"error","error":{{"type":"invalid_request_error","message":{deep}}}}}'.encode()), "http://x")
    assert str(problem).endswith("→ 400 invalid_request_error: <list>")


@pytest.mark.parametrize(("kind", "error"), [(TargetTimeout, ErrorKind.TIMEOUT), (TargetError, ErrorKind.PROTOCOL)])
def test_a_preflight_answer_that_breaks_off_stops_the_run(kind, error):
    problem = preflight_problem(answered(200, b'{"type":', error="it broke", kind=error), "http://x")
    assert type(problem) is kind
    assert str(problem) == "the target's answer to a basic request broke off: POST http://127.0.0.1:9/v1/messages → 200, then after 8 bytes: it broke"


# ------------------------------------------------------------------------------ reports


def test_a_huge_body_is_shown_from_its_head_without_decoding_it_whole():
    body = "é".encode() * (3 * MIB)  # 6 MiB: the 40,000-byte head ends inside no character
    view = evidence.body_view(body)
    assert (view.kind, view.text, view.size) == ("text", "é" * 10_000, 6 * MIB)
    assert view.note == f"cut at 10,000 characters of a {6 * MIB:,}-byte body"
    odd = evidence.body_view(b"x" + "é".encode() * (3 * MIB))  # now the head's last byte would split a character
    assert "UTF-8" not in odd.note
    assert odd.text.startswith("xé")


def test_huge_binary_bodies_show_a_base64_head():
    view = evidence.body_view(bytes(range(256)) * (8 * 1024))
    assert view.kind == "base64"
    assert len(view.text) == 10_000
    assert view.note == f"binary body ({2 * MIB:,} bytes) shown as base64; cut at 10,000 characters of a {2 * MIB:,}-byte body"


def test_summaries_never_print_a_targets_control_characters():
    hostile = 'Received: status 500 (api_error: <b>x</b>\x1b]0;pwned\x07\x1b[2J\x9b31m)'
    document = {
        "run": {"suite_version": "0", "embedded_reference": False, "target": "http://t", "profile": "p", "model": "m", "api_version": "v", "id": "r", "wall_time_s": 1.0},
        "spend": {"requests": 1, "retries": 0, "input_tokens": 0, "output_tokens": 0},
        "counts": {"fail": 1},
        "results": [{"id": "a.b", "outcome": "fail", "area": "a", "rule": "r", "message": hostile, "level": "must"}],
        "must_failures": 1,
    }
    text = terminal.summary(document, report_path=None)
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\x9b" not in text
    assert "\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m" in text
    cell = summary.escape(hostile)
    assert "\x1b" not in cell
    assert "&lt;b&gt;" in cell


# ------------------------------------------------------------------------------ cassette


def test_a_body_of_control_bytes_is_stored_as_base64_not_six_fold_escapes(tmp_path: Path):
    exchange = answered(401, bytes(3 * MIB))
    path = tmp_path / "cassette.jsonl"
    cassette.write(path, [exchange])
    assert path.stat().st_size < 4.1 * MIB, "base64 is 4/3 of the body; JSON escapes would be 6x"
    assert json.loads(path.read_text(encoding="utf-8"))["response"]["body"].keys() == {"base64"}
    (back,) = cassette.read(path)
    assert back.body == exchange.body
    cassette.write(path, [answered(200, b'{"text": "tabs\\tand\\nnewlines"}\n')])
    assert "text" in json.loads(path.read_text(encoding="utf-8"))["response"]["body"], "ordinary text stays readable"
