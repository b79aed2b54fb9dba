"""Running the reference server: the `python -m conformance.reference` entry point and a subprocess handle.

Owns uvicorn configuration (with the connection layer of connections.py), the one-line readiness announcement, clean exit on SIGTERM/SIGINT, and
`ReferenceServer`, which starts the entry point as a child process and knows its base URL. The API key
travels in an environment variable, never in argv (argv is visible in `ps`).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO

import uvicorn
from starlette.types import ASGIApp

from conformance.reference.connections import ConnectionControl
from conformance.reference.faults import FAULTS, build_app, unknown_fault_error
from conformance.reference.gate import REQUIRED_HEADERS_ENV, HeaderGate, required_from
from conformance.reference.router import FaultRouter

API_KEY_ENV = "CONFORMANCE_REFERENCE_API_KEY"
ANNOUNCEMENT = "conformance reference server listening on "
_ANNOUNCED = re.compile(re.escape(ANNOUNCEMENT) + r"(http://\S+)\s*$")
_PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _AnnouncingServer(uvicorn.Server):
    """A uvicorn server that prints its URL once its listening sockets exist."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.should_exit or not self.servers:
            return
        host, port = self.servers[0].sockets[0].getsockname()[:2]
        print(ANNOUNCEMENT + _url(str(host), int(port)), flush=True)


def _ignore_signal(signum: int, frame: FrameType | None) -> None:
    """uvicorn re-raises the shutdown signal after a graceful stop; landing here makes the exit clean."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m conformance.reference", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--api-key", help=f"accepted key (prefer the {API_KEY_ENV} environment variable)")
    parser.add_argument(
        "--fault",
        action="extend",
        nargs="+",
        default=[],
        metavar="NAME",
        help="wrap in named faults (repeatable)",
    )
    parser.add_argument("--router", action="store_true", help="serve /_faults/<names>/ and /_variant/<name>/")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; print exactly one readiness line on stdout."""
    parser = _parser()
    args = parser.parse_args(argv)
    api_key = args.api_key or os.environ.get(API_KEY_ENV, "")
    if not api_key:
        parser.error(f"an API key is required: set {API_KEY_ENV} or pass --api-key")
    app: ASGIApp
    if args.router:
        if args.fault:
            parser.error("--router serves every fault by path; do not combine it with --fault")
        app = FaultRouter(api_key=api_key)
    else:
        try:
            app = build_app(api_key=api_key, faults=args.fault)
        except ValueError as exc:
            parser.error(str(exc))
    gate = os.environ.get(REQUIRED_HEADERS_ENV)
    if gate:  # a gateway's own headers, required on every request (gate.py)
        try:
            app = HeaderGate(app, required_from(gate))
        except ValueError as exc:
            parser.error(str(exc))
    control = ConnectionControl(app)  # lets a fault close a kept-alive connection (catalogue/connections.py)
    config = uvicorn.Config(
        control,
        http=control.protocol(),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        server_header=False,
        lifespan="on",
        timeout_graceful_shutdown=2,
    )
    signal.signal(signal.SIGTERM, _ignore_signal)
    signal.signal(signal.SIGINT, _ignore_signal)
    _AnnouncingServer(config).run()
    return 0


def _read_lines(stream: IO[bytes], lines: queue.Queue[str]) -> None:
    for raw in iter(stream.readline, b""):
        lines.put(raw.decode("utf-8", "replace"))
    lines.put("")


class ReferenceServer:
    """The reference server in a child process, for tests and for the suite's no-target mode."""

    def __init__(
        self,
        api_key: str,
        *,
        faults: Sequence[str] = (),
        router: bool = False,
        host: str = "127.0.0.1",
        startup_timeout: float = 20.0,
        required_headers: Mapping[str, str] | None = None,
    ) -> None:
        for name in faults:
            if name not in FAULTS:
                raise unknown_fault_error(name)
        self._api_key = api_key
        self._faults = tuple(faults)
        self._router = router
        self._host = host
        self._startup_timeout = startup_timeout
        self._required_headers = dict(required_headers or {})  # a gateway's own headers (gate.py); values stay out of argv
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._base_url: str | None = None

    @property
    def base_url(self) -> str:
        """`http://host:port` of the running child."""
        if self._base_url is None:
            raise RuntimeError("the reference server is not running")
        return self._base_url

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (for diagnostics)."""
        return self._process.pid if self._process is not None else None

    def _command(self) -> list[str]:
        command = [sys.executable, "-m", "conformance.reference", "--host", self._host, "--port", "0"]
        for name in self._faults:
            command += ["--fault", name]
        return command + (["--router"] if self._router else [])

    def _environment(self) -> dict[str, str]:
        path = os.pathsep.join(p for p in (str(_PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)
        environ = {k: v for k, v in os.environ.items() if k != REQUIRED_HEADERS_ENV}  # only this server's own gate, if any
        if self._required_headers:
            environ[REQUIRED_HEADERS_ENV] = json.dumps(self._required_headers)
        return {**environ, API_KEY_ENV: self._api_key, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1"}

    def stderr_tail(self, limit: int = 4000) -> str:
        """The end of the child's stderr so far: uvicorn warnings, tracebacks, startup errors."""
        if self._stderr is None:
            return ""
        # pread leaves the offset the child shares with us alone.
        fd = self._stderr.fileno()
        size = os.fstat(fd).st_size
        return os.pread(fd, limit, max(size - limit, 0)).decode("utf-8", "replace")

    def start(self) -> str:
        """Spawn the child and wait for its announcement; raise RuntimeError (with stderr) if none comes."""
        # Outlives this method (closed in stop()), so no context manager.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self._process = subprocess.Popen(
            self._command(), stdout=subprocess.PIPE, stderr=self._stderr, env=self._environment()
        )
        if self._process.stdout is None:  # pragma: no cover - PIPE always yields a stream
            raise RuntimeError("no stdout pipe to the reference server")
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_read_lines, args=(self._process.stdout, lines), daemon=True).start()
        try:
            line = lines.get(timeout=self._startup_timeout)
        except queue.Empty:
            line = None
        match = _ANNOUNCED.match(line or "")
        if match is None:
            self._terminate()
            if line is None:
                why = "timed out"
            elif line:
                why = f"printed {line!r}"
            else:
                why = f"exited with status {self._process.returncode}"
            tail = self.stderr_tail()
            self.stop()
            raise RuntimeError(
                f"reference server did not start ({why}, limit {self._startup_timeout:g} s); stderr tail:\n{tail}"
            )
        self._base_url = match.group(1)
        return self._base_url

    def _terminate(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop(self) -> None:
        """Terminate the child (SIGTERM, 5 s grace, then SIGKILL) and release its pipes."""
        self._terminate()
        process, self._process, self._base_url = self._process, None, None
        if process is not None and process.stdout is not None:
            process.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> ReferenceServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
