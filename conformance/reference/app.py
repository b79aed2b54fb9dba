"""The faithful reference server as an ASGI app: routing, check order, body limits and responses.

Owns which route answers what, the order checks run in (path/method → body size → auth → version →
beta → simulation hook → body JSON → shape → model → model rules), the 32 MB limit while reading, and the
response headers (`request-id` on everything, `x-should-retry: false` on a refused key). Rules live in
headers.py / validation.py / content.py, bodies in responses.py / sse_writer.py / models_api.py, simulated
429/529/413 and mid-stream errors in simulate.py. Knows nothing about faults: they wrap this app from outside.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from conformance._types import JSON, RawHeaders
from conformance.reference import (
    context_edits,
    headers,
    models_api,
    prompt_cache,
    responses,
    simulate,
    sse_writer,
    toy_model,
    turns,
)
from conformance.reference.api_error import ApiError, ErrorType, invalid
from conformance.reference.validation import MAX_BODY_BYTES, Endpoint, MessagesRequest, parse_json, validate
from conformance.reference.variant import DEFAULT, Variant

_DRAIN_LIMIT = 2 * MAX_BODY_BYTES
_TOO_LARGE = ApiError(ErrorType.REQUEST_TOO_LARGE, "Request exceeds the maximum allowed number of bytes.")
# A refused key is final: the first-party 401 tells the SDK not to retry it (capture 52).
_AUTH_FAILURE_HEADERS = {"x-should-retry": "false"}

Handler = Callable[[Request, headers.Negotiated, str, str], Awaitable[Response]]


def dumps(value: JSON) -> bytes:
    """Compact UTF-8 JSON, as the first-party API sends it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(
    value: JSON, *, status: int = 200, rid: str, extra: dict[str, str] | None = None
) -> Response:
    """An application/json response carrying the request id."""
    return Response(dumps(value), status, {"request-id": rid, **(extra or {})}, media_type="application/json")


def error_response(error: ApiError, rid: str, *, extra: dict[str, str] | None = None) -> Response:
    """The Anthropic error envelope with the status the error type calls for."""
    return json_response(error.envelope(rid), status=error.http_status, rid=rid, extra=extra)


async def _serve_lifespan(receive: Receive, send: Send) -> None:
    """Acknowledge lifespan events so servers that send them start and stop cleanly."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def is_http(scope: Scope, receive: Receive, send: Send) -> bool:
    """True for an HTTP request to answer; lifespan events are served here and any other scope is ignored."""
    if scope["type"] == "lifespan":
        await _serve_lifespan(receive, send)
    return bool(scope["type"] == "http")


def _raw_headers(request: Request) -> RawHeaders:
    return tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in request.headers.raw)


async def _drain(chunks: AsyncIterator[bytes], budget: int) -> None:
    async for chunk in chunks:
        budget -= len(chunk)
        if budget <= 0:
            return


async def _read_body(request: Request) -> bytes | None:
    """Read up to the limit; None means too large (the rest is drained, never buffered)."""
    body = bytearray()
    chunks = request.stream().__aiter__()
    async for chunk in chunks:
        if len(body) + len(chunk) > MAX_BODY_BYTES:
            await _drain(chunks, _DRAIN_LIMIT)
            return None
        body += chunk
    return bytes(body)


def _declared_too_large(request: Request) -> bool:
    declared = request.headers.get("content-length", "")
    return declared.isdigit() and int(declared) > MAX_BODY_BYTES


@dataclass(frozen=True, slots=True)
class _Route:
    method: str
    handler: Handler


class ReferenceApp:
    """A faithful, deterministic Anthropic Messages API; one instance per key and variant."""

    def __init__(self, *, api_key: str, variant: Variant = DEFAULT) -> None:
        self.api_key = api_key
        self.variant = variant
        self.cache = prompt_cache.PromptCache()  # one workspace's prompt cache, shared by every request to this instance
        self._routes = {
            "/v1/messages": _Route("POST", self._messages),
            "/v1/messages/count_tokens": _Route("POST", self._count_tokens),
            "/v1/models": _Route("GET", self._list_models),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not await is_http(scope, receive, send):
            return
        request = Request(scope, receive)
        try:
            response = await self._respond(request)
        except ClientDisconnect:
            return  # nobody is left to answer
        if self.variant.first_byte_delay_s:
            await asyncio.sleep(self.variant.first_byte_delay_s)
        await response(scope, receive, send)

    def _route(self, path: str) -> tuple[_Route, str] | None:
        if path in self._routes:
            return self._routes[path], ""
        prefix = "/v1/models/"
        if path.startswith(prefix) and path[len(prefix) :] and "/" not in path[len(prefix) :]:
            return _Route("GET", self._retrieve_model), path[len(prefix) :]
        return None

    async def _respond(self, request: Request) -> Response:
        rid = responses.request_id()
        found = self._route(request.url.path)
        if found is None:
            return await self._reject(request, ApiError(ErrorType.NOT_FOUND, "Not Found"), rid)
        route, argument = found
        if request.method != route.method:
            error = invalid("Method Not Allowed", status=405)
            return await self._reject(request, error, rid, extra={"allow": route.method})
        if _declared_too_large(request):
            return await self._reject(request, _TOO_LARGE, rid)
        raw = _raw_headers(request)
        failure = headers.check_auth(raw, api_key=self.api_key)
        if failure is not None:
            return await self._reject(request, failure, rid, extra=_AUTH_FAILURE_HEADERS)
        negotiated = headers.negotiate(raw)
        if isinstance(negotiated, ApiError):
            return await self._reject(request, negotiated, rid)
        simulation = simulate.requested(raw)
        if isinstance(simulation, ApiError):
            return await self._reject(request, simulation, rid)
        refused = simulate.refusal(simulation) if simulation is not None else None
        if refused is not None:
            return await self._reject(request, refused[0], rid, extra=refused[1])
        return await route.handler(request, negotiated, rid, argument)

    async def _reject(
        self, request: Request, error: ApiError, rid: str, *, extra: dict[str, str] | None = None
    ) -> Response:
        await _drain(request.stream().__aiter__(), _DRAIN_LIMIT)
        return error_response(error, rid, extra=extra)

    async def _validated(
        self, request: Request, negotiated: headers.Negotiated, endpoint: Endpoint
    ) -> ApiError | MessagesRequest:
        raw = await _read_body(request)
        if raw is None:
            return _TOO_LARGE
        body = parse_json(raw)
        if isinstance(body, ApiError):
            return body
        return validate(body, endpoint=endpoint, version=negotiated.version)

    async def _messages(self, request: Request, negotiated: headers.Negotiated, rid: str, _: str) -> Response:
        valid = await self._validated(request, negotiated, Endpoint.MESSAGES)
        if isinstance(valid, ApiError):
            return error_response(valid, rid)
        refused = context_edits.problem(valid.context_management, negotiated.betas)
        if refused is not None:
            return error_response(invalid(refused), rid)
        # The model reads (and the cache keys on) the prompt after context editing; the client keeps its own history.
        edited = context_edits.apply(valid.context_management, negotiated.betas, system=valid.system, tools=valid.tools, messages=valid.messages)
        input_tokens = toy_model.input_tokens(system=valid.system, messages=edited.messages, tools=valid.tools)
        marks = prompt_cache.breakpoints(valid.model.id, system=valid.system, tools=valid.tools, messages=edited.messages, top_level=valid.cache_control)
        cache = self.cache.use(valid.model, marks)
        report = {"applied_edits": edited.applied} if edited.applied is not None else None
        pause = simulate.requested(_raw_headers(request)) is simulate.Simulation.PAUSE_TURN
        generation = turns.respond(valid, reply=self.variant.model_reply, pause=pause)
        msg_id = responses.message_id()
        answer = responses.Answer(valid, generation, input_tokens=input_tokens, msg_id=msg_id, variant=self.variant, cache=cache, context_management=report)
        if not valid.stream:
            return json_response(responses.message_body(answer), rid=rid)
        events = responses.stream_events(answer)
        if simulate.requested(_raw_headers(request)) is simulate.Simulation.MIDSTREAM_ERROR:
            events = simulate.break_off(events)
        events = list(events)
        groups = list(sse_writer.event_chunks(events, self.variant))
        paces = [_pace(event, self.variant) if index else 0.0 for index, event in enumerate(events)]

        async def body_chunks() -> AsyncIterator[bytes]:
            for pace, group in zip(paces, groups, strict=True):
                if pace:
                    await asyncio.sleep(pace)
                for chunk in group:
                    yield chunk

        return StreamingResponse(
            body_chunks(),
            headers={"request-id": rid, "cache-control": "no-cache"},
            media_type="text/event-stream; charset=utf-8",
        )

    async def _count_tokens(
        self, request: Request, negotiated: headers.Negotiated, rid: str, _: str
    ) -> Response:
        valid = await self._validated(request, negotiated, Endpoint.COUNT_TOKENS)
        if isinstance(valid, ApiError):
            return error_response(valid, rid)
        count = toy_model.input_tokens(system=valid.system, messages=valid.messages, tools=valid.tools)
        return json_response({"input_tokens": count}, rid=rid)

    async def _list_models(
        self, request: Request, negotiated: headers.Negotiated, rid: str, _: str
    ) -> Response:
        page = models_api.list_page(request.query_params)
        return error_response(page, rid) if isinstance(page, ApiError) else json_response(page, rid=rid)

    async def _retrieve_model(
        self, request: Request, negotiated: headers.Negotiated, rid: str, name: str
    ) -> Response:
        info = models_api.retrieve(name)
        return error_response(info, rid) if isinstance(info, ApiError) else json_response(info, rid=rid)


def _pace(event: responses.Event, variant: Variant) -> float:
    """Seconds to wait before sending ``event``: the variant's pace between events, plus the time a thought takes."""
    delta = event.data.get("delta")
    thinking = event.name == "content_block_delta" and isinstance(delta, dict) and delta.get("type") == "thinking_delta"
    return variant.event_delay_s + (variant.thinking_delay_s if thinking else 0.0)


def create_app(*, api_key: str, variant: Variant | None = None) -> ASGIApp:
    """The faithful app; `variant` picks a legal wire layout for streams."""
    return ReferenceApp(api_key=api_key, variant=variant or DEFAULT)
