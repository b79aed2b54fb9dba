"""The fault registry: every named deviation of the catalogue, and the app wrapped in some of them.

Owns ``FAULTS`` (read-only after import) and ``build_app``. The deviations themselves live in
catalogue/ (one module per area, as in checks/), their value types in fault.py, the send/receive
plumbing and the words faults are written in in rewrite/; the faithful app never learns it is
wrapped (STYLE T3).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

from starlette.types import ASGIApp

from conformance.reference.app import create_app
from conformance.reference.catalogue import CATALOGUE
from conformance.reference.fault import Fault, FaultContext
from conformance.reference.variant import Variant

__all__ = ["FAULTS", "Fault", "FaultContext", "build_app", "unknown_fault_error"]

FAULTS: MappingProxyType[str, Fault] = MappingProxyType({fault.name: fault for fault in CATALOGUE})


def unknown_fault_error(name: str) -> ValueError:
    """The error for a name not in the catalogue, listing the known ones."""
    return ValueError(f"unknown fault {name!r}; known faults: {', '.join(sorted(FAULTS))}")


def build_app(*, api_key: str, faults: Sequence[str] = (), variant: Variant | None = None) -> ASGIApp:
    """The faithful app wrapped in the named faults; the first name listed is outermost."""
    for name in faults:
        if name not in FAULTS:
            raise unknown_fault_error(name)
    app = create_app(api_key=api_key, variant=variant)
    context = FaultContext(api_key=api_key)
    for name in reversed(faults):
        app = FAULTS[name].wrap(app, context)
    return app
