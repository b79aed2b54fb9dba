"""The CLI's words on a terminal: the live progress line and the end-of-run summary.

Reads only the results document (the same one every other reporter reads), so the summary of a
live run and of a replayed one look the same. Colour and carriage returns only on a real TTY
outside CI; everything else gets plain lines.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from typing import TextIO

from .._types import JSONObject
from ..findings import Finding
from . import summary as summary_md

ORDER = ("fail", "warn", "error", "skip", "pass")
_COLOUR = {"fail": "31", "warn": "33", "error": "35", "skip": "36", "pass": "32", "dim": "2", "bold": "1"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MARK = {"fail": "✗", "warn": "!", "error": "E", "skip": "-", "pass": "✓"}


def fancy(stream: TextIO, environ: Mapping[str, str] = os.environ) -> bool:
    """An updating line (carriage returns) only for a person at a terminal (not CI, not NO_COLOR, not a pipe)."""
    return stream.isatty() and not environ.get("CI") and not environ.get("NO_COLOR") and environ.get("TERM") != "dumb"


def colour(stream: TextIO, environ: Mapping[str, str] = os.environ) -> bool:
    """Colour: never under NO_COLOR (no-color.org), always under FORCE_COLOR (force-color.org, e.g. a CI log that renders ANSI), else at a terminal.

    Both count when set to anything but the empty string; NO_COLOR wins, as in CPython's own ``_colorize``.
    """
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    return fancy(stream, environ)


class Progress:
    """The live progress line while requests are in flight."""

    def __init__(self, stream: TextIO = sys.stderr, *, live: bool | None = None, label: str = "") -> None:
        self.stream = stream
        self.live = fancy(stream) if live is None else live
        self.started = time.monotonic()
        self._last_printed = -1
        self.label = f"{label}: " if label else ""  # which target, when several run at once (compare)
        self._open = False  # an updating line was left without its newline (the run stopped midway)

    def close(self) -> None:
        """End an updating line a stopped run left open, so the next message starts on its own line."""
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False

    def __call__(self, done: int, total: int) -> None:
        elapsed = time.monotonic() - self.started
        line = f"  {self.label}requests {done}/{total} · {elapsed:.1f} s"
        if self.live:
            self.stream.write("\r\x1b[2K" + line)
            self._open = done != total
            if done == total:
                self.stream.write("\n")
            self.stream.flush()
            return
        step = max(1, total // 4)
        if done == total or done == 1 or done // step != self._last_printed // step:
            self.stream.write(line + "\n")
            self.stream.flush()
            self._last_printed = done


def _paint(text: str, style: str, colour: bool) -> str:
    return f"\x1b[{_COLOUR[style]}m{text}\x1b[0m" if colour else text


def _first_line(text: str) -> str:
    """The first line of a message, with control characters a target sent shown as ``\\xNN`` (never sent to the terminal)."""
    first = text.splitlines()[0] if text else ""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", first)


def _planned(spend: JSONObject) -> str:
    """`` of at most 25,219 planned``: the plan's bound beside what was spent."""
    return f" (at most {spend['planned_tokens']:,} planned)" if isinstance(spend.get("planned_tokens"), int) else ""


def _reopened(spend: JSONObject) -> str:
    """How many requests were resent after the target closed a kept-alive connection under them, when any were."""
    count = int(spend.get("reopened") or 0)
    return f", {count} resent on a new connection" if count else ""


def against_line(name: str, change: JSONObject) -> str:
    """One line of what changed since an earlier run: better, worse, new, gone, and what a different tier explains."""
    line = f"{name}: {len(change['better'])} better, {len(change['worse'])} worse, {len(change['new'])} new, {len(change['gone'])} gone"
    tiers = change.get("tiers")
    if change.get("tier") and tiers:
        line += f"; {len(change['tier'])} to or from skip, not counted as worse: tier {tiers['before']} then, {tiers['now']} now"
    return line


def _quiet(document: JSONObject, report_path: str | None, colour: bool) -> str:
    """-q: the verdict alone: counts, the gate, the report."""
    counts, gate = document["counts"], document.get("gate", {})
    lines = [" · ".join(_paint(f"{counts.get(o, 0)} {o}", o, colour and counts.get(o, 0) > 0) for o in ORDER)]
    if gate.get("reasons"):
        lines.append(("gate: FAILED — " if gate.get("failed") else "gate: passed — ") + "; ".join(gate["reasons"]))
    if report_path:
        lines.append(f"report {report_path}")
    return "\n".join(lines)


def _listed(document: JSONObject, colour: bool) -> list[str]:
    """-v: every pass with what it judged, every skip with why not."""
    lines: list[str] = []
    for outcome, title in (("pass", "Passed"), ("skip", "Skipped")):
        records = [r for r in document["results"] if r["outcome"] == outcome]
        if not records:
            continue
        lines += ["", _paint(f"{title} ({len(records)})", outcome, colour)]
        for record in records:
            detail = _first_line(str((record.get("judged") or [""])[0])) if outcome == "pass" else _first_line(record["message"])
            lines.append(f"    {_paint(_MARK[outcome], outcome, colour)} {record['id']}" + (f" — {detail[:160]}" if detail else ""))
    return lines


def summary(document: JSONObject, *, report_path: str | None, colour: bool = False, verbosity: int = 0) -> str:
    """The end-of-run summary: counts, MUST failures grouped by area with their rule, spend, report path (-q: the verdict alone; -v: every case)."""
    if verbosity < 0:
        return _quiet(document, report_path, colour)
    run, spend, counts = document["run"], document["spend"], document["counts"]
    target = "embedded reference server" if run["embedded_reference"] else run["target"]
    lines = [
        _paint(f"anthropic-conformance {run['suite_version']}", "bold", colour) + f" — {target}",
        f"  profile {run['profile']} · model {run['model']} · anthropic-version {summary_md.versions_line(run)} · run {run['id']}",
        "  " + " · ".join(_paint(f"{counts.get(o, 0)} {o}", o, colour and counts.get(o, 0) > 0) for o in ORDER),
    ]
    preflight = run.get("preflight") or {}
    if preflight.get("fell_back"):
        lines.insert(2, _paint(f"  preflight {preflight['summary']}", "warn", colour))
    by_outcome: dict[str, list[JSONObject]] = {}
    for record in document["results"]:
        by_outcome.setdefault(record["outcome"], []).append(record)
    for outcome, title in (("fail", "MUST failures"), ("warn", "Warnings"), ("error", "Not judged (infrastructure)")):
        records = by_outcome.get(outcome, [])
        if not records:
            continue
        lines.append("")
        lines.append(_paint(f"{title} ({len(records)})", outcome, colour))
        areas: dict[str, list[JSONObject]] = {}
        for record in records:
            areas.setdefault(record["area"], []).append(record)
        for area in sorted(areas):
            lines.append(f"  {area}")
            for record in areas[area]:
                excused = f" (baselined: {record['baselined']})" if record.get("baselined") else ""
                lines.append(f"    {_paint(_MARK[outcome], outcome, colour)} {record['id']} — {record['rule']}{excused}")
                detail = _first_line(record["message"])
                if detail:
                    lines.append(_paint(f"        {detail[:160]}", "dim", colour))
    if verbosity > 0:
        lines += _listed(document, colour)
    base = document.get("baseline")
    if base:
        lines.append("")
        lines.append(f"Baseline {base['file']}: {len(base['excused'])} failure(s) excused, {len(base['stale'])} stale, {len(base['expired'])} expired")
        lines += [f"    stale: {e['check']} passes now; remove it ({e['reason']})" for e in base["stale"]]
        lines += [f"    expired: {e['check']} (expired {e['expires']}): {e['reason']}" for e in base["expired"]]
    against = document.get("against")
    if against:
        lines.append("")
        lines.append(f"Against {against['file']}: " + against_line("", against).removeprefix(": "))
        lines += [f"    worse: {c['id']} {c['before']} → {c['now']}" for c in against["worse"][:20]]
        lines += [f"    better: {c['id']} {c['before']} → {c['now']}" for c in against["better"][:20]]
    gate = document.get("gate", {})
    if gate.get("reasons"):
        lines.append(_paint("  gate: FAILED — " + "; ".join(gate["reasons"]), "fail", colour) if gate.get("failed") else "  gate: passed — " + "; ".join(gate["reasons"]))
    lines.append("")
    cost = f", about ${spend['cost_usd']:.4f}" if spend.get("cost_usd") is not None else ""
    lines.append(
        f"  spent {spend['requests']} requests ({spend['retries']} retried after 429/529{_reopened(spend)}), "
        f"{spend['input_tokens']} input + {spend['output_tokens']} output tokens{cost}{_planned(spend)}, wall {run['wall_time_s']:.1f} s"
    )
    if spend.get("breaker"):
        lines.append(f"  breaker: the target {'; '.join(spend['breaker'][:3])}" + (f"; … {len(spend['breaker']) - 3} more" if len(spend["breaker"]) > 3 else ""))
    tiers = spend.get("by_tier") or {}
    if tiers:
        lines.append("  by tier: " + " · ".join(f"{t} {v['requests']} requests, {v['input_tokens'] + v['output_tokens']} tokens" for t, v in tiers.items()))
    if report_path:
        lines.append(f"  report {report_path}")
    return "\n".join(lines)


def comparison(document: JSONObject, page: str, *, verbosity: int = 0) -> str:
    """What ``compare`` and ``merge`` print: a line per target, where they differ, what changed since --against, the report."""
    lines = []
    for column in document["targets"]:
        if column["status"] != "ok":
            lines.append(f"  {column['name']:20} {column['error']}")
            continue
        counts = column["counts"]
        partial = "  [interrupted: partial]" if column.get("complete") is False else ""
        lines.append(
            f"  {column['name']:20} {counts['pass']} pass · {counts['fail']} fail · {counts['warn']} warn · {counts['skip']} skip · {counts['error']} error  ({column['profile']}, {column['model']}){partial}"
        )
    differing = [row for row in document["checks"] if len({cell["outcome"] for cell in row["cells"].values()}) > 1]
    lines.append(f"  {len(document['checks'])} checks, {len(differing)} where the targets differ")
    for row in differing if verbosity > 0 else ():
        lines.append(f"    {row['id']}: " + " · ".join(f"{name} {cell['outcome']}" for name, cell in row["cells"].items()))
    earlier = document.get("against")
    if earlier:
        lines.append(f"  against {earlier['file']}:")
        for name, change in earlier["targets"].items():
            lines.append("    " + against_line(name, change))
            shown = [("worse", c) for c in change["worse"]] + [("better", c) for c in change["better"]] if verbosity >= 0 else []
            lines += [f"      {kind}: {c['id']} {c['before']} → {c['now']}" for kind, c in shown[:20]]
    lines.append(f"  report {page}")
    return "\n".join(lines)


def judged(path: str, kind: str, findings: Sequence[Finding], notes: Sequence[str], *, colour: bool, verbosity: int = 0) -> str:
    """What ``validate`` found in one saved answer: each finding with its message (-v: what it judged), then the counts."""
    lines = [f"{path}: judged as {kind}, {len(findings)} checks", *(f"  note: {note}" for note in notes)] if verbosity >= 0 else []
    for finding in findings if verbosity >= 0 else ():
        lines.append(f"  {_paint(_MARK[finding.outcome.value], finding.outcome.value, colour)} {finding.check_id}")
        lines += [f"      {line}" for line in finding.message.splitlines()]
        lines += [f"      judged: {_first_line(item)}" for item in (finding.judged if verbosity > 0 else ())]
    counts = {o: sum(1 for f in findings if f.outcome.value == o) for o in ("pass", "fail", "warn", "error")}
    errors = f" · {counts['error']} error (a limit of the suite, not a verdict)" if counts["error"] else ""
    lines.append(f"  {counts['pass']} pass · {counts['fail']} fail · {counts['warn']} warn{errors}")
    return "\n".join(lines)
