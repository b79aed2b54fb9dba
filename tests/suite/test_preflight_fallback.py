"""The preflight fallback on the whole plan: a target that refuses one auth scheme or one API version loses only that verdict.

Against the reference server behind the faults that refuse one way in (x-api-key-not-read and
bearer-not-read in catalogue/auth.py, version-2026-10-21-refused in catalogue/headers.py), asked for the way the
target refuses: the run falls back with one extra request, judges everything else, and the refused
way fails its own case with the target's refusal as evidence. Cases of the version the target
refused that the version it accepts lacks are skipped, saying why.
"""

from __future__ import annotations

import pytest

from conformance.engine import RunSettings, run
from conformance.findings import Outcome
from conformance.preflight import Scheme, Way
from conformance.reference import ReferenceServer
from conformance.reference.router import fault_base_path


@pytest.mark.parametrize(("fault", "asked", "used", "broken"), [
    ("x-api-key-not-read", "2023-06-01", Way(Scheme.BEARER, "2023-06-01"), {"auth.x_api_key_accepted": Outcome.FAIL}),
    ("bearer-not-read", "2026-10-21", Way(Scheme.X_API_KEY, "2026-10-21"),
     {"auth.bearer_accepted": Outcome.FAIL, "auth.bearer_scheme_case_insensitive": Outcome.WARN}),
    ("version-2026-10-21-refused", "2026-10-21", Way(Scheme.BEARER, "2023-06-01"), {"headers.known_versions_accepted:2026-10-21": Outcome.FAIL}),
])
def test_the_run_falls_back_and_only_the_refused_way_fails(reference: ReferenceServer, reference_key: str, fault: str, asked: str, used: Way, broken: dict[str, Outcome]) -> None:
    result = run(RunSettings(base_url=reference.base_url + fault_base_path(fault), api_key=reference_key, api_version=asked, profile="reference", concurrency=8))
    assert result.preflight is not None
    assert result.preflight.fell_back
    assert result.preflight.used == used
    assert result.contract.api_version == used.version
    assert result.requests["plain"].auth == used.scheme.value
    outcomes = {f.case_id: f.outcome for f in result.findings}
    assert {cid: o for cid, o in outcomes.items() if o in (Outcome.FAIL, Outcome.WARN, Outcome.ERROR)} == broken
    for case_id in broken:
        assert "Received: status 4" in result.by_case()[case_id].message
    assert result.spend.requests == len(result.exchanges) + 1  # the refused preflight, nothing else extra
    skipped = {f.case_id: f.message for f in result.findings if f.outcome is Outcome.SKIP}
    if used.version == asked:
        assert skipped == {}
    else:  # the five cases only 2026-10-21 has, judged under it in the same run, cannot be judged under a version the target refuses
        assert len(skipped) == 5
        assert set(skipped.values()) == {
            "not judged: the target refused a basic request under anthropic-version 2026-10-21 (status 400, see headers.known_versions_accepted:2026-10-21)"
        }
