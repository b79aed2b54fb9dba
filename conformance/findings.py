"""Verdicts as values: what a check found, and how the run reports it.

Checks return ``Violation`` lists; the registry turns them into ``Finding`` values with an
``Outcome``. Nothing here does I/O or knows about pytest.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field


class Level(enum.Enum):
    """How binding a rule is: a broken MUST fails, a broken SHOULD warns."""

    MUST = "MUST"
    SHOULD = "SHOULD"


class Outcome(enum.Enum):
    """The five outcomes a check can have; ``error`` is infrastructure, never the target's fault."""

    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    SKIP = "skip"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken property, with where it was seen.

    ``message`` is made of ``Received:``/``Expected:`` lines; ``at`` is a JSON pointer or an
    event locator such as ``event #7 (message_delta) @ byte 1432``; ``kind`` lets lower layers
    (framer, grammar) tag a violation so the checks layer can route it; ``exchange`` names the
    exchange (scenario id) it was observed on, filled in by the registry.
    """

    message: str
    at: str | None = None
    kind: enum.Enum | None = None
    exchange: str | None = None
    event_index: int | None = None


@dataclass(frozen=True, slots=True)
class Judgement:
    """What one check made of one exchange: the items it judged and the violations it found among them.

    A pass has to name what it judged (``judged``: short phrases such as ``"9 events in order"``); a
    check that found nothing to look at returns no items, and the judge reports a skip, never a pass.
    """

    judged: tuple[str, ...] = ()
    violations: tuple[Violation, ...] = ()


def judgement(judged: str | Iterable[str], violations: Iterable[Violation] = ()) -> Judgement:
    """A check's result: ``judged`` is one phrase or several (empty means it judged nothing)."""
    items = (judged,) if isinstance(judged, str) else tuple(judged)
    return Judgement(judged=tuple(i for i in items if i), violations=tuple(violations))


class NotApplicable(Exception):
    """Raised by a check when the exchange cannot be judged by it; becomes ``skip`` with the reason."""


class NotForced(NotApplicable):
    """A behaviour probe's answer shows the model did not do what the prompt asked, so the rule was never put to the test.

    Not the target's fault for certain (a mock or weak model behind a faithful gateway does this), nor
    silence either (a gateway that mangles prompts does it too): the judge makes it ``warn``, and the
    behaviour retry resends the probe.
    """


@dataclass(frozen=True, slots=True)
class Finding:
    """The verdict of one check on one case, ready for every reporter."""

    check_id: str
    case: str
    outcome: Outcome
    level: Level
    message: str = ""
    violations: tuple[Violation, ...] = ()
    exchanges: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())
    judged: tuple[str, ...] = ()  # what the verdict rests on, "exchange: item"; empty only for skip and error

    @property
    def case_id(self) -> str:
        """The id shared by pytest, baselines and the report: ``check`` or ``check:case``."""
        return self.check_id if not self.case else f"{self.check_id}:{self.case}"


# Issue 13: the phrase a feature check's judged item carries when the target refused the feature cleanly (a 400
# invalid_request_error naming the field): a legal outcome, a pass, that compare.py reports as "refused", not "works".
REFUSED_CLEANLY = "refused cleanly"
