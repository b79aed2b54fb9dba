"""A toy prompt cache: writes and reads by prefix at cache_control breakpoints, as the prompt-caching doc describes.

Owns the prefix walk (tools, then system, then messages: the order the API caches in), the breakpoints a
request marks (a block's cache_control, and a top-level cache_control on the last block), the model's
minimum cacheable length, the two TTLs, what one request reads and writes, and the usage counters that
follow. Knows nothing about HTTP or response bodies; the app keeps one cache per instance (one workspace).

The rules it models (https://platform.claude.com/docs/en/build-with-claude/prompt-caching):
* a breakpoint caches the whole prefix up to and including its block; a prefix shorter than the model's
  minimum is processed without caching and without an error;
* a request reads the longest cached prefix among its breakpoints and writes every longer one, each
  segment billed in the bucket of the TTL its breakpoint asks for (usage.cache_creation);
* an entry lives 5 minutes (ttl "5m", the default) or 1 hour ("1h") from its last use;
* at most 4 breakpoints, ttl one of "5m" and "1h"; input_tokens is what was neither read nor written.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from conformance._types import JSON, JSONObject
from conformance.reference import toy_model
from conformance.reference.models import ModelFacts

TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}
MAX_BREAKPOINTS = 4
CAPACITY = 4096  # entries one instance keeps; the oldest go first (a long-lived `serve` stays bounded)


@dataclass(frozen=True, slots=True)
class Breakpoint:
    """A cache_control marker: the prefix it ends (in tokens), the TTL it asks for, the prefix's identity."""

    end: int
    ttl: str
    key: str


@dataclass(frozen=True, slots=True)
class CacheUse:
    """What one request read from the cache and wrote to it, by TTL."""

    read: int = 0
    written_5m: int = 0
    written_1h: int = 0

    @property
    def written(self) -> int:
        """Every token written, whatever its TTL."""
        return self.written_5m + self.written_1h

    def usage(self, total_input: int) -> JSONObject:
        """The usage counters of a request whose whole input is ``total_input`` tokens (captures 41, 44: cached tokens are not input_tokens)."""
        return {
            "input_tokens": max(total_input - self.read - self.written, 0),
            "cache_creation_input_tokens": self.written,
            "cache_read_input_tokens": self.read,
            "cache_creation": {"ephemeral_5m_input_tokens": self.written_5m, "ephemeral_1h_input_tokens": self.written_1h},
        }


NO_CACHE = CacheUse()


def _marker(value: object) -> JSONObject | None:
    marker = value.get("cache_control") if isinstance(value, dict) else None
    return marker if isinstance(marker, dict) else None


def _ttl(marker: JSONObject) -> str:
    ttl = marker.get("ttl")
    return ttl if isinstance(ttl, str) else "5m"


def _bare(value: object) -> object:
    """A block or tool without its cache_control: the marker is not part of the cached content."""
    return {k: v for k, v in value.items() if k != "cache_control"} if isinstance(value, dict) else value


def _markers(system: object, tools: Sequence[object], messages: Sequence[JSONObject]) -> list[JSONObject]:
    found = [m for tool in tools if (m := _marker(tool)) is not None]
    if isinstance(system, list):
        found += [m for block in system if (m := _marker(block)) is not None]
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            found += [m for block in content if (m := _marker(block)) is not None]
    return found


def problem(*, system: object, tools: Sequence[object], messages: Sequence[JSONObject], top_level: object) -> str | None:
    """The API's refusal of a request's cache markers: an unknown TTL or type, more than four breakpoints; None when they are fine."""
    markers = _markers(system, tools, messages) + ([top_level] if isinstance(top_level, dict) else [])
    for marker in markers:
        if marker.get("type") != "ephemeral":
            return "cache_control.type: Input should be 'ephemeral'"
        if "ttl" in marker and marker.get("ttl") not in TTL_SECONDS:
            return "cache_control.ephemeral.ttl: Input should be '5m' or '1h'"
    if len(markers) > MAX_BREAKPOINTS:
        return f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {len(markers)}."
    return None


class _Prefix:
    """The running prefix of a request: its tokens so far and a hash of its content so far."""

    def __init__(self, model: str) -> None:
        self.tokens = 0
        self._hash = hashlib.sha256(model.encode())
        self.marks: list[Breakpoint] = []

    def add(self, item: object, tokens: int, marker: JSONObject | None = None) -> None:
        self._hash.update(json.dumps(item, ensure_ascii=False, sort_keys=True).encode())
        self.tokens += tokens
        if marker is not None:
            self.marks.append(Breakpoint(end=self.tokens, ttl=_ttl(marker), key=self._hash.hexdigest()))


def breakpoints(model: str, *, system: object, tools: Sequence[object], messages: Sequence[JSONObject], top_level: object = None) -> list[Breakpoint]:
    """Every breakpoint of a request, in prefix order; a top-level cache_control marks the last block of the last message."""
    prefix = _Prefix(model)
    for tool in tools:
        prefix.add(("tool", _bare(tool)), toy_model.tool_tokens(tool), _marker(tool))
    if isinstance(system, str):
        prefix.add(("system", system), toy_model.count_text(system))
    elif isinstance(system, list):
        for block in system:
            prefix.add(("system", _bare(block)), toy_model.block_tokens(block), _marker(block))
    automatic = top_level if isinstance(top_level, dict) else None
    for number, message in enumerate(messages):
        content = message.get("content")
        blocks: list[JSON] = [{"type": "text", "text": content}] if isinstance(content, str) else list(content) if isinstance(content, list) else []
        prefix.add(("role", message.get("role")), 0)
        for index, block in enumerate(blocks):
            last = number == len(messages) - 1 and index == len(blocks) - 1
            marker = _marker(block) or (automatic if last else None)
            prefix.add(("block", _bare(block)), toy_model.block_tokens(block), marker)
        prefix.add(("end",), toy_model.PER_MESSAGE_OVERHEAD)
    return prefix.marks


@dataclass
class _Entry:
    ttl: str
    expires: float


class PromptCache:
    """One workspace's cache: prefix identity → TTL and expiry, refreshed on every read."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, capacity: int = CAPACITY) -> None:
        self._clock = clock
        self._capacity = capacity
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def _alive(self, key: str, now: float) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None and entry.expires <= now:
            del self._entries[key]
            return None
        return entry

    def _store(self, key: str, ttl: str, now: float) -> None:
        self._entries[key] = _Entry(ttl, now + TTL_SECONDS[ttl])
        self._entries.move_to_end(key)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def use(self, model: ModelFacts, marks: Sequence[Breakpoint]) -> CacheUse:
        """Read the longest cached prefix among ``marks``, write every longer one the model can cache; what that cost."""
        now = self._clock()
        hit = -1
        for index, mark in enumerate(marks):
            if self._alive(mark.key, now) is not None:
                hit = index
        read = marks[hit].end if hit >= 0 else 0
        if hit >= 0:  # 5 minutes (or 1 hour) from the last use
            entry = self._entries[marks[hit].key]
            longest = max((entry.ttl, marks[hit].ttl), key=TTL_SECONDS.__getitem__)
            self._store(marks[hit].key, longest, now)
        written = {"5m": 0, "1h": 0}
        start = read
        for mark in marks[hit + 1 :]:
            if mark.end < model.cache_min_tokens or mark.end <= start:
                continue  # too short to cache: its tokens count with the next breakpoint that is long enough
            written[mark.ttl] += mark.end - start
            self._store(mark.key, mark.ttl, now)
            start = mark.end
        return CacheUse(read=read, written_5m=written["5m"], written_1h=written["1h"])
