"""Claude Code, installed on first use into the user's cache with npm, and found again afterwards.

Owns the cache folder (``$CONFORMANCE_CLAUDE_CODE_DIR``, else ``<XDG cache>/anthropic-conformance/
claude-code-<version>``), the pinned version, one installer at a time (a file lock: xdist workers and
a parallel CI step share the cache), the progress a person sees while about 370 MB come from the
npm registry, and finding the native binary (npm's ``.bin/claude``, else the platform package's own
binary when npm did not run the package's install script). Anything that keeps Claude Code from
being installed is ``Unavailable`` with the reason, never a traceback: a client run then skips and says why.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import platform
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

VERSION = "2.1.328"
PACKAGE = "@anthropic-ai/claude-code"
DIR_ENV = "CONFORMANCE_CLAUDE_CODE_DIR"
INSTALL_TIMEOUT_S = 900.0
SIZE_HINT = "about 370 MB"
MARKER = ".anthropic-conformance-installed"
# What npm prints when it cannot reach the registry at all (as opposed to a package that is missing).
_OFFLINE = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT", "ECONNRESET", "ENETUNREACH", "EHOSTUNREACH", "network request", "request to http")

Say = Callable[[str], None]


class Unavailable(Exception):
    """Claude Code cannot be installed or run here; the message says why (a client run skips with it)."""

    def __init__(self, message: str, *, offline: bool = False) -> None:
        super().__init__(message)
        self.offline = offline  # the npm registry could not be reached


def cache_dir(version: str = VERSION) -> Path:
    """Where this version lives: $CONFORMANCE_CLAUDE_CODE_DIR, else <XDG cache>/anthropic-conformance/claude-code-<version>."""
    if os.environ.get(DIR_ENV):
        return Path(os.environ[DIR_ENV])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "anthropic-conformance" / f"claude-code-{version}"


def _platform_packages() -> list[str]:
    """The names of the platform packages that may carry the native binary here, most likely first."""
    machine = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower(), platform.machine().lower())
    system = {"linux": "linux", "darwin": "darwin"}.get(platform.system().lower(), platform.system().lower())
    base = f"{PACKAGE}-{system}-{machine}"
    return [base, f"{base}-musl"] if system == "linux" else [base]


def _candidates(root: Path) -> list[Path]:
    modules = root / "node_modules"
    return [modules / ".bin" / "claude", *(modules / name / "claude" for name in _platform_packages())]


def _version_of(binary: Path) -> str | None:
    """The version ``claude --version`` prints, None when it does not run."""
    try:
        done = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60, check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.split()[0] if done.returncode == 0 and done.stdout.split() else None


def find(root: Path, version: str = VERSION) -> Path | None:
    """The Claude Code binary of ``version`` under ``root`` that runs, or None."""
    for binary in _candidates(root):
        if binary.is_file() and _version_of(binary) == version:
            return binary
    return None


def _heartbeat(say: Say, started: float, stop: threading.Event, process: subprocess.Popen[str], timeout: float, expired: threading.Event) -> None:
    """A line every 15 s while npm downloads (its one big fetch prints nothing), and the end of npm past ``timeout``."""
    while not stop.wait(15):
        if time.monotonic() - started > timeout:
            expired.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            return
        say(f"  … still installing ({time.monotonic() - started:.0f} s)")


def _npm(root: Path, version: str, say: Say, timeout: float) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise Unavailable("npm is not on PATH (Node.js and npm install Claude Code)")
    command = [npm, "install", "--prefix", str(root), "--no-audit", "--no-fund", "--no-save", "--loglevel=http", f"{PACKAGE}@{version}"]
    started = time.monotonic()
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL, start_new_session=True)
    except OSError as exc:
        raise Unavailable(f"npm could not run: {exc}") from exc
    stop, expired = threading.Event(), threading.Event()
    threading.Thread(target=_heartbeat, args=(say, started, stop, process, timeout, expired), daemon=True).start()
    lines: list[str] = []
    try:
        with process:  # closes the pipe whatever happens
            assert process.stdout is not None
            for line in process.stdout:
                lines.append(line.rstrip())
                if "http fetch" in line or line.startswith("added") or "ERR" in line:
                    say("  npm: " + line.strip()[:160])
            code = process.wait()
    finally:
        stop.set()
    if expired.is_set():
        raise Unavailable(f"npm install {PACKAGE}@{version} took longer than {timeout:g} s and was stopped")
    if code != 0:
        tail = "\n".join(lines[-12:])
        offline = any(mark in tail for mark in _OFFLINE)
        why = "the npm registry is unreachable" if offline else f"npm install exited {code}"
        raise Unavailable(f"{why}: {tail.strip()[-800:]}", offline=offline)
    say(f"  installed {PACKAGE}@{version} in {time.monotonic() - started:.0f} s")


def ensure(*, version: str = VERSION, root: Path | None = None, say: Say = lambda _: None, timeout: float = INSTALL_TIMEOUT_S) -> Path:
    """The Claude Code binary, installed into the cache first when it is not there; ``Unavailable`` with the reason otherwise."""
    root = root or cache_dir(version)
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one installer at a time; the others then find it installed
        marker = root / MARKER
        if marker.is_file() and marker.read_text(encoding="utf-8").strip() == version:
            found = find(root, version)
            if found is not None:
                return found
        say(f"Claude Code {version} is not in the cache yet: installing it into {root} with npm ({SIZE_HINT} from the registry) …")
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True, exist_ok=True)
        try:
            _npm(root, version, say, timeout)
        except Unavailable:
            shutil.rmtree(root, ignore_errors=True)
            raise
        found = find(root, version)
        if found is None:
            shutil.rmtree(root, ignore_errors=True)
            raise Unavailable(f"npm installed {PACKAGE}@{version} into {root} but no claude binary there runs and prints {version}")
        marker.write_text(version + "\n", encoding="utf-8")
        return found
