"""conformance/versions.py and shares.py: which cases depend on the API version, their ids, and each version's requests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from conformance.contract.loader import load_contract
from conformance.findings import Finding, Level, Outcome, Violation
from conformance.scenarios import build_cases
from conformance.shares import plan_shares
from conformance.versions import dependence, load_contracts, run_cases, split, versioned

SPECS = Path(__file__).resolve().parents[1] / "specs"
HAIKU = "claude-haiku-4-5"
V2023, V2026 = "2023-06-01", "2026-10-21"
ONLY_2026 = ["content.document_in_assistant_rejected", "content.user_citations_rejected", *(f"params.removed_rejected:{p}.present" for p in ("temperature", "top_p", "top_k"))]


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    root = tmp_path / "specs"
    shutil.copytree(SPECS, root)
    return root


def _append(path: Path, section: str, entries: dict[str, object]) -> None:
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
    doc.setdefault(section, {}).update(entries)
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


# ------------------------------------------------------------------------------------ ids


@pytest.mark.parametrize(
    ("case_id", "version", "pinned"),
    [
        ("params.removed_rejected:temperature.present", V2026, "params.removed_rejected:temperature.present@2026-10-21"),
        ("content.user_citations_rejected", V2026, "content.user_citations_rejected:@2026-10-21"),
    ],
)
def test_the_version_suffixes_the_variation(case_id: str, version: str, pinned: str) -> None:
    assert versioned(case_id, version) == pinned
    assert split(pinned) == (case_id, version)
    assert split(case_id) == (case_id, None)
    assert split("a.b:someone@example") == ("a.b:someone@example", None)  # only a date is a version


# ---------------------------------------------------------------------------- dependence


def test_the_shipped_contracts_differ_exactly_where_2026_10_21_changed_them() -> None:
    why = dependence(load_contracts(V2023, "anthropic"), HAIKU)
    assert {cid for cid, reason in why.items() if reason == "defined under 2026-10-21 only"} == set(ONLY_2026)
    only_2023 = {cid for cid, reason in why.items() if reason == "defined under 2023-06-01 only"}
    assert only_2023
    assert all(cid.split(":")[1].split(".")[0] in ("temperature", "top_p", "top_k") for cid in only_2023)
    assert set(why) == set(ONLY_2026) | only_2023
    # The rules about the version header name the value they send: judged once, whatever the run's version.
    assert not [cid for cid in why if cid.startswith("headers.")]


def test_every_case_is_named_the_same_whatever_the_primary_version() -> None:
    cases = {v: run_cases(load_contracts(v, "anthropic"), HAIKU) for v in (V2023, V2026)}
    assert sorted(c.id for c in cases[V2023]) == sorted(c.id for c in cases[V2026])
    ids = [c.id for c in cases[V2023]]
    assert len(ids) == len(set(ids))
    assert [cid for cid in ids if cid.startswith("params.removed_rejected")] == [f"params.removed_rejected:{p}.present@2026-10-21" for p in ("temperature", "top_p", "top_k")]
    # 2026-10-21's own rules sit where its spec puts them: right after the rule they follow there.
    at = ids.index("content.document_in_assistant_rejected:@2026-10-21")
    assert ids[at + 1] == "content.user_citations_rejected:@2026-10-21"
    assert ids[at - 1] == [c.id for c in build_cases(load_contract(V2026), HAIKU)][[c.id for c in build_cases(load_contract(V2026), HAIKU)].index("content.document_in_assistant_rejected") - 1]
    # Version-independent cases keep their ids; version-dependent ones carry their version.
    assert {c.api_version for c in cases[V2023] if "@" in c.id} == {V2023, V2026}
    assert all(c.api_version is None for c in cases[V2023] if "@" not in c.id)


def test_a_version_condition_in_a_rule_makes_its_case_version_dependent(specs: Path) -> None:
    rules = specs / "messages" / "2023-06-01" / "rules.yaml"
    doc = yaml.safe_load(rules.read_text(encoding="utf-8"))
    doc["rules"]["request.unknown_model_not_found"]["variants"] = [{"when": {"api_version": V2026}, "expect": {"status": ["400", "404"]}}]
    rules.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    contracts = load_contracts(V2023, "anthropic", spec_dir=specs)
    assert dependence(contracts, HAIKU)["request.unknown_model_not_found"] == "its expectation differs"
    pinned = {c.id: c for c in run_cases(contracts, HAIKU) if c.check_id == "request.unknown_model_not_found"}
    assert {cid: c.expect.status for cid, c in pinned.items() if c.expect} == {
        "request.unknown_model_not_found:@2023-06-01": ("404",),
        "request.unknown_model_not_found:@2026-10-21": ("400", "404"),
    }


def test_a_scenario_another_version_changes_makes_its_cases_version_dependent(specs: Path) -> None:
    _append(specs / "messages" / "2026-10-21" / "scenarios" / "content.yaml", "scenarios", {"model.unknown": {"base": "plain", "set": {"model": "claude-conformance-other"}}})
    contracts = load_contracts(V2023, "anthropic", spec_dir=specs)
    why = dependence(contracts, HAIKU)
    assert why["request.unknown_model_not_found"] == "its requests differ"
    shares, requests = plan_shares(contracts, run_cases(contracts, HAIKU), model=HAIKU, preflight="plain")
    assert json.loads(requests["model.unknown@2026-10-21"].body)["model"] == "claude-conformance-other"
    assert json.loads(requests["model.unknown"].body)["model"] != "claude-conformance-other"
    assert shares[1].wire["model.unknown"] == "model.unknown@2026-10-21"


def test_a_fact_a_check_reads_makes_every_property_case_version_dependent(specs: Path) -> None:
    contract = specs / "messages" / "2026-10-21" / "contract.yaml"
    contract.write_text(contract.read_text(encoding="utf-8") + "stop_reasons: [max_tokens, stop_sequence, tool_use, pause_turn, refusal]\n", encoding="utf-8")
    contracts = load_contracts(V2023, "anthropic", spec_dir=specs)
    why = dependence(contracts, HAIKU)
    assert why["stop_reason.known_value"] == "the contract facts its check reads differ (stop_reasons)"
    assert "request.unknown_model_not_found" not in why  # an expectation reads only the status


def test_a_profile_that_lists_one_version_skips_the_others_cases_with_its_reason(specs: Path) -> None:
    profile = specs / "profiles" / "only-2023.yaml"
    profile.write_text(
        "name: only-2023\nextends: anthropic\ndescription: documents 2023-06-01 only\n"
        'api_versions: ["2023-06-01"]\napi_versions_source: "https://example.invalid/docs (anthropic-version 2023-06-01 only)"\n',
        encoding="utf-8",
    )
    contracts = load_contracts(V2023, "only-2023", spec_dir=specs)
    cases = run_cases(contracts, HAIKU)
    skipped = {c.id: c.skip for c in cases if c.api_version == V2026}
    assert set(skipped) == {versioned(cid, V2026) for cid in ONLY_2026}
    assert all(
        reason == "not applicable: profile 'only-2023' declares api_versions=['2023-06-01'], the case needs '2026-10-21' (https://example.invalid/docs (anthropic-version 2023-06-01 only))"
        for reason in skipped.values()
    )
    assert not [c for c in cases if c.api_version == V2023 and c.skip]
    _shares, requests = plan_shares(contracts, cases, model=HAIKU, preflight="plain")
    assert not [wid for wid in requests if "@" in wid]  # a skipped case costs no request


# -------------------------------------------------------------------------------- shares


def test_each_version_sends_its_own_header_with_the_runs_auth_scheme() -> None:
    for primary, scheme in ((V2023, "x-api-key"), (V2026, "bearer")):
        contracts = load_contracts(primary, "anthropic")
        shares, requests = plan_shares(contracts, run_cases(contracts, HAIKU), model=HAIKU, preflight="plain")
        assert next(iter(requests)) == "plain"
        other = V2026 if primary == V2023 else V2023
        extra = {wid: r for wid, r in requests.items() if wid.endswith("@" + other)}
        assert extra
        assert all(dict(r.headers)["anthropic-version"] == other and r.auth == scheme for r in extra.values())
        assert all(dict(r.headers).get("anthropic-version") in (primary, None) or r.scenario.startswith("version.") for wid, r in requests.items() if "@" not in wid)
        assert [s.version for s in shares] == [primary, other]
        assert shares[1].requests.keys() == {wid.removesuffix("@" + other) for wid in extra}


def test_a_request_the_primary_sends_already_is_not_sent_again(specs: Path) -> None:
    # A rule of 2026-10-21 only whose request pins its own header (none at all): the same bytes under both versions.
    _append(specs / "messages" / "2026-10-21" / "rules" / "content.yaml", "rules", {
        "headers.version_required_again": {"area": "headers", "level": "MUST", "tier": "core", "rule": "A request without anthropic-version is refused (a rule of 2026-10-21 only, for this test).", "source": "DOC-VER", "scenario": "version.missing", "expect": {"status": ["400"]}},
    })  # fmt: skip
    contracts = load_contracts(V2023, "anthropic", spec_dir=specs)
    cases = run_cases(contracts, HAIKU)
    assert "headers.version_required_again:@2026-10-21" in {c.id for c in cases}
    shares, requests = plan_shares(contracts, cases, model=HAIKU, preflight="plain")
    assert "version.missing" in requests
    assert "version.missing@2026-10-21" not in requests
    assert shares[1].wire["version.missing"] == "version.missing"


def test_findings_of_another_version_name_the_runs_exchanges() -> None:
    contracts = load_contracts(V2023, "anthropic")
    shares, _ = plan_shares(contracts, run_cases(contracts, HAIKU), model=HAIKU, preflight="plain")
    other = shares[1]
    local = Finding(
        check_id="params.removed_rejected", case="temperature.present@2026-10-21", outcome=Outcome.FAIL, level=Level.MUST,
        violations=(Violation("Received: status 200", exchange="param.temperature.present"),), exchanges=("param.temperature.present",),
        judged=("param.temperature.present: status 200",), message="[param.temperature.present] Received: status 200\nExpected: status 400",
    )  # fmt: skip
    moved = other.to_run(local)
    assert moved.exchanges == ("param.temperature.present@2026-10-21",)
    assert moved.violations[0].exchange == "param.temperature.present@2026-10-21"
    assert moved.judged == ("param.temperature.present@2026-10-21: status 200",)
    assert moved.message == "[param.temperature.present@2026-10-21] Received: status 200\nExpected: status 400"
    assert shares[0].to_run(local) is local
