"""Identical evidence, said once: violations that read the same grouped with every exchange that shows them.

A target that labels every answer ``text/plain`` breaks one check on 150 exchanges with one and
the same message; a reader needs that message once and the list of exchanges, not 150 copies.
Violations group when their message and location (``at``) are equal; the first exchange of a
group is its representative, whose request, response and event window every format shows.
Pure functions over results.json records and ``Violation`` fields; no rendering here.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SHOWN_EXCHANGES = 6  # exchanges whose full evidence a result shows; the rest are listed by id
KEPT = 20  # distinct violations a results.json record keeps; each lists every exchange it was seen on


@dataclass(frozen=True, slots=True)
class Group:
    """One violation text and every exchange it was seen on, the representative first (no exchange: empty)."""

    message: str
    at: str | None
    exchanges: tuple[str, ...]
    event_index: int | None  # where the representative's stream broke the rule, if it is a stream

    @property
    def representative(self) -> str | None:
        """The exchange whose evidence stands for the whole group."""
        return self.exchanges[0] if self.exchanges else None


Item = tuple[str, str | None, str | None, int | None]  # message, at, exchange, event_index


def group(items: Iterable[Item]) -> list[Group]:
    """Violations grouped by (message, at) in first-seen order; an exchange appears once per group."""
    members: dict[tuple[str, str | None], dict[str, None]] = {}
    windows: dict[tuple[str, str | None], int | None] = {}
    for message, at, exchange, event_index in items:
        key = (message, at)
        seen = members.setdefault(key, {})
        if key not in windows or (exchange is not None and not seen):
            windows[key] = event_index  # the window shown is the representative's
        if exchange is not None:
            seen.setdefault(exchange)
    return [Group(message, at, tuple(seen), windows[(message, at)]) for (message, at), seen in members.items()]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def record_groups(record: Mapping[str, Any]) -> list[Group]:
    """The groups of a results.json record; an older record (one entry per violation, no ``also``) groups the same way."""
    items: list[Item] = []
    for v in record.get("violations") or ():
        message, at, exchange = str(v.get("message", "")), _text(v.get("at")), _text(v.get("exchange"))
        index = v.get("event_index") if isinstance(v.get("event_index"), int) else None
        items.append((message, at, exchange, index))
        items += [(message, at, other, None) for other in v.get("also") or () if isinstance(other, str)]
    return group(items)


def cited(record: Mapping[str, Any], known: Collection[str], *, shown: int = SHOWN_EXCHANGES) -> tuple[list[str], list[str]]:
    """(exchanges whose evidence is shown, the others the result cites): group representatives first, each once, only ``known`` ones.

    With violations, only representatives are shown in full (a second exchange with the same
    violation adds nothing to read); without (an error, a warning that names no exchange), the
    first cited exchanges are.
    """
    groups = record_groups(record)
    representatives = [g.representative for g in groups if g.representative in known]
    members = [x for g in groups for x in g.exchanges]
    everything = [x for x in dict.fromkeys([*representatives, *members, *(record.get("exchanges") or ())]) if isinstance(x, str) and x in known]
    full = list(dict.fromkeys(x for x in representatives if x is not None))[:shown] if representatives else everything[:shown]
    return full, [x for x in everything if x not in full]
