"""conformance/report/groups.py: identical violations grouped with every exchange that shows them."""

from __future__ import annotations

from conformance.findings import Finding, Level, Outcome, Violation
from conformance.report.groups import KEPT, Group, cited, group, record_groups
from conformance.report.results import finding_record

TEXT_PLAIN = 'Received: Content-Type "text/plain" (status 200)\nExpected: application/json'


def test_identical_message_and_place_make_one_group_in_first_seen_order() -> None:
    groups = group(
        [
            (TEXT_PLAIN, "header content-type", "plain", None),
            ("Received: other", None, "plain", None),
            (TEXT_PLAIN, "header content-type", "auth.bearer", None),
            (TEXT_PLAIN, "header content-type", "plain", None),  # twice on one exchange: listed once
            (TEXT_PLAIN, "body", "beta", None),  # another place: another group
        ]
    )
    assert groups == [
        Group(TEXT_PLAIN, "header content-type", ("plain", "auth.bearer"), None),
        Group("Received: other", None, ("plain",), None),
        Group(TEXT_PLAIN, "body", ("beta",), None),
    ]
    assert groups[0].representative == "plain"


def test_the_window_is_the_representatives() -> None:
    (only,) = group([("m", None, None, 9), ("m", None, "a.stream", 3), ("m", None, "b.stream", 5)])
    assert only.exchanges == ("a.stream", "b.stream")
    assert only.event_index == 3
    (orphan,) = group([("m", None, None, 9)])
    assert orphan.representative is None
    assert orphan.event_index == 9


def test_results_json_keeps_each_distinct_violation_once_with_the_others_under_also() -> None:
    violations = tuple(Violation(TEXT_PLAIN, at="header content-type", exchange=f"ex{i}") for i in range(143))
    violations += tuple(Violation(f"Received: distinct {i}", exchange="plain") for i in range(30))
    finding = Finding("headers.json_content_type", "", Outcome.FAIL, Level.MUST, violations=violations)
    record = finding_record(finding, None, source_of={})
    kept = record["violations"]
    assert len(kept) == KEPT
    assert kept[0] == {"message": TEXT_PLAIN, "at": "header content-type", "exchange": "ex0", "event_index": None, "also": [f"ex{i}" for i in range(1, 143)]}
    assert "also" not in kept[1], "a violation seen once has no also"
    assert record_groups(record)[0].exchanges == tuple(f"ex{i}" for i in range(143))


def test_an_older_record_with_one_entry_per_violation_groups_the_same() -> None:
    record = {"violations": [{"message": "m", "at": None, "exchange": x, "event_index": None} for x in ("a", "b", "c")]}
    assert record_groups(record) == [Group("m", None, ("a", "b", "c"), None)]


def test_only_representatives_are_shown_in_full_the_rest_are_listed() -> None:
    record = {
        "violations": [
            {"message": "m1", "exchange": "a", "also": ["b", "c"]},
            {"message": "m2", "exchange": "d", "also": ["a"]},
            {"message": "m3", "exchange": "gone"},  # not in the cassette: neither shown nor listed
        ],
        "exchanges": ["a", "b", "c", "d", "e"],
    }
    assert cited(record, {"a", "b", "c", "d", "e"}) == (["a", "d"], ["b", "c", "e"])


def test_without_violations_the_first_cited_exchanges_are_shown() -> None:
    record = {"violations": [], "exchanges": [f"x{i}" for i in range(9)]}
    shown, more = cited(record, {f"x{i}" for i in range(9)})
    assert shown == [f"x{i}" for i in range(6)]
    assert more == ["x6", "x7", "x8"]
