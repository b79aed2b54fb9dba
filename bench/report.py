"""bench.json → bench.md: the tables the README's Performance section quotes."""

from __future__ import annotations

from typing import Any


def _range(s: dict[str, Any], unit: str = " s") -> str:
    if s["runs"] == 1:
        return f"{s['median']:.1f}{unit} (1 run)"
    return f"{s['median']:.1f}{unit} ({s['min']:.1f}-{s['max']:.1f}, {s['runs']} runs)"


def _machine(m: dict[str, Any]) -> list[str]:
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items())
    return [f"Machine: {m['cpus']} CPUs ({m['cpu_model'] or 'unknown model'}), {m['implementation']} {m['python']}, {m['platform']}; {packages}; "
            f"commit {m['commit']}, {m['date']}. Load average (1, 5, 15 min) at start {m['load_average_at_start']}, "
            f"at end {m.get('load_average_at_end')}: CPU-bound numbers (SSE, fixed costs) move with it, latency-bound ones barely."]


def _latency(doc: dict[str, Any]) -> list[str]:
    lat = doc["latency"]
    lines = [
        "## Full tier against a slow target",
        "",
        f"The reference server's `{lat['variant']}` variant: {lat['first_byte_delay_s']:g} s to the first byte of every answer, "
        f"then {1000 * lat['event_delay_s']:g} ms between stream events. `ideal` is requests / concurrency x mean latency "
        "(the latency each request should take, from the variant and the events it returned); `plan ideal` is this "
        "engine's schedule with zero overhead (preflight alone, then the plan in order, a follow-up after its answer). "
        "`engine` is the run's own wall time (plan, send, judge); `process` is the whole `anthropic-conformance run` "
        "command (interpreter, pytest, spec loading, reports).",
        "",
        "| run | requests | ideal | plan ideal | engine | process | engine / ideal | process / ideal | in flight (mean) | overhead per request: median / p95 / first wave max |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in lat["runs"].values():
        o = run["per_request_overhead_ms"]
        lines.append(
            f"| ours, `--concurrency {run['concurrency']}` | {run['requests']} | {run['ideal_s']:.1f} s | {run['ideal_plan_s']:.1f} s | "
            f"{_range(run['engine_s'])} | {_range(run['process_s'])} | {run['ratio_engine_to_ideal']:.2f} | {run['ratio_process_to_ideal']:.2f} | "
            f"{run['mean_in_flight']:.1f} | {o['median']:.0f} / {o['p95']:.0f} / {o['first_wave_max']:.0f} ms |"
        )
    naive = doc.get("naive")
    if naive:
        ideal = f"{naive['ideal_s']:.1f} s" if "ideal_s" in naive else "-"
        ratio = f"{naive['ratio_process_to_ideal']:.2f}" if "ratio_process_to_ideal" in naive else "-"
        lines.append(f"| naive: plain sequential pytest, one test per case | {naive['requests']} | {ideal} | - | - | {_range(naive['process_s'])} | - | {ratio} | 1.0 | - |")
    lines += [""]
    if naive:
        ours = lat["runs"]
        some = next(iter(ours.values()))
        ratios = ", ".join(f"{naive['process_s']['median'] / r['process_s']['median']:.1f}x ours at concurrency {r['concurrency']}" for r in ours.values())
        lines.append(
            f"The naive suite ({naive['tests']} tests, `{naive['pytest']}`) sends {naive['requests']} requests where ours sends "
            f"{some['requests']}, and takes {naive['process_s']['median']:.0f} s: {ratios}."
        )
        lines.append("")
    return lines


def _tiers(doc: dict[str, Any]) -> list[str]:
    lines = ["## Requests and tokens per tier", "", "Against the faithful reference server (its toy model answers in a few tokens), from each run's `results.json` spend.", "",
             "| tier | cases | requests | input tokens | output tokens | planned before the run | engine | process |", "|---|---:|---:|---:|---:|---|---:|---:|"]
    for tier, row in doc["tiers"].items():
        planned = row["planned"].removeprefix("planned: ")
        lines.append(f"| {tier} | {row['cases']} | {row['requests']} | {row['input_tokens']:,} | {row['output_tokens']:,} | {planned} | "
                     f"{row['engine_s']:.1f} s | {row['process_s']:.1f} s |")
    return [*lines, ""]


def _sse(doc: dict[str, Any]) -> list[str]:
    sse = doc["sse"]
    mixed = sse["mixed"]
    lines = [
        "## SSE reading throughput",
        "",
        f"One {mixed['bytes'] / 1e6:.1f} MB stream: every content block of the 30 recorded streams in tests/fixtures/captures/ spliced into one "
        f"message and repeated ({mixed['content_blocks']:,} blocks, {mixed['events']:,} events), read from memory in "
        f"{sse['read_size_bytes'] // 1024} KiB pieces. See bench/sse_throughput.py for exactly what each line times.",
        "",
        "| reader | MB/s (range) | events/s | seconds (median) |",
        "|---|---:|---:|---:|",
    ]
    for name, row in mixed["readers"].items():
        low, high = row["mb_per_s_range"]
        lines.append(f"| {name} | {row['mb_per_s']:.1f} ({low:.1f}-{high:.1f}) | {row['events_per_s']:,} | {row['median_s']:.2f} |")
    stages = mixed["our_stages_s"]
    total = sum(stages.values())
    lines += ["", "Where our time goes (stages run separately): " + ", ".join(f"{k} {v:.2f} s ({100 * v / total:.0f}%)" for k, v in stages.items()) + ".", ""]
    lines += ["One long text block (a long answer made of a real capture's text deltas):", "",
              "| text | stream | events | ours MB/s | our rebuild | sdk: messages.stream MB/s |", "|---:|---:|---:|---:|---:|---:|"]
    for row in sse["long_text_block"]:
        lines.append(f"| {row['text_bytes_target'] // 1024} KiB | {row['bytes'] / 1e6:.1f} MB | {row['events']:,} | {row['ours: read_stream']['mb_per_s']:.1f} | "
                     f"{row['our rebuild_s']:.2f} s | {row['sdk: messages.stream']['mb_per_s']:.2f} |")
    return [*lines, ""]


def markdown(doc: dict[str, Any]) -> str:
    """The whole results page."""
    lines = ["# Benchmark results", "", f"Command: `{doc['command']}` (took {doc['bench_wall_s']:.0f} s).", "", *_machine(doc["machine"]), ""]
    if "latency" in doc:
        lines += _latency(doc)
    if "tiers" in doc:
        lines += _tiers(doc)
    if "sse" in doc:
        lines += _sse(doc)
    return "\n".join(lines).rstrip() + "\n"
