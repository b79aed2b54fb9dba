"""conformance/proxy: forwards unchanged and unbuffered, judges every exchange, redacts every key, publishes the run folder.

A proxy on a thread of the test process in front of the session's reference server (its fault
router serves faults and variants by path, so a fault is just another upstream URL).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest

from conformance.proxy.app import Upstream
from conformance.proxy.server import ProxyThread
from conformance.proxy.session import Published, Session, Settings
from conformance.reference import ReferenceServer
from conformance.reference.router import fault_base_path, variant_base_path
from conformance.report.results import SCHEMA_PATH
from conformance.versions import load_contracts

MODEL = "claude-haiku-4-5"
PLAIN = {"model": MODEL, "max_tokens": 32, "messages": [{"role": "user", "content": "Reply with exactly this text and nothing else: ok"}]}


class Proxied:
    """A proxy session in front of an upstream; ``finish()`` publishes its run folder."""

    def __init__(self, upstream: str, report_dir: Path, *, headers: tuple[tuple[str, str], ...] = (), profile: str = "reference") -> None:
        contracts = load_contracts("2023-06-01", profile)
        self.session = Session(contracts, Settings(upstream=upstream, profile=profile, report_dir=str(report_dir), default_model=MODEL), out=None)
        self.thread = ProxyThread(Upstream(base_url=upstream, headers=headers), self.session)
        self.url = self.thread.start()

    def finish(self) -> Published:
        self.thread.stop()
        return self.session.close()


@pytest.fixture
def proxied(reference: ReferenceServer, tmp_path: Path) -> Iterator[Any]:
    made: list[Proxied] = []

    def make(path: str = "", **kwargs: Any) -> Proxied:
        made.append(Proxied(reference.base_url + path, tmp_path / "reports", **kwargs))
        return made[-1]

    yield make
    for proxy in made:
        proxy.thread.stop()


def headers(key: str, **more: str) -> dict[str, str]:
    return {"x-api-key": key, "anthropic-version": "2023-06-01", **more}


def raw(client: httpx.Client, url: str, key: str, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    response = client.post(url + "/v1/messages", headers=headers(key), json=body)
    return response.status_code, dict(response.headers), response.content


def _shape(body: dict[str, Any], data: bytes) -> Any:
    """What two answers of the deterministic toy model to one request share: all but ids (JSON) or the event lines (a stream)."""
    if body.get("stream"):
        return [line for line in data.split(b"\n") if line.startswith(b"event:")]
    parsed = json.loads(data)
    parsed.pop("id", None)
    parsed.pop("request_id", None)
    return parsed


def test_answers_pass_through_unchanged(proxied: Any, reference: ReferenceServer, reference_key: str) -> None:
    proxy = proxied()
    with httpx.Client(timeout=30) as client:
        for body in (PLAIN, {**PLAIN, "stream": True}, {**PLAIN, "max_tokens": "x"}):
            direct = raw(client, reference.base_url, reference_key, body)
            through = raw(client, proxy.url, reference_key, body)
            assert through[0] == direct[0]
            assert through[1]["content-type"] == direct[1]["content-type"]
            framing = {"content-length", "transfer-encoding"}
            assert set(through[1]) - framing == set(direct[1]) - framing
            assert _shape(body, through[2]) == _shape(body, direct[2])
    published = proxy.finish()
    assert published.document["proxy"]["judged"] == 3


def test_the_stream_is_not_buffered(proxied: Any, reference_key: str) -> None:
    """The slow variant paces events 20 ms apart: the first event reaches the client long before the last leaves the upstream."""
    proxy = proxied(variant_base_path("slow"))
    body = {**PLAIN, "stream": True, "max_tokens": 200, "messages": [{"role": "user", "content": "Count from 1 to 60"}]}
    arrivals: list[float] = []
    with httpx.Client(timeout=60) as client, client.stream("POST", proxy.url + "/v1/messages", headers=headers(reference_key), json=body) as response:
        t0 = time.monotonic()
        for _ in response.iter_raw():
            arrivals.append(time.monotonic() - t0)
    # 60 events 20 ms apart: read piece by piece over more than a second, as the upstream paced them (a loaded
    # machine may coalesce a few pieces; a buffering proxy delivers one or two at the end).
    assert len(arrivals) > 10, "the answer arrived in a few pieces: something buffered it"
    assert arrivals[-1] - arrivals[0] > 0.8
    published = proxy.finish()
    by_id = {r["id"]: r for r in published.document["results"]}
    assert by_id["recovery.stream_not_buffered"]["outcome"] == "pass"


def test_every_exchange_judged_and_a_faithful_upstream_passes(proxied: Any, reference_key: str) -> None:
    proxy = proxied()
    with anthropic.Anthropic(base_url=proxy.url, api_key=reference_key, max_retries=0) as client:
        client.messages.create(**PLAIN)
        with client.messages.stream(**PLAIN) as stream:
            stream.get_final_message()
        client.beta.messages.create(**PLAIN, betas=["interleaved-thinking-2025-05-14"])
        client.messages.count_tokens(model=MODEL, messages=PLAIN["messages"])
        list(client.models.list(limit=2))
        client.models.retrieve(MODEL)
        with pytest.raises(anthropic.BadRequestError):
            client.messages.create(model=MODEL, max_tokens=0, messages=PLAIN["messages"])
    published = proxy.finish()
    document = published.document
    assert document["proxy"]["exchanges"] == document["proxy"]["judged"] >= 7
    counts = document["counts"]
    assert counts["fail"] == counts["warn"] == counts["error"] == 0, [r for r in document["results"] if r["outcome"] in ("fail", "warn", "error")]
    judged_on = {item.split(":", 1)[0] for r in document["results"] for item in r["judged"]}
    assert len(judged_on) == document["proxy"]["judged"]  # every exchange is named by some pass
    assert all(r["judged"] for r in document["results"] if r["outcome"] == "pass")
    assert all(r["message"] for r in document["results"] if r["outcome"] == "skip")
    import jsonschema

    jsonschema.validate(document, json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    run_dir = published.run_dir
    for name in ("report.html", "results.json", "summary.md", "junit.xml", "cassette.jsonl"):
        assert (run_dir / name).is_file(), name
    assert len((run_dir / "cassette.jsonl").read_text(encoding="utf-8").splitlines()) == document["proxy"]["exchanges"]
    assert "Proxy session" in (run_dir / "summary.md").read_text(encoding="utf-8")


def test_a_fault_upstream_is_reported_and_gates(proxied: Any, reference_key: str) -> None:
    proxy = proxied(fault_base_path("drop-message-stop"))
    with httpx.Client(timeout=30) as http:
        http.post(proxy.url + "/v1/messages", headers=headers(reference_key), json={**PLAIN, "stream": True})
    with anthropic.Anthropic(base_url=proxy.url, api_key=reference_key, max_retries=0) as client:
        client.messages.create(**PLAIN)
    published = proxy.finish()
    by_id = {r["id"]: r for r in published.document["results"]}
    assert by_id["stream.ends_with_message_stop"]["outcome"] == "fail"
    assert by_id["stream.ends_with_message_stop"]["exchanges"] == ["0001-messages"]
    assert published.failed
    assert "stream.ends_with_message_stop" in (published.run_dir / "junit.xml").read_text(encoding="utf-8")
    assert "0001-messages" in (published.run_dir / "report.html").read_text(encoding="utf-8")


def test_no_key_reaches_an_artifact(proxied: Any, reference_key: str) -> None:
    """The client's key goes upstream (the answers are 200) and nowhere else, nor does a --header value."""
    extra = "gw-secret-" + "9" * 24
    proxy = proxied(fault_base_path("drop-message-stop"), headers=(("x-gateway-key", extra),))
    with httpx.Client(timeout=30) as http:
        ok = http.post(proxy.url + "/v1/messages", headers=headers(reference_key), json={**PLAIN, "stream": True})
        echoed = http.post(proxy.url + "/v1/messages", headers={"authorization": f"Bearer {reference_key}", "anthropic-version": "2023-06-01"},
                           json={**PLAIN, "messages": [{"role": "user", "content": f"Reply with exactly this text and nothing else: {reference_key}"}]})  # fmt: skip
    assert ok.status_code == echoed.status_code == 200
    assert reference_key in echoed.text  # the client gets the answer as sent
    published = proxy.finish()
    for path in published.run_dir.rglob("*"):
        if path.is_file():
            text = path.read_bytes()
            assert reference_key.encode() not in text, path
            assert extra.encode() not in text, path


def test_an_unreachable_upstream_is_a_502_of_ours_and_no_verdict(tmp_path: Path) -> None:
    proxy = Proxied("http://127.0.0.1:9", tmp_path)
    with httpx.Client(timeout=30) as http:
        response = http.post(proxy.url + "/v1/messages", headers=headers("sk-none-1234567890"), json=PLAIN)
    assert response.status_code == 502
    assert response.json()["error"]["message"].startswith("anthropic-conformance proxy: no answer from the upstream")
    published = proxy.finish()
    outcomes = {r["outcome"] for r in published.document["results"]}
    assert "fail" not in outcomes
    assert "error" in outcomes
    assert not published.failed


def test_other_paths_are_forwarded_not_judged(proxied: Any, reference_key: str) -> None:
    proxy = proxied()
    with httpx.Client(timeout=30) as http:
        assert http.get(proxy.url + "/health", headers=headers(reference_key)).status_code == 404
    published = proxy.finish()
    assert published.document["proxy"]["not_judged"] == 1
    assert published.document["proxy"]["judged"] == 0


def test_a_client_that_goes_away_mid_stream_leaves_the_session_intact(proxied: Any, reference_key: str) -> None:
    proxy = proxied(variant_base_path("slow"))
    body = {**PLAIN, "stream": True, "max_tokens": 400, "messages": [{"role": "user", "content": "Count from 1 to 300"}]}
    with httpx.Client(timeout=60) as client, client.stream("POST", proxy.url + "/v1/messages", headers=headers(reference_key), json=body) as response:
        for _ in response.iter_raw():
            break
    time.sleep(0.5)
    with anthropic.Anthropic(base_url=proxy.url, api_key=reference_key, max_retries=0) as client2:
        client2.messages.create(**PLAIN)
    published = proxy.finish()
    assert published.document["proxy"]["exchanges"] == 2
    tape = [json.loads(line) for line in (published.run_dir / "cassette.jsonl").read_text(encoding="utf-8").splitlines()]
    assert any("the client went away" in note for note in tape[0]["notes"])


def test_concurrent_clients(proxied: Any, reference_key: str) -> None:
    proxy = proxied()
    errors: list[BaseException] = []

    def one() -> None:
        try:
            with anthropic.Anthropic(base_url=proxy.url, api_key=reference_key, max_retries=0) as client:
                for _ in range(3):
                    with client.messages.stream(**PLAIN) as stream:
                        stream.get_final_message()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    published = proxy.finish()
    assert published.document["proxy"]["judged"] == 12
    assert published.document["counts"]["fail"] == 0
    ids = [json.loads(line)["id"] for line in (published.run_dir / "cassette.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(set(ids)) == 12


def test_a_session_replays_offline_to_the_same_verdicts(proxied: Any, reference_key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from conformance.cli import main

    proxy = proxied(fault_base_path("drop-message-stop"))
    with anthropic.Anthropic(base_url=proxy.url, api_key=reference_key, max_retries=0) as client:
        with client.messages.stream(**PLAIN) as stream:
            stream.until_done()
        client.messages.create(**PLAIN)
    published = proxy.finish()
    assert main(["replay", str(published.run_dir), "--report-dir", str(tmp_path / "again")]) == 1
    assert "replayed proxy session" in capsys.readouterr().err
    (again,) = [p for p in (tmp_path / "again").iterdir() if p.is_dir() and p.name != "latest"]
    replayed = json.loads((again / "results.json").read_text(encoding="utf-8"))
    assert {r["id"]: r["outcome"] for r in replayed["results"]} == {r["id"]: r["outcome"] for r in published.document["results"]}
    assert replayed["proxy"]["exchanges"] == 2
