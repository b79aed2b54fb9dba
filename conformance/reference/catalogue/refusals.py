"""Faults that hide a refusal (stop_reason.* of refusals, issue 13): stop_reason refusal reported as end_turn, or its stop_details dropped.

Each is a deviation a real gateway showed, with its public source; the same edit on non-stream Messages
and on the stream's message_delta.
"""

from __future__ import annotations

from conformance._types import JSON
from conformance.reference.fault import Fault, fault
from conformance.reference.rewrite.edits import edit_answer


def _refusal_as_end_turn(target: dict[str, JSON]) -> None:
    if target.get("stop_reason") == "refusal":
        target["stop_reason"] = "end_turn"
        target["stop_details"] = None


def _drop_stop_details(target: dict[str, JSON]) -> None:
    if target.get("stop_reason") == "refusal":
        target.pop("stop_details", None)


FAULTS: tuple[Fault, ...] = (
    fault("refusal-as-end-turn",
          ["stop_reason.refusal_reported"],
          "https://github.com/BerriAI/litellm/issues/40857 (a content-filtered turn arrives on /v1/messages as stop_reason end_turn); "
          "https://github.com/router-for-me/CLIProxyAPI/issues/4958 (a refusal translated to an ordinary stop, category and explanation discarded)",
          "stop_reason refusal is reported as end_turn with stop_details null, streamed or not.",
          edit_answer(_refusal_as_end_turn, event_kind="message_delta", key="delta")),
    fault("refusal-details-dropped",
          ["stop_reason.refusal_details_present"],
          "https://github.com/brightwave-inc/tidebreak/issues/555 (stop_details, the refusal category, not read: the user sees no explanation); "
          "https://github.com/router-for-me/CLIProxyAPI/issues/4958 (the refusal's category and explanation discarded)",
          "stop_details is dropped from refusals (stop_reason refusal kept), streamed or not.",
          edit_answer(_drop_stop_details, event_kind="message_delta", key="delta")),
)
