"""The values a rewrite takes and returns: the request it sees, and the shapes of the functions faults are made of.

Kept apart from the plumbing so a catalogue module names its types in one short import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from starlette.types import ASGIApp

from conformance._types import JSON, RawHeaders

Wrapper = Callable[[ASGIApp], ASGIApp]
Refusal = tuple[int, str, str] | None
"""What a refusing rule returns: (status, error type, message) to answer with an error, None to pass the request on."""
EventOut = tuple[str | None, str]
EventFn = Callable[[str | None, JSON], Iterable[EventOut]]
"""An event rewrite: (event name, parsed data) to zero or more (name, data text) to send instead."""
Edit = Callable[[dict[str, JSON]], None]
"""Changes a JSON object in place (the caller hands it a copy)."""
ContentEdit = Callable[[list[JSON]], list[JSON]]


@dataclass(frozen=True, slots=True)
class RequestView:
    """What a request rewrite sees and returns; `body` is None when the body is not JSON."""

    method: str
    path: str
    headers: RawHeaders
    body: JSON | None
    query: str = ""  # the raw query string (`beta=true`), which `path` never carries
