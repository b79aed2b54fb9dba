"""Running the proxy: in the foreground until SIGINT or SIGTERM (the CLI), or in a thread (tests, client runs).

Owns the uvicorn configuration (no Server or Date header of its own: the upstream's are passed on;
a graceful shutdown that gives answers in flight a few seconds), the listening URL, and the order
of the end: stop accepting, let answers in flight finish, then judge what is queued and publish.
The foreground run ignores the signal uvicorn re-raises after its graceful stop, so that the run
folder is always written.
"""

from __future__ import annotations

import gc
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType

import uvicorn

from .app import ProxyApp, Upstream, quiet_uvicorn
from .session import Session

GRACE_S = 5  # seconds answers in flight get to finish once a stop is asked for
# Judging runs on a thread of this interpreter: when it holds the GIL, a piece of an answer waits for
# the switch interval (5 ms by default) before it is passed on. A shorter interval bounds that wait;
# judging, which nobody waits for, pays the extra switches.
SWITCH_INTERVAL_S = 0.0005


def _prefer_forwarding() -> None:
    """Tune the interpreter for the foreground proxy, which owns its process."""
    if sys.getswitchinterval() > SWITCH_INTERVAL_S:
        sys.setswitchinterval(SWITCH_INTERVAL_S)
    # The contracts, schemas and compiled checks live as long as the proxy: moved out of the collector's
    # reach, a full collection no longer walks them while a piece of an answer waits to be passed on.
    gc.freeze()


def _config(app: ProxyApp, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
        date_header=False,
        lifespan="on",
        timeout_graceful_shutdown=GRACE_S,
        timeout_keep_alive=75,  # longer than the SDKs' idle reuse, so a kept-alive client connection is not closed under a request
    )


def url_of(server: uvicorn.Server, host: str) -> str:
    """``http://host:port`` of a started server (the port it really got when 0 was asked for)."""
    sock: socket.socket = server.servers[0].sockets[0]
    bound_host, port = sock.getsockname()[:2]
    shown = host if host not in ("0.0.0.0", "::") else str(bound_host)
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


class _Announcing(uvicorn.Server):
    """Calls back with the URL once the listening socket exists."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[str], None], host: str) -> None:
        super().__init__(config)
        self._on_ready = on_ready
        self._host = host

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.should_exit and self.servers:
            self._on_ready(url_of(self, self._host))


def _ignore(signum: int, frame: FrameType | None) -> None:
    """uvicorn re-raises the stop signal after its graceful shutdown; the session still has its report to write."""


def serve_foreground(upstream: Upstream, session: Session, *, host: str, port: int, on_ready: Callable[[str], None]) -> None:
    """Serve until SIGINT or SIGTERM; the caller closes the session (judges the rest, writes the run folder) afterwards."""
    quiet_uvicorn()
    _prefer_forwarding()
    app = ProxyApp(upstream, session.offer)
    previous = {sig: signal.signal(sig, _ignore) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        _Announcing(_config(app, host, port), on_ready, host).run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class ProxyThread:
    """The proxy on a thread of this process: ``start()`` returns its URL, ``stop()`` lets answers in flight finish."""

    def __init__(self, upstream: Upstream, session: Session, *, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = 20.0) -> None:
        quiet_uvicorn()  # in a process of someone else's (tests, client runs): no process-wide tuning
        self.app = ProxyApp(upstream, session.offer)
        self.session = session
        self._host = host
        self._ready = threading.Event()
        self.url = ""
        self._server = _Announcing(_config(self.app, host, port), self._announce, host)
        self._thread = threading.Thread(target=self._server.run, name="conformance-proxy", daemon=True)
        self._startup_timeout = startup_timeout

    def _announce(self, url: str) -> None:
        self.url = url
        self._ready.set()

    def start(self) -> str:
        """Start serving; the URL clients use as their base URL."""
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not self._ready.wait(0.05):
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the proxy did not start on {self._host} within {self._startup_timeout:g} s")
        return self.url

    def stop(self) -> None:
        """Stop accepting, give answers in flight up to the grace period, and wait for the server thread."""
        self._server.should_exit = True
        self._thread.join(timeout=GRACE_S + 10)

    def __enter__(self) -> ProxyThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
