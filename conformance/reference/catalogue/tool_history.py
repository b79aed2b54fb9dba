"""Tool-use deviations of a conversation's history: ids across answers, stop reasons, results sent back.

What an agent needs beyond one well-formed call (issue 9, rules still missing): ids that stay unique over
the whole conversation, stop_reason tool_use whenever calls are there to run, a streamed input from one
source, and the tool history it sends back (images in results, parallel results, unknown ids) reaching
the model as it was sent. Each fault is a small wrapper around the faithful app with a public source.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable

from conformance._types import JSON
from conformance.reference.fault import Fault, fault
from conformance.reference.rewrite.edits import each_item, is_message, is_messages_call, refuse_if, turns
from conformance.reference.rewrite.request import compose, edit_body, per_request, refuse_request
from conformance.reference.rewrite.response import rewrite_json_response
from conformance.reference.rewrite.stream import event, rewrite_events, rewrite_events_with_state
from conformance.reference.rewrite.views import EventFn, EventOut, RequestView, Wrapper


def _blocks(turn: JSON) -> list[dict[str, JSON]]:
    content = turn.get("content") if isinstance(turn, dict) else None
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _copy_of_message(status: int, body: JSON) -> dict[str, JSON] | None:
    """A copy of a successful non-stream Message, None for anything else."""
    return copy.deepcopy(body) if is_message(status, body) and isinstance(body, dict) else None


def _renumber_body(status: int, body: JSON) -> JSON:
    message = _copy_of_message(status, body)
    if message is None:
        return body
    calls = [b for b in _blocks(message) if b.get("type") == "tool_use"]
    for number, block in enumerate(calls):
        block["id"] = f"toolu_{number}"
    return message


def _renumber_events() -> EventFn:
    """Per answer, the tool_use blocks' ids counted from toolu_0 again."""
    count = {"next": 0}

    def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
        block = data.get("content_block") if isinstance(data, dict) and data.get("type") == "content_block_start" else None
        if isinstance(data, dict) and isinstance(block, dict) and block.get("type") == "tool_use":
            data = {**data, "content_block": {**block, "id": f"toolu_{count['next']}"}}
            count["next"] += 1
        return [event(name, data)]

    return rewrite


def _unforced_tool_call(view: RequestView) -> bool:
    body = view.body if isinstance(view.body, dict) else {}
    choice = body.get("tool_choice")
    kind = choice.get("type") if isinstance(choice, dict) else None
    return bool(body.get("tools")) and kind in (None, "auto")


def _end_turn_body(status: int, body: JSON) -> JSON:
    message = _copy_of_message(status, body)
    if message is None or message.get("stop_reason") != "tool_use":
        return body
    return {**message, "stop_reason": "end_turn"}


def _end_turn_delta(name: str | None, data: JSON) -> Iterable[EventOut]:
    delta = data.get("delta") if isinstance(data, dict) and data.get("type") == "message_delta" else None
    if isinstance(data, dict) and isinstance(delta, dict) and delta.get("stop_reason") == "tool_use":
        data = {**data, "delta": {**delta, "stop_reason": "end_turn"}}
    return [event(name, data)]


def _input_at_start_and_in_deltas() -> EventFn:
    """Hold a tool_use block's events until its stop, then send its start with the whole input, and the deltas as they were."""
    held: dict[str, JSON] = {}
    pieces: list[EventOut] = []

    def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
        if not isinstance(data, dict):
            return [event(name, data)]
        block = data.get("content_block")
        if data.get("type") == "content_block_start" and isinstance(block, dict) and block.get("type") == "tool_use":
            held.update(start=data, text="")
            pieces.clear()
            return []
        start = held.get("start")
        if not isinstance(start, dict) or data.get("index") != start.get("index"):
            return [event(name, data)]
        delta = data.get("delta")
        if data.get("type") == "content_block_delta" and isinstance(delta, dict):
            held["text"] = f"{held['text']}{delta.get('partial_json', '')}"
            pieces.append(event(name, data))
            return []
        whole = {**start, "content_block": {**start["content_block"], "input": json.loads(str(held["text"]) or "{}")}} if isinstance(start["content_block"], dict) else start
        out = [event("content_block_start", whole), *pieces, event(name, data)]
        held.clear()
        return out

    return rewrite


def _tool_results(view: RequestView) -> list[dict[str, JSON]]:
    body = view.body if is_messages_call(view) and isinstance(view.body, dict) else {}
    return [b for turn in turns(body) for b in _blocks(turn) if b.get("type") == "tool_result"]


def _image_in_result(block: dict[str, JSON]) -> bool:
    content = block.get("content")
    return isinstance(content, list) and any(isinstance(part, dict) and part.get("type") == "image" for part in content)


def _result_images(view: RequestView) -> bool:
    return any(_image_in_result(block) for block in _tool_results(view))


def _drop_result_images(body: dict[str, JSON]) -> None:
    messages = body.get("messages")
    for turn in messages if isinstance(messages, list) else ():
        for block in _blocks(turn):
            content = block.get("content")
            if block.get("type") == "tool_result" and isinstance(content, list):
                block["content"] = [part for part in content if not (isinstance(part, dict) and part.get("type") == "image")]


def _split_results(turn: JSON) -> list[JSON]:
    """A user turn with several tool_result blocks becomes one user turn per result (the text goes with the last)."""
    blocks = _blocks(turn)
    results = [b for b in blocks if b.get("type") == "tool_result"]
    if not isinstance(turn, dict) or turn.get("role") != "user" or len(results) < 2:
        return [turn]
    rest = [b for b in blocks if b.get("type") != "tool_result"]
    return [*({"role": "user", "content": [result]} for result in results[:-1]), {"role": "user", "content": [results[-1], *rest]}]


def _drop_unpaired_results(body: dict[str, JSON]) -> None:
    """A tool_result whose id names no call of the previous assistant turn is removed, as an orphan."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return
    for index, turn in enumerate(messages):
        if not isinstance(turn, dict) or turn.get("role") != "user" or not isinstance(turn.get("content"), list):
            continue
        previous = messages[index - 1] if index else None
        calls = {b.get("id") for b in _blocks(previous) if b.get("type") == "tool_use"}
        turn["content"] = [b for b in turn["content"] if not (isinstance(b, dict) and b.get("type") == "tool_result" and b.get("tool_use_id") not in calls)]


def _answers_tools(view: RequestView) -> bool:
    return bool(_tool_results(view))


_FLATTENED = "get_weather(city='Paris')"


def _flattened_body(status: int, body: JSON) -> JSON:
    message = _copy_of_message(status, body)
    if message is None:
        return body
    return {**message, "content": [{"type": "text", "text": _FLATTENED}], "stop_reason": "tool_use"}


def _flattened_events(name: str | None, data: JSON) -> Iterable[EventOut]:
    """The text blocks carry the call written out as text; the stop reason still says tool_use (no tool_use block is left)."""
    if not isinstance(data, dict):
        return [event(name, data)]
    kind, block, delta = data.get("type"), data.get("content_block"), data.get("delta")
    if kind == "content_block_start" and isinstance(block, dict) and block.get("type") == "text":
        return [event(name, data), event("content_block_delta", {"type": "content_block_delta", "index": data.get("index"), "delta": {"type": "text_delta", "text": _FLATTENED}})]
    if kind == "content_block_delta" and isinstance(delta, dict) and delta.get("type") == "text_delta":
        return []
    if kind == "message_delta" and isinstance(delta, dict):
        return [event(name, {**data, "delta": {**delta, "stop_reason": "tool_use"}})]
    return [event(name, data)]


def _flattened(stream_only: bool) -> Wrapper:
    rewrite = rewrite_events(_flattened_events) if stream_only else compose(rewrite_json_response(_flattened_body), rewrite_events(_flattened_events))
    return per_request(lambda view: rewrite if _answers_tools(view) else None)


FAULTS: tuple[Fault, ...] = (
    fault("tool-ids-per-response", ["tools.ids_unique_across_run"],
          "https://github.com/NVIDIA-NeMo/Switchyard/issues/502 (OpenAI call ids reused across turns: call_0 in every answer; agents loop)",
          "Every answer numbers its tool_use ids from toolu_0 again, so two answers of one conversation share ids.",
          compose(rewrite_json_response(_renumber_body), rewrite_events_with_state(_renumber_events))),
    fault("auto-tool-call-end-turn", ["tools.stop_reason_tool_use"],
          "https://github.com/pgEdge/pgedge-postgres-mcp/issues/217 (finish_reason of tool calls translated to end_turn); https://github.com/anthropics/claude-code/issues/16785 (calls not run)",
          "A tool call the model chose on its own (tool_choice auto) reports stop_reason end_turn; forced calls keep tool_use.",
          per_request(lambda view: compose(rewrite_json_response(_end_turn_body), rewrite_events(_end_turn_delta)) if _unforced_tool_call(view) else None)),
    fault("tool-input-start-and-deltas", ["stream.block_start_empty", "tools.stream_input_single_source"],
          "https://github.com/inflaborg/ccrelay/pull/119 (a synthetic stream that put the whole input in content_block_start, later streamed as input_json_delta too); "
          "https://github.com/vercel/ai/blob/main/packages/anthropic/src/anthropic-language-model.ts (start input and deltas concatenated)",
          "A streamed tool_use block starts with its whole input, and the input_json_delta pieces still follow.",
          rewrite_events_with_state(_input_at_start_and_in_deltas)),
    fault("tool-result-image-refused", ["tools.tool_result_image_accepted"],
          "https://github.com/CommandCodeAI/command-code/issues/850 (400 on every tool_result holding an image block, what Claude Code sends when a tool reads a screenshot)",
          "A tool_result carrying an image block is refused with 400.", refuse_request(refuse_if(_result_images, "tool result supports text children only"))),
    fault("tool-result-image-dropped", ["usage.tool_result_image_counted"],
          "https://github.com/router-for-me/CLIProxyAPI/issues/5707 (images inside tool_result silently dropped on the way to an OpenAI backend)",
          "Image blocks inside tool_result content are removed before the model sees the conversation.", edit_body(_drop_result_images)),
    fault("parallel-tool-results-split", ["tools.parallel_results_accepted"],
          "https://github.com/mlflow/mlflow/issues/24296 (consecutive tool results split into separate user messages, then refused)",
          "A user turn answering parallel calls is split into one user turn per tool_result, so the first call goes unanswered in its turn.",
          edit_body(each_item("messages", _split_results))),
    fault("tool-result-unknown-id-dropped", ["tools.tool_result_unknown_id_rejected"],
          "https://docs.litellm.ai/docs/completion/message_sanitization (modify_params: orphaned tool results are removed)",
          "A tool_result naming a call the previous turn never made is silently removed and the conversation served.", edit_body(_drop_unpaired_results)),
    fault("tool-history-flattened", ["tools.tool_use_block_present"], "issue 9 (found by hand: a tool_result turn answered as if the tool history had been flattened into text)",
          "A request carrying tool_result blocks is answered with the call written out as text and stop_reason tool_use, but no tool_use block (streamed and not).",
          _flattened(stream_only=False)),
    fault("tool-history-flattened-in-streams", ["tools.tool_use_block_present"],
          "issue 9 (found by hand); a gateway whose stream converter is separate from its plain path",
          "Like tool-history-flattened, on streams only: the plain answer to the same conversation is right.",
          _flattened(stream_only=True)),
)
