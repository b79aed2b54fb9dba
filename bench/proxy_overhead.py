"""What the validating proxy costs a client: latency added per event and bytes per second passed through.

Three processes on one machine:

- an upstream (this script, ``--upstream PORT``): a bare asyncio HTTP/1.1 server answering every POST
  with a valid Messages stream, chunked, one event per chunk. A *latency* request gets N text
  deltas paced I ms apart, each carrying ``time.monotonic_ns()`` taken just before it is written; a
  *throughput* request gets B bytes of text deltas written as fast as the socket takes them.
- the proxy: ``python -m conformance proxy --upstream … --port 0`` exactly as a user starts it
  (forwarding, recording, judging every exchange on its thread, the cassette on disk).
- the client (this script): httpx reading the raw body as it arrives; each event's latency is the
  client's ``time.monotonic_ns()`` when the piece holding it arrived minus the upstream's stamp
  (CLOCK_MONOTONIC is one clock for every process of the machine).

The same client reads the same streams directly from the upstream and through the proxy,
alternating, so the difference between the two is the proxy's: added latency per event (median and
p99 of each, and of the per-run differences) and MB/s passed through. Writes
``bench/results/proxy.json`` and ``bench/results/proxy.md``.

    python bench/proxy_overhead.py            # about a minute
    python bench/proxy_overhead.py --quick    # a few seconds, smaller samples
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
STAMP = re.compile(rb'"text":"(\d+) "')
KEY = "sk-bench-not-a-secret-0000000000"


# ------------------------------------------------------------------------------ upstream


def _event(data: dict[str, Any]) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _head() -> list[bytes]:
    message = {"id": "msg_bench", "type": "message", "role": "assistant", "model": "claude-bench", "content": [], "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 1}}
    return [_event({"type": "message_start", "message": message}), _event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})]


def _tail(deltas: int) -> list[bytes]:
    return [
        _event({"type": "content_block_stop", "index": 0}),
        _event({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": max(deltas, 1)}}),
        _event({"type": "message_stop"}),
    ]


async def _serve_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    def chunk(data: bytes) -> None:
        writer.write(b"%x\r\n%s\r\n" % (len(data), data))

    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            found = re.search(rb"(?i)content-length:\s*(\d+)", head)
            length = int(found.group(1)) if found else 0
            spec = json.loads(await reader.readexactly(length)) if length else {}
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\ntransfer-encoding: chunked\r\nrequest-id: req_bench\r\n\r\n")
            for piece in _head():
                chunk(piece)
            await writer.drain()
            deltas = 0
            if spec.get("bench") == "latency":
                for _ in range(int(spec["events"])):
                    await asyncio.sleep(float(spec["interval_ms"]) / 1000)
                    chunk(_event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f"{time.monotonic_ns()} "}}))
                    await writer.drain()
                    deltas += 1
            else:
                block = b"".join(_event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lorem ipsum dolor sit amet " * 4}}) for _ in range(400))
                per_block = 400
                sent = 0
                while sent < int(spec.get("bytes", 0)):
                    chunk(block)
                    sent += len(block)
                    deltas += per_block
                    await writer.drain()
            for piece in _tail(deltas):
                chunk(piece)
            writer.write(b"0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def serve_upstream(port: int) -> None:
    async def main() -> None:
        server = await asyncio.start_server(_serve_one, "127.0.0.1", port)
        print(f"upstream ready {server.sockets[0].getsockname()[1]}", flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# -------------------------------------------------------------------------------- client


def read(client: httpx.Client, base: str, spec: dict[str, Any]) -> tuple[list[int], int, float]:
    """(latency of each stamped event in ns, bytes read, seconds) for one request."""
    body = {"model": "claude-bench", "max_tokens": 64000, "stream": True, "messages": [{"role": "user", "content": "bench"}], **spec}
    latencies: list[int] = []
    pending = b""
    total = 0
    started = time.perf_counter()
    with client.stream("POST", base + "/v1/messages", json=body, headers={"x-api-key": KEY, "anthropic-version": "2023-06-01"}) as response:
        for piece in response.iter_raw():
            now = time.monotonic_ns()
            total += len(piece)
            if spec.get("bench") == "latency":
                pending += piece
                cut = pending.rfind(b"\n")
                if cut >= 0:
                    latencies += [now - int(m.group(1)) for m in STAMP.finditer(pending, 0, cut)]
                    pending = pending[cut + 1 :]
    return latencies, total, time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _start(command: list[str], ready: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    stream = process.stdout if ready == "upstream ready" else process.stderr
    assert stream is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = stream.readline()
        if ready in line:
            return process, line.strip()
        if not line and process.poll() is not None:
            break
    process.kill()
    raise RuntimeError(f"{command[:3]} did not start: {process.communicate()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.upstream is not None:
        serve_upstream(args.upstream)
        return 0
    runs = 2 if args.quick else 6
    events, interval = (200, 2.0) if args.quick else (500, 2.0)
    size, streams = (8, 2) if args.quick else (16, 4)
    upstream, line = _start([sys.executable, __file__, "--upstream", "0"], "upstream ready")
    direct = f"http://127.0.0.1:{line.split()[-1]}"
    reports = tempfile.mkdtemp(prefix="proxy-bench-")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    proxy, announced = _start([sys.executable, "-m", "conformance", "proxy", "--upstream", direct, "--port", "0", "--report-dir", reports, "--profile", "anthropic"], "ANTHROPIC_BASE_URL=", env)
    through = announced.split("ANTHROPIC_BASE_URL=")[-1]
    samples: dict[str, list[int]] = {"direct": [], "proxy": []}
    per_run: list[tuple[float, float, float, float]] = []
    rates: dict[str, list[float]] = {"direct": [], "proxy": []}
    try:
        with httpx.Client(timeout=120) as client:
            for base in (direct, through):  # warm-up: connections, imports, the judge's first contract
                read(client, base, {"bench": "latency", "events": 20, "interval_ms": 1})
            for _ in range(runs):
                medians = {}
                for name, base in (("direct", direct), ("proxy", through)):
                    latencies, _, _ = read(client, base, {"bench": "latency", "events": events, "interval_ms": interval})
                    samples[name] += latencies
                    medians[name] = (statistics.median(latencies), percentile(latencies, 0.99))
                per_run.append((*medians["direct"], *medians["proxy"]))
            for _ in range(streams):
                for name, base in (("direct", direct), ("proxy", through)):
                    _, total, seconds = read(client, base, {"bench": "throughput", "bytes": size * 1024 * 1024})
                    rates[name].append(total / seconds / 1e6)
    finally:
        upstream.terminate()
        proxy.send_signal(signal.SIGINT)
        out, _ = proxy.communicate(timeout=120)
        upstream.wait()
    stats = {name: {"median_us": statistics.median(v) / 1e3, "p99_us": percentile([float(x) for x in v], 0.99) / 1e3, "events": len(v)} for name, v in samples.items()}
    added_median = [(p - d) / 1e3 for d, _, p, _ in per_run]
    added_p99 = [(p - d) / 1e3 for _, d, _, p in per_run]
    document = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(), "load": os.getloadavg()},
        "latency": {
            "events_per_run": events, "interval_ms": interval, "runs": runs, **stats,
            "added_median_us": stats["proxy"]["median_us"] - stats["direct"]["median_us"],
            "added_p99_us": stats["proxy"]["p99_us"] - stats["direct"]["p99_us"],
            "added_median_us_per_run": added_median, "added_p99_us_per_run": added_p99,
        },
        "throughput": {
            "stream_mb": size, "streams": streams,
            "direct_mb_s": statistics.median(rates["direct"]), "proxy_mb_s": statistics.median(rates["proxy"]),
            "direct_runs": rates["direct"], "proxy_runs": rates["proxy"],
        },
        "proxy_summary": out.strip().splitlines()[:4],
    }  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "proxy.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    lat, thr = document["latency"], document["throughput"]
    md = "\n".join(
        [
            "# Proxy overhead (`python bench/proxy_overhead.py`)",
            "",
            f"{document['machine']['cpus']} CPUs, Python {document['machine']['python']}, load {', '.join(f'{x:.2f}' for x in document['machine']['load'])}.",
            "",
            f"Latency: {runs} runs of {events} events {interval:g} ms apart, each read directly and through the proxy (alternating).",
            "",
            "| path | events | median | p99 |",
            "|---|---:|---:|---:|",
            f"| direct | {lat['direct']['events']} | {lat['direct']['median_us']:.0f} µs | {lat['direct']['p99_us']:.0f} µs |",
            f"| through the proxy | {lat['proxy']['events']} | {lat['proxy']['median_us']:.0f} µs | {lat['proxy']['p99_us']:.0f} µs |",
            f"| **added by the proxy** | | **{lat['added_median_us']:.0f} µs** | **{lat['added_p99_us']:.0f} µs** |",
            "",
            f"Throughput: {streams} streams of {size} MB each way, read as fast as they come (median MB/s): direct {thr['direct_mb_s']:.0f},"
            f" through the proxy {thr['proxy_mb_s']:.0f} ({thr['proxy_mb_s'] / thr['direct_mb_s']:.0%} of direct).",
            "",
        ]
    )
    (RESULTS / "proxy.md").write_text(md, encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
