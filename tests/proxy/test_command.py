"""``anthropic-conformance proxy`` as a user runs it: start, traffic, SIGINT or SIGTERM, the run folder and the exit code."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conformance.cli import main
from conformance.proxy.command import parse_headers
from conformance.reference import ReferenceServer
from conformance.reference.router import fault_base_path

PLAIN = {"model": "claude-haiku-4-5", "max_tokens": 32, "stream": True, "messages": [{"role": "user", "content": "Reply with exactly this text and nothing else: ok"}]}


def start(upstream: str, report_dir: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "conformance", "proxy", "--upstream", upstream, "--port", "0", "--profile", "reference", "--report-dir", str(report_dir), *extra]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "NO_COLOR": "1"})
    assert process.stderr is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        found = re.search(r"ANTHROPIC_BASE_URL=(\S+)", line)
        if found:
            return process, found.group(1)
        if not line and process.poll() is not None:
            break
    process.kill()
    raise AssertionError(f"the proxy did not announce its URL: {process.communicate()}")


@pytest.mark.parametrize(("path", "sig", "code"), [("", signal.SIGINT, 0), (fault_base_path("drop-message-stop"), signal.SIGTERM, 1)], ids=["sigint-faithful", "sigterm-fault"])
def test_a_signal_ends_the_session_with_the_run_folder(
    reference: ReferenceServer, reference_key: str, tmp_path: Path, path: str, sig: int, code: int, request: pytest.FixtureRequest
) -> None:
    process, url = start(reference.base_url + path, tmp_path)
    request.addfinalizer(process.kill)  # a failed step must not leave the proxy running; after its exit this does nothing
    with httpx.Client(timeout=30) as http:
        for _ in range(2):
            answer = http.post(url + "/v1/messages?beta=true", headers={"x-api-key": reference_key, "anthropic-version": "2023-06-01"}, json=PLAIN)
            assert answer.status_code == 200
    process.send_signal(sig)
    out, err = process.communicate(timeout=60)
    assert process.returncode == code, err
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir() and p.name != "latest"]
    document = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    assert document["proxy"]["judged"] == 2
    assert "0001-messages POST /v1/messages?beta=true → 200 stream" in err  # the live line
    assert f"report {run_dir / 'report.html'}" in out
    for name in ("report.html", "summary.md", "junit.xml", "cassette.jsonl"):
        assert (run_dir / name).is_file()
    assert reference_key not in "".join(p.read_text(encoding="utf-8", errors="replace") for p in run_dir.iterdir() if p.is_file())
    if code:
        assert "stream.ends_with_message_stop" in out


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--upstream", "http://127.0.0.1:9/v1"], "ends in /v1"),
        (["--upstream", "ftp://example"], "expected an http:// or https:// base URL"),
        (["--upstream", "http://127.0.0.1:9", "--header", "x-gateway-key: ${CONFORMANCE_TEST_UNSET_VAR}"], "CONFORMANCE_TEST_UNSET_VAR is not set"),
        (["--upstream", "http://127.0.0.1:9", "--header", "no colon"], "expected 'Name: value'"),
    ],
    ids=["v1", "scheme", "unset-var", "bad-header"],
)
def test_bad_options_are_one_line_and_exit_2(argv: list[str], said: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONFORMANCE_TEST_UNSET_VAR", raising=False)
    assert main(["proxy", *argv]) == 2
    err = capsys.readouterr().err
    assert said in err
    assert "Traceback" not in err


def test_header_values_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_TEST_KEY", "abc123")
    assert parse_headers(["X-Gateway-Key: ${GATEWAY_TEST_KEY}", "x-extra: plain value"]) == (("X-Gateway-Key", "abc123"), ("x-extra", "plain value"))


def test_a_port_in_use_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["proxy", "--upstream", "http://127.0.0.1:9", "--port", str(port), "--report-dir", str(tmp_path)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
    assert not any(p.is_dir() for p in tmp_path.iterdir())
