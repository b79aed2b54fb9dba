"""Bad local input gets one line and exit 2 before any request: a report folder that cannot hold a run,
counts and durations no run can work with, a file ``validate`` cannot judge.

Each case runs the real command line against a listening socket that counts connections: a
refusal that came after a request would show up there.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SUITE = [sys.executable, "-m", "conformance"]


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "GITHUB_STEP_SUMMARY")}
    environ.update(env or {})
    return subprocess.run([*SUITE, *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A target that accepts connections and never answers: any request the suite sends waits in its backlog."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        server.setblocking(False)
        yield server


def _connections(server: socket.socket) -> int:
    count = 0
    while True:
        try:
            conn, _ = server.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def _unwritable(tmp_path: Path) -> str:
    """A folder this process cannot write in: a read-only one, or (root ignores modes) sysfs."""
    if os.geteuid() == 0:
        return "/sys/kernel"
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    return str(folder)


@pytest.mark.parametrize(
    ("where", "says"),
    [
        pytest.param("a-file", "--report-dir a-file: not a directory", id="a file"),
        pytest.param("a-file/reports", "--report-dir a-file/reports: cannot be created (Not a directory)", id="under a file"),
        pytest.param("UNWRITABLE", "not writable", id="unwritable"),
    ],
)
def test_a_report_dir_that_cannot_hold_a_run(tmp_path: Path, listener: socket.socket, where: str, says: str) -> None:
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    where = where.replace("UNWRITABLE", _unwritable(tmp_path))
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    for command in (["run", "--base-url", url, "--api-key-env", "K"], ["run"]):
        line = _one_line(cli(*command, "--report-dir", where, cwd=tmp_path, env={"K": "sk-test"}))
        assert line.startswith("anthropic-conformance: --report-dir ")
        assert says in line
    (tmp_path / "targets.toml").write_text(f'[[target]]\nname = "t"\nbase_url = "{url}"\napi_key = "sk-test"\n', encoding="utf-8")
    assert says in _one_line(cli("compare", "targets.toml", "--report-dir", where, cwd=tmp_path))
    assert _connections(listener) == 0


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("--concurrency", "0", "argument --concurrency: must be a positive integer, got 0"),
        ("--concurrency", "-3", "argument --concurrency: must be a positive integer, got -3"),
        ("--concurrency", "four", "argument --concurrency: must be a positive integer, got 'four'"),
        ("--max-requests", "0", "argument --max-requests: must be a positive integer, got 0"),
        ("--max-tokens-total", "-1", "argument --max-tokens-total: must be a positive integer, got -1"),
        ("--behaviour-retries", "-1", "argument --behaviour-retries: must be an integer >= 0, got -1"),
        ("--request-timeout", "0", "argument --request-timeout: must be a number of seconds above 0, got 0"),
        ("--idle-timeout", "-5", "argument --idle-timeout: must be a number of seconds above 0, got -5"),
        ("--request-timeout", "nan", "argument --request-timeout: must be a number of seconds above 0, got nan"),
    ],
)
def test_counts_and_durations_no_run_can_work_with(tmp_path: Path, listener: socket.socket, flag: str, value: str, says: str) -> None:
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    line = _one_line(cli("run", "--base-url", url, "--api-key-env", "K", f"{flag}={value}", cwd=tmp_path, env={"K": "sk-test"}))
    assert line == f"anthropic-conformance run: {says} (see anthropic-conformance run --help)"
    assert _connections(listener) == 0
    assert not (tmp_path / "reports").exists()


def test_compare_refuses_negative_retries_too(tmp_path: Path) -> None:
    (tmp_path / "targets.toml").write_text('[[target]]\nname = "t"\n', encoding="utf-8")
    assert "must be an integer >= 0, got -2" in _one_line(cli("compare", "targets.toml", "--behaviour-retries=-2", cwd=tmp_path))


def test_a_bad_against_file_stops_before_the_run(tmp_path: Path, listener: socket.socket) -> None:
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    (tmp_path / "notes.json").write_text("[]", encoding="utf-8")
    line = _one_line(cli("run", "--base-url", url, "--api-key-env", "K", "--against", "notes.json", cwd=tmp_path, env={"K": "sk-test"}))
    assert line.startswith("anthropic-conformance: --against notes.json: not a results.json of this suite")
    assert _connections(listener) == 0


def test_plain_pytest_refuses_them_too(pytester: pytest.Pytester, listener: socket.socket) -> None:
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    suite = ("--pyargs", "conformance", "-p", "no:cacheprovider", "--base-url", url, "--api-key", "sk-test")
    zero = pytester.runpytest_subprocess(*suite, "--concurrency", "0")
    assert zero.ret == pytest.ExitCode.USAGE_ERROR
    zero.stderr.fnmatch_lines(["ERROR: conformance: --concurrency must be a positive integer, got 0"])
    (pytester.path / "a-file").write_text("", encoding="utf-8")
    folder = pytester.runpytest_subprocess(*suite, "--report-dir", "a-file")
    assert folder.ret == 2
    assert "conformance: --report-dir a-file: not a directory" in folder.stdout.str() + folder.stderr.str()
    assert _connections(listener) == 0


# ------------------------------------------------------------------------------ validate


@pytest.mark.parametrize(
    ("content", "says"),
    [
        pytest.param(b"", "no SSE events or JSON found: an empty file", id="empty"),
        pytest.param(b"# Debugging notes\n\nThe stream stopped after the first delta.\n", 'no SSE events or JSON found: text that starts "# Debugging notes"', id="markdown"),
        pytest.param(b"\n \n\t\n", "no SSE events or JSON found: only blank space", id="blank"),
        pytest.param(b'{"type": "message", "id": ', "no SSE events or JSON found: text that starts like JSON but does not parse (Expecting value", id="cut JSON"),
        pytest.param(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n", 'no SSE events or JSON found: text that starts "HTTP/1.1 200 OK"', id="headers only"),
    ],
)
def test_validate_refuses_what_holds_neither_json_nor_an_event(tmp_path: Path, content: bytes, says: str) -> None:
    (tmp_path / "saved").write_bytes(content)
    line = _one_line(cli("validate", "saved", cwd=tmp_path))
    assert line.startswith(f"anthropic-conformance: saved: {says}")


def test_validate_refuses_a_directory(tmp_path: Path) -> None:
    (tmp_path / "captures").mkdir()
    assert _one_line(cli("validate", "captures", cwd=tmp_path)) == "anthropic-conformance: captures: a directory; give the file of one saved answer (a JSON body or an SSE stream)"


def test_validate_still_judges_a_stream_an_error_page_and_a_fragment(tmp_path: Path) -> None:
    (tmp_path / "tail.sse").write_text('event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}}\n\n', encoding="utf-8")
    assert cli("validate", "tail.sse", cwd=tmp_path).returncode in (0, 1)
    (tmp_path / "502.html").write_text("<html><body>Bad gateway</body></html>\n", encoding="utf-8")
    page = cli("validate", "502.html", "--status", "502", cwd=tmp_path)
    assert page.returncode == 1, page.stdout + page.stderr  # an error page where an error envelope belongs: judged, and a finding
