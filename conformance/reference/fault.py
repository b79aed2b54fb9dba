"""The value types of the fault catalogue: a named deviation and what its wrapper may know."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
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


def plain_fault(name: str, breaks: Iterable[str], source: str, description: str, wrapper: Callable[[ASGIApp], ASGIApp], **options: str) -> Fault:
    """A fault whose wrapper needs nothing from the deployment (most of them): ``breaks`` sorted for stable diffs."""

    def wrap(app: ASGIApp, _context: FaultContext) -> ASGIApp:
        return wrapper(app)

    return Fault(name=name, breaks=tuple(sorted(breaks)), source=source, description=description, wrap=wrap, options=options)
