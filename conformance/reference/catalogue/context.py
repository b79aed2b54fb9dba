"""Context-management deviations of real gateways (context.*, issue 13): the field dropped with its beta, or its report moved.

context_management dropped with its beta means no edit is applied and none reported; a report moved out of
the place the beta SDK reads it in a stream is lost to the client. Deviation numbers refer to peers.md §4.6.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from conformance._types import JSON
from conformance.reference.fault import Fault, fault
from conformance.reference.rewrite.edits import PEERS
from conformance.reference.rewrite.request import rewrite_request
from conformance.reference.rewrite.stream import event, rewrite_events
from conformance.reference.rewrite.views import EventOut, RequestView

CONTEXT_BETA = "context-management-2025-06-27"


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
    fault("context-management-ignored", ["context.edits_applied"],
          f"{PEERS} #19; https://github.com/Wei-Shaw/claude-relay-service/pull/666 (a relay that strips context_management so the upstream accepts Claude Code's requests)",
          "The context-management beta and the context_management field are dropped: no edit is applied and the answer reports none.",
          rewrite_request(_drop_context_management)),
    fault("context-management-inside-delta", ["context.edits_applied"],
          f"{PEERS} #4 (message_delta re-serialised by a stream translator); the beta SDK accumulator reads message_delta.context_management at the top level "
          "(https://github.com/anthropics/anthropic-sdk-python/blob/main/src/anthropic/lib/streaming/_beta_messages.py)",
          "A stream's message_delta carries the context-management report inside delta instead of at its top level.",
          rewrite_events(_report_inside_delta)),
)
