"""Plan → execute → judge: one run of the suite against one target.

Owns the per-run ``RunResult``: which cases were selected, which requests they needed, what came
back, what was judged, and what it cost. A preflight request goes first; if the target cannot
answer it, the run stops with one ``TargetError`` instead of hundreds of failures.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from . import budget, cassette
from ._types import JSON
from .budget import Estimate
from .checks.subject import error_event
from .contract.loader import load_contract
from .contract.model import Contract, Tier
from .errors import AuthRejected, RateLimited, TargetError, TargetTimeout, TargetUnreachable
from .exchange import Exchange, RecordedRequest
from .findings import Finding, Outcome
from .judge import Judge
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
from .sse.reading import read_stream
from .transport import Limits, Target, Timeouts, Transport, make_wrong_key

PREFLIGHT = "plain"


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


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _one_line(text: str, limit: int = 300) -> str:
    """Target text fit for the run's one-line verdict: whitespace collapsed, control characters as ``\\xNN``, cut."""
    flat = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", " ".join(text.split()))
    return flat if len(flat) <= limit else flat[:limit] + "…"


def _said(value: object) -> str:
    """A field of the target's error envelope as text; a structure where a string belongs is named, not printed (it may nest 10,000 deep)."""
    if isinstance(value, str):
        return value
    return str(value) if value is None or isinstance(value, int | float) else f"<{type(value).__name__}>"


def preflight_problem(exchange: Exchange, base_url: str) -> TargetError | None:
    """Why the target cannot be tested at all, or None when the basic request worked."""
    where = f"{exchange.request.method} {exchange.request.url}"
    if exchange.status is None:
        kind = TargetTimeout if exchange.error_kind == "timeout" else TargetUnreachable
        return kind(f"target unreachable: {where}: {_one_line(str(exchange.error))}", url=exchange.request.url)
    if exchange.ok and exchange.error is not None:  # a status came, then the body never completed: every request would hang the same way
        broke: type[TargetError] = TargetTimeout if exchange.error_kind == "timeout" else TargetError
        return broke(f"the target's answer to a basic request broke off: {where} → {exchange.status}, then after {len(exchange.body)} bytes: {_one_line(exchange.error)}", url=exchange.request.url)
    if exchange.ok:
        return None
    data = exchange.json
    error = data.get("error") if isinstance(data, dict) else None
    detail = _one_line(f"{_said(error.get('type'))}: {_said(error.get('message'))}" if isinstance(error, dict) else exchange.text(400), 160)
    if exchange.status in (401, 403):
        scheme = "Authorization: Bearer" if exchange.request.header("authorization") else "x-api-key"
        return AuthRejected(f"the target refused the API key sent as {scheme}: {exchange.status} {detail} (check the key, and the profile's auth schemes)")
    if exchange.status in (429, 529):
        return RateLimited(f"the target is rate limiting or overloaded: {where} → {exchange.status} {detail} after {exchange.attempts} attempts")
    hint = ""
    if exchange.status == 404 and base_url.rstrip("/").endswith("/v1"):
        hint = " — the base URL ends in /v1, but the suite appends /v1/messages itself; drop the /v1"
    elif 300 <= exchange.status < 400:
        hint = f" — redirect to {_one_line(str(exchange.header('location')))} (not followed to another origin, so the key stays private)"
    return TargetError(f"the target cannot answer a basic request: {where} → {exchange.status} {detail}{hint}", url=exchange.request.url)


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


def answer_held(exchange: Exchange) -> JSON:
    """What a client holds after an answer, to send back: the body, or the message it rebuilt from an intact stream."""
    if not exchange.streamed:
        return exchange.json
    reading = read_stream(exchange.body, exchange.chunks)
    return reading.message if not reading.grammar and error_event(reading) is None else None


async def execute(requests: Mapping[str, Request], transport: Transport, *, preflight: str = PREFLIGHT, progress: Progress | None = None) -> dict[str, Exchange]:
    """Send the preflight, then everything else concurrently (bounded by the transport)."""
    exchanges: dict[str, Exchange] = {}
    total = len(requests)

    def tick() -> None:
        if progress is not None:
            progress(len(exchanges), total)

    if preflight in requests:
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


def plan(settings: RunSettings, *, ids: Collection[str] | None = None) -> tuple[Contract, str, list[Case], dict[str, Request]]:
    """Load the contract, pick the cases, and list the requests they need (preflight first)."""
    contract = load_contract(settings.api_version, settings.profile, spec_dir=settings.spec_dir)
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


def run(
    settings: RunSettings,
    *,
    ids: Collection[str] | None = None,
    cassette_path: Path | None = None,
    progress: Progress | None = None,
    on_plan: Callable[[Estimate], None] | None = None,
) -> RunResult:
    """Plan, check the budget, execute (``TargetError`` when the preflight fails), judge, retry behaviour probes."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.monotonic()
    contract, model, cases, requests = plan(settings, ids=ids)
    cost_plan = planned_cost(settings, cases, requests)
    if on_plan is not None:
        on_plan(cost_plan)
    budget.enforce(cost_plan, max_requests=settings.max_requests, max_tokens_total=settings.max_tokens_total)
    target = Target(settings.base_url, settings.api_key, wrong_key=make_wrong_key(contract.wrong_key_prefix, length=contract.wrong_key_length, suffix=contract.wrong_key_suffix))

    done: list[tuple[dict[str, Exchange], list[Finding], list[Exchange], Judge, Spend]] = []

    async def go() -> None:
        transport = Transport(target, timeouts=settings.timeouts, limits=settings.limits, concurrency=settings.concurrency)
        try:
            exchanges = await execute(requests, transport, progress=progress) if requests else {}
            judge = Judge(contract, requests, exchanges, model=model)
            findings = judge.judge_all(cases)
            extra: list[Exchange] = []
            if settings.behaviour_retries > 0 and requests:
                findings, extra = await retry_behaviour(judge, cases, findings, transport, settings.behaviour_retries)
        finally:
            await transport.aclose()
        done.append((exchanges, findings, extra, judge, Spend(requests=transport.counters.requests, retries=transport.counters.retries)))

    # go() returns nothing on purpose: on the way out asyncio.run reprs its main task, result included
    # (signal.getsignal on the SIGINT handler), and the repr of 32 MiB bodies is a 128 MiB string.
    asyncio.run(go())
    exchanges, findings, extra, judge, spend = done[0]
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
    )
