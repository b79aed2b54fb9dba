"""Faults in why an answer stopped (stop_reason.*): OpenAI's vocabulary, max_tokens not passed on, stop sequences ignored, hidden, half-reported or left in the text, paused turns ended.

Most of them only a probe the protocol forces can show (issue 9): in front of a canned mock the suite must
still fail them, which tests/suite/test_fault_matrix.py proves against the canned-model variants too.
Deviation numbers refer to the research notes' table (peers.md §4.6).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from starlette.types import ASGIApp

from conformance._types import JSON, JSONObject
from conformance.reference.fault import Fault, fault
from conformance.reference.rewrite.edits import PEERS, edit_answer, edit_event, edit_message, inside
from conformance.reference.rewrite.request import branch_on_request, compose, edit_body
from conformance.reference.rewrite.stream import event, rewrite_events_with_state
from conformance.reference.rewrite.views import EventFn, EventOut, RequestView


def _first_stop_sequence_only(body: JSONObject) -> None:
    stops = body.get("stop_sequences")
    if isinstance(stops, list) and len(stops) > 1:
        body["stop_sequences"] = stops[:1]


def _included_stop_sequence() -> EventFn:
    held: list[tuple[str | None, JSON]] = []

    def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
        if name == "content_block_stop":
            held.append((name, data))
            return []
        if name == "content_block_start" and held:  # a later block follows: the held one was not the last
            out_early = [event(n, d) for n, d in held]
            held.clear()
            return [*out_early, event(name, data)]
        if name == "message_delta" and isinstance(data, dict):
            out: list[EventOut] = []
            marker = data["delta"].get("stop_sequence")
            for held_name, held_data in held:
                if marker and isinstance(held_data, dict):
                    out.append(event("content_block_delta", {"type": "content_block_delta", "index": held_data["index"], "delta": {"type": "text_delta", "text": marker}}))
                out.append(event(held_name, held_data))
            held.clear()
            return [*out, event(name, data)]
        return [event(name, data)]

    return rewrite


def _end_turn_as_stop(target: dict[str, JSON]) -> None:
    if target.get("stop_reason") == "end_turn":
        target["stop_reason"] = "stop"


def _hide_stop_sequence(target: dict[str, JSON]) -> None:
    if target.get("stop_reason") == "stop_sequence":
        target["stop_reason"], target["stop_sequence"] = "end_turn", None


def _append_stop_sequence(body: dict[str, JSON]) -> None:
    content, marker = body.get("content"), body.get("stop_sequence")
    if isinstance(marker, str) and isinstance(content, list) and content and isinstance(content[-1], dict):
        content[-1]["text"] = str(content[-1].get("text", "")) + marker


def _empty_stop_sequence(target: dict[str, JSON]) -> None:
    if target.get("stop_sequence") is None:
        target["stop_sequence"] = ""


def _raise_max_tokens(body: dict[str, JSON]) -> None:
    value = body.get("max_tokens")
    if isinstance(value, int) and not isinstance(value, bool):
        body["max_tokens"] = max(value, 4096)


def _every_other_time() -> Callable[[RequestView], bool]:
    """True on the 1st, 3rd, 5th… sighting of each distinct request body (so a run and its one retry differ)."""
    seen: dict[str, int] = {}

    def choose(view: RequestView) -> bool:
        key = json.dumps(view.body, sort_keys=True)
        seen[key] = seen.get(key, 0) + 1
        return seen[key] % 2 == 1

    return choose


def _flaky_stop_sequence(app: ASGIApp) -> ASGIApp:
    """Hide the stop sequence on every other sighting of a request (the counter is fresh for each app it wraps)."""
    hide = edit_answer(_hide_stop_sequence, event_kind="message_delta", key="delta")
    return branch_on_request(_every_other_time(), hide)(app)


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


def _pause_as_end_turn(target: dict[str, JSON]) -> None:
    if target.get("stop_reason") == "pause_turn":
        target["stop_reason"] = "end_turn"


FAULTS: tuple[Fault, ...] = (
    fault("first-stop-sequence-only", ["content.fired_stop_sequence_reported", "stop_reason.stop_sequence_excluded", "stop_reason.stop_sequence_reported"],
          "https://github.com/stanford-crfm/helm/pull/948 (a backend that takes at most one stop sequence); https://github.com/invergent-ai/surogate/issues/133 (competing stop strings)",
          "Only the first stop sequence is passed on, so a later one never stops the answer.",
          edit_body(_first_stop_sequence_only)),
    fault("stop-reason-stop", ["stop_reason.end_turn_on_natural_stop", "stop_reason.known_value"], f"{PEERS} #27; https://github.com/aws-samples/bedrock-access-gateway/issues/11",
          'OpenAI vocabulary leaks through: stop_reason "end_turn" is reported as "stop".', edit_answer(_end_turn_as_stop, event_kind="message_delta", key="delta")),
    fault("ignore-max-tokens", ["stop_reason.max_tokens_on_limit", "stream.length_within_max_tokens", "thinking.budget_not_below_max_tokens_rejected", "usage.output_within_max_tokens"], f"{PEERS} #21 (max_tokens not passed to the backend)",
          "max_tokens is not passed on: the backend generates until it stops by itself.", edit_body(_raise_max_tokens)),
    fault("stop-sequence-not-reported", ["content.fired_stop_sequence_reported", "stop_reason.stop_sequence_reported"], f"{PEERS} #3; https://github.com/vllm-project/vllm/pull/45807",
          "Stop sequences are enforced but reported as end_turn with stop_sequence null.", edit_answer(_hide_stop_sequence, event_kind="message_delta", key="delta")),
    fault("flaky-stop-sequence", ["content.fired_stop_sequence_reported", "stop_reason.stop_sequence_reported"],
          "https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons (behaviour a model may vary on between samples)",
          "Every other identical request reports its stop sequence as end_turn: the probe passes only on retry, which is a warning.",
          _flaky_stop_sequence),
    fault("stop-sequence-included", ["stop_reason.stop_sequence_excluded"], "https://docs.vllm.ai/en/latest/api/vllm/sampling_params.html (include_stop_str_in_output)",
          "The matched stop sequence is left at the end of the text.",
          compose(edit_message(_append_stop_sequence), rewrite_events_with_state(_included_stop_sequence))),
    fault("stop-sequence-empty-string", ["stop_reason.stop_sequence_null_otherwise"], "https://github.com/QuantumNous/new-api/issues/2975 (Go zero values leak into the envelope)",
          'stop_sequence is "" instead of null when no stop sequence matched.', edit_answer(_empty_stop_sequence, event_kind="message_delta", key="delta")),
    fault("stop-sequences-ignored",
          ["content.fired_stop_sequence_reported", "stop_reason.stop_sequence_excluded", "stop_reason.stop_sequence_reported"],
          f"{PEERS} #3; https://github.com/raullenchai/Rapid-MLX/issues/469 (stop_sequences accepted but never applied: the engine generates past them)",
          "stop_sequences are accepted but never applied: the answer runs past them and ends with end_turn.",
          edit_body(_drop_stop_sequences)),
    fault("end-turn-with-stop-sequence",
          ["stop_reason.stop_sequence_null_otherwise", "stop_reason.stop_sequence_reported"],
          "https://github.com/sgl-project/sglang/pull/33153 and https://github.com/vllm-project/vllm/pull/45807 (the matched string comes from matched_stop / stop_reason, "
          "the stop reason from finish_reason \"stop\", mapped to end_turn): a half-done mapping carries one and not the other",
          "A stop sequence is applied and named in stop_sequence, but stop_reason still says end_turn.",
          edit_answer(_stop_as_end_turn_keeping_sequence, event_kind="message_delta", key="delta")),
    fault("stream-stop-sequence-null",
          ["content.fired_stop_sequence_reported", "stop_reason.stop_sequence_reported", "stop_reason.stop_sequence_set_on_match", "stream.rebuilt_matches_twin"],
          "https://github.com/sgl-project/sglang/pull/33153 (before the fix the streaming message_delta never carried stop_sequence); "
          "https://github.com/invergent-ai/surogate/issues/133 (stop_sequence hard-coded null)",
          "Streams report stop_reason stop_sequence with stop_sequence null; non-stream answers name the sequence.",
          edit_event("message_delta", inside("delta", _drop_stop_sequence_value))),
    fault("pause-turn-as-end-turn",
          ["stop_reason.pause_turn_passed_through", "stop_reason.pause_turn_reported"],
          "https://github.com/anthropics/anthropic-sdk-csharp/issues/230 (pause_turn converted to ChatFinishReason.Stop); "
          "https://github.com/gsd-build/gsd-2/pull/2870 (pause_turn mapped to \"stop\": the paused turn ends, and the next request fails)",
          "stop_reason pause_turn is reported as end_turn, streamed or not.",
          edit_answer(_pause_as_end_turn, event_kind="message_delta", key="delta")),
)
