"""The CLI against misbehaving servers: every run ends in a verdict, in time, in bounded memory, keeping the key.

Each behaviour of ``servers.BEHAVIOURS`` gets its own server on 127.0.0.1 and one
``python -m conformance run`` in a subprocess, with small timeouts. The runs start together
(four at a time) when the module's first test asks for them; each test then reads one run's
exit code, output, files, wall time and peak memory.

Bounds, and where they come from:
- time: the preflight, then the other requests at once (concurrency 4 > 2), so a run sits through
  at most two exchanges back to back, each cut at ``--request-timeout``; plus start-up and writing.
- memory: the transport keeps at most 32 MiB of one body and 128 MiB of all bodies of a run
  (``Limits``), a stream reading keeps at most 10,000 events, and reports show the head of a body
  (a cut of ours makes the rules about the answer's end ``error``, never ``fail``);
  the peak stays under ``MEMORY_BOUND_MIB``. Peaks come from ``wait4`` (the child's ``ru_maxrss``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .servers import BEHAVIOURS, CHECKS, Behaviour, HostileServer, Phase, closed_port

IDLE_TIMEOUT = 2.0
REQUEST_TIMEOUT = 6.0
STARTUP = 25.0  # interpreter, pytest and plugin start-up and report writing, on a busy 2-core CI machine
SEQUENTIAL_EXCHANGES = 2  # the preflight, then everything else concurrently
TIME_BOUND = STARTUP + SEQUENTIAL_EXCHANGES * REQUEST_TIMEOUT
KILL_AFTER = TIME_BOUND + 60  # a hung run is killed (and fails its tests) rather than hanging the suite
MEMORY_BOUND_MIB = 400
WORKERS = 4  # most runs wait on a timeout or a socket, not on a CPU
KEY_PREFIX = "sk-ant-api03-HOSTILE-"
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # what a target could use to repaint a terminal


@dataclass
class Run:
    """One finished CLI run against one behaviour."""

    behaviour: Behaviour
    key: str
    cwd: Path
    exit_code: int
    killed: bool
    elapsed: float
    peak_mib: float
    stdout: str
    stderr: str
    server: HostileServer | None
    elsewhere: HostileServer | None

    @property
    def run_dir(self) -> Path | None:
        latest = self.cwd / "reports" / "latest"
        return Path(os.path.realpath(latest)) if latest.exists() else None

    def results(self) -> dict[str, dict[str, Any]]:
        assert self.run_dir is not None, f"no run folder\n{self.stderr}"
        document = json.loads((self.run_dir / "results.json").read_text(encoding="utf-8"))
        return {r["id"]: r for r in document["results"]}

    def written(self) -> Iterator[Path]:
        """Every file the run left behind (reports, JUnit, Allure, cassette, step summary, its own output)."""
        yield from (p for p in self.cwd.rglob("*") if p.is_file() and not p.is_symlink())


def _other_host() -> str:
    """Another host for redirects: 127.0.0.2 where the loopback net answers it (Linux), else another port of 127.0.0.1."""
    try:
        with socket.socket() as probe:
            probe.bind(("127.0.0.2", 0))
    except OSError:
        return "127.0.0.1"
    return "127.0.0.2"


OTHER_HOST = _other_host()


def _url(behaviour: Behaviour, server: HostileServer | None) -> str:
    if behaviour.url == "closed":
        return f"http://127.0.0.1:{closed_port()}"
    assert server is not None
    return server.base_url.replace("http://", "https://") if behaviour.url == "https" else server.base_url


def _wait(proc: subprocess.Popen[bytes], started: float) -> tuple[int, bool, float]:
    """Exit code, whether it had to be killed, and the child's peak RSS in MiB (``wait4``: this child only)."""
    killed = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() - started > KILL_AFTER:
            proc.kill()
            killed = True
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait again
    return proc.returncode, killed, usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)  # bytes on macOS, KiB elsewhere


def run_behaviour(behaviour: Behaviour, cwd: Path) -> Run:
    """Start the behaviour's server (and the host a redirect points at), run the CLI against it, stop them."""
    key = KEY_PREFIX + secrets.token_hex(16)
    cwd.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "ANTHROPIC_API_KEY")}
    env.update({"HOSTILE_KEY": key, "GITHUB_STEP_SUMMARY": str(cwd / "step-summary.md")})
    with contextlib.ExitStack() as stack:
        elsewhere = stack.enter_context(HostileServer(BEHAVIOURS["well-behaved"], host=OTHER_HOST))
        server = None if behaviour.url == "closed" else stack.enter_context(HostileServer(behaviour, elsewhere=elsewhere))
        args = [sys.executable, "-m", "conformance", "run", "--base-url", _url(behaviour, server), "--api-key-env", "HOSTILE_KEY",
                "--idle-timeout", f"{IDLE_TIMEOUT:g}", "--request-timeout", f"{REQUEST_TIMEOUT:g}", "-k", " or ".join(CHECKS)]
        with (cwd / "stdout.txt").open("wb") as out, (cwd / "stderr.txt").open("wb") as err:
            started = time.monotonic()
            proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=err)
        exit_code, killed, peak = _wait(proc, started)
        elapsed = time.monotonic() - started
    return Run(
        behaviour, key, cwd, exit_code, killed, round(elapsed, 2), round(peak, 1),
        (cwd / "stdout.txt").read_text("utf-8", "replace"), (cwd / "stderr.txt").read_text("utf-8", "replace"), server, elsewhere,
    )


class Battery:
    """The selected runs, started together on a small pool; ``get`` waits for one."""

    def __init__(self, names: list[str], root: Path) -> None:
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="hostile-run")
        slow_first = sorted(names, key=lambda n: -BEHAVIOURS[n].waits)
        self._runs: dict[str, Future[Run]] = {n: self._pool.submit(run_behaviour, BEHAVIOURS[n], root / n) for n in slow_first}

    def get(self, name: str) -> Run:
        return self._runs[name].result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _selected(session: pytest.Session) -> list[str]:
    names = {item.callspec.params["behaviour"] for item in session.items if item.module is sys.modules[__name__] and hasattr(item, "callspec")}
    return sorted(n for n in names if n in BEHAVIOURS)


@pytest.fixture(scope="module")
def battery(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Battery]:
    running = Battery(_selected(request.session), tmp_path_factory.mktemp("hostile"))
    yield running
    running.close()


@pytest.fixture
def run(battery: Battery, behaviour: str, record_property: Any) -> Run:
    finished = battery.get(behaviour)
    record_property("hostile_behaviour", behaviour)
    record_property("exit_code", finished.exit_code)
    record_property("wall_s", finished.elapsed)
    record_property("peak_rss_mib", finished.peak_mib)
    return finished


ALL = pytest.mark.parametrize("behaviour", list(BEHAVIOURS))
PREFLIGHT = pytest.mark.parametrize("behaviour", [b.name for b in BEHAVIOURS.values() if b.phase is Phase.PREFLIGHT])
LATER = pytest.mark.parametrize("behaviour", [b.name for b in BEHAVIOURS.values() if b.phase is Phase.LATER])


@ALL
def test_the_run_ends_with_the_declared_exit_code_and_no_traceback(run: Run) -> None:
    assert not run.killed, f"killed after {KILL_AFTER:g} s\n{run.stderr[-2000:]}"
    assert run.exit_code == run.behaviour.exit_code, f"stdout:\n{run.stdout[-3000:]}\nstderr:\n{run.stderr[-3000:]}"
    for stream in (run.stdout, run.stderr):
        assert "Traceback" not in stream
        assert "INTERNALERROR" not in stream


@ALL
def test_the_run_ends_within_the_bound_the_timeouts_give(run: Run) -> None:
    assert run.elapsed < TIME_BOUND, f"{run.elapsed:.1f} s > {TIME_BOUND:g} s = {STARTUP:g} s start-up + {SEQUENTIAL_EXCHANGES} x {REQUEST_TIMEOUT:g} s"
    if run.behaviour.waits:  # the target really was waited for, up to a timeout, not abandoned early
        assert run.elapsed > IDLE_TIMEOUT


@ALL
def test_memory_stays_bounded(run: Run) -> None:
    assert run.peak_mib < MEMORY_BOUND_MIB, f"peak RSS {run.peak_mib:.0f} MiB"


@PREFLIGHT
def test_an_unusable_target_stops_the_run_with_one_clear_line(run: Run) -> None:
    lines = run.stderr.rstrip("\n").split("\n")
    assert lines[-1].startswith("anthropic-conformance: "), run.stderr
    assert run.behaviour.says in lines[-1], lines[-1]
    assert sum(line.startswith("anthropic-conformance: ") for line in lines) == 1, run.stderr
    assert run.stdout.strip() == ""
    assert not [p for p in run.written() if p.name == "results.json"], "the run stopped before judging anything"


@LATER
def test_every_affected_check_fails_errors_or_skips_with_evidence(run: Run) -> None:
    results = run.results()
    assert set(results) == set(CHECKS)
    b = run.behaviour
    expected = {c: "fail" if c in b.fails else "error" if c in b.errors else "skip" if c in b.skips else "pass" for c in CHECKS}
    assert {c: r["outcome"] for c, r in results.items()} == expected
    for record in results.values():
        if record["outcome"] != "pass":
            assert record["message"].strip(), record["id"]
            assert record["exchanges"], record["id"]
        else:
            assert record["judged"], record["id"]  # a pass names what it judged
    if run.behaviour.says:
        messages = "\n".join(results[c]["message"] for c in CHECKS if expected[c] != "pass")
        assert run.behaviour.says in messages


@LATER
def test_a_target_that_could_barely_be_judged_never_passes_the_gate(run: Run) -> None:
    """More than half of the MUST cases in error is "could not be tested" (exit 3, reports written), not a green gate."""
    assert run.run_dir is not None
    gate = json.loads((run.run_dir / "results.json").read_text(encoding="utf-8"))["gate"]
    if run.behaviour.exit_code == 3:
        assert gate["failed"], gate
        assert gate["unjudged"]["errors"] * 2 > gate["unjudged"]["must"], gate
        assert "anthropic-conformance: the target could not be tested:" in run.stderr, run.stderr[-2000:]
    else:
        assert "unjudged" not in gate, gate


@LATER
def test_the_report_renders_with_target_text_escaped(run: Run) -> None:
    assert run.run_dir is not None
    page = (run.run_dir / "report.html").read_text(encoding="utf-8")
    assert page.count("<script") == 1, "only the report's own (CSP-hashed) script"
    assert "<img src=x" not in page
    if run.behaviour.name == "script-in-error":
        assert "&lt;script&gt;alert(&#34;hostile&#34;)&lt;/script&gt;" in page
        assert "\\x1b]0;pwned\\x07" in page, "a terminal escape is shown, not embedded"


@ALL
def test_nothing_a_target_sends_reaches_the_terminal_raw(run: Run) -> None:
    for name in ("stdout.txt", "stderr.txt"):
        data = (run.cwd / name).read_bytes()
        assert not _CONTROL.search(data), f"{name}: {data[_CONTROL.search(data).start() - 40 :][:80]!r}"  # type: ignore[union-attr]
    for path in run.written():
        if path.suffix in (".md", ".html"):
            assert not _CONTROL.search(path.read_bytes()), path


def _contains(path: Path, needle: bytes) -> bool:
    """Whether ``needle`` occurs in the file, read in pieces (a cassette may hold 100 MB)."""
    tail = b""
    with path.open("rb") as handle:
        while piece := handle.read(1 << 20):
            if needle in tail + piece:
                return True
            tail = piece[-len(needle) :]
    return False


@ALL
def test_the_key_is_in_no_file_and_no_output(run: Run) -> None:
    secret = run.key.removeprefix(KEY_PREFIX).encode()  # the random part: a partial leak counts too
    written = list(run.written())
    assert any(p.name == "stdout.txt" for p in written)
    leaks = [str(p.relative_to(run.cwd)) for p in written if _contains(p, secret)]
    assert leaks == []
    if run.behaviour.phase is Phase.LATER:
        names = {p.name for p in written}
        assert {"results.json", "report.html", "cassette.jsonl", "junit.xml", "summary.md", "step-summary.md"} <= names
        assert any(p.parent.name == "allure-results" for p in written)


@ALL
def test_the_key_only_ever_goes_to_the_target(run: Run) -> None:
    assert run.elsewhere is not None
    assert run.elsewhere.received == [], "the suite followed a redirect to another host"
    assert not run.elsewhere.saw(run.key)
    if run.server is not None and run.behaviour.url == "http":
        assert run.server.saw(run.key), "the preflight carried the key to the target"


@pytest.mark.parametrize("behaviour", ["redirect-preflight", "redirect-elsewhere"])
def test_a_same_origin_redirect_is_followed_and_the_cross_origin_one_is_not(run: Run) -> None:
    assert run.server is not None
    hops = [r for r in run.server.received if r.path.startswith("/hop/")]
    assert any(r.keyed for r in hops), "the same-origin hop was followed, with the key (it stays with the target)"
    assert run.elsewhere is not None
    assert run.elsewhere.received == []


@pytest.mark.parametrize("behaviour", ["hundred-megabyte-body", "gzip-bomb"])
def test_huge_answers_are_cut_at_the_cap(run: Run, record_property: Any) -> None:
    assert run.run_dir is not None
    size = (run.run_dir / "cassette.jsonl").stat().st_size
    record_property("cassette_mib", round(size / 2**20, 1))
    assert size < 2 * 45 * 2**20, "two hostile bodies of at most 32 MiB each, base64 at worst"
    page = (run.run_dir / "report.html").stat().st_size
    record_property("report_kib", page // 1024)
    assert page < 1024 * 1024, "the report shows the head of a body, never all of it"
    notes = [n for r in run.results().values() for n in r["notes"]] + [r["message"] for r in run.results().values()]
    assert any("size cap cut the answer" in n or "cut at the size cap" in n or "the suite reads at most" in n for n in notes)


@pytest.mark.parametrize("behaviour", ["endless-flood"])
def test_an_endless_stream_is_read_to_its_allowance_only(run: Run, record_property: Any) -> None:
    # max_tokens 32 allows 192 events: the 193rd ends the reading (a finding), long before any size cap.
    assert run.run_dir is not None
    size = (run.run_dir / "cassette.jsonl").stat().st_size
    record_property("cassette_mib", round(size / 2**20, 1))
    assert size < 2**20
    length = run.results()["stream.length_within_max_tokens"]
    assert "Received: 193 events (pings aside)" in length["message"]
