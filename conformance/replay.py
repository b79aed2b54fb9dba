"""Re-judge a recorded run offline: the cassette's exchanges, today's checks and specs, no network.

A cassette holds every exchange of a run, redacted. Replaying it rebuilds the requests the
current spec would send for the recorded scenarios, judges the recorded answers with the current
checks (including recorded behaviour retries), and produces a fresh result: old runs get new
checks and new reports for free.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from . import budget, cassette
from .contract.loader import load_contract
from .engine import (
    RunResult,
    Spend,
    behaviour_failures,
    mark_exhausted,
    resolve_model,
    settle_attempt,
    spend_of,
)
from .errors import CassetteError
from .exchange import Exchange
from .findings import Finding
from .judge import Judge
from .scenarios import Case, build_cases, plan_requests

ATTEMPT = "#attempt"


def locate(path: Path) -> tuple[Path, dict[str, object]]:
    """The cassette of a run folder (or the file itself) and the run metadata next to it, if any."""
    if path.is_dir():
        tape = path / "cassette.jsonl"
        meta_file = path / "results.json"
    else:
        tape, meta_file = path, path.with_name("results.json")
    if not tape.is_file():
        raise CassetteError(f"{path}: no cassette.jsonl to replay")
    meta: dict[str, object] = {}
    if meta_file.is_file():
        try:
            run = json.loads(meta_file.read_text(encoding="utf-8")).get("run", {})
            meta = run if isinstance(run, dict) else {}
        except ValueError as exc:
            raise CassetteError(f"{meta_file}: not JSON ({exc})") from exc
    return tape, meta


def _retried(judge: Judge, cases: list[Case], findings: list[Finding], attempts: dict[str, dict[int, Exchange]]) -> list[Finding]:
    """Apply recorded behaviour retries exactly as the live run did (no new requests)."""
    out = list(findings)
    current = dict(judge.exchanges)
    pending = behaviour_failures(cases, findings)
    numbers = sorted({n for by_attempt in attempts.values() for n in by_attempt})
    total = max(numbers, default=1)
    for attempt in numbers:
        current.update({sid: replace(by_attempt[attempt], id=sid) for sid, by_attempt in attempts.items() if attempt in by_attempt})
        pending = settle_attempt(judge, cases, findings, out, pending, current, attempt=attempt, total=total)
    mark_exhausted(out, pending, total)
    return out


def replay(
    path: Path | str, *, profile: str | None = None, api_version: str | None = None, model: str | None = None, spec_dir: str | None = None
) -> RunResult:
    """Judge a recorded run again with the current checks; options default to what the run used."""
    t0 = time.monotonic()
    tape, meta = locate(Path(path))
    records = list(cassette.read(tape))
    first: dict[str, Exchange] = {}
    attempts: dict[str, dict[int, Exchange]] = {}
    for exchange in records:
        sid, _, attempt = exchange.id.partition(ATTEMPT)
        if attempt:
            attempts.setdefault(sid, {})[int(attempt)] = exchange
        else:
            first.setdefault(sid, exchange)
    contract = load_contract(api_version or str(meta.get("api_version") or "2023-06-01"), profile or str(meta.get("profile") or "anthropic"), spec_dir=spec_dir)
    chosen = resolve_model(contract, model or (str(meta["model"]) if meta.get("model") else None))
    cases = [c for c in build_cases(contract, chosen) if c.skip or all(sid in first for sid in c.scenarios)]
    requests = {sid: r for sid, r in plan_requests(contract, cases, model=chosen).items() if sid in first}
    exchanges = {sid: first[sid] for sid in requests}
    judge = Judge(contract, requests, exchanges, model=chosen)
    findings = _retried(judge, cases, judge.judge_all(cases), attempts) if attempts else judge.judge_all(cases)
    spend = Spend(requests=len(records))
    spend.input_tokens, spend.output_tokens = spend_of(judge, exchanges)
    spend.cost_usd = budget.cost(contract.profile.prices, chosen, spend.input_tokens, spend.output_tokens)
    return RunResult(
        contract=contract,
        model=chosen,
        base_url=str(meta.get("target") or (exchanges[next(iter(exchanges))].request.url.rsplit("/v1/", 1)[0] if exchanges else "")),
        cases=cases,
        requests=requests,
        exchanges=exchanges,
        findings=findings,
        spend=spend,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        wall_time=round(time.monotonic() - t0, 3),
    )
