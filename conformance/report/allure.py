"""Allure: each case's result carries report.html's evidence; Allure 3's single-file HTML loses its analytics.

Results: a record of results.json (and the recorded exchanges it cites) becomes an ``AllureCase``
value (title, labels, the rule's source as a link, a description, attachments built by
casefile.py from the same redacted exchanges report.html shows); ``apply`` hands it to
allure-pytest's dynamic API, the only place that imports allure.

HTML: Allure 3.18 hard-codes a Google Analytics tag in every generated page (allure3 issue #476);
a report that must open offline and make no external request cannot keep it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..exchange import Exchange
from ..redact import Redactor
from . import evidence
from .casefile import Attachment, Reader, attachments, verdict_text

_REDACT = Redactor(())  # no secret known here: only URL userinfo (user:password@) is masked

_GTAG = re.compile(
    r"<script[^>]*\bsrc=\"https://www\.googletagmanager\.com/gtag/js[^\"]*\"[^>]*>\s*</script>\s*"
    r"(?:<script>(?:(?!</script>).)*?gtag\((?:(?!</script>).)*?</script>)?",
    re.S,
)
_EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']https?://""", re.I)


def strip_analytics(html: str) -> tuple[str, int]:
    """The page without the gtag loader and its inline config; returns the page and how many blocks went."""
    return _GTAG.subn("", html)


def external_references(html: str) -> int:
    """How many src/href attributes still point at another host (0 for an offline-safe page)."""
    return len(_EXTERNAL.findall(html))


# --------------------------------------------------------------------------- results


SEVERITY = {"MUST": "critical", "SHOULD": "normal"}  # Allure's own scale, so its severity filter sorts MUST first


@dataclass(frozen=True, slots=True)
class AllureCase:
    """What one case adds to its Allure result: a readable title, labels, the rule's source, a description, the evidence."""

    title: str
    labels: tuple[tuple[str, str], ...]
    links: tuple[tuple[str, str], ...]  # (url, name)
    description: str
    attachments: tuple[Attachment, ...]


def _labels(record: Mapping[str, Any], run: Mapping[str, Any]) -> list[tuple[str, str]]:
    case_id = str(record.get("id", ""))
    check = str(record.get("check") or case_id.split(":", 1)[0])
    area = str(record.get("area") or check.split(".", 1)[0])
    level = str(record.get("level", ""))
    pairs = [("feature", area), ("story", check), ("area", area), ("check", check), ("level", level), ("severity", SEVERITY.get(level, ""))]
    variation = str(record.get("case") or "")
    pairs += [("case", variation), ("tier", str(record.get("tier") or "")), ("outcome", str(record.get("outcome", "")))]
    version = str(record.get("api_version") or run.get("api_version") or "")
    target = _REDACT.text(str(run.get("name") or run.get("target") or ""))
    pairs += [("api_version", version), ("target", target), ("profile", str(run.get("profile") or "")), ("model", str(run.get("model") or ""))]
    if record.get("outcome") == "warn":
        pairs.append(("tag", "warned"))  # pytest passes a broken SHOULD; the tag keeps it findable
    if record.get("baselined"):
        pairs.append(("tag", "baselined"))
    return [(name, value) for name, value in pairs if value]


def _description(record: Mapping[str, Any]) -> str:
    """Markdown: the rule, why it has its level, the verdict's message or what a pass judged, and the notes."""
    parts = [str(record.get("rule") or "")]
    if record.get("level_reason"):
        parts.append(f"Why {record.get('level')}: {record['level_reason']}")
    if record.get("profile_override"):
        parts.append(f"Profile override: {record['profile_override']}")
    if record.get("baselined"):
        parts.append(f"Baselined: {record['baselined']}")
    outcome = str(record.get("outcome", ""))
    if outcome == "pass" and record.get("judged"):
        parts.append("Judged:\n" + "\n".join(f"- {evidence.visible_text(str(j))}" for j in record["judged"]))
    elif record.get("message") or record.get("violations"):
        parts.append(f"{outcome.upper()}:\n\n" + "\n".join(f"    {line}" for line in verdict_text(record).split("\n")))
    return "\n\n".join(p for p in parts if p)


def allure_case(record: Mapping[str, Any], run: Mapping[str, Any], exchanges: Mapping[str, Exchange], *, reader: Reader | None = None) -> AllureCase:
    """The Allure view of one results.json record: the evidence report.html shows for it, as attachments."""
    source = str(record.get("source") or "")
    links = ((source, "source"),) if source.startswith(("https://", "http://")) else ()
    return AllureCase(
        title=str(record.get("id", "")),
        labels=tuple(_labels(record, run)),
        links=links,
        description=_description(record),
        attachments=tuple(attachments(record, exchanges, reader=reader)),
    )


def apply(case: AllureCase) -> None:
    """Hand the case to allure-pytest's dynamic API (the running test's result); a no-op when no --alluredir listener runs."""
    import importlib

    allure: Any = importlib.import_module("allure")  # untyped library: keep its calls out of mypy's way
    allure.dynamic.title(case.title)
    for name, value in case.labels:
        allure.dynamic.label(name, value)
    for url, name in case.links:
        allure.dynamic.link(url, name=name)
    if case.description:
        allure.dynamic.description(case.description)
    for item in case.attachments:
        # bytes: a lone surrogate (from a JSON escape in a record) must not stop the writer
        allure.attach(item.text.encode("utf-8", "backslashreplace"), name=item.name, attachment_type=item.media_type, extension="txt")
