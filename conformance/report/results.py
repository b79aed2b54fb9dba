"""A run as ``results.json``: the exchange format every reporter, baseline and comparison reads.

The document validates against ``conformance/report/results.schema.json`` (checked in tests).
It holds run metadata, one record per case, and what the run spent; never a secret (every value
came through the transport's redactor).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from .._types import JSONObject
from .._version import __version__
from ..engine import RunResult
from ..findings import Finding, Outcome
from ..redact import Redactor
from ..scenarios import Case
from ..versions import split
from .groups import KEPT, group

FORMAT = "anthropic-conformance/results/1"
SCHEMA_PATH = Path(__file__).with_name("results.schema.json")


def _violations(finding: Finding) -> list[JSONObject]:
    """The finding's violations, identical ones (same message and place) once with the other exchanges under ``also``."""
    groups = group((v.message, v.at, v.exchange, v.event_index) for v in finding.violations)
    return [
        {"message": g.message, "at": g.at, "exchange": g.representative, "event_index": g.event_index, **({"also": list(g.exchanges[1:])} if len(g.exchanges) > 1 else {})}
        for g in groups[:KEPT]
    ]


def finding_record(finding: Finding, case: Case | None, *, source_of: Mapping[str, str], api_version: str | None = None) -> JSONObject:
    """One case's verdict with the rule it judged and the evidence pointers; ``api_version`` is the run's primary version."""
    rule = case.rule if case is not None else None
    version = (case.api_version if case is not None else None) or split(finding.case_id)[1] or api_version
    return {
        "id": finding.case_id,
        "check": finding.check_id,
        "case": finding.case,
        "area": rule.area if rule else finding.check_id.split(".", 1)[0],
        "tier": rule.tier.value if rule else None,
        "level": finding.level.value,
        "level_reason": rule.level_reason if rule else "",
        "outcome": finding.outcome.value,
        "rule": rule.text if rule else "",
        "source": (case.source if case is not None else "") or source_of.get(finding.check_id, ""),
        "expect": list(case.expect.status) if case is not None and case.expect is not None else None,
        "message": finding.message,
        "exchanges": list(finding.exchanges),
        "violations": _violations(finding),
        "notes": list(finding.notes),
        "judged": list(finding.judged[:50]),
        "profile_override": rule.overridden_by if rule else "",
        **({"api_version": version} if version else {}),
    }


def build(result: RunResult, *, run_id: str, embedded: bool, name: str | None = None) -> JSONObject:
    """The results document of a finished run."""
    contract = result.contract
    cases = {c.id: c for c in result.cases}
    source_of = {r.id: share.contract.url(r.source) for share in result.shares for r in share.contract.rules.values()} | {r.id: contract.url(r.source) for r in contract.rules.values()}
    counts = {o.value: n for o, n in result.counts().items()}
    target = Redactor(()).text(result.base_url)  # a user:password@ in the base URL is a secret too
    return {
        "format": FORMAT,
        "run": {
            "id": run_id,
            "name": Redactor(()).text(name) if name else ("embedded" if embedded else target),
            "suite_version": __version__,
            "target": target,
            "embedded_reference": embedded,
            "profile": contract.profile.name,
            "model": result.model,
            "api_version": contract.api_version,
            "api_versions": [share.version for share in result.shares] or [contract.api_version],
            "spec_title": contract.title,
            "started_at": result.started_at,
            "wall_time_s": result.wall_time,
            **({"preflight": result.preflight.record()} if result.preflight is not None else {}),
        },
        "spend": {
            "requests": result.spend.requests,
            "retries": result.spend.retries,
            "reopened": result.spend.reopened,
            "input_tokens": result.spend.input_tokens,
            "output_tokens": result.spend.output_tokens,
            "cost_usd": result.spend.cost_usd,
            "by_tier": result.spend.by_tier,
            **({"planned_tokens": result.spend.planned_tokens} if result.spend.planned_tokens is not None else {}),
            **({"worst_case_s": result.spend.worst_seconds} if result.spend.worst_seconds is not None else {}),
            **({"breaker": list(result.spend.trips)} if result.spend.trips else {}),
        },
        "counts": counts,
        "must_failures": sum(1 for f in result.findings if f.outcome is Outcome.FAIL),
        "results": [finding_record(f, cases.get(f.case_id), source_of=source_of, api_version=contract.api_version) for f in result.findings],
    }


def write(path: Path, document: JSONObject) -> None:
    """Write the document, pretty-printed (people read it in CI artifacts)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
