"""Hand-built recorded values for check tests: exchanges, SSE bodies and the Subject a judge would build.

Nothing here judges; it only assembles the inputs a check reads, the way ``Judge.subject`` does,
so each test states its status, headers, body and request in a few lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from conformance.auth import Auth
from conformance.checks.registry import registered
from conformance.checks.subject import SchemaBook, Subject
from conformance.contract.model import Contract
from conformance.exchange import Chunk, Exchange, RecordedRequest
from conformance.findings import Judgement, NotApplicable, Violation
from conformance.scenarios import Request
from conformance.sse.reading import read_stream

from . import _events as ev
from ._events import MSG_ID

MODEL = "claude-haiku-4-5"
PLAIN_TEXT = "Grüße ok"
PROMPT = f"Reply with exactly this text and nothing else: {PLAIN_TEXT}"
URL = "http://127.0.0.1:9/v1/messages"


def request_json(**changes: Any) -> dict[str, Any]:
    """The plain scenario's body; a ``None`` value removes the key."""
    body: dict[str, Any] = {"model": MODEL, "max_tokens": 32, "messages": [{"role": "user", "content": PROMPT}]}
    for key, value in changes.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


def message(text: str = "Grüße ok", **changes: Any) -> dict[str, Any]:
    """A non-streamed Message as Anthropic sends it, with ``changes`` applied to its top-level keys."""
    body: dict[str, Any] = {
        "id": MSG_ID,
        "type": "message",
        "role": "assistant",
        "model": "claude-haiku-4-5-20251001",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 21, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
    }
    body.update(changes)
    return body


def message_without(key: str) -> dict[str, Any]:
    """A Message missing one top-level key: the schema check flags it, the property checks leave it to the schema."""
    body = message()
    del body[key]
    return body


def error_body(kind: str = "invalid_request_error", text: str = "max_tokens: Field required") -> dict[str, Any]:
    """Anthropic's error envelope (with the request_id added since 2025)."""
    return {"type": "error", "error": {"type": kind, "message": text}, "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"}


def run(check_id: str, subject: Subject) -> list[Violation]:
    """Run one registered check on one subject: its violations."""
    result = registered()[check_id](subject)
    return list(result.violations)


def found_by(check_ids: Iterable[str], subject: Subject) -> dict[str, list[Violation]]:
    """The violations of each check that found any; a check with nothing to judge here (NotApplicable) is left out."""
    out: dict[str, list[Violation]] = {}
    for check_id in check_ids:
        try:
            found = run(check_id, subject)
        except NotApplicable:
            continue
        if found:
            out[check_id] = found
    return out


def judged(check_id: str, subject: Subject) -> tuple[str, ...]:
    """What a check says it judged (empty: the judge makes that a skip)."""
    result = registered()[check_id](subject)
    assert isinstance(result, Judgement), f"{check_id} returns {type(result).__name__}, not a Judgement"
    return result.judged


def violations(subject: Subject, check_ids: Iterable[str], *, located: bool = False) -> dict[str, list[str]]:
    """The violation messages of every listed check that found any (with their locators when ``located``); a skip finds nothing."""
    return {
        check_id: [f"{v.message} (at {v.at})" if located else v.message for v in found]
        for check_id, found in found_by(check_ids, subject).items()
    }


def messages(check_id: str, subject: Subject) -> list[str]:
    """The violation messages of one check, in order."""
    return [v.message for v in run(check_id, subject)]


class Build:
    """Builds the recorded values a check reads, against one loaded contract."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self.schemas = SchemaBook(contract)
        self.facts = contract.model_facts(MODEL)

    def exchange(
        self,
        *,
        status: int | None = 200,
        body: bytes | dict[str, Any] | str = b"",
        headers: Iterable[tuple[str, str]] | None = None,
        request: dict[str, Any] | None = None,
        scenario: str = "plain",
        chunks: tuple[Chunk, ...] = (),
        error: str | None = None,
        error_kind: str | None = None,
        truncated: bool = False,
        content_type: str | None = None,
        elapsed: float = 0.0,
    ) -> Exchange:
        """One recorded exchange; a dict body is sent as compact JSON, a stream request gets an SSE content type."""
        request = request_json() if request is None else request
        raw = json.dumps(body).encode() if isinstance(body, dict) else body.encode() if isinstance(body, str) else body
        if headers is None:
            streamed = request.get("stream") is True and status is not None and 200 <= status < 300
            kind = content_type or ("text/event-stream; charset=utf-8" if streamed else "application/json")
            headers = [("content-type", kind), ("request-id", "req_011CSHoEeqs5C35K2UUqR7Fy")]
        sent = RecordedRequest(method="POST", url=URL, headers=(("content-type", "application/json"), ("x-api-key", "[REDACTED]")), body=json.dumps(request).encode())
        return Exchange(id=scenario, request=sent, status=status, headers=tuple(headers), body=raw, chunks=chunks,
                        error=error, error_kind=error_kind, truncated=truncated, elapsed=elapsed)

    def subject(
        self,
        exchange: Exchange,
        *,
        marker: str | None = None,
        twin: Exchange | None = None,
        tags: Iterable[str] = (),
        expect_text: str | None = None,
        peers: Iterable[Exchange] = (),
    ) -> Subject:
        """The Subject the judge would build: stream reading for a successful stream, twin when given, the run's other exchanges as peers."""
        body = exchange.request.body
        data = json.loads(body) if body else {}
        stream = isinstance(data, dict) and data.get("stream") is True
        request = Request(
            scenario=exchange.id,
            endpoint="messages",
            method="POST",
            path="/v1/messages",
            headers=exchange.request.headers,
            auth=Auth.X_API_KEY,
            body=body,
            stream=stream,
            tags=frozenset(tags),
            marker=marker,
            twin=twin.id if twin is not None else None,
            expect_text=expect_text,
        )
        reading = None
        if exchange.streamed and exchange.ok:
            reading = read_stream(exchange.body, exchange.chunks, max_event_bytes=self.contract.max_event_bytes)
        run_exchanges = {e.id: e for e in (exchange, *peers)}
        return Subject(exchange=exchange, request=request, contract=self.contract, facts=self.facts, schemas=self.schemas, reading=reading, twin=twin, peers=run_exchanges)

    def plain(self, body: bytes | dict[str, Any] | str | None = None, *, status: int = 200, request: dict[str, Any] | None = None, marker: str | None = None, **kwargs: Any) -> Subject:
        """A non-streamed answer (a Message by default)."""
        payload = message() if body is None else body
        return self.subject(self.exchange(status=status, body=payload, request=request, **kwargs), marker=marker)

    def stream(
        self,
        events: Iterable[Mapping[str, Any] | bytes] | bytes | None = None,
        *,
        request: dict[str, Any] | None = None,
        marker: str | None = None,
        twin: Exchange | None = None,
        expect_text: str | None = None,
        **kwargs: Any,
    ) -> Subject:
        """A streamed answer: events (or raw bytes) through the real SSE reader; the plain prompt asks for exactly "Grüße ok"."""
        raw = events if isinstance(events, bytes) else ev.sse(ev.text_events() if events is None else events)
        body = request_json(stream=True) if request is None else {**request, "stream": True}
        expected = expect_text if expect_text is not None or request is not None else PLAIN_TEXT
        return self.subject(self.exchange(body=raw, request=body, scenario="plain.stream", **kwargs), marker=marker, twin=twin, expect_text=expected)

    def real(self, path: Path, request: dict[str, Any] | None = None) -> Subject:
        """A recorded answer (tests/fixtures/captures), a stream or a Message body, as the answer to ``request`` with room for any length."""
        body = {**(request_json() if request is None else request), "max_tokens": 64000}
        return self.stream(path.read_bytes(), request=body) if path.suffix == ".sse" else self.plain(path.read_bytes(), request=body)

    def error(self, body: bytes | dict[str, Any] | str | None = None, *, status: int = 400, **kwargs: Any) -> Subject:
        """A non-2xx answer (Anthropic's envelope by default)."""
        payload = error_body() if body is None else body
        return self.subject(self.exchange(status=status, body=payload, scenario="auth.missing", **kwargs))

    def twin(self, body: dict[str, Any] | None = None, *, status: int = 200, scenario: str = "plain") -> Exchange:
        """The non-stream twin of a stream."""
        return self.exchange(status=status, body=message() if body is None else body, scenario=scenario)
