"""The judging half of the proxy: records in, verdicts and the run folder out.

Owns the hand-over from the forwarding event loop (a bounded queue: when judging falls behind, the
exchange that just finished waits, never the bytes of another), the judging thread (``traffic.py``
judges each exchange as it completes, so a long session holds a bounded window, not every body),
the cassette written line by line as exchanges complete, the live lines on the terminal, and the
run folder written at the end with the planned run's own publishing (``publish.publish``: results.json,
report.html, summary.md) plus junit.xml. A bug in judging one exchange is reported and skipped,
never the end of the session.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .. import cassette
from .._version import __version__
from ..contract.model import Contract
from ..exchange import Exchange
from ..findings import Finding, Outcome
from ..options import Options
from ..publish import new_run_id, publish
from ..report import junit, summary, terminal
from ..scenarios import Case, Request
from ..traffic import Judged, TrafficJudge

QUEUE = 64  # finished exchanges waiting for the judge
_MARK = {"fail": "✗", "warn": "!", "error": "E"}


@dataclass(frozen=True)
class Settings:
    """What a session needs to know besides its contracts."""

    upstream: str  # as recorded: redacted
    profile: str
    report_dir: str = "reports"
    target_name: str | None = None
    default_model: str = ""
    listen: str = ""


@dataclass
class Published:
    """The run folder of a finished session and its results document."""

    run_dir: Path
    document: dict[str, Any]
    extra_findings: list[tuple[Case, Finding]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """The gate failed: a MUST rule was broken (or a client task failed, for a client run)."""
        return bool(self.document.get("gate", {}).get("failed"))


class Session:
    """Judges what the proxy records, on a thread of its own, and publishes the run folder when closed."""

    def __init__(self, contracts: Mapping[str, Contract], settings: Settings, *, out: TextIO | None = sys.stderr, colour: bool = False) -> None:
        self.settings = settings
        self.judge = TrafficJudge(contracts, default_model=settings.default_model, base_url=settings.upstream)
        self.run_dir = Path(settings.report_dir) / new_run_id()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._tape = (self.run_dir / "cassette.jsonl").open("w", encoding="utf-8")
        self._queue: queue.Queue[tuple[Exchange, Request] | None] = queue.Queue(maxsize=QUEUE)
        self._out = out
        self._colour = colour
        self._lock = threading.Lock()
        self._idle = threading.Condition()
        self._pending = 0
        self._thread = threading.Thread(target=self._loop, name="conformance-proxy-judge", daemon=True)
        self._closed = False
        self.judge_errors: list[str] = []
        self.listeners: list[Any] = []  # callables(Judged) told of every judged exchange (client runs count theirs)
        self._thread.start()

    # ------------------------------------------------------------------------- hand-over

    def offer(self, exchange: Exchange, request: Request) -> bool:
        """Take a finished exchange (from the forwarding loop); False when the queue is full (offer again)."""
        with self._idle:
            try:
                self._queue.put_nowait((exchange, request))
            except queue.Full:
                return False
            self._pending += 1
        return True

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            exchange, request = item
            try:
                self._handle(exchange, request)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _handle(self, exchange: Exchange, request: Request) -> None:
        json.dump(cassette.to_record(exchange), self._tape, ensure_ascii=False)
        self._tape.write("\n")
        self._tape.flush()
        try:
            with self._lock:
                judged = self.judge.add(exchange, request)
        except Exception as exc:  # a bug of ours on one exchange: say so, keep judging the others
            self.judge_errors.append(f"{exchange.id}: {type(exc).__name__}: {exc}")
            self._say(f"  {exchange.id}: the judge failed on this exchange ({type(exc).__name__}: {exc}); please report it")
            return
        for listener in self.listeners:
            listener(judged)
        self._say(self._line(judged))

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Until every offered exchange has been judged (client runs read the tallies between tasks); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    # -------------------------------------------------------------------------- terminal

    def _say(self, text: str) -> None:
        if self._out is not None and text:
            self._out.write(text + "\n")
            self._out.flush()

    def _line(self, judged: Judged) -> str:
        """One live line per exchange: what it was, its status, and the rules it broke first in the session."""
        ex = judged.exchange
        path = ex.request.url.split("/v1/", 1)[-1]
        shown = f"{ex.request.method} /v1/{path}" if "/v1/" in ex.request.url else f"{ex.request.method} {ex.request.url}"
        status = str(ex.status) if ex.status is not None else f"no answer ({ex.error})"
        kind = " stream" if ex.streamed else ""
        if not judged.judged:
            return f"  {ex.id} {shown} → {status} · not a Messages API endpoint: forwarded, not judged"
        counts = ", ".join(f"{n} {o.value}" for o, n in sorted(judged.counts.items(), key=lambda i: list(Outcome).index(i[0])) if n)
        lines = [f"  {ex.id} {shown} → {status}{kind} · {ex.elapsed:.2f} s · {counts or 'no rule applies'}"]
        for case in judged.newly_broken:
            outcome = "fail" if case.level.value == "MUST" else "warn"
            mark = terminal._paint(_MARK[outcome], outcome, self._colour)
            lines.append(f"      {mark} {case.id} ({case.level.value}) first broken here: {case.rule.text}")
        return "\n".join(lines)

    # ---------------------------------------------------------------------------- the end

    def discard(self) -> None:
        """End a session that never served (the proxy could not listen): stop the judge, remove the empty run folder."""
        import shutil

        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()
            self._tape.close()
        shutil.rmtree(self.run_dir, ignore_errors=True)

    def close(self, *, extra: Mapping[str, Any] | None = None, extra_findings: Sequence[tuple[Case, Finding]] = ()) -> Published:
        """Judge what is still queued, close the cassette, write the run folder; idempotent in effect (call once)."""
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join()
            self._tape.close()
        result = self.judge.result()
        for case, finding in extra_findings:
            result.cases.append(case)
            result.findings.append(finding)
        options = Options(base_url=self.settings.upstream, profile=self.settings.profile, report_dir=self.settings.report_dir, target_name=self.settings.target_name, step_summary=False)
        section = self.section()
        document = publish(result, self.run_dir, options, extra={"proxy": section, **(extra or {})}).document
        junit.write(self.run_dir / "junit.xml", document)
        text = summary.markdown(document) + "\n" + markdown(section)
        (self.run_dir / "summary.md").write_text(text, encoding="utf-8")
        summary.append_github_step_summary(text)
        return Published(self.run_dir, document, list(extra_findings))

    def section(self) -> dict[str, Any]:
        """What results.json says about the session itself under ``proxy``."""
        judge = self.judge
        return {
            "suite_version": __version__,
            "upstream": self.settings.upstream,
            "listen": self.settings.listen,
            "exchanges": judge.exchanges_seen,
            "judged": judge.judged_exchanges,
            "not_judged": judge.not_judged,
            "models": dict(judge.models),
            "api_versions": dict(judge.versions),
            "judge_errors": self.judge_errors[:20],
            "planned_rules": [{"id": rule_id, "why": why} for rule_id, why in judge.planned_rules()],
        }


def markdown(section: Mapping[str, Any]) -> str:
    """The proxy's part of summary.md: what it saw and what it could not judge."""
    planned = section.get("planned_rules") or []
    lines = [
        "### Proxy session",
        "",
        f"{section.get('exchanges', 0)} exchanges through the proxy to {summary.escape(section.get('upstream', ''))}: {section.get('judged', 0)} judged,"
        f" {section.get('not_judged', 0)} not a Messages API endpoint (forwarded only).",
        "",
        f"{len(planned)} rules need requests the suite composes itself (status probes, twins, forced behaviours) and are not judged"
        " from traffic; `anthropic-conformance run --base-url …` judges them.",
    ]
    errors = section.get("judge_errors") or []
    if errors:
        lines += ["", f"⚠️ the judge failed on {len(errors)} exchange(s): " + summary.escape("; ".join(errors[:3]), limit=600)]
    return "\n".join(lines) + "\n"
