"""The real Anthropic recordings that capture tests judge (tests/fixtures/captures, see its INDEX.md).

A missing or emptied corpus fails at collection: a capture test that skipped instead would let a
run pass that judged no capture at all. Imported as ``capture_corpus`` (tests/ is on sys.path).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

CAPTURES = Path(__file__).resolve().parent / "fixtures" / "captures"


def corpus(*patterns: str, keep: Callable[[Path], bool] = lambda path: True) -> list[Path]:
    """The captures matching any of ``patterns`` that ``keep`` accepts, sorted; none at all is an error."""
    found = sorted({path for pattern in patterns for path in CAPTURES.glob(pattern) if path.is_file() and keep(path)})
    if not found:
        raise FileNotFoundError(f"no capture matches {', '.join(patterns)} in {CAPTURES} (copy /work/shared/captures there)")
    return found


def capture(name: str) -> Path:
    """One named capture; a missing one is an error, not a skip."""
    path = CAPTURES / name
    if not path.is_file():
        raise FileNotFoundError(f"capture {name} not found in {CAPTURES}")
    return path


def answers() -> list[Path]:
    """Every recorded answer to a messages request: the streams, and the Message bodies (00-49; 50 and up are errors, counts, listings)."""
    return corpus("*.sse", "*.json", keep=lambda path: path.suffix == ".sse" or int(path.name[:2]) < 50)
