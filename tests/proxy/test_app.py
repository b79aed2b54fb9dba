"""conformance/proxy/app.py in pieces: what it forwards, what it records, an upstream that compresses its answers."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse
from starlette.routing import Route

from conformance.proxy.app import ProxyApp, Upstream, _auth, _narrowed, _Recorder
from conformance.proxy.server import ProxyThread
from conformance.proxy.session import Session, Settings
from conformance.versions import load_contracts


@pytest.mark.parametrize(
    ("offered", "sent"),
    [("gzip, deflate, br, zstd", "gzip, deflate"), ("gzip", None), ("identity", None), ("br", "identity"), ("gzip;q=1.0, br;q=0.9", "gzip;q=1.0")],
)
def test_accept_encoding_is_narrowed_to_what_the_proxy_reads(offered: str, sent: str | None) -> None:
    assert _narrowed(offered) == sent


def test_credentials_are_found_in_either_scheme() -> None:
    assert _auth([("x-api-key", "sk-a")]) == ("x-api-key", ["sk-a"])
    assert _auth([("authorization", "Bearer sk-b")]) == ("bearer", ["sk-b"])
    assert _auth([("content-type", "application/json")]) == ("none", [])


def test_the_recorder_decodes_gzip_in_pieces_and_keeps_arrival_times() -> None:
    data = json.dumps({"type": "message", "text": "x" * 5000}).encode()
    packed = gzip.compress(data)
    recorder = _Recorder(time.monotonic())
    recorder.decoding("gzip")
    for i in range(0, len(packed), 100):
        recorder.add(packed[i : i + 100])
    body, chunks = recorder.result()
    assert body == data
    assert recorder.raw == len(packed)
    assert sum(c.size for c in chunks) == len(data)


def test_headers_forwarded_replace_and_drop() -> None:
    app = ProxyApp(Upstream(base_url="http://upstream", headers=(("x-api-key", "sk-gateway"),)), lambda *_: True)
    raw = [(b"host", b"127.0.0.1:1"), (b"x-api-key", b"sk-client"), (b"connection", b"keep-alive, x-hop"), (b"x-hop", b"1"), (b"anthropic-beta", b"a,b"), (b"accept-encoding", b"gzip, br")]
    forwarded, notes = app._headers(raw)
    assert forwarded == [("anthropic-beta", "a,b"), ("accept-encoding", "gzip"), ("x-api-key", "sk-gateway")]
    assert notes == ["accept-encoding 'gzip, br' narrowed to 'gzip' so that the proxy can read the answer (the client offered those codings)"]


MESSAGE = {
    "id": "msg_01GzipUpstreamAnswer00000", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
    "content": [{"type": "text", "text": "compressed " * 200}], "stop_reason": "end_turn", "stop_sequence": None,
    "usage": {"input_tokens": 12, "output_tokens": 400, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
}  # fmt: skip


async def _answer(request: StarletteRequest) -> JSONResponse:
    return JSONResponse(MESSAGE, headers={"request-id": "req_01GzipUpstream"})


@pytest.fixture
def gzip_upstream() -> Iterator[str]:
    app = GZipMiddleware(Starlette(routes=[Route("/v1/messages", _answer, methods=["POST"])]), minimum_size=100)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def test_a_compressed_answer_goes_through_compressed_and_is_judged_decoded(gzip_upstream: str, tmp_path: Path) -> None:
    session = Session(load_contracts("2023-06-01", "anthropic"), Settings(upstream=gzip_upstream, profile="anthropic", report_dir=str(tmp_path), default_model="claude-haiku-4-5"), out=None)
    with ProxyThread(Upstream(base_url=gzip_upstream), session) as proxy:
        body = {"model": "claude-haiku-4-5", "max_tokens": 500, "messages": [{"role": "user", "content": "hi"}]}
        with httpx.Client(timeout=30) as client:
            response = client.post(proxy.url + "/v1/messages", json=body, headers={"x-api-key": "sk-test-0123456789", "anthropic-version": "2023-06-01", "accept-encoding": "gzip, br"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.json() == MESSAGE
    published = session.close()
    by_id = {r["id"]: r for r in published.document["results"]}
    assert by_id["shape.message_schema"]["outcome"] == "pass"
    record = json.loads((published.run_dir / "cassette.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert json.loads(record["response"]["body"]["text"]) == MESSAGE  # recorded decoded, as the transport records
    assert ["accept-encoding", "gzip"] in record["request"]["headers"]
