"""Prompt caching: the marked prefix is written then read, in the TTL asked, and the TTL breakdown adds up.

The failure users pay for is a gateway that accepts cache_control and drops it: every answer is right and
every turn pays the full input price. Usage is the only evidence a client has (DOC-CACHE), so it is what
these checks read: cache_creation_input_tokens and cache_read_input_tokens (cached tokens are not part of
input_tokens, captures INDEX.md observation 20), and usage.cache_creation's split by TTL. A clean refusal
(400 invalid_request_error naming cache_control) is a legal answer (_refusal.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from .._types import JSON, JSONObject
from ..cacheable import LARGEST_DOCUMENTED_MINIMUM
from ..findings import Judgement, NotApplicable, Violation, judgement
from ._refusal import clean_refusal, unclean
from .registry import check
from .subject import Subject, is_int, locate, show

PROBE = "caching.prefix"  # the first request: writes the prefix
REPEAT = "caching.repeat"  # the next turn: reads it
FIELDS = ("cache_control",)
HONOURED = "the prefix written to the cache or read from it (usage cache counters)"


def _count(usage: Mapping[str, JSON], name: str) -> int:
    value = usage.get(name)
    return value if is_int(value) else 0


def _markers(body: Mapping[str, JSON]) -> Iterator[JSONObject]:
    """Every cache_control of a request, in prefix order (tools, system, messages), the top-level one last."""
    groups: list[JSON] = [body.get("tools"), body.get("system")]
    messages = body.get("messages")
    if isinstance(messages, list):
        groups += [m.get("content") for m in messages if isinstance(m, dict)]
    for group in groups:
        if isinstance(group, list):
            for item in group:
                marker = item.get("cache_control") if isinstance(item, dict) else None
                if isinstance(marker, dict):
                    yield marker
    if isinstance(body.get("cache_control"), dict):
        top = body["cache_control"]
        assert isinstance(top, dict)
        yield top


def ttls_asked(body: Mapping[str, JSON]) -> list[str]:
    """The TTL each breakpoint asks for, in order ("5m" when a marker names none: the documented default)."""
    return [ttl if isinstance(ttl := m.get("ttl"), str) else "5m" for m in _markers(body)]


def _usage(s: Subject) -> tuple[JSONObject, str]:
    """The usage the cache counters are judged in, and where it is: message_start's for a stream, the body's otherwise."""
    if s.reading is None:
        usage = s.body().get("usage")
        if not isinstance(usage, dict):
            raise NotApplicable("no usage object (judged by the schema checks)")
        return usage, "/usage"
    for index, data in s.events():
        if data.get("type") == "message_start":
            message = data.get("message")
            usage = message.get("usage") if isinstance(message, dict) else None
            if not isinstance(usage, dict):
                raise NotApplicable("message_start has no usage (judged by stream.event_schema)")
            return usage, f"{locate(s, index)} /message/usage"
    raise s.unjudged("no message_start (judged by stream.message_start_first)")


def _refused(s: Subject) -> Judgement | None:
    """A clean refusal's judgement; None when the answer is a success (an unclean refusal is prefix_cached's finding)."""
    if s.exchange.ok:
        return None
    refusal = clean_refusal(s.exchange, FIELDS)
    if refusal is None:
        raise NotApplicable(f"status {s.exchange.status}, not a clean refusal: judged by caching.prefix_cached")
    return judgement(refusal)


def _cached(usage: Mapping[str, JSON]) -> str:
    return f"cache_creation_input_tokens {show(usage.get('cache_creation_input_tokens'))}, cache_read_input_tokens {show(usage.get('cache_read_input_tokens'))}"


@check("caching.prefix_cached")
def prefix_cached(s: Subject) -> Judgement:
    """A dropped cache_control costs every turn its full input price and says nothing: the usage is the only witness."""
    if not list(_markers(s.request_json())):
        raise NotApplicable("the request marks no cache breakpoint")
    if not s.exchange.ok:
        refusal = clean_refusal(s.exchange, FIELDS)
        return judgement(refusal) if refusal else judgement(f"status {s.exchange.status}", [unclean(s.exchange, FIELDS, honoured=HONOURED)])
    usage, at = _usage(s)
    minimum = s.facts.cache_min_tokens
    cached = _count(usage, "cache_creation_input_tokens") + _count(usage, "cache_read_input_tokens")
    item = f"{_cached(usage)} for a marked prefix of at least {minimum or LARGEST_DOCUMENTED_MINIMUM} tokens"
    if cached >= (minimum or 1):
        return judgement(item)
    wanted = f"at least {minimum} (the model's minimum cacheable length, models.yaml)" if minimum else "more than 0"
    return judgement(item, [
        Violation(
            f"Received: {_cached(usage)}\nExpected: {wanted} tokens written or read: the prefix up to the first cache_control is longer than "
            "the model's minimum cacheable length, so it is cached (a read if an earlier request cached it); nothing cached means cache_control "
            "never reached the cache, and every turn pays the full input price",
            at=at,
        )
    ])


def _delta_counters(s: Subject) -> Iterator[tuple[int, str, JSON]]:
    """(event number, counter, value) for every cache counter a message_delta carries."""
    for index, data in s.events():
        usage = data.get("usage") if data.get("type") == "message_delta" else None
        if isinstance(usage, dict):
            for name in ("cache_read_input_tokens", "cache_creation_input_tokens"):
                if name in usage and usage[name] is not None:
                    yield index, name, usage[name]


@check("caching.read_on_repeat")
def read_on_repeat(s: Subject) -> Judgement:
    """Every turn of an agent re-sends its prefix: read from the cache it costs a tenth, and the client's accounting must show it."""
    if s.scenario == PROBE:  # the first request: only its clean refusal is judged here (the repeat was then never sent)
        refused = _refused(s)
        if refused is None:
            raise NotApplicable(f"the first request of the pair, judged by caching.prefix_cached; the read is judged on {REPEAT}")
        return judgement(f"{item} (so the repeat was not sent)" for item in refused.judged)
    if not s.exchange.ok:
        refusal = clean_refusal(s.exchange, FIELDS)
        return judgement(refusal) if refusal else judgement(f"status {s.exchange.status}", [unclean(s.exchange, FIELDS, honoured="the cached prefix read")])
    first = s.peer(PROBE)
    first_usage = first.json.get("usage") if first is not None and first.ok and isinstance(first.json, dict) else None
    needed = _count(first_usage, "cache_creation_input_tokens") + _count(first_usage, "cache_read_input_tokens") if isinstance(first_usage, dict) else 0
    wanted = f"at least {needed}, what {PROBE} cached" if needed else "more than 0"
    found: list[Violation] = []
    usage, at = _usage(s)
    start = _count(usage, "cache_read_input_tokens")
    judged = [f"cache_read_input_tokens {start} in {'message_start' if s.reading is not None else 'the answer'} ({PROBE} cached {needed})"]
    if start < max(needed, 1):
        found.append(Violation(
            f"Received: cache_read_input_tokens {show(usage.get('cache_read_input_tokens'))}\nExpected: {wanted}: the next turn re-sends the cached "
            "prefix unchanged, so it is read from the cache (a stream reports it in message_start, where clients start their count)",
            at=at,
        ))
    if s.reading is not None:
        final = s.message().get("usage")
        read = _count(final, "cache_read_input_tokens") if isinstance(final, dict) else 0
        judged.append(f"cache_read_input_tokens {read} in the usage a client accumulates")
        if read < max(needed, 1) and start >= max(needed, 1):
            found.append(Violation(f"Received: cache_read_input_tokens {read} in the final usage\nExpected: {wanted}, as message_start said", at="final usage"))
        for index, name, value in _delta_counters(s):
            same = usage.get(name) if name in usage else 0
            if value != same:
                found.append(Violation(
                    f"Received: {name} {show(value)} in message_delta, {show(same)} in message_start\nExpected: the same count: message_delta repeats "
                    "message_start's input counters, and both SDK accumulators overwrite the count with the one message_delta carries",
                    at=locate(s, index),
                    event_index=index,
                ))
    return judgement(judged, found)


@check("caching.ttl_honoured")
def ttl_honoured(s: Subject) -> Judgement:
    """A 1h write costs 2x the input price and a 5m one 1.25x: the breakdown must say which one the request got."""
    refused = _refused(s)
    if refused is not None:
        return refused
    asked = ttls_asked(s.request_json())
    if not asked:
        raise NotApplicable("the request marks no cache breakpoint")
    usage, at = _usage(s)
    breakdown = usage.get("cache_creation")
    if not isinstance(breakdown, dict):
        raise NotApplicable("no usage.cache_creation breakdown (optional in the SDK's Usage), so the TTL of a write is not reported")
    five, hour = breakdown.get("ephemeral_5m_input_tokens"), breakdown.get("ephemeral_1h_input_tokens")
    written, read = usage.get("cache_creation_input_tokens"), _count(usage, "cache_read_input_tokens")
    if not (is_int(five) and is_int(hour) and is_int(written)) or five + hour != written:
        raise NotApplicable("the breakdown is incomplete or does not add up to cache_creation_input_tokens (judged by caching.breakdown_sums)")
    item = f"cache_creation {{5m: {five}, 1h: {hour}}} for breakpoints asking {', '.join(asked)}" + (f", after a read of {read}" if read else "")
    found: list[Violation] = []
    for ttl, tokens in (("5m", five), ("1h", hour)):
        if tokens and ttl not in asked:
            found.append(Violation(f"Received: {tokens} tokens written with TTL {ttl}\nExpected: none: no breakpoint asked for {ttl} (they ask {', '.join(asked)})", at=f"{at}/cache_creation"))
        elif not tokens and ttl in asked and written and not read:
            found.append(Violation(
                f"Received: cache_creation {{5m: {five}, 1h: {hour}}} for a write of the whole prefix\nExpected: tokens in the {ttl} bucket: a breakpoint asked "
                f"for ttl {ttl} and nothing was read, so its segment was written with that TTL (a TTL dropped or rewritten on the way?)",
                at=f"{at}/cache_creation",
            ))
    return judgement(item, found)


@check("caching.breakdown_sums")
def breakdown_sums(s: Subject) -> Judgement:
    """Cost tools price the buckets (1h at 2x, 5m at 1.25x): tokens outside them, or buckets beside no write, misprice the turn."""
    usage, at = _usage(s)
    breakdown = usage.get("cache_creation")
    if breakdown is None:
        raise NotApplicable("no usage.cache_creation breakdown (optional in the SDK's Usage)")
    if not isinstance(breakdown, dict):
        raise NotApplicable("usage.cache_creation is not an object (judged by the schema checks)")
    five, hour, written = breakdown.get("ephemeral_5m_input_tokens"), breakdown.get("ephemeral_1h_input_tokens"), usage.get("cache_creation_input_tokens", 0)
    if not (is_int(five) and is_int(hour) and is_int(written)):
        raise NotApplicable("a cache counter is not an integer (judged by the schema checks)")
    item = f"cache_creation {{5m: {five}, 1h: {hour}}} against cache_creation_input_tokens {written}"
    if five + hour == written:
        return judgement(item)
    return judgement(item, [
        Violation(f"Received: ephemeral_5m_input_tokens {five} + ephemeral_1h_input_tokens {hour} = {five + hour}, cache_creation_input_tokens {written}\n"
                  "Expected: equal: usage.cache_creation breaks the cache write down by TTL", at=f"{at}/cache_creation")
    ])
