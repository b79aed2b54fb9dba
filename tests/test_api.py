"""The public Python API: its names are pinned, and README's example runs as printed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import conformance
from conformance.errors import ConformanceError
from conformance.findings import Outcome

README = Path(__file__).resolve().parents[1] / "README.md"
CAPTURES = Path(__file__).resolve().parent / "fixtures" / "captures"


def test_the_public_names_are_pinned_and_sorted() -> None:
    assert conformance.__all__ == ["Finding", "Options", "Outcome", "Results", "__version__", "load_profile", "run", "validate_bytes"]
    assert conformance.__all__ == sorted(conformance.__all__)
    assert all(hasattr(conformance, name) for name in conformance.__all__)


def _readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## From Python") :]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found is not None, "README's 'From Python' section has no python example"
    return found.group(1)


def test_the_readme_example_runs_against_the_embedded_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    code = _readme_example()
    assert len(code.strip().splitlines()) <= 6
    scope: dict[str, object] = {"url": None, "key": None}
    exec(compile(code, str(README), "exec"), scope)
    results = scope["results"]
    assert isinstance(results, conformance.Results)
    assert results.counts["fail"] == 0
    assert results.counts["pass"] > 0
    assert not results.gate_failed
    assert (results.run_dir / "results.json").is_file()
    assert results.run_dir.resolve().parent == (tmp_path / "reports").resolve()
    assert "gate passed" in capsys.readouterr().out


def test_validate_bytes_judges_a_saved_stream() -> None:
    data = (CAPTURES / "01-opus3-text-2024-03.sse").read_bytes()
    judged = conformance.validate_bytes(data)
    assert judged.kind == "stream"
    assert judged.findings
    assert {f.outcome for f in judged.findings} <= {Outcome.PASS, Outcome.SKIP}


def test_load_profile_reads_a_shipped_profile() -> None:
    assert conformance.load_profile("reference").name == "reference"
    with pytest.raises(ConformanceError, match="no-such-profile"):
        conformance.load_profile("no-such-profile")
