"""Claude Code 2.1.328 through the validating proxy against the embedded reference server, offline.

Claude Code is installed on first use into the user's cache (.ci/run installs it beforehand). The
test skips only when the npm registry cannot be reached, and says so; any other reason Claude Code
is missing fails it. The faithful server must let every task complete with exit 0 and its answer,
with every exchange judged and nothing broken; behind a stream fault, the proxy's report shows the
fault on the exchanges Claude Code sent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.clientrun import install, runner
from conformance.clientrun.command import run_tasks
from conformance.proxy.session import Settings
from conformance.reference import ReferenceServer
from conformance.reference.router import fault_base_path
from conformance.versions import load_contracts


@pytest.fixture(scope="module")
def claude() -> Path:
    try:
        return install.ensure(say=print)
    except install.Unavailable as exc:
        if exc.offline:
            pytest.skip(f"Claude Code {install.VERSION} cannot be installed: the npm registry is unreachable ({str(exc)[:300]})")
        pytest.fail(f"Claude Code {install.VERSION} could not be installed, though the npm registry answered: {exc}")


def _run(claude: Path, reference: ReferenceServer, key: str, tmp_path: Path, *, fault: str | None, tasks: list[str]):
    upstream = reference.base_url + (fault_base_path(fault) if fault else "")
    settings = Settings(upstream=upstream, profile="reference", report_dir=str(tmp_path / "reports"), default_model="claude-sonnet-4-5")
    return run_tasks(claude, runner.select(tasks), upstream=upstream, api_key=key, contracts=load_contracts("2023-06-01", "reference"), settings=settings, timeout=120)


def test_claude_code_completes_every_task_and_every_exchange_is_judged(claude: Path, reference: ReferenceServer, reference_key: str, tmp_path: Path) -> None:
    done = _run(claude, reference, reference_key, tmp_path, fault=None, tasks=[])
    for task in done.runs:
        assert task.exit_code == 0, (task.task.id, task.stdout, task.stderr)
        assert task.task.expect in task.stdout, (task.task.id, task.stdout)
        assert task.exchanges, task.task.id
    by_task = {t.task.id: t for t in done.runs}
    assert len(by_task["read-file"].exchanges) == 2  # the call, then the answer from its result: no loop
    assert len(by_task["plain"].exchanges) == len(by_task["long-stream"].exchanges) == 1
    assert done.published is not None
    document = done.published.document
    proxy = document["proxy"]
    assert proxy["exchanges"] == proxy["judged"] == sum(len(t.exchanges) for t in done.runs)
    assert document["counts"]["fail"] == document["counts"]["warn"] == document["counts"]["error"] == 0, [
        (r["id"], r["message"]) for r in document["results"] if r["outcome"] in ("fail", "warn", "error")
    ]
    judged_exchanges = {item.split(":", 1)[0] for r in document["results"] if r["area"] != "clients" for item in r["judged"]}
    assert judged_exchanges == {x for t in done.runs for x in t.exchanges}  # every exchange Claude Code sent was judged
    rows = {r["id"]: r for r in document["results"] if r["area"] == "clients"}
    assert sorted(rows) == ["clients.claude_code_completes:long-stream", "clients.claude_code_completes:plain", "clients.claude_code_completes:read-file"]
    assert all(r["outcome"] == "pass" for r in rows.values())
    assert [t["completed"] for t in document["clients"]["tasks"]] == [True, True, True]
    tape = (done.published.run_dir / "cassette.jsonl").read_text(encoding="utf-8")
    assert all('"url": "' in line and "/v1/messages?beta=true" in line for line in tape.splitlines())  # Claude Code's own traffic
    for path in done.published.run_dir.rglob("*"):
        assert not path.is_file() or reference_key.encode() not in path.read_bytes(), path


def test_a_stream_fault_shows_in_the_proxy_report(claude: Path, reference: ReferenceServer, reference_key: str, tmp_path: Path) -> None:
    done = _run(claude, reference, reference_key, tmp_path, fault="drop-message-stop", tasks=["plain"])
    assert done.published is not None
    document = done.published.document
    (task,) = done.runs
    by_id = {r["id"]: r for r in document["results"]}
    broken = by_id["stream.ends_with_message_stop"]
    assert broken["outcome"] == "fail"
    assert set(broken["exchanges"]) <= set(task.exchanges)
    assert task.exchanges[0] in broken["message"]
    assert document["clients"]["tasks"][0]["broken"] == ["stream.ends_with_message_stop"]
    assert done.failed  # a MUST rule broken on Claude Code's traffic fails the run, whether or not Claude Code noticed
    report = (done.published.run_dir / "report.html").read_text(encoding="utf-8")
    assert "stream.ends_with_message_stop" in report
    results = json.loads((done.published.run_dir / "results.json").read_text(encoding="utf-8"))
    assert results["gate"]["failed"] is True
