"""Baselines: excused failures, stale and expired entries, and broken files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from conformance import baseline
from conformance.errors import ConfigError

TODAY = dt.date(2026, 11, 22)


def records(**outcomes: str) -> list[dict[str, str]]:
    return [{"id": case_id.replace("__", ":").replace("_DOT_", "."), "outcome": outcome, "level": "MUST"} for case_id, outcome in outcomes.items()]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "baseline.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_listed_failure_is_excused_and_the_gate_passes(tmp_path: Path) -> None:
    entries = baseline.load(write(tmp_path, "expected_failures:\n  - check: stream.ends_with_message_stop\n    reason: vendor ticket 12\n"))
    verdict = baseline.apply(records(stream_DOT_ends_with_message_stop="fail", stream_DOT_event_order="pass"), entries, targets=["x"], today=TODAY)
    assert list(verdict.excused) == ["stream.ends_with_message_stop"]
    assert verdict.unexcused == []
    assert not verdict.fails(strict=True)


def test_a_check_id_entry_covers_every_case_of_that_check(tmp_path: Path) -> None:
    entries = baseline.load(write(tmp_path, "expected_failures:\n  - check: params.invalid_value_rejected\n    reason: clamps silently\n"))
    verdict = baseline.apply(
        [{"id": "params.invalid_value_rejected:temperature.above_max", "outcome": "fail"}, {"id": "params.invalid_value_rejected:top_p.above_max", "outcome": "fail"}],
        entries, targets=["x"], today=TODAY,
    )
    assert sorted(verdict.excused) == ["params.invalid_value_rejected:temperature.above_max", "params.invalid_value_rejected:top_p.above_max"]


def test_an_unlisted_failure_fails_the_gate(tmp_path: Path) -> None:
    entries = baseline.load(write(tmp_path, "expected_failures:\n  - check: a.b\n    reason: r\n"))
    verdict = baseline.apply(records(c_DOT_d="fail"), entries, targets=["x"], today=TODAY)
    assert verdict.unexcused == ["c.d"]
    assert verdict.fails(strict=False)


def test_a_stale_entry_is_reported_and_fails_only_when_strict(tmp_path: Path) -> None:
    entries = baseline.load(write(tmp_path, "expected_failures:\n  - check: a.b\n    reason: fixed upstream?\n"))
    verdict = baseline.apply(records(a_DOT_b="pass"), entries, targets=["x"], today=TODAY)
    assert [e.id for e in verdict.stale] == ["a.b"]
    assert not verdict.fails(strict=False)
    assert verdict.fails(strict=True)


def test_an_entry_for_a_check_that_did_not_run_is_not_stale(tmp_path: Path) -> None:
    entries = baseline.load(write(tmp_path, "expected_failures:\n  - check: a.b\n    reason: r\n"))
    assert baseline.apply(records(c_DOT_d="pass"), entries, targets=["x"], today=TODAY).stale == []


def test_an_expired_entry_excuses_nothing_and_fails_the_run(tmp_path: Path) -> None:
    entries = baseline.load(write(tmp_path, "expected_failures:\n  - check: a.b\n    reason: r\n    expires: 2026-11-01\n"))
    verdict = baseline.apply(records(a_DOT_b="fail"), entries, targets=["x"], today=TODAY)
    assert verdict.unexcused == ["a.b"]
    assert [str(e.expires) for e in verdict.expired] == ["2026-11-01"]
    assert verdict.fails(strict=False)


def test_entries_can_name_their_target(tmp_path: Path) -> None:
    entries = baseline.load(write(tmp_path, "expected_failures:\n  - check: a.b\n    target: gw-prod\n    reason: r\n"))
    assert baseline.apply(records(a_DOT_b="fail"), entries, targets=["gw-prod"], today=TODAY).unexcused == []
    assert baseline.apply(records(a_DOT_b="fail"), entries, targets=["gw-staging"], today=TODAY).unexcused == ["a.b"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("expected_failures:\n  - reason: r\n", "expected_failures[0]: needs a 'check'"),
        ("expected_failures:\n  - check: a.b\n", "expected_failures[0] (a.b): needs a 'reason'"),
        ("expected_failures:\n  - check: a.b\n    reason: r\n    expires: next week\n", "expires must be YYYY-MM-DD, got 'next week'"),
        ("expected_failures: {a: 1}\n", "expected a mapping with an 'expected_failures' list"),
        ("expected_failures: [\n", "invalid YAML"),
    ],
)
def test_a_broken_baseline_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        baseline.load(write(tmp_path, text))


def test_write_baseline_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "out.yaml"
    assert baseline.write(path, records(a_DOT_b="fail", c_DOT_d="pass", e_DOT_f__g="fail"), target="gw") == 2
    entries = baseline.load(path)
    assert [(e.id, e.target) for e in entries] == [("a.b", "gw"), ("e.f:g", "gw")]
