"""The value types of the fault catalogue: a named deviation and what its wrapper may know."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from starlette.types import ASGIApp


@dataclass(frozen=True, slots=True)
class FaultContext:
    """What a wrapper may need to know about the deployment it sits in front of."""

    api_key: str


@dataclass(frozen=True, slots=True)
class Fault:
    """One named deviation seen in real gateways: what it breaks, where it was seen, how to inject it.

    ``breaks`` lists every check the fault makes non-passing (fail, or warn for SHOULD rules) under
    the suite options in ``options``; the project's tests assert exactly that set.
    """

    name: str
    breaks: tuple[str, ...]
    source: str
    description: str
    wrap: Callable[[ASGIApp, FaultContext], ASGIApp]
    options: Mapping[str, str] = field(default_factory=dict)
