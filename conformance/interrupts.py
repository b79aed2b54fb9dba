"""When the outside world goes away mid-run: a closed pipe, SIGINT, SIGTERM.

A CI gate's exit code must not depend on whether anyone still reads its output
(``… | head -3``), and a run someone stops must say so everywhere instead of looking green. This
module owns the two mechanisms: ``pipe_safe`` streams, on which a write to a closed pipe is
dropped (the run goes on and writes its artifacts), and ``Interruption``, which turns the first
SIGINT or SIGTERM into a cooperative stop of the network phase (what arrived is judged, the rest
is not sent) and the second into an immediate stop. It knows nothing of pytest or httpx.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any, TextIO, TypeVar, cast

T = TypeVar("T")
SIGNALS = (signal.SIGINT, signal.SIGTERM)


# ------------------------------------------------------------------------- closed pipes


class _PipeSafe(io.TextIOBase):
    """A text stream whose writes to a closed pipe are dropped instead of raising."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream
        self.gone = False

    def _lost(self) -> None:
        # Point the descriptor at /dev/null: the bytes still buffered below us (and the interpreter's
        # flush at exit) then go nowhere instead of raising again, or exiting 120.
        self.gone = True
        with contextlib.suppress(OSError, ValueError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self._stream.fileno())
            os.close(null)

    def write(self, text: str) -> int:
        """Write, or drop the text once the reader has gone."""
        if not self.gone:
            try:
                self._stream.write(text)
            except (BrokenPipeError, ConnectionResetError, ValueError):
                self._lost()
        return len(text)

    def flush(self) -> None:
        """Flush, or do nothing once the reader has gone."""
        if not self.gone:
            try:
                self._stream.flush()
            except (BrokenPipeError, ConnectionResetError, ValueError):
                self._lost()

    def isatty(self) -> bool:
        """A dropped stream is no terminal."""
        return not self.gone and self._stream.isatty()

    def fileno(self) -> int:
        """The underlying descriptor (pytest's capture duplicates it)."""
        return self._stream.fileno()

    def writable(self) -> bool:
        """Always: a closed reader only makes writes vanish."""
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        """The underlying stream's encoding (``print`` and pytest ask)."""
        return str(getattr(self._stream, "encoding", "utf-8"))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _occupy(fd: int) -> TextIO:
    """A closed standard descriptor (``>&-``) gets /dev/null, so no file the run opens later lands on it."""
    null = os.open(os.devnull, os.O_WRONLY)
    if null != fd:
        os.dup2(null, fd)
        os.close(null)
    return cast(TextIO, open(fd, "w", encoding="utf-8", closefd=False))


@contextlib.contextmanager
def pipe_safe() -> Iterator[None]:
    """While the block runs, ``sys.stdout`` and ``sys.stderr`` drop writes once their reader has gone (or was never there)."""
    saved = sys.stdout, sys.stderr
    for name, fd in (("stdout", 1), ("stderr", 2)):
        stream = getattr(sys, name)
        if isinstance(stream, _PipeSafe):
            continue
        setattr(sys, name, cast(TextIO, _PipeSafe(_occupy(fd) if stream is None else stream)))
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):  # a reader that left late must not turn the exit code into 120
            with contextlib.suppress(OSError, ValueError, AttributeError):
                stream.flush()
        sys.stdout, sys.stderr = saved


# ------------------------------------------------------------------------- signals


class Stopped(KeyboardInterrupt):
    """The second signal: stop now, wherever the run is (``exit_code`` says which signal came first)."""

    def __init__(self, exit_code: int) -> None:
        super().__init__(exit_code)
        self.exit_code = exit_code


class Interruption:
    """Which signal asked the run to stop, and how to stop the work in progress.

    The first SIGINT or SIGTERM is recorded and stops the network phase through the callbacks
    registered with ``stopping``: the answers that arrived are judged, the rest is reported as
    not judged, and every artifact says "interrupted". A second signal raises
    ``Stopped`` (a ``KeyboardInterrupt``) wherever the run is, for someone who will not wait.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._stops: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    @property
    def fired(self) -> bool:
        """A signal arrived."""
        return self.signum is not None

    @property
    def name(self) -> str:
        """``SIGINT`` or ``SIGTERM`` (empty before any signal)."""
        return signal.Signals(self.signum).name if self.signum is not None else ""

    @property
    def exit_code(self) -> int:
        """128 + the signal number, as a shell reports a process the signal ended (130, 143)."""
        return 128 + (self.signum or 0)

    def describe(self) -> str:
        """How messages name the interruption."""
        return f"the run was interrupted by {self.name}"

    def fire(self, signum: int, frame: FrameType | None = None) -> None:
        """The signal handler: record the first signal and stop the network phase; abort on the second."""
        if self.signum is not None:
            raise Stopped(self.exit_code)
        self.signum = signum
        with self._lock:
            stops = list(self._stops)
        for stop in stops:
            stop()

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Handle SIGINT and SIGTERM while the block runs (main thread only; nested use keeps the outer handlers)."""
        if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) == self.fire:
            yield
            return
        previous = {signum: signal.getsignal(signum) for signum in SIGNALS}
        for signum in SIGNALS:
            signal.signal(signum, self.fire)
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    @contextlib.contextmanager
    def stopping(self, stop: Callable[[], None]) -> Iterator[None]:
        """Call ``stop`` on the first signal while the block runs (at once, when one already came)."""
        with self._lock:
            self._stops.append(stop)
        try:
            if self.fired:
                stop()
            yield
        finally:
            with self._lock:
                self._stops.remove(stop)


@contextlib.contextmanager
def sigterm_stops() -> Iterator[None]:
    """Outside a run's own handling, SIGTERM stops like Ctrl-C does (one line, exit 143) instead of killing the process silently."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        raise Stopped(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


async def until_stopped(work: Awaitable[T], interruption: Interruption | None) -> T | None:
    """Await ``work``; None when the interruption cancelled it (any other cancellation propagates)."""
    if interruption is None:
        return await work
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work)

    def stop() -> None:  # a signal handler runs between two bytecodes of the loop itself: only call_soon_threadsafe is safe there
        loop.call_soon_threadsafe(task.cancel)

    with interruption.stopping(stop):
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if interruption.fired and task.cancelled() and (current is None or current.cancelling() == 0):
                return None
            raise


def junit_interrupted(path: Path, message: str) -> None:
    """Add an errored test case naming the interruption to a JUnit file (written one if pytest left none), so CI never shows a stopped run green."""
    from xml.etree import ElementTree as ET

    try:
        tree = ET.parse(path)
        root = tree.getroot()
    except (OSError, ET.ParseError):
        root = ET.Element("testsuites")
        tree = ET.ElementTree(root)
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    if suite is None:
        suite = ET.SubElement(root, "testsuite", {"name": "anthropic-conformance", "tests": "0", "errors": "0", "failures": "0", "skipped": "0"})
    case = ET.SubElement(suite, "testcase", {"classname": "anthropic-conformance", "name": "run-interrupted", "time": "0"})
    ET.SubElement(case, "error", {"message": message, "type": "interrupted"}).text = message
    for key in ("tests", "errors"):
        suite.set(key, str(int(suite.get(key, "0")) + 1))
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tree.write(path, encoding="utf-8", xml_declaration=True)


def stopped_line(interruption: Interruption, run_dir: Path) -> str:
    """The one line an interrupted run ends with (what it left unjudged, where the partial results are); the JUnit file gets its errored case."""
    import json

    junit_interrupted(run_dir / "junit.xml", f"{interruption.describe()}: the results are partial")
    try:
        document = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"{interruption.describe()}; no results were written"
    if document.get("complete", True):  # the signal came after every verdict was written
        return f"{interruption.describe()}; results in {run_dir}"
    unjudged = document["interrupted"]["not_judged"]
    return f'{interruption.describe()}: {unjudged} of {len(document["results"])} cases not judged; partial results ("complete": false) in {run_dir / "report.html"}'
