"""Faults on the recovery paths: how gateways mangle 429/529/413 refusals and their retry headers, in-stream errors and silences.

Most of them only show when the server is made to fail (conformance/reference/simulate.py), which the
``reference`` profile does on purpose. Deviation numbers refer to the research notes' table
(peers.md §4.6); every fault names a public source. ``stream-stall-without-ping`` and
``stream-hung-up-after-message-start`` are judged under ``short-silence.yaml`` (the reference profile
with a 1 s silence limit), so their stalls stay short.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conformance._types import JSON, RawHeaders
from conformance.reference.fault import Fault, fault
from conformance.reference.rewrite.edits import PEERS
from conformance.reference.rewrite.request import branch_on_request, compose
from conformance.reference.rewrite.response import (
    reanswer_json,
    replace_error,
    rewrite_headers_by_status,
    rewrite_response_headers,
)
from conformance.reference.rewrite.stream import (
    event,
    format_event,
    hang_up_stream,
    rewrite_events,
    rewrite_events_with_state,
    stall_stream,
)
from conformance.reference.rewrite.views import EventFn, EventOut, RequestView

STALL_S = 1.5

SHORT_SILENCE_PROFILE = str(Path(__file__).with_name("short-silence.yaml"))


def _status(old: int, new: int, kind: str | None = None, message: str | None = None) -> Callable[[int, JSON], tuple[int, JSON] | None]:
    """Answer ``old`` with ``new`` instead, optionally retyping the error (the envelope stays)."""

    def rewrite(status: int, body: JSON) -> tuple[int, JSON] | None:
        if status != old or not isinstance(body, dict) or not isinstance(body.get("error"), dict):
            return None
        error = dict(body["error"])
        error["type"] = kind or error["type"]
        error["message"] = message or error["message"]
        return new, {**body, "error": error}

    return rewrite


def _strip_retry_hints(headers: RawHeaders) -> RawHeaders:
    return tuple((k, v) for k, v in headers if k not in ("retry-after", "retry-after-ms") and not k.startswith("anthropic-ratelimit-"))


def _retry_after_with_unit(headers: RawHeaders) -> RawHeaders:
    return tuple((k, f"{v}s" if k == "retry-after" else v) for k, v in headers)


def _never_retry(status: int, headers: RawHeaders) -> RawHeaders:
    if status < 400:
        return headers
    return (*((k, v) for k, v in headers if k != "x-should-retry"), ("x-should-retry", "false"))


def _reset_as_duration(headers: RawHeaders) -> RawHeaders:
    """OpenAI's x-ratelimit-reset-* form ("1s", time left) copied into the anthropic-ratelimit-*-reset headers."""
    return tuple((k, "1s" if k.startswith("anthropic-ratelimit-") and k.endswith("-reset") else v) for k, v in headers)


def _stream_request(view: RequestView) -> bool:
    return isinstance(view.body, dict) and view.body.get("stream") is True


def _in_band(status: int, body: JSON) -> tuple[int, str, bytes] | None:
    """An upstream refusal (429, 5xx, 529) turned into a 200 stream whose only event is the error."""
    if status != 429 and status < 500:
        return None
    return 200, "text/event-stream; charset=utf-8", format_event("error", json.dumps(body, separators=(",", ":")))


def _closing(output_tokens: int) -> list[EventOut]:
    delta = {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": output_tokens}}
    return [event("message_delta", delta), event("message_stop", {"type": "message_stop"})]


def _on_error(fn: Callable[[dict[str, JSON], dict[str, int]], list[EventOut]]) -> Callable[[], EventFn]:
    """A per-stream rewrite of the error event; ``fn`` also sees the open block and the deltas so far."""

    def factory() -> EventFn:
        state = {"open": -1, "deltas": 0}

        def rewrite(name: str | None, data: JSON) -> Iterable[EventOut]:
            if not isinstance(data, dict):
                return [event(name, data)]
            kind, index = data.get("type"), data.get("index")
            if kind == "content_block_start" and isinstance(index, int):
                state["open"] = index
            elif kind == "content_block_stop":
                state["open"] = -1
            elif kind == "content_block_delta":
                state["deltas"] += 1
            return fn(data, state) if kind == "error" else [event(name, data)]

        return rewrite

    return factory


def _swallow(data: dict[str, JSON], state: dict[str, int]) -> list[EventOut]:
    stop = [event("content_block_stop", {"type": "content_block_stop", "index": state["open"]})] if state["open"] >= 0 else []
    return [*stop, *_closing(1 + state["deltas"])]


def _then_close(data: dict[str, JSON], state: dict[str, int]) -> list[EventOut]:
    return [event("error", data), *_closing(1 + state["deltas"])]


def _openai_shape(data: dict[str, JSON], _state: dict[str, int]) -> list[EventOut]:
    error = data.get("error")
    message = error.get("message") if isinstance(error, dict) else "upstream failed"
    return [event("error", {"error": {"message": message, "type": "server_error", "param": None, "code": None}})]


def _error_data_only(name: str | None, data: JSON) -> Iterable[EventOut]:
    return [event(None if name == "error" else name, data)]


def _message_start(chunk: bytes) -> bool:
    return b"message_start" in chunk


def _stall_after_block_start() -> Callable[[bytes], float]:
    """Wait once, right after the first content_block_start went out: a buffered block with no pings."""
    state = {"armed": False, "done": False}

    def delay(chunk: bytes) -> float:
        if state["done"] or not chunk:
            return 0.0
        if state["armed"]:
            state["done"] = True
            return STALL_S
        state["armed"] = b"content_block_start" in chunk
        return 0.0

    return delay


BACKEND_PACE_S = 0.06  # per chunk: the backend behind the buffering gateway takes its time, as a real model does


def _slow_backend() -> Callable[[bytes], float]:
    return lambda chunk: BACKEND_PACE_S if chunk else 0.0


def _held_until_complete(app: ASGIApp) -> ASGIApp:
    """Hold a stream's whole body and send it in one piece when it is complete (fake streaming, proxy_buffering on)."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        held: list[Message] = []

        async def hold(message: Message) -> None:
            if message["type"] == "http.response.start":
                held.append(message)
                return
            if not held or message["type"] != "http.response.body" or b"event-stream" not in dict(held[0].get("headers", [])).get(b"content-type", b""):
                for early in held:
                    await send(early)
                held.clear()
                await send(message)
                return
            held.append(message)
            if not message.get("more_body", False):
                body = b"".join(m.get("body", b"") for m in held[1:])
                await send(held[0])
                await send({"type": "http.response.body", "body": body, "more_body": False})

        await app(scope, receive, hold)

    return wrapped


FAULTS: tuple[Fault, ...] = (
    # ------------------------------------------------------------------ refusals
    fault("rate-limit-as-503", ["recovery.rate_limited_status"], "https://github.com/sourcegraph/sourcegraph-public-snapshot/pull/52786 (upstream 429 rewritten to 503)",
          "A rate-limit refusal is answered 503, so clients do not back off as a 429 tells them to.", replace_error(_status(429, 503))),
    fault("overloaded-as-api-error-500", ["recovery.overloaded_status"], f"{PEERS} #23; https://github.com/langwatch/langwatch/pull/6207",
          "An overloaded refusal is answered 500 api_error instead of 529 overloaded_error.", replace_error(_status(529, 500, "api_error", "Internal server error"))),
    fault("too-large-as-400", ["recovery.too_large_status"],
          "https://github.com/raine/claude-code-proxy/pull/30 (413 request_too_large had to be added so Claude Code trims the request); https://docs.requesty.ai/api-reference/endpoint/messages-create (no 413 among the documented errors)",
          "A request refused for its size is answered 400 invalid_request_error instead of 413 request_too_large.", replace_error(_status(413, 400, "invalid_request_error"))),
    fault("retry-after-stripped", ["recovery.retry_after_on_rate_limit"], f"{PEERS} #24; https://github.com/BerriAI/litellm/pull/37767",
          "retry-after and the anthropic-ratelimit-* headers are dropped on the way through, 429s included.", rewrite_response_headers(_strip_retry_hints)),
    fault("retry-after-with-unit", ["recovery.retry_after_on_rate_limit"], "https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3 (delay-seconds is digits only); https://platform.openai.com/docs/guides/rate-limits (OpenAI's reset headers say \"1s\")",
          'retry-after carries a unit ("1s"), which clients parse as neither seconds nor a date.', rewrite_response_headers(_retry_after_with_unit)),
    fault("should-retry-false-on-errors", ["recovery.should_retry_consistent"],
          "https://github.com/anthropics/anthropic-sdk-python/blob/main/src/anthropic/_base_client.py (_should_retry obeys x-should-retry first); captures 52, 59 (false on a 401, true on a 529)",
          "Every error answer carries x-should-retry: false, so SDK clients never retry a 429 or a 529.", rewrite_headers_by_status(_never_retry)),
    fault("ratelimit-reset-as-duration", ["recovery.ratelimit_headers_wellformed"],
          "https://platform.openai.com/docs/guides/rate-limits (x-ratelimit-reset-requests: \"1s\", the time left); https://platform.claude.com/docs/en/api/rate-limits (anthropic-ratelimit-*-reset: RFC 3339)",
          'The anthropic-ratelimit-*-reset headers carry OpenAI\'s time-left form ("1s") instead of an RFC 3339 timestamp.', rewrite_response_headers(_reset_as_duration)),
    fault("pre-stream-error-as-200-stream", ["recovery.overloaded_status", "recovery.pre_stream_error_is_status"],
          "peers.md §5 (trustedrouter-provider-check: HTTP status before streaming), §7 item 9; https://github.com/pleaseai/shunt/pull/549 (streams opened before the upstream's first byte)",
          "A stream request the upstream refuses (429, 5xx, 529) gets a 200 event stream whose only event is the error.", branch_on_request(_stream_request, reanswer_json(_in_band))),
    # ---------------------------------------------------------- in-stream errors
    fault("midstream-error-swallowed", ["recovery.stream_failure_surfaced"],
          "https://github.com/mnfst/llm-gateway/pull/2231 (a fabricated end_turn message instead of the error event); peers.md §1 (Open Responses: upstream failure swallowed into completed)",
          "An error event mid-stream is replaced by a normal ending (content_block_stop, message_delta end_turn, message_stop).", rewrite_events_with_state(_on_error(_swallow))),
    fault("midstream-error-openai-shape", ["stream.ends_with_message_stop", "stream.event_schema"],
          "https://github.com/vllm-project/vllm/issues/46028 (an OpenAI {\"error\": {...}} chunk mid-stream); https://github.com/mnfst/llm-gateway/pull/2231",
          'The error event carries OpenAI\'s {"error": {"message", "type", "param", "code"}} instead of the Anthropic envelope.', rewrite_events_with_state(_on_error(_openai_shape))),
    fault("midstream-error-data-only", ["stream.event_name_matches_type"],
          "https://github.com/anthropics/anthropic-sdk-python/blob/main/src/anthropic/_streaming.py (events without event: are skipped, so the failure is lost); https://github.com/BerriAI/litellm/issues/4562",
          "The mid-stream error is sent as a bare data: line with no event: error line.", rewrite_events(_error_data_only)),
    fault("error-then-message-stop", ["stream.ends_with_message_stop"],
          "https://github.com/Sunnyender-org/cursor-sdk2api/pull/26 (closing message_delta/message_stop sent around an in-stream error); DOC-STR: the stream ends at the error event",
          "After the error event the stream still sends message_delta (end_turn) and message_stop.", rewrite_events_with_state(_on_error(_then_close))),
    # ------------------------------------------------------------------ silences
    fault("stream-stall-without-ping", ["recovery.stream_silence_bounded"], f"{PEERS} #15; https://github.com/ollama/ollama/pull/14932",
          f"After the first content_block_start the stream goes silent for {STALL_S:g} s with no ping (judged under a 1 s limit).",
          stall_stream(_stall_after_block_start), profile=SHORT_SILENCE_PROFILE),
    fault("stream-hung-up-after-message-start", ["recovery.stream_failure_surfaced", "recovery.stream_silence_bounded", "stream.ends_with_message_stop"],
          f"{PEERS} #15; https://github.com/decolua/9router/issues/3409 (a stream that stalls and never finishes); https://github.com/ollama/ollama/pull/14932",
          f"After message_start the stream goes silent; {STALL_S:g} s later the gateway's idle timeout closes it, with no error event and no message_stop (judged under a 1 s limit).",
          hang_up_stream(_message_start, STALL_S), profile=SHORT_SILENCE_PROFILE),
    # ---------------------------------------------------------------- buffering
    fault("stream-buffered-until-complete", ["recovery.stream_not_buffered"],
          "https://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_buffering (proxy_buffering on holds the upstream response); "
          "peers.md §5 (trustedrouter-provider-check and webai-at-home test incremental delivery against whole-body buffering, fake streaming)",
          f"The gateway holds each stream until it is complete, then sends it in one piece; its backend takes {BACKEND_PACE_S:g} s per chunk, so long answers arrive late and all at once.",
          compose(_held_until_complete, stall_stream(_slow_backend))),
)
