"""Behaviour retries: a failed probe a model may vary on is resent, and a pass that needed a retry is a warning.

Protocol checks are never retried: only rules marked ``behaviour`` (what a model may vary on, such
as obeying a stop-sequence prompt) get another attempt, and a pass that needed one is reported as
``warn`` with the attempts, never as a silent pass. The live run (engine.py) resends; replay.py
applies the attempts a cassette recorded through the same ``settle_attempt``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import replace

from .exchange import Attempt, Exchange
from .findings import Finding, Outcome
from .judge import Judge
from .scenarios import Case
from .transport import Transport

ATTEMPT = "#attempt"  # a retry's exchange id is ``<exchange id>#attempt<n>`` (unique in a cassette); what it repeats is its ``attempt`` field


def behaviour_failures(cases: list[Case], findings: list[Finding]) -> list[int]:
    """Indexes of the failed (or warned) cases of rules a model may vary on: the ones worth another attempt."""
    return [i for i, (c, f) in enumerate(zip(cases, findings, strict=True)) if c.rule.behaviour and f.outcome in (Outcome.FAIL, Outcome.WARN)]


def settle_attempt(
    judge: Judge, cases: list[Case], findings: list[Finding], out: list[Finding], pending: list[int], current: Mapping[str, Exchange], *, attempt: int, total: int
) -> list[int]:
    """Judge the pending cases again on one attempt's exchanges; a pass becomes a warning in ``out``. Returns those still failing."""
    again = Judge(judge.contract, judge.requests, current, model=judge.facts.model)
    still = []
    for i in pending:
        if again.judge(cases[i]).outcome is not Outcome.PASS:
            still.append(i)
            continue
        first = findings[i].message.splitlines()[0] if findings[i].message else ""
        out[i] = replace(
            findings[i],
            outcome=Outcome.WARN,
            message=f"Received: passed only on attempt {attempt} of {total} (behaviour probes may vary between samples)\nExpected: a pass on the first attempt\nAttempt 1: {first}",
            notes=(*findings[i].notes, f"attempt 1 failed: {findings[i].message}"),
        )
    return still


def mark_exhausted(out: list[Finding], pending: list[int], total: int) -> None:
    """Note on each case that failed every attempt how many there were."""
    for i in pending:
        out[i] = replace(out[i], notes=(*out[i].notes, f"failed on all {total} attempts"))


def _retry_scenarios(judge: Judge, findings: list[Finding], pending: list[int]) -> list[str]:
    """The scenarios behind the pending failures, with the twins they were compared with."""
    sids: set[str] = set()
    for i in pending:
        for violation in findings[i].violations:
            sid = violation.exchange
            if sid is not None and sid in judge.requests:
                sids.add(sid)
                twin = judge.requests[sid].twin
                if twin:
                    sids.add(twin)
    return sorted(sids)


async def retry_behaviour(
    judge: Judge, cases: list[Case], findings: list[Finding], transport: Transport, retries: int, *, wire: Mapping[str, str] | None = None
) -> tuple[list[Finding], list[Exchange]]:
    """Resend the scenarios of failed behaviour probes; returns the settled findings and the extra exchanges, named ``<exchange id>#attempt<n>``.

    ``wire`` maps the judge's scenario ids to the run's exchange ids (another API version's share
    judges under its spec's own ids), so the extra attempts land in the cassette under the exchange they repeat.
    """
    out = list(findings)
    extra: list[Exchange] = []
    pending = behaviour_failures(cases, findings)
    current = dict(judge.exchanges)
    names = wire or {}
    for attempt in range(2, retries + 2):
        if not pending:
            break
        fresh = await asyncio.gather(*(transport.send(judge.requests[sid]) for sid in _retry_scenarios(judge, findings, pending)))
        current.update({e.id: e for e in fresh})
        for exchange in fresh:
            wid = names.get(exchange.id, exchange.id)
            extra.append(replace(exchange, id=f"{wid}{ATTEMPT}{attempt}", attempt=Attempt(of=wid, number=attempt)))
        pending = settle_attempt(judge, cases, findings, out, pending, current, attempt=attempt, total=retries + 1)
    mark_exhausted(out, pending, retries + 1)
    return out, extra
