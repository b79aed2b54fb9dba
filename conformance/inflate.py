"""A response body as it arrives, content-decoded in bounded steps.

httpx inflates a whole read at once, so 64 KiB of a gzip bomb would be 64 MiB in memory before the
transport's body cap could look at it; decoding here, a step at a time, lets the cap bound memory.
The transport and the proxy both read bodies through it. Knows nothing of caps or recording.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncGenerator, Iterator

import httpx

INFLATE_STEP = 1024 * 1024  # most bytes one decompression step produces


class Inflater:
    """gzip or deflate decoding in steps of at most ``INFLATE_STEP`` bytes."""

    def __init__(self, encoding: str) -> None:
        self._raw_fallback = encoding == "deflate"  # "deflate" without the zlib header, as httpx and browsers accept
        self._z = zlib.decompressobj(zlib.MAX_WBITS | 16 if encoding == "gzip" else zlib.MAX_WBITS)

    def pieces(self, data: bytes) -> Iterator[bytes]:
        """The decoded bytes of ``data``, a step at a time."""
        while data:
            try:
                out = self._z.decompress(data, INFLATE_STEP)
            except zlib.error:
                if not self._raw_fallback:
                    raise
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                out = self._z.decompress(data, INFLATE_STEP)
            self._raw_fallback = False
            data = self._z.unconsumed_tail
            if out:
                yield out

    def flush(self) -> bytes:
        """What the decoder still holds at the end of the body."""
        return self._z.flush()


async def decoded(response: httpx.Response) -> AsyncGenerator[bytes, None]:
    """The body as it arrives; gzip and deflate in bounded steps, any other encoding as httpx decodes it."""
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("gzip", "deflate"):
        async for piece in response.aiter_bytes():
            yield piece
        return
    inflater = Inflater(encoding)
    async for raw in response.aiter_raw():
        for piece in inflater.pieces(raw):
            yield piece
    tail = inflater.flush()
    if tail:
        yield tail
