"""The embedded reference server: a faithful, deterministic Anthropic Messages API plus named faults.

With no target URL the suite runs against it; the project's own tests run the suite against it faithful
(every check passes) and with faults injected (the matching checks fail). Only this package imports
starlette and uvicorn.
"""

from __future__ import annotations

from conformance.reference.app import create_app
from conformance.reference.faults import FAULTS, Fault, FaultContext, build_app
from conformance.reference.router import FaultRouter
from conformance.reference.server import ReferenceServer
from conformance.reference.variant import VARIANTS, LineEnding, Variant

__all__ = [
    "FAULTS",
    "VARIANTS",
    "Fault",
    "FaultContext",
    "FaultRouter",
    "LineEnding",
    "ReferenceServer",
    "Variant",
    "build_app",
    "create_app",
]
