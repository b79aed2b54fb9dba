"""Every profile line, both ways: the deviation it documents fails under anthropic and not under its profile.

Each line of each shipped profile (tests/profiles/_lines.py reads them from the YAML) is emulated on the
reference server with the catalogue's faults. A relaxing line: the affected cases are not passing under the
base profile (anthropic, or the profile without the line) and pass, or skip with a reason naming the
profile, under the line's profile. A tightening line (claude-code, the reference server's hooks): the other
way round. Runs select their cases by id and are shared by every line that needs the same one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.contract.loader import deep_merge
from conformance.engine import RunSettings, run
from conformance.findings import Finding, Outcome
from conformance.reference import ReferenceServer
from conformance.reference.faults import FAULTS
from conformance.reference.router import fault_base_path

from ._lines import (
    EMULATIONS,
    Emulation,
    Line,
    all_lines,
    emulation_key,
    emulation_of,
    without,
    write_profile,
)

LINES = all_lines()
EMULATED = [line for line in LINES if emulation_of(line) is not None]
RunKey = tuple[str, str, tuple[str, ...], str, str]  # (profile, overlay, faults, model, api_version)


def _overlay_key(overlay: Any) -> str:
    return json.dumps(overlay, sort_keys=True) if overlay else ""


def _keys(line: Line, emulation: Emulation) -> tuple[RunKey, RunKey]:
    """The base run and the profile run a line needs."""
    overlay = _overlay_key(emulation.overlay)
    base = f"{line.profile}-without:{line.id}" if emulation.base == "without-line" else emulation.base
    common = (emulation.faults, emulation.model, emulation.api_version)
    return (base, overlay, *common), (line.profile, overlay, *common)


def _planned_ids() -> dict[RunKey, set[str]]:
    """Every run of this module and the union of the case ids its lines select (one run serves them all)."""
    plan: dict[RunKey, set[str]] = {}
    for line in EMULATED:
        emulation = emulation_of(line)
        assert emulation is not None
        for key in _keys(line, emulation):
            plan.setdefault(key, set()).update(emulation.ids())
    return plan


PLAN = _planned_ids()


class Runner:
    """Runs the suite on the reference server, once per distinct (profile, faults, model, version)."""

    def __init__(self, reference: ReferenceServer, key: str, folder: Path) -> None:
        self.reference, self.key, self.folder = reference, key, folder
        self.results: dict[RunKey, dict[str, Finding]] = {}

    def profile_ref(self, name: str, overlay: str, line: Line) -> str:
        """A shipped profile by name, or a file: the profile without a line, or with test hooks added."""
        if "-without:" in name:
            doc: dict[str, Any] = without(line.profile, line)
        elif overlay:
            doc = {"name": name, "extends": name}
        else:
            return name
        if overlay:
            merged = deep_merge(doc, json.loads(overlay))
            assert isinstance(merged, dict)
            doc = merged
        return str(write_profile(self.folder, doc, f"{doc['name']}-{len(list(self.folder.iterdir()))}"))

    def findings(self, key: RunKey, line: Line) -> dict[str, Finding]:
        if key not in self.results:
            name, overlay, faults, model, api_version = key
            base_url = self.reference.base_url + (fault_base_path(*faults) if faults else "")
            settings = RunSettings(base_url=base_url, api_key=self.key, profile=self.profile_ref(name, overlay, line), api_version=api_version, model=model, concurrency=8)
            self.results[key] = run(settings, ids=PLAN[key]).by_case()
        return self.results[key]


@pytest.fixture(scope="module")
def runner(reference: ReferenceServer, reference_key: str, tmp_path_factory: pytest.TempPathFactory) -> Runner:
    return Runner(reference, reference_key, tmp_path_factory.mktemp("profiles"))


def _outcomes(findings: dict[str, Finding], ids: tuple[str, ...]) -> dict[str, Finding]:
    missing = [case for case in ids if case not in findings]
    assert not missing, f"cases not judged (unknown ids, or not selected): {missing}"
    return {case: findings[case] for case in ids}


def _show(findings: dict[str, Finding]) -> str:
    return "\n".join(f"{case}: {f.outcome.value}: {f.message}" for case, f in findings.items())


@pytest.mark.parametrize("line", EMULATED, ids=str)
def test_the_line_changes_the_verdict_only_under_its_profile(runner: Runner, line: Line) -> None:
    emulation = emulation_of(line)
    assert emulation is not None
    base_key, profile_key = _keys(line, emulation)
    base = _outcomes(runner.findings(base_key, line), emulation.cases)
    mine = _outcomes(runner.findings(profile_key, line), emulation.cases + emulation.holds)
    if emulation.tightens:
        assert all(f.outcome is not Outcome.FAIL and f.outcome is not Outcome.ERROR for f in base.values()), f"{base_key[0]} should not fail:\n{_show(base)}"
        assert all(mine[case].outcome is Outcome.FAIL for case in emulation.cases), f"{line.profile} should fail:\n{_show(mine)}"
        for case in emulation.cases:
            assert "Received:" in mine[case].message
    else:
        assert all(f.outcome in (Outcome.FAIL, Outcome.WARN) for f in base.values()), f"{base_key[0]} should not pass:\n{_show(base)}"
        for case in emulation.cases:
            finding = mine[case]
            assert finding.outcome in (Outcome.PASS, Outcome.SKIP), f"{line.profile} should tolerate it:\n{_show(mine)}"
            if finding.outcome is Outcome.SKIP:
                assert f"profile {line.profile!r}" in finding.message, finding.message
    for case in emulation.holds:
        assert mine[case].outcome is Outcome.PASS, _show(mine)


def test_every_line_of_every_profile_is_emulated() -> None:
    missing = [str(line) for line in LINES if emulation_of(line) is None]
    assert missing == [], "profile lines with no emulation in tests/profiles/_lines.py EMULATIONS"


def test_every_emulation_serves_a_line_and_uses_known_faults() -> None:
    used = {emulation_key(line) for line in LINES} | {(line.profile, line.id) for line in LINES}
    assert sorted(str(k) for k in EMULATIONS if k not in used) == []
    unknown = sorted({name for emulation in EMULATIONS.values() for name in emulation.faults} - set(FAULTS))
    assert unknown == []


def test_lines_are_found_generically() -> None:
    found = {str(line) for line in LINES}
    assert {"requesty:auth.schemes", "requesty:params.temperature.maximum", "ollama:features.count_tokens", "toapis:models.facts[claude-opus-4-6*].max_output_tokens",
            "vllm:strictness.tolerate_missing.stop_sequence", "claude-code:headers.beta_probe", "litellm:strictness.translates",
            "reference:features.error_simulation", "llama-cpp:params.max_tokens.cases.missing", "ollama:version_header_required"} <= found
    assert not any(line.profile in ("anthropic", "generic-gateway") for line in LINES), "the strict profiles relax nothing"


@pytest.mark.parametrize("fault", ["count-tokens-own-prompt", "count-tokens-stub-zero"])
def test_a_declared_translation_still_fails_a_count_no_tokenizer_explains(reference: ReferenceServer, reference_key: str, fault: str) -> None:
    """strictness.translates widens count_tokens.matches_usage to a tokenizer's difference, no further (issue 9)."""
    settings = RunSettings(base_url=reference.base_url + fault_base_path(fault), api_key=reference_key, profile="litellm", model="claude-haiku-4-5", concurrency=8)
    finding = run(settings, ids={"count_tokens.matches_usage"}).by_case()["count_tokens.matches_usage"]
    assert finding.outcome is Outcome.FAIL, _show({"count_tokens.matches_usage": finding})
    assert "the translated band (profile 'litellm' declares translates: true)" in finding.message
