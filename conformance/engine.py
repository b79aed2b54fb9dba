"""Plan → execute → judge: one run of the suite against one target.

Owns the per-run ``RunResult``: which cases were selected, which requests they needed, what came
back, what was judged, and what it cost. A preflight request goes first (preflight.py); if the
target refuses it, the other auth scheme and API version are tried, and the run is planned again
with the way that worked; if none works, the run stops with one ``TargetError`` instead of hundreds
of failures.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from . import budget, cassette
from .budget import Estimate
from .contract.loader import load_contract
from .contract.model import Contract, Tier
from .exchange import Exchange, RecordedRequest
from .findings import Finding, Outcome
from .judge import Judge
from .preflight import MAX_FALLBACKS, PREFLIGHT, Preflight, Way, preflight_problem, scheme_of, settle
from .scenarios import (
    NOT_SENT,
    Case,
    Request,
    build_cases,
    build_request,
    follow_up,
    plan_requests,
    scenario_specs,
)
from .transport import Limits, Target, Timeouts, Transport, make_wrong_key


@dataclass(frozen=True)
class RunSettings:
    """Everything one run needs to know; the key never appears in a repr."""

    base_url: str
    api_key: str = field(repr=False)
    model: str | None = None
    api_version: str = "2023-06-01"
    profile: str = "anthropic"
    spec_dir: str | None = None
    concurrency: int = 4
    timeouts: Timeouts = field(default_factory=Timeouts)
    limits: Limits = field(default_factory=Limits)
    tier: Tier | None = None
    behaviour_retries: int = 1
    max_requests: int | None = None
    max_tokens_total: int | None = None


@dataclass
class Spend:
    """What a run cost: requests on the wire (retries included) and tokens the target reported."""

    requests: int = 0
    retries: int = 0
    reopened: int = 0  # requests resent on a new connection after the target closed a kept-alive one under them
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    by_tier: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


@dataclass
class RunResult:
    """A finished (or replayed) run."""

    contract: Contract
    model: str
    base_url: str
    cases: list[Case]
    requests: dict[str, Request]
    exchanges: dict[str, Exchange]
    findings: list[Finding]
    spend: Spend
    started_at: str
    wall_time: float
    preflight: Preflight | None = None  # how the basic request was accepted (None: no preflight, or a replay)

    def by_case(self) -> dict[str, Finding]:
        """Findings keyed by case id (``check`` or ``check:variation``)."""
        return {f.case_id: f for f in self.findings}

    def counts(self) -> dict[Outcome, int]:
        """How many findings had each outcome."""
        out = dict.fromkeys(Outcome, 0)
        for finding in self.findings:
            out[finding.outcome] += 1
        return out


def resolve_model(contract: Contract, model: str | None) -> str:
    """The model to test: the option, else the profile's default."""
    chosen = model or contract.profile.default_model
    if not chosen:
        from .errors import ConfigError

        raise ConfigError(f"no --model given and profile {contract.profile.name!r} declares no default model")
    return chosen


def select_cases(cases: list[Case], *, ids: Collection[str] | None = None, tier: Tier | None = None) -> list[Case]:
    """The cases a run judges: by id (as pytest selected them) and by tier."""
    picked = [c for c in cases if ids is None or c.id in ids]
    if tier is not None:
        picked = [c for c in picked if c.rule.tier.rank <= tier.rank]
    return picked


Progress = Callable[[int, int], None]


def _not_sent(request: Request, followed: Exchange | None) -> Exchange:
    """A follow-up that was not sent: the answer it continues is missing or not a Message."""
    got = "no answer" if followed is None or followed.status is None else f"status {followed.status}"
    if followed is not None and followed.ok:
        got += " with no content to send back"
    return Exchange(
        id=request.scenario,
        request=RecordedRequest(method=request.method, url=request.path, headers=(), body=request.body),
        status=None,
        error=f"not sent: it continues {request.follows}, which got {got}",
        error_kind=NOT_SENT,
    )


async def execute(
    requests: Mapping[str, Request], transport: Transport, *, preflight: str = PREFLIGHT, done: Mapping[str, Exchange] | None = None, progress: Progress | None = None
) -> dict[str, Exchange]:
    """Send the preflight (unless ``done`` holds its answer already), then everything else concurrently (bounded by the transport)."""
    exchanges: dict[str, Exchange] = {sid: e for sid, e in (done or {}).items() if sid in requests}
    total = len(requests)

    def tick() -> None:
        if progress is not None:
            progress(len(exchanges), total)

    if exchanges:
        tick()
    if preflight in requests and preflight not in exchanges:
        first = await transport.send(requests[preflight])
        problem = preflight_problem(first, transport.target.base_url)
        if problem is not None:
            raise problem
        exchanges[preflight] = first
        tick()

    answered = {sid: asyncio.Event() for sid in requests}
    for sid in exchanges:
        answered[sid].set()

    async def send(sid: str) -> None:
        request = requests[sid]
        if request.follows is None:
            exchanges[sid] = await transport.send(request)
        else:  # a follow-up continues an answer, so it waits for that answer
            followed = None
            if request.follows in answered:
                await answered[request.follows].wait()
                followed = exchanges.get(request.follows)
            continued = follow_up(request, followed.json) if followed is not None and followed.ok else None
            exchanges[sid] = await transport.send(continued) if continued is not None else _not_sent(request, followed)
        answered[sid].set()
        tick()

    await asyncio.gather(*(send(sid) for sid in requests if sid not in exchanges))
    return {sid: exchanges[sid] for sid in requests}


def spend_by_tier(judge: Judge, cases: list[Case], exchanges: Mapping[str, Exchange]) -> dict[str, dict[str, int]]:
    """What each tier of this run cost: the requests its cases needed (with the preflight) and their tokens."""
    out: dict[str, dict[str, int]] = {}
    for tier in Tier:
        needed = {PREFLIGHT} | {sid for case in cases if case.rule.tier.rank <= tier.rank and not case.skip for sid in case.scenarios}
        twins = {judge.requests[sid].twin for sid in needed if sid in judge.requests and judge.requests[sid].twin}
        chosen = {sid: exchanges[sid] for sid in needed | {t for t in twins if t} if sid in exchanges}
        tokens_in, tokens_out = spend_of(judge, chosen)
        out[tier.value] = {"requests": len(chosen), "input_tokens": tokens_in, "output_tokens": tokens_out}
    return out


def spend_of(judge: Judge, exchanges: Mapping[str, Exchange]) -> tuple[int, int]:
    """Input and output tokens the target reported across the run."""
    total_in = total_out = 0
    for exchange in exchanges.values():
        if not exchange.ok:
            continue
        reading = judge.reading(exchange)
        message = reading.message if reading is not None else exchange.json
        usage = message.get("usage") if isinstance(message, dict) else None
        if not isinstance(usage, dict):
            continue
        for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"):
            value = usage.get(key)
            total_in += value if isinstance(value, int) and not isinstance(value, bool) else 0
        value = usage.get("output_tokens")
        total_out += value if isinstance(value, int) and not isinstance(value, bool) else 0
    return total_in, total_out


def _contract(settings: RunSettings, way: Way | None = None) -> Contract:
    """The contract of the run's API version, or of ``way``'s with its auth scheme as the primary one."""
    contract = load_contract(way.version if way else settings.api_version, settings.profile, spec_dir=settings.spec_dir)
    if way is None:
        return contract
    return replace(contract, profile=replace(contract.profile, auth_primary=way.scheme.value))


def plan(settings: RunSettings, *, ids: Collection[str] | None = None, way: Way | None = None) -> tuple[Contract, str, list[Case], dict[str, Request]]:
    """Load the contract, pick the cases, and list the requests they need (preflight first); ``way`` overrides the version and primary auth scheme."""
    contract = _contract(settings, way)
    model = resolve_model(contract, settings.model)
    cases = select_cases(build_cases(contract, model), ids=ids, tier=settings.tier)
    needed = plan_requests(contract, cases, model=model)
    if not needed:
        return contract, model, cases, {}
    preflight = build_request(contract, scenario_specs(contract, model), PREFLIGHT, model=model)
    return contract, model, cases, {PREFLIGHT: preflight, **{k: v for k, v in needed.items() if k != PREFLIGHT}}


def planned_cost(settings: RunSettings, cases: list[Case], requests: Mapping[str, Request]) -> Estimate:
    """The estimate of a plan: requests, and behaviour retries that may follow."""
    behaviour = {sid for case in cases if case.rule.behaviour for sid in case.scenarios if sid in requests}
    return budget.estimate(requests.values(), behaviour_scenarios=[requests[sid] for sid in sorted(behaviour)], behaviour_retries=settings.behaviour_retries)


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
    judge: Judge, cases: list[Case], findings: list[Finding], transport: Transport, retries: int
) -> tuple[list[Finding], list[Exchange]]:
    """Resend the scenarios of failed behaviour probes; a probe that passes on retry is a warning.

    Protocol checks are never retried: only rules marked ``behaviour`` (what a model may vary
    on, such as obeying a stop-sequence prompt) get another attempt, and a pass that needed one
    is reported as ``warn`` with the attempts, never as a silent pass.
    """
    out = list(findings)
    extra: list[Exchange] = []
    pending = behaviour_failures(cases, findings)
    current = dict(judge.exchanges)
    for attempt in range(2, retries + 2):
        if not pending:
            break
        fresh = await asyncio.gather(*(transport.send(judge.requests[sid]) for sid in _retry_scenarios(judge, findings, pending)))
        current.update({e.id: e for e in fresh})
        extra += [replace(e, id=f"{e.id}#attempt{attempt}") for e in fresh]
        pending = settle_attempt(judge, cases, findings, out, pending, current, attempt=attempt, total=retries + 1)
    mark_exhausted(out, pending, retries + 1)
    return out, extra


Planned = tuple[Contract, str, list[Case], dict[str, Request]]


async def preflight_plan(
    settings: RunSettings, planned: Planned, transport: Transport, *, ids: Collection[str] | None, room: int
) -> tuple[Planned, Exchange, Preflight, list[Case]]:
    """Send the preflight (with the fallbacks ``room`` allows); when another way worked, plan again with it.

    Returns the plan to run, the preflight's answer (the new plan's ``plain``), the report, and the
    cases the first plan had and the new one lacks (another API version has other cases).
    """
    contract, model, cases, requests = planned
    asked = Way(scheme_of(requests[PREFLIGHT].auth), contract.api_version)

    def request_for(way: Way) -> Request:
        if way == asked:
            return requests[PREFLIGHT]
        other = _contract(settings, way)
        return build_request(other, scenario_specs(other, model), PREFLIGHT, model=model)

    answer, report = await settle(transport, asked, request_for, versions=contract.known_versions, allowed=room)
    if not report.fell_back:
        return planned, answer, report, []
    again = plan(settings, ids=ids, way=report.used)
    kept = {c.id for c in again[2]}
    return again, answer, report, [c for c in cases if c.id not in kept]


def _gone(cases: list[Case], report: Preflight) -> list[Finding]:
    """Skips for the cases of the version the target refused that the version it accepted does not have."""
    why = f"not judged: the target refused API version {report.asked.version}, so the run used {report.used.version}, which has no such case"
    return [Finding(check_id=c.check_id, case=c.variation, outcome=Outcome.SKIP, level=c.level, message=why) for c in cases]


def run(
    settings: RunSettings,
    *,
    ids: Collection[str] | None = None,
    cassette_path: Path | None = None,
    progress: Progress | None = None,
    on_plan: Callable[[Estimate], None] | None = None,
) -> RunResult:
    """Plan, check the budget, preflight (``TargetError`` when no way works), execute, judge, retry behaviour probes."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.monotonic()
    planned = plan(settings, ids=ids)
    cost_plan = planned_cost(settings, planned[2], planned[3])
    if on_plan is not None:
        on_plan(cost_plan)
    budget.enforce(cost_plan, max_requests=settings.max_requests, max_tokens_total=settings.max_tokens_total)
    room = MAX_FALLBACKS if settings.max_requests is None else settings.max_requests - cost_plan.requests - cost_plan.retry_requests
    contract = planned[0]
    target = Target(settings.base_url, settings.api_key, wrong_key=make_wrong_key(contract.wrong_key_prefix, length=contract.wrong_key_length, suffix=contract.wrong_key_suffix))

    done: list[tuple[Planned, dict[str, Exchange], list[Finding], list[Exchange], Judge, Spend, Preflight | None]] = []

    async def go() -> None:
        transport = Transport(target, timeouts=settings.timeouts, limits=settings.limits, concurrency=settings.concurrency)
        try:
            now, first, report = planned, dict[str, Exchange](), None
            gone: list[Case] = []
            if PREFLIGHT in planned[3]:
                now, answer, report, gone = await preflight_plan(settings, planned, transport, ids=ids, room=room)
                first[PREFLIGHT] = answer
            contract, model, cases, requests = now
            exchanges = await execute(requests, transport, preflight="", done=first, progress=progress) if requests else {}
            judge = Judge(contract, requests, exchanges, model=model)
            findings = judge.judge_all(cases)
            extra: list[Exchange] = []
            if settings.behaviour_retries > 0 and requests:
                findings, extra = await retry_behaviour(judge, cases, findings, transport, settings.behaviour_retries)
            if report is not None:
                now, findings = (contract, model, [*cases, *gone], requests), [*findings, *_gone(gone, report)]
                extra = [*report.refused_exchanges(), *extra]
        finally:
            await transport.aclose()
        done.append((now, exchanges, findings, extra, judge, Spend(requests=transport.counters.requests, retries=transport.counters.retries, reopened=transport.counters.reopened), report))

    # go() returns nothing on purpose: on the way out asyncio.run reprs its main task, result included
    # (signal.getsignal on the SIGINT handler), and the repr of 32 MiB bodies is a 128 MiB string.
    asyncio.run(go())
    (contract, model, cases, requests), exchanges, findings, extra, judge, spend, report = done[0]
    if cassette_path is not None:
        cassette.write(cassette_path, [*exchanges.values(), *extra])
    spend.input_tokens, spend.output_tokens = spend_of(judge, {**exchanges, **{e.id: e for e in extra}})
    spend.cost_usd = budget.cost(contract.profile.prices, model, spend.input_tokens, spend.output_tokens)
    spend.by_tier = spend_by_tier(judge, cases, exchanges)
    return RunResult(
        contract=contract,
        model=model,
        base_url=target.url(""),
        cases=cases,
        requests=requests,
        exchanges=exchanges,
        findings=findings,
        spend=spend,
        started_at=started,
        wall_time=round(time.monotonic() - t0, 3),
        preflight=report,
    )
