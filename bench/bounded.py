"""Bounded time and an honest budget, measured with the DEFAULT options: ``python bench/bounded.py``.

Part ``time`` (about 15 minutes on two cores): every misbehaving server of tests/hostile/servers.py
(a stalling stream, an endless stream of valid deltas at full speed and at a model's pace, response
heads dribbled one byte every 2 s, and the rest of the battery) gets one full run of
``anthropic-conformance run --base-url …`` with nothing else on the command line: full tier,
concurrency 4, 60 s idle and 180 s whole-exchange timeouts. For each: the worst case the plan line
printed, the wall time of the whole command, the exit code, the verdicts and what tripped the breaker.
Every run must end within its printed worst case and under 3 minutes.

Part ``budget``: a full run against the embedded reference server and against LiteLLM in front of
the toy OpenAI backend (tests/litellm_target; its venv is built on first use): the planned bound,
the part of it only a target that accepts what the contract refuses bills, and the tokens spent.

Writes bench/results/bounded.json and bench/results/bounded.md (the tables).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "litellm_target"))

from tests.hostile import servers  # noqa: E402
from tests.hostile.servers import BEHAVIOURS, HostileServer, closed_port  # noqa: E402

LIMIT_S = 180.0
KILL_AFTER_S = 900.0
WORST = re.compile(r"worst case (\d+ (?:h|min|s)(?: \d+ (?:min|s))?)")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def seconds(text: str) -> float:
    """``3 min 20 s`` → 200."""
    total = 0.0
    for value, unit in re.findall(r"(\d+) (h|min|s)", text):
        total += int(value) * {"h": 3600, "min": 60, "s": 1}[unit]
    return total


def _url(name: str, server: HostileServer | None) -> str:
    behaviour = BEHAVIOURS[name]
    if behaviour.url == "closed":
        return f"http://127.0.0.1:{closed_port()}"
    assert server is not None
    return server.base_url.replace("http://", "https://") if behaviour.url == "https" else server.base_url


def run_one(name: str, root: Path) -> dict[str, Any]:
    """One default full run against one behaviour: what it printed, how long it took, what it concluded."""
    behaviour = BEHAVIOURS[name]
    cwd = root / name
    cwd.mkdir(parents=True)
    key = "sk-ant-api03-BOUNDED-" + secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "ANTHROPIC_API_KEY", "GITHUB_STEP_SUMMARY")}
    env["BOUNDED_KEY"] = key
    with contextlib.ExitStack() as stack:
        elsewhere = stack.enter_context(HostileServer(BEHAVIOURS["well-behaved"]))
        server = None if behaviour.url == "closed" else stack.enter_context(HostileServer(behaviour, elsewhere=elsewhere))
        command = [sys.executable, "-m", "conformance", "run", "--base-url", _url(name, server), "--api-key-env", "BOUNDED_KEY"]
        started = time.monotonic()
        try:
            done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=KILL_AFTER_S, check=False)
            code, err = done.returncode, done.stderr
        except subprocess.TimeoutExpired as exc:
            code, err = -9, str(exc.stderr or "")
        wall = time.monotonic() - started
        requests = len(server.received) if server is not None else 0
    worst = WORST.search(err)
    row: dict[str, Any] = {
        "server": name,
        "does": behaviour.description,
        "exit": code,
        "wall_s": round(wall, 1),
        "worst_case": worst.group(1) if worst else None,
        "worst_case_s": seconds(worst.group(1)) if worst else None,
        "requests_received": requests,
    }
    results = sorted(cwd.glob("reports/*/results.json"))
    if results:
        document = json.loads(results[-1].read_text(encoding="utf-8"))
        row["verdicts"] = document["counts"]
        row["breaker"] = document["spend"].get("breaker", [])
        row["engine_s"] = document["run"]["wall_time_s"]
    else:
        row["verdicts"] = None
        row["said"] = err.strip().splitlines()[-1] if err.strip() else ""
    row["within_worst_case"] = row["worst_case_s"] is not None and wall <= row["worst_case_s"]
    row["under_3_min"] = wall < LIMIT_S
    return row


def part_time(names: list[str], workers: int) -> list[dict[str, Any]]:
    servers.DRIBBLE_SECONDS = 2.0  # the case: one byte every 2 s
    servers.PACE_SECONDS = 0.02  # a model's pace: 50 text deltas a second
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bounded-") as tmp, ThreadPoolExecutor(max_workers=workers) as pool:
        for row in pool.map(lambda n: run_one(n, Path(tmp)), names):
            log(f"  {row['server']:26} exit {row['exit']:>2}  {row['wall_s']:6.1f} s  (worst case {row['worst_case']})  {row.get('verdicts') or row.get('said')}")
            rows.append(row)
    return rows


# ------------------------------------------------------------------------------------- budget


def _budget_run(command: list[str], env: dict[str, str], cwd: Path) -> dict[str, Any]:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False)
    document = json.loads(next(cwd.glob("reports/*/results.json")).read_text(encoding="utf-8"))
    spend = document["spend"]
    plan = re.search(r"at most ([\d,]+) tokens \((?:([\d,]+) if the target refuses what the contract refuses, )?likely about ([\d,]+)\)", done.stderr)
    assert plan is not None, done.stderr[-2000:]
    spent = spend["input_tokens"] + spend["output_tokens"]
    bound = int(plan.group(1).replace(",", ""))
    strict = int((plan.group(2) or plan.group(1)).replace(",", ""))
    return {
        "requests": spend["requests"],
        "bound": bound,
        "bound_if_refused": strict,
        "likely": int(plan.group(3).replace(",", "")),
        "spent": spent,
        "bound_over_spent": round(bound / spent, 1) if spent else None,
        "refused_bound_over_spent": round(strict / spent, 1) if spent else None,
        "by_tier": spend.get("by_tier"),
        "exit": done.returncode,
    }


TIERS = ("smoke", "core", "full")


def part_budget() -> dict[str, Any]:
    out: dict[str, Any] = {}
    base_env = {k: v for k, v in os.environ.items() if k not in ("CI", "ANTHROPIC_API_KEY", "GITHUB_STEP_SUMMARY")}
    with tempfile.TemporaryDirectory(prefix="budget-") as tmp:
        for tier in TIERS:
            cwd = Path(tmp) / f"reference-{tier}"
            cwd.mkdir()
            out[f"reference, {tier}"] = _budget_run([sys.executable, "-m", "conformance", "run", "--tier", tier], base_env, cwd)
            log(f"  reference {tier}: {out[f'reference, {tier}']}")
        try:
            from litellm_harness import MODEL_ALIAS, Unavailable, deployment, ensure_venv
        except ImportError as exc:  # pragma: no cover
            out["litellm"] = {"skipped": str(exc)}
            return out
        try:
            exe = ensure_venv()
            work = Path(tmp) / "litellm-work"
            work.mkdir()
            with deployment(exe, work) as d:
                for tier in TIERS:
                    cwd = Path(tmp) / f"litellm-{tier}"
                    cwd.mkdir()
                    env = {**base_env, "LITELLM_KEY": d.master_key}
                    command = [sys.executable, "-m", "conformance", "run", "--base-url", d.base_url, "--api-key-env", "LITELLM_KEY", "--model", MODEL_ALIAS, "--profile", "litellm", "--tier", tier]
                    out[f"LiteLLM (litellm profile), {tier}"] = _budget_run(command, env, cwd)
                    log(f"  litellm {tier}: {out[f'LiteLLM (litellm profile), {tier}']}")
        except Unavailable as exc:
            out["litellm"] = {"skipped": str(exc)}
    return out


# ------------------------------------------------------------------------------------ tables


def _verdicts(row: dict[str, Any]) -> str:
    counts = row.get("verdicts")
    if not counts:
        return f"exit 3 before any verdict: {row.get('said', '')[:150]}"
    return " · ".join(f"{counts[k]} {k}" for k in ("pass", "fail", "warn", "error", "skip") if counts.get(k))


def markdown(rows: list[dict[str, Any]], budget: dict[str, Any]) -> str:
    lines: list[str] = []
    if rows:
        lines += [
            "| server | what it does | worst case printed | wall time | exit | verdicts | breaker |",
            "|---|---|---:|---:|---:|---|---|",
        ]
        for row in rows:
            trips = "; ".join(t.split(" (")[0] for t in row.get("breaker") or [])[:160] or "—"
            lines.append(f"| {row['server']} | {row['does']} | {row['worst_case']} | {row['wall_s']:.1f} s | {row['exit']} | {_verdicts(row)} | {trips} |")
        slowest = max(rows, key=lambda r: r["wall_s"])
        ok = all(r["within_worst_case"] and r["under_3_min"] for r in rows)
        lines += ["", f"Slowest: {slowest['server']}, {slowest['wall_s']:.1f} s. Every run within its printed worst case and under 3 minutes: {'yes' if ok else 'NO'}."]
    if budget:
        lines += ["", "| target, tier | requests | planned bound | bound if the target refuses what the contract refuses | likely | spent | bound ÷ spent |", "|---|---:|---:|---:|---:|---:|---:|"]
        for name, b in budget.items():
            if "skipped" in b:
                lines.append(f"| {name} | skipped: {b['skipped']} | | | | | |")
                continue
            lines.append(
                f"| {name} | {b['requests']} | {b['bound']:,} | {b['bound_if_refused']:,} | {b['likely']:,} | {b['spent']:,} | {b['bound_over_spent']} ({b['refused_bound_over_spent']} if refused) |"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/bounded.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("time", "budget", "all"), default="all")
    parser.add_argument("--only", nargs="+", metavar="SERVER", help="some servers of tests/hostile/servers.py (default: all)")
    parser.add_argument("--workers", type=int, default=4, help="runs at once (they mostly wait; default 4)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = parser.parse_args(argv)
    names = args.only or list(BEHAVIOURS)
    rows = part_time(names, args.workers) if args.part in ("time", "all") else []
    budget = part_budget() if args.part in ("budget", "all") else {}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bounded.json").write_text(json.dumps({"time": rows, "budget": budget}, indent=2) + "\n", encoding="utf-8")
    table = markdown(rows, budget)
    (out / "bounded.md").write_text(table, encoding="utf-8")
    print(table)
    return 0 if all(r["within_worst_case"] and r["under_3_min"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
