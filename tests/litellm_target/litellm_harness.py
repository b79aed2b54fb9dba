"""LiteLLM in its own virtual environment, in front of the toy OpenAI backend: install, start, wait, stop.

Owns the isolated venv (created once under the user's cache directory and reused; LiteLLM's
dependency tree never touches the project's), the environment LiteLLM runs with (offline: local cost
map, beta-header and preset files; /v1/messages translated through chat/completions), free ports,
health polling and teardown of exactly the processes it started. Knows nothing about the suite.

`python tests/litellm_target/litellm_harness.py install` pre-installs the venv (.ci/run calls it) and
`... serve` starts backend and proxy by hand, printing the base URL and key to use.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

LITELLM_VERSION = "1.106.2"
# prisma: the proxy imports it on the path that refuses a key it cannot find (no database here).
REQUIREMENTS = (f"litellm[proxy]=={LITELLM_VERSION}", "prisma")
VENV_ENV = "CONFORMANCE_LITELLM_VENV"
HERE = Path(__file__).resolve().parent
CONFIG = HERE / "litellm_config.yaml"
BACKEND = HERE / "openai_backend.py"
PROJECT_ROOT = HERE.parents[1]
MODEL_ALIAS = "toy-claude"  # the model_name in litellm_config.yaml
INSTALL_TIMEOUT_S = 900.0
HEARTBEAT_S = 15.0  # how often a running install says it still runs
INSTALL_NOTE = "a few minutes and about 750 MB"  # measured, see README ("Running the project's tests")
STARTUP_TIMEOUT_S = 180.0
# LiteLLM fetches these from GitHub at import or startup unless told to use its bundled copies.
OFFLINE_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
    "LITELLM_LOCAL_AUTOROUTER_PRESETS": "True",
    "LITELLM_LOCAL_BLOG_POSTS": "True",
    "LITELLM_LOCAL_POLICY_TEMPLATES": "True",
    "LITELLM_DONT_SHOW_FEEDBACK_BOX": "True",  # the start-up banner, noise in the captured output
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}
# Without it LiteLLM sends every /v1/messages request for an openai/ deployment to /v1/responses; with
# it the translation under test is the chat/completions one (`thinking: enabled` still goes to
# /v1/responses, see openai_responses.py).
TRANSLATION_ENV = {"LITELLM_USE_CHAT_COMPLETIONS_URL_FOR_ANTHROPIC_MESSAGES": "1"}
# The children get these and nothing else of ours (no provider keys leak into LiteLLM's environment).
_PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE")


class Unavailable(Exception):
    """LiteLLM cannot be installed or started here; the message says why (it becomes the skip reason)."""


def venv_dir() -> Path:
    """$CONFORMANCE_LITELLM_VENV, else <XDG cache>/anthropic-conformance/litellm-venv."""
    if os.environ.get(VENV_ENV):
        return Path(os.environ[VENV_ENV])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "anthropic-conformance" / "litellm-venv"


def _tail(text: str, lines: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _run(command: list[str], *, timeout: float, what: str, say: Callable[[str], None] = _stderr, every: float = HEARTBEAT_S) -> None:
    """Run ``command``, saying every ``every`` seconds that it still runs (a silent minute looks like a hang)."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as out:
        try:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        except OSError as exc:
            raise Unavailable(f"{what} could not run: {exc}") from exc
        while True:
            try:
                code = process.wait(timeout=every)
                break
            except subprocess.TimeoutExpired:
                elapsed = time.monotonic() - started
                if elapsed > timeout:
                    process.kill()
                    process.wait()
                    raise Unavailable(f"{what} timed out after {timeout:g} s") from None
                say(f"  ... still running: {what} ({elapsed:.0f} s)")
        if code != 0:
            out.seek(0)
            raise Unavailable(f"{what} exited {code}:\n{_tail(out.read().decode('utf-8', 'replace'))}")


def ensure_venv(path: Path | None = None, *, timeout: float = INSTALL_TIMEOUT_S, say: Callable[[str], None] = _stderr) -> Path:
    """The `litellm` executable of the isolated venv, installing it first if needed (saying so as it goes); Unavailable otherwise."""
    path = path or venv_dir()
    marker = path / ".anthropic-conformance-installed"
    wanted = " ".join(REQUIREMENTS)
    exe = path / "bin" / "litellm"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one installer at a time (xdist workers, a parallel .ci/run)
        if marker.is_file() and marker.read_text() == wanted and exe.is_file():
            return exe
        shutil.rmtree(path, ignore_errors=True)
        started = time.monotonic()
        say(f"LiteLLM: first use, installing {wanted} into {path} (fetched once, then reused; {INSTALL_NOTE})")
        try:
            _run([sys.executable, "-m", "venv", str(path)], timeout=120, what=f"python -m venv {path}", say=say)
            pip = [str(path / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
            _run([*pip, *REQUIREMENTS], timeout=timeout, what=f"pip install {wanted}", say=say)
        except Unavailable as exc:
            shutil.rmtree(path, ignore_errors=True)
            raise Unavailable(f"LiteLLM venv could not be created at {path}: {exc}") from None
        if not exe.is_file():
            raise Unavailable(f"pip installed {wanted} into {path} but left no {exe}")
        marker.write_text(wanted)
        say(f"LiteLLM: installed in {time.monotonic() - started:.0f} s; later runs reuse {path} (set {VENV_ENV} to put it elsewhere)")
    return exe


def free_port() -> int:
    """A port nothing listens on right now (the child binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Child:
    """One child process with its output in a temporary file; stopped by its own process group id."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name = name
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def output(self, limit: int = 6000) -> str:
        """The end of what the child printed so far."""
        fd = self._log.fileno()
        size = os.fstat(fd).st_size
        return os.pread(fd, limit, max(size - limit, 0)).decode("utf-8", "replace")

    def exited(self) -> int | None:
        """The exit status once the child has ended."""
        return self.process.poll()

    def stop(self) -> None:
        """SIGTERM to the child's own group (LiteLLM may fork workers), SIGKILL after 10 s."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


def _base_env() -> dict[str, str]:
    return {name: os.environ[name] for name in _PASSED_THROUGH if name in os.environ}


def _wait_for(child: Child, url: str, *, timeout: float) -> float:
    """Poll ``url`` until it answers 200; the seconds it took. Unavailable with the child's output otherwise."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if child.exited() is not None:
            raise Unavailable(f"{child.name} exited with status {child.exited()} before {url} answered:\n{_tail(child.output(), 30)}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return time.monotonic() - started
        time.sleep(0.25)
    raise Unavailable(f"{child.name}: {url} did not answer 200 within {timeout:g} s:\n{_tail(child.output(), 30)}")


@dataclass(frozen=True)
class Deployment:
    """A running backend + LiteLLM pair: what the suite needs to reach it, and where to look when it misbehaves."""

    base_url: str
    master_key: str = field(repr=False)
    backend_url: str
    backend_log: Path  # every body LiteLLM sent upstream, one JSON line each
    startup_s: float  # LiteLLM's start until its health endpoint answered
    proxy: Child
    backend: Child


def _start_backend(key: str, log: Path) -> tuple[Child, str]:
    env = {**_base_env(), "TOY_BACKEND_KEY": key, "TOY_BACKEND_LOG": str(log), "PYTHONPATH": str(PROJECT_ROOT), "PYTHONUNBUFFERED": "1"}
    port = free_port()
    child = Child("toy OpenAI backend", [sys.executable, str(BACKEND), "--port", str(port)], env)
    url = f"http://127.0.0.1:{port}"
    _wait_for(child, f"{url}/healthz", timeout=30)
    return child, url


@contextlib.contextmanager
def deployment(exe: Path, workdir: Path) -> Iterator[Deployment]:
    """Backend and LiteLLM running on 127.0.0.1 for the duration of the block; both stopped after."""
    backend_key, master_key = "sk-toy-backend-" + secrets.token_hex(8), "sk-litellm-master-" + secrets.token_hex(8)
    log = workdir / "backend-requests.jsonl"
    children: list[Child] = []
    try:
        backend, backend_url = _start_backend(backend_key, log)
        children.append(backend)
        env = {
            **_base_env(), **OFFLINE_ENV, **TRANSLATION_ENV,
            "TOY_BACKEND_URL": f"{backend_url}/v1", "TOY_BACKEND_KEY": backend_key, "LITELLM_MASTER_KEY": master_key,
        }
        port = free_port()
        proxy = Child(f"LiteLLM {LITELLM_VERSION}", [str(exe), "--config", str(CONFIG), "--host", "127.0.0.1", "--port", str(port)], env)
        children.append(proxy)
        base_url = f"http://127.0.0.1:{port}"
        startup = _wait_for(proxy, f"{base_url}/health/liveliness", timeout=STARTUP_TIMEOUT_S)
        yield Deployment(base_url, master_key, backend_url, log, startup, proxy, backend)
    finally:
        for child in reversed(children):
            child.stop()


def main(argv: list[str]) -> int:
    """`install` (idempotent, exit 0 even when impossible: the tests then skip and say why) or `serve`."""
    command = argv[0] if argv else "install"
    try:
        started = time.monotonic()
        exe = ensure_venv()
        print(f"LiteLLM {LITELLM_VERSION} venv ready at {exe.parent.parent} ({time.monotonic() - started:.0f} s)")
        if command == "serve":
            signal.signal(signal.SIGTERM, signal.default_int_handler)  # a kill stops the children too
            with tempfile.TemporaryDirectory() as work, deployment(exe, Path(work)) as d:
                print(f"base URL {d.base_url}  key {d.master_key}  model {MODEL_ALIAS}  (started in {d.startup_s:.1f} s; Ctrl-C stops)", flush=True)
                print(f"backend requests are logged to {d.backend_log}", flush=True)
                with contextlib.suppress(KeyboardInterrupt):
                    signal.pause()
    except Unavailable as exc:
        print(f"warning: {exc}", file=sys.stderr)
        return 0 if command == "install" else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
