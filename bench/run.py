"""The benchmarks, in one command: ``python bench/run.py`` (about ten minutes on two cores).

Writes bench/results/bench.json and bench/results/bench.md. Measures, against the reference
server in a child process (``--router``):

1. the full tier against the ``slow`` variant (1 s to first byte, 20 ms between events) at
   concurrency 1, 4 and 16, each next to its ideal (bench/latency.py says how that is computed);
2. the same cases as plain sequential pytest, one test per case sending its own requests
   (bench/naive/naive_suite.py), the baseline a naive suite would have;
3. requests and tokens per tier (smoke, core, full) against the faithful server;
4. SSE reading throughput, ours against the official SDK on the same bytes (bench/sse_throughput.py).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import latency
import report
import sse_throughput

from conformance.contract.loader import load_contract
from conformance.contract.model import Tier
from conformance.engine import resolve_model, select_cases
from conformance.reference import ReferenceServer
from conformance.reference.router import variant_base_path
from conformance.reference.variant import VARIANTS
from conformance.scenarios import build_cases, plan_requests, scenario_specs

ROOT = Path(__file__).resolve().parents[1]
SLOW = "slow"
TIERS = ("smoke", "core", "full")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python bench/run.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"), help="where bench.json and bench.md go")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16], metavar="N")
    parser.add_argument("--repeat", type=int, default=3, metavar="N", help="runs per concurrency of 4 or more, and per SSE reader (default 3)")
    parser.add_argument("--repeat-sequential", type=int, default=1, metavar="N",
                        help="runs at concurrency 1 and of the naive suite, ~2-4 min each (default 1)")
    parser.add_argument("--sse-mb", type=float, default=20.0, help="size of the large SSE stream (default 20 MB)")
    parser.add_argument("--skip", nargs="*", default=[], choices=("latency", "naive", "tiers", "sse"), help="leave parts out (for trying the script)")
    return parser


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = ""
    with contextlib.suppress(OSError):
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip())
    versions = {name: importlib.metadata.version(name) for name in ("anthropic", "httpx", "pytest", "uvicorn", "starlette")}
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": versions,
        "commit": commit + ("+dirty" if dirty else ""),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def spread(values: list[float]) -> dict[str, Any]:
    """Median and range of repeated measurements."""
    return {"runs": len(values), "median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}


def latency_part(base_url: str, key: str, args: argparse.Namespace) -> dict[str, Any]:
    """The full tier against the slow variant at each concurrency."""
    contract = load_contract("2023-06-01", "reference")
    follows = {sid: spec.follows for sid, spec in scenario_specs(contract, resolve_model(contract, None)).items()}
    variant = VARIANTS[SLOW]
    out: dict[str, Any] = {"variant": SLOW, "first_byte_delay_s": variant.first_byte_delay_s, "event_delay_s": variant.event_delay_s, "runs": {}}
    for concurrency in args.concurrency:
        repeat = args.repeat if concurrency >= 4 else args.repeat_sequential
        runs = []
        for i in range(repeat):
            run = latency.run_suite(base_url + variant_base_path(SLOW), key, tier="full", concurrency=concurrency)
            if run.counts.get("fail") or run.counts.get("error"):
                raise RuntimeError(f"the slow variant did not pass cleanly at concurrency {concurrency}: {run.counts}")
            runs.append(latency.analyse(run, variant, concurrency=concurrency, follows=follows))
            log(f"  concurrency {concurrency} run {i + 1}/{repeat}: process {runs[-1]['process_s']} s, engine {runs[-1]['engine_s']} s, "
                f"ideal {runs[-1]['ideal_s']} s (plan {runs[-1]['ideal_plan_s']} s)")
        first = runs[0]
        out["runs"][str(concurrency)] = {
            "concurrency": concurrency,
            "requests": first["requests"],
            "streams": first["streams"],
            "mean_latency_s": first["mean_latency_s"],
            "ideal_s": first["ideal_s"],
            "ideal_plan_s": first["ideal_plan_s"],
            "process_s": spread([r["process_s"] for r in runs]),
            "engine_s": spread([r["engine_s"] for r in runs]),
            "requests_span_s": spread([r["requests_span_s"] for r in runs]),
            "cpu_s": spread([r["cpu_s"] for r in runs]),
            "ratio_engine_to_ideal": round(statistics.median(r["ratio_engine_to_ideal"] for r in runs), 3),
            "ratio_process_to_ideal": round(statistics.median(r["ratio_process_to_ideal"] for r in runs), 3),
            "ratio_span_to_ideal_plan": round(statistics.median(r["ratio_span_to_ideal_plan"] for r in runs), 3),
            "mean_in_flight": round(statistics.median(r["mean_in_flight"] for r in runs), 2),
            "per_request_overhead_ms": runs[len(runs) // 2]["per_request_overhead_ms"],
            "samples": runs,
        }
    return out


def naive_part(base_url: str, key: str, args: argparse.Namespace, latencies: dict[str, float] | None) -> dict[str, Any]:
    """The naive sequential pytest suite against the slow variant."""
    contract = load_contract("2023-06-01", "reference")
    model = resolve_model(contract, None)
    cases = select_cases(build_cases(contract, model), tier=Tier.FULL)
    per_case = [list(plan_requests(contract, [case], model=model)) for case in cases]
    walls, tallies, last = [], [], ""
    for i in range(args.repeat_sequential):
        wall, tally, last = latency.run_naive(base_url + variant_base_path(SLOW), key, tier="full")
        walls.append(wall)
        tallies.append(tally)
        log(f"  naive run {i + 1}/{args.repeat_sequential}: {wall:.1f} s, {tally['requests']} requests ({last})")
    out: dict[str, Any] = {"tests": tallies[0]["tests"], "requests": tallies[0]["requests"], "pytest": last, "process_s": spread(walls)}
    if latencies:
        mean = statistics.mean(latencies.values())
        out["ideal_s"] = round(sum(latencies.get(sid, mean) for sids in per_case for sid in sids), 3)
        out["ratio_process_to_ideal"] = round(statistics.median(walls) / out["ideal_s"], 3)
    return out


def tiers_part(base_url: str, key: str) -> dict[str, Any]:
    """Requests and tokens per tier against the faithful server (no latency), from results.json."""
    out = {}
    for tier in TIERS:
        run = latency.run_suite(base_url, key, tier=tier)
        cases = sum(run.counts.values())
        out[tier] = {"cases": cases, "requests": run.requests, "input_tokens": run.input_tokens, "output_tokens": run.output_tokens,
                     "tokens": run.input_tokens + run.output_tokens, "planned": run.planned, "process_s": round(run.process_s, 2),
                     "engine_s": round(run.engine_s, 2), "counts": run.counts}
        log(f"  tier {tier}: {cases} cases, {run.requests} requests, {run.input_tokens} + {run.output_tokens} tokens")
    return out


def save(document: dict[str, Any], out_dir: Path, started: float) -> None:
    """Write bench.json and bench.md; called after every part, so a late failure keeps the earlier numbers."""
    document["bench_wall_s"] = round(time.monotonic() - started, 1)
    document["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    public = json.loads(json.dumps(document))
    for run in public.get("latency", {}).get("runs", {}).values():
        for sample in run["samples"]:
            sample.pop("latency_by_scenario", None)
    (out_dir / "bench.json").write_text(json.dumps(public, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out_dir / "bench.md").write_text(report.markdown(public), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.monotonic()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {"command": "python bench/run.py" + (" " + " ".join(argv or sys.argv[1:]) if (argv or sys.argv[1:]) else ""),
                                "machine": machine()}
    log(f"bench on {document['machine']['cpus']} CPUs, Python {document['machine']['python']}")
    key = "bench-" + secrets.token_hex(8)
    with ReferenceServer(key, router=True) as server:
        if "latency" not in args.skip:
            log("full tier against the slow variant")
            document["latency"] = latency_part(server.base_url, key, args)
            save(document, out_dir, started)
        if "naive" not in args.skip:
            log("naive sequential pytest suite against the slow variant")
            latencies = None
            if "latency" in document:
                latencies = next(iter(document["latency"]["runs"].values()))["samples"][0]["latency_by_scenario"]
            document["naive"] = naive_part(server.base_url, key, args, latencies)
            save(document, out_dir, started)
        if "tiers" not in args.skip:
            log("requests and tokens per tier (faithful server)")
            document["tiers"] = tiers_part(server.base_url, key)
            save(document, out_dir, started)
    if "sse" not in args.skip:
        log("SSE reading throughput")
        document["sse"] = sse_throughput.measure(min_bytes=int(args.sse_mb * 1e6), repeat=args.repeat, sdk_repeat=args.repeat,
                                                 long_text_bytes=(128 * 1024, 512 * 1024), log=log)
    save(document, out_dir, started)
    log(f"wrote {out_dir / 'bench.json'} and {out_dir / 'bench.md'} in {document['bench_wall_s']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
