"""Connection hygiene end to end: a target that drops kept-alive connections costs one SHOULD warning, never a verdict.

Against the reference server behind ``close-kept-alive-after-error`` (after each error answer, the
connection is closed when the next request arrives on it), at concurrency 1 (every request after an
error meets the dead connection) and 8: every request the target dropped is resent once on a new
connection, so no rule ends in ``error``; the only finding is recovery.connection_close_announced.
"""

from __future__ import annotations

import re

import pytest

from conformance.engine import RunSettings, run
from conformance.exchange import ConnectionKind
from conformance.findings import Outcome
from conformance.reference import ReferenceServer
from conformance.reference.router import fault_base_path

RULE = "recovery.connection_close_announced"


@pytest.mark.parametrize("concurrency", [1, 8])
def test_dropped_kept_alive_connections_lose_no_verdict(reference: ReferenceServer, reference_key: str, concurrency: int) -> None:
    url = reference.base_url + fault_base_path("close-kept-alive-after-error")
    result = run(RunSettings(base_url=url, api_key=reference_key, profile="reference", concurrency=concurrency))
    outcomes = {f.case_id: f.outcome for f in result.findings}
    assert {cid: o for cid, o in outcomes.items() if o is not Outcome.PASS} == {RULE: Outcome.WARN}
    reopened = [e for e in result.exchanges.values() if e.connection is not None and e.connection.kind is ConnectionKind.REOPENED]
    assert reopened
    for exchange in reopened:
        assert exchange.status is not None, exchange.notes  # the resend on a new connection answered
        for earlier in exchange.connection.after:  # the connection had just answered an error
            assert result.exchanges[earlier].status >= 400, (exchange.id, earlier)
    finding = result.by_case()[RULE]
    assert len(finding.violations) == len(reopened)
    assert finding.message.startswith("[")
    assert "Received: the connection left open after " in finding.message
    assert result.spend.reopened == len(reopened)
    assert result.spend.requests == len(result.exchanges) + len(reopened)


def test_the_faithful_server_passes_and_says_how_many_reused_connections_were_judged(reference: ReferenceServer, reference_key: str) -> None:
    result = run(RunSettings(base_url=reference.base_url, api_key=reference_key, profile="reference", concurrency=1))
    finding = result.by_case()[RULE]
    assert finding.outcome is Outcome.PASS
    reused = [e for e in result.exchanges.values() if e.connection is not None and e.connection.kind is ConnectionKind.REUSED]
    judged_on = re.match(r"judged on (\d+) exchange\(s\)", finding.notes[0])
    assert judged_on is not None
    assert int(judged_on.group(1)) == len(finding.judged) == len(reused) > len(result.exchanges) // 2
    assert all("the connection kept alive after " in item for item in finding.judged)
