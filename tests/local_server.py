"""A throwaway asyncio server on 127.0.0.1 for transport tests that must script the bytes on the wire.

Subclasses write ``serve(reader, writer)`` for one connection; this owns the port, closes every
connection after ``serve`` returns or the peer hangs up, and cancels what still runs when the test
leaves the ``async with``. Imported as ``local_server`` (tests/ is on sys.path).
"""

from __future__ import annotations

import asyncio
from typing import Self


class LocalServer:
    """Listens on a free port of 127.0.0.1 while inside ``async with``; ``base_url`` points at it."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port: int = self._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer one connection; returning closes it."""
        raise NotImplementedError

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self.serve(reader, writer)
        except (asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError):
            pass  # the client hung up, or the test is over
        finally:
            writer.close()
            self._tasks.discard(task)
