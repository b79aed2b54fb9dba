"""One run's lifecycle outside pytest: frozen options in, a published run (or why it stopped) out.

The pytest plugin, the CLI (through pytest), ``compare`` and the Python API each drive a
``RunState``. It owns what must happen exactly once per run: check the options before any
request, start the embedded server, plan/execute/judge (engine.py), publish (publish.py), and
tell xdist workers what the controller reached. A driver says what it wants to hear in
``RunHooks``; the state never reads back from its driver. It imports no pytest.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from . import baseline, engine, extra_headers
from .budget import Estimate
from .contract.model import Contract, Tier
from .engine import RunResult, RunSettings
from .errors import ConfigError, ConformanceError, TargetError
from .findings import Finding
from .interrupts import Interruption
from .options import Options
from .publish import Report, Verdicts, check_report_dir, new_run_id, publish, read_verdicts, write_verdicts
from .report.diff import previous_results
from .scenarios import Case
from .transport import Limits, Timeouts
from .versions import load_contracts, run_cases


@dataclass(frozen=True)
class RunHooks:
    """What a driver of the run wants to hear, all optional; the interruption is the driver's, installed for the whole run."""

    progress: Callable[[int, int], None] | None = None
    on_plan: Callable[[Estimate], None] | None = None
    on_stop: Callable[[ConformanceError], None] | None = None  # the run stopped before a verdict: exit 3 for a TargetError, else 2
    interruption: Interruption = field(default_factory=Interruption)


def check(options: Options) -> None:
    """What pytest can refuse while it configures, before a spec is read: counts, durations, the baseline file."""
    options.check()
    if options.baseline:
        baseline.load(options.baseline, strict=options.strict_baseline)


def prepare(options: Options) -> tuple[dict[str, Contract], extra_headers.ExtraHeaders]:
    """Everything a run can refuse before its first request, in one place: the contracts and extra headers it will use.

    A bad count, a broken spec, a malformed header or unset ``${VAR}``, a report folder that cannot
    be written, a broken baseline, an ``--against`` file that is no results.json: one line, exit 2.
    """
    check(options)
    contracts = load_contracts(options.api_version, options.profile_name, spec_dir=options.spec_dir)
    profile = contracts[options.api_version].profile
    headers = extra_headers.for_run(profile.request_headers, profile.name, options.headers, options.header_args)
    check_report_dir(options.report_dir)
    if options.against:
        previous_results(options.against)
    return contracts, headers


class RunState:
    """One run, shared by every hook of one process: its options, its cases, and once run, its report or its stop."""

    def __init__(self, options: Options, *, run_dir: Path | None = None, hooks: RunHooks | None = None) -> None:
        self.options = options
        self.hooks = hooks or RunHooks()
        self._run_dir = run_dir if run_dir is not None or not options.run_id else Path(options.report_dir) / options.run_id
        self._server: Any = None
        self.report: Report | None = None  # set once the run is published
        self.error: ConformanceError | None = None  # set once the run stopped before a verdict
        self._verdicts: Verdicts | None = None

    def __enter__(self) -> RunState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @cached_property
    def contracts(self) -> dict[str, Contract]:
        """The contract of every live API version under the chosen profile, the primary (``--api-version``) first (raises ``SpecError``)."""
        return load_contracts(self.options.api_version, self.options.profile_name, spec_dir=self.options.spec_dir)

    @cached_property
    def cases(self) -> list[Case]:
        """Every case of the run, the version-dependent ones under each live version (ids do not depend on the model)."""
        return run_cases(self.contracts, engine.resolve_model(self.contracts[self.options.api_version], self.options.model))

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

    @property
    def run_dir(self) -> Path:
        """``reports/<run-id>/``, named on first use (shipped to xdist workers before it exists)."""
        if self._run_dir is None:
            self._run_dir = Path(self.options.report_dir) / new_run_id()
        return self._run_dir

    # ------------------------------------------------------------------------- execution

    def settings(self, base_url: str, api_key: str, headers: extra_headers.ExtraHeaders) -> RunSettings:
        """Engine settings for this run."""
        o = self.options
        return RunSettings(
            base_url=base_url, api_key=api_key, model=o.model, api_version=o.api_version, profile=o.profile_name, spec_dir=o.spec_dir,
            concurrency=o.concurrency or (8 if o.embedded else 4), timeouts=Timeouts(read=o.idle_timeout, total=o.request_timeout), limits=Limits(),
            tier=self.tier, behaviour_retries=max(0, o.behaviour_retries), max_requests=o.max_requests, max_tokens_total=o.max_tokens_total, headers=headers,
        )

    def _target(self) -> tuple[str, str]:
        """(base URL, key): the user's, or the embedded server's, started on first use."""
        o = self.options
        if not o.embedded:
            if o.api_key_env:
                key = os.environ.get(o.api_key_env, "")
                if not key:
                    raise ConfigError(f"environment variable {o.api_key_env} is not set (it should hold the target's API key)")
            else:
                key = o.api_key or os.environ.get("ANTHROPIC_API_KEY", "")
            if not key:
                raise ConfigError("no API key: pass --api-key, --api-key-env VAR or set ANTHROPIC_API_KEY (or omit --base-url to use the embedded reference server)")
            return str(o.base_url), key
        if self._server is None:
            from .reference.server import ReferenceServer

            key = "sk-ant-reference-" + secrets.token_hex(16)
            server = ReferenceServer(api_key=key)
            server.__enter__()
            self._server = (server, key)
        server, key = self._server
        return str(server.base_url), str(key)

    def execute(self, case_ids: list[str] | None) -> Report:
        """Plan, execute and judge the selected cases (None: all), then publish the run folder."""
        _, headers = prepare(self.options)  # nothing starts (no server, no folder) for a run that would be refused
        base_url, key = self._target()
        run_dir = self.run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        result = engine.run(
            self.settings(base_url, key, headers),
            ids=None if case_ids is None else set(case_ids),
            cassette_path=run_dir / "cassette.jsonl",
            progress=self.hooks.progress,
            on_plan=self.hooks.on_plan,
            interruption=self.hooks.interruption,
        )
        self.report = publish(result, run_dir, self.options, tier=self.options.tier or "full", interruption=self.hooks.interruption)
        self._verdicts = self.report.verdicts
        return self.report

    @property
    def result(self) -> RunResult | None:
        """The judged run, once this process ran it."""
        return self.report.result if self.report is not None else None

    def stop(self, error: ConformanceError) -> None:
        """Remember why the run could not go on; a target that is unusable is also told to xdist workers."""
        if self.error is None:
            self.error = error
            if self.hooks.on_stop is not None:
                self.hooks.on_stop(error)
        if isinstance(error, TargetError):
            write_verdicts(self.run_dir, Verdicts(stopped=str(error)))

    @property
    def fatal(self) -> str | None:
        """Why the target was unusable, as this process or (on an xdist worker) the controller found."""
        if isinstance(self.error, TargetError):
            return str(self.error)
        return self._verdicts.stopped if self._verdicts is not None else None

    @property
    def verdicts(self) -> Verdicts:
        """What the run reached: from memory, or (on an xdist worker) from the run folder."""
        if self._verdicts is None:
            self._verdicts = read_verdicts(self.run_dir)
        return self._verdicts

    def verdict(self, case_id: str) -> Finding | None:
        """The verdict of one case, if the run reached one."""
        return self.verdicts.findings.get(case_id)

    def close(self) -> None:
        """Stop the embedded server if this process started it."""
        if self._server is not None:
            server, _ = self._server
            self._server = None
            server.__exit__(None, None, None)
