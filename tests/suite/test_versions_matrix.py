"""Both live API versions in one run, against the reference server: each version's cases fail and pass on their own.

A default run (primary 2023-06-01) and a 2026-10-21 run judge the same version-dependent cases under both
versions. A gateway that serves one version with the other's rules fails exactly that version's cases; every
version-dependent case is made to fail by some fault of the catalogue; each version's cases are judged
against that version's contract; a profile that lists one version only skips the other's with its reason.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conformance.baseline import Entry
from conformance.compare import diff
from conformance.engine import RunResult, RunSettings, run
from conformance.findings import Outcome
from conformance.reference import ReferenceServer
from conformance.reference.faults import FAULTS
from conformance.reference.router import fault_base_path
from conformance.versions import load_contracts, run_cases, split

SPECS = Path(__file__).resolve().parents[2] / "specs"
V2023, V2026 = "2023-06-01", "2026-10-21"
MODEL = "claude-haiku-4-5"


def _run(reference: ReferenceServer, key: str, *, fault: str = "", **options: str) -> RunResult:
    url = reference.base_url + (fault_base_path(fault) if fault else "")
    settings = {"profile": "reference", **options}
    return run(RunSettings(base_url=url, api_key=key, concurrency=8, **settings))  # type: ignore[arg-type]


def _not_passing(result: RunResult) -> dict[str, str]:
    return {f.case_id: f.outcome.value for f in result.findings if f.outcome is not Outcome.PASS}


CASES = [case for case in run_cases(load_contracts(V2023, "reference"), MODEL) if case.api_version]
VERSIONED = {version: {c.id for c in CASES if c.api_version == version} for version in (V2023, V2026)}
# A case that accepts a success and a refusal alike (top_p 0: OAS25 allows it, a sampler may refuse it) fails only on some other status.
DECIDED = {c.id for c in CASES if not (c.expect and any(s.startswith("2") for s in c.expect.status) and any(s.startswith("4") for s in c.expect.status))}
BROKEN_BY = {
    # A gateway that serves 2026-10-21 with 2023-06-01's rules fails every 2026-10-21 case and nothing else.
    "version-2026-served-as-2023": VERSIONED[V2026],
    # One that sends everything upstream as 2026-10-21 refuses the sampling parameters SDK 1.x clients may send.
    "version-2023-served-as-2026": {f"params.valid_value_accepted:{case}@2023-06-01" for case in ("temperature.at_min", "temperature.at_max", "top_p.at_max", "top_k.at_min")},
}


def test_both_versions_are_judged_in_one_report(reference: ReferenceServer, reference_key: str) -> None:
    for primary in (V2023, V2026):
        result = _run(reference, reference_key, api_version=primary)
        ids = {f.case_id for f in result.findings}
        assert VERSIONED[V2023] | VERSIONED[V2026] <= ids
        assert _not_passing(result) == {}
        sent = {wid.rpartition("@")[2] for wid in result.exchanges if "@" in wid}
        assert sent == {V2026 if primary == V2023 else V2023}
        wire = [(r.method, r.path, r.headers, r.auth, r.body) for wid, r in result.requests.items() if "@" not in wid]
        assert not [wid for wid, r in result.requests.items() if "@" in wid and (r.method, r.path, r.headers, r.auth, r.body) in wire]  # never sent twice
        for wid, exchange in result.exchanges.items():
            version = wid.rpartition("@")[2] if "@" in wid else None
            if version:  # another version's request: its own header, the run's auth scheme
                assert exchange.request.header("anthropic-version") == version
                assert (exchange.request.header("authorization") is not None) == (primary == V2026)


@pytest.mark.parametrize("primary", [V2023, V2026])
@pytest.mark.parametrize("fault", sorted(BROKEN_BY))
def test_a_gateway_that_mixes_up_the_versions_fails_one_versions_cases_only(reference: ReferenceServer, reference_key: str, fault: str, primary: str) -> None:
    result = _run(reference, reference_key, fault=fault, api_version=primary)
    assert _not_passing(result) == dict.fromkeys(BROKEN_BY[fault], "fail")
    by_case = result.by_case()
    for case_id in BROKEN_BY[fault]:
        finding = by_case[case_id]
        version = split(case_id)[1]
        assert finding.exchanges
        assert all(wid.endswith(f"@{version}") == (version != primary) for wid in finding.exchanges), finding.exchanges
        assert all(wid in result.exchanges for wid in finding.exchanges)


@pytest.fixture(scope="module")
def broken_cases(reference: ReferenceServer, reference_key: str) -> set[str]:
    """Every versioned case some fault of the catalogue makes non-passing, the faults run with their matrix options."""
    wanted = DECIDED
    checks = {split(cid)[0].split(":")[0] for cid in wanted}
    broken: set[str] = set()
    for fault in sorted(FAULTS.values(), key=lambda f: f.name):
        if not checks & set(fault.breaks) or wanted <= broken:
            continue
        settings = RunSettings(base_url=reference.base_url + fault_base_path(fault.name), api_key=reference_key, profile="reference", concurrency=8, **fault.options)  # type: ignore[arg-type]
        result = run(settings, ids=wanted)
        broken |= {f.case_id for f in result.findings if f.outcome in (Outcome.FAIL, Outcome.WARN)}
    return broken


@pytest.mark.parametrize("case_id", sorted(DECIDED))
def test_the_case_fails_under_some_fault(broken_cases: set[str], case_id: str) -> None:
    assert case_id in broken_cases


def test_each_case_is_judged_against_its_own_versions_contract(reference: ReferenceServer, reference_key: str, tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(SPECS, specs)
    contract = specs / "messages" / "2026-10-21" / "contract.yaml"
    contract.write_text(contract.read_text(encoding="utf-8") + "stop_reasons: [max_tokens, stop_sequence, tool_use]\n", encoding="utf-8")
    result = _run(reference, reference_key, spec_dir=str(specs))
    by_case = result.by_case()
    assert by_case["stop_reason.known_value:@2023-06-01"].outcome is Outcome.PASS
    warned = by_case["stop_reason.known_value:@2026-10-21"]
    assert warned.outcome is Outcome.WARN
    assert '"end_turn"' in warned.message
    # Judged on answers to requests sent as 2026-10-21 only (the primary's version.2026-10-21 is plain's very bytes: shared, not resent).
    assert {result.exchanges[wid].request.header("anthropic-version") for wid in warned.exchanges} == {V2026}
    assert "version.2026-10-21" in warned.exchanges


def test_a_profile_that_documents_one_version_keeps_working(reference: ReferenceServer, reference_key: str, tmp_path: Path) -> None:
    profile = tmp_path / "only-2023.yaml"
    profile.write_text(
        "name: only-2023\nextends: reference\ndescription: a provider that documents 2023-06-01 only\n"
        'api_versions: ["2023-06-01"]\napi_versions_source: "https://example.invalid/docs (2023-06-01 only)"\n',
        encoding="utf-8",
    )
    result = _run(reference, reference_key, profile=str(profile))
    assert not [wid for wid in result.exchanges if "@" in wid]
    skipped = {f.case_id: f.message for f in result.findings if f.outcome is Outcome.SKIP}
    assert set(skipped) == VERSIONED[V2026]
    assert all("profile 'only-2023' declares api_versions=['2023-06-01']" in m and "example.invalid" in m for m in skipped.values())
    assert set(_not_passing(result)) == set(skipped)


def test_ids_from_before_the_versions_keep_naming_the_primary_versions_case() -> None:
    old = Entry(id="params.removed_rejected:temperature.present", reason="known")
    assert old.covers("params.removed_rejected:temperature.present@2026-10-21", [], api_version=V2026)
    assert not old.covers("params.removed_rejected:temperature.present@2026-10-21", [], api_version=V2023)
    assert Entry(id="params.removed_rejected", reason="every case").covers("params.removed_rejected:temperature.present@2026-10-21", [])
    assert Entry(id="content.user_citations_rejected", reason="check").covers("content.user_citations_rejected:@2026-10-21", [])
    now = [{"id": "content.user_citations_rejected:@2026-10-21", "outcome": "pass"}, {"id": "shape.message_schema", "outcome": "pass"}]
    before = [{"id": "content.user_citations_rejected", "outcome": "fail", "api_version": V2026}, {"id": "shape.message_schema", "outcome": "pass", "api_version": V2026}]
    assert diff(now, before) == {"better": [{"id": "content.user_citations_rejected:@2026-10-21", "before": "fail", "now": "pass"}], "worse": [], "new": [], "gone": [], "tier": []}
