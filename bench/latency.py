"""Wall time of the suite against a slow reference server, and how far it is from the ideal.

Runs ``python -m conformance run`` (the CLI) as a child process against the ``slow`` variant and
reads back its results.json and cassette.jsonl. The latency each request should take follows
from the variant (first byte after ``first_byte_delay_s``, then ``event_delay_s`` between events)
and the events that actually came back; from those come the ideal times:

- ``ideal``: total latency ÷ concurrency, the issue's "requests ÷ concurrency * latency" with the
  observed mean latency, a lower bound for any scheduler;
- ``ideal_plan``: the engine's own schedule played with zero overhead (preflight alone first,
  then requests in plan order through ``concurrency`` slots, a follow-up only after its answer),
  the best this design can do.
"""

from __future__ import annotations

import heapq
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from conformance import cassette
from conformance.exchange import Exchange
from conformance.reference.variant import Variant
from conformance.sse.framer import Framer

ROOT = Path(__file__).resolve().parents[1]
KEY_ENV = "BENCH_API_KEY"


@dataclass(frozen=True, slots=True)
class SuiteRun:
    """One CLI run: what it cost and the exchanges it recorded."""

    process_s: float
    cpu_s: float
    engine_s: float
    requests: int
    input_tokens: int
    output_tokens: int
    counts: dict[str, int]
    planned: str
    exchanges: tuple[Exchange, ...]


def _env(api_key: str) -> dict[str, str]:
    return {**os.environ, KEY_ENV: api_key, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}


def run_suite(base_url: str, api_key: str, *, tier: str, concurrency: int | None = None) -> SuiteRun:
    """``anthropic-conformance run`` against ``base_url``, timed from process start to exit."""
    with tempfile.TemporaryDirectory(prefix="bench-run-") as tmp:
        command = [sys.executable, "-m", "conformance", "run", "--base-url", base_url, "--api-key-env", KEY_ENV,
                   "--profile", "reference", "--tier", tier, "--report-dir", tmp]
        if concurrency is not None:
            command += ["--concurrency", str(concurrency)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        done = subprocess.run(command, env=_env(api_key), cwd=ROOT, capture_output=True, text=True, check=False)
        process_s = time.monotonic() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise RuntimeError(f"suite run failed ({done.returncode}): {' '.join(command)}\n{done.stderr[-3000:]}")
        run_dir = next(p for p in Path(tmp).iterdir() if p.is_dir() and not p.is_symlink())
        document = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
        exchanges = tuple(cassette.read(run_dir / "cassette.jsonl"))
    planned = next((line.strip() for line in done.stderr.splitlines() if line.strip().startswith("planned:")), "")
    spend = document["spend"]
    return SuiteRun(
        process_s=process_s,
        cpu_s=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        engine_s=float(document["run"]["wall_time_s"]),
        requests=int(spend["requests"]),
        input_tokens=int(spend["input_tokens"]),
        output_tokens=int(spend["output_tokens"]),
        counts={k: int(v) for k, v in document["counts"].items()},
        planned=planned,
        exchanges=exchanges,
    )


def run_naive(base_url: str, api_key: str, *, tier: str) -> tuple[float, dict[str, int], str]:
    """The naive suite (bench/naive) as plain sequential pytest: wall time, tally, pytest's last line."""
    with tempfile.TemporaryDirectory(prefix="bench-naive-") as tmp:
        tally = Path(tmp) / "tally.json"
        env = {**_env(api_key), "BENCH_BASE_URL": base_url, "BENCH_TIER": tier, "BENCH_TALLY": str(tally)}
        command = [sys.executable, "-m", "pytest", "-c", str(ROOT / "bench" / "naive" / "pytest.ini"), "--rootdir", str(ROOT),
                   "-p", "no:conformance", "-p", "no:cacheprovider", "-q", str(ROOT / "bench" / "naive" / "naive_suite.py")]
        t0 = time.monotonic()
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
        wall = time.monotonic() - t0
        if done.returncode != 0:
            raise RuntimeError(f"naive suite failed ({done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
        counts = json.loads(tally.read_text(encoding="utf-8"))
    return wall, counts, done.stdout.strip().splitlines()[-1]


def events_in(body: bytes) -> int:
    """Events a stream body carried (frames with data): the variant paces between them."""
    framer = Framer()
    frames = framer.feed(body) + framer.flush()
    return sum(1 for f in frames if f.data is not None)


def expected_latency(exchange: Exchange, variant: Variant) -> float:
    """What the variant alone makes this exchange take: first byte, then one pause per later event."""
    if exchange.streamed and exchange.ok:
        return variant.first_byte_delay_s + variant.event_delay_s * max(events_in(exchange.body) - 1, 0)
    return variant.first_byte_delay_s


def plan_schedule(order: Sequence[str], latency: Mapping[str, float], follows: Mapping[str, str | None], *, concurrency: int) -> float:
    """The engine's schedule with zero overhead: preflight alone, then FIFO slots; a follow-up queues when its answer is in."""
    first, rest = order[0], order[1:]
    now = latency[first]
    ready = deque(s for s in rest if not follows.get(s))
    waiting: dict[str, list[str]] = {}
    for sid in rest:
        parent = follows.get(sid)
        if parent:
            waiting.setdefault(parent, []).append(sid)
    running: list[tuple[float, str]] = []
    while ready or running:
        while ready and len(running) < concurrency:
            sid = ready.popleft()
            heapq.heappush(running, (now + latency[sid], sid))
        now, sid = heapq.heappop(running)
        ready.extend(waiting.pop(sid, []))
    return now


def _when(exchange: Exchange) -> float:
    return datetime.fromisoformat(exchange.started_at).timestamp()


def quantile(values: Sequence[float], q: float) -> float:
    """Nearest-rank quantile of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def analyse(run: SuiteRun, variant: Variant, *, concurrency: int, follows: Mapping[str, str | None]) -> dict[str, Any]:
    """Ideal times, the achieved overlap and per-request overhead of one run."""
    exchanges = [e for e in run.exchanges if "#attempt" not in e.id]
    latency = {e.id: expected_latency(e, variant) for e in exchanges}
    total = sum(latency.values())
    starts = [_when(e) for e in exchanges]
    span = max(s + e.elapsed for s, e in zip(starts, exchanges, strict=True)) - min(starts)
    overhead = [e.elapsed - latency[e.id] for e in exchanges]
    by_start = [o for _, o in sorted(zip(starts, overhead, strict=True))]
    first_wave, later = by_start[: concurrency + 1], by_start[concurrency + 1 :]  # preflight + the first slots' worth
    ideal = total / concurrency
    ideal_plan = plan_schedule([e.id for e in exchanges], latency, follows, concurrency=concurrency)
    return {
        "requests": run.requests,
        "streams": sum(1 for e in exchanges if e.streamed and e.ok),
        "mean_latency_s": round(total / len(exchanges), 4),
        "ideal_s": round(ideal, 3),
        "ideal_plan_s": round(ideal_plan, 3),
        "process_s": round(run.process_s, 3),
        "cpu_s": round(run.cpu_s, 3),
        "engine_s": round(run.engine_s, 3),
        "requests_span_s": round(span, 3),
        "ratio_engine_to_ideal": round(run.engine_s / ideal, 3),
        "ratio_process_to_ideal": round(run.process_s / ideal, 3),
        "ratio_span_to_ideal_plan": round(span / ideal_plan, 3),
        "mean_in_flight": round(sum(e.elapsed for e in exchanges) / span, 2),
        "per_request_overhead_ms": {
            "median": round(1000 * statistics.median(overhead), 1),
            "p95": round(1000 * quantile(overhead, 0.95), 1),
            "max": round(1000 * max(overhead), 1),
            "first_wave_max": round(1000 * max(first_wave), 1),
            "later_p95": round(1000 * quantile(later, 0.95), 1) if later else None,
        },
        "latency_by_scenario": latency,
    }
