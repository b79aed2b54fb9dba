"""Claude Code's scripted tasks through the proxy: one scratch folder per task, its outcome as a finding.

Owns the tasks file, each task's scratch folder (``work/`` with the task's files as the working
directory, ``home/`` as HOME so no user setting or login leaks in), the environment Claude Code runs
with (the proxy as ANTHROPIC_BASE_URL, the target's key, no nonessential traffic; nothing else of
the caller's but PATH and the locale), the bound on each task (its process group is killed past
the timeout), which exchanges of the proxy belong to which task (tasks run one after the other),
and the verdict: a task passes when ``claude -p`` exits 0 and its output holds the expected answer.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from ..contract.model import Rule, RuleKind, Tier
from ..findings import Finding, Level, Outcome, Violation
from ..scenarios import Case
from ..traffic import Judged

TASKS_FILE = Path(__file__).with_name("tasks.yaml")
TASK_TIMEOUT_S = 180.0
OUTPUT_KEPT = 4000  # characters of a task's stdout and stderr kept in results.json
_PASSED = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS")


@dataclass(frozen=True, slots=True)
class Task:
    """One scripted task: a prompt, files in its scratch folder, the answer its output must hold."""

    id: str
    prompt: str
    expect: str
    description: str = ""
    files: tuple[tuple[str, str], ...] = ()


@cache
def _document() -> dict[str, Any]:
    data = yaml.safe_load(TASKS_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def tasks() -> list[Task]:
    """Every scripted task, in the file's order."""
    return [
        Task(id=str(t["id"]), prompt=str(t["prompt"]), expect=str(t["expect"]), description=str(t.get("description", "")), files=tuple((str(k), str(v)) for k, v in (t.get("files") or {}).items()))
        for t in _document()["tasks"]
    ]


def rule() -> Rule:
    """The rule the tasks' verdicts report under (level, reason and source from the tasks file)."""
    raw = _document()["rule"]
    return Rule(
        id=str(raw["id"]), area=str(raw["area"]), level=Level(raw["level"]), tier=Tier.FULL, text=str(raw["rule"]), source=str(raw["source"]),
        kind=RuleKind.EXPECTATION, level_reason=str(raw["level_reason"]),
    )  # fmt: skip


@dataclass
class TaskRun:
    """What one task did: how Claude Code ended, what it printed, and the traffic it sent."""

    task: Task
    client: str
    exit_code: int | None  # None: killed at the timeout
    seconds: float
    stdout: str
    stderr: str
    exchanges: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)  # cases some exchange of this task broke

    @property
    def completed(self) -> bool:
        """Exit 0 with the expected answer in the output."""
        return self.exit_code == 0 and self.task.expect in self.stdout

    def record(self) -> dict[str, Any]:
        """The task's entry in results.json's ``clients`` section."""
        return {
            "client": self.client,
            "task": self.task.id,
            "prompt": self.task.prompt,
            "expect": self.task.expect,
            "completed": self.completed,
            "exit_code": self.exit_code,
            "seconds": round(self.seconds, 2),
            "stdout": _tail(self.stdout),
            "stderr": _tail(self.stderr),
            "exchanges": self.exchanges[:200],
            "exchange_count": len(self.exchanges),
            "broken": sorted(set(self.broken)),
        }

    def finding(self, rule: Rule) -> tuple[Case, Finding]:
        """The task's verdict as a result row (``clients.claude_code_completes:<task>``)."""
        case = Case(id=f"{rule.id}:{self.task.id}", rule=rule, variation=self.task.id, scenarios=(), level=rule.level, source=rule.source)
        judged = (f"claude -p {self.task.prompt!r}: exit {self.exit_code} after {self.seconds:.1f} s", f"{len(self.exchanges)} exchange(s) judged by the proxy")
        base = Finding(check_id=rule.id, case=self.task.id, outcome=Outcome.PASS, level=rule.level, exchanges=tuple(self.exchanges[:6]), judged=judged)
        broken = f"\nThe proxy saw these rules broken on its traffic: {', '.join(sorted(set(self.broken)))}" if self.broken else ""
        if self.completed:
            notes = (f"output: {_tail(self.stdout, 300)!r}",) + ((broken.strip(),) if broken else ())
            return case, replace(base, notes=notes)
        ended = "was killed after the task timeout" if self.exit_code is None else f"exit {self.exit_code}"
        held = "holds" if self.task.expect in self.stdout else "does not hold"
        message = (
            f"Received: {ended} after {self.seconds:.1f} s; the output {held} {self.task.expect!r}: {_tail(self.stdout, 400)!r}"
            + (f"; stderr: {_tail(self.stderr, 400)!r}" if self.stderr.strip() else "")
            + f"\nExpected: exit 0 and {self.task.expect!r} in the output{broken}"
        )
        outcome = Outcome.FAIL if rule.level is Level.MUST else Outcome.WARN
        violation = Violation(message, at=f"claude -p (task {self.task.id})", exchange=self.exchanges[-1] if self.exchanges else None)
        return case, replace(base, outcome=outcome, message=message, violations=(violation,))


def _tail(text: str, limit: int = OUTPUT_KEPT) -> str:
    return text if len(text) <= limit else "…" + text[-limit:]


class Tracker:
    """Which exchanges the proxy judged while a task ran (a session listener; tasks run one at a time)."""

    def __init__(self) -> None:
        self.exchanges: list[str] = []
        self.broken: list[str] = []

    def __call__(self, judged: Judged) -> None:
        self.exchanges.append(judged.exchange.id)
        self.broken += [case.id for case in judged.broken]

    def take(self) -> tuple[list[str], list[str]]:
        """What was seen since the last take."""
        out = (self.exchanges, self.broken)
        self.exchanges, self.broken = [], []
        return out


def environment(home: Path, base_url: str, api_key: str) -> dict[str, str]:
    """What Claude Code runs with: the proxy, the key, no nonessential traffic, a scratch HOME; nothing else of ours."""
    env = {name: os.environ[name] for name in _PASSED if name in os.environ}
    env.update(
        {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "ANTHROPIC_BASE_URL": base_url,
            "ANTHROPIC_API_KEY": api_key,
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
            "NO_COLOR": "1",
            "TERM": "dumb",
        }
    )
    return env


def run_task(claude: Path, task: Task, *, base_url: str, api_key: str, model: str, scratch: Path, timeout: float = TASK_TIMEOUT_S) -> tuple[int | None, float, str, str]:
    """Run one task: (exit code or None when killed at the timeout, seconds, stdout, stderr)."""
    work, home = scratch / "work", scratch / "home"
    work.mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    for name, content in task.files:
        (work / name).write_text(content, encoding="utf-8")
    command = [str(claude), "-p", task.prompt, "--model", model]
    started = time.monotonic()
    # claude -p reads stdin until EOF: /dev/null, or it waits for ever.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, cwd=work, env=environment(home, base_url, api_key), stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True)
        try:
            code: int | None = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # its own group: sub-processes it started too
            process.wait()
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        return code, seconds, out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")


def select(names: Sequence[str]) -> list[Task]:
    """The tasks named (all when none is), or ValueError naming the unknown ones."""
    every = tasks()
    if not names:
        return every
    known = {t.id: t for t in every}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown task(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[n] for n in names]
