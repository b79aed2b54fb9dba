"""Replay re-judges a recorded run offline with the same verdicts; validate judges saved answers."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
from capture_corpus import CAPTURES, corpus

from conformance.engine import RunSettings, run
from conformance.findings import Outcome
from conformance.reference import ReferenceServer
from conformance.replay import replay
from conformance.validate import validate

FILES = corpus("*.sse", "*.json", "fragments/*")


def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("replay must not open a socket")

    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.parametrize("fault", ["", "stop-reason-stop+duplicate-message-start", "flaky-stop-sequence", "version-2026-served-as-2023"])
def test_replay_gives_the_same_verdicts_offline(tmp_path: Path, reference: ReferenceServer, reference_key: str, fault: str, monkeypatch: pytest.MonkeyPatch) -> None:
    url = reference.base_url + (f"/_faults/{fault}" if fault else "")
    tape = tmp_path / "cassette.jsonl"
    live = run(RunSettings(base_url=url, api_key=reference_key, profile="reference", concurrency=8), cassette_path=tape)
    _no_network(monkeypatch)
    again = replay(tape, profile="reference", api_version="2023-06-01", model=live.model)
    assert {f.case_id: f.outcome for f in again.findings} == {f.case_id: f.outcome for f in live.findings}
    assert {f.case_id: f.message for f in again.findings if f.outcome is Outcome.FAIL} == {f.case_id: f.message for f in live.findings if f.outcome is Outcome.FAIL}
    assert reference_key.encode() not in tape.read_bytes()


@pytest.fixture(scope="module")
def warm() -> None:
    """Load the contract and compile the schemas once, as a CLI process does before its first file."""
    validate(FILES[0])


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_real_capture_validates_conformant_in_well_under_a_second(path: Path, warm: None) -> None:
    started = time.process_time()  # CPU time: what the validator costs, whatever else loads the machine
    judged = validate(path)
    elapsed = time.process_time() - started
    assert judged.must_failures == 0, [f.message for f in judged.findings if f.outcome is Outcome.FAIL]
    assert [f.message for f in judged.findings if f.outcome is Outcome.WARN] == []  # real traffic raises no alarm, not even a SHOULD
    assert judged.findings, "at least one check applies to every capture"
    assert elapsed < 1.0


def test_validate_finds_a_broken_stream(tmp_path: Path) -> None:
    good = (CAPTURES / "01-opus3-text-2024-03.sse").read_bytes()
    broken = tmp_path / "broken.sse"
    broken.write_bytes(good.replace(b"event: message_stop\n", b"").replace(b'data: {"type":"message_stop"}\n\n', b"data: [DONE]\n\n").replace(b"event: content_block_delta", b"event: delta", 1))
    judged = validate(broken)
    failed = sorted(f.check_id for f in judged.findings if f.outcome is Outcome.FAIL)
    assert failed == ["stream.ends_with_message_stop", "stream.event_name_matches_type", "stream.no_done_sentinel"]


def test_validate_an_error_body(tmp_path: Path) -> None:
    body = tmp_path / "error.json"
    body.write_text('{"error": {"message": "bad", "type": "invalid_request_error", "param": null}}', encoding="utf-8")
    judged = validate(body, status=400)
    assert [f.check_id for f in judged.findings if f.outcome is Outcome.FAIL] == ["errors.envelope_shape"]
    assert os.fspath(body)


def test_validate_judges_no_response_header_a_saved_body_cannot_have() -> None:
    # A saved 429 body has no retry-after, and its request_id has no request-id header to match: neither is a finding.
    judged = validate(CAPTURES / "58-error-429-rate-limit-2026-04.json")
    assert {f.check_id for f in judged.findings} == {"errors.envelope_shape", "errors.type_matches_status"}
    assert all(f.outcome is Outcome.PASS for f in judged.findings)

