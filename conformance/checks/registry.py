"""The catalogue of property checks: ``@check(id)`` registers a pure function under its id.

A check takes one ``Subject`` and returns a ``Judgement``: what it judged and every ``Violation``
it found (no violation and at least one judged item = pass; nothing judged = skip); it may raise
``NotApplicable`` with the reason. Level, rule text and source come from the spec, never from here. The
registry is filled at import time and read-only afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType

from ..findings import Judgement
from .subject import Subject

CheckFn = Callable[[Subject], Judgement]
_ID = re.compile(r"^[a-z_]+\.[a-z0-9_]+$")
_CHECKS: dict[str, CheckFn] = {}


def check(check_id: str) -> Callable[[CheckFn], CheckFn]:
    """Register ``fn`` as the check ``check_id``; the function is named after the part after the dot."""
    if not _ID.match(check_id):
        raise ValueError(f"check id {check_id!r} must be area.property_that_holds")

    def register(fn: CheckFn) -> CheckFn:
        if fn.__name__ != check_id.split(".", 1)[1]:
            raise ValueError(f"check {check_id!r} must be implemented by a function named {check_id.split('.', 1)[1]!r}")
        if check_id in _CHECKS:
            raise ValueError(f"check {check_id!r} registered twice")
        _CHECKS[check_id] = fn
        return fn

    return register


def registered() -> Mapping[str, CheckFn]:
    """Every property check, after importing every module of this package (registration is the side effect)."""
    import importlib
    import pkgutil

    from .. import checks

    for module in pkgutil.iter_modules(checks.__path__):
        if module.name not in ("registry", "subject") and not module.name.startswith("_"):
            importlib.import_module(f"{checks.__name__}.{module.name}")
    return MappingProxyType(_CHECKS)
