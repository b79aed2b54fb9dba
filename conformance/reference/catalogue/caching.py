"""Prompt-caching deviations of real gateways, each a small wrapper around the faithful app (issue 13).

What a gateway does to cache_control on the way, and what it does to the cache counters on the way back:
dropped markers (every turn then pays the full input price), a TTL dropped or rewritten (a 1h prefix
re-written every five minutes, or every write billed at 2x), a breakdown by TTL that no longer adds up,
and cache reads missing from where a stream starts its usage. Deviation numbers refer to peers.md §4.6.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from conformance._types import JSON, JSONObject
from conformance.reference.fault import Fault, fault
from conformance.reference.rewrite.edits import PEERS
from conformance.reference.rewrite.request import edit_body
from conformance.reference.rewrite.response import rewrite_json_response
from conformance.reference.rewrite.stream import event, rewrite_events
from conformance.reference.rewrite.views import EventOut


def _marked(body: JSONObject) -> Iterator[JSONObject]:
    """Every object of a request that carries cache_control: tools, system blocks, message blocks, the body itself."""
    groups: list[JSON] = [body.get("tools"), body.get("system")]
    messages = body.get("messages")
    groups += [m.get("content") for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []
    for group in groups:
        for item in group if isinstance(group, list) else ():
            if isinstance(item, dict) and isinstance(item.get("cache_control"), dict):
                yield item
    if isinstance(body.get("cache_control"), dict):
        yield body


def _strip_cache_control(body: JSONObject) -> None:
    for item in list(_marked(body)):
        del item["cache_control"]


def _set_ttl(ttl: str | None) -> Callable[[JSONObject], None]:
    def rewrite(body: JSONObject) -> None:
        for item in _marked(body):
            marker = dict(item["cache_control"])
            if ttl is None:
                marker.pop("ttl", None)
            else:
                marker["ttl"] = ttl
            item["cache_control"] = marker

    return rewrite


def _zero_breakdown(usage: JSON) -> None:
    if isinstance(usage, dict) and isinstance(usage.get("cache_creation"), dict):
        usage["cache_creation"] = {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}


def _breakdown_zeroed_body(status: int, body: JSON) -> JSON:
    if status == 200 and isinstance(body, dict):
        _zero_breakdown(body.get("usage"))
    return body


def _breakdown_zeroed_event(name: str | None, data: JSON) -> Iterable[EventOut]:
    message = data.get("message") if isinstance(data, dict) and data.get("type") == "message_start" else None
    if isinstance(message, dict):
        _zero_breakdown(message.get("usage"))
    return [event(name, data)]


def _no_cache_at_start(name: str | None, data: JSON) -> Iterable[EventOut]:
    """message_start's cache counters as a stream translator knows them before the upstream's usage arrives: zero."""
    message = data.get("message") if isinstance(data, dict) and data.get("type") == "message_start" else None
    usage = message.get("usage") if isinstance(message, dict) else None
    if isinstance(usage, dict):
        usage["cache_read_input_tokens"] = 0
        usage["cache_creation_input_tokens"] = 0
        _zero_breakdown(usage)
    return [event(name, data)]


FAULTS: tuple[Fault, ...] = (
    fault("cache-control-stripped", ["caching.prefix_cached", "caching.read_on_repeat"],
          f"{PEERS} #7 (https://github.com/BerriAI/litellm/issues/31069); vLLM accepts cache_control and drops it "
          "(tests/entrypoints/anthropic/test_anthropic_messages_conversion.py, https://github.com/vllm-project/vllm)",
          "Every cache_control is removed before the request goes upstream: nothing is written or read, and every turn pays the full input price.",
          edit_body(_strip_cache_control)),
    fault("cache-ttl-stripped", ["caching.ttl_honoured"],
          "https://github.com/askalf/dario/pull/679 (a proxy stamped the 5-minute default where a 1-hour TTL belonged); "
          "https://github.com/anthropics/claude-code/issues/46829 (a 1h-to-5m TTL change seen only in usage.cache_creation)",
          "cache_control's ttl is dropped on the way, so a 1-hour breakpoint is written with the 5-minute default.",
          edit_body(_set_ttl(None))),
    fault("cache-ttl-upgraded", ["caching.ttl_honoured"],
          "https://github.com/anthony-chaudhary/fak/issues/1850 (a gateway that rewrites cache breakpoints to the 1-hour TTL); "
          "https://github.com/rossoctl/context-guru/pull/86 (the same, behind a size gate)",
          "Every cache_control is rewritten to ttl 1h: 5-minute writes are billed at 2x the input price instead of 1.25x.",
          edit_body(_set_ttl("1h"))),
    fault("cache-breakdown-zeroed", ["caching.breakdown_sums"],
          "https://github.com/anthropics/anthropic-sdk-java/issues/353 (cache_creation_input_tokens > 0 beside a 0/0 TTL breakdown); "
          "https://github.com/Wei-Shaw/claude-relay-service/pull/1081 (cost computed from the buckets missed the rest)",
          "usage.cache_creation is reported as 0/0 whatever was written (message and message_start).",
          lambda app: rewrite_events(_breakdown_zeroed_event)(rewrite_json_response(_breakdown_zeroed_body)(app))),
    fault("cache-read-missing-at-stream-start", ["caching.read_on_repeat"],
          f"{PEERS} #4, #6; https://github.com/BerriAI/litellm/issues/31069 (message_start reports the cache tokens as 0 with OpenAI-format upstreams)",
          "A stream's message_start reports no cache read or write; the real counters arrive only in message_delta.",
          rewrite_events(_no_cache_at_start)),
)
