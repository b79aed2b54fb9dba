"""Extended-thinking deviations real gateways show, each a small wrapper around the faithful app.

Thinking survives a gateway only if the block, its signature and the way a stream delivers it
(thinking_delta pieces, one signature_delta) all pass through unchanged, and the next turn may
carry it back. Deviation numbers refer to the research notes' table (peers.md §4.6).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from conformance._types import JSON
from conformance.reference.fault import Fault, fault
from conformance.reference.rewrite.edits import PEERS, edit_content, refuse_if, request_body
from conformance.reference.rewrite.request import compose, edit_body, refuse_request, rewrite_request
from conformance.reference.rewrite.stream import event, rewrite_events, rewrite_events_with_state
from conformance.reference.rewrite.views import EventFn, EventOut, Refusal, RequestView


def _delta_type(data: JSON) -> str | None:
    delta = data.get("delta") if isinstance(data, dict) and data.get("type") == "content_block_delta" else None
    kind = delta.get("type") if isinstance(delta, dict) else None
    return kind if isinstance(kind, str) else None


def _empty_signatures(content: list[JSON]) -> list[JSON]:
    for block in content:
        if isinstance(block, dict) and block.get("type") == "thinking":
            block["signature"] = ""
    return content


def _empty_signature_delta(name: str | None, data: JSON) -> Iterable[EventOut]:
    if _delta_type(data) == "signature_delta" and isinstance(data, dict):
        data = {**data, "delta": {"type": "signature_delta", "signature": ""}}
    return [event(name, data)]


def _drop_signature_delta(name: str | None, data: JSON) -> Iterable[EventOut]:
    return [] if _delta_type(data) == "signature_delta" else [event(name, data)]


def _fold_into_text(content: list[JSON]) -> list[JSON]:
    """Reasoning as the start of the answer's text: one text block where the thinking block was."""
    out: list[JSON] = []
    for block in content:
        if isinstance(block, dict) and block.get("type") == "thinking":
            out.append({"type": "text", "text": str(block.get("thinking", ""))})
        else:
            out.append(block)
    return out


def _fold_stream_into_text() -> EventFn:
    """A thinking block streamed as a text block: thinking_delta becomes text_delta, the signature is dropped."""
    folded: set[int] = set()

    def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
        if not isinstance(data, dict):
            return [event(name, data)]
        block = data.get("content_block")
        if data.get("type") == "content_block_start" and isinstance(block, dict) and block.get("type") == "thinking":
            folded.add(int(data.get("index", -1)))
            return [event(name, {**data, "content_block": {"type": "text", "text": ""}})]
        if data.get("index") in folded and _delta_type(data) == "signature_delta":
            return []
        if data.get("index") in folded and _delta_type(data) == "thinking_delta":
            delta = data["delta"]
            assert isinstance(delta, dict)
            return [event(name, {**data, "delta": {"type": "text_delta", "text": delta.get("thinking", "")}})]
        return [event(name, data)]

    return rewrite


def _split_signature_delta(name: str | None, data: JSON) -> Iterable[EventOut]:
    """The signature in two signature_delta events, each with half of it (a proxy that re-chunks every delta)."""
    if _delta_type(data) != "signature_delta" or not isinstance(data, dict) or not isinstance(data["delta"], dict):
        return [event(name, data)]
    signature = str(data["delta"].get("signature", ""))
    half = len(signature) // 2
    return [event(name, {**data, "delta": {"type": "signature_delta", "signature": part}}) for part in (signature[:half], signature[half:])]


def _assistant_thinking(view: RequestView) -> bool:
    body = request_body(view)
    messages = body.get("messages") if body is not None else None
    for message in messages if isinstance(messages, list) else ():
        content = message.get("content") if isinstance(message, dict) and message.get("role") == "assistant" else None
        if isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "thinking" for b in content):
            return True
    return False


def _refuse_thinking(view: RequestView) -> Refusal:
    body = request_body(view)
    if body is not None and "thinking" in body:
        return 400, "invalid_request_error", "thinking: Extra inputs are not permitted"
    return None


def _refuse_adaptive(view: RequestView) -> Refusal:
    body = request_body(view)
    thinking = body.get("thinking") if body is not None else None
    if isinstance(thinking, dict) and thinking.get("type") == "adaptive":
        return 400, "invalid_request_error", "adaptive thinking is not supported on this model"
    return None


def _ignore_invalid_budget(view: RequestView) -> RequestView:
    """A budget the API would refuse is not checked: thinking is dropped and the request served."""
    body = request_body(view)
    thinking = body.get("thinking") if body is not None else None
    if body is None or not isinstance(thinking, dict) or thinking.get("type") != "enabled":
        return view
    budget, limit = thinking.get("budget_tokens"), body.get("max_tokens")
    if isinstance(budget, int) and isinstance(limit, int) and not 1024 <= budget < limit:
        del body["thinking"]
        return replace(view, body=body)
    return view


def _thinking_on(body: dict[str, JSON]) -> bool:
    thinking = body.get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")


_edit = edit_body  # a rewrite of /v1/messages bodies


def _default_budget(body: dict[str, JSON]) -> None:
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled" and "budget_tokens" not in thinking:
        thinking["budget_tokens"] = 1024
        limit = body.get("max_tokens")
        if isinstance(limit, int) and limit <= 1024:
            body["max_tokens"] = 1025


def _drop_thinking_if_forced(body: dict[str, JSON]) -> None:
    choice = body.get("tool_choice")
    if _thinking_on(body) and isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        del body["thinking"]


def _drop_sampling_if_thinking(body: dict[str, JSON]) -> None:
    if _thinking_on(body):
        for name in ("temperature", "top_k"):
            body.pop(name, None)


def _drop_thinking_if_prefilled(body: dict[str, JSON]) -> None:
    messages = body.get("messages")
    last = messages[-1] if isinstance(messages, list) and messages else None
    if _thinking_on(body) and isinstance(last, dict) and last.get("role") == "assistant":
        del body["thinking"]


FAULTS: tuple[Fault, ...] = (
    fault("thinking-signature-empty", ["thinking.round_trip_accepted", "thinking.signature_present", "thinking.stream_round_trip_accepted"], f"{PEERS} #20; https://github.com/earendil-works/pi/issues/4464",
          "Thinking blocks carry an empty signature (streamed: an empty signature_delta), so the next turn cannot send them back.",
          compose(edit_content(_empty_signatures), rewrite_events(_empty_signature_delta))),
    fault("signature-delta-missing", ["thinking.signature_present", "thinking.stream_signature_delta", "thinking.stream_round_trip_accepted"],
          f"{PEERS} #20; https://github.com/ollama/ollama/blob/main/docs/api/anthropic-compatibility.mdx (streaming deltas: no signature_delta)",
          "Streams send thinking_delta pieces but never a signature_delta.", rewrite_events(_drop_signature_delta)),
    fault("thinking-folded-into-text", ["thinking.block_present", "thinking.round_trip_accepted", "thinking.stream_round_trip_accepted"], f"{PEERS} #9; https://github.com/BerriAI/litellm/issues/33224",
          "The reasoning comes back as text: the thinking block becomes a text block and its signature is lost.",
          compose(edit_content(_fold_into_text), rewrite_events_with_state(_fold_stream_into_text))),
    fault("thinking-round-trip-rejected", ["thinking.round_trip_accepted", "thinking.stream_round_trip_accepted"], f"{PEERS} #20; https://github.com/router-for-me/CLIProxyAPI/issues/2172",
          "A thinking block sent back in the next turn is refused (the gateway re-routes it to a backend that cannot verify its signature).",
          refuse_request(refuse_if(_assistant_thinking, "messages.1.content.0: Invalid `signature` in `thinking` block"))),
    fault("thinking-not-supported", ["thinking.enabled_accepted"], "https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md (no thinking parameter)",
          "Any thinking parameter is refused as an extra input.", refuse_request(_refuse_thinking)),
    fault("adaptive-thinking-rejected", ["thinking.adaptive_accepted"], "https://github.com/openclaw/openclaw/issues/67888 (adaptive thinking unknown for a model that has it)",
          "thinking {type: adaptive} is refused for a model that offers it.", refuse_request(_refuse_adaptive), model="claude-sonnet-4-6"),
    fault("budget-tokens-not-validated", ["thinking.block_present", "thinking.budget_below_minimum_rejected", "thinking.budget_not_below_max_tokens_rejected"],
          "https://github.com/ollama/ollama/blob/main/docs/api/anthropic-compatibility.mdx (budget_tokens accepted, not enforced)",
          "budget_tokens outside [1024, max_tokens) is not refused; the request is served without thinking.", rewrite_request(_ignore_invalid_budget)),
    fault("thinking-budget-defaulted", ["thinking.budget_required"], "https://github.com/ollama/ollama/blob/main/docs/api/anthropic-compatibility.mdx (budget_tokens accepted, not enforced)",
          "thinking {type: enabled} without budget_tokens is given a budget of 1024 and served.", _edit(_default_budget)),
    fault("thinking-dropped-for-forced-tool", ["thinking.block_present", "thinking.forced_tool_choice_rejected"],
          "https://github.com/BerriAI/litellm/pull/17106 (modify_params: the thinking parameter dropped when the request cannot carry it)",
          "Extended thinking with a tool_choice that forces a tool is served with thinking silently dropped.", _edit(_drop_thinking_if_forced)),
    fault("thinking-sampling-params-dropped", ["thinking.temperature_rejected"], "https://docs.litellm.ai/docs/completion/drop_params (unsupported parameters silently dropped)",
          "With thinking on, temperature and top_k are silently dropped instead of refused.", _edit(_drop_sampling_if_thinking)),
    fault("thinking-dropped-for-prefill", ["thinking.block_present", "thinking.prefill_rejected"],
          "https://github.com/BerriAI/litellm/pull/17106 (modify_params: the thinking parameter dropped when the request cannot carry it)",
          "Extended thinking with a final assistant turn is served with thinking silently dropped, as a plain prefill.", _edit(_drop_thinking_if_prefilled)),
    fault("thinking-signature-split", ["thinking.signature_single_delta", "thinking.stream_round_trip_accepted"],
          f"{PEERS} #20 (stream translators that mangle signatures: https://github.com/router-for-me/CLIProxyAPI/issues/2172); "
          "https://github.com/anthropics/anthropic-sdk-python/blob/main/src/anthropic/lib/streaming/_messages.py (the signature is replaced, not appended)",
          "Each signature arrives in two signature_delta events of half its length; a client keeps the second half, and the next turn is refused.",
          rewrite_events(_split_signature_delta)),
)
