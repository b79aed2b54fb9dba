"""Every check can fail: the suite against the reference server, faithful and with each fault.

The faithful server passes every check (skips only where the rule says so), each legal variant
too, and every fault in the catalogue makes exactly the checks it declares non-passing, each
with evidence. Every check id appears in some fault's ``breaks``. And over every run here, for
every (check, fault) pair: a pass names what it judged, a skip says why (pass means judged).
"""

from __future__ import annotations

from operator import attrgetter

import pytest

from conformance.checks.registry import registered
from conformance.contract.loader import load_contract
from conformance.contract.model import Tier
from conformance.engine import RunResult, RunSettings, run
from conformance.findings import Outcome
from conformance.reference import ReferenceServer
from conformance.reference.faults import FAULTS, Fault
from conformance.reference.router import fault_base_path, variant_base_path
from conformance.reference.variant import CANNED_MODELS, VARIANTS

VERSIONS = ("2023-06-01", "2026-10-21")


def _run(base_url: str, key: str, api_version: str = "2023-06-01", profile: str = "reference", **options: str) -> RunResult:
    # The reference profile: Anthropic's contract plus the hooks that make error paths producible.
    return run(RunSettings(base_url=base_url, api_key=key, api_version=api_version, profile=profile, concurrency=8, **options))  # type: ignore[arg-type]


def _unjudged(result: RunResult) -> list[str]:
    """Verdicts that break "pass means judged": a pass resting on nothing, a skip without a reason, an outcome that is none of the five."""
    out = []
    for finding in result.findings:
        if finding.outcome is Outcome.PASS and not finding.judged:
            out.append(f"{finding.case_id}: pass with nothing judged")
        elif finding.outcome is Outcome.SKIP and not finding.message.strip():
            out.append(f"{finding.case_id}: skip without a reason")
        elif finding.outcome in (Outcome.FAIL, Outcome.WARN) and not finding.violations and not finding.message.strip():
            out.append(f"{finding.case_id}: {finding.outcome.value} without a violation")
        elif finding.outcome is Outcome.PASS and any(not item.strip() or item.endswith(": ") for item in finding.judged):
            out.append(f"{finding.case_id}: pass with an empty judged item {finding.judged}")
    return out


def _not_passing(result: RunResult) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for finding in result.findings:
        if finding.outcome in (Outcome.FAIL, Outcome.WARN, Outcome.ERROR):
            out.setdefault(finding.check_id, []).append(f"{finding.case_id} {finding.outcome.value}: {finding.message}")
    return out


@pytest.mark.parametrize("api_version", VERSIONS)
def test_faithful_server_passes_everything(reference: ReferenceServer, reference_key: str, api_version: str) -> None:
    result = _run(reference.base_url, reference_key, api_version)
    assert _not_passing(result) == {}
    assert _unjudged(result) == []
    skipped = [f.case_id for f in result.findings if f.outcome is Outcome.SKIP]
    assert skipped == [], "a faithful server under the anthropic profile leaves nothing unjudged"


NOT_FORCED = {
    # A model that ignores the prompt (CANNED_MODELS) leaves these behaviour probes unforced: warn, never fail.
    "canned-short-reply": ["content.fired_stop_sequence_reported", "stop_reason.max_tokens_on_limit", "stop_reason.stop_sequence_reported"],
    "canned-long-reply": ["content.fired_stop_sequence_reported", "stop_reason.end_turn_on_natural_stop", "stop_reason.stop_sequence_reported"],
}


@pytest.mark.parametrize("variant", sorted({**VARIANTS, **CANNED_MODELS}))
def test_legal_variants_pass(reference: ReferenceServer, reference_key: str, variant: str) -> None:
    # Latency is legal but slow to exercise: the slow variant gets the smoke tier here; bench/ runs it in full.
    tier = Tier.SMOKE if variant == "slow" else None
    result = run(RunSettings(base_url=reference.base_url + variant_base_path(variant), api_key=reference_key, profile="reference", concurrency=8, tier=tier))
    assert _unjudged(result) == []
    broken = _not_passing(result)
    assert sorted(broken) == NOT_FORCED.get(variant, []), "\n".join(line for lines in broken.values() for line in lines)
    for finding in result.findings:
        if finding.outcome not in (Outcome.PASS, Outcome.SKIP):  # a canned answer may leave a rule nothing to judge
            assert finding.outcome is Outcome.WARN, finding.message
            assert "Not judged: the probe did not force the behaviour" in finding.message, finding.message
            assert finding.message.startswith("[")
            assert "Received: text " in finding.message
            assert "\nExpected: " in finding.message
            assert "failed on all 2 attempts" in finding.notes, finding.notes  # the probe was resent once before it warned


@pytest.mark.parametrize("fault", FAULTS.values(), ids=attrgetter("name"))
def test_fault_breaks_exactly_its_checks(reference: ReferenceServer, reference_key: str, fault: Fault) -> None:
    result = _run(reference.base_url + fault_base_path(fault.name), reference_key, **fault.options)
    assert _unjudged(result) == []
    broken = _not_passing(result)
    assert sorted(broken) == sorted(fault.breaks), "\n".join(line for lines in broken.values() for line in lines)
    for finding in result.findings:
        assert finding.outcome is not Outcome.ERROR, finding.message
        if finding.outcome in (Outcome.FAIL, Outcome.WARN):
            assert "Received:" in finding.message, finding.message
            assert "Expected:" in finding.message, finding.message


def test_every_check_can_fail() -> None:
    ids = set(load_contract("2023-06-01").rules) | set(load_contract("2026-10-21").rules)
    assert set(registered()) <= ids
    covered = {check for fault in FAULTS.values() for check in fault.breaks}
    assert sorted(ids - covered) == []


def test_a_grammar_silenced_at_the_start_leaves_its_checks_skipped_with_the_owner_named(reference: ReferenceServer, reference_key: str) -> None:
    result = _run(reference.base_url + fault_base_path("no-message-start-done-terminated"), reference_key)
    by_id = {f.check_id: f for f in result.findings}
    for check_id in ("stream.event_order", "stream.block_indices_sequential", "stream.delta_matches_block"):
        assert by_id[check_id].outcome is Outcome.SKIP, by_id[check_id]
        assert "not judged: the stream has no message_start, see stream.message_start_first" in by_id[check_id].message
    assert by_id["stream.ends_with_message_stop"].outcome is Outcome.FAIL  # the missing end is always judged


def test_the_property_rejects_a_pass_that_judged_nothing_and_a_silent_skip() -> None:
    from types import SimpleNamespace

    from conformance.findings import Finding, Level

    hollow = Finding(check_id="stream.event_order", case="", outcome=Outcome.PASS, level=Level.MUST)
    silent = Finding(check_id="stream.event_order", case="x", outcome=Outcome.SKIP, level=Level.MUST)
    judged = Finding(check_id="shape.status_is_200", case="", outcome=Outcome.PASS, level=Level.SHOULD, judged=("plain: status 200",))
    explained = Finding(check_id="shape.id_prefix", case="", outcome=Outcome.SKIP, level=Level.SHOULD, message="not applicable: plain: no string id")
    result = SimpleNamespace(findings=[hollow, silent, judged, explained])
    assert _unjudged(result) == ["stream.event_order: pass with nothing judged", "stream.event_order:x: skip without a reason"]  # type: ignore[arg-type]
