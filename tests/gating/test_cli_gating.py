"""compare, merge, baselines, budgets and --against through the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conformance.reference import ReferenceServer


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "GITHUB_STEP_SUMMARY")}
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "conformance", *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=300, check=False)


def test_compare_three_targets_one_of_them_dead(tmp_path: Path, reference: ReferenceServer, reference_key: str) -> None:
    (tmp_path / "targets.toml").write_text(
        '[defaults]\nprofile = "reference"\ntier = "core"\n\n'
        f'[[target]]\nname = "faithful"\nbase_url = "{reference.base_url}"\napi_key = "${{KEY}}"\n\n'
        f'[[target]]\nname = "broken"\nbase_url = "{reference.base_url}/_faults/stop-reason-stop+bearer-unsupported"\napi_key = "${{KEY}}"\n\n'
        '[[target]]\nname = "dead"\nbase_url = "http://127.0.0.1:9"\napi_key = "${KEY}"\n',
        encoding="utf-8",
    )
    result = cli("compare", "targets.toml", cwd=tmp_path, env={"KEY": reference_key, "GITHUB_STEP_SUMMARY": str(tmp_path / "step.md")})
    assert result.returncode == 1, result.stderr
    assert "dead                 unusable: target unreachable" in result.stdout
    out = next((tmp_path / "reports").glob("compare-*"))
    document = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    assert [t["status"] for t in document["targets"]] == ["ok", "ok", "unusable"]
    cells = {r["id"]: r["cells"] for r in document["checks"]}
    assert cells["stop_reason.end_turn_on_natural_stop"]["faithful"]["outcome"] == "pass"
    assert cells["stop_reason.end_turn_on_natural_stop"]["broken"]["outcome"] == "fail"
    assert cells["auth.bearer_accepted"]["broken"] == {"outcome": "fail", "message": cells["auth.bearer_accepted"]["broken"]["message"], "link": "broken/report.html#auth.bearer_accepted"}
    assert "dead" not in cells["auth.bearer_accepted"]
    assert (out / "broken" / "report.html").is_file()
    assert (out / "compare.html").is_file()
    assert "| " in (tmp_path / "step.md").read_text(encoding="utf-8")  # the matrix, once, for the job page
    for file in out.rglob("*"):
        if file.is_file():
            assert reference_key.encode() not in file.read_bytes(), file


def test_merge_results_of_separate_jobs(tmp_path: Path, reference: ReferenceServer, reference_key: str) -> None:
    for name, suffix in (("a", ""), ("b", "/_faults/no-request-id")):
        done = cli("run", "--base-url", reference.base_url + suffix, "--api-key-env", "KEY", "--profile", "reference", "--tier", "smoke", "--target-name", name, "--report-dir", f"job-{name}", cwd=tmp_path, env={"KEY": reference_key})
        assert done.returncode == 0, done.stderr
    files = [str(next((tmp_path / f"job-{n}").glob("2*")) / "results.json") for n in ("a", "b")]
    merged = cli("merge", *files, "--out", "merged", cwd=tmp_path)
    assert merged.returncode == 0, merged.stderr
    document = json.loads((tmp_path / "merged" / "comparison.json").read_text(encoding="utf-8"))
    assert [t["name"] for t in document["targets"]] == ["a", "b"]
    assert document["targets"][1]["report"].endswith("report.html")
    again = cli("merge", *files, "--out", "merged2", "--against", "merged/comparison.json", cwd=tmp_path)
    assert again.returncode == 0
    assert json.loads((tmp_path / "merged2" / "comparison.json").read_text(encoding="utf-8"))["against"]["targets"]["a"]["worse"] == []


def test_baseline_paths_and_exit_codes(tmp_path: Path, reference: ReferenceServer, reference_key: str) -> None:
    faulty = reference.base_url + "/_faults/stop-reason-stop"
    common = ("--api-key-env", "KEY", "--profile", "reference", "-k", "stop_reason")
    env = {"KEY": reference_key}
    written = cli("run", "--base-url", faulty, *common, "--write-baseline", "known.yaml", cwd=tmp_path, env=env)
    assert written.returncode == 1
    assert "stop_reason.end_turn_on_natural_stop" in (tmp_path / "known.yaml").read_text(encoding="utf-8")
    excused = cli("run", "--base-url", faulty, *common, "--baseline", "known.yaml", cwd=tmp_path, env=env)
    assert excused.returncode == 0, excused.stdout
    assert "1 failure(s) excused, 0 stale, 0 expired" in excused.stdout
    stale = cli("run", "--base-url", reference.base_url, *common, "--baseline", "known.yaml", cwd=tmp_path, env=env)
    assert stale.returncode == 0
    assert "stale: stop_reason.end_turn_on_natural_stop passes now" in stale.stdout
    known = tmp_path / "known.yaml"
    known.write_text(known.read_text(encoding="utf-8").replace("TODO: why this deviation is tolerated", "vendor ticket GW-7"), encoding="utf-8")  # strict refuses TODO reasons
    strict = cli("run", "--base-url", reference.base_url, *common, "--baseline", "known.yaml", "--strict-baseline", cwd=tmp_path, env=env)
    assert strict.returncode == 1
    (tmp_path / "expired.yaml").write_text("expected_failures:\n  - check: stop_reason.end_turn_on_natural_stop\n    reason: old ticket\n    expires: 2020-01-01\n", encoding="utf-8")
    expired = cli("run", "--base-url", faulty, *common, "--baseline", "expired.yaml", cwd=tmp_path, env=env)
    assert expired.returncode == 1
    assert "baseline entry stop_reason.end_turn_on_natural_stop expired on 2020-01-01" in expired.stdout
    (tmp_path / "broken.yaml").write_text("expected_failures:\n  - check: x.y\n", encoding="utf-8")
    broken = cli("run", *common, "--baseline", "broken.yaml", cwd=tmp_path)
    assert broken.returncode == 2
    assert "needs a 'reason'" in broken.stderr


def test_budgets_refuse_to_start(tmp_path: Path) -> None:
    refused = cli("run", "--max-requests", "5", cwd=tmp_path)
    assert refused.returncode == 2
    assert "more than --max-requests 5" in refused.stderr
    assert not list((tmp_path / "reports").glob("*/cassette.jsonl"))
    tokens = cli("run", "--max-tokens-total", "100", cwd=tmp_path)
    assert tokens.returncode == 2
    assert "more than --max-tokens-total 100" in tokens.stderr
    smoke = cli("run", "--tier", "smoke", "--max-requests", "10", cwd=tmp_path)
    assert smoke.returncode == 0, smoke.stderr
    assert "planned: " in smoke.stderr


def test_against_an_earlier_run(tmp_path: Path, reference: ReferenceServer, reference_key: str) -> None:
    env = {"KEY": reference_key}
    first = cli("run", "--base-url", reference.base_url + "/_faults/stop-reason-stop", "--api-key-env", "KEY", "--profile", "reference", "--tier", "smoke", cwd=tmp_path, env=env)
    assert first.returncode == 1
    previous = os.path.realpath(tmp_path / "reports" / "latest" / "results.json")
    second = cli("run", "--base-url", reference.base_url, "--api-key-env", "KEY", "--profile", "reference", "--tier", "smoke", "--against", previous, cwd=tmp_path, env=env)
    assert second.returncode == 0
    assert "better: stop_reason.end_turn_on_natural_stop fail → pass" in second.stdout
