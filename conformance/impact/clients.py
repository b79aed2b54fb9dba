"""The official clients the impact replay drives, pinned, and their installation into the user's cache.

Owns which clients exist (``CLIENTS``: two Python SDK majors, the TypeScript SDK, the Vercel AI
SDK's Anthropic provider), where each lives (``<XDG cache>/anthropic-conformance/clients/``: a venv
per Python major, since 1.x and 2.x cannot share one environment, and one ``node_modules`` with
exact versions), how to tell whether it is installed, and how to install it. None of them ever
enters the suite's own environment. An install that fails leaves a one-line reason, which the
report prints as "not checked"; it never raises past ``ensure``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

CACHE_ENV = "CONFORMANCE_CLIENTS_DIR"  # overrides where the clients are installed (tests point it at a scratch folder)
INSTALL_TIMEOUT_S = 600.0
FAILED_RETRY_S = 600.0  # after a failed install, runs within this many seconds do not try again (no registry: no 10-minute wait per run)
_MARKER = ".anthropic-conformance-installed"
_FAILED = ".anthropic-conformance-failed"
Log = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Client:
    """One official client at one pinned version; ``label`` is how evidence names it."""

    id: str
    package: str
    version: str
    runtime: str  # "python" or "node"
    home: str  # the cache folder it lives in (a venv, or the shared node folder)

    @property
    def label(self) -> str:
        """How a person recognises it: the package, its version, and the language when the name does not say."""
        language = " (Python)" if self.runtime == "python" else ""
        return f"{self.package}{language} {self.version}"


PY_V1 = Client("python-1", "anthropic", "1.17.0", "python", "python-1.17.0")
PY_V2 = Client("python-2", "anthropic", "2.17.0", "python", "python-2.17.0")
TS_SDK = Client("typescript", "@anthropic-ai/sdk", "1.17.0", "node", "node")
AI_SDK = Client("ai-sdk", "@ai-sdk/anthropic", "4.0.112", "node", "node")
CLIENTS: tuple[Client, ...] = (PY_V1, PY_V2, TS_SDK, AI_SDK)
# The AI SDK provider's peer dependency, pinned too, so a node_modules is the same on every machine.
NODE_EXTRA = {"zod": "4.1.12"}


def cache_dir() -> Path:
    """$CONFORMANCE_CLIENTS_DIR, else <XDG cache>/anthropic-conformance/clients."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "anthropic-conformance" / "clients"


def _wanted(client: Client) -> str:
    if client.runtime == "python":
        return f"{client.package}=={client.version}"
    return json.dumps(node_dependencies(), sort_keys=True)


def node_dependencies() -> dict[str, str]:
    """The exact versions of the one node_modules the Node clients share."""
    return {**{c.package: c.version for c in CLIENTS if c.runtime == "node"}, **NODE_EXTRA}


def home(client: Client) -> Path:
    """The folder a client is installed in."""
    return cache_dir() / client.home


def installed(client: Client) -> bool:
    """Installed at its pinned version (the marker names exactly what was installed)."""
    marker = home(client) / _MARKER
    return marker.is_file() and marker.read_text(encoding="utf-8") == _wanted(client)


def interpreter(client: Client) -> list[str]:
    """The command that runs a driver script for this client."""
    if client.runtime == "python":
        return [str(home(client) / "bin" / "python")]
    return [shutil.which("node") or "node"]


class _Failed(Exception):
    """An install step failed; the message is the reason a report shows."""


def _tail(text: str, lines: int = 4) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:] if line.strip())


def _step(command: list[str], *, cwd: Path | None, timeout: float, what: str, log: Log) -> None:
    log(f"  {what} …")
    started = time.monotonic()
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise _Failed(f"{what} timed out after {timeout:g} s") from exc
    except OSError as exc:
        raise _Failed(f"{what} could not start: {exc.strerror or exc}") from exc
    if done.returncode != 0:
        raise _Failed(f"{what} exited {done.returncode}: {_tail(done.stderr or done.stdout)}")
    log(f"  {what}: done in {time.monotonic() - started:.0f} s")


def _install_python(client: Client, path: Path, log: Log, timeout: float) -> None:
    _step([sys.executable, "-m", "venv", str(path)], cwd=None, timeout=120, what=f"python -m venv {path}", log=log)
    pip = [str(path / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "--quiet", "--timeout", "20", "--retries", "1"]
    _step([*pip, _wanted(client)], cwd=None, timeout=timeout, what=f"pip install {_wanted(client)}", log=log)


def _install_node(path: Path, log: Log, timeout: float) -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise _Failed("node and npm are not on PATH")
    path.mkdir(parents=True, exist_ok=True)
    manifest = {"name": "anthropic-conformance-clients", "private": True, "dependencies": node_dependencies()}
    (path / "package.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    npm = ["npm", "install", "--no-audit", "--no-fund", "--save-exact", "--ignore-scripts", "--fetch-timeout=20000", "--fetch-retries=1", "--loglevel=error"]
    wanted = " ".join(f"{name}@{version}" for name, version in node_dependencies().items())
    _step(npm, cwd=path, timeout=timeout, what=f"npm install {wanted}", log=log)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one installer at a time (xdist workers, a parallel .ci/run)
        yield


def ensure(client: Client, *, log: Log, timeout: float = INSTALL_TIMEOUT_S, retry_failed: bool = False) -> str | None:
    """Install ``client`` unless it is there; None when usable, else why not (one line)."""
    path = home(client)
    with _locked(path):
        if installed(client):
            return None
        failed = path.parent / f"{path.name}{_FAILED}"
        if not retry_failed and failed.is_file() and time.time() - failed.stat().st_mtime < FAILED_RETRY_S:
            return failed.read_text(encoding="utf-8").strip() + " (not retried for 10 minutes; `python -m conformance.impact install` retries now)"
        log(f"installing {client.label} into {path} (first use; later runs reuse it)")
        shutil.rmtree(path, ignore_errors=True)
        try:
            if client.runtime == "python":
                _install_python(client, path, log, timeout)
            else:
                _install_node(path, log, timeout)
        except _Failed as exc:
            shutil.rmtree(path, ignore_errors=True)
            reason = f"could not install {client.label}: {exc}"
            failed.write_text(reason + "\n", encoding="utf-8")
            log(f"  {reason[:300]}; it is named as not checked")  # the step's "…" line gets its ending
            return reason
        failed.unlink(missing_ok=True)
        (path / _MARKER).write_text(_wanted(client), encoding="utf-8")  # the Node clients share one folder and one marker
        return None


def ensure_all(*, log: Log, retry_failed: bool = False) -> dict[str, str | None]:
    """Every client installed where possible: client id -> None (usable) or the reason it is not."""
    reasons: dict[str, str | None] = {}
    for client in CLIENTS:
        reasons[client.id] = ensure(client, log=log, retry_failed=retry_failed)
    return reasons
