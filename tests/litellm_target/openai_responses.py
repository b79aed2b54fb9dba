"""The OpenAI Responses API side of the backend: /v1/responses, which LiteLLM uses for `thinking`.

LiteLLM 1.106.2 sends an Anthropic request with `thinking: {type: enabled}` for an openai/ deployment
to /v1/responses whatever LITELLM_USE_CHAT_COMPLETIONS_URL_FOR_ANTHROPIC_MESSAGES says
(adapters/handler.py, `_route_openai_thinking_to_responses_api_if_needed`), and api.openai.com has
that route, so the backend has it too. Owns the Responses request shape (input items, instructions,
max_output_tokens, reasoning, flat function tools), the response object and its typed stream events.
Reasoning text is returned only as a summary, and only when `reasoning.summary` asks for one; the
opaque `encrypted_content` only when `include` asks for it, as api.openai.com does.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

from openai_chat import (
    MODEL,
    Answer,
    ApiError,
    check_known_fields,
    check_model,
    check_number,
    check_service_tier,
    image_error,
    invalid,
    run,
    toy_choice,
    toy_tool,
)

from conformance.reference import toy_model
from conformance.reference.toy_model import StopReason

DEFAULT_MAX_OUTPUT_TOKENS = 4096
_KNOWN_FIELDS = frozenset(
    {
        "model", "input", "instructions", "max_output_tokens", "temperature", "top_p", "tools", "tool_choice",
        "parallel_tool_calls", "reasoning", "stream", "stream_options", "store", "include", "text", "metadata",
        "user", "truncation", "previous_response_id", "service_tier", "prompt_cache_key", "safety_identifier",
        "top_logprobs", "background", "max_tool_calls", "prompt", "conversation",
    }
)


def _text_of(content: object, where: str) -> str:
    if isinstance(content, str):
        return content
    texts = []
    for index, part in enumerate(content if isinstance(content, list) else []):
        if not isinstance(part, dict):
            continue
        if part.get("type") in ("input_text", "output_text", "text") and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif part.get("type") == "input_image":
            error = image_error(part.get("image_url"), f"{where}.content[{index}].image_url")
            if error is not None:
                raise error
    return "\n".join(texts)


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The input items as chat-shaped messages (what openai_chat.run reads)."""
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    if not isinstance(items, list) or not items:
        raise ApiError(400, "Missing required parameter: 'input'.", param="input", code="missing_required_parameter")
    messages: list[dict[str, Any]] = []
    if isinstance(body.get("instructions"), str):
        messages.append({"role": "system", "content": body["instructions"]})
    for index, item in enumerate(items):
        where = f"input[{index}]"
        kind = item.get("type", "message") if isinstance(item, dict) else None
        if kind == "message" and item.get("role") in ("user", "assistant", "system", "developer"):
            messages.append({"role": item["role"], "content": _text_of(item.get("content"), where)})
        elif kind == "function_call":
            messages.append({"role": "assistant", "content": "", "tool_calls": [item]})
        elif kind == "function_call_output":
            messages.append({"role": "tool", "content": str(item.get("output", ""))})
        elif kind == "reasoning":
            continue  # earlier reasoning is context only
        else:
            raise invalid(where, f"unsupported input item {json.dumps(item)[:120]}.")
    return messages


def _limit(body: dict[str, Any]) -> int:
    value = body.get("max_output_tokens")
    if value is None:
        return DEFAULT_MAX_OUTPUT_TOKENS
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid("max_output_tokens", f"expected an integer, but got {json.dumps(value)} instead.", "invalid_type")
    if value < 16:
        raise invalid("max_output_tokens", f"integer below minimum value. Expected a value >= 16, but got {value} instead.", "integer_below_min_value")
    return value


def _reasoning(body: dict[str, Any]) -> tuple[bool, str | None]:
    reasoning = body.get("reasoning")
    if reasoning is None:
        return False, None
    if not isinstance(reasoning, dict):
        raise invalid("reasoning", "expected an object.", "invalid_type")
    effort, summary = reasoning.get("effort"), reasoning.get("summary") or reasoning.get("generate_summary")
    if effort not in (None, "none", "minimal", "low", "medium", "high"):
        raise invalid("reasoning.effort", f"unsupported value {json.dumps(effort)}.")
    if summary not in (None, "auto", "concise", "detailed"):
        raise invalid("reasoning.summary", f"unsupported value {json.dumps(summary)}.")
    return effort != "none", summary


def answer(body: object) -> Answer:
    """Validate a Responses body like api.openai.com and produce the toy model's answer."""
    if not isinstance(body, dict):
        raise ApiError(400, "We could not parse the JSON body of your request.")
    check_known_fields(body, _KNOWN_FIELDS)
    model = check_model(body, MODEL)
    messages = _messages(body)
    check_number(body, "temperature", 0, 2)
    check_number(body, "top_p", 0, 1)
    check_service_tier(body)
    raw_tools = body.get("tools") or []
    if not isinstance(raw_tools, list):
        raise invalid("tools", "expected an array.", "invalid_type")
    tools = []
    for index, tool in enumerate(raw_tools):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise invalid(f"tools[{index}]", f"unsupported tool {json.dumps(tool)[:120]}.")
        tools.append(toy_tool(tool.get("name"), tool.get("parameters"), f"tools[{index}]"))
    choice = toy_choice(body.get("tool_choice"), tools, parallel=body.get("parallel_tool_calls"))
    thinks, _ = _reasoning(body)
    result = run(messages, model=model, limit=_limit(body), tools=tools, choice=choice, reasoning=thinks)
    return Answer("resp_" + result.id.removeprefix("chatcmpl-"), result.created, result.model, result.prompt_tokens, result.generation, result.calls, result.cached_tokens)


def _reasoning_item(a: Answer, body: dict[str, Any], *, done: bool = True) -> dict[str, Any] | None:
    thought = a.generation.thought
    if thought is None:
        return None
    _, summary = _reasoning(body)
    item: dict[str, Any] = {"id": "rs_" + a.id.removeprefix("resp_"), "type": "reasoning", "summary": []}
    if summary and done:
        item["summary"] = [{"type": "summary_text", "text": thought.text}]
    if "reasoning.encrypted_content" in (body.get("include") or []):
        item["encrypted_content"] = base64.b64encode(thought.signature.encode()).decode()
    return item


def _message_item(a: Answer, *, done: bool = True) -> dict[str, Any]:
    content = [{"type": "output_text", "text": a.generation.text, "annotations": [], "logprobs": []}] if done else []
    return {"id": "msg_" + a.id.removeprefix("resp_"), "type": "message", "status": "completed" if done else "in_progress", "role": "assistant", "content": content}


def _call_items(a: Answer, *, done: bool = True) -> list[dict[str, Any]]:
    return [
        {"id": "fc_" + c.id.removeprefix("call_"), "type": "function_call", "status": "completed" if done else "in_progress", "call_id": c.id, "name": c.name, "arguments": c.input_json if done else ""}
        for c in a.calls
    ]


def _output(a: Answer, body: dict[str, Any]) -> list[dict[str, Any]]:
    reasoning = _reasoning_item(a, body)
    main = _call_items(a) if a.calls else [_message_item(a)]
    return ([reasoning] if reasoning else []) + main


def response(a: Answer, body: dict[str, Any], *, status: str = "completed") -> dict[str, Any]:
    """The response object, as returned whole or carried by response.created / response.completed."""
    cut = a.generation.stop_reason is StopReason.MAX_TOKENS
    final = status == "completed"
    reasoning_tokens = toy_model.count_text(a.generation.thought.text) if a.generation.thought else 0
    return {
        "id": a.id,
        "object": "response",
        "created_at": a.created,
        "status": ("incomplete" if cut else "completed") if final else status,
        "incomplete_details": {"reason": "max_output_tokens"} if cut and final else None,
        "error": None,
        "model": a.model,
        "output": _output(a, body) if final else [],
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "reasoning": body.get("reasoning") or {"effort": None, "summary": None},
        "usage": {
            "input_tokens": a.prompt_tokens,
            "input_tokens_details": {"cached_tokens": a.cached_tokens},
            "output_tokens": a.generation.output_tokens,
            "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
            "total_tokens": a.prompt_tokens + a.generation.output_tokens,
        } if final else None,
    }


def events(a: Answer, body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The typed stream events, in api.openai.com's order; `sequence_number` is added by the framing."""
    yield "response.created", {"response": response(a, body, status="in_progress")}
    yield "response.in_progress", {"response": response(a, body, status="in_progress")}
    index = 0
    reasoning = _reasoning_item(a, body)
    if reasoning is not None:
        yield "response.output_item.added", {"output_index": index, "item": {**reasoning, "summary": []}}
        if reasoning["summary"]:
            text = reasoning["summary"][0]["text"]
            ids = {"item_id": reasoning["id"], "output_index": index, "summary_index": 0}
            yield "response.reasoning_summary_part.added", {**ids, "part": {"type": "summary_text", "text": ""}}
            for piece in toy_model.tokenize(text):
                yield "response.reasoning_summary_text.delta", {**ids, "delta": piece}
            yield "response.reasoning_summary_text.done", {**ids, "text": text}
            yield "response.reasoning_summary_part.done", {**ids, "part": {"type": "summary_text", "text": text}}
        yield "response.output_item.done", {"output_index": index, "item": reasoning}
        index += 1
    if a.calls:
        for started, finished in zip(_call_items(a, done=False), _call_items(a), strict=True):
            yield "response.output_item.added", {"output_index": index, "item": started}
            for start in range(0, len(finished["arguments"]), 8):
                yield "response.function_call_arguments.delta", {"item_id": started["id"], "output_index": index, "delta": finished["arguments"][start : start + 8]}
            yield "response.function_call_arguments.done", {"item_id": started["id"], "output_index": index, "arguments": finished["arguments"]}
            yield "response.output_item.done", {"output_index": index, "item": finished}
            index += 1
    else:
        started, finished = _message_item(a, done=False), _message_item(a)
        ids = {"item_id": started["id"], "output_index": index, "content_index": 0}
        yield "response.output_item.added", {"output_index": index, "item": started}
        yield "response.content_part.added", {**ids, "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}}
        for piece in a.generation.pieces:
            yield "response.output_text.delta", {**ids, "delta": piece, "logprobs": []}
        yield "response.output_text.done", {**ids, "text": a.generation.text, "logprobs": []}
        yield "response.content_part.done", {**ids, "part": finished["content"][0]}
        yield "response.output_item.done", {"output_index": index, "item": finished}
    final = response(a, body)
    yield ("response.incomplete" if final["status"] == "incomplete" else "response.completed"), {"response": final}
