"""Faults in sampling and size parameters (params.*): max_tokens defaulted or clamped, temperature, top_p and top_k out of range, mistyped or refused, a request's version rules swapped.

Permissive gateways serve what the API refuses with 400 (a parameter defaulted, clamped or silently
dropped); strict ones refuse what it accepts. Each fault names its public source; deviation numbers refer
to the research notes' table (peers.md §4.6).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from conformance._types import JSON, JSONObject
from conformance.reference.fault import Fault, fault
from conformance.reference.models import lookup
from conformance.reference.rewrite.edits import PEERS, refuse_field, request_body, turns
from conformance.reference.rewrite.request import edit_body, refuse_request, rewrite_request
from conformance.reference.rewrite.views import Refusal, RequestView, Wrapper


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


MIGRATION = "https://platform.claude.com/docs/en/api/migration-2026-10-21"


def _served_as(old: str, new: str) -> Wrapper:
    """Requests that name anthropic-version ``old`` reach the API as ``new`` (every other value passes unchanged)."""

    def swap(value: str) -> str:
        return new if value.strip() == old else value

    return _version_header(swap)


def _version_header(fn: Callable[[str], str]) -> Wrapper:
    def rewrite(view: RequestView) -> RequestView:
        return replace(view, headers=tuple((k, fn(v) if k == "anthropic-version" else v) for k, v in view.headers))

    return rewrite_request(rewrite)


TOAPIS = "https://docs.toapis.com/docs/en/api-reference/chat/messages"

# toapis: "Claude Sonnet 4-6: up to 64000; Claude Opus 4-6: up to 32000" (Anthropic: 128K output for both).
TOAPIS_OUTPUT_CAPS = {"claude-sonnet-4-6": 64000, "claude-opus-4-6": 32000}


def _refuse_above_cap(view: RequestView) -> Refusal:
    body = request_body(view)
    if body is None:
        return None
    model, value = body.get("model"), body.get("max_tokens")
    cap = TOAPIS_OUTPUT_CAPS.get(model) if isinstance(model, str) else None
    if cap is not None and isinstance(value, int) and not isinstance(value, bool) and value > cap:
        return 400, "invalid_request_error", f"max_tokens: {value} > {cap}, which is the maximum allowed number of output tokens for {model}"
    return None


def _unvalidated_stream(body: JSONObject) -> None:
    """What a gateway that checks only non-stream requests lets through: defaults and clamps instead of a 400."""
    if body.get("stream") is not True:
        return
    body.setdefault("max_tokens", 4096)
    model = lookup(body["model"]) if isinstance(body.get("model"), str) else None
    limit, value = (model.max_output_tokens if model else None), body["max_tokens"]
    if limit is not None and isinstance(value, int) and value > limit:
        body["max_tokens"] = limit
    for name in ("temperature", "top_p"):
        number = body.get(name)
        if isinstance(number, int | float) and not isinstance(number, bool):
            body[name] = min(max(number, 0), 1)
    for message in turns(body):
        if message.get("role") not in ("user", "assistant", "system"):
            message["role"] = "user"


FAULTS: tuple[Fault, ...] = (
    fault("service-tier-refused", ["params.valid_value_accepted"],
          f"{PEERS} #19; https://github.com/vllm-project/vllm/blob/main/vllm/entrypoints/anthropic/protocol.py (no service_tier field)",
          "service_tier is refused as an extra input at every value.",
          refuse_request(refuse_field("service_tier"))),
    fault("max-tokens-optional", ["params.required_enforced"], "https://github.com/ggml-org/llama.cpp/blob/master/tools/server/README.md (max_tokens optional, default 4096)",
          "A request without max_tokens is served with max_tokens 4096 instead of a 400.", edit_body(_default_max_tokens)),
    fault("temperature-up-to-2", ["params.invalid_value_rejected"], "https://docs.requesty.ai/api-reference/endpoint/messages-create (temperature 0-2)",
          "temperature above 1 (up to 2) is clamped and accepted.", edit_body(_clamp_temperature)),
    fault("no-max-tokens-ceiling", ["params.invalid_value_rejected"], f"{PEERS} #21; https://github.com/ROCm/ATOM/pull/2188",
          "max_tokens above the model's limit is clamped and accepted.", edit_body(_clamp_max_tokens)),
    fault("mistyped-params-dropped", ["params.wrong_type_rejected"], "https://docs.litellm.ai/docs/completion/drop_params (parameters silently dropped)",
          "Optional parameters of the wrong JSON type are silently dropped instead of refused.", edit_body(_drop_mistyped)),
    fault("sampling-params-accepted", ["params.invalid_value_rejected", "params.removed_rejected", "params.wrong_type_rejected", "thinking.temperature_rejected"],
          "https://platform.claude.com/docs/en/api/migration-2026-10-21 (gateways that accept everything 2026-10-21 rejects)",
          "temperature/top_p/top_k are silently dropped instead of refused: at any value under 2026-10-21, and out of range or mistyped under 2023-06-01.",
          edit_body(_drop_sampling), api_version="2026-10-21"),
    fault("top-k-rejected", ["params.valid_value_accepted"], "https://platform.openai.com/docs/api-reference/chat/create (no top_k: translating gateways refuse it)",
          "top_k is refused at any value.", refuse_request(refuse_field("top_k"))),
    # One version's rules applied to the other's requests: a run judges the version-dependent rules under both live
    # versions (conformance/versions.py), so each breaks the cases of one version and leaves the other's passing.
    fault("version-2026-served-as-2023", ["content.document_in_assistant_rejected", "content.user_citations_rejected", "params.removed_rejected"],
          f"{MIGRATION}; contract §8 (some gateways accept everything 2026-10-21 would reject: Synthorai test, 32/32 answered 200 [U]); "
          "https://github.com/ollama/ollama/blob/main/docs/api/anthropic-compatibility.mdx (anthropic-version accepted but unused)",
          "anthropic-version 2026-10-21 is accepted but served with 2023-06-01's rules: temperature, documents in assistant turns and citations in user turns go through.",
          _served_as("2026-10-21", "2023-06-01")),
    fault("version-2023-served-as-2026", ["params.valid_value_accepted"],
          "https://code.claude.com/docs/en/llm-gateway-protocol (anthropic-version must be forwarded unchanged); "
          "https://github.com/anthropics/anthropic-sdk-python/blob/main/src/anthropic/_constants.py (SDK >= 2.0 sends its own ANTHROPIC_API_VERSION 2026-10-21: a gateway that re-issues requests through it does)",
          "Every request goes upstream as anthropic-version 2026-10-21, whatever the client sent: SDK 1.x clients on 2023-06-01 get their temperature refused.",
          _served_as("2023-06-01", "2026-10-21")),
    # Documented by a provider and emulated for its profile (specs/profiles/): the suite fails it under the anthropic
    # profile, the provider's profile tolerates it (tests/profiles/).
    fault("max-tokens-capped-below-model-limit", ["params.valid_value_accepted"],
          TOAPIS + " (max_tokens: Sonnet 4.6 up to 64000, Opus 4.6 up to 32000)",
          "max_tokens above the gateway's own cap (Opus 4.6: 32000, Sonnet 4.6: 64000) is refused, below the model's documented 128K.",
          refuse_request(_refuse_above_cap), model="claude-opus-4-6"),
    fault("stream-requests-unvalidated", ["params.invalid_value_rejected", "params.required_enforced", "roles.unknown_role_rejected"],
          f"{PEERS} #21 (max_tokens defaulted or clamped instead of a 400); https://platform.claude.com/docs/en/api/messages (one body schema, stream or not)",
          "Only non-stream requests are validated: with stream true a missing max_tokens is defaulted, max_tokens, temperature and top_p are clamped into range, an unknown role is served as user.",
          edit_body(_unvalidated_stream)),
)
