"""A small OpenAI-format server on 127.0.0.1 for LiteLLM to translate to: chat completions, responses, models.

Owns the HTTP side: Bearer auth, JSON parsing, OpenAI's error envelope, and both stream framings
(chat: `data: {chunk}` lines, then `data: [DONE]`, no `event:` lines; responses: typed `event:` lines
with a `sequence_number`). The answers come from openai_chat.py and openai_responses.py.
Every request body it receives is appended to the JSONL file named by $TOY_BACKEND_LOG, so a finding
can be traced to what LiteLLM actually sent upstream. Run as a script (GET /healthz answers
once it is up); the key travels in $TOY_BACKEND_KEY, never in argv.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent))  # openai_chat beside this file, when run as a script
import openai_chat
import openai_responses
from openai_chat import ApiError

KEY_ENV = "TOY_BACKEND_KEY"
LOG_ENV = "TOY_BACKEND_LOG"
_log_lock = threading.Lock()


def _error(err: ApiError) -> JSONResponse:
    return JSONResponse(err.body(), status_code=err.status)


def _record(body: bytes, path: str) -> None:
    log = os.environ.get(LOG_ENV)
    if not log:
        return
    try:
        parsed: Any = json.loads(body)
    except ValueError:
        parsed = body.decode("utf-8", "replace")
    with _log_lock, open(log, "a", encoding="utf-8") as out:
        out.write(json.dumps({"t": time.time(), "path": path, "body": parsed}, ensure_ascii=False) + "\n")


def _authorized(request: Request) -> ApiError | None:
    key = os.environ[KEY_ENV]
    given = request.headers.get("authorization", "")
    if given == f"Bearer {key}":
        return None
    shown = given.removeprefix("Bearer ")[:8] or "<none>"
    if not given:
        return ApiError(401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth.")
    return ApiError(401, f"Incorrect API key provided: {shown}****. You can find your API key at https://platform.openai.com/account/api-keys.", code="invalid_api_key")


async def _sse(answer: openai_chat.Answer, *, include_usage: bool) -> AsyncIterator[bytes]:
    for chunk in openai_chat.chunks(answer, include_usage=include_usage):
        yield b"data: " + json.dumps(chunk, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"
    yield b"data: [DONE]\n\n"


async def _admitted(request: Request, bad_json: str) -> Any | Response:
    """The request's parsed JSON body, recorded; or the error answer when its key is refused or it is not JSON.

    The two endpoints word the parse error differently on api.openai.com, hence ``bad_json``.
    """
    raw = await request.body()
    _record(raw, request.url.path)
    denied = _authorized(request)
    if denied is not None:
        return _error(denied)
    try:
        return json.loads(raw)
    except ValueError:
        return _error(ApiError(400, bad_json))


async def chat_completions(request: Request) -> Response:
    """POST /v1/chat/completions, streamed or not."""
    body = await _admitted(request, "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)")
    if isinstance(body, Response):
        return body
    try:
        answer = openai_chat.answer(body)
    except ApiError as err:
        return _error(err)
    headers = {"x-request-id": "req_" + answer.id.removeprefix("chatcmpl-")}
    if body.get("stream") is True:
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        return StreamingResponse(_sse(answer, include_usage=include_usage), media_type="text/event-stream; charset=utf-8", headers=headers)
    return JSONResponse(openai_chat.completion(answer), headers=headers)


async def _responses_sse(answer: openai_chat.Answer, body: dict[str, Any]) -> AsyncIterator[bytes]:
    for number, (name, data) in enumerate(openai_responses.events(answer, body)):
        payload = {"type": name, "sequence_number": number, **data}
        yield f"event: {name}\ndata: {json.dumps(payload, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


async def responses(request: Request) -> Response:
    """POST /v1/responses, streamed or not."""
    body = await _admitted(request, "We could not parse the JSON body of your request.")
    if isinstance(body, Response):
        return body
    try:
        answer = openai_responses.answer(body)
    except ApiError as err:
        return _error(err)
    headers = {"x-request-id": "req_" + answer.id.removeprefix("resp_")}
    if body.get("stream") is True:
        return StreamingResponse(_responses_sse(answer, body), media_type="text/event-stream; charset=utf-8", headers=headers)
    return JSONResponse(openai_responses.response(answer, body), headers=headers)


async def models(request: Request) -> Response:
    """GET /v1/models: the one model this server has."""
    denied = _authorized(request)
    if denied is not None:
        return _error(denied)
    return JSONResponse({"object": "list", "data": [{"id": openai_chat.MODEL, "object": "model", "created": 1700000000, "owned_by": "toy"}]})


async def healthz(request: Request) -> Response:
    """GET /healthz: the harness polls it until the server is up."""
    return JSONResponse({"ok": True})


async def not_found(request: Request, exc: Exception) -> Response:
    """Unknown routes get OpenAI's 404 envelope."""
    return _error(ApiError(404, f"Invalid URL ({request.method} {request.url.path})"))


app = Starlette(
    routes=[
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/responses", responses, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
    ],
    exception_handlers={404: not_found},
)


def main() -> int:
    """Serve until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if not os.environ.get(KEY_ENV):
        parser.error(f"set {KEY_ENV}")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False, server_header=False, lifespan="off")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
