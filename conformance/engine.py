"""Plan → execute → judge: one run of the suite against one target.

Owns the per-run ``RunResult``: which cases were selected, which requests they needed, what came
back, what was judged, and what it cost (counted by spending.py, which replay and the proxy share). A preflight request goes first (preflight.py); if the
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

from . import breaker, budget, cassette
from ._types import JSON
from .budget import Estimate
from .checks.subject import error_event
from .contract.model import Contract, Tier
from .exchange import ErrorKind, Exchange, RecordedRequest
from .extra_headers import ExtraHeaders
from .findings import Finding, Outcome
from .interrupts import Interruption, until_stopped
from .judge import Judge
from .preflight import MAX_FALLBACKS, PREFLIGHT, Preflight, Way, preflight_problem, settle
from .retries import retry_behaviour
from .scenarios import Case, Request, build_request, follow_up, scenario_specs
from .shares import Share, plan_shares
from .spending import Spend, spend_by_tier, spend_of
from .sse.reading import read_stream
from .transport import Limits, Target, Timeouts, Transport, make_wrong_key
from .versions import load_contracts, run_cases


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
    headers: ExtraHeaders = field(default_factory=ExtraHeaders)  # sent on every request; secret values never in a repr


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
    shares: tuple[Share, ...] = ()  # each API version's part (versions.py, shares.py); empty for a result built elsewhere

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
    """A follow-up that was not sent: the answer it continues is missing or not a Message (or was itself kept back: then so is this one)."""
    recorded = RecordedRequest(method=request.method, url=request.path, headers=(), body=request.body)
    if followed is not None and followed.error_kind is ErrorKind.WITHHELD:
        return Exchange(id=request.scenario, request=recorded, status=None, error=followed.error, error_kind=ErrorKind.WITHHELD, attempts=0)
    got = "no answer" if followed is None or followed.status is None else f"status {followed.status}"
    if followed is not None and followed.ok:
        got += " with no content to send back"
    return Exchange(
        id=request.scenario,
        request=recorded,
        status=None,
        error=f"not sent: it continues {request.follows}, which got {got}",
        error_kind=ErrorKind.NOT_SENT,
    )


def answer_held(exchange: Exchange) -> JSON:
    """What a client holds after an answer, to send back: the body, or the message it rebuilt from an intact stream."""
    if not exchange.streamed:
        return exchange.json
    reading = read_stream(exchange.body, exchange.chunks)
    return reading.message if not reading.grammar and error_event(reading) is None else None


async def execute(
    requests: Mapping[str, Request],
    transport: Transport,
    *,
    preflight: str = PREFLIGHT,
    done: Mapping[str, Exchange] | None = None,
    progress: Progress | None = None,
    into: dict[str, Exchange] | None = None,
) -> dict[str, Exchange]:
    """Send the preflight (unless ``done`` holds its answer already), then everything else concurrently (bounded by the transport).

    Answers land in ``into`` as they arrive, so a caller that stops the sending keeps what came back.
    """
    exchanges: dict[str, Exchange] = into if into is not None else {}
    exchanges.update({sid: e for sid, e in (done or {}).items() if sid in requests})
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
            continued = follow_up(request, answer_held(followed)) if followed is not None and followed.ok else None
            exchanges[sid] = await transport.send(continued) if continued is not None else _not_sent(request, followed)
        answered[sid].set()
        tick()

    await asyncio.gather(*(send(sid) for sid in requests if sid not in exchanges))
    return {sid: exchanges[sid] for sid in requests}


def _unanswered(sid: str, request: Request, interruption: Interruption) -> Exchange:
    """A request the interruption stopped before its answer came (cancelled in flight, or never sent)."""
    return Exchange(
        id=sid,
        request=RecordedRequest(method=request.method, url=request.path, headers=(), body=request.body),
        status=None,
        error=f"no answer: {interruption.describe()} before it came",
        error_kind=ErrorKind.INTERRUPTED,
    )


def _contracts(settings: RunSettings, way: Way | None = None) -> dict[str, Contract]:
    """Every live version's contract, the primary first: the run's, or ``way``'s version with its auth scheme as the primary one."""
    contracts = load_contracts(way.version if way else settings.api_version, settings.profile, spec_dir=settings.spec_dir)
    if way is None:
        return contracts
    return {v: replace(c, profile=replace(c.profile, auth_primary=way.scheme.value)) for v, c in contracts.items()}


@dataclass(frozen=True)
class RunPlan:
    """What a run will judge and send: the primary contract, every case, each API version's share, the requests (preflight first)."""

    contract: Contract
    model: str
    cases: list[Case]
    shares: tuple[Share, ...]
    requests: dict[str, Request]


def plan(settings: RunSettings, *, ids: Collection[str] | None = None, way: Way | None = None) -> RunPlan:
    """Load the live versions' contracts, pick the cases, and list the requests they need (preflight first); ``way`` overrides the primary version and auth scheme."""
    contracts = _contracts(settings, way)
    contract = next(iter(contracts.values()))
    model = resolve_model(contract, settings.model)
    cases = select_cases(run_cases(contracts, model), ids=ids, tier=settings.tier)
    shares, requests = plan_shares(contracts, cases, model=model, preflight=PREFLIGHT)
    return RunPlan(contract=contract, model=model, cases=cases, shares=shares, requests=requests)


def refusal_probes(chosen: RunPlan) -> set[str]:
    """The exchanges every case that names them expects refused: a target that refuses them bills nothing for them (Anthropic bills no 400)."""
    refused: set[str] = set()
    accepted: set[str] = set()
    for share in chosen.shares:
        for case in share.cases:
            if case.skip:
                continue
            wids = {share.exchange_id(sid) for sid in case.scenarios}
            if case.expect is not None and not case.expect.matches(200):
                refused |= wids
            else:
                accepted |= wids
    return refused - accepted


def planned_cost(settings: RunSettings, chosen: RunPlan) -> Estimate:
    """The estimate of a plan: requests, behaviour retries that may follow, tokens, and the worst-case wall time the run's clock enforces."""
    behaviour = {share.exchange_id(sid) for share in chosen.shares for case in share.cases if case.rule.behaviour for sid in case.scenarios}
    retried = [chosen.requests[wid] for wid in sorted(behaviour) if wid in chosen.requests]
    cost = budget.estimate(chosen.requests.values(), behaviour_scenarios=retried, behaviour_retries=settings.behaviour_retries, refusals=refusal_probes(chosen))
    worst = breaker.worst_case(
        chosen.requests.values(),
        concurrency=settings.concurrency,
        idle=settings.timeouts.read,
        total=settings.timeouts.total,
        short_total=settings.timeouts.short_total,
        extra=cost.retry_requests,
    )
    return replace(cost, worst_seconds=worst, concurrency=settings.concurrency)


def version_refused(share: Share, exchanges: Mapping[str, Exchange]) -> str | None:
    """Why another version's cases cannot be judged: the target refused a basic request in that very version.

    Its refusals would then pass every rule that expects a 400 for the wrong reason, and its other
    cases would fail for one cause that headers.known_versions_accepted already reports.
    """
    if share.primary:
        return None
    probe = exchanges.get(f"version.{share.version}")
    if probe is None or probe.status is None or not 400 <= probe.status < 500 or probe.status == 429:
        return None
    return f"not judged: the target refused a basic request under anthropic-version {share.version} (status {probe.status}, see headers.known_versions_accepted:{share.version})"


def judge_share(share: Share, exchanges: Mapping[str, Exchange], *, model: str) -> tuple[Judge, list[Finding]]:
    """One API version's cases judged against its own contract, on its view of the run (findings name its own scenario ids)."""
    judge = Judge(share.contract, share.requests, share.view(exchanges), model=model)
    return judge, judge.judge_all(list(share.cases))


async def preflight_plan(
    settings: RunSettings, chosen: RunPlan, transport: Transport, *, ids: Collection[str] | None, room: int
) -> tuple[RunPlan, Exchange, Preflight, list[Case]]:
    """Send the preflight (with the fallbacks ``room`` allows); when another way worked, plan again with it.

    Returns the plan to run, the preflight's answer (the new plan's ``plain``), the report, and the
    cases the first plan had and the new one lacks (another primary version may have other cases).
    """
    asked = Way(chosen.requests[PREFLIGHT].auth.scheme, chosen.contract.api_version)

    def request_for(way: Way) -> Request:
        if way == asked:
            return chosen.requests[PREFLIGHT]
        other = _contracts(settings, way)[way.version]
        return build_request(other, scenario_specs(other, chosen.model), PREFLIGHT, model=chosen.model)

    answer, report = await settle(transport, asked, request_for, versions=chosen.contract.known_versions, allowed=room)
    if not report.fell_back:
        return chosen, answer, report, []
    again = plan(settings, ids=ids, way=report.used)
    kept = {c.id for c in again.cases}
    return again, answer, report, [c for c in chosen.cases if c.id not in kept]


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
    interruption: Interruption | None = None,
) -> RunResult:
    """Plan, check the budget, preflight (``TargetError`` when no way works), execute, judge, retry behaviour probes.

    A fired ``interruption`` stops the sending: what arrived is judged, the rest is unanswered.
    """
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.monotonic()
    chosen = plan(settings, ids=ids)
    cost_plan = planned_cost(settings, chosen)
    if on_plan is not None:
        on_plan(cost_plan)
    budget.enforce(cost_plan, max_requests=settings.max_requests, max_tokens_total=settings.max_tokens_total)
    room = MAX_FALLBACKS if settings.max_requests is None else settings.max_requests - cost_plan.requests - cost_plan.retry_requests
    contract = chosen.contract
    target = Target(settings.base_url, settings.api_key, wrong_key=make_wrong_key(contract.wrong_key_prefix, length=contract.wrong_key_length, suffix=contract.wrong_key_suffix), headers=settings.headers)

    done: list[tuple[RunPlan, dict[str, Exchange], list[Finding], list[Case], list[Exchange], Judge, Spend, Preflight | None]] = []

    async def go() -> None:
        transport = Transport(target, timeouts=settings.timeouts, limits=settings.limits, concurrency=settings.concurrency)
        if cost_plan.worst_seconds is not None:  # the run's clock: what still waits at the printed worst case is cut, nothing more is sent
            transport.breaker.start_clock(cost_plan.worst_seconds - breaker.FINISH)
        extra: list[Exchange] = []
        judges: list[Judge] = []
        by_case: dict[str, Finding] = {}
        try:
            now, first, report = chosen, dict[str, Exchange](), None
            gone: list[Case] = []
            if PREFLIGHT in chosen.requests:
                with transport.breaker.preflight():
                    settled = await until_stopped(preflight_plan(settings, chosen, transport, ids=ids, room=room), interruption)
                if settled is not None:
                    now, answer, report, gone = settled
                    first[PREFLIGHT] = answer
            received = dict(first)
            if now.requests:
                await until_stopped(execute(now.requests, transport, preflight="", done=first, progress=progress, into=received), interruption)
            if interruption is not None and interruption.fired:
                received.update({sid: _unanswered(sid, r, interruption) for sid, r in now.requests.items() if sid not in received})
            exchanges = {sid: received[sid] for sid in now.requests}
            for share in now.shares:
                judge, local = judge_share(share, exchanges, model=now.model)
                judges.append(judge)
                refused = version_refused(share, exchanges)
                if refused is not None:
                    local = [replace(f, outcome=Outcome.SKIP, message=refused, violations=(), judged=()) for f in local]
                    by_case.update({c.id: share.to_run(f) for c, f in zip(share.cases, local, strict=True)})
                    continue
                if settings.behaviour_retries > 0 and now.requests:
                    retried = await until_stopped(retry_behaviour(judge, list(share.cases), local, transport, settings.behaviour_retries, wire=share.wire), interruption)
                    local, more = retried if retried is not None else (local, [])
                    extra += more
                by_case.update({c.id: share.to_run(f) for c, f in zip(share.cases, local, strict=True)})
        finally:
            await transport.aclose()
        findings = [by_case[c.id] for c in now.cases]
        cases = list(now.cases)
        if report is not None:
            cases, findings = [*cases, *gone], [*findings, *_gone(gone, report)]
            extra = [*report.refused_exchanges(), *extra]
        spend = Spend(
            requests=transport.counters.requests,
            retries=transport.counters.retries,
            reopened=transport.counters.reopened,
            planned_tokens=cost_plan.upper_tokens,
            worst_seconds=cost_plan.worst_seconds,
            trips=tuple(t.describe() for t in transport.breaker.trips),
        )
        done.append((now, exchanges, findings, cases, extra, judges[0], spend, report))

    # go() returns nothing on purpose: on the way out asyncio.run reprs its main task, result included
    # (signal.getsignal on the SIGINT handler), and the repr of 32 MiB bodies is a 128 MiB string.
    asyncio.run(go())
    used, exchanges, findings, cases, extra, judge, spend, report = done[0]
    if cassette_path is not None:
        cassette.write(cassette_path, [*exchanges.values(), *extra])
    spend.input_tokens, spend.output_tokens = spend_of(judge, {**exchanges, **{e.id: e for e in extra}})
    spend.cost_usd = budget.cost(used.contract.profile.prices, used.model, spend.input_tokens, spend.output_tokens)
    spend.by_tier = spend_by_tier(judge, used.shares, exchanges)
    return RunResult(
        contract=used.contract,
        model=used.model,
        base_url=target.url(""),
        cases=cases,
        requests=used.requests,
        exchanges=exchanges,
        findings=findings,
        spend=spend,
        started_at=started,
        wall_time=round(time.monotonic() - t0, 3),
        preflight=report,
        shares=used.shares,
    )
