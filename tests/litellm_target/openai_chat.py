"""The OpenAI Chat Completions side of the LiteLLM test: request validation and the toy model's answer.

Owns what an OpenAI-format server decides about a /v1/chat/completions body (which fields it knows,
which values it refuses and with what error, how `max_tokens`, `stop`, `tools` and `tool_choice`
shape the answer, what its prompt costs: images by OpenAI's own tile pricing) and the answer's
non-streamed and streamed JSON. The words come from the reference
server's toy model, so the suite's prompts ("Reply with exactly this text…", "Count from 1 to 200")
behave as on a real model; asked for `reasoning_effort`, it thinks first and returns the thought as
`reasoning_content`, the field vLLM and DeepSeek use. Structured outputs are honoured as OpenAI documents
them (https://platform.openai.com/docs/guides/structured-outputs): `response_format` json_schema makes the
text the schema's instance and a function with `strict: true` gets schema-valid arguments (the reference
server's constrained decoding, conformance/reference/structured.py), so what the suite finds about them
is the translation's doing. Knows nothing about HTTP or SSE framing (openai_backend.py does).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import secrets
import string
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import openai_cache  # beside this file, as openai_responses imports openai_chat

from conformance import media
from conformance.reference import structured, thoughts, tool_calls, toy_model
from conformance.reference.tool_calls import ToolCall
from conformance.reference.toy_model import Generation, StopReason

MODEL = "toy-chat-1"
DEFAULT_MAX_TOKENS = 4096
_ALPHABET = string.ascii_letters + string.digits
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
# The request fields api.openai.com documents for chat completions; it refuses any other
# ("Unrecognized request argument supplied: <name>"), so a translation layer that leaks an
# Anthropic-only field shows up here as it would upstream.
_KNOWN_FIELDS = frozenset(
    {
        "model", "messages", "max_tokens", "max_completion_tokens", "stop", "stream", "stream_options",
        "temperature", "top_p", "n", "tools", "tool_choice", "parallel_tool_calls", "user", "metadata",
        "store", "seed", "response_format", "reasoning_effort", "frequency_penalty", "presence_penalty",
        "logit_bias", "logprobs", "top_logprobs", "service_tier", "modalities", "prediction", "audio",
        "web_search_options", "prompt_cache_key", "safety_identifier", "verbosity", "functions", "function_call",
    }
)
_SERVICE_TIERS = ("auto", "default", "flex", "scale", "priority")
_REASONING_EFFORTS = ("minimal", "low", "medium", "high")
# What api.openai.com decodes in an image_url part: these formats, recognised by their bytes
# (webp: RIFF....WEBP, checked apart).
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")
_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_FINISH = {
    StopReason.END_TURN: "stop",
    StopReason.STOP_SEQUENCE: "stop",  # OpenAI's finish_reason does not say which stop fired
    StopReason.MAX_TOKENS: "length",
    StopReason.TOOL_USE: "tool_calls",
}


@dataclass(frozen=True, slots=True)
class ApiError(Exception):
    """An OpenAI error answer: status plus the {"error": {...}} body."""

    status: int
    message: str
    param: str | None = None
    code: str | None = None
    type: str = "invalid_request_error"

    def body(self) -> dict[str, Any]:
        """The JSON body api.openai.com sends with an error status."""
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


@dataclass(frozen=True, slots=True)
class Answer:
    """One completed request: the generation plus what the response needs to echo."""

    id: str
    created: int
    model: str
    prompt_tokens: int
    generation: Generation
    calls: tuple[ToolCall, ...]
    cached_tokens: int = 0  # the prefix OpenAI's automatic cache served (openai_cache.py)


def _random_id(prefix: str, length: int) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def invalid(param: str, message: str, code: str = "invalid_value") -> ApiError:
    """The 400 api.openai.com sends for one bad parameter."""
    return ApiError(400, f"Invalid '{param}': {message}", param=param, code=code)


def check_number(body: dict[str, Any], name: str, low: float, high: float) -> None:
    """A sampling number outside OpenAI's range (not Anthropic's) is refused."""
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(name, f"expected a decimal, but got {json.dumps(value)} instead.", "invalid_type")
    if not low <= value <= high:
        raise invalid(name, f"decimal out of range. Expected a value between {low:g} and {high:g}, but got {value} instead.")


def _max_tokens(body: dict[str, Any]) -> int:
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid(name, f"expected an integer, but got {json.dumps(value)} instead.", "invalid_type")
        if value < 1:
            raise invalid(name, f"integer below minimum value. Expected a value >= 1, but got {value} instead.", "integer_below_min_value")
        return value
    return DEFAULT_MAX_TOKENS


def _stops(body: dict[str, Any]) -> tuple[str, ...]:
    stop = body.get("stop")
    if stop is None:
        return ()
    stops = [stop] if isinstance(stop, str) else stop
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise invalid("stop", "expected a string or an array of strings.", "invalid_type")
    if len(stops) > 4:
        raise invalid("stop", f"array too long. Expected an array with maximum length 4, but got an array with length {len(stops)} instead.", "array_above_max_length")
    return tuple(stops)


def toy_tool(name: object, parameters: object, where: str, *, strict: object = None) -> dict[str, Any]:
    """One function tool in the toy model's shape ({name, input_schema, strict}), refused like api.openai.com does."""
    if not isinstance(name, str) or not _TOOL_NAME.match(name):
        raise invalid(f"{where}.name", f"string does not match pattern. Expected a string that matches the pattern '{_TOOL_NAME.pattern}'.")
    if parameters is None:
        parameters = {"type": "object", "properties": {}}
    if not isinstance(parameters, dict) or parameters.get("type", "object") != "object":
        kind = parameters.get("type") if isinstance(parameters, dict) else type(parameters).__name__
        raise ApiError(400, f"Invalid schema for function '{name}': schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{kind}\"'.", param=f"{where}.parameters", code="invalid_function_parameters")
    return {"name": name, "input_schema": parameters, **({"strict": True} if strict is True else {})}


def _tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's function tools in the toy model's shape."""
    tools = body.get("tools")
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise invalid("tools", "expected an array.", "invalid_type")
    converted = []
    for index, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or tool.get("type") != "function":
            raise invalid(f"tools[{index}]", "expected an object with type 'function' and a 'function' object.")
        converted.append(toy_tool(function.get("name"), function.get("parameters"), f"tools[{index}].function", strict=function.get("strict")))
    return converted


def toy_choice(choice: object, tools: list[dict[str, Any]], *, parallel: object) -> dict[str, Any]:
    """OpenAI's tool_choice ("none", "auto", "required", a named function) and parallel_tool_calls in the toy model's terms."""
    if choice is None:
        choice = "auto" if tools else "none"
    named = choice.get("name") if isinstance(choice, dict) and choice.get("type") == "function" else None
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):  # chat completions nests it
        named = choice["function"].get("name")
    if choice == "required":
        mapped: dict[str, Any] = {"type": "any"}
    elif choice in ("auto", "none"):
        mapped = {"type": choice}
    elif named is not None:
        if not any(t["name"] == named for t in tools):
            raise invalid("tool_choice", f"tool_choice names function {json.dumps(named)}, which is not in 'tools'.")
        mapped = {"type": "tool", "name": named}
    else:
        raise invalid("tool_choice", f"expected 'none', 'auto', 'required' or a function choice, but got {json.dumps(choice)} instead.")
    if parallel is False:
        mapped["disable_parallel_tool_use"] = True
    return mapped


def check_service_tier(body: dict[str, Any]) -> None:
    """OpenAI's service tiers, which are not Anthropic's ("standard_only" is refused)."""
    tier = body.get("service_tier")
    if tier is None or tier in _SERVICE_TIERS:
        return
    listed = ", ".join(f"'{t}'" for t in _SERVICE_TIERS[:-1]) + f", and '{_SERVICE_TIERS[-1]}'"
    raise ApiError(400, f"Invalid value: {json.dumps(tier)}. Supported values are: {listed}.", param="service_tier", code="invalid_value")


def _reasoning(body: dict[str, Any]) -> bool:
    """Whether to think first; this model reasons like the OpenAI-compatible servers that return reasoning_content."""
    effort = body.get("reasoning_effort")
    if effort is None or effort == "none":
        return False
    if effort not in _REASONING_EFFORTS:
        raise invalid("reasoning_effort", f"expected one of 'none', {', '.join(repr(e) for e in _REASONING_EFFORTS)}, but got {json.dumps(effort)} instead.")
    return True


def image_error(url: object, where: str) -> ApiError | None:
    """Why api.openai.com would refuse this image_url (data URLs only: a remote image is taken on trust)."""
    if not isinstance(url, str) or not url.startswith("data:"):
        return None
    header, _, payload = url.partition(",")
    media_type = header.removeprefix("data:").split(";", 1)[0].lower()
    if not media_type.startswith("image/"):
        return ApiError(400, "Invalid MIME type. Only image types are supported.", param=where, code="invalid_image_format")
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return ApiError(400, "Invalid base64 image_url.", param=where, code="invalid_image_url")
    recognised = any(data.startswith(magic) for magic in _IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
    if media_type not in _IMAGE_TYPES or not recognised:
        return ApiError(400, "You uploaded an unsupported image. Please make sure your image is in one of the following formats: ['png', 'jpeg', 'gif', 'webp'].", param=where, code="invalid_image_format")
    return None


def _image_tokens(part: dict[str, Any]) -> int | None:
    """What api.openai.com bills for an image_url part (vision guide): 85 at detail low, else 85 plus 170 per 512 px tile
    of the image fitted into 2048 x 2048, then to a shortest side of at most 768 px; None when its size cannot be read."""
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    detail = image.get("detail") if isinstance(image, dict) else None
    if not isinstance(url, str) or not url.startswith("data:"):
        return None
    try:
        size = media.image_size(base64.b64decode(url.partition(",")[2], validate=True))
    except (binascii.Error, ValueError):
        return None
    if size is None:
        return None
    if detail == "low":
        return 85
    width, height = size
    fit = min(1.0, 2048 / max(width, height))
    width, height = width * fit, height * fit
    shortest = min(1.0, 768 / min(width, height))
    width, height = width * shortest, height * shortest
    return 85 + 170 * math.ceil(width / 512) * math.ceil(height / 512)


def _prompt_tokens(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> int:
    """The toy model's count of the text, plus each image by OpenAI's own pricing (not its data URL as text)."""
    images = 0
    counted: list[dict[str, Any]] = []
    for message in messages:
        content = message.get("content")
        if not isinstance(content, list):
            counted.append(message)
            continue
        parts = []
        for part in content:
            cost = _image_tokens(part) if isinstance(part, dict) and part.get("type") == "image_url" else None
            images += cost or 0
            parts.append({"type": "image_url"} if cost is not None else part)
        counted.append({**message, "content": parts})
    return toy_model.input_tokens(system=None, messages=counted, tools=tools) + images


def _check_parts(messages: list[dict[str, Any]]) -> None:
    for index, message in enumerate(messages):
        content = message.get("content")
        for part_index, part in enumerate(content if isinstance(content, list) else []):
            if isinstance(part, dict) and part.get("type") == "image_url":
                image = part.get("image_url")
                url = image.get("url") if isinstance(image, dict) else image
                error = image_error(url, f"messages[{index}].content[{part_index}].image_url")
                if error is not None:
                    raise error


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages = body.get("messages")
    if messages is None:
        raise ApiError(400, "Missing required parameter: 'messages'.", param="messages", code="missing_required_parameter")
    if not isinstance(messages, list) or not messages:
        raise invalid("messages", "empty array. Expected an array with minimum length 1, but got an empty array instead.", "empty_array")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            role = message.get("role") if isinstance(message, dict) else None
            raise invalid(f"messages[{index}].role", f"value must be one of {sorted(_ROLES)}, got {json.dumps(role)}.")
    return messages


def _prompt(messages: list[dict[str, Any]]) -> str:
    """The latest user text; empty after a tool result, so the model then answers instead of calling again."""
    for message in reversed(messages):
        if message["role"] in ("tool", "function"):
            return ""
        if message["role"] == "user":
            return toy_model.message_text(message)
    return ""


def _calls_tokens(calls: tuple[ToolCall, ...]) -> int:
    return sum(toy_model.count_text(c.name) + toy_model.count_text(c.input_json) for c in calls)


def check_model(body: dict[str, Any], known_model: str = MODEL) -> str:
    """The model a body names, refused like api.openai.com does when it is missing or unknown."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError(400, "you must provide a model parameter", param="model", code="missing_required_parameter")
    if model != known_model:
        raise ApiError(404, f"The model `{model}` does not exist or you do not have access to it.", code="model_not_found")
    return model


def check_known_fields(body: dict[str, Any], known: frozenset[str]) -> None:
    """api.openai.com refuses a field it does not know."""
    unknown = sorted(set(body) - known)
    if unknown:
        raise ApiError(400, f"Unrecognized request argument supplied: {unknown[0]}", param=unknown[0], code="unknown_parameter")


def answer(body: object) -> Answer:
    """Validate a chat completions body like api.openai.com and produce the toy model's answer."""
    if not isinstance(body, dict):
        raise ApiError(400, "We could not parse the JSON body of your request. (HINT: the body must be a JSON object.)")
    check_known_fields(body, _KNOWN_FIELDS)
    model = check_model(body)
    messages = _messages(body)
    limit = _max_tokens(body)
    stops = _stops(body)
    check_number(body, "temperature", 0, 2)
    check_number(body, "top_p", 0, 1)
    check_service_tier(body)
    _check_parts(messages)
    tools = _tools(body)
    choice = toy_choice(body.get("tool_choice"), tools, parallel=body.get("parallel_tool_calls"))
    reply = _format_reply(body.get("response_format"))
    return run(messages, model=model, limit=limit, stops=stops, tools=tools, choice=choice, reasoning=_reasoning(body), reply=reply)


def _format_reply(response_format: object) -> str | None:
    """The text a json_schema response_format constrains the answer to (the schema's instance), None without one."""
    if response_format is None:
        return None
    spec = response_format.get("json_schema") if isinstance(response_format, dict) and response_format.get("type") == "json_schema" else None
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if isinstance(response_format, dict) and response_format.get("type") in ("text", "json_object"):
        return None
    if not isinstance(schema, dict):
        raise invalid("response_format", "expected 'text', 'json_object' or 'json_schema' with a 'json_schema.schema' object.")
    return structured.text_for(schema)


def run(
    messages: list[dict[str, Any]],
    *,
    model: str,
    limit: int,
    stops: tuple[str, ...] = (),
    tools: list[dict[str, Any]] | None = None,
    choice: dict[str, Any] | None = None,
    reasoning: bool = False,
    reply: str | None = None,
) -> Answer:
    """The toy model's turn on chat-shaped messages: a thought if asked, then tool calls or text, within ``limit``."""
    tools = tools or []
    # OpenAI names calls call_…; the toy model's own ids are Anthropic's toolu_… shape.
    chosen = tool_calls.choose(_prompt(messages), tools, choice or {"type": "none"})
    calls = tuple(ToolCall(_random_id("call_", 24), c.name, c.input) for c in chosen)
    thought = thoughts.think(_plan(calls)) if reasoning else None
    thinking_tokens = toy_model.count_text(thought.text) if thought else 0
    if thinking_tokens >= limit:  # reasoning and answer share max_tokens; no room left means no reasoning
        thought, thinking_tokens = None, 0
    room = limit - thinking_tokens
    if calls and _calls_tokens(calls) <= room:
        generation = Generation(text="", output_tokens=_calls_tokens(calls), stop_reason=StopReason.TOOL_USE, stop_sequence=None, pieces=())
    else:
        calls = ()
        turns = [{"role": "user", "content": _prompt(messages)}]
        if messages[-1]["role"] == "assistant":  # a trailing assistant message is continued, like a prefill
            turns.append(messages[-1])
        generation = toy_model.generate(turns, max_tokens=room, stop_sequences=stops, reply=reply)
    generation = replace(generation, output_tokens=generation.output_tokens + thinking_tokens, thought=thought)
    prompt_tokens = _prompt_tokens(messages, tools)
    cached = openai_cache.cached_tokens(model, tools, messages, prompt_tokens=prompt_tokens)
    return Answer(_random_id("chatcmpl-", 29), int(time.time()), model, prompt_tokens, generation, calls, cached)


def _plan(calls: tuple[ToolCall, ...]) -> str:
    if not calls:
        return "No tool is needed, so I will answer the request directly."
    return "The request needs a tool, so I will call " + " and ".join(f"{c.name} with {c.input_json}" for c in calls) + "."


def _usage(a: Answer) -> dict[str, Any]:
    out = a.generation.output_tokens
    reasoning = toy_model.count_text(a.generation.thought.text) if a.generation.thought else 0
    return {
        "prompt_tokens": a.prompt_tokens,
        "completion_tokens": out,
        "total_tokens": a.prompt_tokens + out,
        "prompt_tokens_details": {"cached_tokens": a.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": reasoning, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    }


def _wire_calls(a: Answer) -> list[dict[str, Any]]:
    return [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.input_json}} for c in a.calls]


def completion(a: Answer) -> dict[str, Any]:
    """The non-streamed chat.completion object."""
    message: dict[str, Any] = {"role": "assistant", "content": a.generation.text if not a.calls else None, "refusal": None, "annotations": []}
    if a.generation.thought is not None:
        message["reasoning_content"] = a.generation.thought.text
    if a.calls:
        message["tool_calls"] = _wire_calls(a)
    return {
        "id": a.id,
        "object": "chat.completion",
        "created": a.created,
        "model": a.model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": _FINISH[a.generation.stop_reason]}],
        "usage": _usage(a),
        "service_tier": "default",
        "system_fingerprint": "fp_toy",
    }


def chunks(a: Answer, *, include_usage: bool) -> Iterator[dict[str, Any]]:
    """The chat.completion.chunk objects of a stream, in order ([DONE] is the framing's business)."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        extra = {"usage": None} if include_usage else {}
        return {"id": a.id, "object": "chat.completion.chunk", "created": a.created, "model": a.model, "service_tier": "default", "system_fingerprint": "fp_toy", "choices": [choice], **extra}

    yield chunk({"role": "assistant", "content": "" if not a.calls else None, "refusal": None})
    if a.generation.thought is not None:
        for piece in toy_model.tokenize(a.generation.thought.text):
            yield chunk({"reasoning_content": piece})
    for piece in a.generation.pieces:
        yield chunk({"content": piece})
    for index, call in enumerate(a.calls):
        yield chunk({"tool_calls": [{"index": index, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}]})
        text = call.input_json
        for start in range(0, len(text), 8):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": text[start : start + 8]}}]})
    yield chunk({}, _FINISH[a.generation.stop_reason])
    if include_usage:
        yield {"id": a.id, "object": "chat.completion.chunk", "created": a.created, "model": a.model, "service_tier": "default", "system_fingerprint": "fp_toy", "choices": [], "usage": _usage(a)}
