"""conformance/findings.py: verdicts are values with closed sets of outcomes and levels."""

from __future__ import annotations

from conformance.findings import Finding, Level, Outcome


def test_case_id_is_the_check_or_check_and_variation():
    assert Finding("shape.message_schema", "", Outcome.PASS, Level.MUST).case_id == "shape.message_schema"
    assert Finding("params.required_enforced", "model.missing", Outcome.FAIL, Level.MUST).case_id == "params.required_enforced:model.missing"


def test_outcomes_and_levels_are_closed_sets():
    assert [o.value for o in Outcome] == ["pass", "fail", "warn", "skip", "error"]
    assert [lv.value for lv in Level] == ["MUST", "SHOULD"]
