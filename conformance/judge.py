"""Recorded exchanges + cases → findings. No I/O: one judge for a live run, a replay, the proxy's traffic and ``validate``.

Each way of judging picks the rules it can put to the test by what they read (``Rule.judgeable_from``),
then goes through the same selection (``Judge.select``), the same subject (``Judge.subject``), the same
check application (``apply``: the one place a check's exceptions become results) and the same
outcome mapping (``outcome_of``, ``shown``).

Expectation cases compare one exchange's status with the spec's expectation; property cases
run their registered check on every exchange their selector picks and aggregate. Outcomes:
a violation of a MUST fails, of a SHOULD warns; NotApplicable everywhere skips with the reason;
an exchange that got no answer (or only 429/529 after retries) is ``error``, never ``fail``, and so
is a stream that broke off with an error event for every check that needed its final message,
unless other exchanges let the rule reach a verdict.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from .checks.registry import CheckFn, registered
from .checks.subject import SchemaBook, Subject, Unjudgeable, infrastructure_failure
from .contract.model import Contract, RuleKind, Selector
from .exchange import ErrorKind, Exchange
from .findings import Finding, Level, NotApplicable, NotForced, Outcome, Violation
from .scenarios import Case, Request
from .sse.reading import StreamReading, read_stream

MAX_SHOWN = 3


class Applied(enum.Enum):
    """How one check went on one exchange: judged, or why not (each way of judging maps these to its outcomes)."""

    JUDGED = "judged"
    NOT_APPLICABLE = "not applicable"  # the answer holds nothing this rule is about
    NOT_FORCED = "not forced"  # the probe's answer shows the model did not do what the prompt asked
    UNJUDGEABLE = "unjudgeable"  # a limit of ours, or an error event, left nothing to judge
    BROKEN_OFF = "broken off"  # not applicable because the answer broke off: infrastructure, not the rule
    CRASHED = "crashed"  # the check raised: the tool's error, never the target's fault


@dataclass(frozen=True, slots=True)
class OnExchange:
    """One check's result on one exchange: what it judged and found, or (``reason``) why it judged nothing."""

    applied: Applied
    judged: tuple[str, ...] = ()
    violations: tuple[Violation, ...] = ()
    reason: str = ""


def apply(fn: CheckFn, subject: Subject) -> OnExchange:
    """Run one check on one exchange: the one place a check's exceptions become results (run, replay, proxy, validate)."""
    try:
        result = fn(subject)
        if not result.judged and not result.violations:
            raise NotApplicable("the check found nothing to judge in this answer")
    except Unjudgeable as exc:
        return OnExchange(Applied.UNJUDGEABLE, reason=str(exc))
    except NotApplicable as exc:
        # On an answer that broke off, "not applicable" only means "not there to judge": infrastructure.
        broken = subject.broken_off()
        if broken is not None:
            return OnExchange(Applied.BROKEN_OFF, reason=broken)
        return OnExchange(Applied.NOT_FORCED if isinstance(exc, NotForced) else Applied.NOT_APPLICABLE, reason=str(exc))
    except Exception as exc:  # a bug in a check is the tool's error, never the target's fault
        return OnExchange(Applied.CRASHED, reason=f"{type(exc).__name__}: {exc}")
    return OnExchange(Applied.JUDGED, judged=tuple(result.judged), violations=tuple(result.violations))


def outcome_of(level: Level) -> Outcome:
    """What a violation of a rule at ``level`` is: a MUST fails, a SHOULD warns."""
    return Outcome.FAIL if level is Level.MUST else Outcome.WARN


def shown(violations: Sequence[Violation], *, tagged: bool = True) -> str:
    """The first violations as a finding's message; ``tagged`` names each one's exchange and counts the rest (one saved answer needs neither)."""
    lines = [(f"[{v.exchange}] " if tagged else "") + v.message + (f"\nAt: {v.at}" if v.at else "") for v in violations[:MAX_SHOWN]]
    more = len(violations) - MAX_SHOWN
    if tagged and more > 0:
        lines.append(f"… and {more} more violation(s)")
    return "\n".join(lines)


def _stream_flag_malformed(exchange: Exchange) -> bool:
    """A body whose `stream` is not a boolean asked for neither a stream nor a Message; only its own parameter rule judges it.

    Read from the recorded request, whose decoded body is kept: a rule per call would decode it again (Claude Code sends 90 KB).
    """
    body = exchange.request.json
    return isinstance(body, dict) and "stream" in body and not isinstance(body["stream"], bool)


class Judge:
    """Judges cases against one run's exchanges; stream readings are computed once and shared."""

    def __init__(
        self, contract: Contract, requests: Mapping[str, Request], exchanges: Mapping[str, Exchange], *, model: str, readings: Mapping[str, StreamReading] | None = None
    ) -> None:
        self.contract = contract
        self.requests = requests
        self.exchanges = exchanges
        self.facts = contract.model_facts(model)
        self.schemas = SchemaBook(contract)
        self._checks = registered()
        self._readings: dict[str, StreamReading] = dict(readings or {})  # given: a stream read from a file in slices (validate)

    def reading(self, exchange: Exchange) -> StreamReading | None:
        """The stream reading of a successful stream answer (memoised), else None."""
        if not (exchange.streamed and exchange.ok):
            return None
        if exchange.id not in self._readings:
            self._readings[exchange.id] = read_stream(exchange.body, exchange.chunks, max_event_bytes=self.contract.max_event_bytes)
        return self._readings[exchange.id]

    def check(self, rule_id: str) -> CheckFn | None:
        """The check function registered for a rule, None when there is none."""
        return self._checks.get(rule_id)

    def forget(self, exchange_id: str) -> None:
        """Drop the memoised reading of an exchange that left the mappings (the proxy keeps a bounded window of a long session)."""
        self._readings.pop(exchange_id, None)

    def judge_all(self, cases: list[Case]) -> list[Finding]:
        """One finding per case, in the order given."""
        return [self.judge(case) for case in cases]

    def judge(self, case: Case, *, among: Collection[str] | None = None) -> Finding:
        """The verdict of one case; ``among`` limits a property rule to those exchanges (the others stay its peers)."""
        base = Finding(check_id=case.check_id, case=case.variation, outcome=Outcome.PASS, level=case.level, exchanges=tuple(case.scenarios))
        if case.skip:
            return replace(base, outcome=Outcome.SKIP, message=case.skip)
        if case.rule.kind is RuleKind.PROPERTY:
            return self._judge_property(case, replace(base, exchanges=()) if among is not None else base, among)
        return self._judge_expectation(case, base)

    # ------------------------------------------------------------------ expectation cases

    def _judge_expectation(self, case: Case, base: Finding) -> Finding:
        """Every scenario of the case against its expectation (one, or the probe and its variants: a stream twin, another spelling)."""
        violations: list[Violation] = []
        errors: list[str] = []
        skips: list[str] = []
        notes: list[str] = []
        judged: list[str] = []
        for sid in case.scenarios:
            verdict = self._expect_one(case, sid)
            if isinstance(verdict, Violation):
                violations.append(verdict)
                judged.append(f"{sid}: status {self.exchanges[sid].status}")
                continue
            judged += verdict.judged
            notes += [note for note in verdict.notes if note not in notes]
            if verdict.outcome is Outcome.ERROR:
                errors.append(verdict.message)
            elif verdict.outcome is Outcome.SKIP:
                skips.append(verdict.message)
        if violations:
            return self._verdict(replace(base, notes=(*notes, *errors, *skips), judged=tuple(judged)), violations, case)
        if errors:
            return replace(base, outcome=Outcome.ERROR, message="; ".join(errors), notes=tuple(notes))
        if skips:
            return replace(base, outcome=Outcome.SKIP, message="; ".join(skips), notes=tuple(notes))
        return replace(base, notes=tuple(notes), judged=tuple(judged))

    def _expect_one(self, case: Case, sid: str) -> Finding | Violation:
        """One exchange against the case's expectation: a violation, or a finding (pass with notes, error, skip)."""
        base = Finding(check_id=case.check_id, case=case.variation, outcome=Outcome.PASS, level=case.level)
        exchange = self.exchanges.get(sid)
        if exchange is None:
            return replace(base, outcome=Outcome.ERROR, message=f"scenario {sid!r} was not executed")
        if exchange.status is None and exchange.error_kind is ErrorKind.NOT_SENT:
            return replace(base, outcome=Outcome.SKIP, message=f"prerequisite failed: {exchange.error}")
        if exchange.status is None:
            return replace(base, outcome=Outcome.ERROR, message=f"no answer to {sid}: {exchange.error}")
        expect = case.expect
        assert expect is not None, case.id
        request = self.requests.get(sid)
        if request is not None and request.start_only and exchange.ok:
            return self._accepted(case, base, sid, exchange)
        if expect.matches(exchange.status):
            return replace(base, notes=_notes(exchange, case), judged=(f"{sid}: status {exchange.status}",))
        redirect = _unfollowed(exchange)
        if redirect is not None:
            return replace(base, outcome=Outcome.ERROR, message=f"no answer to {sid}: {redirect}", notes=_notes(exchange, case))
        if exchange.status in (429, 529) and exchange.attempts > 1:
            return replace(base, outcome=Outcome.ERROR, message=f"{sid}: still {exchange.status} after {exchange.attempts} attempts; the target is rate limiting or overloaded")
        detail = _status_detail(exchange)
        message = f"Received: status {exchange.status}{detail}\nExpected: status {expect.describe()}"
        if exchange.status >= 500 and any(s.startswith("4") and s != "429" for s in expect.status):
            message += "\nNote: a client error answered as a server error (clients retry 5xx)"
        return Violation(message, at=f"{exchange.request.method} {exchange.request.url}", exchange=sid)

    def _accepted(self, case: Case, base: Finding, sid: str, exchange: Exchange) -> Finding | Violation:
        """A probe of acceptance that got a 2xx: accepted means 200 and an answer begun, message_start first (the suite closed the stream there).

        A first event that is an error is a refusal inside the stream, and no event at all no
        answer; any other first event is an accepted request whose stream breaks the grammar, which
        the stream rules judge on the run's other streams, not this rule.
        """
        assert case.expect is not None
        assert exchange.status is not None
        status = exchange.status
        events = [e for e in read_stream(exchange.body, exchange.chunks).events if e.name != "ping" and (e.data or {}).get("type") != "ping"]
        first = events[0].data.get("type") if events and events[0].data is not None else None
        if first is None and exchange.error is not None:  # nothing read before a deadline of ours: whether it was accepted is unknown
            return replace(base, outcome=Outcome.ERROR, message=f"no answer to {sid}: status {exchange.status}, then {exchange.error}", notes=_notes(exchange, case))
        accepted = first is not None and first != "error"
        if accepted and case.expect.matches(status):
            return replace(base, notes=_notes(exchange, case), judged=(f"{sid}: status {exchange.status} and {first}",))
        got = f"{first}: the request was accepted" if accepted else f"{'an error event' if first else 'no event'} where message_start belongs"
        message = f"Received: status {exchange.status}, then {got}\nExpected: status {case.expect.describe()}"
        if not accepted and case.expect.matches(status):
            message += " (an accepted request is 200 plus message_start)"
        return Violation(message, at=f"{exchange.request.method} {exchange.request.url}", exchange=sid)

    # --------------------------------------------------------------------- property cases

    def select(self, selector: Selector, among: Collection[str] | None = None) -> list[Exchange]:
        """Every exchange of the run (or of ``among``) the selector picks, in plan order."""
        picked = []
        pairs = self.exchanges.items() if among is None else ((sid, self.exchanges[sid]) for sid in among if sid in self.exchanges)
        for sid, exchange in pairs:
            request = self.requests.get(sid)
            if request is None:
                continue
            if selector.endpoint is not None and request.endpoint != selector.endpoint:
                continue
            if request.start_only and exchange.ok and selector.status == "ok" and sid not in selector.scenarios:
                continue  # a probe of acceptance closed after its first event: no answer to judge (its head and connection are)
            if selector.stream is not None and (request.stream != selector.stream or _stream_flag_malformed(exchange)):
                continue
            if selector.scenarios and sid not in selector.scenarios:
                continue
            if selector.tags and not set(selector.tags) & request.tags:
                continue
            if exchange.status is not None:
                if selector.status == "ok" and not exchange.ok:
                    continue
                if selector.status == "error" and exchange.status < 400:
                    continue
            picked.append(exchange)
        return picked

    def subject(self, exchange: Exchange) -> Subject:
        """Everything a check may read about one exchange."""
        request = self.requests[exchange.id]
        twin = self.exchanges.get(request.twin) if request.twin else None
        return Subject(
            exchange=exchange,
            request=request,
            contract=self.contract,
            facts=self.facts,
            schemas=self.schemas,
            reading=self.reading(exchange),
            twin=twin,
            peers=self.exchanges,
            reader=self.reading,
        )

    def _judge_property(self, case: Case, base: Finding, among: Collection[str] | None = None) -> Finding:
        rule = case.rule
        fn = self.check(rule.id)
        if fn is None:
            return replace(base, outcome=Outcome.ERROR, message=f"no check function is registered for {rule.id}")
        assert rule.on is not None
        picked = [e for e in self.select(rule.on, among) if e.error_kind is not ErrorKind.NOT_SENT and _unfollowed(e) is None]
        unanswered = [e for e in picked if e.status is None]
        judged = [e for e in picked if e.status is not None]
        cut_short = self._cut_short(rule.on, among)
        if not judged:
            if cut_short and not unanswered:
                return replace(base, outcome=Outcome.ERROR, message=_no_complete_answer(cut_short))
            return replace(base, outcome=Outcome.ERROR if unanswered else Outcome.SKIP, message=self._nothing_to_judge(case, unanswered))
        violations: list[Violation] = []
        reasons: list[tuple[str, str]] = []
        unforced: list[Violation] = []
        applicable: list[str] = []
        items: list[str] = []
        for exchange in judged:
            result = apply(fn, self.subject(exchange))
            if result.applied in (Applied.UNJUDGEABLE, Applied.BROKEN_OFF):
                cut_short.append(f"{exchange.id}: {result.reason}")
            elif result.applied is Applied.NOT_FORCED:
                unforced.append(Violation(result.reason, exchange=exchange.id))
            elif result.applied is Applied.NOT_APPLICABLE:
                reasons.append((exchange.id, result.reason))
            elif result.applied is Applied.CRASHED:
                return replace(base, outcome=Outcome.ERROR, message=f"check {rule.id} raised {result.reason}")
            else:
                applicable.append(exchange.id)
                items += [f"{exchange.id}: {item}" for item in result.judged]
                violations += [replace(v, exchange=exchange.id) for v in result.violations]
        if not applicable:
            notes = tuple(f"not judged, no complete answer: {c}" for c in cut_short[:5])
            if unforced:  # the probe never put the rule to the test: neither a pass nor the target's failure
                return replace(base, outcome=Outcome.WARN, message=_not_forced(unforced), violations=tuple(unforced), exchanges=tuple(e.id for e in judged), notes=notes)
            if cut_short and not reasons:  # nothing but broken-off answers: the run could not judge the rule
                return replace(base, outcome=Outcome.ERROR, message=_no_complete_answer(cut_short), exchanges=tuple(e.id for e in judged))
            return replace(base, outcome=Outcome.SKIP, message="not applicable: " + "; ".join(_first_needed(reasons, rule.needs)[:3]), exchanges=tuple(e.id for e in judged), notes=notes)
        judged_on = f"judged on {len(applicable)} exchange(s): {', '.join(applicable[:12])}{' …' if len(applicable) > 12 else ''}"
        skipped = (*(f"not forced: {v.exchange}: {v.message}" for v in unforced[:5]), *(f"not applicable: {r}" for r in _first_needed(reasons, rule.needs)[:5]))
        base = replace(base, exchanges=tuple(applicable), notes=(judged_on, *skipped), judged=tuple(items))
        if unanswered:
            base = replace(base, notes=(*base.notes, f"no answer to: {', '.join(e.id for e in unanswered)}"))
        if cut_short:
            base = replace(base, notes=(*base.notes, *(f"not judged, no complete answer: {c}" for c in cut_short[:5])))
        if not violations:
            return base
        return self._verdict(base, violations, case)

    def _cut_short(self, selector: Selector, among: Collection[str] | None = None) -> list[str]:
        """Answers a rule wanted but never got: a redirect not followed, or (for rules on successful answers) still 429/529 after retries."""
        wanted = self.select(replace(selector, status="any"), among)
        out = []
        for e in wanted:
            if e.status is None:
                continue
            # A rule on error answers judges a 429 like any other error; only a redirect hides one.
            reason = _unfollowed(e) or (infrastructure_failure(e) if selector.status == "ok" else None)
            if reason is not None:
                out.append(f"{e.id}: {reason}")
        return out

    def _nothing_to_judge(self, case: Case, unanswered: list[Exchange]) -> str:
        if unanswered:
            return "no answer to judge: " + "; ".join(f"{e.id}: {e.error}" for e in unanswered[:3])
        needed = [sid for sid in case.rule.needs if sid in self.exchanges]
        states = ", ".join(f"{sid} → {self.exchanges[sid].status}" for sid in needed[:4])
        return f"prerequisite failed: no exchange this rule judges got the answer it needs ({states or 'none executed'})"

    def _verdict(self, base: Finding, violations: list[Violation], case: Case) -> Finding:
        return replace(base, outcome=outcome_of(case.level), violations=tuple(violations), message=shown(violations))


def _first_needed(reasons: list[tuple[str, str]], needs: tuple[str, ...]) -> list[str]:
    """Why each exchange was not applicable, the scenarios the rule asked for first: those explain a skip, the others only add noise."""
    order = {sid: i for i, sid in enumerate(needs)}
    ranked = sorted(reasons, key=lambda r: order.get(r[0], len(order)))
    return [f"{sid}: {why}" for sid, why in ranked]


def _not_forced(unforced: list[Violation]) -> str:
    shown = "\n".join(f"[{v.exchange}] {v.message}" for v in unforced[:MAX_SHOWN])
    return f"{shown}\nNot judged: the probe did not force the behaviour this rule is about (a model that ignores the prompt, or a gateway that changes it)"


def _no_complete_answer(cut_short: list[str]) -> str:
    more = f"; … and {len(cut_short) - MAX_SHOWN} more" if len(cut_short) > MAX_SHOWN else ""
    return "no complete answer to judge (infrastructure, not a verdict): " + "; ".join(cut_short[:MAX_SHOWN]) + more


def _unfollowed(exchange: Exchange) -> str | None:
    """Why a 3xx is not an answer: the transport follows only a few redirects, never to another origin (the key stays there)."""
    location = exchange.header("location")
    if exchange.status is None or not 300 <= exchange.status < 400 or location is None:
        return None
    return f"redirected ({exchange.status}) to {location[:300]}, which the suite does not follow (only a few redirects, never to another origin, so the key stays private)"


def _said(value: object) -> str:
    """A field of the target's error envelope as text; a structure where a string belongs is named, not printed (it may nest 10,000 deep)."""
    if isinstance(value, str):
        return value[:160]
    return str(value) if value is None or isinstance(value, int | float) else f"<{type(value).__name__}>"


def _status_detail(exchange: Exchange) -> str:
    data = exchange.json
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        error = data["error"]
        return f" ({_said(error.get('type'))}: {_said(error.get('message'))})"
    if exchange.ok:
        return " (the request was accepted)"
    text = exchange.text(160).strip()
    return f" ({text})" if text else ""


def _notes(exchange: Exchange, case: Case) -> tuple[str, ...]:
    notes = list(exchange.notes)
    if case.note:
        notes.append(case.note)
    return tuple(notes)
