"""Faults in the token counts (usage.*): zeros, negatives, a count that leaves the system prompt out, stream counts that are not cumulative.

Clients budget and bill on these numbers; each fault is a gateway that recomputes or forgets them, with its
public source; deviation numbers refer to the research notes' table (peers.md §4.6).
"""

from __future__ import annotations

from collections.abc import Iterable

from conformance._types import JSON
from conformance.reference import toy_model
from conformance.reference.fault import Fault, fault
from conformance.reference.rewrite.edits import (
    PEERS,
    edit_event,
    edit_message,
    inside,
    is_message,
    is_messages_call,
)
from conformance.reference.rewrite.request import compose, per_request
from conformance.reference.rewrite.response import rewrite_json_response
from conformance.reference.rewrite.stream import event, rewrite_events
from conformance.reference.rewrite.views import EventOut, RequestView, Wrapper


def _zero_output(status: int, body: JSON) -> JSON | bytes:
    if is_message(status, body) and isinstance(body.get("usage"), dict):
        return {**body, "usage": {**body["usage"], "output_tokens": 0}}
    return body


def _zero_output_events(name: str | None, data: JSON) -> list[tuple[str | None, str]]:
    if isinstance(data, dict) and data.get("type") == "message_delta" and isinstance(data.get("usage"), dict):
        return [event(name, {**data, "usage": {**data["usage"], "output_tokens": 0}})]
    if isinstance(data, dict) and data.get("type") == "message_start" and isinstance(data.get("message"), dict):
        message = data["message"]
        usage = message.get("usage") if isinstance(message.get("usage"), dict) else {}
        return [event(name, {**data, "message": {**message, "usage": {**usage, "output_tokens": 0}}})]
    return [event(name, data)]


def _usage_not_cumulative(name: str | None, data: JSON) -> Iterable[EventOut]:
    if not (isinstance(data, dict) and data.get("type") == "message_delta"):
        return [event(name, data)]
    total = int(data["usage"].get("output_tokens", 1))
    first = max(total - 1, 1)
    partial = {"type": "message_delta", "delta": {"stop_reason": None, "stop_sequence": None}, "usage": {"output_tokens": first}}
    last = {**data, "usage": {**data["usage"], "output_tokens": max(total - first, 1)}}
    return [event(name, partial), event(name, last)]


def _zero_start_input(message: dict[str, JSON]) -> None:
    usage = message.get("usage")
    if isinstance(usage, dict):
        usage["input_tokens"] = 0


def _negative_output(body: dict[str, JSON]) -> None:
    usage = body.get("usage")
    if isinstance(usage, dict):
        usage["output_tokens"] = int(usage["output_tokens"]) - int(usage["input_tokens"])


def _usage_without_system(view: RequestView) -> Wrapper | None:
    """Input usage recounted by the gateway from messages and tools only: the system prompt is left out of it."""
    body = view.body
    if not is_messages_call(view) or not isinstance(body, dict) or body.get("system") is None or not isinstance(body.get("messages"), list):
        return None
    short = toy_model.input_tokens(system=None, messages=body["messages"], tools=body.get("tools") or ())

    def recount(usage: JSON) -> None:
        if isinstance(usage, dict):
            usage["input_tokens"] = short

    return compose(
        edit_message(lambda message: recount(message.get("usage"))),
        edit_event("message_start", inside("message", lambda message: recount(message.get("usage")))),
    )


FAULTS: tuple[Fault, ...] = (
    fault("output-tokens-zero", ["usage.output_reaches_max_tokens", "usage.output_tokens_counted"], "../shared/research/peers.md §4.6 #6 (usage reported as zeros)",
          "output_tokens is always 0: the backend's completion count is never mapped.", compose(rewrite_json_response(_zero_output), rewrite_events(_zero_output_events))),
    fault("message-start-input-zero", ["usage.input_tokens_positive"], f"{PEERS} #6; https://github.com/mozilla-ai/any-llm/pull/1151",
          "message_start reports input_tokens 0; the real count only arrives at the end.", edit_event("message_start", inside("message", _zero_start_input))),
    fault("negative-output-tokens", ["shape.message_schema", "usage.output_reaches_max_tokens", "usage.output_tokens_counted", "usage.output_tokens_nonnegative", "usage.stream_matches_twin"], f"{PEERS} #29 (usage recomputed by the gateway)",
          "output_tokens is recomputed as total minus input and goes negative.", edit_message(_negative_output)),
    fault("usage-excludes-system", ["usage.system_prompt_counted"],
          "https://github.com/experientiallabs/experiential/pull/914 (a gateway fills usage with its own input estimate of the request); https://github.com/router-for-me/CLIProxyAPI/issues/679 (the same kind of count leaving the system prompt out)",
          "usage.input_tokens is recounted from messages and tools only, leaving the system prompt out (count_tokens still counts it).",
          per_request(_usage_without_system)),
    fault("usage-not-cumulative", ["usage.stream_cumulative", "usage.stream_matches_twin"], f"{PEERS} #4; https://github.com/sgl-project/sglang/pull/33419",
          "Each message_delta reports only the tokens since the previous one, not the running total.", rewrite_events(_usage_not_cumulative)),
)
