"""SSE reading throughput: conformance's reader and the official SDK on the same bytes.

What is timed, each on a body already in memory, fed in 16 KiB reads (``sse_stream.pieces``):

- ``ours: read_stream``: ``conformance.sse.reading.read_stream`` with the recorded read
  boundaries and its frame cap (``MAX_FRAMES``, 10,000 in a run) lifted: framer (WHATWG lines, offsets, endings, UTF-8 per line) → ``json.loads`` per event →
  grammar (transition table, per-block rules) → rebuild of the final Message. What a check sees.
- ``ours: stages``: the same four stages timed one after another (framer, json, grammar, rebuild).
- ``sdk: SSEDecoder + json``: ``anthropic._streaming.SSEDecoder().iter_bytes`` over the same reads
  and ``ServerSentEvent.json()`` per event: the SDK's framing and JSON only, no event types.
- ``sdk: messages.stream``: ``client.messages.stream(...).get_final_message()`` on an
  ``anthropic.Anthropic`` whose HTTP client has an ``httpx2.MockTransport`` answering with the
  same reads: SSE decoding, JSON, typed event models and the SDK's accumulator, i.e. what an
  application pays to get the final Message. (The request building is in it too; it is negligible
  against a 20 MB body.)
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import anthropic
import httpx2
from sse_stream import long_text_stream, mixed_stream, pieces

from conformance.exchange import Chunk
from conformance.sse.framer import Framer
from conformance.sse.grammar import Grammar
from conformance.sse.reading import read_stream
from conformance.sse.rebuild import rebuild

READ_SIZE = 16 * 1024


def _chunks(body: bytes) -> list[Chunk]:
    return [Chunk(offset=o, size=min(READ_SIZE, len(body) - o), t=0.0) for o in range(0, len(body), READ_SIZE)]


def ours(body: bytes) -> int:
    """read_stream as the Judge calls it; returns the event count and insists the stream reads clean."""
    reading = read_stream(body, _chunks(body), max_frames=len(body))  # the cap is for runs, not this
    if reading.framing or reading.grammar or reading.message is None:
        raise RuntimeError(f"benchmark stream is not clean: {(reading.framing + reading.grammar)[:3]}")
    return len(reading.events)


def our_stages(body: bytes) -> dict[str, float]:
    """Seconds per stage of read_stream, run separately."""
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    framer = Framer()
    frames = []
    for piece in pieces(body, READ_SIZE):
        frames += framer.feed(piece, 0.0)
    frames += framer.flush()
    t1 = time.perf_counter()
    data = [json.loads(f.data) for f in frames if f.data is not None]
    t2 = time.perf_counter()
    grammar = Grammar()
    for index, event in enumerate(data):
        grammar.feed(event, index)
    grammar.close()
    t3 = time.perf_counter()
    rebuild(data)
    t4 = time.perf_counter()
    out.update(framer=t1 - t0, json=t2 - t1, grammar=t3 - t2, rebuild=t4 - t3)
    return out


def sdk_decoder(body: bytes) -> int:
    """The SDK's SSE decoder plus JSON per event."""
    count = 0
    for sse in anthropic._streaming.SSEDecoder().iter_bytes(pieces(body, READ_SIZE)):
        sse.json()
        count += 1
    return count


def sdk_stream(body: bytes) -> int:
    """The SDK's full streaming path to the final Message, over a mock transport."""

    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=pieces(body, READ_SIZE))

    http = httpx2.Client(transport=httpx2.MockTransport(answer))
    with anthropic.Anthropic(api_key="bench", http_client=http, max_retries=0) as client, client.messages.stream(
        model="claude-haiku-4-5", max_tokens=32, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        return len(stream.get_final_message().content)


def _timed(fn: Callable[[bytes], Any], body: bytes, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(body)
        times.append(time.perf_counter() - t0)
    return times


def _summary(times: list[float], size: int, events: int) -> dict[str, Any]:
    median = statistics.median(times)
    return {
        "runs": len(times),
        "median_s": round(median, 4),
        "min_s": round(min(times), 4),
        "max_s": round(max(times), 4),
        "mb_per_s": round(size / median / 1e6, 2),
        "mb_per_s_range": [round(size / max(times) / 1e6, 2), round(size / min(times) / 1e6, 2)],
        "events_per_s": round(events / median),
    }


def measure(*, min_bytes: int, repeat: int, sdk_repeat: int, long_text_bytes: tuple[int, ...], log: Callable[[str], None]) -> dict[str, Any]:
    """Every SSE measurement: the large mixed stream, then long single text blocks of growing size."""
    body, blocks = mixed_stream(min_bytes)
    events = ours(body)  # also checks the stream is clean, and warms up
    log(f"  sse: mixed stream {len(body) / 1e6:.1f} MB, {events} events, {blocks} blocks")
    result: dict[str, Any] = {
        "read_size_bytes": READ_SIZE,
        "mixed": {"bytes": len(body), "events": events, "content_blocks": blocks},
    }
    timings = {
        "ours: read_stream": _timed(ours, body, repeat),
        "sdk: SSEDecoder + json": _timed(sdk_decoder, body, repeat),
        "sdk: messages.stream": _timed(sdk_stream, body, sdk_repeat),
    }
    result["mixed"]["readers"] = {name: _summary(t, len(body), events) for name, t in timings.items()}
    stages = [our_stages(body) for _ in range(repeat)]
    result["mixed"]["our_stages_s"] = {k: round(statistics.median(s[k] for s in stages), 4) for k in stages[0]}
    log("  sse: " + ", ".join(f"{k} {v['mb_per_s']} MB/s" for k, v in result["mixed"]["readers"].items()))
    long_rows = []
    for text_bytes in long_text_bytes:
        stream = long_text_stream(text_bytes)
        count = ours(stream)
        stage = [our_stages(stream) for _ in range(repeat)]
        row = {
            "text_bytes_target": text_bytes,
            "bytes": len(stream),
            "events": count,
            "ours: read_stream": _summary(_timed(ours, stream, repeat), len(stream), count),
            "our rebuild_s": round(statistics.median(s["rebuild"] for s in stage), 4),
            "our framer_s": round(statistics.median(s["framer"] for s in stage), 4),
            "sdk: messages.stream": _summary(_timed(sdk_stream, stream, sdk_repeat), len(stream), count),
        }
        long_rows.append(row)
        log(f"  sse: one text block, {len(stream) / 1e6:.1f} MB stream: ours {row['ours: read_stream']['mb_per_s']} MB/s "
            f"(rebuild {row['our rebuild_s']} s), sdk {row['sdk: messages.stream']['mb_per_s']} MB/s")
    result["long_text_block"] = long_rows
    return result


def side_by_side(body: bytes, rounds: int) -> dict[str, Any]:
    """The full reader against the SDK's bare decoder + json, interleaved round by round, CPU time and wall time (median)."""
    ours(body)  # warm-up, and the stream must read clean
    rows: dict[str, dict[str, list[float]]] = {name: {"cpu": [], "wall": []} for name in ("ours: read_stream", "sdk: SSEDecoder + json")}
    for _ in range(rounds):
        for name, fn in (("ours: read_stream", ours), ("sdk: SSEDecoder + json", sdk_decoder)):
            c0, w0 = time.process_time(), time.perf_counter()
            fn(body)
            rows[name]["cpu"].append(time.process_time() - c0)
            rows[name]["wall"].append(time.perf_counter() - w0)
    out = {name: {kind: round(len(body) / statistics.median(t) / 1e6, 1) for kind, t in times.items()} for name, times in rows.items()}
    out["ratio_cpu"] = round(out["ours: read_stream"]["cpu"] / out["sdk: SSEDecoder + json"]["cpu"], 2)
    out["ratio_wall"] = round(out["ours: read_stream"]["wall"] / out["sdk: SSEDecoder + json"]["wall"], 2)
    return out


if __name__ == "__main__":
    import sys

    stream, _ = mixed_stream(20_000_000)
    found = side_by_side(stream, int(sys.argv[1]) if len(sys.argv) > 1 else 7)
    print(f"{len(stream) / 1e6:.1f} MB mixed stream, 16 KiB reads, median of interleaved rounds (MB/s):")
    for name in ("ours: read_stream", "sdk: SSEDecoder + json"):
        print(f"  {name:26} {found[name]['cpu']:6.1f} (CPU time)  {found[name]['wall']:6.1f} (wall)")
    print(f"  ours / sdk: {found['ratio_cpu']:.2f}x (CPU time), {found['ratio_wall']:.2f}x (wall)")
