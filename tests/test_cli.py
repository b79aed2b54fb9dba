"""The command line as a user types it, in a subprocess: outputs, files and exit codes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conformance.contract.loader import default_spec_dir
from conformance.reference import ReferenceServer


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "GITHUB_STEP_SUMMARY")}
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "conformance", *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=timeout, check=False)


def test_help_documents_the_exit_codes(tmp_path: Path) -> None:
    result = cli("run", "--help", cwd=tmp_path)
    assert result.returncode == 0
    for line in ("0  no MUST rule failed", "1  at least one MUST rule failed", "2  usage or spec error", "3  target unusable (preflight failed)"):
        assert line in result.stdout


def test_run_against_the_embedded_server(tmp_path: Path) -> None:
    result = cli("run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "embedded reference server" in result.stdout
    assert " 0 fail · 0 warn · 0 error · 0 skip · " in result.stdout
    assert re.search(r"requests (\d+)/\1 ·", result.stderr)  # plain progress lines (not a TTY), ending complete
    assert "\r" not in result.stderr
    run_dir = Path(os.path.realpath(tmp_path / "reports" / "latest"))
    for name in ("results.json", "cassette.jsonl", "junit.xml"):
        assert (run_dir / name).is_file(), name
    assert any((run_dir / "allure-results").iterdir())
    # Version-dependent cases carry their version everywhere: pytest ids, JUnit, Allure labels, results.json.
    assert 'test_check[params.removed_rejected:temperature.present@2026-10-21]' in (run_dir / "junit.xml").read_text(encoding="utf-8")
    labels = [json.loads(p.read_text(encoding="utf-8")).get("labels", []) for p in (run_dir / "allure-results").glob("*-result.json")]
    assert {"name": "api_version", "value": "2026-10-21"} in [label for each in labels for label in each]
    records = {r["id"]: r for r in json.loads((run_dir / "results.json").read_text(encoding="utf-8"))["results"]}
    assert records["content.user_citations_rejected:@2026-10-21"]["api_version"] == "2026-10-21"
    assert records["shape.message_schema"]["api_version"] == "2023-06-01"


def test_run_against_a_faulty_target_fails_with_grouped_evidence(tmp_path: Path, reference: ReferenceServer, reference_key: str) -> None:
    url = reference.base_url + "/_faults/stop-reason-stop+no-request-id"
    result = cli("run", "--base-url", url, "--api-key-env", "TARGET_KEY", cwd=tmp_path, env={"TARGET_KEY": reference_key})
    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert "MUST failures (1)\n  stop_reason\n    ✗ stop_reason.end_turn_on_natural_stop — An answer that ends on its own has stop_reason end_turn." in out
    assert '        [plain] Received: stop_reason "stop"' in out
    assert "Warnings (2)" in out
    assert reference_key not in out + result.stderr


def test_warnings_alone_exit_zero(tmp_path: Path, reference: ReferenceServer, reference_key: str) -> None:
    result = cli("run", "--base-url", reference.base_url + "/_faults/no-request-id", "--api-key-env", "K", cwd=tmp_path, env={"K": reference_key})
    assert result.returncode == 0, result.stdout
    assert "1 warn" in result.stdout


def test_unreachable_target_exits_3_with_one_line(tmp_path: Path) -> None:
    result = cli("run", "--base-url", "http://127.0.0.1:9", "--api-key-env", "K", cwd=tmp_path, env={"K": "sk-whatever"})
    assert result.returncode == 3
    assert result.stderr.splitlines()[-1] == "anthropic-conformance: target unreachable: POST http://127.0.0.1:9/v1/messages: connection failed: connection refused"
    assert "Traceback" not in result.stderr


def test_missing_key_variable_exits_2(tmp_path: Path) -> None:
    result = cli("run", "--base-url", "http://127.0.0.1:9", "--api-key-env", "NOT_SET_ANYWHERE", cwd=tmp_path)
    assert result.returncode == 2
    assert "environment variable NOT_SET_ANYWHERE is not set" in result.stderr


def test_broken_spec_exits_2(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(default_spec_dir(), specs)
    (specs / "messages" / "2023-06-01" / "params.yaml").write_text("params:\n  temperature: {type: number}\n", encoding="utf-8")
    result = cli("run", "--spec-dir", str(specs), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().endswith("params.yaml#/params/temperature: 'source' is a required property")


def test_a_selection_that_matches_nothing_exits_2(tmp_path: Path) -> None:
    result = cli("run", "-k", "no_such_check_anywhere", cwd=tmp_path)
    assert result.returncode == 2
    assert "no check matches the selection" in result.stderr


def test_tier_and_marker_selection(tmp_path: Path) -> None:
    result = cli("run", "--tier", "smoke", "-m", "stream", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "reports" / "latest" / "results.json").read_text(encoding="utf-8"))
    assert {r["area"] for r in document["results"]} == {"stream"}
    assert {r["tier"] for r in document["results"]} == {"smoke"}


def test_list_checks(tmp_path: Path) -> None:
    result = cli("list-checks", "--area", "auth", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("8 checks, 8 cases · API 2023-06-01 (and 2026-10-21 where the rules differ) · profile anthropic")
    assert "auth.bearer_accepted  [MUST, core]\n  A valid key sent only as Authorization: Bearer is accepted" in result.stdout
    listing = json.loads(cli("list-checks", "--format", "json", cwd=tmp_path).stdout)
    ids = {c["id"] for c in listing["checks"]}
    assert "stream.event_order" in ids
    assert all(c["source"].startswith("https://") for c in listing["checks"])


def test_list_checks_rejects_an_unknown_profile(tmp_path: Path) -> None:
    result = cli("list-checks", "--profile", "nope", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown profile 'nope'" in result.stderr


def test_serve_is_a_faithful_mock_and_takes_faults(tmp_path: Path) -> None:
    listing = cli("serve", "--list-faults", cwd=tmp_path)
    assert listing.returncode == 0
    assert "drop-message-stop" in listing.stdout
    environ = {**os.environ, "SERVE_KEY": "sk-ant-serve-test-0001"}
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance", "serve", "--port", "0", "--fault", "stop-reason-stop", "--api-key-env", "SERVE_KEY"],
        cwd=tmp_path, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("conformance reference server listening on http://127.0.0.1:")
        url = line.split()[-1]
        body = {"model": "claude-haiku-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "Reply with exactly this text and nothing else: ok"}]}
        answer = httpx.post(url + "/v1/messages", json=body, headers={"x-api-key": "sk-ant-serve-test-0001", "anthropic-version": "2023-06-01"}, timeout=10)
        assert answer.json()["stop_reason"] == "stop"
    finally:
        process.terminate()
        deadline = time.monotonic() + 10
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if process.poll() is None:
            process.kill()
    assert process.wait() == 0
    for pipe in (process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()


def test_unknown_fault_is_a_usage_error(tmp_path: Path) -> None:
    result = cli("serve", "--fault", "no-such-fault", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown fault(s) no-such-fault" in result.stderr


@pytest.mark.parametrize("args", [("--help",), ("run", "--help"), ("serve", "--help"), ("list-checks", "--help")])
def test_every_command_has_help(tmp_path: Path, args: tuple[str, ...]) -> None:
    assert cli(*args, cwd=tmp_path).returncode == 0


def test_run_ignores_the_pytest_settings_of_the_project_it_is_started_in(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\nfilterwarnings = ["error"]\naddopts = "--strict-markers -x --maxfail=1"\nxfail_strict = true\n',
        encoding="utf-8",
    )
    result = cli("run", "-k", "auth", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
