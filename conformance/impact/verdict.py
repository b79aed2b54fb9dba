"""What the recorded bytes say an exchange means, and how a client's reading of it compares: pure values.

Owns the reference a client is held to (the suite's own reading: the rebuilt Message of a stream,
the body of a plain answer, the error envelope of a refusal) and the classification of what a
client made of the same bytes: ``ok``, ``raised`` (it threw where the bytes hold a usable answer),
``wrong`` (it returned, but not what the bytes say: lost text, a tool call without its input, a
wrong stop_reason, an error it swallowed), ``n/a`` (the client has no call that sends this request)
or ``not checked`` (not installed, timed out: a limit of ours, never a verdict). Knows no processes.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .._types import JSON, JSONObject
from ..exchange import Exchange
from ..sse.reading import read_stream

SHOWN = 60  # characters of a text quoted in a summary


class Impact(enum.Enum):
    """What a client made of one exchange, worst first in ``RANK``."""

    RAISED = "raised"
    WRONG = "wrong"
    OK = "ok"
    NOT_APPLICABLE = "n/a"
    NOT_CHECKED = "not checked"


RANK = {Impact.RAISED: 4, Impact.WRONG: 3, Impact.OK: 2, Impact.NOT_APPLICABLE: 1, Impact.NOT_CHECKED: 0}


@dataclass(frozen=True, slots=True)
class Verdict:
    """One client on one exchange: the outcome and one line a person can act on."""

    impact: Impact
    summary: str
    exception: str | None = None  # "Type: message" when the client raised

    def record(self) -> JSONObject:
        """The verdict as results.json stores it."""
        return {"outcome": self.impact.value, "summary": self.summary, **({"exception": self.exception} if self.exception else {})}


@dataclass(frozen=True, slots=True)
class Outline:
    """The parts of a Message a client hands an application, in a form every client's result reduces to."""

    text: str
    thinking: str
    tools: tuple[tuple[str, str], ...]  # (name, input as canonical JSON)
    stop_reason: str | None
    output_tokens: int | None


@dataclass(frozen=True, slots=True)
class Reference:
    """What the bytes of one exchange say, for a client to be held to."""

    id: str
    kind: str  # "message", "stream", "error", "count_tokens", "models", "model", "other"
    status: int
    outline: Outline | None = None
    error_message: str | None = None  # the envelope's error.message, when the body has one
    ended: bool = True  # a stream reached message_stop or an error event
    stream_error: str | None = None  # "type: message" of an error event in the stream
    value: JSON = None  # input_tokens, model ids, the model id


def path_of(exchange: Exchange) -> str:
    """The API path of a request, whatever prefix the base URL had (``/v1/...``)."""
    path = urlsplit(exchange.request.url).path
    at = path.find("/v1/")
    return path[at:] if at >= 0 else path


def _canonical(value: JSON) -> str:
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError:
            return str(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def outline(message: Mapping[str, Any]) -> Outline:
    """A Message (ours, or a client's as JSON) reduced to what applications read."""
    text, thinking, tools = [], [], []
    for block in message.get("content") or ():
        if not isinstance(block, Mapping):
            continue
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            text.append(block["text"])
        elif kind == "thinking" and isinstance(block.get("thinking"), str):
            thinking.append(block["thinking"])
        elif kind == "tool_use":
            tools.append((str(block.get("name")), _canonical(block.get("input"))))
    usage = message.get("usage")
    tokens = usage.get("output_tokens") if isinstance(usage, Mapping) else None
    stop = message.get("stop_reason")
    return Outline("".join(text), "".join(thinking), tuple(tools), stop if isinstance(stop, str) else None, tokens if isinstance(tokens, int) else None)


def _ai_outline(result: Mapping[str, Any]) -> Outline:
    """The AI SDK's parts (text, reasoning, tool-call, finish) reduced the same way; its stop_reason is the raw one it keeps."""
    text, thinking, tools = [], [], []
    for block in result.get("blocks") or ():
        kind = block.get("type")
        if kind == "text":
            text.append(str(block.get("text", "")))
        elif kind == "thinking":
            thinking.append(str(block.get("text", "")))
        elif kind == "tool_use":
            tools.append((str(block.get("name")), _canonical(block.get("input"))))
    finish = result.get("finish_reason")
    raw = finish.get("raw") if isinstance(finish, Mapping) else finish
    return Outline("".join(text), "".join(thinking), tuple(tools), raw if isinstance(raw, str) else None, None)


def _envelope_message(body: JSON) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return message if isinstance(message, str) and message else None


def reference(exchange: Exchange) -> Reference | None:
    """What the bytes say; None when there is nothing a client could have received (no answer, or a body we cut)."""
    if exchange.status is None or exchange.truncated:
        return None
    path, status = path_of(exchange), exchange.status
    if not 200 <= status < 300:
        return Reference(exchange.id, "error", status, error_message=_envelope_message(exchange.json))
    body = exchange.json
    if path == "/v1/messages" and exchange.streamed:
        reading = read_stream(exchange.body, exchange.chunks)
        event = reading.events[reading.error_at] if reading.error_at is not None else None
        stream_error = None
        if event is not None:
            error = event.data.get("error") if event.data is not None else None
            stream_error = f"{error.get('type')}: {error.get('message')}" if isinstance(error, dict) else event.raw[:200]
        message = reading.message
        return Reference(
            exchange.id,
            "stream",
            status,
            outline=outline(message) if message is not None else None,
            ended=reading.progress.ended_by is not None,
            stream_error=stream_error,
        )
    if path == "/v1/messages":
        return Reference(exchange.id, "message", status, outline=outline(body) if isinstance(body, dict) else None)
    if path == "/v1/messages/count_tokens":
        return Reference(exchange.id, "count_tokens", status, value=body.get("input_tokens") if isinstance(body, dict) else None)
    if path == "/v1/models":
        data = body.get("data") if isinstance(body, dict) else None
        return Reference(exchange.id, "models", status, value=[m.get("id") for m in data if isinstance(m, dict)] if isinstance(data, list) else None)
    if path.startswith("/v1/models/"):
        return Reference(exchange.id, "model", status, value=body.get("id") if isinstance(body, dict) else None)
    return Reference(exchange.id, "other", status)


def _quote(text: str) -> str:
    return json.dumps(text if len(text) <= SHOWN else text[:SHOWN] + "…", ensure_ascii=False)


def _differences(mine: Outline, theirs: Outline, *, tokens: bool) -> list[str]:
    """How a client's outline departs from the bytes', in the words an application author would use."""
    out = []
    for label, got, want in (("text", theirs.text, mine.text), ("thinking", theirs.thinking, mine.thinking)):
        if got == want:
            continue
        if want.startswith(got):
            out.append(f"lost {label}: kept {len(got)} of {len(want)} characters (missing {_quote(want[len(got):])})")
        else:
            out.append(f"{label} differs: client has {_quote(got)}, the bytes say {_quote(want)}")
    wanted = dict(mine.tools)
    for name, payload in theirs.tools:
        if name in wanted and payload != wanted[name]:
            empty = payload in ("{}", '""', "null")
            what = "without its input" if empty else f"with input {_quote(payload)}"
            out.append(f"tool call {name!r} {what} (the bytes say {_quote(wanted[name])})")
    missing = [name for name in wanted if name not in dict(theirs.tools)]
    if missing:
        out.append(f"tool call {', '.join(map(repr, missing))} missing")
    extra = [name for name, _ in theirs.tools if name not in wanted]
    if extra:
        out.append(f"tool call {', '.join(map(repr, extra))} that the bytes do not hold")
    if theirs.stop_reason != mine.stop_reason:
        out.append(f"stop_reason {json.dumps(theirs.stop_reason)}, the bytes say {json.dumps(mine.stop_reason)}")
    if tokens and theirs.output_tokens != mine.output_tokens:
        out.append(f"output_tokens {theirs.output_tokens}, the bytes say {mine.output_tokens}")
    return out


def _exception(error: Mapping[str, Any]) -> str:
    kind, message = str(error.get("type") or "Error"), " ".join(str(error.get("message") or "").split())
    return f"{kind}: {message[:300]}" if message else kind


def _judge_error(ref: Reference, outcome: str, raw: Mapping[str, Any]) -> Verdict:
    if outcome != "raised":
        return Verdict(Impact.WRONG, f"silently wrong: returned a result for a status {ref.status} answer")
    error = raw.get("error") or {}
    said = _exception(error)
    status = error.get("status")
    if status not in (None, ref.status):
        return Verdict(Impact.WRONG, f"silently wrong: reports status {status} for a status {ref.status} answer ({said})", said)
    if status is None:
        return Verdict(Impact.RAISED, f"throws {said} (not the status error a {ref.status} answer should give)", said)
    if ref.error_message is not None:
        seen = json.dumps(error.get("body"), ensure_ascii=False) + " " + str(error.get("message"))
        if ref.error_message not in seen and json.dumps(ref.error_message, ensure_ascii=False)[1:-1] not in seen:
            return Verdict(Impact.WRONG, f"silently wrong: error message lost: the client says {_quote(str(error.get('message')))}, the body says {_quote(ref.error_message)}", said)
    return Verdict(Impact.OK, f"ok: throws {said}", said)


def judge(ref: Reference, raw: Mapping[str, Any], *, ai_sdk: bool = False) -> Verdict:
    """Hold one client's report (a driver's JSON line) to what the bytes say."""
    outcome = raw.get("outcome")
    if outcome == "skipped":
        return Verdict(Impact.NOT_APPLICABLE, str(raw.get("why") or "the client has no call for this request"))
    if ref.kind == "error":
        return _judge_error(ref, str(outcome), raw)
    if outcome == "raised":
        said = _exception(raw.get("error") or {})
        if ref.stream_error is not None:
            return Verdict(Impact.OK, f"ok: throws {said} (the stream carried the error event {ref.stream_error})", said)
        return Verdict(Impact.RAISED, f"throws {said}", said)
    result = raw.get("result")
    if not isinstance(result, Mapping):
        return Verdict(Impact.WRONG, f"silently wrong: returned {json.dumps(result)[:SHOWN]}")
    errors = result.get("errors") if ai_sdk else None
    if errors:  # the AI SDK hands stream errors over as parts; streamText raises them
        said = _exception(errors[0])
        if ref.stream_error is not None:
            return Verdict(Impact.OK, f"ok: reports {said} (the stream carried the error event {ref.stream_error})", said)
        return Verdict(Impact.RAISED, f"reports a stream error part {said}", said)
    if ref.stream_error is not None:
        return Verdict(Impact.WRONG, f"silently wrong: returned a result although the stream carried the error event {ref.stream_error}")
    if ref.kind in ("message", "stream"):
        return _judge_message(ref, result, ai_sdk=ai_sdk)
    value = result.get("input_tokens") if ref.kind == "count_tokens" else [m.get("id") for m in result.get("data") or ()] if ref.kind == "models" else result.get("id")
    if ref.kind != "other" and value != ref.value:
        return Verdict(Impact.WRONG, f"silently wrong: {json.dumps(value)[:SHOWN]}, the bytes say {json.dumps(ref.value)[:SHOWN]}")
    return Verdict(Impact.OK, "ok")


def _judge_message(ref: Reference, result: Mapping[str, Any], *, ai_sdk: bool) -> Verdict:
    if ref.outline is None:
        return Verdict(Impact.WRONG, "silently wrong: returned a message where the bytes hold none")
    theirs = _ai_outline(result) if ai_sdk else outline(result)
    found = _differences(ref.outline, theirs, tokens=not ai_sdk)
    if not ref.ended:
        found.append("returned the message as complete although the stream ended without message_stop (a cut answer goes unnoticed)")
    if found:
        return Verdict(Impact.WRONG, "silently wrong: " + "; ".join(found))
    return Verdict(Impact.OK, "ok")
