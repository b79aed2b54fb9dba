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
from .engine import RunResult, resolve_model
from .errors import CassetteError
from .exchange import Exchange
from .findings import Finding
from .judge import Judge
from .preflight import PREFLIGHT
from .retries import behaviour_failures, mark_exhausted, settle_attempt
from .scenarios import Case
from .shares import plan_shares
from .spending import Spend, spend_of
from .versions import load_contracts, run_cases


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
        if exchange.attempt is not None:
            attempts.setdefault(exchange.attempt.of, {})[exchange.attempt.number] = exchange
        else:
            first.setdefault(exchange.id, exchange)
    contracts = load_contracts(api_version or str(meta.get("api_version") or "2023-06-01"), profile or str(meta.get("profile") or "anthropic"), spec_dir=spec_dir)
    contract = next(iter(contracts.values()))
    chosen = resolve_model(contract, model or (str(meta["model"]) if meta.get("model") else None))
    every = run_cases(contracts, chosen)
    shares, _ = plan_shares(contracts, every, model=chosen, preflight=PREFLIGHT)
    recorded = {c.id for share in shares for c in share.cases if c.skip or all(share.exchange_id(sid) in first for sid in c.scenarios)}
    cases = [c for c in every if c.id in recorded]  # only what the recording can judge (a run of one tier, or of -k, recorded less)
    shares, _ = plan_shares(contracts, cases, model=chosen, preflight=PREFLIGHT)
    by_case: dict[str, Finding] = {}
    judges: list[Judge] = []
    exchanges: dict[str, Exchange] = {}
    for share in shares:
        kept = {sid: r for sid, r in share.requests.items() if share.exchange_id(sid) in first}
        share = replace(share, requests=kept, wire={sid: share.exchange_id(sid) for sid in kept})
        exchanges.update({wid: first[wid] for wid in share.wire.values()})
        judge = Judge(share.contract, share.requests, share.view(first), model=chosen)
        judges.append(judge)
        local = judge.judge_all(list(share.cases))
        mine = {sid: attempts[wid] for sid, wid in share.wire.items() if wid in attempts}
        if mine:
            local = _retried(judge, list(share.cases), local, mine)
        by_case.update({c.id: share.to_run(f) for c, f in zip(share.cases, local, strict=True)})
    findings = [by_case[c.id] for c in cases]
    spend = Spend(requests=len(records))
    spend.input_tokens, spend.output_tokens = spend_of(judges[0], exchanges)
    spend.cost_usd = budget.cost(contract.profile.prices, chosen, spend.input_tokens, spend.output_tokens)
    return RunResult(
        contract=contract,
        model=chosen,
        base_url=str(meta.get("target") or (exchanges[next(iter(exchanges))].request.url.rsplit("/v1/", 1)[0] if exchanges else "")),
        cases=cases,
        requests={wid: r for share in shares for sid, r in share.requests.items() if (wid := share.exchange_id(sid)) in exchanges},
        exchanges=exchanges,
        findings=findings,
        spend=spend,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        wall_time=round(time.monotonic() - t0, 3),
        shares=shares,
    )
