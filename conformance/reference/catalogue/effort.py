"""Effort and context-management deviations of real gateways, each a small wrapper around the faithful app (issue 13).

output_config.effort dropped on the way (the answer then runs at the default effort, and nothing says so)
or answered with a 5xx; context_management dropped with its beta (no edit applied, none reported), or its
report moved out of the place the beta SDK reads it in a stream. Deviation numbers refer to peers.md §4.6.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from conformance._types import JSON, JSONObject
from conformance.reference.fault import Fault
from conformance.reference.fault import plain_fault as _fault
from conformance.reference.rewrite import (
    EventOut,
    RequestView,
    edit_body,
    event,
    refuse_request,
    rewrite_events,
    rewrite_request,
)

PEERS = "peers.md §4.6"
CONTEXT_BETA = "context-management-2025-06-27"


def _drop_effort(body: JSONObject) -> None:
    config = body.get("output_config")
    if isinstance(config, dict) and "effort" in config:
        rest = {k: v for k, v in config.items() if k != "effort"}
        if rest:
            body["output_config"] = rest
        else:
            del body["output_config"]


def _effort_500(view: RequestView) -> tuple[int, str, str] | None:
    config = view.body.get("output_config") if isinstance(view.body, dict) else None
    effort = config.get("effort") if isinstance(config, dict) else None
    if view.path.rstrip("/") == "/v1/messages" and isinstance(effort, str):
        return 500, "api_error", f"Unexpected reasoning effort {effort}. Supported types are xhigh (default), medium, and low."
    return None


def _drop_context_management(view: RequestView) -> RequestView:
    """A gateway that knows neither the beta nor the field: both go before the request leaves."""
    if view.path.rstrip("/") != "/v1/messages" or not isinstance(view.body, dict):
        return view
    headers = []
    for name, value in view.headers:
        if name == "anthropic-beta":
            kept = ",".join(b for b in (part.strip() for part in value.split(",")) if b and b != CONTEXT_BETA)
            if not kept:
                continue
            value = kept
        headers.append((name, value))
    body = copy.deepcopy(view.body)
    body.pop("context_management", None)
    return RequestView(view.method, view.path, tuple(headers), body, view.query)


def _report_inside_delta(name: str | None, data: JSON) -> Iterable[EventOut]:
    """message_delta re-serialised with context_management moved into delta, where the beta SDK accumulator does not look."""
    if isinstance(data, dict) and data.get("type") == "message_delta" and "context_management" in data:
        delta = data.get("delta")
        moved = {k: v for k, v in data.items() if k != "context_management"}
        moved["delta"] = {**(delta if isinstance(delta, dict) else {}), "context_management": data["context_management"]}
        return [event(name, moved)]
    return [event(name, data)]


FAULTS: tuple[Fault, ...] = (
    _fault("effort-dropped", ["effort.level_honoured"],
           "https://github.com/BerriAI/litellm/pull/27074 (LiteLLM did not forward output_config.effort to Anthropic, Bedrock or Vertex until this fix); "
           "https://github.com/griffinmartin/opencode-claude-auth/pull/126 (a proxy stripping effort)",
           "output_config.effort is removed before the request goes upstream: every answer runs at the default effort and nothing says so.",
           edit_body(_drop_effort)),
    _fault("effort-refused-as-500", ["effort.level_honoured"],
           "https://github.com/ls1intum/edutelligence/issues/749 (an effort level answered with HTTP 500 'Unexpected reasoning effort high')",
           "Any output_config.effort is answered 500 api_error naming the backend's own effort levels: no client can act on it.",
           refuse_request(_effort_500)),
    _fault("context-management-ignored", ["context.edits_applied"],
           f"{PEERS} #19; https://github.com/Wei-Shaw/claude-relay-service/pull/666 (a relay that strips context_management so the upstream accepts Claude Code's requests)",
           "The context-management beta and the context_management field are dropped: no edit is applied and the answer reports none.",
           rewrite_request(_drop_context_management)),
    _fault("context-management-inside-delta", ["context.edits_applied"],
           f"{PEERS} #4 (message_delta re-serialised by a stream translator); the beta SDK accumulator reads message_delta.context_management at the top level "
           "(https://github.com/anthropics/anthropic-sdk-python/blob/main/src/anthropic/lib/streaming/_beta_messages.py)",
           "A stream's message_delta carries the context-management report inside delta instead of at its top level.",
           rewrite_events(_report_inside_delta)),
)
