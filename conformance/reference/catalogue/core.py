"""The deviations real gateways show, each as a small wrapper around the faithful app.

Every fault names what the server does wrong, where that was seen (deviation numbers refer to
the table in the project's research notes, peers.md §4.6, with a public link where there is one)
and the checks it breaks. The faithful app never learns it is wrapped; the plumbing lives in
rewrite.py. Adding a fault here adds a row to the project's fault-matrix test.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Callable, Iterable
from dataclasses import replace

from starlette.types import ASGIApp

from conformance._types import JSON, RawHeaders
from conformance.reference import toy_model
from conformance.reference.fault import Fault, FaultContext
from conformance.reference.fault import plain_fault as _fault
from conformance.reference.rewrite import (
    EventOut,
    RequestView,
    Wrapper,
    branch_on_request,
    compose,
    event,
    per_request,
    refuse_request,
    replace_error,
    rewrite_events,
    rewrite_events_with_state,
    rewrite_json_response,
    rewrite_request,
    rewrite_response_headers,
    rewrite_stream_bytes,
)

EventFn = Callable[[str | None, JSON], Iterable[EventOut]]
PEERS = "peers.md §4.6"
MSG_PATH = "/v1/messages"


def _plain(wrapper: Wrapper) -> Callable[[ASGIApp, FaultContext], ASGIApp]:
    return lambda app, _context: wrapper(app)


def _messages(view: RequestView) -> bool:
    return view.path.rstrip("/") == MSG_PATH and isinstance(view.body, dict)


def _header(headers: RawHeaders, name: str) -> str | None:
    return next((v for k, v in headers if k == name), None)


def _body(fn: Callable[[dict[str, JSON]], None]) -> Callable[[int, JSON], JSON]:
    """A rewrite of successful non-stream Message bodies (fn edits a copy in place)."""

    def rewrite(status: int, body: JSON) -> JSON:
        if status == 200 and isinstance(body, dict) and body.get("type") == "message":
            body = copy.deepcopy(body)
            fn(body)
        return body

    return rewrite


def _on(kind: str, fn: Callable[[dict[str, JSON]], None]) -> EventFn:
    """An event rewrite that edits a copy of every event of type ``kind``."""

    def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
        if isinstance(data, dict) and data.get("type") == kind:
            data = copy.deepcopy(data)
            fn(data)
        return [event(name, data)]

    return rewrite


# --------------------------------------------------------------------------- stream rewrites


def _drop_message_stop(name: str | None, data: JSON) -> Iterable[EventOut]:
    return [] if name == "message_stop" else [event(name, data)]


def _data_only(name: str | None, data: JSON) -> Iterable[EventOut]:
    return [event(None, data)]


def _done_sentinel(name: str | None, data: JSON) -> Iterable[EventOut]:
    out = [event(name, data)]
    if name == "message_stop":
        out.append((None, "[DONE]"))
    return out


def _text_keepalive(name: str | None, data: JSON) -> Iterable[EventOut]:
    out = [event(name, data)]
    if name == "message_start":
        out.append(("ping", "keep-alive"))
    return out


def _duplicate_start(name: str | None, data: JSON) -> Iterable[EventOut]:
    return [event(name, data), event(name, data)] if name == "message_start" else [event(name, data)]


def _delta_before_stop() -> EventFn:
    held: list[EventOut] = []

    def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
        if name == "content_block_stop":
            held.append(event(name, data))
            return []
        if name == "message_delta":
            out = [event(name, data), *held]
            held.clear()
            return out
        return [event(name, data)]

    return rewrite


def _block_per_chunk(*, same_index: bool) -> Callable[[], EventFn]:
    def factory() -> EventFn:
        state = {"blocks": 0, "text": True, "index": 0}

        def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
            if not isinstance(data, dict):
                return [event(name, data)]
            kind = data.get("type")
            if kind == "content_block_start":  # only text blocks are split; others (thinking, tool_use) pass, renumbered
                block = data.get("content_block")
                state["text"] = isinstance(block, dict) and block.get("type") == "text"
                if not state["text"]:
                    state["index"] = 0 if same_index else state["blocks"]
                    state["blocks"] += 1
            if kind in ("content_block_start", "content_block_delta", "content_block_stop") and not state["text"]:
                return [event(name, {**data, "index": state["index"]})]
            if kind in ("content_block_start", "content_block_stop"):
                return []  # replaced by one block per delta
            if kind == "content_block_delta":
                index = 0 if same_index else state["blocks"]
                state["blocks"] += 1
                start = {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}
                stop = {"type": "content_block_stop", "index": index}
                return [event("content_block_start", start), event(name, {**data, "index": index}), event("content_block_stop", stop)]
            return [event(name, data)]

        return rewrite

    return factory


def _thinking_in_text() -> EventFn:
    state = {"done": False}

    def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
        if isinstance(data, dict) and data.get("type") == "content_block_delta" and not state["done"]:
            state["done"] = True
            text = data["delta"].get("text", "")
            return [event(name, {**data, "delta": {"type": "thinking_delta", "thinking": text}})]
        return [event(name, data)]

    return rewrite


def _usage_not_cumulative(name: str | None, data: JSON) -> Iterable[EventOut]:
    if not (isinstance(data, dict) and data.get("type") == "message_delta"):
        return [event(name, data)]
    total = int(data["usage"].get("output_tokens", 1))
    first = max(total - 1, 1)
    partial = {"type": "message_delta", "delta": {"stop_reason": None, "stop_sequence": None}, "usage": {"output_tokens": first}}
    last = {**data, "usage": {**data["usage"], "output_tokens": max(total - first, 1)}}
    return [event(name, partial), event(name, last)]


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


def _cut_mid_message_delta(name: str | None, data: JSON) -> Iterable[EventOut]:
    if name == "message_delta":
        whole = event(name, data)[1]
        return [(name, whole[: len(whole) // 2] + "\x00CUT")]
    if name == "message_stop":
        return []
    return [event(name, data)]


def _cut_stream(chunk: bytes) -> bytes:
    marker = chunk.find(b"\x00CUT")
    return chunk if marker < 0 else chunk[:marker]


def _latin1(chunk: bytes) -> bytes:
    return chunk.decode("utf-8", errors="replace").encode("latin-1", errors="replace")


def _lossy_utf8(chunk: bytes) -> bytes:
    return chunk.decode("utf-8", errors="replace").encode("utf-8")


# ----------------------------------------------------------------------------- body rewrites


def _end_turn_as_stop(value: JSON) -> JSON:
    return "stop" if value == "end_turn" else value


def _stop_in_body(body: dict[str, JSON]) -> None:
    body["stop_reason"] = _end_turn_as_stop(body.get("stop_reason"))


def _stop_in_delta(data: dict[str, JSON]) -> None:
    delta = data["delta"]
    assert isinstance(delta, dict)
    delta["stop_reason"] = _end_turn_as_stop(delta.get("stop_reason"))


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


def _delta(fn: Callable[[dict[str, JSON]], None]) -> Callable[[dict[str, JSON]], None]:
    def apply(data: dict[str, JSON]) -> None:
        delta = data.get("delta")
        if isinstance(delta, dict):
            fn(delta)

    return apply


def _chatcmpl_id(target: dict[str, JSON]) -> None:
    target["id"] = "chatcmpl-" + str(target.get("id", "")).removeprefix("msg_")


def _start_message(fn: Callable[[dict[str, JSON]], None]) -> Callable[[dict[str, JSON]], None]:
    def apply(data: dict[str, JSON]) -> None:
        message = data.get("message")
        if isinstance(message, dict):
            fn(message)

    return apply


def _zero_start_input(message: dict[str, JSON]) -> None:
    usage = message.get("usage")
    if isinstance(usage, dict):
        usage["input_tokens"] = 0


def _negative_output(body: dict[str, JSON]) -> None:
    usage = body.get("usage")
    if isinstance(usage, dict):
        usage["output_tokens"] = int(usage["output_tokens"]) - int(usage["input_tokens"])


def _omit_null_stop_sequence(body: dict[str, JSON]) -> None:
    if body.get("stop_sequence") is None:
        body.pop("stop_sequence", None)


def _null_stop_reason(data: dict[str, JSON]) -> None:
    delta = data.get("delta")
    if isinstance(delta, dict):
        delta["stop_reason"] = None


def _drop_usage(data: dict[str, JSON]) -> None:
    data.pop("usage", None)


def _usage_without_system(view: RequestView) -> Wrapper | None:
    """Input usage recounted by the gateway from messages and tools only: the system prompt is left out of it."""
    body = view.body
    if not _messages(view) or not isinstance(body, dict) or body.get("system") is None or not isinstance(body.get("messages"), list):
        return None
    short = toy_model.input_tokens(system=None, messages=body["messages"], tools=body.get("tools") or ())

    def recount(usage: JSON) -> None:
        if isinstance(usage, dict):
            usage["input_tokens"] = short

    return compose(
        rewrite_json_response(_body(lambda message: recount(message.get("usage")))),
        rewrite_events(_on("message_start", _start_message(lambda message: recount(message.get("usage"))))),
    )


# ------------------------------------------------------------------------- request rewrites


def _accept_any_key(app: ASGIApp, context: FaultContext) -> ASGIApp:
    def swap(view: RequestView) -> RequestView:
        kept = tuple((k, v) for k, v in view.headers if k not in ("x-api-key", "authorization"))
        return replace(view, headers=(*kept, ("x-api-key", context.api_key)))

    return rewrite_request(swap)(app)


def _drop_header(name: str, *, unless: str | None = None) -> Callable[[RequestView], RequestView]:
    def rewrite(view: RequestView) -> RequestView:
        if unless is not None and _header(view.headers, unless) is not None:
            return view
        return replace(view, headers=tuple((k, v) for k, v in view.headers if k != name))

    return rewrite


def _default_version(view: RequestView) -> RequestView:
    if _header(view.headers, "anthropic-version") in ("2023-06-01", "2026-10-21"):
        return view
    kept = tuple((k, v) for k, v in view.headers if k != "anthropic-version")
    return replace(view, headers=(*kept, ("anthropic-version", "2023-06-01")))


def _edit_body(fn: Callable[[dict[str, JSON]], None]) -> Callable[[RequestView], RequestView]:
    def rewrite(view: RequestView) -> RequestView:
        if not _messages(view):
            return view
        body = copy.deepcopy(view.body)
        assert isinstance(body, dict)
        fn(body)
        return replace(view, body=body)

    return rewrite


def _default_max_tokens(body: dict[str, JSON]) -> None:
    body.setdefault("max_tokens", 4096)


def _clamp_temperature(body: dict[str, JSON]) -> None:
    value = body.get("temperature")
    if isinstance(value, int | float) and 1 < value <= 2:
        body["temperature"] = 1.0


def _clamp_max_tokens(body: dict[str, JSON]) -> None:
    value = body.get("max_tokens")
    if isinstance(value, int) and value > 64000:
        body["max_tokens"] = 64000


def _raise_max_tokens(body: dict[str, JSON]) -> None:
    value = body.get("max_tokens")
    if isinstance(value, int) and not isinstance(value, bool):
        body["max_tokens"] = max(value, 4096)


_TYPES: dict[str, tuple[type, ...]] = {
    "temperature": (int, float),
    "top_p": (int, float),
    "top_k": (int, float),
    "stop_sequences": (list,),
    "stream": (bool,),
    "metadata": (dict,),
    "system": (str, list),
}


def _drop_mistyped(body: dict[str, JSON]) -> None:
    for key, types in _TYPES.items():
        if key in body and (not isinstance(body[key], types) or (key != "stream" and isinstance(body[key], bool))):
            del body[key]


def _drop_sampling(body: dict[str, JSON]) -> None:
    for key in ("temperature", "top_p", "top_k"):
        body.pop(key, None)


def _any_role_is_user(body: dict[str, JSON]) -> None:
    for message in body.get("messages") or []:
        if isinstance(message, dict) and message.get("role") not in ("user", "assistant", "system"):
            message["role"] = "user"


# ------------------------------------------------------------------------------ refusals


def _roles(view: RequestView) -> list[JSON]:
    messages = view.body.get("messages") if isinstance(view.body, dict) else None
    return [m.get("role") for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []


def _refuse_v2026(view: RequestView) -> tuple[int, str, str] | None:
    if _header(view.headers, "anthropic-version") == "2026-10-21":
        return 400, "invalid_request_error", 'anthropic-version: "2026-10-21" is not a valid version'
    return None


def _refuse_beta(view: RequestView) -> tuple[int, str, str] | None:
    beta = _header(view.headers, "anthropic-beta")
    return (400, "invalid_request_error", f"invalid beta flag: {beta}") if beta else None


def _refuse_top_k(view: RequestView) -> tuple[int, str, str] | None:
    if _messages(view) and isinstance(view.body, dict) and "top_k" in view.body:
        return 400, "invalid_request_error", "top_k: Extra inputs are not permitted"
    return None


def _refuse_repeated_roles(view: RequestView) -> tuple[int, str, str] | None:
    roles = _roles(view)
    if any(a == b for a, b in itertools.pairwise(roles)):
        return 400, "invalid_request_error", 'messages: roles must alternate between "user" and "assistant"'
    return None


def _crash_on_system(view: RequestView) -> tuple[int, str, str] | None:
    return (500, "api_error", "Internal server error") if "system" in _roles(view) else None


def _refuse_prefill(view: RequestView) -> tuple[int, str, str] | None:
    roles = _roles(view)
    if _messages(view) and roles and roles[-1] == "assistant":
        return 400, "invalid_request_error", "This model does not support assistant message prefill. The conversation must end with a user message."
    return None


# ------------------------------------------------------------------------------ errors


def _openai_envelope(status: int, body: JSON) -> tuple[int, JSON]:
    message = body.get("error", {}).get("message", "") if isinstance(body, dict) else ""
    return status, {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}


def _fastapi_422(status: int, body: JSON) -> tuple[int, JSON] | None:
    if status != 400 or not isinstance(body, dict):
        return None
    message = body.get("error", {}).get("message", "")
    location, _, text = message.partition(": ")
    return 422, {"detail": [{"type": "value_error", "loc": ["body", *location.split(".")], "msg": text or message}]}


def _error_where(kind: str, starts: str, status: int, new_kind: str, new_message: str | None = None) -> Callable[[int, JSON], tuple[int, JSON] | None]:
    def rewrite(old_status: int, body: JSON) -> tuple[int, JSON] | None:
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and error.get("type") == kind and str(error.get("message", "")).startswith(starts):
            assert isinstance(body, dict)
            return status, {**body, "error": {"type": new_kind, "message": new_message or error["message"]}}
        return None

    return rewrite


def _all_invalid_request(status: int, body: JSON) -> tuple[int, JSON] | None:
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(body, dict):
        return status, {**body, "error": {**error, "type": "invalid_request_error"}}
    return None


def _content_type(old: str, new: str) -> Callable[[RawHeaders], RawHeaders]:
    def rewrite(headers: RawHeaders) -> RawHeaders:
        return tuple((k, new if k == "content-type" and v.startswith(old) else v) for k, v in headers)

    return rewrite


def _drop_request_id(headers: RawHeaders) -> RawHeaders:
    return tuple((k, v) for k, v in headers if k != "request-id")


def _every_other_time() -> Callable[[RequestView], bool]:
    """True on the 1st, 3rd, 5th… sighting of each distinct request body (so a run and its one retry differ)."""
    seen: dict[str, int] = {}

    def choose(view: RequestView) -> bool:
        key = json.dumps(view.body, sort_keys=True)
        seen[key] = seen.get(key, 0) + 1
        return seen[key] % 2 == 1

    return choose


def _flaky_stop_sequence(app: ASGIApp, _context: FaultContext) -> ASGIApp:
    hide = compose(rewrite_json_response(_body(_hide_stop_sequence)), rewrite_events(_on("message_delta", _delta(_hide_stop_sequence))))
    return branch_on_request(_every_other_time(), hide)(app)




FAULTS: tuple[Fault, ...] = (
    # ------------------------------------------------------------------ auth
    Fault(
        name="accepts-any-key",
        breaks=("auth.count_tokens_missing_key_rejected", "auth.missing_key_rejected", "auth.models_missing_key_rejected", "auth.wrong_bearer_rejected", "auth.wrong_key_rejected"),
        source="https://github.com/ollama/ollama/blob/main/docs/api/anthropic-compatibility.mdx (key 'required but ignored')",
        description="Missing or wrong API keys are accepted (the gateway substitutes its own upstream key).",
        wrap=_accept_any_key,
    ),
    _fault("bearer-unsupported", ["auth.bearer_accepted", "auth.bearer_scheme_case_insensitive"], "https://docs.requesty.ai/api-reference/endpoint/messages-create (x-api-key instead of Authorization: Bearer)",
           "Only x-api-key is read; a key sent as Authorization: Bearer is treated as missing.", rewrite_request(_drop_header("authorization", unless="x-api-key"))),
    _fault("x-api-key-unsupported", ["auth.x_api_key_accepted"], "https://github.com/ollama/ollama/blob/main/docs/api/anthropic-compatibility.mdx (cloud: Bearer required, x-api-key alone rejected)",
           "Only Authorization: Bearer is read; a key sent as x-api-key is treated as missing.", rewrite_request(_drop_header("x-api-key")), api_version="2026-10-21"),
    _fault("auth-failure-403", ["auth.count_tokens_missing_key_rejected", "auth.missing_key_rejected", "auth.models_missing_key_rejected", "auth.wrong_bearer_rejected", "auth.wrong_key_rejected"], f"{PEERS} #23 (wrong status mapping)",
           "A missing or invalid key is answered 403 permission_error instead of 401 authentication_error.",
           replace_error(lambda status, body: (403, {**body, "error": {**body["error"], "type": "permission_error"}}) if status == 401 else None)),
    # --------------------------------------------------------------- headers
    _fault("version-header-ignored", ["headers.version_duplicate_rejected", "headers.version_required", "headers.version_unknown_rejected"], "https://github.com/ollama/ollama/blob/main/docs/api/anthropic-compatibility.mdx (anthropic-version accepted but unused)",
           "anthropic-version is optional and unknown values are ignored (defaulted to 2023-06-01).", rewrite_request(_default_version)),
    _fault("version-2026-rejected", ["headers.known_versions_accepted"], "https://platform.claude.com/docs/en/api/migration-2026-10-21 (SDK 2.x sends 2026-10-21)",
           "Only anthropic-version 2023-06-01 is known, so every request from SDK 2.x is refused.", refuse_request(_refuse_v2026)),
    _fault("beta-header-rejected", ["headers.beta_accepted"], "https://github.com/anthropics/claude-code/issues/46105",
           "Any anthropic-beta header makes the request fail with 400 'invalid beta flag'.", refuse_request(_refuse_beta)),
    _fault("json-as-text-plain", ["headers.json_content_type"], f"{PEERS} (content-type conformance, Schemathesis check class)",
           "JSON answers are labelled text/plain.", rewrite_response_headers(_content_type("application/json", "text/plain; charset=utf-8"))),
    _fault("stream-as-json-content-type", ["headers.stream_content_type"], f"{PEERS} #14 (proxies that relabel streams)",
           "Event streams are labelled application/json.", rewrite_response_headers(_content_type("text/event-stream", "application/json"))),
    _fault("no-request-id", ["headers.request_id_present"], "https://platform.claude.com/docs/en/api/errors (request-id on every response)",
           "The request-id response header is stripped.", rewrite_response_headers(_drop_request_id)),
    # --------------------------------------------------------------- request
    _fault("unknown-model-400", ["count_tokens.unknown_model_not_found", "models.unknown_id_not_found", "request.unknown_model_not_found"], f"{PEERS} #23 (status mapping)",
           "An unknown model is a 400 invalid_request_error instead of 404 not_found_error.", replace_error(_error_where("not_found_error", "model:", 400, "invalid_request_error"))),
    _fault("malformed-json-500", ["request.malformed_json_rejected"], f"{PEERS} #21, #25 (client errors answered as 5xx)",
           "A body that is not JSON crashes the handler: 500 api_error.", replace_error(_error_where("invalid_request_error", "The request body is not valid JSON", 500, "api_error", "Internal server error"))),
    # ---------------------------------------------------------------- params
    _fault("max-tokens-optional", ["params.required_enforced"], "https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md (max_tokens optional, default 4096)",
           "A request without max_tokens is served with max_tokens 4096 instead of a 400.", rewrite_request(_edit_body(_default_max_tokens))),
    _fault("temperature-up-to-2", ["params.invalid_value_rejected"], "https://docs.requesty.ai/api-reference/endpoint/messages-create (temperature 0-2)",
           "temperature above 1 (up to 2) is clamped and accepted.", rewrite_request(_edit_body(_clamp_temperature))),
    _fault("no-max-tokens-ceiling", ["params.invalid_value_rejected"], f"{PEERS} #21; https://github.com/ROCm/ATOM/pull/2188",
           "max_tokens above the model's limit is clamped and accepted.", rewrite_request(_edit_body(_clamp_max_tokens))),
    _fault("mistyped-params-dropped", ["params.wrong_type_rejected"], "https://docs.litellm.ai/docs/completion/drop_params (parameters silently dropped)",
           "Optional parameters of the wrong JSON type are silently dropped instead of refused.", rewrite_request(_edit_body(_drop_mistyped))),
    _fault("sampling-params-accepted", ["params.invalid_value_rejected", "params.removed_rejected", "params.wrong_type_rejected", "thinking.temperature_rejected"],
           "https://platform.claude.com/docs/en/api/migration-2026-10-21 (gateways that accept everything 2026-10-21 rejects)",
           "temperature/top_p/top_k are silently dropped instead of refused: at any value under 2026-10-21, and out of range or mistyped under 2023-06-01.",
           rewrite_request(_edit_body(_drop_sampling)), api_version="2026-10-21"),
    _fault("top-k-rejected", ["params.valid_value_accepted"], "https://platform.openai.com/docs/api-reference/chat/create (no top_k: translating gateways refuse it)",
           "top_k is refused at any value.", refuse_request(_refuse_top_k)),
    # ----------------------------------------------------------------- roles
    _fault("roles-must-alternate", ["roles.consecutive_turns_accepted"], "https://github.com/anthropics/anthropic-sdk-python/blob/main/src/anthropic/types/message_create_params.py (older API: roles must alternate)",
           "Consecutive turns of the same role are refused.", refuse_request(_refuse_repeated_roles)),
    _fault("any-role-accepted", ["roles.unknown_role_rejected"], f"{PEERS} #26 (permissive validation)",
           "Unknown roles such as 'tool' are treated as user turns.", rewrite_request(_edit_body(_any_role_is_user))),
    _fault("system-role-500", ["roles.system_role_handled"], f"{PEERS} #1; https://github.com/vllm-project/vllm/issues/44000",
           "A role system entry inside messages crashes the handler with a 500.", refuse_request(_crash_on_system)),
    _fault("prefill-rejected", ["roles.prefill_handled"], "https://github.com/jobrunr/JavaClaw/issues/36",
           "A final assistant turn is refused even for models that support prefill.", refuse_request(_refuse_prefill)),
    # ----------------------------------------------------------------- shape
    _fault("stop-sequence-omitted", ["shape.message_schema"], "https://docs.toapis.com/docs/en/api-reference/chat/messages (example response has no stop_sequence)",
           "The stop_sequence key is left out of non-streamed messages when it is null.", rewrite_json_response(_body(_omit_null_stop_sequence))),
    _fault("chatcmpl-ids", ["shape.id_prefix"], f"{PEERS} #27 (OpenAI fields leak through translation)",
           "Message ids are OpenAI-style chatcmpl-… ids.", compose(rewrite_json_response(_body(_chatcmpl_id)), rewrite_events(_on("message_start", _start_message(_chatcmpl_id))))),
    # ----------------------------------------------------------- stop_reason
    _fault("stop-reason-stop", ["stop_reason.end_turn_on_natural_stop", "stop_reason.known_value"], f"{PEERS} #27; https://github.com/aws-samples/bedrock-access-gateway/issues/11",
           'OpenAI vocabulary leaks through: stop_reason "end_turn" is reported as "stop".', compose(rewrite_json_response(_body(_stop_in_body)), rewrite_events(_on("message_delta", _stop_in_delta)))),
    _fault("ignore-max-tokens", ["stop_reason.max_tokens_on_limit", "stream.length_within_max_tokens", "thinking.budget_not_below_max_tokens_rejected", "usage.output_within_max_tokens"], f"{PEERS} #21 (max_tokens not passed to the backend)",
           "max_tokens is not passed on: the backend generates until it stops by itself.", rewrite_request(_edit_body(_raise_max_tokens))),
    _fault("stop-sequence-not-reported", ["content.fired_stop_sequence_reported", "stop_reason.stop_sequence_reported"], f"{PEERS} #3; https://github.com/vllm-project/vllm/pull/45807",
           "Stop sequences are enforced but reported as end_turn with stop_sequence null.", compose(rewrite_json_response(_body(_hide_stop_sequence)), rewrite_events(_on("message_delta", _delta(_hide_stop_sequence))))),
    Fault(
        name="flaky-stop-sequence",
        breaks=("content.fired_stop_sequence_reported", "stop_reason.stop_sequence_reported"),
        source="https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons (behaviour a model may vary on between samples)",
        description="Every other identical request reports its stop sequence as end_turn: the probe passes only on retry, which is a warning.",
        wrap=_flaky_stop_sequence,
    ),
    _fault("stop-sequence-included", ["stop_reason.stop_sequence_excluded"], "https://docs.vllm.ai/en/latest/api/vllm/sampling_params.html (include_stop_str_in_output)",
           "The matched stop sequence is left at the end of the text.",
           compose(rewrite_json_response(_body(_append_stop_sequence)), rewrite_events_with_state(_included_stop_sequence))),
    _fault("stop-sequence-empty-string", ["stop_reason.stop_sequence_null_otherwise"], "https://github.com/QuantumNous/new-api/issues/2975 (Go zero values leak into the envelope)",
           'stop_sequence is "" instead of null when no stop sequence matched.', compose(rewrite_json_response(_body(_empty_stop_sequence)), rewrite_events(_on("message_delta", _delta(_empty_stop_sequence))))),
    # ----------------------------------------------------------------- usage
    _fault("message-start-input-zero", ["usage.input_tokens_positive"], f"{PEERS} #6; https://github.com/mozilla-ai/any-llm/pull/1151",
           "message_start reports input_tokens 0; the real count only arrives at the end.", rewrite_events(_on("message_start", _start_message(_zero_start_input)))),
    _fault("negative-output-tokens", ["shape.message_schema", "usage.output_reaches_max_tokens", "usage.output_tokens_counted", "usage.output_tokens_nonnegative", "usage.stream_matches_twin"], f"{PEERS} #29 (usage recomputed by the gateway)",
           "output_tokens is recomputed as total minus input and goes negative.", rewrite_json_response(_body(_negative_output))),
    _fault("usage-excludes-system", ["usage.system_prompt_counted"],
           "https://github.com/experientiallabs/experiential/pull/914 (a gateway fills usage with its own input estimate of the request); https://github.com/router-for-me/CLIProxyAPI/issues/679 (the same kind of count leaving the system prompt out)",
           "usage.input_tokens is recounted from messages and tools only, leaving the system prompt out (count_tokens still counts it).",
           per_request(_usage_without_system)),
    _fault("usage-not-cumulative", ["usage.stream_cumulative", "usage.stream_matches_twin"], f"{PEERS} #4; https://github.com/sgl-project/sglang/pull/33419",
           "Each message_delta reports only the tokens since the previous one, not the running total.", rewrite_events(_usage_not_cumulative)),
    _fault("message-delta-without-usage", ["stream.event_schema", "server_tools.usage_counts_requests"], f"{PEERS} #5",
           "message_delta carries no usage object.", rewrite_events(_on("message_delta", _drop_usage))),
    # ---------------------------------------------------------------- stream
    Fault(name="drop-message-stop", breaks=("stream.ends_with_message_stop",), source=f"{PEERS} #14; https://github.com/huggingface/tau/pull/692",
          description="The stream ends after message_delta without a message_stop event.", wrap=_plain(rewrite_events(_drop_message_stop))),
    _fault("data-only-events", ["stream.event_name_matches_type"], "https://github.com/anthropics/anthropic-sdk-python/blob/main/src/anthropic/_streaming.py (events without event: are skipped)",
           "SSE events are sent as bare data: lines with no event: line.", rewrite_events(_data_only)),
    _fault("done-sentinel", ["stream.no_done_sentinel"], f"{PEERS} #14; https://github.com/huggingface/tau/pull/692",
           "An OpenAI-style data: [DONE] follows message_stop.", rewrite_events(_done_sentinel)),
    _fault("text-keepalive", ["stream.data_is_json"], f"{PEERS} #15 (keep-alives during silences)",
           "Keep-alives are sent as event: ping with the text data keep-alive instead of JSON.", rewrite_events(_text_keepalive)),
    _fault("latin1-stream", ["stream.text_matches_twin", "stream.utf8_valid"], "https://html.spec.whatwg.org/multipage/server-sent-events.html (streams are always UTF-8)",
           "A proxy re-encodes the event stream as ISO-8859-1.", compose(rewrite_stream_bytes(_latin1), rewrite_events(lambda n, d: [event(n, d)]))),
    _fault("lossy-utf8-chunks", ["stream.text_intact", "stream.text_matches_twin"], "https://github.com/cnighswonger/claude-code-cache-fix/issues/365",
           "A proxy decodes each chunk on its own, turning split multi-byte characters into U+FFFD.", rewrite_stream_bytes(_lossy_utf8)),
    _fault("truncated-stream", ["stream.ends_with_message_stop", "stream.framing_terminated"], f"{PEERS} #16 (upstream failure mid-stream)",
           "The connection closes in the middle of message_delta.", compose(rewrite_stream_bytes(_cut_stream), rewrite_events(_cut_mid_message_delta))),
    _fault("duplicate-message-start", ["stream.message_start_first"], f"{PEERS} #8; https://github.com/BerriAI/litellm/issues/32357",
           "message_start is sent twice with the same id.", rewrite_events(_duplicate_start)),
    _fault("message-delta-before-block-stop", ["stream.event_order"], f"{PEERS} #6 (closing events sent before usage arrived)",
           "message_delta is sent before the open block's content_block_stop.", rewrite_events_with_state(_delta_before_stop)),
    _fault("block-per-chunk-index-zero", ["stream.block_indices_sequential"], f"{PEERS} #11; https://github.com/nanocoai/nanoclaw/pull/1241",
           "Every delta opens a new block, and every block is index 0.", rewrite_events_with_state(_block_per_chunk(same_index=True))),
    _fault("block-per-chunk", ["stream.rebuilt_matches_twin"], f"{PEERS} #11; https://github.com/nanocoai/nanoclaw/pull/1241",
           "Every delta opens a new content block, so the streamed message has more blocks than the plain one.", rewrite_events_with_state(_block_per_chunk(same_index=False))),
    _fault("thinking-delta-in-text", ["stream.delta_matches_block", "thinking.stream_round_trip_accepted"], f"{PEERS} #9; https://github.com/BerriAI/litellm/issues/33224",
           "A thinking_delta arrives inside a text block.", rewrite_events_with_state(_thinking_in_text)),
    _fault("message-delta-null-stop-reason", ["stream.message_delta_stop_reason"], f"{PEERS} #29",
           "The final message_delta has stop_reason null.", rewrite_events(_on("message_delta", _null_stop_reason))),
    # ---------------------------------------------------------------- errors
    _fault("openai-error-envelope", ["errors.envelope_shape", "errors.type_matches_status"], f"{PEERS} #22",
           'Errors come back as OpenAI\'s {"error":{"message","type","param","code"}} without "type":"error".', replace_error(_openai_envelope)),
    _fault("error-types-all-invalid-request", ["errors.type_matches_status"], f"{PEERS} #23; https://github.com/langwatch/langwatch/pull/6207",
           "Every error is typed invalid_request_error whatever its status.", replace_error(_all_invalid_request)),
    _fault("validation-errors-as-422",
           ["content.document_in_assistant_rejected", "content.document_media_type_unknown_rejected", "content.empty_content_rejected", "content.image_media_type_mismatch_rejected", "content.image_media_type_unknown_rejected",
            "content.metadata_invalid_rejected", "content.user_citations_rejected", "count_tokens.invalid_tool_name_rejected", "count_tokens.messages_only_fields_rejected", "count_tokens.messages_required",
            "count_tokens.model_required", "count_tokens.unknown_role_rejected", "errors.envelope_shape", "headers.beta_unknown_rejected",
            "headers.version_duplicate_rejected", "headers.version_required", "headers.version_unknown_rejected", "models.limit_zero_rejected",
            "params.invalid_value_rejected", "params.removed_rejected", "params.required_enforced", "params.wrong_type_rejected", "request.empty_messages_rejected",
            "request.malformed_json_rejected", "request.unknown_field_rejected", "roles.prefill_trailing_whitespace_rejected", "roles.system_role_handled",
            "roles.unknown_role_rejected", "thinking.adaptive_accepted", "thinking.budget_below_minimum_rejected", "thinking.budget_not_below_max_tokens_rejected",
            "thinking.budget_required", "thinking.forced_tool_choice_rejected", "thinking.prefill_rejected", "thinking.temperature_rejected",
            "tools.input_schema_not_object_rejected", "tools.invalid_name_rejected", "tools.missing_input_schema_rejected", "tools.tool_choice_unknown_tool_rejected",
            "tools.tool_choice_without_name_rejected", "tools.unanswered_tool_use_rejected", "tools.tool_result_unknown_id_rejected",
            "effort.level_honoured"],
           f"{PEERS} #22 (FastAPI 422 {{'detail': [...]}} instead of the Anthropic envelope)",
           "Request validation failures come back as FastAPI-style 422 {detail: [...]} bodies.", replace_error(_fastapi_422)),
)
