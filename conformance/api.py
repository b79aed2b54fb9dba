"""The suite from Python, for a test of one's own or a notebook: run it against a URL, judge saved bytes, read a profile.

Each function takes the same values as the command line (``Options`` is the CLI's and the pytest
plugin's option table) and returns values, never a process exit. Failures of the tool are
``ConformanceError``s (``TargetError`` when the target is unusable); verdicts are ``Finding``s.
Heavy modules are imported when a function runs, so ``import conformance`` stays cheap.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .findings import Finding, Outcome
from .options import Options

if TYPE_CHECKING:
    from .contract.model import Profile
    from .validate import Judged


@dataclass(frozen=True)
class Results:
    """A finished run: every case's finding, the results.json document and the folder its reports are in."""

    run_dir: Path
    document: Mapping[str, Any]
    findings: tuple[Finding, ...]

    @property
    def gate_failed(self) -> bool:
        """What the CLI's exit code says: a MUST failure the baseline does not excuse (or a stale entry under a strict one)."""
        return bool(self.document["gate"]["failed"])

    @property
    def counts(self) -> dict[str, int]:
        """How many cases passed, failed, warned, errored and were skipped."""
        return {o.value: sum(1 for f in self.findings if f.outcome is o) for o in Outcome}

    @property
    def failures(self) -> tuple[Finding, ...]:
        """The findings of broken MUST rules."""
        return tuple(f for f in self.findings if f.outcome is Outcome.FAIL)


def run(options: Options | None = None) -> Results:
    """Run the suite (no ``base_url``: against the embedded reference server) and publish its reports under ``options.report_dir``."""
    from .runstate import RunState

    with RunState(options or Options()) as state:
        report = state.execute(None)
    return Results(report.run_dir, report.document, tuple(report.result.findings))


def validate_bytes(data: bytes, *, status: int | None = None, api_version: str = "2023-06-01", spec_dir: str | None = None) -> Judged:
    """Judge one saved answer (a Message or error body, or a raw SSE stream) as ``anthropic-conformance validate`` does."""
    from .validate import validate

    with tempfile.TemporaryDirectory(prefix="conformance-validate-") as folder:
        path = Path(folder) / "answer"
        path.write_bytes(data)
        return validate(path, status=status, api_version=api_version, spec_dir=spec_dir)


def load_profile(name: str = "anthropic", *, api_version: str = "2023-06-01", spec_dir: str | None = None) -> Profile:
    """A provider profile (a shipped name or a YAML file), merged and validated as a run would use it."""
    from .contract.loader import load_contract

    return load_contract(api_version, name, spec_dir=spec_dir).profile
