"""Effort: output_config.effort reaches the model, judged where the API must refuse it.

No field of an answer reflects the effort it ran at (the SDK's Message and Usage have none), so a gateway
that drops the field is seen only where the model would have refused it: a level the model does not offer
(models.yaml effort; Haiku 4.5 offers none) is a 400 naming effort (capture 56), and a 200 means the field
never arrived. A level the model offers is accepted, or refused cleanly by a target that does not offer
effort at all (_refusal.py).
"""

from __future__ import annotations

from ..findings import Judgement, NotApplicable, Violation, judgement
from ._refusal import clean_refusal, refusal_naming, unclean
from .registry import check
from .subject import Subject, show

FIELDS = ("effort", "output_config.effort", "output_config")


def _offered(levels: tuple[str, ...] | None) -> str:
    return "no effort" if levels == () else f"effort {', '.join(levels or ())}"


@check("effort.level_honoured")
def level_honoured(s: Subject) -> Judgement:
    """Claude Code sends effort and stops only on a 400 naming it: a field dropped on the way changes every answer unseen."""
    config = s.request_json().get("output_config")
    asked = config.get("effort") if isinstance(config, dict) else None
    if not isinstance(asked, str):
        raise NotApplicable("the request sends no output_config.effort")
    levels, model = s.facts.effort, s.facts.model
    ex = s.exchange
    if levels is not None and asked not in levels:  # the model must refuse it: only a refusal shows the field arrived
        refusal = refusal_naming(ex, FIELDS)
        if refusal is not None:
            return judgement(f"effort {asked!r}, which {model} does not offer, refused as the model must: {refusal}")
        if ex.ok:
            return judgement(f"effort {asked!r} answered {ex.status}", [
                Violation(
                    f"Received: status {ex.status}: the request was served\nExpected: status 400 invalid_request_error naming effort: {model} offers "
                    f"{_offered(levels)} (models.yaml), so the API refuses {asked!r}; served, the field never reached the model",
                    at="/output_config/effort",
                )
            ])
        return judgement(f"effort {asked!r} answered {ex.status}", [unclean(ex, FIELDS, honoured=f"the refusal {model} gives a level it lacks")])
    refusal = clean_refusal(ex, FIELDS) if not ex.ok else None
    if ex.ok:
        why = f"{model} offers it (models.yaml)" if levels is not None else f"the effort levels of {model} are unknown, so acceptance is all that is judged"
        return judgement(f"effort {asked!r} accepted (status {ex.status}): {why}")
    if refusal is not None:
        return judgement(f"effort {asked!r}: {refusal}")
    return judgement(f"effort {asked!r} answered {ex.status}", [unclean(ex, FIELDS, honoured=f"effort {show(asked)} accepted")])
