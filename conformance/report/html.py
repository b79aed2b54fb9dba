"""``report.html``: one self-contained page a person opens from disk to see what failed and why.

Owns turning a results document plus its exchanges into view values and rendering them with
Jinja2 (autoescape on for everything, target text never marked safe). Evidence is rendered once
per exchange, server-side, and results point at it; the page's only script is our own static
filter code, pinned by a CSP hash, so nothing a target sent can run or fetch anything.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from .._types import JSONObject
from ..exchange import Exchange
from ..sse.reading import StreamReading, read_stream
from ..versions import split
from . import casefile, evidence, summary
from .groups import cited, record_groups

REPORT_NAME = "report.html"
OUTCOMES = ("fail", "error", "warn", "skip", "pass")
OPEN_FAILURES = 5
INDEX_LIMIT = 60
HEAD_LIMIT = 240
JUDGED_SHOWN = 3  # judged items a pass row shows; the rest are counted (results.json has them all)
_TEMPLATES = Path(__file__).with_name("templates")


@dataclass(frozen=True, slots=True)
class ViolationView:
    """One distinct violation: its message lines tagged by kind, where, every exchange that shows it, the events around it on the first."""

    lines: tuple[tuple[str, str], ...]
    at: str | None
    exchanges: tuple[tuple[str, bool], ...]  # (exchange id, recorded in the cassette), the representative first
    window: tuple[evidence.EventLine, ...]

    @property
    def shared(self) -> bool:
        """True when more than one exchange shows this violation (the page says it once and lists them)."""
        return len(self.exchanges) > 1


@dataclass(frozen=True, slots=True)
class ExchangeView:
    """An exchange's evidence, rendered once however many results cite it."""

    id: str
    title: str
    meta: str
    request: evidence.MessageView
    curl: str
    response: evidence.MessageView | None
    failure: str | None
    stream: bool
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ResultView:
    """One result row; ``evidence`` is False for pass and skip, which carry no details."""

    id: str
    outcome: str
    level: str
    area: str
    tier: str
    rule: str
    level_reason: str
    source: str
    source_href: str | None
    head: str
    message: str
    override: str
    expect: str
    notes: tuple[str, ...]
    violations: tuple[ViolationView, ...]
    exchanges: tuple[str, ...]
    more_exchanges: tuple[str, ...]
    evidence: bool
    open: bool
    judged: str = ""  # what a pass rests on, compactly: its first judged items
    more_violations: str = ""  # set when results.json kept fewer distinct violations than the check found
    api_version: str = ""  # set for a version-dependent case: the version whose contract judged it
    clients: tuple[tuple[str, str, str, str], ...] = ()  # (client, outcome, summary, exchange): what each official client made of the cited exchanges


def _clients(record: Mapping[str, Any]) -> tuple[tuple[str, str, str, str], ...]:
    """The record's client impact (impact/document.py), as rows: client name, outcome, what it did, on which exchange."""
    rows = []
    for item in record.get("client_impact") or ():
        if isinstance(item, Mapping):
            rows.append((str(item.get("name", "")), str(item.get("outcome", "")), evidence.visible_text(str(item.get("summary", ""))), str(item.get("exchange") or "")))
    return tuple(rows)


def _href(url: str) -> str | None:
    """Only web links become links: a spec source like ``javascript:`` stays text."""
    return url if url.startswith(("https://", "http://")) else None


def _lines(message: str) -> tuple[tuple[str, str], ...]:
    tagged = []
    for line in message.split("\n"):
        label, colon, _ = line.partition(":")
        kind = label.lower() if colon and label in ("Received", "Expected", "Note", "At") else "text"
        tagged.append((kind, evidence.visible_text(line)))
    return tuple(tagged)


def _judged(record: Mapping[str, Any]) -> str:
    """A pass's judged items in one line: the first few, then how many more (a pass names what it looked at)."""
    items = [evidence.visible_text(str(item)) for item in record.get("judged") or ()]
    shown = " · ".join(item if len(item) <= HEAD_LIMIT else item[:HEAD_LIMIT] + "…" for item in items[:JUDGED_SHOWN])
    more = len(items) - JUDGED_SHOWN
    return shown + (f" · … and {more} more" if more > 0 else "")


def _head(record: Mapping[str, Any]) -> str:
    """The message's first line, cut, for the always-visible row."""
    first = evidence.visible_text(str(record.get("message", "")).split("\n", 1)[0])
    return first if len(first) <= HEAD_LIMIT else first[:HEAD_LIMIT] + "…"


class _Windows:
    """Event windows memoised per (exchange, event) since one stream is cited by many violations."""

    def __init__(self, exchanges: Mapping[str, Exchange]) -> None:
        self._exchanges = exchanges
        self._cache: dict[tuple[str, int | None], tuple[evidence.EventLine, ...]] = {}
        self._readings: dict[str, StreamReading] = {}  # one reading per stream, however many windows it shows

    def get(self, exchange_id: str | None, event_index: int | None) -> tuple[evidence.EventLine, ...]:
        """The window, or () when the exchange is unknown or not a stream with an answer."""
        exchange = self._exchanges.get(exchange_id) if exchange_id else None
        if exchange is None or exchange_id is None or not exchange.streamed or not exchange.body:
            return ()
        key = (exchange_id, event_index)
        if key not in self._cache:
            if exchange_id not in self._readings:
                self._readings[exchange_id] = read_stream(exchange.body, exchange.chunks)
            self._cache[key] = evidence.event_window(exchange, event_index, reading=self._readings[exchange_id])
        return self._cache[key]


def _violations(record: Mapping[str, Any], exchanges: Mapping[str, Exchange], windows: _Windows) -> tuple[ViolationView, ...]:
    """One view per distinct violation (identical ones grouped, see groups.py), the stream window of its representative."""
    return tuple(
        ViolationView(_lines(g.message), g.at, tuple((x, x in exchanges) for x in g.exchanges), windows.get(g.representative, g.event_index))
        for g in record_groups(record)
    )


def result_views(document: JSONObject, exchanges: Mapping[str, Exchange]) -> tuple[list[ResultView], list[str]]:
    """Every result as a row, and the exchanges that non-passing rows cite (in first-cited order)."""
    windows = _Windows(exchanges)
    rows: list[ResultView] = []
    appendix: dict[str, None] = {}
    opened = 0
    for record in document.get("results", ()):
        outcome = str(record.get("outcome", ""))
        has_evidence = outcome in ("fail", "warn", "error")
        shown, more = cited(record, exchanges) if has_evidence else ([], [])
        appendix.update(dict.fromkeys([*shown, *more]))
        is_open = outcome in ("fail", "error") and opened < OPEN_FAILURES
        opened += is_open
        expect = record.get("expect")
        rows.append(
            ResultView(
                id=str(record.get("id", "")),
                outcome=outcome,
                level=str(record.get("level", "")),
                area=str(record.get("area", "")),
                tier=str(record.get("tier") or ""),
                rule=str(record.get("rule", "")),
                level_reason=str(record.get("level_reason") or ""),
                source=str(record.get("source", "")),
                source_href=_href(str(record.get("source", ""))),
                head=_head(record),
                message=evidence.visible_text(str(record.get("message", ""))),
                override=str(record.get("profile_override") or ""),
                expect=", ".join(expect) if expect else "",
                notes=tuple(evidence.visible_text(str(n)) for n in record.get("notes") or ()),
                violations=_violations(record, exchanges, windows) if has_evidence else (),
                exchanges=tuple(shown),
                more_exchanges=tuple(more),
                evidence=has_evidence,
                open=is_open,
                judged=_judged(record) if outcome == "pass" else "",
                more_violations=casefile.more_violations(record) if has_evidence else "",
                api_version=split(str(record.get("id", "")))[1] or "",
                clients=_clients(record) if has_evidence else (),
            )
        )
    return rows, list(appendix)


def exchange_view(exchange: Exchange) -> ExchangeView:
    """The evidence of one exchange: request, curl, response (or why none came), notes."""
    status = "no answer" if exchange.status is None else str(exchange.status)
    response = evidence.response_view(exchange)
    meta = [f"{exchange.elapsed:.3f} s"]
    if exchange.attempts > 1:
        meta.append(f"{exchange.attempts} attempts")
    if exchange.started_at:
        meta.append(f"started {exchange.started_at}")
    return ExchangeView(
        id=exchange.id,
        title=f"{exchange.request.method} {exchange.request.url} → {status}",
        meta=" · ".join(meta),
        request=evidence.request_view(exchange),
        curl=evidence.curl(exchange),
        response=response,
        failure=evidence.failure_text(exchange),
        stream=exchange.streamed and response is not None and response.body.kind != "json",
        notes=tuple(exchange.notes),
    )


def _versions(run: Mapping[str, Any]) -> str:
    primary = str(run.get("api_version", ""))
    others = [str(v) for v in run.get("api_versions") or () if v != primary]
    return primary + (f" (also {', '.join(others)} for the version-dependent cases, whose ids carry their version)" if others else "")


def _run_rows(document: JSONObject) -> list[tuple[str, str]]:
    run, spend = document.get("run", {}), document.get("spend", {})
    impact = document.get("client_impact")
    clients = [c for c in (impact or {}).get("clients") or () if isinstance(c, Mapping)]
    checked = " · ".join(f"{c.get('name')}" + ("" if c.get("status") == "checked" else f" (not checked: {c.get('note')})") for c in clients)
    return [
        *([("Client impact", f"every exchange replayed offline into {checked}; no request sent")] if clients else []),
        ("Profile", str(run.get("profile", ""))),
        ("Model", str(run.get("model", ""))),
        ("API version", str(run.get("api_version", ""))),
        *([("Preflight", str(run["preflight"].get("summary", "")))] if (run.get("preflight") or {}).get("fell_back") else []),
        ("API version", _versions(run)),
        ("Suite version", str(run.get("suite_version", ""))),
        ("Run id", str(run.get("id", ""))),
        ("Started", str(run.get("started_at", ""))),
        ("Wall time", f"{float(run.get('wall_time_s', 0.0)):.1f} s"),
        ("Requests", f"{spend.get('requests', 0)} ({spend.get('retries', 0)} retried after 429/529)"),
        ("Tokens", f"{spend.get('input_tokens', 0):,} in / {spend.get('output_tokens', 0):,} out"),
        *(
            [("By tier", " · ".join(f"{t}: {v.get('requests', 0)} req, {v.get('input_tokens', 0) + v.get('output_tokens', 0):,} tok" for t, v in spend["by_tier"].items()))]
            if spend.get("by_tier")
            else []
        ),
    ]


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _asset(name: str) -> tuple[Markup, str]:
    """Our own static CSS or JS (never target text) and its CSP hash source."""
    text = (_TEMPLATES / name).read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return Markup(text), f"'sha256-{digest}'"


def _areas(rows: Iterable[ResultView]) -> list[str]:
    return sorted({row.area for row in rows if row.area})


def render(document: JSONObject, exchanges: Mapping[str, Exchange]) -> str:
    """The report page for one run: summary, filters, every result, and each cited exchange once."""
    rows, appendix = result_views(document, exchanges)
    counts = document.get("counts", {})
    style, style_hash = _asset("report.css")
    script, script_hash = _asset("report.js")
    failures = [row for outcome in ("fail", "error", "warn") for row in rows if row.outcome == outcome]
    run = document.get("run", {})
    return _environment().get_template("report.html.j2").render(
        run=run,
        interrupted=summary.interrupted_line(document),
        title=f"Conformance: {run.get('target', '')} ({run.get('profile', '')}, {run.get('model', '')})",
        run_rows=_run_rows(document),
        counts=[(o, int(counts.get(o, 0))) for o in OUTCOMES] + [(o, int(n)) for o, n in counts.items() if o not in OUTCOMES],
        total=len(rows),
        must_failures=int(document.get("must_failures", 0)),
        failures=failures[:INDEX_LIMIT],
        more_failures=max(0, len(failures) - INDEX_LIMIT),
        areas=_areas(rows),
        outcomes=OUTCOMES,
        rows=rows,
        exchanges=[exchange_view(exchanges[x]) for x in appendix],
        style=style,
        script=script,
        csp=f"default-src 'none'; style-src {style_hash}; script-src {script_hash}; img-src 'none'; base-uri 'none'; form-action 'none'",
    )


def write_report(run_dir: Path, document: JSONObject, exchanges: Mapping[str, Exchange]) -> Path:
    """Write ``run_dir/report.html`` and return its path."""
    path = run_dir / REPORT_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(document, exchanges), encoding="utf-8", errors="backslashreplace")  # a lone surrogate from JSON stays visible
    return path
