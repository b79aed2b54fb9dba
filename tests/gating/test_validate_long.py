"""validate on a long recording: judged whole, no limit of ours becomes a verdict, memory stays flat (issue 9).

A valid stream of 100,000 text deltas (about 12 MB) once failed stream.ends_with_message_stop
"after 10000 events": the reader's event cap, a limit of ours, passed off as the target's fault.
The file is now read in slices; memory is measured in a child process (peak RSS) for two
lengths, and the reader alone under tracemalloc for two more.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from conformance.sse.reading import read_file

START = {
    "type": "message_start",
    "message": {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant", "model": "claude-haiku-4-5-20251001", "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 21, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1},
    },
}  # fmt: skip


def _event(data: dict[str, object]) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def write_long_stream(path: Path, deltas: int, *, text: str = " word{i}") -> int:
    """A valid one-text-block answer of ``deltas`` text deltas (distinct texts, a ping every 1,000), written piece by piece; returns its size."""
    with path.open("wb") as out:
        out.write(_event(START) + _event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}))
        for i in range(deltas):
            out.write(_event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text.format(i=i)}}))
            if i % 1_000 == 999:
                out.write(_event({"type": "ping"}))
        out.write(_event({"type": "content_block_stop", "index": 0}))
        out.write(_event({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": deltas}}))
        out.write(_event({"type": "message_stop"}))
    return path.stat().st_size


CHILD = """
import json, resource, sys
from conformance.validate import validate
judged = validate(sys.argv[1])
print(json.dumps({
    "outcomes": sorted({f.check_id: f.outcome.value for f in judged.findings}.items()),
    "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}))
"""


def _validate_in_child(path: Path) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True, timeout=900)
    return json.loads(done.stdout)


def test_a_100k_delta_stream_validates_whole_in_flat_memory(tmp_path: Path) -> None:
    short, long = tmp_path / "10k.sse", tmp_path / "100k.sse"
    short_size, long_size = write_long_stream(short, 10_000), write_long_stream(long, 100_000)
    assert long_size > 12_000_000
    small, big = _validate_in_child(short), _validate_in_child(long)
    outcomes = dict(big["outcomes"])  # type: ignore[arg-type]
    assert {cid for cid, outcome in outcomes.items() if outcome != "pass"} == set(), outcomes
    assert outcomes["stream.ends_with_message_stop"] == "pass"
    assert big["outcomes"] == small["outcomes"]  # the same verdicts whatever the length
    # Ten times the events, 11 MB more file: the peak may grow by the joined text (~0.9 MB) and noise, never by the file.
    grown_kb = int(big["peak_kb"]) - int(small["peak_kb"])  # type: ignore[call-overload]
    assert grown_kb < 8 * 1024, f"peak RSS grew by {grown_kb} KB for {(long_size - short_size) // 1024} KB more file"


@pytest.mark.parametrize("keep", [100])
def test_the_file_reader_holds_no_event_past_keep(tmp_path: Path, keep: int) -> None:
    peaks = []
    for deltas in (2_000, 20_000):
        path = tmp_path / f"{deltas}.sse"
        write_long_stream(path, deltas, text="x")
        tracemalloc.start()
        try:
            reading = read_file(path, keep=keep)
            walked = sum(1 for _ in reading.events) + sum(1 for _ in reading.frames)  # walks read the file again
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        assert reading.grammar == reading.framing == ()
        assert walked == 2 * (deltas + 5 + deltas // 1_000)
    assert peaks[1] - peaks[0] < 256 * 1024, peaks  # ten times the events, about 2 MB more file: no more memory
