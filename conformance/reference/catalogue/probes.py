"""Faults only a probe the protocol forces can show (issue 9): stop sequences, prefills, tool_choice, ids, the model named.

Each is a deviation a real gateway or backend showed, with its public source. They are invisible to a
probe that needs the model's cooperation: in front of a canned mock the suite must still fail them,
which tests/suite/test_fault_matrix.py proves against the canned-model variants too. Request rewrites,
body and event rewrites only; the faithful app never learns it is wrapped.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

from conformance._types import JSON
from conformance.reference.fault import Fault
from conformance.reference.fault import plain_fault as _fault
from conformance.reference.rewrite import (
    EventOut,
    RequestView,
    Wrapper,
    compose,
    edit_body,
    event,
    per_request,
    rewrite_events,
    rewrite_events_with_state,
    rewrite_json_response,
)

EventFn = Callable[[str | None, JSON], Iterable[EventOut]]
PEERS = "peers.md §4.6"
MSG_PATH = "/v1/messages"


def _body(fn: Callable[[dict[str, JSON]], None]) -> Wrapper:
    """Rewrite a copy of every successful non-stream Message."""

    def rewrite(status: int, body: JSON) -> JSON:
        if status == 200 and isinstance(body, dict) and body.get("type") == "message":
            body = copy.deepcopy(body)
            fn(body)
        return body

    return rewrite_json_response(rewrite)


def _events(kind: str, fn: Callable[[dict[str, JSON]], None]) -> Wrapper:
    """Rewrite a copy of every stream event of type ``kind``."""

    def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
        if isinstance(data, dict) and data.get("type") == kind:
            data = copy.deepcopy(data)
            fn(data)
        return [event(name, data)]

    return rewrite_events(rewrite)


def _in(key: str, fn: Callable[[dict[str, JSON]], None]) -> Callable[[dict[str, JSON]], None]:
    """Apply ``fn`` to the object under ``key`` (message_start's message, message_delta's delta)."""

    def apply(data: dict[str, JSON]) -> None:
        inner = data.get(key)
        if isinstance(inner, dict):
            fn(inner)

    return apply


def _both(fn: Callable[[dict[str, JSON]], None], *, event_kind: str, key: str) -> Wrapper:
    """The same edit on non-stream bodies and on the stream event that carries the field."""
    return compose(_body(fn), _events(event_kind, _in(key, fn)))


# --------------------------------------------------------------------------- stop sequences


def _drop_stop_sequences(body: dict[str, JSON]) -> None:
    stops = body.get("stop_sequences")
    if isinstance(stops, list) and all(isinstance(stop, str) for stop in stops):  # validated, then never applied
        del body["stop_sequences"]


def _stop_as_end_turn_keeping_sequence(target: dict[str, JSON]) -> None:
    if target.get("stop_reason") == "stop_sequence":
        target["stop_reason"] = "end_turn"


def _drop_stop_sequence_value(target: dict[str, JSON]) -> None:
    if target.get("stop_reason") == "stop_sequence":
        target["stop_sequence"] = None


# ---------------------------------------------------------------------------------- prefill


def _prefill_of(view: RequestView) -> str | None:
    body = view.body
    messages = body.get("messages") if isinstance(body, dict) and view.path.rstrip("/") == MSG_PATH else None
    last = messages[-1] if isinstance(messages, list) and messages else None
    if not isinstance(last, dict) or last.get("role") != "assistant":
        return None
    content = last.get("content")
    if isinstance(content, list):
        content = "".join(b.get("text", "") for b in content if isinstance(b, dict) and isinstance(b.get("text"), str))
    return content if isinstance(content, str) and content else None


def _echo_prefill(view: RequestView) -> Wrapper | None:
    """Put the request's prefill back in front of the answer's first text, in the body and as the first text_delta."""
    prefill = _prefill_of(view)
    if prefill is None:
        return None

    def body(message: dict[str, JSON]) -> None:
        content = message.get("content")
        first = next((b for b in content if isinstance(b, dict) and b.get("type") == "text"), None) if isinstance(content, list) else None
        if first is not None:
            first["text"] = prefill + str(first.get("text", ""))

    def stream() -> EventFn:
        done = {"echoed": False}

        def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
            delta = data.get("delta") if isinstance(data, dict) and data.get("type") == "content_block_delta" else None
            if isinstance(data, dict) and isinstance(delta, dict) and delta.get("type") == "text_delta" and not done["echoed"]:
                done["echoed"] = True
                return [event(name, {**data, "delta": {**delta, "text": prefill}}), event(name, data)]
            return [event(name, data)]

        return rewrite

    return compose(_body(body), rewrite_events_with_state(stream))


# ------------------------------------------------------------------------------ tool_choice


def _forced_as_auto(body: dict[str, JSON]) -> None:
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        body["tool_choice"] = {key: value for key, value in choice.items() if key != "name"} | {"type": "auto"}


def _none_as_required(body: dict[str, JSON]) -> None:
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "none":
        body["tool_choice"] = {"type": "any"}


def _preamble_before_tool_use() -> EventFn:
    """Open a text block with a preamble before the first tool_use block and renumber the blocks after it."""
    state = {"shift": 0}

    def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
        if not isinstance(data, dict) or not isinstance(data.get("index"), int):
            return [event(name, data)]
        block = data.get("content_block")
        out: list[EventOut] = []
        if data.get("type") == "content_block_start" and isinstance(block, dict) and block.get("type") == "tool_use" and not state["shift"]:
            index = data["index"]
            out = [
                event("content_block_start", {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
                event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": PREAMBLE}}),
                event("content_block_stop", {"type": "content_block_stop", "index": index}),
            ]
            state["shift"] = 1
        return [*out, event(name, {**data, "index": data["index"] + state["shift"]})]

    return rewrite


PREAMBLE = "I'll use the get_weather tool for that."


def _preamble_in_body(message: dict[str, JSON]) -> None:
    content = message.get("content")
    if isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "tool_use" for b in content):
        first = next(i for i, b in enumerate(content) if isinstance(b, dict) and b.get("type") == "tool_use")
        content.insert(first, {"type": "text", "text": PREAMBLE})


# -------------------------------------------------------------------------- ids and models


CONSTANT_ID = "msg_proxy_stream"


def _constant_id(target: dict[str, JSON]) -> None:
    target["id"] = CONSTANT_ID


DEPLOYMENT_MODEL = "upstream-deployment-7b"


def _deployment_model(target: dict[str, JSON]) -> None:
    target["model"] = DEPLOYMENT_MODEL


FAULTS: tuple[Fault, ...] = (
    # ----------------------------------------------------------------------- stop sequences
    _fault("stop-sequences-ignored",
           ["content.fired_stop_sequence_reported", "stop_reason.stop_sequence_excluded", "stop_reason.stop_sequence_reported"],
           f"{PEERS} #3; https://github.com/raullenchai/Rapid-MLX/issues/469 (stop_sequences accepted but never applied: the engine generates past them)",
           "stop_sequences are accepted but never applied: the answer runs past them and ends with end_turn.",
           edit_body(_drop_stop_sequences)),
    _fault("end-turn-with-stop-sequence",
           ["stop_reason.stop_sequence_null_otherwise", "stop_reason.stop_sequence_reported"],
           "https://github.com/sgl-project/sglang/pull/33153 and https://github.com/vllm-project/vllm/pull/45807 (the matched string comes from matched_stop / stop_reason, "
           "the stop reason from finish_reason \"stop\", mapped to end_turn): a half-done mapping carries one and not the other",
           "A stop sequence is applied and named in stop_sequence, but stop_reason still says end_turn.",
           _both(_stop_as_end_turn_keeping_sequence, event_kind="message_delta", key="delta")),
    _fault("stream-stop-sequence-null",
           ["content.fired_stop_sequence_reported", "stop_reason.stop_sequence_reported", "stop_reason.stop_sequence_set_on_match", "stream.rebuilt_matches_twin"],
           "https://github.com/sgl-project/sglang/pull/33153 (before the fix the streaming message_delta never carried stop_sequence); "
           "https://github.com/invergent-ai/surogate/issues/133 (stop_sequence hard-coded null)",
           "Streams report stop_reason stop_sequence with stop_sequence null; non-stream answers name the sequence.",
           _events("message_delta", _in("delta", _drop_stop_sequence_value))),
    # ---------------------------------------------------------------------------- prefill
    _fault("prefill-echoed", ["roles.prefill_not_echoed"],
           "https://github.com/scouzi1966/maclocal-api/pull/241 (a review proposes prepending the prefill to the generated text); "
           "https://github.com/ericc-ch/copilot-api/pull/261 (the contract: the response excludes the prefill, the client stitches it back on)",
           "The answer repeats the prefill before its continuation (the prefill put back in front of the generated text), streamed or not.",
           per_request(_echo_prefill)),
    # ------------------------------------------------------------------------ tool_choice
    _fault("forced-tool-choice-as-auto",
           ["thinking.forced_tool_choice_rejected", "tools.forced_tool_called", "tools.stop_reason_tool_use", "tools.tool_choice_unknown_tool_rejected",
            "tools.tool_choice_without_name_rejected", "server_tools.code_execution_run", "server_tools.web_tools_run", "stop_reason.pause_turn_passed_through"],
           "https://github.com/hivecommons/hive/pull/1643 (an Anthropic→OpenAI proxy that did not forward tool_choice: auto by default); "
           "https://github.com/Blaizzy/mlx-vlm/issues/2000 (/v1/messages ignores a forced tool_choice)",
           "tool_choice any and tool are sent on as auto: a prompt that asks for text gets text, no tool call.",
           edit_body(_forced_as_auto)),
    _fault("tool-choice-none-as-required",
           ["tools.tool_choice_none_respected"],
           "https://github.com/mozilla-ai/any-llm/pull/1292 (a tool_choice converter that fell back to \"any\", forcing tool use the caller never asked for)",
           "tool_choice none is sent on as any (OpenAI's required): the model must call a tool it was forbidden.",
           edit_body(_none_as_required)),
    _fault("forced-tool-call-with-preamble", ["tools.no_text_before_forced_call"],
           f"{PEERS} #10 (an upstream delta carrying text and a tool call together); DOC-STR's tool example (text before a call forced with tool_choice any)",
           "A forced tool call comes after a text block with a preamble, streamed or not.",
           compose(_body(_preamble_in_body), rewrite_events_with_state(_preamble_before_tool_use))),
    # ---------------------------------------------------------------------- ids and models
    _fault("message-id-constant", ["shape.message_ids_unique"],
           "https://github.com/Accio-Lab/Dressage/issues/39 (an Anthropic proxy sends the id msg_proxy_stream in every message_start; Claude Code merges the turns)",
           "Every answer, streamed or not, carries the same message id.",
           _both(_constant_id, event_kind="message_start", key="message")),
    _fault("model-id-rewritten", ["shape.model_matches_request"],
           "https://github.com/BerriAI/litellm/pull/38691 (/v1/messages restamps the client's model only after pricing the deployment's); "
           "https://github.com/zyycn/codex-proxy-rs/issues/130 (answers naming another model than requested)",
           "Answers name the upstream deployment (upstream-deployment-7b) instead of the requested model.",
           _both(_deployment_model, event_kind="message_start", key="message")),
)
