"""Every check can fail: the suite against the reference server, faithful and with each fault.

The faithful server passes every check (skips only where the rule says so), each legal variant
too, and every fault in the catalogue makes exactly the checks it declares non-passing, each
with evidence. Every check id appears in some fault's ``breaks``. The faults of the probes the
protocol forces (issue 9) are proven under both live API versions, and in front of a canned model
(one fixed answer to every request) they fail the gate: a MUST fails, it does not merely warn.
And over every run here, for every (check, fault) pair: a pass names what it judged, a skip says
why (pass means judged).
"""

from __future__ import annotations

from operator import attrgetter

import pytest

from conformance.checks.registry import registered
from conformance.contract.loader import load_contract
from conformance.contract.model import Tier
from conformance.engine import RunResult, RunSettings, run
from conformance.findings import Level, Outcome
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


def _breaks_diff(fault: Fault, result: RunResult) -> str:
    """What to change in ``fault.breaks`` when it disagrees with the run, then the evidence: a mechanical update after a new check."""
    broken = _not_passing(result)
    declared, observed = set(fault.breaks), set(broken)
    lines = [f"fault {fault.name}: declared breaks disagree with the run"]
    for cid in sorted(declared - observed):
        outcomes = sorted({f.outcome.value for f in result.findings if f.check_id == cid}) or ["not run"]
        lines.append(f"  declared but not broken: {cid} ({', '.join(outcomes)})")
    lines += [f"  broken but not declared: {cid}" for cid in sorted(observed - declared)]
    lines += ["evidence:", *(f"  {line}" for cid in sorted(observed - declared) for line in broken[cid])]
    return "\n".join(lines)


@pytest.mark.parametrize("api_version", VERSIONS)
def test_faithful_server_passes_everything(reference: ReferenceServer, reference_key: str, api_version: str) -> None:
    result = _run(reference.base_url, reference_key, api_version)
    assert _not_passing(result) == {}
    assert _unjudged(result) == []
    skipped = [f.case_id for f in result.findings if f.outcome is Outcome.SKIP]
    assert skipped == [], "a faithful server under the anthropic profile leaves nothing unjudged"


NOT_FORCED: dict[str, list[str]] = {
    # A model that ignores the prompt (CANNED_MODELS) would leave a behaviour probe unforced: warn, never fail. Since the
    # probes are forced by the protocol (issue 9) none is left in a full run: max_tokens 1 cuts "Hi.", the one-letter stop
    # sequences stop every canned reply, the canned answers repeat so the twins are compared exactly, and tools.none's
    # max_tokens lets the long reply end on its own. In a core run canned-long-reply still leaves
    # stop_reason.end_turn_on_natural_stop unforced (its answer runs past every max_tokens of that tier).
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


def test_a_canned_reply_longer_than_every_core_max_tokens_stays_not_forced(reference: ReferenceServer, reference_key: str) -> None:
    # What truly needs a cooperative model: a reply that runs past plain's max_tokens never ends on its own in a core run
    # (tools.none, whose room lets it end, is a full-tier probe). Honest: a warning with the evidence, never a pass or a fail.
    base = reference.base_url + variant_base_path("canned-long-reply")
    result = run(RunSettings(base_url=base, api_key=reference_key, profile="reference", concurrency=8, tier=Tier.CORE))
    broken = _not_passing(result)
    assert sorted(broken) == ["stop_reason.end_turn_on_natural_stop"], "\n".join(line for lines in broken.values() for line in lines)
    [finding] = [f for f in result.findings if f.check_id == "stop_reason.end_turn_on_natural_stop"]
    assert finding.outcome is Outcome.WARN
    assert "cut at max_tokens=32" in finding.message
    assert "Not judged: the probe did not force the behaviour" in finding.message


@pytest.mark.parametrize("fault", FAULTS.values(), ids=attrgetter("name"))
def test_fault_breaks_exactly_its_checks(reference: ReferenceServer, reference_key: str, fault: Fault) -> None:
    result = _run(reference.base_url + fault_base_path(fault.name), reference_key, **fault.options)
    assert _unjudged(result) == []
    broken = _not_passing(result)
    assert sorted(broken) == sorted(fault.breaks), _breaks_diff(fault, result)
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


# The faults of the probes the protocol forces, new or with changed verdicts (issue 9): proven under the newer version too
# (test_fault_breaks_exactly_its_checks covers 2023-06-01 for the whole catalogue, so the matrix is not doubled).
PROBE_FAULTS = (
    "stop-sequences-ignored", "stop-sequence-not-reported", "end-turn-with-stop-sequence", "stream-stop-sequence-null", "first-stop-sequence-only",
    "flaky-stop-sequence", "stop-sequence-included", "stop-sequence-empty-string", "ignore-max-tokens",
    "prefill-echoed", "forced-tool-choice-as-auto", "tool-choice-dropped", "forced-tool-call-answered-in-text", "tool-choice-none-ignored",
    "tool-choice-none-as-required", "forced-tool-call-with-preamble", "last-text-delta-dropped", "message-id-constant", "model-id-rewritten",
)


# Issue 9 converted every check (a pass names what it judged) and added or changed many: each check, with one fault that
# breaks it (one without suite options where there is one), joins the probe faults under 2026-10-21: both ways, both versions.
CHANGED_CHECKS = sorted(set(load_contract("2023-06-01").rules) | set(load_contract("2026-10-21").rules))


def _breaking(cid: str) -> str:
    return min((f for f in FAULTS.values() if cid in f.breaks), key=lambda f: (bool(f.options), f.name)).name


VERSIONED_FAULTS = tuple(dict.fromkeys([
    *PROBE_FAULTS,
    *(_breaking(cid) for cid in CHANGED_CHECKS),
]))


def test_every_changed_check_is_proven_under_both_versions() -> None:
    covered = {cid for name in VERSIONED_FAULTS for cid in FAULTS[name].breaks}
    assert sorted(set(CHANGED_CHECKS) - covered) == []


@pytest.mark.parametrize("fault", [FAULTS[name] for name in VERSIONED_FAULTS], ids=attrgetter("name"))
def test_probe_fault_breaks_exactly_its_checks_under_2026(reference: ReferenceServer, reference_key: str, fault: Fault) -> None:
    assert "api_version" not in fault.options
    result = _run(reference.base_url + fault_base_path(fault.name), reference_key, "2026-10-21", **fault.options)
    assert _unjudged(result) == []
    broken = _not_passing(result)
    assert sorted(broken) == sorted(fault.breaks), _breaks_diff(fault, result)


# In front of a canned model these fail the gate: every MUST rule they break fails. The SHOULD rules (the model an
# answer names, text before a forced call) only warn by their level, canned model or not.
GATE_FAULTS = tuple(name for name in PROBE_FAULTS if name not in ("flaky-stop-sequence", "stop-sequence-included", "stop-sequence-empty-string", "ignore-max-tokens", "forced-tool-call-answered-in-text"))


# Where the canned text matters (what the stop sequences cut, what a dropped delta loses) every canned model is tried; the
# tool_choice, prefill, id and model faults do not depend on the reply, so the typical mock greeting is enough for them.
TEXT_FAULTS = ("stop-sequences-ignored", "stop-sequence-not-reported", "end-turn-with-stop-sequence", "stream-stop-sequence-null", "first-stop-sequence-only", "last-text-delta-dropped")
GATE_CASES = [(FAULTS[name], variant) for name in GATE_FAULTS for variant in (sorted(CANNED_MODELS) if name in TEXT_FAULTS else ["canned-greeting"])]


@pytest.mark.parametrize(("fault", "variant"), GATE_CASES, ids=[f"{fault.name}-{variant}" for fault, variant in GATE_CASES])
def test_a_canned_model_behind_a_fault_fails_the_gate(reference: ReferenceServer, reference_key: str, variant: str, fault: Fault) -> None:
    levels = {rule.id: rule.level for rule in load_contract("2023-06-01", "reference").rules.values()}
    result = _run(reference.base_url + variant_base_path(variant, fault.name), reference_key, **fault.options)
    assert _unjudged(result) == []
    broken = _not_passing(result)
    shown = "\n".join(line for lines in broken.values() for line in lines)
    assert set(fault.breaks) <= set(broken), _breaks_diff(fault, result)
    for cid in fault.breaks:  # a MUST the fault breaks fails, a SHOULD warns: never the other way round
        outcomes = {f.outcome for f in result.findings if f.check_id == cid and f.outcome not in (Outcome.PASS, Outcome.SKIP)}
        assert outcomes == {Outcome.FAIL if levels[cid] is Level.MUST else Outcome.WARN}, shown
    for cid in set(broken) - set(fault.breaks):  # beyond them, only a probe the canned answer leaves unforced (a long reply's natural stop)
        for finding in result.findings:
            if finding.check_id == cid and finding.outcome is not Outcome.PASS:
                assert finding.outcome is Outcome.WARN, shown
                assert "Not judged: the probe did not force" in finding.message, shown
    assert any(f.outcome is Outcome.FAIL for f in result.findings) == any(levels[cid] is Level.MUST for cid in fault.breaks)


def test_a_grammar_silenced_at_the_start_leaves_its_checks_skipped_with_the_owner_named(reference: ReferenceServer, reference_key: str) -> None:
    result = _run(reference.base_url + fault_base_path("no-message-start-done-terminated"), reference_key)
    by_id = {f.check_id: f for f in result.findings}
    for check_id in ("stream.event_order", "stream.block_indices_sequential", "stream.delta_matches_block"):
        assert by_id[check_id].outcome is Outcome.SKIP, by_id[check_id]
        assert "not judged: the stream has no message_start, see stream.message_start_first" in by_id[check_id].message
    assert by_id["stream.ends_with_message_stop"].outcome is Outcome.FAIL  # the missing end is always judged


def test_a_disagreement_prints_what_to_change_in_breaks() -> None:
    from types import SimpleNamespace

    from conformance.findings import Finding

    findings = [
        Finding(check_id="stop_reason.known_value", case="", outcome=Outcome.FAIL, level=Level.MUST, message="plain fail"),
        Finding(check_id="stop_reason.end_turn_on_natural_stop", case="", outcome=Outcome.PASS, level=Level.MUST, judged=("x",)),
        Finding(check_id="stream.event_order", case="", outcome=Outcome.FAIL, level=Level.MUST, message="Received: x"),
    ]
    result = SimpleNamespace(findings=findings)
    assert _breaks_diff(FAULTS["stop-reason-stop"], result).splitlines() == [  # type: ignore[arg-type]
        "fault stop-reason-stop: declared breaks disagree with the run",
        "  declared but not broken: stop_reason.end_turn_on_natural_stop (pass)",
        "  broken but not declared: stream.event_order",
        "evidence:",
        "  stream.event_order fail: Received: x",
    ]


def test_the_property_rejects_a_pass_that_judged_nothing_and_a_silent_skip() -> None:
    from types import SimpleNamespace

    from conformance.findings import Finding, Level

    hollow = Finding(check_id="stream.event_order", case="", outcome=Outcome.PASS, level=Level.MUST)
    silent = Finding(check_id="stream.event_order", case="x", outcome=Outcome.SKIP, level=Level.MUST)
    judged = Finding(check_id="shape.status_is_200", case="", outcome=Outcome.PASS, level=Level.SHOULD, judged=("plain: status 200",))
    explained = Finding(check_id="shape.id_prefix", case="", outcome=Outcome.SKIP, level=Level.SHOULD, message="not applicable: plain: no string id")
    result = SimpleNamespace(findings=[hollow, silent, judged, explained])
    assert _unjudged(result) == ["stream.event_order: pass with nothing judged", "stream.event_order:x: skip without a reason"]  # type: ignore[arg-type]
