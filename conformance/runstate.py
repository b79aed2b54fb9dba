"""One run's lifecycle outside pytest: options, the run folder, the embedded server, the verdicts.

The pytest plugin and the CLI both drive a ``RunState``; it owns what must happen exactly once
per run (start the reference server, plan/execute/judge, write the cassette and results) and how
xdist workers read the verdicts the controller reached. It imports no pytest.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from . import baseline as baseline_mod
from . import compare, engine, extra_headers
from .budget import Estimate
from .contract.model import Contract, Tier
from .engine import RunResult, RunSettings
from .errors import ConfigError, ConformanceError
from .findings import Finding, Level, Outcome
from .interrupts import Interruption
from .report import html, summary
from .report import results as results_doc
from .scenarios import Case
from .transport import Limits, Timeouts
from .versions import load_contracts, run_cases

VERDICTS = "verdicts.json"
CLIENT_IMPACT_MODES = ("install", "installed", "off")
CLIENT_IMPACT_ENV = "CONFORMANCE_CLIENT_IMPACT"  # the default mode of --client-impact (the project's tests set it to off)


@dataclass(frozen=True)
class Options:
    """What a user chose, from pytest options or the CLI."""

    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    api_key_env: str | None = None
    run_id: str | None = None
    model: str | None = None
    profile: str | None = None
    api_version: str = "2023-06-01"
    spec_dir: str | None = None
    concurrency: int | None = None
    report_dir: str = "reports"
    tier: str | None = None
    request_timeout: float = 180.0
    idle_timeout: float = 60.0
    target_name: str | None = None
    baseline: str | None = None
    strict_baseline: bool = False
    write_baseline: str | None = None
    behaviour_retries: int = 1
    max_requests: int | None = None
    max_tokens_total: int | None = None
    against: str | None = None
    step_summary: bool = True
    client_impact: str = "off"  # install | installed | off: replay every exchange into the official clients (impact/)
    header_args: tuple[str, ...] = field(default=(), repr=False)  # --header 'Name: value' texts, ${VAR} unread
    headers: tuple[extra_headers.HeaderSpec, ...] = field(default=(), repr=False)  # a targets file's headers (--header wins)

    def check(self) -> None:
        """Counts and durations a run can work with (``ConfigError`` naming the option, before any request)."""
        counts = (("--concurrency", self.concurrency, 1), ("--max-requests", self.max_requests, 1), ("--max-tokens-total", self.max_tokens_total, 1), ("--behaviour-retries", self.behaviour_retries, 0))
        for flag, value, least in counts:
            if value is not None and value < least:
                raise ConfigError(f"{flag} must be {'a positive integer' if least else 'an integer >= 0'}, got {value}")
        for flag, seconds in (("--request-timeout", self.request_timeout), ("--idle-timeout", self.idle_timeout)):
            if not seconds > 0 or seconds == float("inf"):
                raise ConfigError(f"{flag} must be a number of seconds above 0, got {seconds}")

    @property
    def embedded(self) -> bool:
        """No URL: the run targets the embedded reference server."""
        return not self.base_url

    @property
    def names(self) -> list[str]:
        """Every name a baseline entry may use for this target."""
        from urllib.parse import urlsplit

        names = [self.target_name] if self.target_name else []
        if self.embedded:
            return [*names, "embedded", "reference"]
        return [*names, str(self.base_url), urlsplit(str(self.base_url)).netloc]

    @property
    def profile_name(self) -> str:
        """The chosen profile; by default ``reference`` for the embedded server and ``anthropic`` otherwise."""
        return self.profile or ("reference" if self.embedded else "anthropic")


def previous_results(path: str) -> tuple[list[dict[str, Any]], str | None]:
    """The result records of an earlier results.json (for --against), and the tier it ran (None when it does not say)."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        results = document["results"]
        version = document["run"].get("api_version")
        tier = document["run"].get("tier")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"--against {path}: not a results.json of this suite ({exc})") from exc
    # Older documents lack a record's version: each was judged under its run's one version.
    return [{"api_version": version, **r} if isinstance(r, dict) and isinstance(version, str) else r for r in results], tier if isinstance(tier, str) else None


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


class RunState:
    """The state of one run, shared by every hook of one process."""

    def __init__(self, options: Options, *, run_dir: Path | None = None) -> None:
        self.options = options
        self._run_dir = run_dir
        if run_dir is None and options.run_id:
            self._run_dir = Path(options.report_dir) / options.run_id
        self.progress: Callable[[int, int], None] | None = None
        self.on_plan: Callable[[Estimate], None] | None = None
        self.baseline: list[baseline_mod.Entry] | None = None
        self.excused: dict[str, str] = {}  # case id -> the baseline reason that excuses its failure
        self.stale: set[str] = set()  # case ids covered by a stale baseline entry
        self._server: Any = None
        self.result: RunResult | None = None
        self._verdicts: dict[str, Finding] | None = None
        self.fatal: str | None = None
        self.startup_error: ConformanceError | None = None
        self.interruption = Interruption()  # the CLI hands in its own, installed for the whole run

    def load_baseline(self) -> None:
        """Read the baseline file up front, so a broken one stops the run before any request."""
        if self.options.baseline and self.baseline is None:
            self.baseline = baseline_mod.load(self.options.baseline, strict=self.options.strict_baseline)

    # ------------------------------------------------------------------------- contract

    @cached_property
    def contracts(self) -> dict[str, Contract]:
        """The contract of every live API version under the chosen profile, the primary (``--api-version``) first (raises ``SpecError``)."""
        return load_contracts(self.options.api_version, self.options.profile_name, spec_dir=self.options.spec_dir)

    @cached_property
    def contract(self) -> Contract:
        """The primary version's contract under the chosen profile (raises ``SpecError``)."""
        return self.contracts[self.options.api_version]

    @cached_property
    def model(self) -> str:
        """The model under test."""
        return engine.resolve_model(self.contract, self.options.model)

    @cached_property
    def cases(self) -> list[Case]:
        """Every case of the run, the version-dependent ones under each live version (ids do not depend on the model)."""
        return run_cases(self.contracts, self.model)

    def case(self, case_id: str) -> Case | None:
        """A case by id, for messages that name the rule (None when the spec could not load)."""
        try:
            return next((c for c in self.cases if c.id == case_id), None)
        except ConformanceError:
            return None

    @property
    def tier(self) -> Tier | None:
        """The selected tier, if any."""
        if self.options.tier is None:
            return None
        try:
            return Tier(self.options.tier)
        except ValueError as exc:
            raise ConfigError(f"--tier must be one of smoke, core, full (got {self.options.tier!r})") from exc

    # ------------------------------------------------------------------------- run folder

    @property
    def run_dir(self) -> Path:
        """``reports/<run-id>/``, created on first use."""
        if self._run_dir is None:
            self._run_dir = Path(self.options.report_dir) / new_run_id()
        self._run_dir.mkdir(parents=True, exist_ok=True)
        return self._run_dir

    def planned_run_dir(self) -> Path:
        """The run folder's path without creating it (shipped to xdist workers)."""
        if self._run_dir is None:
            self._run_dir = Path(self.options.report_dir) / new_run_id()
        return self._run_dir

    # ------------------------------------------------------------------------- execution

    def settings(self, base_url: str, api_key: str) -> RunSettings:
        """Engine settings for this run."""
        concurrency = self.options.concurrency or (8 if self.options.embedded else 4)
        return RunSettings(
            base_url=base_url,
            api_key=api_key,
            model=self.options.model,
            api_version=self.options.api_version,
            profile=self.options.profile_name,
            spec_dir=self.options.spec_dir,
            concurrency=concurrency,
            timeouts=Timeouts(read=self.options.idle_timeout, total=self.options.request_timeout),
            limits=Limits(),
            tier=self.tier,
            behaviour_retries=max(0, self.options.behaviour_retries),
            max_requests=self.options.max_requests,
            max_tokens_total=self.options.max_tokens_total,
            headers=self.headers,
        )

    @cached_property
    def headers(self) -> extra_headers.ExtraHeaders:
        """The headers sent on every request besides the key: the profile's, a targets file's, ``--header`` (raises ``ConfigError``)."""
        profile = self.contract.profile
        return extra_headers.for_run(profile.request_headers, profile.name, self.options.headers, self.options.header_args)

    def target(self) -> tuple[str, str]:
        """(base URL, key): the user's, or the embedded server's, started on first use."""
        if not self.options.embedded:
            if self.options.api_key_env:
                key = os.environ.get(self.options.api_key_env, "")
                if not key:
                    raise ConfigError(f"environment variable {self.options.api_key_env} is not set (it should hold the target's API key)")
            else:
                key = self.options.api_key or os.environ.get("ANTHROPIC_API_KEY", "")
            if not key:
                raise ConfigError("no API key: pass --api-key, --api-key-env VAR or set ANTHROPIC_API_KEY (or omit --base-url to use the embedded reference server)")
            return str(self.options.base_url), key
        if self._server is None:
            from .reference.server import ReferenceServer

            key = "sk-ant-reference-" + secrets.token_hex(16)
            server = ReferenceServer(api_key=key)
            server.__enter__()
            self._server = (server, key)
        server, key = self._server
        return str(server.base_url), str(key)

    def execute(self, case_ids: list[str] | None) -> RunResult:
        """Plan, execute and judge the selected cases; write the cassette, verdicts and results."""
        self.options.check()
        check_report_dir(self.options.report_dir)
        if self.options.against:
            previous_results(self.options.against)  # a bad --against file stops the run before it starts, not after
        _ = self.headers  # a missing ${VAR} or required header stops the run before a server starts or a folder appears
        base_url, key = self.target()
        run_dir = self.run_dir
        result = engine.run(
            self.settings(base_url, key),
            ids=None if case_ids is None else set(case_ids),
            cassette_path=run_dir / "cassette.jsonl",
            progress=self.progress,
            on_plan=self.on_plan,
            interruption=self.interruption,
        )
        self.result = result
        self._verdicts = result.by_case()
        self.write(result, run_dir)
        return result

    def write(self, result: RunResult, run_dir: Path, *, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Write verdicts, results.json (gated by the baseline), report.html and summary.md for ``result``; return the document.

        ``extra`` adds top-level sections to results.json (the proxy's session, a client run's tasks).
        """
        verdicts = [
            {"id": f.case_id, "check": f.check_id, "case": f.case, "outcome": f.outcome.value, "level": f.level.value, "message": f.message, "exchanges": list(f.exchanges), "notes": list(f.notes), "judged": list(f.judged)}
            for f in result.findings
        ]
        document = results_doc.build(result, run_id=run_dir.name, embedded=self.options.embedded, name=self.options.target_name)
        document.update(extra or {})
        self._client_impact(document, result)
        self._gate(document)
        self._mark_interrupted(document)
        if self.result is result:  # a live run knows its tier; a replay does not know the recorded one's
            document["run"]["tier"] = self.options.tier or "full"
        if self.options.against:
            previous, tier = previous_results(self.options.against)
            document["against"] = {"file": self.options.against, **compare.diff(document["results"], previous, tiers=(document["run"].get("tier"), tier))}
        shared = {"verdicts": verdicts, "excused": self.excused, "stale": sorted(self.stale)}
        (run_dir / VERDICTS).write_text(json.dumps(shared, ensure_ascii=False), encoding="utf-8")
        results_doc.write(run_dir / "results.json", document)
        html.write_report(run_dir, document, result.exchanges)
        text = summary.markdown(document)
        (run_dir / "summary.md").write_text(text, encoding="utf-8")
        if self.options.step_summary:
            summary.append_github_step_summary(text)
        if document["complete"]:  # reports/latest keeps leading to the last run that finished
            point_latest(run_dir.parent, run_dir)
        return document

    def _mark_interrupted(self, document: dict[str, Any]) -> None:
        """``complete``, and for a run a signal stopped: which one, what it left unjudged, and a failed gate."""
        interruption = self.interruption
        document["complete"] = not interruption.fired
        if not interruption.fired:
            return
        unjudged = sum(1 for r in document["results"] if r["outcome"] == "error" and interruption.describe() in r["message"])
        document["interrupted"] = {"signal": interruption.name, "exit_code": interruption.exit_code, "not_judged": unjudged}
        gate = document["gate"]
        gate["failed"] = True
        gate["reasons"] = [*gate["reasons"], f"{interruption.describe()}: {unjudged} of {len(document['results'])} cases not judged, the results are partial"]

    def _client_impact(self, document: dict[str, Any], result: RunResult) -> None:
        """Replay the run's exchanges into the official clients (offline) and note, on each finding, which break and how."""
        mode = self.options.client_impact
        if mode == "off" or not result.exchanges:
            return
        from .impact import document as impact_doc
        from .impact.replay import assess

        def log(line: str) -> None:
            print(f"  {line}", file=sys.stderr, flush=True)

        impact_doc.attach(document, assess(result.exchanges.values(), install=mode == "install", log=log))

    def _gate(self, document: dict[str, Any]) -> None:
        """Apply the baseline (if any) to the document: mark excused failures, stale and expired entries."""
        self.load_baseline()
        records = document["results"]
        if self.options.write_baseline:
            baseline_mod.write(self.options.write_baseline, records, target=self.options.target_name)
        if self.baseline is None:
            document["gate"] = {"failed": document["must_failures"] > 0, "reasons": [f"{document['must_failures']} MUST failure(s)"] if document["must_failures"] else []}
            return
        verdict = baseline_mod.apply(records, self.baseline, targets=self.options.names, api_version=self.options.api_version)
        self.excused = {case_id: entry.reason for case_id, entry in verdict.excused.items()}
        for record in records:
            if record["id"] in self.excused:
                record["baselined"] = self.excused[record["id"]]
        self.stale = {r["id"] for r in records if r["outcome"] == "pass" and any(e.covers(r["id"], self.options.names, api_version=self.options.api_version) for e in verdict.stale)}
        reasons = [f"{len(verdict.unexcused)} MUST failure(s) not in the baseline"] if verdict.unexcused else []
        reasons += [f"baseline entry {e.id} expired on {e.expires}" for e in verdict.expired]
        if self.options.strict_baseline:
            reasons += [f"stale baseline entry {e.id}: it passes now; remove it" for e in verdict.stale]
        document["baseline"] = {
            "file": str(self.options.baseline),
            "strict": self.options.strict_baseline,
            "excused": [{"id": k, "reason": v} for k, v in self.excused.items()],
            "unexcused": verdict.unexcused,
            "stale": [{"check": e.id, "reason": e.reason} for e in verdict.stale],
            "expired": [{"check": e.id, "expires": str(e.expires), "reason": e.reason} for e in verdict.expired],
        }
        document["gate"] = {"failed": verdict.fails(strict=self.options.strict_baseline), "reasons": reasons}

    def record_fatal(self, message: str) -> None:
        """Remember why the run could not start, for workers and the summary."""
        self.fatal = message
        (self.run_dir / VERDICTS).write_text(json.dumps({"fatal": message}), encoding="utf-8")

    def verdict(self, case_id: str) -> Finding | None:
        """The verdict of one case: from memory, or (on an xdist worker) from the run folder."""
        if self._verdicts is None:
            self._verdicts = self._load_verdicts()
        return self._verdicts.get(case_id)

    def _load_verdicts(self) -> dict[str, Finding]:
        path = self.planned_run_dir() / VERDICTS
        if not path.is_file():
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
        if "fatal" in data:
            self.fatal = str(data["fatal"])
            return {}
        self.excused, self.stale = dict(data["excused"]), set(data["stale"])
        return {
            d["id"]: Finding(
                check_id=d["check"],
                case=d["case"],
                outcome=Outcome(d["outcome"]),
                level=Level(d["level"]),
                message=d["message"],
                exchanges=tuple(d["exchanges"]),
                notes=tuple(d["notes"]),
                judged=tuple(d.get("judged", ())),
            )
            for d in data["verdicts"]
        }

    def close(self) -> None:
        """Stop the embedded server if this process started it."""
        if self._server is not None:
            server, _ = self._server
            self._server = None
            server.__exit__(None, None, None)
