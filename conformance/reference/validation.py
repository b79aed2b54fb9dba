"""Body validation for POST /v1/messages and /v1/messages/count_tokens.

Owns the order of body checks (JSON → shape → model lookup → model rules → conversation rules), the
per-endpoint field tables and the normalised `MessagesRequest`. Headers are checked earlier by
`headers.py`; generation happens later in `toy_model.py`. Knows nothing about HTTP or ASGI.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from conformance._types import JSONObject
from conformance.reference import content, effort, prompt_cache, server_tools, shapes, structured, tool_rules
from conformance.reference.api_error import ApiError, ErrorType, invalid
from conformance.reference.headers import ApiVersion
from conformance.reference.models import ModelFacts, SamplingPolicy, lookup
from conformance.reference.shapes import Check, Problem, at

MAX_BODY_BYTES = 32 * 1024 * 1024
SAMPLING_FIELDS = ("temperature", "top_p", "top_k")


class Endpoint(Enum):
    """The two body-carrying endpoints; they share most rules but not the field table."""

    MESSAGES = "/v1/messages"
    COUNT_TOKENS = "/v1/messages/count_tokens"


@dataclass(frozen=True, slots=True)
class MessagesRequest:
    """A request that passed validation, reduced to what generation and the response need."""

    model: ModelFacts
    requested_model: str
    messages: tuple[JSONObject, ...]
    system: object
    tools: tuple[object, ...]
    max_tokens: int
    stop_sequences: tuple[str, ...]
    stream: bool
    tool_choice: object = None
    thinking: object = None
    cache_control: object = None  # top-level: a breakpoint on the last block (prompt_cache.py)
    context_management: object = None  # checked against the betas by context_edits.py
    output_config: object = None


def _system(path: str, value: object) -> Problem:
    if isinstance(value, str):
        return None
    text_block: Check = lambda p, v: shapes.object_fields(  # noqa: E731
        p,
        v,
        required={"type": shapes.one_of_literal(("text",)), "text": shapes.string},
        optional={"cache_control": shapes.nullable(shapes.obj), "citations": shapes.nullable(shapes.array)},
    )
    return shapes.list_of(text_block)(path, value)


def _metadata(path: str, value: object) -> Problem:
    user_id: Check = shapes.nullable(lambda p, v: shapes.string(p, v, max_len=256))
    return shapes.object_fields(path, value, required={}, optional={"user_id": user_id})


def _thinking(path: str, value: object) -> Problem:
    problem = shapes.obj(path, value)
    if problem or not isinstance(value, dict):
        return problem
    kinds = ("enabled", "disabled", "adaptive", "between_tools")
    problem = shapes.literal(f"{path}.type", value.get("type"), kinds)
    if problem or value["type"] != "enabled":
        return problem
    if "budget_tokens" not in value:
        return at(f"{path}.enabled.budget_tokens", shapes.FIELD_REQUIRED)
    return shapes.integer(f"{path}.enabled.budget_tokens", value["budget_tokens"], ge=1024)


def _tool_choice(path: str, value: object) -> Problem:
    problem = shapes.obj(path, value)
    if problem or not isinstance(value, dict):
        return problem
    return shapes.literal(f"{path}.type", value.get("type"), ("auto", "any", "tool", "none"))


_NULLABLE_DICT = shapes.nullable(shapes.obj)

# Fields both endpoints accept, with light checks; add a row to support a new field.
_SHARED_OPTIONAL: Mapping[str, Check] = {
    "system": _system,
    "tools": shapes.list_of(shapes.obj),
    "tool_choice": _tool_choice,
    "thinking": _thinking,
    "output_config": shapes.obj,
    "context_management": _NULLABLE_DICT,
    "cache_control": _NULLABLE_DICT,
    "speed": shapes.nullable(shapes.one_of_literal(("standard", "fast"))),
    "mcp_servers": shapes.list_of(shapes.obj),
}
_MESSAGES_ONLY: Mapping[str, Check] = {
    "metadata": _metadata,
    "stop_sequences": shapes.list_of(shapes.string),
    "stream": shapes.boolean,
    "temperature": lambda p, v: shapes.number(p, v, ge=0.0, le=1.0),
    "top_p": lambda p, v: shapes.number(p, v, ge=0.0, le=1.0),
    "top_k": lambda p, v: shapes.integer(p, v, ge=0),
    "service_tier": shapes.one_of_literal(("auto", "standard_only")),
    "container": lambda p, v: None if v is None or isinstance(v, str | dict) else shapes.string(p, v),
    "inference_geo": shapes.nullable(shapes.string),
    "diagnostics": _NULLABLE_DICT,
}
_MODEL: Check = lambda p, v: shapes.string(p, v, min_len=1, max_len=256)  # noqa: E731
_MAX_TOKENS: Check = lambda p, v: shapes.integer(p, v, ge=1)  # noqa: E731
_REQUIRED: Mapping[Endpoint, Mapping[str, Check]] = {
    Endpoint.MESSAGES: {"model": _MODEL, "max_tokens": _MAX_TOKENS, "messages": content.messages_shape},
    Endpoint.COUNT_TOKENS: {"model": _MODEL, "messages": content.messages_shape},
}


def _optional(endpoint: Endpoint, version: ApiVersion) -> Mapping[str, Check]:
    fields = dict(_SHARED_OPTIONAL)
    if endpoint is Endpoint.MESSAGES:
        fields.update(_MESSAGES_ONLY)
        if version.removes_sampling:
            for name in SAMPLING_FIELDS:
                del fields[name]
    return fields


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(raw: bytes) -> ApiError | JSONObject:
    """Decode the body; anything but a JSON object is a 400, as on the first-party API."""
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except ValueError as exc:  # UnicodeDecodeError included
        return invalid(f"The request body is not valid JSON: {exc}")
    if not isinstance(body, dict):
        return invalid("The request body must be a JSON object.")
    return body


def _shape(body: JSONObject, endpoint: Endpoint, version: ApiVersion) -> Problem:
    required, optional = _REQUIRED[endpoint], _optional(endpoint, version)
    return shapes.object_fields("", body, required=required, optional=optional)


def _sampling_problem(body: JSONObject, model: ModelFacts) -> Problem:
    if model.sampling is not SamplingPolicy.DEFAULT_ONLY:
        return None
    for name in SAMPLING_FIELDS:
        # temperature's default is 1.0; top_p/top_k have no value that counts as "unset".
        if name in body and not (name == "temperature" and body[name] == 1):
            return f"`{name}` is deprecated for this model."
    return None


def _model_problem(body: JSONObject, model: ModelFacts, endpoint: Endpoint) -> Problem:
    if endpoint is Endpoint.MESSAGES:
        if body["max_tokens"] > model.max_output_tokens:
            return (
                f"max_tokens: {body['max_tokens']} > {model.max_output_tokens}, which is the maximum "
                f"allowed number of output tokens for {model.id}"
            )
        return _sampling_problem(body, model)
    return None


def validate(body: JSONObject, *, endpoint: Endpoint, version: ApiVersion) -> ApiError | MessagesRequest:
    """Run every body rule in the API's order and return the first failure or the normalised request."""
    problem = _shape(body, endpoint, version)
    tools = tuple(body.get("tools") or ())
    problem = problem or tool_rules.tools_problem(tools) or tool_rules.tool_choice_problem(body.get("tool_choice"), tools)
    problem = problem or server_tools.definition_problem(tools) or structured.output_config_problem(body.get("output_config"))
    if problem:
        return invalid(problem)
    model = lookup(body["model"])
    if model is None:
        return ApiError(ErrorType.NOT_FOUND, f"model: {body['model']}")
    messages = tuple(body["messages"])
    problem = _model_problem(body, model, endpoint) or content.conversation_problem(
        messages, model, version=version
    )
    problem = problem or effort.problem(body.get("output_config"), model) or prompt_cache.problem(
        system=body.get("system"), tools=tools, messages=messages, top_level=body.get("cache_control")
    )
    thinking = tool_rules.thinking_type(body.get("thinking"))
    problem = (
        problem
        or tool_rules.thinking_problem(body, model, max_tokens=body.get("max_tokens"))
        or tool_rules.conversation_problem(messages, has_tools=bool(tools), thinking=thinking)
    )
    if problem:
        return invalid(problem)
    return MessagesRequest(
        model=model,
        requested_model=body["model"],
        messages=messages,
        system=body.get("system"),
        tools=tuple(body.get("tools") or ()),
        max_tokens=body.get("max_tokens", 0),
        stop_sequences=tuple(body.get("stop_sequences") or ()),
        stream=bool(body.get("stream", False)),
        tool_choice=body.get("tool_choice"),
        thinking=body.get("thinking"),
        cache_control=body.get("cache_control"),
        context_management=body.get("context_management"),
        output_config=body.get("output_config"),
    )
