"""Publishing a judged run: the run folder, results.json and its gate, report.html, summary.md, reports/latest.

A live run, a replay and a proxy session all end here with a ``RunResult``; what a reader gets
(the baseline applied, the client impact noted, an interruption marked, the comparison with an
earlier run) is decided once. The verdicts also go to ``verdicts.json``, where pytest-xdist
workers read what the controller reached. Nothing here sends a request or knows pytest.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from . import baseline as baseline_mod
from .engine import RunResult
from .errors import ConfigError
from .findings import Finding, Level, Outcome
from .interrupts import Interruption
from .options import Options
from .report import html, summary
from .report import results as results_doc
from .report.diff import diff, previous_results

VERDICTS = "verdicts.json"


def new_run_id() -> str:
    """A sortable, unique run id: ``20261122-141503-a1b2``."""
    return f"{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def check_report_dir(path: str | Path) -> None:
    """Make sure run folders can be written under ``path`` (created if missing): ``ConfigError`` before any request otherwise."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"--report-dir {folder}: not a directory")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--report-dir {folder}: cannot be created ({exc.strerror})") from exc
    try:  # permissions are not the whole story (read-only mounts, root on NFS): try it
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".write-probe-")
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(f"--report-dir {folder}: not writable ({exc.strerror})") from exc


def point_latest(report_dir: Path, run_dir: Path) -> None:
    """Make ``reports/latest`` lead to this run (a symlink, or a text file where links fail)."""
    latest = report_dir / "latest"
    try:
        if latest.is_symlink() or latest.is_file():
            latest.unlink()
        latest.symlink_to(run_dir.name, target_is_directory=True)
    except OSError:
        latest.with_suffix(".txt").write_text(run_dir.name + "\n", encoding="utf-8")


# ------------------------------------------------------------------------------ verdicts


@dataclass(frozen=True)
class Verdicts:
    """What a run reached, as pytest reports it: a finding per case, what the baseline excuses, or why the run stopped."""

    findings: Mapping[str, Finding] = field(default_factory=dict)
    excused: Mapping[str, str] = field(default_factory=dict)  # case id -> the baseline reason that excuses its failure
    stale: frozenset[str] = frozenset()  # case ids covered by a baseline entry that passes now
    stopped: str | None = None  # the target was unusable: why (no finding then)


def write_verdicts(run_dir: Path, verdicts: Verdicts) -> None:
    """Leave the verdicts in the run folder for xdist workers (they judge nothing themselves)."""
    if verdicts.stopped is not None:
        data: dict[str, Any] = {"fatal": verdicts.stopped}
    else:
        records = [
            {"id": f.case_id, "check": f.check_id, "case": f.case, "outcome": f.outcome.value, "level": f.level.value, "message": f.message, "exchanges": list(f.exchanges), "notes": list(f.notes), "judged": list(f.judged)}
            for f in verdicts.findings.values()
        ]
        data = {"verdicts": records, "excused": dict(verdicts.excused), "stale": sorted(verdicts.stale)}
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / VERDICTS).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def read_verdicts(run_dir: Path) -> Verdicts:
    """The verdicts the controller left in the run folder (none yet: empty)."""
    path = run_dir / VERDICTS
    if not path.is_file():
        return Verdicts()
    data = json.loads(path.read_text(encoding="utf-8"))
    if "fatal" in data:
        return Verdicts(stopped=str(data["fatal"]))
    findings = {
        d["id"]: Finding(
            check_id=d["check"], case=d["case"], outcome=Outcome(d["outcome"]), level=Level(d["level"]), message=d["message"],
            exchanges=tuple(d["exchanges"]), notes=tuple(d["notes"]), judged=tuple(d.get("judged", ())),
        )
        for d in data["verdicts"]
    }
    return Verdicts(findings, dict(data["excused"]), frozenset(data["stale"]))


# ------------------------------------------------------------------------------ publish


@dataclass(frozen=True)
class Report:
    """A published run: its folder, the judged run, its results.json document and its verdicts."""

    run_dir: Path
    result: RunResult
    document: dict[str, Any]
    verdicts: Verdicts


UNJUDGED_SHARE = 0.5  # more than this share of the MUST cases in error: the target could not be tested (exit 3)


def publish(
    result: RunResult, run_dir: Path, options: Options, *, tier: str | None = None, interruption: Interruption | None = None, extra: Mapping[str, Any] | None = None
) -> Report:
    """Write verdicts, results.json (gated by the baseline), report.html and summary.md for ``result``.

    ``tier`` is the tier a live run selected (a replay does not know the recorded one's);
    ``extra`` adds top-level sections to results.json (the proxy's session, a client run's tasks).
    """
    document = results_doc.build(result, run_id=run_dir.name, embedded=options.embedded, name=options.target_name)
    document.update(extra or {})
    _client_impact(document, result, options.client_impact)
    excused, stale = _gate(document, options)
    _mark_interrupted(document, interruption)
    _mark_unjudged(document)
    if tier is not None:
        document["run"]["tier"] = tier
    if options.against:
        previous, before = previous_results(options.against)
        document["against"] = {"file": options.against, **diff(document["results"], previous, tiers=(document["run"].get("tier"), before))}
    verdicts = Verdicts(result.by_case(), excused, frozenset(stale))
    write_verdicts(run_dir, verdicts)
    results_doc.write(run_dir / "results.json", document)
    html.write_report(run_dir, document, result.exchanges)
    text = summary.markdown(document)
    (run_dir / "summary.md").write_text(text, encoding="utf-8")
    if options.step_summary:
        summary.append_github_step_summary(text)
    if document["complete"]:  # reports/latest keeps leading to the last run that finished
        point_latest(run_dir.parent, run_dir)
    return Report(run_dir, result, document, verdicts)


def _mark_interrupted(document: dict[str, Any], interruption: Interruption | None) -> None:
    """``complete``, and for a run a signal stopped: which one, what it left unjudged, and a failed gate."""
    document["complete"] = interruption is None or not interruption.fired
    if interruption is None or not interruption.fired:
        return
    unjudged = sum(1 for r in document["results"] if r["outcome"] == "error" and interruption.describe() in r["message"])
    document["interrupted"] = {"signal": interruption.name, "exit_code": interruption.exit_code, "not_judged": unjudged}
    gate = document["gate"]
    gate["failed"] = True
    gate["reasons"] = [*gate["reasons"], f"{interruption.describe()}: {unjudged} of {len(document['results'])} cases not judged, the results are partial"]


def _mark_unjudged(document: dict[str, Any]) -> None:
    """A run that could judge at most half of its MUST cases fails the gate as untestable, never "no MUST failure".

    Each error is a limit of ours (a deadline, a redirect to another host we refuse to follow, a
    response we could not read), never a verdict against the target; but when more than half of the
    MUST cases end that way, a green gate would say the target conforms when it was barely tested.
    The run exits 3 (target unusable), as a preflight that failed every way does, with its reports.
    """
    if not document.get("complete", True) or "proxy" in document:
        return  # an interrupted run already says how much it left unjudged; a proxy judges traffic nobody planned
    must = [r for r in document["results"] if r.get("level") == "MUST"]
    errors = [r for r in must if r["outcome"] == "error"]
    if not must or len(errors) <= len(must) * UNJUDGED_SHARE:
        return
    first = (errors[0].get("message") or "").strip().splitlines()
    said = first[0][:300] if first else "no message"
    gate = document["gate"]
    gate["unjudged"] = {"errors": len(errors), "must": len(must), "first": said}
    gate["failed"] = True
    gate["reasons"] = [*gate["reasons"], f"{len(errors)} of {len(must)} MUST cases could not be judged (error), the first: {said}"]


def untestable(document: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The ``gate.unjudged`` record when the run exits 3 for it: mostly unjudged, and no MUST failure to exit 1 for."""
    unjudged = document["gate"].get("unjudged")
    return unjudged if unjudged and not document["must_failures"] else None


def _client_impact(document: dict[str, Any], result: RunResult, mode: str) -> None:
    """Replay the run's exchanges into the official clients (offline) and note, on each finding, which break and how."""
    if mode == "off" or not result.exchanges:
        return
    from .impact import document as impact_doc
    from .impact.replay import assess

    def log(line: str) -> None:
        print(f"  {line}", file=sys.stderr, flush=True)

    impact_doc.attach(document, assess(result.exchanges.values(), install=mode == "install", log=log))


def _gate(document: dict[str, Any], options: Options) -> tuple[dict[str, str], set[str]]:
    """Apply the baseline (if any) to the document: mark excused failures, stale and expired entries; return (excused, stale)."""
    records = document["results"]
    if options.write_baseline:
        baseline_mod.write(options.write_baseline, records, target=options.target_name)
    if not options.baseline:
        document["gate"] = {"failed": document["must_failures"] > 0, "reasons": [f"{document['must_failures']} MUST failure(s)"] if document["must_failures"] else []}
        return {}, set()
    entries = baseline_mod.load(options.baseline, strict=options.strict_baseline)
    verdict = baseline_mod.apply(records, entries, targets=options.names, api_version=options.api_version)
    excused = {case_id: entry.reason for case_id, entry in verdict.excused.items()}
    for record in records:
        if record["id"] in excused:
            record["baselined"] = excused[record["id"]]
    stale = {r["id"] for r in records if r["outcome"] == "pass" and any(e.covers(r["id"], options.names, api_version=options.api_version) for e in verdict.stale)}
    reasons = [f"{len(verdict.unexcused)} MUST failure(s) not in the baseline"] if verdict.unexcused else []
    reasons += [f"baseline entry {e.id} expired on {e.expires}" for e in verdict.expired]
    if options.strict_baseline:
        reasons += [f"stale baseline entry {e.id}: it passes now; remove it" for e in verdict.stale]
    document["baseline"] = {
        "file": str(options.baseline),
        "strict": options.strict_baseline,
        "excused": [{"id": k, "reason": v} for k, v in excused.items()],
        "unexcused": verdict.unexcused,
        "stale": [{"check": e.id, "reason": e.reason} for e in verdict.stale],
        "expired": [{"check": e.id, "expires": str(e.expires), "reason": e.reason} for e in verdict.expired],
    }
    document["gate"] = {"failed": verdict.fails(strict=options.strict_baseline), "reasons": reasons}
    return excused, stale


def publish_comparison(out_dir: Path, document: dict[str, Any]) -> Path:
    """Write comparison.json, compare.html and summary.md of a comparison (``compare``, ``merge``); return the page."""
    from .report import matrix

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "comparison.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    page: Path = matrix.write(out_dir, document)
    text = matrix.markdown(document)
    (out_dir / "summary.md").write_text(text, encoding="utf-8")
    summary.append_github_step_summary(text)
    return page
