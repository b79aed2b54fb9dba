"""The catalogue of faults: every module of this package contributes its ``FAULTS`` tuple.

One module per area of the checks it breaks, named as in conformance/checks/ or after the rule ids'
area (auth.py, params.py, stop_reason.py...; tools are split into tools.py, tool_choice.py and
tool_history.py). Each writes its faults in one style, ``fault(name, breaks, source, description,
wrapper)``, from the helpers of conformance/reference/rewrite/. Adding a module adds its faults to
the registry and to the project's fault-matrix test with no other change; the registry lists them
module by module in name order.
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
