"""One case's evidence as plain text, for the formats that are not report.html: Allure attachments, JUnit failure text.

It reads what report.html reads (the results.json record and the recorded exchanges of the
cassette), builds the views with the same functions (evidence.py) and groups identical
violations the same way (groups.py); only the layout is text. Exchanges are redacted when they
are recorded, so nothing here can hold a key: the curl line reads it from ``$API_KEY``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from .._types import JSONObject
from ..cassette import read as read_cassette
from ..errors import CassetteError
from ..exchange import Exchange
from ..sse.reading import StreamReading, read_stream
from . import evidence
from .groups import KEPT, Group, cited, record_groups

EVIDENCE_OUTCOMES = ("fail", "warn", "error")  # report.html shows evidence for these; passes and skips carry none
LISTED = 12  # exchange ids a compact text lists per violation before counting the rest

CONTEXT = 4  # events shown either side of the offending one
STREAM_HEAD = evidence.PARSE_LIMIT  # a longer stream (a flood the recorder cut) is tabled from its head: reading 32 MiB takes seconds
Reader = Callable[[Exchange], StreamReading]  # reads a whole stream once however many cases show it


@dataclass(frozen=True, slots=True)
class Attachment:
    """A named text to attach to a test result."""

    name: str
    text: str
    media_type: str = "text/plain"


# --------------------------------------------------------------------------- text views


def message_text(view: evidence.MessageView) -> str:
    """A request or response as a person reads it on the wire: start line, headers, a blank line, the body."""
    lines = [view.start_line, *(f"{name}: {evidence.visible_text(value)}" for name, value in view.headers), ""]
    body = view.body
    if body.kind == "empty":
        lines.append("(empty body)")
    else:
        if body.note:
            lines.append(f"({body.note})")
        lines.append(body.text)
    return "\n".join(lines)


def events_text(window: Sequence[evidence.EventLine]) -> str:
    """Events as an aligned table, the offending one marked."""
    rows = [("#", "event", "data.type", "byte", "data")]
    rows += [(f"{e.index}{' ◀' if e.offending else ''}", e.name if e.name is not None else "(none)", e.type or "", str(e.offset), e.data) for e in window]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join([*(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)), row[4]]).rstrip() for row in rows)


def exchange_line(exchange: Exchange) -> str:
    """The exchange in one line: its id, what was sent, what came back (status, type, request-id, size)."""
    request = f"{exchange.id}: {exchange.request.method} {exchange.request.url}"
    failure = evidence.failure_text(exchange)
    if exchange.status is None:
        return f"{request} → no answer" + (f": {failure}" if failure else "")
    parts = [f"HTTP {exchange.status}"]
    for name in ("content-type", "request-id"):
        value = exchange.header(name)
        if value is not None:
            parts.append(f"{name} {evidence.visible_text(value)}")
    parts.append(f"{len(exchange.body):,} bytes{' (cut by the recorder)' if exchange.truncated else ''}")
    if failure:
        parts.append(failure)
    return f"{request} → " + ", ".join(parts)


def _on(group: Group, listed: int | None) -> str:
    ids = list(group.exchanges)
    if not ids:
        return ""
    if len(ids) == 1:
        return f"on exchange {ids[0]}"
    shown = ids if listed is None else ids[:listed]
    more = len(ids) - len(shown)
    return f"the same on {len(ids)} exchanges: {', '.join(shown)}" + (f", … and {more} more" if more > 0 else "")


def groups_text(groups: Sequence[Group], *, listed: int | None = None) -> str:
    """Each distinct violation once (its Received/Expected lines and At), then the exchanges that show it."""
    blocks = []
    for g in groups:
        lines = [evidence.visible_text(g.message)]
        if g.at:
            lines.append(f"At: {evidence.visible_text(g.at)}")
        on = _on(g, listed)
        if on:
            lines.append(f"  {on}")
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


# --------------------------------------------------------------------------- per case


def has_evidence(record: Mapping[str, Any]) -> bool:
    """report.html shows evidence for failures, warnings and errors; so do the other formats."""
    return record.get("outcome") in EVIDENCE_OUTCOMES


def _window_index(groups: Sequence[Group], exchange_id: str) -> int | None:
    return next((g.event_index for g in groups if g.representative == exchange_id and g.event_index is not None), None)


def _events(exchange: Exchange, event_index: int | None, reader: Reader | None) -> tuple[tuple[evidence.EventLine, ...], str]:
    """The event window, and a note when it comes from the head of a stream too long to read whole for one attachment."""
    size = len(exchange.body)
    if size > STREAM_HEAD:
        head = read_stream(exchange.body[:STREAM_HEAD])
        if event_index is None or event_index + CONTEXT < len(head.events):
            note = f"(events of the first {STREAM_HEAD:,} bytes of a {size:,}-byte stream; report.html tables the window at its end)\n"
            return evidence.event_window(exchange, event_index, CONTEXT, reading=head), note if event_index is None else ""
    return evidence.event_window(exchange, event_index, CONTEXT, reading=reader(exchange) if reader is not None else None), ""


def exchange_attachments(exchange: Exchange, *, event_index: int | None = None, reader: Reader | None = None) -> list[Attachment]:
    """Request, response (or why none came), the events around ``event_index`` for a stream, and the curl line."""
    out = [Attachment(f"{exchange.id} · request", message_text(evidence.request_view(exchange)))]
    response = evidence.response_view(exchange)
    failure = evidence.failure_text(exchange)
    parts = [f"No answer: {failure}"] if failure else []
    if response is not None:
        parts.append(message_text(response))
    elif not failure:
        parts.append("no response recorded")
    if exchange.notes:
        parts.append("Notes:\n" + "\n".join(f"- {evidence.visible_text(note)}" for note in exchange.notes))
    out.append(Attachment(f"{exchange.id} · response", "\n\n".join(parts)))
    if exchange.streamed and exchange.body:
        window, note = _events(exchange, event_index, reader)
        if window:
            out.append(Attachment(f"{exchange.id} · events", note + events_text(window)))
    out.append(Attachment(f"{exchange.id} · curl", evidence.curl(exchange)))
    return out


def attachments(record: Mapping[str, Any], exchanges: Mapping[str, Exchange], *, reader: Reader | None = None) -> list[Attachment]:
    """What report.html shows for one result, as attachments: the violations (each once), then each shown exchange's evidence."""
    if not has_evidence(record):
        return []
    groups = record_groups(record)
    head = verdict_text(record, listed=None)
    notes = [evidence.visible_text(str(n)) for n in record.get("notes") or ()]
    text = head + ("\n\nNotes:\n" + "\n".join(f"- {n}" for n in notes) if notes else "")
    out = [Attachment("violations" if groups else "message", text)]
    shown, more = cited(record, exchanges)
    for exchange_id in shown:
        out += exchange_attachments(exchanges[exchange_id], event_index=_window_index(groups, exchange_id), reader=reader)
    if more:
        out.append(Attachment("other exchanges", "Also judged on (their evidence is in report.html):\n" + "\n".join(exchange_line(exchanges[x]) for x in more)))
    return out


def verdict_text(record: Mapping[str, Any], *, listed: int | None = LISTED) -> str:
    """What a non-passing verdict says: each distinct violation once with its exchanges, else the message (an error, a skip)."""
    groups = record_groups(record)
    return groups_text(groups, listed=listed) if groups else evidence.visible_text(str(record.get("message", "")))


def more_violations(record: Mapping[str, Any]) -> str:
    """A note when the check found more distinct violations than results.json keeps (its message counts them all), else ""."""
    last = str(record.get("message", "")).rsplit("\n", 1)[-1]
    if len(record.get("violations") or ()) >= KEPT and last.startswith("… and "):
        return f"More distinct violations than the first {KEPT} shown here (results.json keeps {KEPT})."
    return ""


def headline(record: Mapping[str, Any]) -> str:
    """One line for a failure's short message: the case, its level, the first thing received, on how many exchanges."""
    groups = record_groups(record)
    first = groups[0].message if groups else str(record.get("message", ""))
    line = next((ln for ln in first.split("\n") if ln.startswith("Received:")), first.split("\n", 1)[0])
    count = len(groups[0].exchanges) if groups else 0
    where = f" (on {count} exchanges)" if count > 1 else ""
    distinct = f"; {len(groups) - 1} other distinct violation(s)" if len(groups) > 1 else ""
    return evidence.visible_text(f"{record.get('id', '')} [{record.get('level', '')}] {line}{where}{distinct}")


def failure_text(record: Mapping[str, Any], exchanges: Mapping[str, Exchange], *, report: str | None = None) -> str:
    """A failure for JUnit and the terminal: the rule once, each distinct violation once, and one line per shown exchange."""
    lines = [f"{record.get('id', '')} [{record.get('level', '')}] {record.get('rule', '')}".rstrip()]
    if record.get("source"):
        lines.append(f"Source: {record['source']}")
    lines.append(verdict_text(record))
    more = more_violations(record)
    if more:
        lines.append(more)
    shown, _ = cited(record, exchanges)
    if shown:
        lines.append("Evidence:")
        lines += [f"  {exchange_line(exchanges[x])}" for x in shown]
    if report:
        lines.append(f"Request, response and curl: {report}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- a run on disk


class RunEvidence:
    """A finished run's records and exchanges, read from its folder once per process (an xdist worker has nothing else)."""

    def __init__(self, run_dir: Path, *, exchanges: Mapping[str, Exchange] | None = None) -> None:
        self.run_dir = run_dir
        self._exchanges = exchanges  # the process that sent the requests has them in memory
        self._readings: dict[str, StreamReading] = {}

    @cached_property
    def document(self) -> JSONObject:
        """results.json, or an empty document when the run wrote none (it stopped before judging)."""
        try:
            loaded = json.loads((self.run_dir / "results.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return loaded if isinstance(loaded, dict) else {}

    @cached_property
    def records(self) -> dict[str, JSONObject]:
        """Every result record by case id."""
        return {str(r.get("id")): r for r in self.document.get("results") or () if isinstance(r, dict)}

    @property
    def exchanges(self) -> Mapping[str, Exchange]:
        """The cassette's exchanges by id (none when it is missing or damaged: the text then names exchanges without detail)."""
        if self._exchanges is None:
            try:
                self._exchanges = {e.id: e for e in read_cassette(self.run_dir / "cassette.jsonl")}
            except CassetteError:
                self._exchanges = {}
        return self._exchanges

    def reading(self, exchange: Exchange) -> StreamReading:
        """A stream read once per process, however many cases show its events."""
        if exchange.id not in self._readings:
            self._readings[exchange.id] = read_stream(exchange.body, exchange.chunks)
        return self._readings[exchange.id]

    def record(self, case_id: str) -> JSONObject | None:
        """The record of one case, if the run judged it."""
        return self.records.get(case_id)

    def evidence_of(self, case_id: str) -> tuple[JSONObject | None, Mapping[str, Exchange]]:
        """(record, exchanges) for one case; exchanges are read only when the case has evidence to show."""
        record = self.record(case_id)
        if record is None or not has_evidence(record):
            return record, {}
        return record, self.exchanges
