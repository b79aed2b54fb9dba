"""``anthropic-conformance clients``: Claude Code runs its scripted tasks through the proxy against the target.

Owns the order of a client run: Claude Code first (installed into the cache on first use; when it
cannot be, the run says why and skips), then the target (the embedded reference server unless
``--base-url``; ``--fault NAME`` puts the embedded one behind a fault of the catalogue), a proxy on
this process in front of it, each task in turn, and one run folder: the proxy's verdicts on the
traffic plus one result row per task (``clients.claude_code_completes:<task>``) and a ``clients``
section in results.json. Exit 1 when a task did not complete or a MUST rule was broken, else 0.

A command of its own rather than ``run --clients``: ``run`` plans and sends the suite's own
requests through pytest within a request budget; a client run sends what Claude Code decides
(about 13,000 input tokens a request against a real target), takes seconds per task, needs a
370 MB download on first use, and is judged by the proxy's traffic rules. Mixing the two would
make every ``run`` pay for the client, or make ``run``'s budget meaningless.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

from ..contract.model import Contract
from ..errors import ConfigError
from ..proxy.app import Upstream
from ..proxy.server import ProxyThread
from ..proxy.session import Published, Session, Settings
from ..redact import Redactor
from ..report import terminal
from . import install, runner
from .runner import Task, TaskRun, Tracker

CLIENT = f"claude-code {install.VERSION}"
DEFAULT_MODEL = "claude-sonnet-4-5"


@dataclass
class ClientRun:
    """A finished client run: the run folder (None when skipped), each task's outcome, or why it was skipped."""

    published: Published | None
    runs: list[TaskRun] = field(default_factory=list)
    skipped: str | None = None

    @property
    def failed(self) -> bool:
        """A task did not complete, or a MUST rule was broken on the traffic."""
        return self.published is not None and self.published.failed


def run_tasks(
    claude: Path, tasks: Sequence[Task], *, upstream: str, api_key: str, contracts: Mapping[str, Contract], settings: Settings,
    model: str = DEFAULT_MODEL, out: TextIO | None = None, timeout: float = runner.TASK_TIMEOUT_S, say: Callable[[str], None] = lambda _: None,
) -> ClientRun:  # fmt: skip
    """Every task through a proxy in front of ``upstream``; the published run folder."""
    session = Session(contracts, settings, out=out)
    tracker = Tracker()
    session.listeners.append(tracker)
    runs: list[TaskRun] = []
    proxy = ProxyThread(Upstream(base_url=upstream), session)
    try:
        url = proxy.start()
        session.settings = replace(settings, listen=url)
        for task in tasks:
            say(f"task {task.id}: claude -p {task.prompt!r}")
            with tempfile.TemporaryDirectory(prefix=f"conformance-claude-{task.id}-") as scratch:
                code, seconds, stdout, stderr = runner.run_task(claude, task, base_url=url, api_key=api_key, model=model, scratch=Path(scratch), timeout=timeout)
            _settle(proxy, session)
            exchanges, broken = tracker.take()
            done = TaskRun(task=task, client=CLIENT, exit_code=code, seconds=seconds, stdout=stdout, stderr=stderr, exchanges=exchanges, broken=broken)
            runs.append(done)
            state = "completed" if done.completed else "did NOT complete"
            say(f"task {task.id}: {state} (exit {code if code is not None else 'none: killed at the timeout'}, {seconds:.1f} s, {len(exchanges)} exchange(s))")
    finally:
        proxy.stop()
    rule = runner.rule()
    section = {"client": CLIENT, "model": model, "status": "ran", "tasks": [r.record() for r in runs]}
    published = session.close(extra={"clients": section}, extra_findings=[r.finding(rule) for r in runs])
    return ClientRun(published, runs)


def _settle(proxy: ProxyThread, session: Session, timeout: float = 10.0) -> None:
    """Wait until the task's last exchange left the proxy and was judged (Claude Code may exit before the proxy has handed it over)."""
    deadline = time.monotonic() + timeout
    while proxy.app.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    session.wait_idle(max(0.1, deadline - time.monotonic()))


def run(args: argparse.Namespace) -> int:
    """The ``clients`` command."""
    say: Callable[[str], None] = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    try:
        chosen = runner.select(args.task or [])
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    try:
        claude = Path(args.claude) if args.claude else install.ensure(say=say)
    except install.Unavailable as exc:
        say(f"anthropic-conformance clients: Claude Code {install.VERSION} is not available, so no client ran: {exc}")
        return 0
    if args.install_only:
        say(f"Claude Code {install.VERSION}: {claude}")
        return 0
    from ..proxy.command import check_upstream, contracts_for

    profile = args.profile or ("anthropic" if args.base_url else "reference")
    contracts = contracts_for(profile, args.api_version, args.spec_dir)
    settings = Settings(upstream="", profile=profile, report_dir=args.report_dir, target_name=args.target_name, default_model=args.model)
    if args.base_url:
        import os

        if args.fault:
            raise ConfigError("--fault puts the embedded reference server behind a fault; it does not apply to --base-url")
        key = os.environ.get(args.api_key_env, "")
        if not key:
            raise ConfigError(f"environment variable {args.api_key_env} is not set (it should hold the API key for {args.base_url})")
        upstream = check_upstream(args.base_url)
        shown = Redactor([key]).text(upstream)  # credentials in the URL stay out of the reports
        say(f"anthropic-conformance clients: {CLIENT} through the proxy to {shown} · profile {profile}")
        result = run_tasks(claude, chosen, upstream=upstream, api_key=key, contracts=contracts, settings=replace(settings, upstream=shown), model=args.model, out=sys.stderr, timeout=args.timeout, say=say)
    else:
        from ..reference.faults import FAULTS
        from ..reference.router import fault_base_path
        from ..reference.server import ReferenceServer

        unknown = [f for f in args.fault if f not in FAULTS]
        if unknown:
            raise ConfigError(f"unknown fault(s) {', '.join(unknown)}; see serve --list-faults")
        key = "sk-ant-reference-" + secrets.token_hex(16)
        with ReferenceServer(api_key=key, router=True) as server:
            upstream = server.base_url + (fault_base_path(*args.fault) if args.fault else "")
            say(f"anthropic-conformance clients: {CLIENT} through the proxy to the embedded reference server{' behind ' + ', '.join(args.fault) if args.fault else ''}")
            result = run_tasks(claude, chosen, upstream=upstream, api_key=key, contracts=contracts, settings=replace(settings, upstream=upstream), model=args.model, out=sys.stderr, timeout=args.timeout, say=say)
    assert result.published is not None
    print(terminal.summary(result.published.document, report_path=str(result.published.run_dir / "report.html"), colour=terminal.fancy(sys.stdout)))
    return 1 if result.failed else 0
