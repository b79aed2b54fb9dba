"""Faults in the roles and turns of a conversation (roles.*): alternation demanded, unknown roles served, system turns crashing, prefills refused, trimmed or echoed.

Each is a deviation a real gateway or backend showed, with its public source; deviation numbers refer to
the research notes' table (peers.md §4.6).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from conformance._types import JSON, JSONObject
from conformance.reference.fault import Fault, fault
from conformance.reference.rewrite.edits import PEERS, edit_message, is_messages_call, request_body, turns
from conformance.reference.rewrite.request import (
    MESSAGES_PATH,
    compose,
    edit_body,
    per_request,
    refuse_request,
)
from conformance.reference.rewrite.stream import event, rewrite_events_with_state
from conformance.reference.rewrite.views import EventFn, EventOut, Refusal, RequestView, Wrapper


def _any_role_is_user(body: dict[str, JSON]) -> None:
    for message in body.get("messages") or []:
        if isinstance(message, dict) and message.get("role") not in ("user", "assistant", "system"):
            message["role"] = "user"


def _roles(view: RequestView) -> list[JSON]:
    messages = view.body.get("messages") if isinstance(view.body, dict) else None
    return [m.get("role") for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []


def _refuse_repeated_roles(view: RequestView) -> tuple[int, str, str] | None:
    roles = _roles(view)
    if any(a == b for a, b in itertools.pairwise(roles)):
        return 400, "invalid_request_error", 'messages: roles must alternate between "user" and "assistant"'
    return None


def _crash_on_system(view: RequestView) -> tuple[int, str, str] | None:
    return (500, "api_error", "Internal server error") if "system" in _roles(view) else None


def _refuse_prefill(view: RequestView) -> tuple[int, str, str] | None:
    roles = _roles(view)
    if is_messages_call(view) and roles and roles[-1] == "assistant":
        return 400, "invalid_request_error", "This model does not support assistant message prefill. The conversation must end with a user message."
    return None


def _prefill_of(view: RequestView) -> str | None:
    body = view.body
    messages = body.get("messages") if isinstance(body, dict) and view.path.rstrip("/") == MESSAGES_PATH else None
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

    return compose(edit_message(body), rewrite_events_with_state(stream))


TOAPIS = "https://docs.toapis.com/docs/en/api-reference/chat/messages"


def _refuse_system_role(view: RequestView) -> Refusal:
    body = request_body(view)
    messages = body.get("messages") if body is not None else None
    for index, message in enumerate(messages if isinstance(messages, list) else ()):
        if isinstance(message, dict) and message.get("role") == "system":
            return 400, "invalid_request_error", f"messages.{index}.role: Input should be 'user' or 'assistant'"
    return None


def _openai_roles_as_user(body: JSONObject) -> None:
    for message in turns(body):
        if message.get("role") in ("developer", "function"):
            message["role"] = "user"


def _strip_prefill(body: JSONObject) -> None:
    messages = turns(body)
    last = messages[-1] if messages else None
    if last is None or last.get("role") != "assistant":
        return
    content = last.get("content")
    if isinstance(content, str):
        last["content"] = content.rstrip()
    elif isinstance(content, list) and content and isinstance(content[-1], dict) and isinstance(content[-1].get("text"), str):
        content[-1]["text"] = content[-1]["text"].rstrip()


FAULTS: tuple[Fault, ...] = (
    fault("roles-must-alternate", ["roles.consecutive_turns_accepted"], "https://github.com/anthropics/anthropic-sdk-python/blob/main/src/anthropic/types/message_create_params.py (older API: roles must alternate)",
          "Consecutive turns of the same role are refused.", refuse_request(_refuse_repeated_roles)),
    fault("any-role-accepted", ["roles.unknown_role_rejected"], f"{PEERS} #26 (permissive validation)",
          "Unknown roles such as 'tool' are treated as user turns.", edit_body(_any_role_is_user)),
    fault("system-role-500", ["roles.system_role_handled"], f"{PEERS} #1; https://github.com/vllm-project/vllm/issues/44000",
          "A role system entry inside messages crashes the handler with a 500.", refuse_request(_crash_on_system)),
    fault("prefill-rejected", ["roles.prefill_handled"], "https://github.com/jobrunr/JavaClaw/issues/36",
          "A final assistant turn is refused even for models that support prefill.", refuse_request(_refuse_prefill)),
    fault("prefill-echoed", ["roles.prefill_not_echoed"],
          "https://github.com/scouzi1966/maclocal-api/pull/241 (a review proposes prepending the prefill to the generated text); "
          "https://github.com/ericc-ch/copilot-api/pull/261 (the contract: the response excludes the prefill, the client stitches it back on)",
          "The answer repeats the prefill before its continuation (the prefill put back in front of the generated text), streamed or not.",
          per_request(_echo_prefill)),
    # Documented by a provider and emulated for its profile (specs/profiles/): the suite fails it under the anthropic
    # profile, the provider's profile tolerates it (tests/profiles/).
    fault("system-role-rejected", ["roles.system_role_handled"],
          "https://docs.requesty.ai/api-reference/endpoint/messages-create (\"no system role\"); " + TOAPIS
          + " (only user and assistant roles); https://github.com/vllm-project/vllm/issues/44000; https://github.com/ollama/ollama/issues/16372",
          "A role system entry inside messages is refused with 400, also for a model that takes mid-conversation system messages.",
          refuse_request(_refuse_system_role), model="claude-opus-4-8"),
    fault("openai-roles-accepted", ["roles.unknown_role_rejected"], "https://platform.openai.com/docs/api-reference/chat/create (developer and function roles, mapped by translating gateways)",
          "OpenAI's developer (and function) roles are served as user turns; only tool is refused.", edit_body(_openai_roles_as_user)),
    fault("prefill-trailing-whitespace-stripped", ["roles.prefill_trailing_whitespace_rejected"], "https://github.com/tailcallhq/forgecode/issues/1872",
          "A prefill that ends in whitespace is right-stripped and served instead of refused.", edit_body(_strip_prefill)),
)
