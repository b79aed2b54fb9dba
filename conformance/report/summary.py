"""A GitHub-flavoured Markdown summary of a run, for CI job pages (``$GITHUB_STEP_SUMMARY``).

Owns the Markdown layout and the escaping of target-controlled text (messages, URLs, model
names) so that a hostile or broken target cannot break the table or inject HTML into the page.
It reads only the results document; evidence lives in ``report.html``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .._types import JSONObject

ROW_LIMIT = 200
CELL_LIMIT = 200
OUTCOMES = ("fail", "error", "warn", "skip", "pass")
_MARKDOWN = re.compile(r"([\\`*_\[\]|~])")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # a terminal escape from the target stays visible and inert


def escape(value: object, *, limit: int = CELL_LIMIT) -> str:
    """``value`` as inert inline Markdown: one line, cut, HTML and Markdown punctuation escaped."""
    flat = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", _SPACE.sub(" ", str(value)).strip())
    if len(flat) > limit:
        flat = flat[:limit] + "…"
    return "".join(_HTML.get(char, char) for char in _MARKDOWN.sub(r"\\\1", flat))


def code(value: str) -> str:
    """An id as a code span, or escaped text when it holds a backtick a span cannot carry."""
    if "`" in value or "\n" in value:
        return escape(value)
    return "`" + value.replace("|", "\\|") + "`"


def received(record: Mapping[str, Any]) -> str:
    """The first ``Received:`` line of a result, else the first line of its message."""
    messages = [str(v.get("message", "")) for v in record.get("violations") or ()] + [str(record.get("message", ""))]
    for message in messages:
        for line in message.split("\n"):
            _, found, rest = line.partition("Received: ")
            if found:
                return rest
    return str(record.get("message", "")).split("\n", 1)[0]


def _table(records: Iterable[Mapping[str, Any]], *, outcome: bool) -> list[str]:
    head = "| Check | " + ("Outcome | " if outcome else "") + "Level | Rule | Received |"
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for r in records:
        cells = [code(str(r.get("id", "")))]
        if outcome:
            cells.append(str(r.get("outcome", "")))
        cells += [escape(r.get("level", "")), escape(r.get("rule", "")), escape(received(r))]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _by_area(records: list[Mapping[str, Any]]) -> list[str]:
    lines: list[str] = []
    areas: dict[str, list[Mapping[str, Any]]] = {}
    for record in records[:ROW_LIMIT]:
        areas.setdefault(str(record.get("area", "")), []).append(record)
    for area, members in areas.items():
        lines += ["", f"#### {escape(area)} ({len(members)})", ""]
        lines += _table(members, outcome=any(m.get("outcome") == "error" for m in members))
    if len(records) > ROW_LIMIT:
        lines += ["", f"… and {len(records) - ROW_LIMIT} more; see report.html."]
    return lines


def _preflight(run: JSONObject) -> list[str]:
    """A line saying the target refused the way the run was asked to use, when it did."""
    preflight = run.get("preflight") or {}
    if not preflight.get("fell_back"):
        return []
    return [f"⚠️ Preflight {escape(str(preflight.get('summary', '')), limit=600)}", ""]
def interrupted_line(document: Mapping[str, Any]) -> str | None:
    """What a run stopped by a signal says first, everywhere: which signal, and how much it left unjudged."""
    stop = document.get("interrupted")
    if document.get("complete", True) or not isinstance(stop, Mapping):
        return None
    return f"interrupted by {stop.get('signal', 'a signal')}: {int(stop.get('not_judged', 0))} of {len(document.get('results', ()))} cases not judged, the results are partial"


def versions_line(run: Mapping[str, Any]) -> str:
    """The primary API version, and the others the version-dependent cases were also judged under."""
    primary = str(run.get("api_version", ""))
    others = [str(v) for v in run.get("api_versions") or () if v != primary]
    return primary + (f" (+{', '.join(others)} where the rules differ)" if others else "")


def markdown(document: JSONObject) -> str:
    """The job-page summary: title, counts, spend, failures by area, warnings folded away."""
    run, spend, counts = document.get("run", {}), document.get("spend", {}), document.get("counts", {})
    results = list(document.get("results", ()))
    must = int(document.get("must_failures", 0))
    verdict = f"❌ {must} MUST failure{'s' if must != 1 else ''}" if must else "✅ no MUST failures"
    stopped = interrupted_line(document)
    if stopped is not None:
        verdict = f"⛔ {stopped}" + (f"; {must} MUST failure{'s' if must != 1 else ''} so far" if must else "")
    lines = [
        f"## Messages API conformance: {escape(run.get('target', ''))}",
        "",
        f"Profile **{escape(run.get('profile', ''))}** · model **{escape(run.get('model', ''))}**"
        f" · anthropic-version {escape(versions_line(run))} · suite {escape(run.get('suite_version', ''))} · run {code(str(run.get('id', '')))}",
        "",
        *_preflight(run),
        f"**{verdict}** · " + " · ".join(f"{int(counts.get(o, 0))} {o}" for o in OUTCOMES),
        "",
        f"{spend.get('requests', 0)} requests ({spend.get('retries', 0)} retried after 429/529) · {spend.get('input_tokens', 0):,} input"
        f" + {spend.get('output_tokens', 0):,} output tokens"
        + (f" (at most {int(spend['planned_tokens']):,} planned)" if isinstance(spend.get("planned_tokens"), int) else "")
        + f" · {float(run.get('wall_time_s', 0.0)):.1f} s",
    ]
    tiers = spend.get("by_tier") or {}
    if tiers:
        lines += ["", "Cost by tier: " + " · ".join(f"{escape(str(t))} {int(v.get('requests', 0))} requests, {int(v.get('input_tokens', 0)) + int(v.get('output_tokens', 0)):,} tokens" for t, v in tiers.items())]
    failures = [r for r in results if r.get("outcome") in ("fail", "error")]
    warnings = [r for r in results if r.get("outcome") == "warn"]
    if failures:
        lines += ["", f"### Failures ({len(failures)})", *_by_area(failures)]
    if warnings:
        lines += ["", f"<details><summary>Warnings ({len(warnings)})</summary>", "", *_table(warnings[:ROW_LIMIT], outcome=False)]
        if len(warnings) > ROW_LIMIT:
            lines += ["", f"… and {len(warnings) - ROW_LIMIT} more; see report.html."]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def append_github_step_summary(text: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Append to ``$GITHUB_STEP_SUMMARY`` when set; False when unset or unwritable (a summary never fails a run)."""
    path = environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    try:
        with open(path, "a", encoding="utf-8") as out:
            out.write(text if text.endswith("\n") else text + "\n")
    except OSError:
        return False
    return True
