"""conformance/judge.py ``apply``, ``outcome_of``, ``shown``: what every way of judging (run, replay, proxy, validate) shares."""

from __future__ import annotations

from conformance.checks.subject import Unjudgeable
from conformance.contract.loader import load_contract
from conformance.findings import Level, NotApplicable, NotForced, Outcome, Violation, judgement
from conformance.judge import Applied, apply, outcome_of, shown
from tests.checks._build import Build


def test_apply_turns_each_way_a_check_ends_into_one_result():
    subject = Build(load_contract()).plain()

    def ending(outcome):
        def check(s):
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome

        return check

    found = Violation("Received: 1\nExpected: 2", at="/x", exchange="plain")
    assert apply(ending(judgement("x", [found])), subject).violations == (found,)
    assert apply(ending(judgement((), [])), subject).applied is Applied.NOT_APPLICABLE  # judged nothing: a skip, never a pass
    assert apply(ending(NotApplicable("why")), subject).reason == "why"
    assert apply(ending(NotForced("ignored")), subject).applied is Applied.NOT_FORCED
    assert apply(ending(Unjudgeable("cap")), subject).applied is Applied.UNJUDGEABLE
    assert apply(ending(KeyError("k")), subject).reason == "KeyError: 'k'"
    assert (outcome_of(Level.MUST), outcome_of(Level.SHOULD)) == (Outcome.FAIL, Outcome.WARN)
    assert shown([found] * 4) == "\n".join(["[plain] Received: 1\nExpected: 2\nAt: /x"] * 3 + ["… and 1 more violation(s)"])
    assert shown([found] * 4, tagged=False) == "\n".join(["Received: 1\nExpected: 2\nAt: /x"] * 3)
