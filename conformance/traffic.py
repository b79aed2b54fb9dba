"""Judging traffic nobody planned: every exchange a client sent through the proxy, with every rule that needs no planned request.

Which rules those are comes from the rules themselves: traffic offers every ``Need`` but the
suite's plan and the twins it sends (``Rule.judgeable_from``), so a property rule whose selector
names no scenario or tag and that reads no twin judges any exchange of the kind it selects. Each exchange is judged once, as it arrives, by the same ``Judge`` the planned
run uses (``among`` = this exchange); the other exchanges of a bounded window are its peers, so the
rules across a run (unique message, tool and request ids) look back that far. A ``Tally`` folds the
per-exchange verdicts of one case into the session's verdict, keeping counts and the first few
violations only: a session of any length is judged in flat memory. No I/O here; the proxy feeds it.
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from .contract.model import EVERY_NEED, Contract, Need, Selector
from .engine import RunResult
from .exchange import Exchange
from .findings import Finding, Outcome, Violation
from .judge import Judge, shown
from .scenarios import Case, Request
from .spending import Spend, tokens_of
from .versions import run_cases

WINDOW = 64  # exchanges kept as peers of the next one (cross-exchange rules look back this far)
WINDOW_BYTES = 64 * 1024 * 1024
EVIDENCE = 60  # exchanges kept whole for the report, the first that broke each rule
EVIDENCE_BYTES = 64 * 1024 * 1024
SHOWN = 3  # violations a verdict's message shows
KEPT_VIOLATIONS = 20  # violations a tally keeps (results.json shows up to 20)
KEPT_JUDGED = 50  # judged items a tally keeps (results.json shows up to 50)
KEPT_REASONS = 5  # distinct skip or error reasons a tally keeps
MAX_JUDGES = 8  # (version, model) pairs whose judges stay compiled
TRAFFIC = EVERY_NEED - {Need.PLAN, Need.TWIN}  # what an exchange nobody planned offers a check: all but the plan and its twins


def endpoint_of(path: str) -> str | None:
    """The Messages API endpoint a request path names (``messages``, ``count_tokens``, ``models``), None for any other path."""
    bare = path.split("?", 1)[0].rstrip("/")
    if bare.endswith("/v1/messages"):
        return "messages"
    if bare.endswith("/v1/messages/count_tokens"):
        return "count_tokens"
    if bare.endswith("/v1/models") or "/v1/models/" in bare:
        return "models"
    return None


def describe(selector: Selector) -> str:
    """The exchanges a selector picks, in words: ``streamed 2xx answers of /v1/messages``."""
    kind = {None: "", True: "streamed ", False: "non-streamed "}[selector.stream]
    status = {"ok": "2xx answers", "error": "error answers", "any": "answers"}.get(selector.status, "answers")
    where = {None: "any endpoint", "messages": "/v1/messages", "count_tokens": "/v1/messages/count_tokens", "models": "/v1/models"}.get(selector.endpoint, str(selector.endpoint))
    return f"{kind}{status} of {where}"


@dataclass
class Tally:
    """One case's verdict over a session: counts per outcome and the first few violations, judged items and reasons."""

    case: Case
    counts: Counter[Outcome] = field(default_factory=Counter)
    violations: list[Violation] = field(default_factory=list)
    broken_on: list[str] = field(default_factory=list)  # exchanges with a violation (the first few)
    judged: list[str] = field(default_factory=list)
    judged_on: list[str] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    violation_count: int = 0

    def add(self, finding: Finding, exchange_id: str) -> bool:
        """Fold one exchange's verdict in; True when this is the first exchange that broke the rule."""
        first = not self.broken
        self.counts[finding.outcome] += 1
        if finding.outcome in (Outcome.FAIL, Outcome.WARN):
            self.violation_count += len(finding.violations) or 1
            if len(self.broken_on) < SHOWN * 2:
                self.broken_on.append(exchange_id)
            room = KEPT_VIOLATIONS - len(self.violations)
            shown = finding.violations or (Violation(finding.message, exchange=exchange_id),)
            self.violations += [replace(v, exchange=v.exchange or exchange_id) for v in shown[: max(room, 0)]]
        if finding.outcome in (Outcome.PASS, Outcome.FAIL, Outcome.WARN) and finding.judged:
            if len(self.judged_on) < 12:
                self.judged_on.append(exchange_id)
            self.judged += list(finding.judged[: max(KEPT_JUDGED - len(self.judged), 0)])
        if finding.outcome in (Outcome.SKIP, Outcome.ERROR) and finding.message:
            reason = _without_exchange(finding.message, exchange_id)
            if reason in self.reasons or len(self.reasons) < KEPT_REASONS:
                self.reasons[reason] += 1
        return first and self.broken

    @property
    def broken(self) -> bool:
        """A violation (MUST or SHOULD) was seen on some exchange."""
        return self.counts[Outcome.FAIL] + self.counts[Outcome.WARN] > 0

    def finding(self, *, judged_total: int) -> Finding:
        """The session's verdict: a violation anywhere wins, then a pass, then an error; nothing judged is a skip."""
        case = self.case
        base = Finding(check_id=case.check_id, case=case.variation, outcome=Outcome.PASS, level=case.level)
        looked = sum(self.counts.values())
        counts = ", ".join(f"{n} {o.value}" for o, n in sorted(self.counts.items(), key=lambda i: list(Outcome).index(i[0])) if n)
        notes = [f"looked at {looked} of the session's {judged_total} judged exchange(s): {counts}"] if looked else []
        notes += [f"{n}× {reason}" for reason, n in self.reasons.most_common(KEPT_REASONS)]
        if self.broken:
            outcome = Outcome.FAIL if self.counts[Outcome.FAIL] else Outcome.WARN
            message = shown(self.violations[:SHOWN])  # as a planned run shows them; the count of the rest is the session's
            more = self.violation_count - min(SHOWN, len(self.violations))
            if more > 0:
                message += f"\n… and {more} more violation(s); broken on {self.counts[Outcome.FAIL] + self.counts[Outcome.WARN]} exchange(s)"
            return replace(base, outcome=outcome, message=message, violations=tuple(self.violations), exchanges=tuple(self.broken_on), notes=tuple(notes), judged=tuple(self.judged))
        if self.counts[Outcome.PASS]:
            return replace(base, exchanges=tuple(self.judged_on), notes=tuple(notes), judged=tuple(self.judged))
        if self.counts[Outcome.ERROR]:
            errors = [r for r in self.reasons if r]
            return replace(base, outcome=Outcome.ERROR, message="; ".join(errors[:3]) or "no answer to judge", notes=tuple(notes))
        if self.reasons:
            return replace(base, outcome=Outcome.SKIP, message="not applicable to any exchange of the session: " + "; ".join(list(self.reasons)[:3]), notes=tuple(notes))
        assert case.rule.on is not None
        return replace(base, outcome=Outcome.SKIP, message=f"no exchange of the session was one this rule judges ({describe(case.rule.on)})")


def _without_exchange(message: str, exchange_id: str) -> str:
    """A reason with this exchange's id taken out, so that the same reason on many exchanges is counted once."""
    return message.replace(f"{exchange_id}: ", "").replace(f"[{exchange_id}] ", "").removeprefix("not applicable: ")


@dataclass(frozen=True, slots=True)
class Judged:
    """What one exchange was judged to be: outcome counts and the rules it broke first in the session."""

    exchange: Exchange
    counts: Mapping[Outcome, int]
    newly_broken: tuple[Case, ...]
    broken: tuple[Case, ...]
    judged: bool  # False: not a Messages API endpoint, forwarded only


@dataclass
class _Window:
    """The last exchanges, by id, within a count and a byte budget (the peers cross-exchange rules compare with)."""

    limit: int
    budget: int
    items: OrderedDict[str, Exchange] = field(default_factory=OrderedDict)
    size: int = 0

    def add(self, exchange: Exchange) -> list[str]:
        """Keep ``exchange``; return the ids that had to leave."""
        self.items[exchange.id] = exchange
        self.size += len(exchange.body) + len(exchange.request.body)
        gone: list[str] = []
        while len(self.items) > 1 and (len(self.items) > self.limit or self.size > self.budget):
            old_id, old = self.items.popitem(last=False)
            self.size -= len(old.body) + len(old.request.body)
            gone.append(old_id)
        return gone


class TrafficJudge:
    """Judges each exchange of a session as it completes, with every rule any exchange can put to the test."""

    def __init__(self, contracts: Mapping[str, Contract], *, default_model: str, base_url: str = "") -> None:
        self.contracts = dict(contracts)
        self.primary = next(iter(self.contracts))
        self.default_model = default_model
        self.base_url = base_url
        self.requests: dict[str, Request] = {}
        self.window = _Window(WINDOW, WINDOW_BYTES)
        self._pinned: OrderedDict[str, Exchange] = OrderedDict()
        self._pinned_bytes = 0
        self._cases: dict[str, list[Case]] = {}
        self._judges: OrderedDict[tuple[str, str], Judge] = OrderedDict()
        self.tallies: dict[str, Tally] = {c.id: Tally(c) for c in self.cases(default_model)}
        self.models: Counter[str] = Counter()
        self.versions: Counter[str] = Counter()
        self.spend = Spend()
        self.exchanges_seen = 0
        self.judged_exchanges = 0
        self.not_judged = 0
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._t0 = time.monotonic()

    # ------------------------------------------------------------------------------ cases

    def cases(self, model: str) -> list[Case]:
        """The traffic cases for ``model`` (its facts may skip some): every live version's, ids carrying the version where they differ."""
        if model not in self._cases:
            every = run_cases(self.contracts, model)
            self._cases[model] = [c for c in every if c.rule.judgeable_from(TRAFFIC)]
            if len(self._cases) > MAX_JUDGES * 4:
                self._cases.pop(next(iter(self._cases)))
        return self._cases[model]

    def planned_rules(self) -> list[tuple[str, str]]:
        """(rule id, why it needs the suite's own requests) for every rule of the primary contract the proxy cannot judge."""
        contract = self.contracts[self.primary]
        return [(r.id, reason) for r in contract.rules.values() if (reason := r.needs_plan) is not None]

    def _judge(self, version: str, model: str) -> Judge:
        key = (version, model)
        judge = self._judges.get(key)
        if judge is None:
            judge = Judge(self.contracts[version], self.requests, self.window.items, model=model)
            self._judges[key] = judge
            if len(self._judges) > MAX_JUDGES:
                self._judges.popitem(last=False)
        else:
            self._judges.move_to_end(key)
        return judge

    def version_of(self, request: Request) -> str:
        """The live version a request names in anthropic-version, else the primary one (its contract judges it)."""
        named = next((v for k, v in request.headers if k.lower() == "anthropic-version"), None)
        return named if named in self.contracts else self.primary

    # ---------------------------------------------------------------------------- judging

    def add(self, exchange: Exchange, request: Request) -> Judged:
        """Judge one exchange with every traffic case that selects it; fold the verdicts into the session's tallies."""
        self.exchanges_seen += 1
        self.spend.requests += 1
        if endpoint_of(request.path) is None:
            self.not_judged += 1
            return Judged(exchange, {}, (), (), judged=False)
        self.judged_exchanges += 1
        version = self.version_of(request)
        body = request.json_body()
        named = body.get("model") if isinstance(body, dict) else None
        model = named if isinstance(named, str) and named else self.default_model
        if model is named:
            self.models[model] += 1
        self.versions[version] += 1
        self.requests[exchange.id] = request
        for gone in self.window.add(exchange):
            self.requests.pop(gone, None)
            for judge in self._judges.values():
                judge.forget(gone)
        judge = self._judge(version, model)
        counts: Counter[Outcome] = Counter()
        newly: list[Case] = []
        broken: list[Case] = []
        for case in self.cases(model):
            if case.api_version not in (None, version):
                continue
            assert case.rule.on is not None
            if not judge.select(case.rule.on, (exchange.id,)):
                continue  # not an exchange of the kind this rule judges (an error answer for a rule on 2xx answers, …)
            finding = judge.judge(case, among=(exchange.id,))
            counts[finding.outcome] += 1
            tally = self.tallies.setdefault(case.id, Tally(case))
            if tally.add(finding, exchange.id):
                newly.append(case)
            if finding.outcome in (Outcome.FAIL, Outcome.WARN):
                broken.append(case)
        self._count_tokens(judge, exchange)
        if broken:
            self._pin(exchange)
        return Judged(exchange, dict(counts), tuple(newly), tuple(broken), judged=True)

    def _count_tokens(self, judge: Judge, exchange: Exchange) -> None:
        """Add the tokens a Messages answer reports to the session's spend, the way a planned run counts them."""
        if endpoint_of(exchange.request.url) != "messages":
            return
        tokens_in, tokens_out = tokens_of(judge, exchange)
        self.spend.input_tokens += tokens_in
        self.spend.output_tokens += tokens_out

    def _pin(self, exchange: Exchange) -> None:
        """Keep an exchange that broke a rule as evidence for the report, while the evidence budget lasts."""
        size = len(exchange.body) + len(exchange.request.body)
        if exchange.id in self._pinned or len(self._pinned) >= EVIDENCE or self._pinned_bytes + size > EVIDENCE_BYTES:
            return
        self._pinned[exchange.id] = exchange
        self._pinned_bytes += size

    # ----------------------------------------------------------------------------- result

    def findings(self) -> list[Finding]:
        """The session's verdict on every traffic case, in spec order."""
        return [tally.finding(judged_total=self.judged_exchanges) for tally in self.tallies.values()]

    def result(self) -> RunResult:
        """The session as a ``RunResult``: the reporters of a planned run render it unchanged."""
        models = [m for m, _ in self.models.most_common(3)]
        return RunResult(
            contract=self.contracts[self.primary],
            model=", ".join(models) or self.default_model,
            base_url=self.base_url,
            cases=[t.case for t in self.tallies.values()],
            requests={},
            exchanges=dict(self._pinned),
            findings=self.findings(),
            spend=self.spend,
            started_at=self.started_at,
            wall_time=round(time.monotonic() - self._t0, 3),
        )
