"""The generated variations of one parameter: which boundaries params.yaml implies, and the value each one sends.

A parameter's constraints (required, minimum, maximum, enum, type, item type) name its variations
(``missing``, ``at_min``, ``below_min`` ...); each variation is a value to put in the request, or
``MISSING`` (remove the parameter), or a ``Skip`` with the reason (a bound from an unknown model
fact). ``scenarios.py`` turns them into cases and scenarios. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._types import JSON
from .contract.model import ModelBound, ModelFacts, Param

DEFAULT_STEP = {"integer": 1.0, "number": 0.01}

# Wrong-type probes per declared type: values no lax validator coerces into that type.
_WRONG_VALUES: tuple[tuple[str, JSON], ...] = (
    ("string", "warm"),
    ("number", 123),
    ("object", {"unexpected": 1}),
    ("array", ["unexpected"]),
)

_VARIATION_ORDER = ("missing", "at_min", "below_min", "at_max", "above_max", "enum_value", "not_in_enum", "wrong_type", "not_integer", "item_wrong_type")


def param_variations(param: Param) -> list[str]:
    """The generated variations of one parameter, in a stable order.

    A case the constraints do not produce is still generated when the spec gives its value
    (``tool_choice`` has no enum, yet ``{"type": "required"}`` is its not_in_enum probe).
    """
    out: list[str] = []
    if param.removed:
        return ["present"]
    if param.required:
        out.append("missing")
    if param.minimum is not None:
        out += ["at_min", "below_min"]
    if param.maximum is not None:
        out += ["at_max", "above_max"]
    out += [f"enum_{value}" for value in param.enum]
    if param.enum:
        out.append("not_in_enum")
    if param.types:
        out.append("wrong_type")
    if "integer" in param.types:
        out.append("not_integer")
    if param.items_type:
        out.append("item_wrong_type")
    out += [name for name, override in param.cases.items() if override.has_value and name not in out and name != "present"]
    return sorted(out, key=lambda variation: _VARIATION_ORDER.index(variation_kind(variation)))


def variation_kind(variation: str) -> str:
    return "enum_value" if variation.startswith("enum_") else variation

@dataclass(frozen=True, slots=True)
class Skip:
    reason: str


class Missing:
    """The variation removes the parameter."""


MISSING = Missing()


def _bound(bound: float | ModelBound | None, facts: ModelFacts) -> float | None:
    if isinstance(bound, ModelBound):
        value = facts.get(bound.fact)
        return None if value is None else float(value)
    return bound


def variation_value(param: Param, variation: str, facts: ModelFacts) -> JSON:
    override = param.cases.get(variation)
    if override is not None and override.has_value:
        return override.value
    integer = "integer" in param.types
    step = param.step or DEFAULT_STEP["integer" if integer else "number"]

    def num(x: float) -> JSON:
        return int(x) if integer else round(x, 6)

    if variation == "missing":
        return MISSING
    if variation == "present":
        return param.removed_value if param.removed_value is not None else 1
    if variation in ("at_min", "below_min", "at_max", "above_max"):
        bound = _bound(param.minimum if "min" in variation else param.maximum, facts)
        if bound is None:
            return Skip(f"the bound of {param.name} comes from the model's {getattr(param.maximum, 'fact', 'facts')}, unknown for model {facts.model!r}; declare it in the profile's models.facts")
        delta = {"at_min": 0.0, "below_min": -step, "at_max": 0.0, "above_max": step}[variation]
        return num(bound + delta)
    if variation.startswith("enum_"):
        wanted = variation.removeprefix("enum_")
        return next((v for v in param.enum if str(v) == wanted), wanted)
    if variation == "not_in_enum":
        return "not-a-documented-value"
    if variation == "wrong_type":
        return next(value for kind, value in _WRONG_VALUES if kind not in param.types and not (kind == "number" and "integer" in param.types))
    if variation == "not_integer":
        minimum = _bound(param.minimum, facts) or 0.0
        return minimum + 1.5
    if variation == "item_wrong_type":
        return [123] if param.items_type == "string" else ["unexpected"]
    raise ValueError(f"unknown variation {variation!r}")
