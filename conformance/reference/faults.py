"""The catalogue of named faults: realistic deviations of real gateways, applied around the faithful app.

Owns each fault's name, source, the checks it should break and its wrapper, plus `build_app`. `breaks`
lists the check ids that failed when the in-progress suite ran against the fault (curated by the lead). The faithful app never learns it is wrapped (STYLE T3); the plumbing lives
in rewrite.py. The registry is read-only after import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

from starlette.types import ASGIApp

from conformance._types import JSON, RawHeaders
from conformance.reference.app import create_app
from conformance.reference.rewrite import (
    EventOut,
    RequestView,
    Wrapper,
    compose,
    event,
    replace_error,
    rewrite_events,
    rewrite_json_response,
    rewrite_request,
    rewrite_response_headers,
    rewrite_stream_bytes,
)
from conformance.reference.variant import Variant

PEERS = "/work/shared/research/peers.md §4.6"


@dataclass(frozen=True, slots=True)
class FaultContext:
    """What a wrapper may need to know about the deployment it sits in front of."""

    api_key: str


@dataclass(frozen=True, slots=True)
class Fault:
    """One named deviation: what the server does wrong, where it was seen, and how to inject it."""

    name: str
    breaks: tuple[str, ...]
    source: str
    description: str
    wrap: Callable[[ASGIApp, FaultContext], ASGIApp]


def _plain(wrapper: Wrapper) -> Callable[[ASGIApp, FaultContext], ASGIApp]:
    return lambda app, _context: wrapper(app)


def _drop_message_stop(name: str | None, data: JSON) -> Iterable[EventOut]:
    return [] if name == "message_stop" else [event(name, data)]


def _stop_instead_of_end_turn(value: JSON) -> JSON:
    return "stop" if value == "end_turn" else value


def _stream_stop(name: str | None, data: JSON) -> Iterable[EventOut]:
    if name == "message_delta":
        delta = {**data["delta"], "stop_reason": _stop_instead_of_end_turn(data["delta"]["stop_reason"])}
        data = {**data, "delta": delta}
    return [event(name, data)]


def _body_stop(status: int, body: JSON) -> JSON:
    if status == 200 and isinstance(body, dict) and "stop_reason" in body:
        return {**body, "stop_reason": _stop_instead_of_end_turn(body["stop_reason"])}
    return body


def _openai_envelope(status: int, body: JSON) -> tuple[int, JSON]:
    message = body.get("error", {}).get("message", "") if isinstance(body, dict) else ""
    return status, {
        "error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}
    }


def _fastapi_422(status: int, body: JSON) -> tuple[int, JSON] | None:
    if status != 400 or not isinstance(body, dict):
        return None
    message = body.get("error", {}).get("message", "")
    location, _, text = message.partition(": ")
    return 422, {
        "detail": [{"type": "value_error", "loc": ["body", *location.split(".")], "msg": text or message}]
    }


def _data_only(name: str | None, data: JSON) -> Iterable[EventOut]:
    return [event(None, data)]


def _done_sentinel(name: str | None, data: JSON) -> Iterable[EventOut]:
    out = [event(name, data)]
    if name == "message_stop":
        out.append((None, "[DONE]"))
    return out


def _accept_any_key(app: ASGIApp, context: FaultContext) -> ASGIApp:
    def swap(view: RequestView) -> RequestView:
        kept = tuple((k, v) for k, v in view.headers if k not in ("x-api-key", "authorization"))
        return replace(view, headers=(*kept, ("x-api-key", context.api_key)))

    return rewrite_request(swap)(app)


def _default_max_tokens(view: RequestView) -> RequestView:
    if (
        view.path.rstrip("/") == "/v1/messages"
        and isinstance(view.body, dict)
        and "max_tokens" not in view.body
    ):
        return replace(view, body={**view.body, "max_tokens": 4096})
    return view


def _drop_request_id(headers: RawHeaders) -> RawHeaders:
    return tuple((k, v) for k, v in headers if k != "request-id")


def _lossy_utf8(chunk: bytes) -> bytes:
    return chunk.decode("utf-8", errors="replace").encode("utf-8")


_CATALOGUE = (
    Fault(
        name="drop-message-stop",
        breaks=("stream.ends_with_message_stop",),
        source=f"{PEERS} #14; https://github.com/huggingface/tau/pull/692",
        description="The stream ends after message_delta without a message_stop event.",
        wrap=_plain(rewrite_events(_drop_message_stop)),
    ),
    Fault(
        name="stop-reason-stop",
        breaks=("stop_reason.end_turn_on_natural_stop",),
        source=f"{PEERS} #27; https://github.com/aws-samples/bedrock-access-gateway/issues/11",
        description='OpenAI vocabulary leaks through: stop_reason "end_turn" is reported as "stop" (stream and non-stream).',
        wrap=_plain(compose(rewrite_events(_stream_stop), rewrite_json_response(_body_stop))),
    ),
    Fault(
        name="openai-error-envelope",
        breaks=("errors.envelope_shape", "errors.type_matches_status"),
        source=f"{PEERS} #22; https://github.com/yilewang/llm-for-zotero/issues/133",
        description='Errors come back as OpenAI\'s {"error":{"message","type","param","code"}} without "type":"error".',
        wrap=_plain(replace_error(_openai_envelope)),
    ),
    Fault(
        name="data-only-events",
        breaks=("stream.event_name_matches_type",),
        source="anthropic-contract.md §0.5 (official SDKs skip events without an event: line)",
        description="SSE events are sent as bare data: lines with no event: line.",
        wrap=_plain(rewrite_events(_data_only)),
    ),
    Fault(
        name="done-sentinel",
        breaks=("stream.no_done_sentinel",),
        source=f"{PEERS} #14; https://github.com/huggingface/tau/pull/692",
        description="An OpenAI-style data: [DONE] event follows message_stop.",
        wrap=_plain(rewrite_events(_done_sentinel)),
    ),
    Fault(
        name="accepts-any-key",
        breaks=("auth.missing_key_rejected", "auth.wrong_key_rejected"),
        source="anthropic-contract.md §8 (Ollama: key 'required but ignored'); ollama/ollama docs/api/anthropic-compatibility.mdx",
        description="Missing or wrong API keys are accepted (the gateway substitutes its own upstream key).",
        wrap=_accept_any_key,
    ),
    Fault(
        name="max-tokens-optional",
        breaks=("params.required_enforced",),
        source="anthropic-contract.md §8; ggml-org/llama.cpp tools/server/README.md (max_tokens optional, default 4096)",
        description="A request without max_tokens is served with max_tokens defaulted to 4096 instead of a 400.",
        wrap=_plain(rewrite_request(_default_max_tokens)),
    ),
    Fault(
        name="validation-errors-as-422",
        breaks=(
            "errors.envelope_shape",
            "headers.version_required",
            "headers.version_unknown_rejected",
            "params.invalid_value_rejected",
            "params.required_enforced",
            "params.wrong_type_rejected",
            "request.malformed_json_rejected",
            "roles.system_role_handled",
            "roles.unknown_role_rejected",
        ),
        source=f"{PEERS} #22 (FastAPI 422 {{'detail': [...]}} instead of the Anthropic envelope)",
        description="Request validation failures come back as FastAPI-style 422 {detail: [...]} bodies.",
        wrap=_plain(replace_error(_fastapi_422)),
    ),
    Fault(
        name="no-request-id",
        breaks=(),
        source="anthropic-contract.md §1.2 (request-id on every response)",
        description="The request-id response header is stripped.",
        wrap=_plain(rewrite_response_headers(_drop_request_id)),
    ),
    Fault(
        name="lossy-utf8-chunks",
        breaks=(),
        source="https://github.com/cnighswonger/claude-code-cache-fix/issues/365",
        description="A proxy decodes each stream chunk on its own, turning split multi-byte characters into U+FFFD.",
        wrap=_plain(rewrite_stream_bytes(_lossy_utf8)),
    ),
)

FAULTS: MappingProxyType[str, Fault] = MappingProxyType({fault.name: fault for fault in _CATALOGUE})


def unknown_fault_error(name: str) -> ValueError:
    """The error for a name not in the catalogue, listing the known ones."""
    return ValueError(f"unknown fault {name!r}; known faults: {', '.join(sorted(FAULTS))}")


def build_app(*, api_key: str, faults: Sequence[str] = (), variant: Variant | None = None) -> ASGIApp:
    """The faithful app wrapped in the named faults; the first name listed is outermost."""
    for name in faults:
        if name not in FAULTS:
            raise unknown_fault_error(name)
    app = create_app(api_key=api_key, variant=variant)
    context = FaultContext(api_key=api_key)
    for name in reversed(faults):
        app = FAULTS[name].wrap(app, context)
    return app
