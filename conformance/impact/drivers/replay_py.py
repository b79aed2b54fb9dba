"""Replay recorded answers into the official Python SDK (1.x or 2.x), run by that SDK's own interpreter.

A standalone script: it imports nothing of the suite (the SDK's venv does not have it). Usage:
``python replay_py.py BATCH.jsonl`` prints one JSON line per exchange, flushed as each is done, so a
timeout still leaves the finished ones. The SDK talks to a mock transport (httpx's, or httpx2's for
2.x) that answers every request with the recorded status, headers and body, in the recorded reads;
nothing leaves the process. What the application would hold is reported as plain JSON: the
returned object, or the exception's class, message, status and body.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from typing import Any

import anthropic

http: Any = sys.modules.get("httpx2") or sys.modules.get("httpx")  # whichever HTTP library this SDK imported (2.x: httpx2)

_DROPPED = {"content-length", "content-encoding", "transfer-encoding", "connection"}  # the recording holds the decoded body


def _answer(item: dict[str, Any]) -> Any:
    chunks = [base64.b64decode(c) for c in item["chunks"]]
    headers = [(k, v) for k, v in item["headers"] if k.lower() not in _DROPPED]

    def handler(request: Any) -> Any:
        return http.Response(item["status"], headers=headers, content=iter(chunks))

    return handler


def _plain(value: Any) -> Any:
    """The SDK's object as JSON, as the application would see it (model fields, extra fields included)."""
    if hasattr(value, "to_dict"):
        return value.to_dict(mode="json")
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return value


def _params(body: Any) -> dict[str, Any]:
    """A valid call: the recorded values where they have the right type (the mock answers whatever is sent)."""
    body = body if isinstance(body, dict) else {}
    model = body.get("model") if isinstance(body.get("model"), str) else "claude-sonnet-4-5"
    tokens = min(body["max_tokens"], 1024) if isinstance(body.get("max_tokens"), int) and body["max_tokens"] > 0 else 32  # the SDK refuses large non-streamed ones
    messages = body.get("messages") if isinstance(body.get("messages"), list) and body.get("messages") else [{"role": "user", "content": "hi"}]
    return {"model": model, "max_tokens": tokens, "messages": messages}


def _call(client: Any, item: dict[str, Any]) -> Any:
    path, params = item["path"], _params(item.get("body"))
    if item["method"] == "POST" and path == "/v1/messages":
        if item["stream"]:
            with client.messages.stream(**params) as stream:
                return _plain(stream.get_final_message())
        return _plain(client.messages.create(**params))
    if item["method"] == "POST" and path == "/v1/messages/count_tokens":
        return _plain(client.messages.count_tokens(model=params["model"], messages=params["messages"]))
    if item["method"] == "GET" and path == "/v1/models":
        page = client.models.list()
        return {"data": [_plain(m) for m in page.data], "has_more": getattr(page, "has_more", None)}
    if item["method"] == "GET" and path.startswith("/v1/models/"):
        return _plain(client.models.retrieve(path.rsplit("/", 1)[1]))
    return None


def _error(exc: BaseException) -> dict[str, Any]:
    body = getattr(exc, "body", None)
    try:
        json.dumps(body)
    except (TypeError, ValueError):
        body = repr(body)
    return {"type": type(exc).__name__, "message": str(exc)[:2000], "status": getattr(exc, "status_code", None), "body": body}


def replay(item: dict[str, Any]) -> dict[str, Any]:
    """What the SDK makes of one recorded answer."""
    transport = http.MockTransport(_answer(item))
    started = time.monotonic()
    with http.Client(transport=transport) as http_client, anthropic.Anthropic(
        api_key="sk-ant-replay", base_url="http://replay.invalid", max_retries=0, http_client=http_client
    ) as client:
        try:
            result = _call(client, item)
        except Exception as exc:
            return {"id": item["id"], "outcome": "raised", "error": _error(exc), "ms": round((time.monotonic() - started) * 1000)}
    if result is None:
        return {"id": item["id"], "outcome": "skipped", "why": f"no SDK call sends {item['method']} {item['path']}"}
    return {"id": item["id"], "outcome": "returned", "result": result, "ms": round((time.monotonic() - started) * 1000)}


def main() -> int:
    print(json.dumps({"hello": f"anthropic {anthropic.__version__}"}), flush=True)
    with open(sys.argv[1], encoding="utf-8") as batch:
        for line in batch:
            if line.strip():
                print(json.dumps(replay(json.loads(line)), default=repr), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
