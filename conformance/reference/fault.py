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


Wrapper = Callable[[ASGIApp], ASGIApp]


def fault(
    name: str,
    breaks: Iterable[str],
    source: str,
    description: str,
    wrapper: Wrapper | None = None,
    *,
    keyed: Callable[[FaultContext], Wrapper] | None = None,
    **options: str,
) -> Fault:
    """The one way the catalogue writes a fault: ``wrapper`` when it needs nothing from the deployment (most do),
    ``keyed`` when it needs the deployment's key; ``breaks`` sorted for stable diffs."""
    if (wrapper is None) == (keyed is None):
        raise TypeError(f"fault {name!r}: give exactly one of wrapper and keyed")

    def wrap(app: ASGIApp, context: FaultContext) -> ASGIApp:
        if wrapper is not None:
            return wrapper(app)
        assert keyed is not None
        return keyed(context)(app)

    return Fault(name=name, breaks=tuple(sorted(breaks)), source=source, description=description, wrap=wrap, options=options)
