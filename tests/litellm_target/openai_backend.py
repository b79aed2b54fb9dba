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
from collections.abc import AsyncIterator, Callable
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
# api.openai.com words an unparsable chat body at length; /v1/responses says only the first sentence.
CHAT_BAD_JSON = "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"


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


async def _serve(
    request: Request,
    *,
    bad_json: str,
    answer: Callable[[Any], openai_chat.Answer],
    id_prefix: str,
    stream: Callable[[openai_chat.Answer, dict[str, Any]], AsyncIterator[bytes]],
    whole: Callable[[openai_chat.Answer, dict[str, Any]], dict[str, Any]],
) -> Response:
    """What both generation endpoints do: record the body, check the key, parse, answer, then stream or answer whole.

    The endpoints differ only in their answer, their framing and the parse error's wording on api.openai.com.
    """
    raw = await request.body()
    _record(raw, request.url.path)
    denied = _authorized(request)
    if denied is not None:
        return _error(denied)
    try:
        body = json.loads(raw)
    except ValueError:
        return _error(ApiError(400, bad_json))
    try:
        answered = answer(body)
    except ApiError as err:
        return _error(err)
    headers = {"x-request-id": "req_" + answered.id.removeprefix(id_prefix)}
    if body.get("stream") is True:
        return StreamingResponse(stream(answered, body), media_type="text/event-stream; charset=utf-8", headers=headers)
    return JSONResponse(whole(answered, body), headers=headers)


async def _chat_sse(answer: openai_chat.Answer, body: dict[str, Any]) -> AsyncIterator[bytes]:
    options = body.get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    for chunk in openai_chat.chunks(answer, include_usage=include_usage):
        yield b"data: " + json.dumps(chunk, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"
    yield b"data: [DONE]\n\n"


async def chat_completions(request: Request) -> Response:
    """POST /v1/chat/completions, streamed or not."""
    return await _serve(request, answer=openai_chat.answer, id_prefix="chatcmpl-", stream=_chat_sse,
                        whole=lambda answer, _body: openai_chat.completion(answer), bad_json=CHAT_BAD_JSON)


async def _responses_sse(answer: openai_chat.Answer, body: dict[str, Any]) -> AsyncIterator[bytes]:
    for number, (name, data) in enumerate(openai_responses.events(answer, body)):
        payload = {"type": name, "sequence_number": number, **data}
        yield f"event: {name}\ndata: {json.dumps(payload, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


async def responses(request: Request) -> Response:
    """POST /v1/responses, streamed or not."""
    return await _serve(request, answer=openai_responses.answer, id_prefix="resp_", stream=_responses_sse,
                        whole=openai_responses.response, bad_json="We could not parse the JSON body of your request.")


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
