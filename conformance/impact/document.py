"""Client impact in results.json: one section for the run, one field on each finding that is not a pass.

Owns the shape the report, the summary and the comparison read (documented in results.schema.json):
``client_impact`` at the top (which clients were checked or why not, and every client's verdict on
every replayed exchange) and ``client_impact`` on each fail/warn/error record (each client's worst
verdict over the exchanges that record cites, naming that exchange). Purely additive: a document
without it is read as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .._types import JSONObject
from .replay import ImpactReport
from .verdict import RANK, Impact

WITH_IMPACT = ("fail", "warn", "error")  # records a person acts on; a pass or skip has no client story to tell
BREAKS = (Impact.RAISED.value, Impact.WRONG.value)


def section(report: ImpactReport) -> JSONObject:
    """The run-level section: clients, and each one's verdict per exchange."""
    return {
        "requests_sent": 0,
        "seconds": report.seconds,
        "clients": [run.record() for run in report.clients],
        "exchanges": {eid: {cid: v.record() for cid, v in report.on(eid).items()} for eid in report.verdicts},
    }


def _cited(record: Mapping[str, Any]) -> list[str]:
    ordered = [v.get("exchange") for v in record.get("violations") or ()] + list(record.get("exchanges") or ())
    return [x for x in dict.fromkeys(ordered) if isinstance(x, str)]


def per_finding(report: ImpactReport, exchange_ids: Iterable[str]) -> list[JSONObject]:
    """Each client's worst verdict over a finding's exchanges, with the exchange it happened on."""
    names = {run.client.id: run.client.label for run in report.clients}
    worst: dict[str, tuple[str, Any]] = {}
    for eid in exchange_ids:
        if eid not in report.verdicts:
            continue
        for cid, verdict in report.on(eid).items():
            if cid not in worst or RANK[verdict.impact] > RANK[worst[cid][1].impact]:
                worst[cid] = (eid, verdict)
    out = []
    for run in report.clients:
        cid = run.client.id
        if cid in worst:
            eid, verdict = worst[cid]
            out.append({"client": cid, "name": names[cid], "exchange": eid, **verdict.record()})
        elif not run.checked:
            out.append({"client": cid, "name": names[cid], "exchange": None, "outcome": Impact.NOT_CHECKED.value, "summary": run.note})
    return out


def attach(document: JSONObject, report: ImpactReport) -> None:
    """Add the section and each fail/warn/error record's client impact to a results document."""
    document["client_impact"] = section(report)
    for record in document.get("results", ()):
        if record.get("outcome") in WITH_IMPACT:
            found = per_finding(report, _cited(record))
            if found:
                record["client_impact"] = found


def breaking(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The clients a record says break (raise or go silently wrong), for one-line views."""
    return [c for c in record.get("client_impact") or () if c.get("outcome") in BREAKS]


def one_line(record: Mapping[str, Any]) -> str:
    """'@anthropic-ai/sdk 1.17.0: throws …; anthropic (Python) 2.17.0: silently wrong: …', or '' when none break."""
    return "; ".join(f"{c.get('name')}: {c.get('summary')}" for c in breaking(record))
