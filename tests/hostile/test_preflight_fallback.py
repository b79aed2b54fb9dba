"""The preflight fallback through the CLI: a target that accepts one auth scheme or one API version is tested, not abandoned.

Raw servers (servers.py) that read the key from one header only, or serve one anthropic-version
only, each get one ``python -m conformance run --base-url …`` (run together, four at a time). The run
must end with a report and exit 1 (the refused way is a MUST failure with its own evidence), never
exit 3; only a target that refuses every way stops with one line naming what was tried.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from conformance.report.results import SCHEMA_PATH

from .servers import Answer, Behaviour, HostileServer, Phase, accepting, refusing

SELECTED = ("auth.x_api_key_accepted", "auth.bearer_accepted", "headers.known_versions_accepted", "auth.missing_key_rejected", "shape.message_schema")


@dataclass(frozen=True)
class Target:
    """One server and how the CLI is asked to test it."""

    answer: Answer
    api_version: str = "2023-06-01"


TARGETS = {
    "bearer-only": Target(accepting(scheme="authorization")),
    "x-api-key-only": Target(accepting(scheme="x-api-key"), api_version="2026-10-21"),
    "2026-only": Target(accepting(version="2026-10-21")),
    "2023-only-asked-2026": Target(accepting(version="2023-06-01"), api_version="2026-10-21"),
    "refuses-everything": Target(refusing),
}


@dataclass
class Run:
    key: str
    exit_code: int
    stdout: str
    stderr: str
    cwd: Path
    received: list[Any]

    def document(self) -> dict[str, Any]:
        latest = self.cwd / "reports" / "latest"
        assert latest.exists(), self.stderr
        return json.loads((Path(os.path.realpath(latest)) / "results.json").read_text(encoding="utf-8"))

    def outcomes(self) -> dict[str, str]:
        return {r["id"]: r["outcome"] for r in self.document()["results"]}


def _run(name: str, root: Path) -> Run:
    target = TARGETS[name]
    key = "sk-ant-api03-FALLBACK-" + secrets.token_hex(16)
    cwd = root / name
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "ANTHROPIC_API_KEY", "GITHUB_STEP_SUMMARY")}
    env["HOSTILE_KEY"] = key
    with HostileServer(Behaviour(name, Phase.LATER, name, target.answer, 0)) as server:
        args = [sys.executable, "-m", "conformance", "run", "--base-url", server.base_url, "--api-key-env", "HOSTILE_KEY",
                "--api-version", target.api_version, "--request-timeout", "20", "-k", " or ".join(SELECTED)]
        done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)
        received = list(server.received)
    return Run(key, done.returncode, done.stdout, done.stderr, cwd, received)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Run]]:
    root = tmp_path_factory.mktemp("fallback")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(_run, name, root) for name in TARGETS}
        yield {name: future.result() for name, future in futures.items()}


def _preflights(run: Run) -> list[tuple[str, str | None]]:
    """(scheme, version) of every plain request the server received before the run proper."""
    out = []
    for request in run.received:
        if request.path == "/v1/messages" and request.keyed:
            out.append(("bearer" if request.header("authorization") else "x-api-key", request.header("anthropic-version")))
    return out


@pytest.mark.parametrize(("name", "refused", "used"), [
    ("bearer-only", "auth.x_api_key_accepted", {"auth": "bearer", "api_version": "2023-06-01"}),
    ("x-api-key-only", "auth.bearer_accepted", {"auth": "x-api-key", "api_version": "2026-10-21"}),
    ("2026-only", "headers.known_versions_accepted:2023-06-01", {"auth": "x-api-key", "api_version": "2026-10-21"}),
    ("2023-only-asked-2026", "headers.known_versions_accepted:2026-10-21", {"auth": "bearer", "api_version": "2023-06-01"}),
])
def test_a_target_that_refuses_one_way_is_tested_the_other_way(runs: dict[str, Run], name: str, refused: str, used: dict[str, str]) -> None:
    run = runs[name]
    assert run.exit_code == 1, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    document = run.document()
    Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))).validate(document)
    preflight = document["run"]["preflight"]
    assert preflight["fell_back"] is True
    assert preflight["used"] == used
    assert document["run"]["api_version"] == used["api_version"]
    assert len(preflight["attempts"]) == 2  # the refusal's status points at what to try first: one extra request
    assert preflight["attempts"][0]["status"] in (400, 401)
    outcomes = run.outcomes()
    assert outcomes[refused] == "fail"
    assert {cid: o for cid, o in outcomes.items() if o != "pass"} == {refused: "fail"}
    record = next(r for r in document["results"] if r["id"] == refused)
    assert "] Received: status 4" in record["message"], record["message"]  # the refusal, in the case's own exchange
    assert "preflight refused: " in run.stdout  # the terminal summary says the run fell back, and why
    assert f"the run used {'Authorization: Bearer' if used['auth'] == 'bearer' else 'x-api-key'} with {used['api_version']} instead" in run.stdout
    summary_md = (Path(os.path.realpath(run.cwd / "reports" / "latest")) / "summary.md").read_text(encoding="utf-8")
    assert "Preflight refused: " in summary_md


def test_the_refused_preflight_is_in_the_cassette_under_its_own_id(runs: dict[str, Run]) -> None:
    tape = Path(os.path.realpath(runs["bearer-only"].cwd / "reports" / "latest")) / "cassette.jsonl"
    ids = [json.loads(line)["id"] for line in tape.read_text(encoding="utf-8").splitlines()]
    assert "preflight:x-api-key:2023-06-01" in ids
    assert ids.count("plain") == 1


def test_a_target_that_refuses_every_way_stops_with_one_line_naming_them(runs: dict[str, Run]) -> None:
    run = runs["refuses-everything"]
    assert run.exit_code == 3, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.startswith("anthropic-conformance: ")]
    assert len(lines) == 1, run.stderr
    line = lines[0]
    assert "the target refused the API key sent as x-api-key: 401 authentication_error: invalid x-api-key" in line
    assert "also tried Authorization: Bearer with 2023-06-01 → 401" in line
    assert "x-api-key with 2026-10-21 → 401" in line
    assert "Authorization: Bearer with 2026-10-21 → 401" in line
    assert _preflights(run) == [("x-api-key", "2023-06-01"), ("bearer", "2023-06-01"), ("x-api-key", "2026-10-21"), ("bearer", "2026-10-21")]
    assert run.stdout.strip() == ""


def test_no_way_tried_leaks_the_key_into_an_artifact(runs: dict[str, Run]) -> None:
    for run in runs.values():
        secret = run.key.removeprefix("sk-ant-api03-FALLBACK-").encode()
        leaks = [p for p in run.cwd.rglob("*") if p.is_file() and secret in p.read_bytes()]
        assert leaks == []
        assert secret.decode() not in run.stdout + run.stderr


def test_a_run_that_fell_back_replays_to_the_same_verdicts(runs: dict[str, Run]) -> None:
    from conformance.replay import replay

    run = runs["2026-only"]
    again = replay(Path(os.path.realpath(run.cwd / "reports" / "latest")))
    assert again.contract.api_version == "2026-10-21"
    replayed = {f.case_id: f.outcome.value for f in again.findings}
    assert {cid: outcome for cid, outcome in run.outcomes().items()} == {cid: replayed[cid] for cid in run.outcomes()}
