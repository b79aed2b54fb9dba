"""Faults of structured outputs and refusals (issue 13): a gateway that drops output_config.format or strict, or hides a refusal.

Each is a deviation a real gateway showed, with its public source. Request rewrites, body and event
rewrites only; the faithful app never learns it is wrapped.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

from conformance._types import JSON
from conformance.reference.fault import Fault
from conformance.reference.fault import plain_fault as _fault
from conformance.reference.rewrite import (
    EventOut,
    Wrapper,
    compose,
    edit_body,
    event,
    rewrite_events,
    rewrite_json_response,
)


def _drop_output_format(body: dict[str, JSON]) -> None:
    config = body.get("output_config")
    if isinstance(config, dict) and "format" in config:
        rest = {k: v for k, v in config.items() if k != "format"}
        if rest:
            body["output_config"] = rest
        else:
            del body["output_config"]


def _drop_strict(body: dict[str, JSON]) -> None:
    tools = body.get("tools")
    if isinstance(tools, list):
        body["tools"] = [{k: v for k, v in t.items() if k != "strict"} if isinstance(t, dict) else t for t in tools]


def _refusal_as_end_turn(target: dict[str, JSON]) -> None:
    if target.get("stop_reason") == "refusal":
        target["stop_reason"] = "end_turn"
        target["stop_details"] = None


def _drop_stop_details(target: dict[str, JSON]) -> None:
    if target.get("stop_reason") == "refusal":
        target.pop("stop_details", None)


def _both(fn: Callable[[dict[str, JSON]], None]) -> Wrapper:
    """The same edit on a non-stream Message and on the message_delta's delta."""

    def body(status: int, data: JSON) -> JSON:
        if status == 200 and isinstance(data, dict) and data.get("type") == "message":
            data = copy.deepcopy(data)
            fn(data)
        return data

    def stream(name: str | None, data: JSON) -> Iterable[EventOut]:
        delta = data.get("delta") if isinstance(data, dict) and data.get("type") == "message_delta" else None
        if isinstance(delta, dict):
            data = copy.deepcopy(data)
            fn(data["delta"])
        return [event(name, data)]

    return compose(rewrite_json_response(body), rewrite_events(stream))


FAULTS: tuple[Fault, ...] = (
    _fault("output-format-dropped",
           ["structured.output_format_honoured"],
           "https://github.com/NVIDIA-NeMo/Switchyard/issues/452 (/v1/messages drops output_format / json_schema: 200, no warning); "
           "https://github.com/askalf/dario/pull/583 (output_config rebuilt with effort only, the schema dropped: the model answers in prose)",
           "output_config.format is dropped on the way: the model answers the prompt in prose, 200.",
           edit_body(_drop_output_format)),
    _fault("strict-dropped",
           ["structured.strict_tool_input_valid", "tools.input_matches_schema"],
           "https://github.com/lidge-jun/opencodex/issues/5210 (Messages to Messages: tools rebuilt without strict); "
           "https://github.com/router-for-me/CLIProxyAPI/issues/5958 (tool strict deleted or never copied: \"the caller has no way to know the tool is no longer validated\")",
           "strict is removed from every tool definition: an unconstrained model writes the values the prompt spells out, outside the schema.",
           edit_body(_drop_strict)),
    _fault("refusal-as-end-turn",
           ["stop_reason.refusal_reported"],
           "https://github.com/BerriAI/litellm/issues/40857 (a content-filtered turn arrives on /v1/messages as stop_reason end_turn); "
           "https://github.com/router-for-me/CLIProxyAPI/issues/4958 (a refusal translated to an ordinary stop, category and explanation discarded)",
           "stop_reason refusal is reported as end_turn with stop_details null, streamed or not.",
           _both(_refusal_as_end_turn)),
    _fault("refusal-details-dropped",
           ["stop_reason.refusal_details_present"],
           "https://github.com/brightwave-inc/tidebreak/issues/555 (stop_details, the refusal category, not read: the user sees no explanation); "
           "https://github.com/router-for-me/CLIProxyAPI/issues/4958 (the refusal's category and explanation discarded)",
           "stop_details is dropped from refusals (stop_reason refusal kept), streamed or not.",
           _both(_drop_stop_details)),
)
