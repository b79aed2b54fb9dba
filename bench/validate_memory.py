"""``validate`` on long valid recordings: verdicts, peak memory and time by length (issue 9).

Usage: ``python bench/validate_memory.py [DELTAS ...]`` (default 10000 100000 200000). For each
length it writes a valid one-text-block stream of that many text deltas (distinct texts, a ping
every 1,000, about 125 bytes an event: the generator of tests/gating/test_validate_long.py), runs
``anthropic-conformance validate``'s function in a fresh child process, and prints the file size,
the verdicts, the child's peak RSS and its wall and CPU time. Flat memory means the peak does not
follow the file: the reader keeps at most ``KEEP_EVENTS`` frames and reads the file again for
each walk, so only the joined answer text grows with the length.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "gating"))

from test_validate_long import write_long_stream  # noqa: E402

CHILD = """
import json, resource, sys, time
started, cpu = time.perf_counter(), time.process_time()
from conformance.validate import validate
judged = validate(sys.argv[1])
counts = {}
for finding in judged.findings:
    counts[finding.outcome.value] = counts.get(finding.outcome.value, 0) + 1
print(json.dumps({"counts": counts, "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "wall_s": time.perf_counter() - started, "cpu_s": time.process_time() - cpu}))
"""


def measure(deltas: int, where: Path) -> dict[str, object]:
    """Write the stream, validate it in a child, return what the child reports plus the file size."""
    path = where / f"{deltas}.sse"
    size = write_long_stream(path, deltas)
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True, cwd=ROOT)
    path.unlink()
    return {"deltas": deltas, "bytes": size, **json.loads(done.stdout)}


def main(argv: list[str]) -> int:
    lengths = [int(a) for a in argv] or [10_000, 100_000, 200_000]
    print("| deltas | file | verdicts | peak RSS | wall | CPU |")
    print("|---:|---:|---|---:|---:|---:|")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for deltas in lengths:
            row = measure(deltas, Path(tmp))
            rows.append(row)
            counts = row["counts"]
            assert isinstance(counts, dict)
            verdicts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
            print(
                f"| {deltas:,} | {int(row['bytes']) / 1e6:.1f} MB | {verdicts} | {int(row['peak_kb']) / 1024:.1f} MB | "  # type: ignore[call-overload]
                f"{float(row['wall_s']):.1f} s | {float(row['cpu_s']):.1f} s |",  # type: ignore[arg-type]
                flush=True,
            )
    peaks = [int(r["peak_kb"]) for r in rows]  # type: ignore[call-overload]
    print(f"\npeak RSS spread across lengths: {(max(peaks) - min(peaks)) / 1024:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
