"""The catalogue of faults: every module of this package contributes its ``FAULTS`` tuple.

One module per area keeps the deviations readable; adding a module adds its faults to the
registry and to the project's fault-matrix test with no other change.
"""

from __future__ import annotations

import importlib
import pkgutil

from conformance.reference.fault import Fault


def _collect() -> tuple[Fault, ...]:
    faults: list[Fault] = []
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        faults.extend(importlib.import_module(f"{__name__}.{module.name}").FAULTS)
    return tuple(faults)


CATALOGUE: tuple[Fault, ...] = _collect()
