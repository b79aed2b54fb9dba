"""``compare.html`` and its Markdown twin: several targets' results side by side, a matrix of checks by targets.

Owns turning a comparison document (built by ``conformance/compare.py``) into view values, the
page and the job-page Markdown. It reuses the single-run report's Jinja2 environment, stylesheet
and Markdown escaping, so the same guarantees hold: autoescape everywhere, target text never
marked safe, only our own static CSS/JS (pinned by CSP hashes), and links only to web rule
sources or, by relative path, to each target's own report. It reads nothing but the document.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .._types import JSONObject
from . import html as report_html
from . import summary

PAGE_NAME = "compare.html"
OUTCOMES = report_html.OUTCOMES
FAILED = ("fail", "error")
NONE = "—"
EMOJI = {"pass": "✅", "fail": "❌", "warn": "⚠️", "skip": "⏭️", "error": "💥"}


@dataclass(frozen=True, slots=True)
class Cell:
    """One target's outcome on one check: a word (never colour alone), why, and where its evidence is."""

    kind: str
    text: str
    title: str
    link: str | None
    baselined: str
    clients: str = ""  # the official clients that break on this cell's exchange, e.g. "breaks @anthropic-ai/sdk 1.17.0"


@dataclass(frozen=True, slots=True)
class Row:
    """One check (case) across every target; ``differ`` compares usable targets only."""

    id: str
    area: str
    level: str
    rule: str
    source: str
    source_href: str | None
    cells: tuple[Cell, ...]
    differ: bool
    failed: bool


@dataclass(frozen=True, slots=True)
class Column:
    """One target's header: who it is and how its run went, or why it could not run."""

    name: str
    usable: bool
    error: str
    report: str | None
    profile: str
    model: str
    meta: tuple[tuple[str, str], ...]
    counts: tuple[tuple[str, int], ...]
    must_failures: int
    gate_failed: bool
    score: str


@dataclass(frozen=True, slots=True)
class Line:
    """A row of a features or scores table: a label, then per target a text and whether to flag it."""

    label: str
    cells: tuple[tuple[str, bool], ...]


@dataclass(frozen=True, slots=True)
class Changes:
    """What changed for one target since the earlier comparison."""

    name: str
    better: tuple[tuple[str, str, str], ...]
    worse: tuple[tuple[str, str, str], ...]
    new: tuple[str, ...]
    gone: tuple[str, ...]


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float) else 0


def _local(link: object) -> str | None:
    """A link into a target's own report: relative paths only, so a merged document cannot point elsewhere."""
    if not isinstance(link, str) or not link or any(ord(char) < 0x20 or char == "\x7f" for char in link):
        return None
    href = link.replace("\\", "/")  # a Windows relpath; browsers read "\" as "/" anyway
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or parts.path.startswith("/"):
        return None
    return href


def _percent(passed: int, judged: int) -> str:
    return f"{passed}/{judged} ({100 * passed / judged:.0f}%)" if judged else NONE


def _score(scores: object) -> tuple[int, int]:
    """Passed and judged over every area."""
    areas = scores.values() if isinstance(scores, Mapping) else ()
    return sum(_int(a.get("pass")) for a in areas), sum(_int(a.get("judged")) for a in areas)


def _cost(spend: Mapping[str, Any]) -> str:
    cost = spend.get("cost_usd")
    return f"${float(cost):.4f}" if isinstance(cost, int | float) else "not priced"


def column(target: Mapping[str, Any]) -> Column:
    """A target's header values from its entry in the document."""
    usable = target.get("status") == "ok"
    counts, spend = target.get("counts") or {}, target.get("spend") or {}
    gate = target.get("gate_failed")
    meta: tuple[tuple[str, str], ...] = ()
    if usable:
        meta = (
            ("Base URL", _text(target.get("base_url"))),
            ("Profile", _text(target.get("profile"))),
            ("Model", _text(target.get("model"))),
            ("API version", _text(target.get("api_version"))),
            ("Gate", "failed" if gate else "passed" if gate is False else "not gated"),
            ("Requests", f"{_int(spend.get('requests'))} ({_int(spend.get('retries'))} retried after 429/529)"),
            ("Tokens", f"{_int(spend.get('input_tokens')):,} in / {_int(spend.get('output_tokens')):,} out"),
            ("Cost", _cost(spend)),
        )
    return Column(
        name=_text(target.get("name")),
        usable=usable,
        error=_text(target.get("error")) or ("" if usable else "unusable (no reason recorded)"),
        report=_local(target.get("report")),
        profile=_text(target.get("profile")),
        model=_text(target.get("model")),
        meta=meta,
        counts=tuple((o, _int(counts.get(o))) for o in OUTCOMES) if usable else (),
        must_failures=_int(target.get("must_failures")),
        gate_failed=bool(gate),
        score=_percent(*_score(target.get("scores"))) if usable else NONE,
    )


def _cell(raw: object, target: Column) -> Cell:
    if not target.usable:
        return Cell("none", NONE, target.error, None, "")
    if not isinstance(raw, Mapping):
        return Cell("none", NONE, "not run on this target", None, "")
    outcome = _text(raw.get("outcome"))
    message = _text(raw.get("message")).split("\n", 1)[0]
    if len(message) > report_html.HEAD_LIMIT:
        message = message[: report_html.HEAD_LIMIT] + "…"
    baselined = _text(raw.get("baselined"))
    broken = [c for c in raw.get("clients") or () if isinstance(c, Mapping)]
    impact = "\n".join(f"{_text(c.get('name'))}: {_text(c.get('summary'))}" for c in broken)
    title = "\n".join(part for part in (message, f"baselined: {baselined}" if baselined else "", impact) if part)
    kind = outcome if outcome in OUTCOMES else "unknown"
    clients = f"breaks {len(broken)} client{'s' if len(broken) != 1 else ''}" if broken else ""
    return Cell(kind, outcome.upper()[:12] or "?", title, _local(raw.get("link")), baselined, clients)


def row(check: Mapping[str, Any], columns: Sequence[Column]) -> Row:
    """A check's row: one cell per target, in the targets' order."""
    raw = check.get("cells") or {}
    cells = tuple(_cell(raw.get(c.name), c) for c in columns)
    seen = {cell.kind for cell, c in zip(cells, columns, strict=True) if c.usable}
    source = _text(check.get("source"))
    return Row(
        id=_text(check.get("id")),
        area=_text(check.get("area")),
        level=_text(check.get("level")),
        rule=_text(check.get("rule")),
        source=source,
        source_href=report_html._href(source),
        cells=cells,
        differ=len(seen) > 1,
        failed=any(cell.kind in FAILED for cell in cells),
    )


def grouped(rows: Iterable[Row]) -> list[tuple[str, list[Row]]]:
    """Rows by area, areas in first-seen order (the document sorts checks by area, then id)."""
    areas: dict[str, list[Row]] = {}
    for r in rows:
        areas.setdefault(r.area, []).append(r)
    return list(areas.items())


def _declared(value: object) -> str:
    return "yes" if value is True else "no" if value is False else NONE


def _mismatch(declared: object, observed: str) -> bool:
    """Declared but failing or refused, or not declared but working: the profile is wrong about the target."""
    return (declared is True and (observed.startswith("fails") or observed == "refused")) or (declared is False and observed == "works")


SOURCE_SHOWN = 160  # characters of a declaration's source a cell shows


def features(targets: list[Mapping[str, Any]]) -> list[Line]:
    """Declared vs observed, one line per feature any target reports."""
    names: dict[str, None] = {}
    for t in targets:
        names.update(dict.fromkeys(t.get("declared") or {}))
        names.update(dict.fromkeys(t.get("observed") or {}))
    lines = []
    for name in names:
        cells = []
        for t in targets:
            if t.get("status") != "ok":
                cells.append((NONE, False))
                continue
            declared, observed = (t.get("declared") or {}).get(name), _text((t.get("observed") or {}).get(name)) or "not judged"
            source = _text((t.get("declared_sources") or {}).get(name))
            cited = f" (source: {source[:SOURCE_SHOWN]}{'…' if len(source) > SOURCE_SHOWN else ''})" if source else ""
            cells.append((f"declared {_declared(declared)}{cited} · observed {observed}", _mismatch(declared, observed)))
        lines.append(Line(_text(name), tuple(cells)))
    return lines


def scores(targets: list[Mapping[str, Any]]) -> list[Line]:
    """Pass/judged per area per target, then the total."""
    areas = sorted({_text(a) for t in targets for a in t.get("scores") or {}})
    lines = []
    for area in areas:
        cells = []
        for t in targets:
            got = (t.get("scores") or {}).get(area) or {}
            cells.append((_percent(_int(got.get("pass")), _int(got.get("judged"))), False))
        lines.append(Line(area, tuple(cells)))
    lines.append(Line("all areas", tuple((_percent(*_score(t.get("scores"))), False) for t in targets)))
    return lines


def _moves(items: list[JSONObject] | None) -> tuple[tuple[str, str, str], ...]:
    return tuple((_text(i.get("id")), _text(i.get("before")), _text(i.get("now"))) for i in items or () if isinstance(i, Mapping))


def changes(against: Mapping[str, Any]) -> list[Changes]:
    """Per target, the better / worse / new / gone lists of an ``against`` section."""
    out = []
    for name, diff in (against.get("targets") or {}).items():
        out.append(
            Changes(
                name=_text(name),
                better=_moves(diff.get("better")),
                worse=_moves(diff.get("worse")),
                new=tuple(_text(i) for i in diff.get("new") or ()),
                gone=tuple(_text(i) for i in diff.get("gone") or ()),
            )
        )
    return out


def _views(document: JSONObject) -> tuple[list[Mapping[str, Any]], list[Column], list[Row]]:
    targets = [t for t in document.get("targets") or () if isinstance(t, Mapping)]
    columns = [column(t) for t in targets]
    return targets, columns, [row(c, columns) for c in document.get("checks") or () if isinstance(c, Mapping)]


def render(document: JSONObject) -> str:
    """The comparison page: a header per target, declared vs observed, scores, the filterable matrix, changes."""
    targets, columns, rows = _views(document)
    style, style_hash = report_html._asset("report.css")
    extra, extra_hash = report_html._asset("compare.css")
    script, script_hash = report_html._asset("compare.js")
    against = document.get("against")
    names = ", ".join(c.name for c in columns)
    return report_html._environment().get_template("compare.html.j2").render(
        title=f"Conformance comparison: {names}",
        document=document,
        columns=columns,
        groups=grouped(rows),
        total=len(rows),
        differing=sum(r.differ for r in rows),
        failing=sum(r.failed for r in rows),
        features=features(targets),
        scores=scores(targets),
        against_file=_text(against.get("file")) if isinstance(against, Mapping) else "",
        changes=changes(against) if isinstance(against, Mapping) else [],
        style=style,
        extra_style=extra,
        script=script,
        csp=f"default-src 'none'; style-src {style_hash} {extra_hash}; script-src {script_hash}; img-src 'none'; base-uri 'none'; form-action 'none'",
    )


def write(out_dir: Path, document: JSONObject) -> Path:
    """Write ``out_dir/compare.html`` and return its path."""
    path = out_dir / PAGE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(document), encoding="utf-8", errors="backslashreplace")  # a lone surrogate from JSON stays visible
    return path


def _word(cell: Cell) -> str:
    return NONE if cell.kind == "none" else f"{EMOJI.get(cell.kind, '❓')} {summary.escape(cell.text.lower())}"


def _target_line(c: Column) -> str:
    if not c.usable:
        return f"- **{summary.escape(c.name)}** ⛔ unusable: {summary.escape(c.error)}"
    must = f"❌ {c.must_failures} MUST failure{'s' if c.must_failures != 1 else ''}" if c.must_failures else "✅ no MUST failures"
    gate = " · gate failed" if c.gate_failed else ""
    counts = " · ".join(f"{n} {o}" for o, n in c.counts)
    return (
        f"- **{summary.escape(c.name)}** {must}{gate} · profile **{summary.escape(c.profile)}** · model **{summary.escape(c.model)}**"
        f" · {counts} · score {c.score}"
    )


def _matrix(rows: list[Row], columns: list[Column]) -> list[str]:
    head = "| Case | " + " | ".join(summary.escape(c.name, limit=60) for c in columns) + " |"
    lines: list[str] = []
    for area, members in grouped(rows[: summary.ROW_LIMIT]):
        lines += ["", f"#### {summary.escape(area)} ({len(members)})", "", head, "|---|" + "---|" * len(columns)]
        lines += ["| " + " | ".join([summary.code(r.id), *(_word(cell) for cell in r.cells)]) + " |" for r in members]
    if len(rows) > summary.ROW_LIMIT:
        lines += ["", f"… and {len(rows) - summary.ROW_LIMIT} more; see {PAGE_NAME}."]
    return lines


def _changes_lines(document: JSONObject) -> list[str]:
    against = document.get("against")
    if not isinstance(against, Mapping):
        return []
    lines = ["", f"### Since {summary.escape(against.get('file', ''))}", ""]
    for c in changes(against):
        worse = ", ".join(summary.code(i) for i, _, _ in c.worse[:20]) + (" …" if len(c.worse) > 20 else "")
        lines.append(
            f"- **{summary.escape(c.name)}**: {len(c.better)} better · {len(c.worse)} worse · {len(c.new)} new · {len(c.gone)} gone"
            + (f" (worse: {worse})" if worse else "")
        )
    return lines


def markdown(document: JSONObject) -> str:
    """The job-page summary: a line per target, then the checks where targets differ or any failed, by area."""
    _, columns, rows = _views(document)
    shown = [r for r in rows if r.differ or r.failed]
    quiet = [r for r in rows if not (r.differ or r.failed)]
    all_pass = sum(1 for r in quiet if all(cell.kind == "pass" for cell, c in zip(r.cells, columns, strict=True) if c.usable))
    lines = [f"## Messages API conformance: {len(columns)} targets compared", "", *(_target_line(c) for c in columns)]
    if shown:
        lines += ["", f"### Checks where targets differ or fail ({len(shown)} of {len(rows)})", *_matrix(shown, columns)]
    lines += ["", f"{all_pass} checks pass on every usable target" + (f"; {len(quiet) - all_pass} more agree everywhere (skip or warn)" if len(quiet) > all_pass else "") + "."]
    lines += _changes_lines(document)
    return "\n".join(lines) + "\n"
