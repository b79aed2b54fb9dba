"""Which exchange each kept-alive connection last carried: the evidence when a target drops one.

The transport hands this ledger the connection (httpcore's network stream, an opaque object with
``get_extra_info``) of every answer it finished reading. When a later request on a reused connection
dies before any answer, the ledger names the exchange that connection had answered before and how
long it had been idle. Knows no httpx: it only asks a stream whether its socket is still open.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol


class Stream(Protocol):
    """What the ledger needs of a connection: its socket, to tell an open one from a closed one."""

    def get_extra_info(self, info: str) -> Any:
        """httpcore's network-stream accessor ("socket", "client_addr", …)."""


Carried = tuple[str, float]  # (exchange id, when the connection went idle after answering it)


def is_open(stream: Stream) -> bool:
    """The stream's socket still has a file descriptor (httpcore closes it when either side hangs up)."""
    sock = stream.get_extra_info("socket")
    fileno: Callable[[], int] | None = getattr(sock, "fileno", None)
    return fileno is not None and fileno() != -1


class Ledger:
    """Open connections → the exchange each last answered and since when it has been idle."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last: dict[Stream, Carried] = {}

    def released(self, stream: Stream, exchange: str) -> None:
        """``stream`` finished answering ``exchange`` and went back to the pool (closed ones are forgotten)."""
        self._last = {s: carried for s, carried in self._last.items() if is_open(s)}
        if is_open(stream):
            self._last[stream] = (exchange, self._clock())

    def previous(self, stream: Stream, *, at: float) -> tuple[str, float] | None:
        """(exchange, idle seconds at ``at``) that a reused ``stream`` answered before, or None when it is unknown."""
        carried = self._last.get(stream)
        return None if carried is None else (carried[0], round(max(at - carried[1], 0.0), 3))

    def claim_closed(self, *, at: float) -> tuple[tuple[str, ...], float | None]:
        """The exchanges last answered on connections that are closed now, forgotten from here on, and the idle time (at ``at``) when only one is.

        Called the moment httpcore has closed the connection a request died on, so that one is
        nearly always the only closed one; when another closed at the same instant both are named
        and the idle time is unknown.
        """
        dead = [(s, carried) for s, carried in self._last.items() if not is_open(s)]
        for stream, _ in dead:
            del self._last[stream]
        names = tuple(carried[0] for _, carried in dead)
        idle = round(max(at - dead[0][1][1], 0.0), 3) if len(dead) == 1 else None
        return names, idle
