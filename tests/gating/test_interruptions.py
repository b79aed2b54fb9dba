"""The exit code holds under every interruption: a closed pipe, SIGINT, SIGTERM (real child processes, real signals).

A CI job reads the exit code and junit.xml. A reader that left (``| head``) must not turn a failed
gate into 0, and a run someone stopped must never look green: it exits 130 or 143, writes what it
judged marked ``"complete": false`` and leaves reports/latest where it was.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from jsonschema import Draft202012Validator

from conformance.reference import ReferenceServer
from conformance.report.results import SCHEMA_PATH

SUITE = [sys.executable, "-m", "conformance"]


def _environ(**extra: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "GITHUB_STEP_SUMMARY")}
    return {**environ, **extra}


def _junit(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert suite is not None
    return suite


def _run_dir(report_dir: Path, *, besides: Path | None = None) -> Path:
    """The one run folder this test's run wrote (``besides`` an earlier one)."""
    (run_dir,) = [p for p in report_dir.iterdir() if p.is_dir() and not p.is_symlink() and p != besides]
    return run_dir


# --------------------------------------------------------------------------- closed pipes


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param('"$@" 2>&1 | head -3 >/dev/null; echo "suite=${PIPESTATUS[0]}"', id="2>&1 | head -3"),
        pytest.param('"$@" 2>/dev/null | head -1 >/dev/null; echo "suite=${PIPESTATUS[0]}"', id="stdout | head -1"),
        pytest.param('"$@" >&- 2>&-; echo "suite=$?"', id="stdout and stderr closed"),
    ],
)
def test_a_reader_that_left_never_changes_the_exit_code(tmp_path: Path, reference: ReferenceServer, reference_key: str, shape: str) -> None:
    faulty = reference.base_url + "/_faults/stop-reason-stop"
    command = [*SUITE, "run", "--base-url", faulty, "--api-key-env", "K", "--profile", "reference", "--tier", "core"]
    done = subprocess.run(["bash", "-c", shape, "bash", *command], cwd=tmp_path, env=_environ(K=reference_key), capture_output=True, text=True, timeout=300, check=False)
    assert done.stdout.strip().endswith("suite=1"), done.stdout + done.stderr  # a MUST failure, whoever reads
    run_dir = _run_dir(tmp_path / "reports")
    for name in ("results.json", "report.html", "summary.md", "junit.xml", "cassette.jsonl"):
        assert (run_dir / name).is_file(), name
    junit = (run_dir / "junit.xml").read_text(encoding="utf-8")
    assert "INTERNALERROR" not in junit
    assert "internal error" not in junit
    assert int(_junit(run_dir / "junit.xml").get("failures", "0")) >= 1
    assert json.loads((run_dir / "results.json").read_text(encoding="utf-8"))["gate"]["failed"] is True


# ------------------------------------------------------------------------------ signals


def _start(command: list[str], cwd: Path, environ: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(command, cwd=cwd, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(process: subprocess.Popen[str], needle: str, *, timeout: float = 120) -> list[str]:
    """Read the child's stderr until a line holds ``needle`` (the run is then sending requests)."""
    assert process.stderr is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return seen
    process.kill()
    raise AssertionError(f"never saw {needle!r}:\n{''.join(seen)}")


def _earlier_run(report_dir: Path) -> Path:
    """A finished earlier run that reports/latest leads to: an interrupted run must not move it."""
    earlier = report_dir / "20000101-000000-0000"
    earlier.mkdir(parents=True)
    (report_dir / "latest").symlink_to(earlier.name, target_is_directory=True)
    return earlier


def _assert_partial(run_dir: Path, name: str, code: int) -> None:
    document = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))).validate(document)
    assert document["complete"] is False
    assert document["interrupted"]["signal"] == name
    assert document["interrupted"]["exit_code"] == code
    unjudged = [r for r in document["results"] if f"interrupted by {name}" in r["message"]]
    assert unjudged
    assert all(r["outcome"] == "error" for r in unjudged)
    assert document["interrupted"]["not_judged"] == len(unjudged)
    assert document["gate"]["failed"] is True
    assert "INTERRUPTED" in (run_dir / "report.html").read_text(encoding="utf-8")
    assert f"interrupted by {name}" in (run_dir / "summary.md").read_text(encoding="utf-8")
    suite = _junit(run_dir / "junit.xml")
    assert int(suite.get("errors", "0")) >= 1
    stopped = [c for c in suite.iter("testcase") if c.get("name") == "run-interrupted"]
    assert len(stopped) == 1
    assert f"interrupted by {name}" in (stopped[0].find("error").get("message") or "")


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_signal_gives_its_exit_code_partial_results_and_a_red_junit(tmp_path: Path, reference: ReferenceServer, reference_key: str, signum: int, code: int) -> None:
    earlier = _earlier_run(tmp_path / "reports")
    slow = reference.base_url + "/_variant/slow"
    process = _start([*SUITE, "run", "--base-url", slow, "--api-key-env", "K", "--profile", "reference"], tmp_path, _environ(K=reference_key))
    _wait_for(process, "requests 1/")
    sent = time.monotonic()
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    assert process.returncode == code, err
    assert time.monotonic() - sent < 30  # it stops sending at once; judging and writing what came back is quick
    name = signal.Signals(signum).name
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"anthropic-conformance: the run was interrupted by {name}: "), err
    assert "partial results" in last
    assert "Traceback" not in err
    assert "Traceback" not in out
    _assert_partial(_run_dir(tmp_path / "reports", besides=earlier), name, code)
    assert os.readlink(tmp_path / "reports" / "latest") == earlier.name


def test_a_second_signal_stops_at_once_and_the_junit_is_still_red(tmp_path: Path, reference: ReferenceServer, reference_key: str) -> None:
    slow = reference.base_url + "/_variant/slow"
    process = _start([*SUITE, "run", "--base-url", slow, "--api-key-env", "K", "--profile", "reference"], tmp_path, _environ(K=reference_key))
    _wait_for(process, "requests 1/")
    process.send_signal(signal.SIGTERM)
    time.sleep(1.5)  # two pending signals are handled lowest number first: let the first one land (a loaded machine is slow to)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err  # the first signal names the exit code
    assert "Traceback" not in err
    junit = next((tmp_path / "reports").glob("*/junit.xml"))
    suite = _junit(junit)
    assert int(suite.get("errors", "0")) >= 1
    assert not (tmp_path / "reports" / "latest").exists()


def test_plain_pytest_exits_with_the_signal_code_too(tmp_path: Path, reference: ReferenceServer, reference_key: str) -> None:
    slow = reference.base_url + "/_variant/slow"
    command = [sys.executable, "-m", "pytest", "--pyargs", "conformance", "-p", "no:cacheprovider", "--base-url", slow, "--api-key-env", "K", "--profile", "reference", "--junitxml=junit.xml"]
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    process = _start(command, tmp_path, _environ(K=reference_key))
    assert process.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (tmp_path / "reports").exists():  # the run folder appears when sending starts
        time.sleep(0.2)
    time.sleep(2)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out[-3000:] + err
    document = json.loads(next((tmp_path / "reports").glob("*/results.json")).read_text(encoding="utf-8"))
    assert document["complete"] is False
    assert int(_junit(tmp_path / "junit.xml").get("errors", "0")) >= 1


def test_compare_stops_every_target_and_exits_130(tmp_path: Path, reference: ReferenceServer, reference_key: str) -> None:
    slow = reference.base_url + "/_variant/slow"
    (tmp_path / "targets.toml").write_text(
        "".join(f'[[target]]\nname = "{name}"\nbase_url = "{slow}"\napi_key = "${{K}}"\nprofile = "reference"\n\n' for name in ("one", "two")), encoding="utf-8"
    )
    process = _start([*SUITE, "compare", "targets.toml"], tmp_path, _environ(K=reference_key))
    _wait_for(process, "requests 1/")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=90)
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("anthropic-conformance: the run was interrupted by SIGINT; partial results")
    assert "Traceback" not in err
    document = json.loads(next((tmp_path / "reports").glob("compare-*/comparison.json")).read_text(encoding="utf-8"))
    assert [t["complete"] for t in document["targets"]] == [False, False]
    assert "[interrupted: partial]" in out
