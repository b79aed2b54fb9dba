"""The entry point and the subprocess handle: announcement, clean shutdown, failures that explain themselves."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conformance.reference.server import API_KEY_ENV, ReferenceServer

from ._support import V2023

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"conformance reference server listening on http://127\.0\.0\.1:(\d+)\n")


def spawn(*args: str, key: str | None = "k") -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != API_KEY_ENV}
    if key is not None:
        env[API_KEY_ENV] = key
    return subprocess.Popen(
        [sys.executable, "-m", "conformance.reference", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_cli_announces_once_serves_and_exits_cleanly(signum):
    process = spawn("--host", "127.0.0.1", "--port", "0")
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        port = LINE.fullmatch(line)
        assert port, line
        response = httpx.get(
            f"http://127.0.0.1:{port.group(1)}/v1/models",
            headers={"x-api-key": "k", "anthropic-version": V2023},
        )
        assert response.status_code == 200
        process.send_signal(signum)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0
    assert out == b""
    assert b"Traceback" not in err


def test_cli_accepts_the_key_as_an_argument():
    process = spawn("--port", "0", "--api-key", "from-argv", key=None)
    try:
        assert process.stdout is not None
        port = LINE.fullmatch(process.stdout.readline().decode())
        assert port
        ok = httpx.get(
            f"http://127.0.0.1:{port.group(1)}/v1/models",
            headers={"x-api-key": "from-argv", "anthropic-version": V2023},
        )
        assert ok.status_code == 200
    finally:
        process.terminate()
        process.communicate(timeout=10)


@pytest.mark.parametrize(
    ("args", "key", "message"),
    [
        (("--fault", "nope"), "k", b"unknown fault 'nope'"),
        ((), None, API_KEY_ENV.encode()),
        (("--router", "--fault", "no-request-id"), "k", b"--router"),
    ],
)
def test_cli_usage_errors(args, key, message):
    process = spawn("--port", "0", *args, key=key)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 2
    assert out == b""
    assert message in err


def test_cli_takes_several_faults_after_one_flag():
    process = spawn("--port", "0", "--fault", "no-request-id", "accepts-any-key")
    try:
        assert process.stdout is not None
        port = LINE.fullmatch(process.stdout.readline().decode())
        assert port
        response = httpx.get(
            f"http://127.0.0.1:{port.group(1)}/v1/models", headers={"anthropic-version": V2023}
        )
        assert response.status_code == 200
        assert "request-id" not in response.headers
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_reference_server_with_a_fault(api_key):
    with ReferenceServer(api_key, faults=["no-request-id"]) as server:
        response = httpx.get(
            server.base_url + "/v1/models", headers={"x-api-key": api_key, "anthropic-version": V2023}
        )
        assert response.status_code == 200
        assert "request-id" not in response.headers


def test_key_travels_in_the_environment_not_argv(server, api_key):
    assert server.pid is not None
    cmdline = Path(f"/proc/{server.pid}/cmdline").read_bytes()
    assert api_key.encode() not in cmdline
    assert b"conformance.reference" in cmdline


def test_stop_terminates_the_child(api_key):
    server = ReferenceServer(api_key)
    base_url = server.start()
    pid = server.pid
    server.stop()
    assert pid is not None
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.base_url
    with pytest.raises(httpx.ConnectError):
        httpx.get(base_url + "/v1/models")
    server.stop()  # idempotent


def test_unknown_fault_fails_before_spawning():
    with pytest.raises(ValueError, match="unknown fault 'nope'; known faults: "):
        ReferenceServer("k", faults=["nope"])


def test_child_that_dies_raises_with_its_stderr():
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"(?s)did not start \(exited with status \d+.*stderr tail:.*\S"):
        ReferenceServer("k", host="256.256.256.256").start()
    assert time.monotonic() - started < 15


def test_startup_timeout_raises_instead_of_hanging():
    with pytest.raises(RuntimeError, match=r"did not start \(timed out, limit 0\.001 s\)"):
        ReferenceServer("k", startup_timeout=0.001).start()


def test_base_url_before_start():
    with pytest.raises(RuntimeError, match="not running"):
        _ = ReferenceServer("k").base_url
