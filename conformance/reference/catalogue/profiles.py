"""Deviations that providers document, emulated so their profiles (specs/profiles/) can be tested both ways.

Each fault is what a provider's own documentation says it does, with that page as its source: the suite
fails it under the anthropic profile, and the provider's profile tolerates it (tests/profiles/). Request
refusals and rewrites only; the faithful app never learns it is wrapped.
"""

from __future__ import annotations

from conformance._types import JSON
from conformance.reference.fault import Fault
from conformance.reference.fault import plain_fault as _fault
from conformance.reference.rewrite import RequestView, edit_body, refuse_request

MSG_PATH = "/v1/messages"
OLLAMA = "https://docs.ollama.com/api/anthropic-compatibility"
TOAPIS = "https://docs.toapis.com/docs/en/api-reference/chat/messages"
Refusal = tuple[int, str, str] | None

# toapis: "Claude Sonnet 4-6: up to 64000; Claude Opus 4-6: up to 32000" (Anthropic: 128K output for both).
TOAPIS_OUTPUT_CAPS = {"claude-sonnet-4-6": 64000, "claude-opus-4-6": 32000}

# Betas a gateway validated against before Claude Code's own existed; anything else is "invalid".
STALE_BETA_ALLOWLIST = frozenset(
    {
        "computer-use-2024-10-22",
        "files-api-2025-04-14",
        "message-batches-2024-09-24",
        "output-128k-2025-02-19",
        "pdfs-2024-09-25",
        "prompt-caching-2024-07-31",
        "token-counting-2024-11-01",
        "token-efficient-tools-2025-02-19",
    }
)


def _body(view: RequestView) -> dict[str, JSON] | None:
    """The body of a request to /v1/messages, else None (count_tokens and models pass untouched)."""
    return view.body if view.path.rstrip("/") == MSG_PATH and isinstance(view.body, dict) else None


_edit = edit_body  # a rewrite of /v1/messages bodies; count_tokens and models pass untouched


# ------------------------------------------------------------------------------------ roles


def _refuse_system_role(view: RequestView) -> Refusal:
    body = _body(view)
    messages = body.get("messages") if body is not None else None
    for index, message in enumerate(messages if isinstance(messages, list) else ()):
        if isinstance(message, dict) and message.get("role") == "system":
            return 400, "invalid_request_error", f"messages.{index}.role: Input should be 'user' or 'assistant'"
    return None


# ------------------------------------------------------------------------------- max_tokens


def _refuse_above_cap(view: RequestView) -> Refusal:
    body = _body(view)
    if body is None:
        return None
    model, value = body.get("model"), body.get("max_tokens")
    cap = TOAPIS_OUTPUT_CAPS.get(model) if isinstance(model, str) else None
    if cap is not None and isinstance(value, int) and not isinstance(value, bool) and value > cap:
        return 400, "invalid_request_error", f"max_tokens: {value} > {cap}, which is the maximum allowed number of output tokens for {model}"
    return None


# ------------------------------------------------------------------------------ tool_choice


def _drop_tool_choice(body: dict[str, JSON]) -> None:
    body.pop("tool_choice", None)


def _unforce_tool_choice(body: dict[str, JSON]) -> None:
    """The model is not forced: asked for a tool under any/tool, it answers in text (as tool_choice none makes the reference do)."""
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        body["tool_choice"] = {"type": "none"}


# ------------------------------------------------------------------------------------ betas


def _refuse_unlisted_beta(view: RequestView) -> Refusal:
    values = [value for key, value in view.headers if key == "anthropic-beta"]
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in STALE_BETA_ALLOWLIST]
    return (400, "invalid_request_error", f"invalid beta flag: {', '.join(unknown)}") if unknown else None


FAULTS: tuple[Fault, ...] = (
    _fault("system-role-rejected", ["roles.system_role_handled"],
           "https://docs.requesty.ai/api-reference/endpoint/messages-create (\"no system role\"); " + TOAPIS
           + " (only user and assistant roles); https://github.com/vllm-project/vllm/issues/44000; https://github.com/ollama/ollama/issues/16372",
           "A role system entry inside messages is refused with 400, also for a model that takes mid-conversation system messages.",
           refuse_request(_refuse_system_role), model="claude-opus-4-8"),
    _fault("max-tokens-capped-below-model-limit", ["params.valid_value_accepted"],
           TOAPIS + " (max_tokens: Sonnet 4.6 up to 64000, Opus 4.6 up to 32000)",
           "max_tokens above the gateway's own cap (Opus 4.6: 32000, Sonnet 4.6: 64000) is refused, below the model's documented 128K.",
           refuse_request(_refuse_above_cap), model="claude-opus-4-6"),
    _fault("tool-choice-dropped",
           ["params.invalid_value_rejected", "params.wrong_type_rejected", "thinking.forced_tool_choice_rejected", "tools.forced_tool_called",
            "tools.parallel_disabled_respected", "tools.stop_reason_tool_use", "tools.tool_choice_none_respected", "tools.tool_choice_unknown_tool_rejected",
            "tools.tool_choice_without_name_rejected", "server_tools.code_execution_run", "server_tools.web_tools_run", "stop_reason.pause_turn_passed_through"],
           OLLAMA + " (Not supported: tool_choice)",
           "tool_choice is not read: a forced call is not made, none and disable_parallel_tool_use have no effect (the model calls the tool as it likes), and a mistyped or invalid one is not refused.",
           _edit(_drop_tool_choice)),
    _fault("forced-tool-call-answered-in-text",
           ["thinking.forced_tool_choice_rejected", "tools.forced_tool_called", "tools.stop_reason_tool_use", "tools.tool_choice_unknown_tool_rejected",
            "tools.tool_choice_without_name_rejected", "server_tools.code_execution_run", "server_tools.web_tools_run", "stop_reason.pause_turn_passed_through"],
           OLLAMA + " (Not supported: tool_choice, 'forcing specific tool use')",
           "A tool_choice that forces a tool (any, tool) is not honoured: the model answers the request in text.",
           _edit(_unforce_tool_choice)),
    _fault("beta-allowlist-stale", ["headers.beta_accepted"],
           "peers.md §4.6 #18; https://github.com/anthropics/claude-code/issues/13770 (a gateway refusing a beta Claude Code sends); https://github.com/BerriAI/litellm/pull/41203 (per-provider beta allowlists, 'invalid beta flag')",
           "anthropic-beta values missing from the gateway's frozen allowlist, Claude Code's own betas among them, are refused with 400 'invalid beta flag'.",
           refuse_request(_refuse_unlisted_beta), profile="claude-code"),
)
