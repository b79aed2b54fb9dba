"""Replay a run's recorded exchanges into every official client, one child process per client, offline.

Owns the batch file the drivers read (every exchange that got an answer: request, status, headers,
body in its recorded reads), starting each client's driver with a timeout and an environment that
holds no key or URL of ours, reading back one JSON line per exchange, and turning each into a
``Verdict`` against what the bytes say (verdict.py). No request leaves the machine: the clients'
transports answer from the recording. A client that is not installed, cannot start or runs out of
time is "not checked" with the reason, never an error of the run.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._types import JSONObject
from ..exchange import Exchange
from .clients import AI_SDK, CLIENTS, Client, ensure, home, installed, interpreter
from .verdict import Impact, Reference, Verdict, judge, path_of, reference

DRIVERS = Path(__file__).with_name("drivers")
TIMEOUT_S = 120.0  # one client's whole batch; a run's exchanges take a few seconds
_PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")  # nothing else of ours reaches a client (no keys, no base URLs)
Log = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class ClientRun:
    """How one client's replay went as a whole: checked (with the version that ran) or why not."""

    client: Client
    checked: bool
    note: str  # the version line the driver printed, or why the client was not checked

    def record(self) -> JSONObject:
        """The client as results.json lists it."""
        return {"id": self.client.id, "name": self.client.label, "status": "checked" if self.checked else "not checked", "note": self.note}


@dataclass(frozen=True)
class ImpactReport:
    """Every client's verdict on every replayed exchange."""

    clients: tuple[ClientRun, ...]
    verdicts: dict[str, dict[str, Verdict]] = field(default_factory=dict)  # exchange id -> client id -> verdict
    seconds: float = 0.0

    def on(self, exchange_id: str) -> dict[str, Verdict]:
        """Each client's verdict on one exchange; clients that were not checked say why."""
        mine = self.verdicts.get(exchange_id, {})
        out = {}
        for run in self.clients:
            out[run.client.id] = mine.get(run.client.id) or Verdict(Impact.NOT_CHECKED, run.note if not run.checked else "not replayed")
        return out


def _item(exchange: Exchange) -> JSONObject:
    """One exchange as a driver reads it: the request's shape and the answer's bytes in their recorded reads."""
    body = exchange.body
    reads = [body[c.offset : c.offset + c.size] for c in exchange.chunks] or [body]
    fed = sum(len(r) for r in reads)
    if fed < len(body):  # reads not recorded for the tail (an older cassette): one more read
        reads.append(body[fed:])
    request = exchange.request.json
    return {
        "id": exchange.id,
        "method": exchange.request.method,
        "path": path_of(exchange),
        "stream": exchange.streamed,
        "body": request if isinstance(request, dict) else None,
        "status": exchange.status,
        "headers": [list(h) for h in exchange.headers],
        "chunks": [base64.b64encode(r).decode("ascii") for r in reads if r],
    }


def _environment() -> dict[str, str]:
    return {name: os.environ[name] for name in _PASSED_THROUGH if name in os.environ}


def _command(client: Client, batch: Path) -> list[str]:
    if client.runtime == "python":
        return [*interpreter(client), str(DRIVERS / "replay_py.py"), str(batch)]
    return [*interpreter(client), str(DRIVERS / "replay_js.mjs"), client.id, str(home(client)), str(batch)]


def _lines(text: str) -> list[dict[str, Any]]:
    out = []
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


def run_client(client: Client, batch: Path, *, timeout: float) -> tuple[str | None, dict[str, dict[str, Any]], str]:
    """Run one client's driver on the batch: (version line, reports by exchange id, why it stopped early or '')."""
    try:
        done = subprocess.run(_command(client, batch), capture_output=True, text=True, timeout=timeout, env=_environment(), stdin=subprocess.DEVNULL, check=False)
        stdout, stderr, problem = done.stdout, done.stderr, "" if done.returncode == 0 else f"the {client.label} process exited {done.returncode}"
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout.decode("utf-8", "replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
        stderr, problem = "", f"the {client.label} process did not finish within {timeout:g} s"
    except OSError as exc:
        return None, {}, f"the {client.label} process could not start: {exc.strerror or exc}"
    lines = _lines(stdout)
    hello = next((str(line["hello"]) for line in lines if "hello" in line), None)
    reports = {str(line["id"]): line for line in lines if "id" in line}
    if problem and stderr.strip():
        problem += ": " + " | ".join(stderr.strip().splitlines()[-3:])
    return hello, reports, problem


def assess(exchanges: Iterable[Exchange], *, install: bool, log: Log, timeout: float = TIMEOUT_S, clients: tuple[Client, ...] = CLIENTS) -> ImpactReport:
    """Replay every answered exchange into every client (installing missing ones first when ``install``)."""
    started = time.monotonic()
    refs: dict[str, Reference] = {}
    items = []
    for exchange in exchanges:
        ref = reference(exchange)
        if ref is not None:
            refs[exchange.id] = ref
            items.append(_item(exchange))
    verdicts: dict[str, dict[str, Verdict]] = {eid: {} for eid in refs}
    usable: dict[str, str | None] = {}
    for client in clients:  # installs one at a time (progress lines stay readable); replays below run side by side
        usable[client.id] = ensure(client, log=log) if install else None if installed(client) else "not installed (`python -m conformance.impact install`, or a CLI run, installs it)"
    with tempfile.TemporaryDirectory(prefix="conformance-impact-") as scratch:
        batch = Path(scratch) / "batch.jsonl"
        batch.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")
        ready = [c for c in clients if usable[c.id] is None]
        if ready:
            log(f"client impact: replaying {len(items)} recorded exchanges into {', '.join(c.label for c in ready)} (offline)")
        with ThreadPoolExecutor(max_workers=max(1, len(ready))) as pool:
            done = dict(zip([c.id for c in ready], pool.map(lambda c: run_client(c, batch, timeout=timeout), ready), strict=True))
    runs: list[ClientRun] = []
    for client in clients:
        if client.id not in done:
            runs.append(ClientRun(client, False, str(usable[client.id])))
            continue
        hello, reports, problem = done[client.id]
        if hello is None:
            runs.append(ClientRun(client, False, problem or f"the {client.label} driver printed nothing"))
            continue
        runs.append(ClientRun(client, True, hello + (f" ({problem}; exchanges it did not reach are not checked)" if problem else "")))
        for eid, ref in refs.items():
            report = reports.get(eid)
            verdicts[eid][client.id] = judge(ref, report, ai_sdk=client is AI_SDK) if report is not None else Verdict(Impact.NOT_CHECKED, problem or "no report from the client")
    return ImpactReport(tuple(runs), verdicts, round(time.monotonic() - started, 2))

