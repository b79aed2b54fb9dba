"""Judge one captured answer on its own: a Message body, an error body, or a raw SSE stream.

For the body a user saved with curl while debugging a client. It is judged by the run's judge
(``judge.py``: the same selection, the same checks, the same outcomes), with every rule a saved
answer can put to the test: a file offers no request of the suite's plan, no twin and no response
header (``Need``), so only the rules that read nothing else run: schemas, framing, the stream
grammar, usage types, the error envelope. A stream that does not begin with message_start is a
fragment (a captured tail): it does not offer the stream's start either, so it is judged event by event only.

A stream is read from the file in slices (``sse.reading.read_file``): a recording of any length
is judged whole, in flat memory, with no cap on its events. A file has no arrival times, so no
silence is judged. A check a limit of ours stopped (an event over the size cap) is ``error``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .auth import Auth
from .contract.loader import load_contract
from .contract.model import Contract, Need, RuleKind
from .errors import ConfigError
from .exchange import Chunk, Exchange, RecordedRequest
from .findings import Finding, Outcome
from .judge import Applied, Judge, apply, outcome_of, shown
from .scenarios import Request
from .sse.reading import StreamReading, read_file

_HEAD = 64 * 1024  # bytes read to tell a JSON document from a stream without reading a long stream whole
SAVED = frozenset({Need.STREAM_START})  # what a saved answer offers a check: a whole stream (a fragment not even that)


@dataclass(frozen=True, slots=True)
class Judged:
    """What ``validate`` found: the kind it recognised and one finding per applicable check."""

    kind: str
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = ()

    @property
    def must_failures(self) -> int:
        """How many MUST checks failed."""
        return sum(1 for f in self.findings if f.outcome is Outcome.FAIL)


_FIELD = re.compile(rb"^(?:event|data)[ \t]*:", re.MULTILINE)  # an SSE field line that makes an event (WHATWG: "event" or "data")


def _nothing_to_judge(path: Path) -> str | None:
    """Why the file holds neither a JSON document nor an SSE event (None when it holds one): judging it would report the file, not a target."""
    with path.open("rb") as handle:
        head = handle.read(_HEAD)
    if not head:
        return "an empty file"
    if _FIELD.search(head.replace(b"\r", b"\n")):
        return None
    start = head.lstrip(b" \t\r\n\xef\xbb\xbf")
    if start[:1] in (b"{", b"["):
        try:
            json.loads(path.read_bytes())
        except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
            return f"text that starts like JSON but does not parse ({exc})"
        return None
    first = start.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    return f"text that starts {json.dumps(first[:60], ensure_ascii=False)}" if first else "only blank space"


def _document(path: Path) -> bytes | None:
    """The whole file when it may be one JSON document (it starts with { or [), else None: a stream is never read whole."""
    with path.open("rb") as handle:
        head = handle.read(_HEAD)
    if head.lstrip(b" \t\r\n\xef\xbb\xbf")[:1] not in (b"{", b"["):
        return None
    return path.read_bytes()


def sniff(data: bytes) -> str:
    """``stream``, ``message``, ``error``, ``count_tokens``, ``models`` or ``json``."""
    try:
        value = json.loads(data)
    except ValueError:
        return "stream"
    if isinstance(value, dict):
        kind = value.get("type")
        if kind == "message":
            return "message"
        if kind == "error" or ("error" in value and "type" not in value):
            return "error"
        if "input_tokens" in value and len(value) <= 3 and kind is None:
            return "count_tokens"
        if isinstance(value.get("data"), list) and "has_more" in value:
            return "models"
    return "json"


def _status_for(contract: Contract, data: bytes) -> int:
    try:
        kind = json.loads(data)["error"]["type"]
    except (ValueError, KeyError, TypeError):
        return 400
    return next((status for status, types in contract.status_types.items() if kind in types), 400)


def _fragment(reading: StreamReading | None) -> bool:
    """A stream whose first event is neither message_start nor a ping: a captured tail."""
    first = next(iter(reading.events), None) if reading is not None else None
    return first is not None and (first.data or {}).get("type") not in ("message_start", "ping")


def validate(path: Path | str, *, status: int | None = None, api_version: str = "2023-06-01", spec_dir: str | None = None) -> Judged:
    """Judge the file at ``path`` with every check that needs nothing but the answer itself."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{path}: a directory; give the file of one saved answer (a JSON body or an SSE stream)")
    try:
        empty = None if status is not None and status >= 300 else _nothing_to_judge(path)  # an error page of any shape is a body to judge
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    if empty is not None:
        raise ConfigError(f"{path}: no SSE events or JSON found: {empty}")
    document = _document(path)
    contract = load_contract(api_version, "anthropic", spec_dir=spec_dir)
    kind = sniff(document) if document is not None else "stream"
    refused = status is not None and status >= 300  # an error body however it looks: judged whole, never as a stream
    data = path.read_bytes() if refused and document is None else document if document is not None and kind != "stream" else b""  # a stream stays on disk
    stream = kind == "stream"
    endpoint = {"count_tokens": "count_tokens", "models": "models"}.get(kind, "messages")
    code = status or (_status_for(contract, data) if kind == "error" else 200)
    media = "text/event-stream; charset=utf-8" if stream else "application/json"
    body = json.dumps({"stream": True}).encode() if stream else b"{}"
    exchange = Exchange(
        id="validate",
        request=RecordedRequest(method="POST", url="file://" + str(path.resolve()), headers=(), body=body),
        status=code,
        headers=(("content-type", media),),
        body=data,
        chunks=(Chunk(offset=0, size=len(data), t=0.0),) if data else (),
    )
    request = Request(scenario="validate", endpoint=endpoint, method="POST", path="", headers=(), auth=Auth.NONE, body=body, stream=stream, tags=frozenset())
    reading = read_file(path, max_event_bytes=contract.max_event_bytes) if stream and code < 300 else None
    fragment = _fragment(reading)
    judge = Judge(contract, {"validate": request}, {"validate": exchange}, model="", readings={"validate": reading} if reading is not None else None)
    subject = judge.subject(exchange)
    offered = frozenset() if fragment else SAVED
    findings: list[Finding] = []
    for rule in contract.rules.values():
        if rule.kind is not RuleKind.PROPERTY or rule.on is None or not rule.judgeable_from(offered) or not judge.select(rule.on):
            continue
        fn = judge.check(rule.id)
        result = apply(fn, subject) if fn is not None else None
        if result is None or result.applied in (Applied.NOT_APPLICABLE, Applied.NOT_FORCED, Applied.BROKEN_OFF):
            continue
        if result.applied is Applied.CRASHED or (result.applied is Applied.UNJUDGEABLE and subject.limit() is not None):
            message = result.reason if result.applied is Applied.UNJUDGEABLE else f"check {rule.id} raised {result.reason}"
            findings.append(Finding(check_id=rule.id, case="", outcome=Outcome.ERROR, level=rule.level, message=message))  # a limit of ours, never the file's fault
        elif result.applied is Applied.JUDGED:
            outcome = outcome_of(rule.level) if result.violations else Outcome.PASS
            findings.append(Finding(check_id=rule.id, case="", outcome=outcome, level=rule.level, message=shown(result.violations, tagged=False), violations=result.violations, judged=result.judged))
    notes = ("a fragment: the stream does not start with message_start, so only per-event checks ran",) if fragment else ()
    return Judged(kind=kind, findings=tuple(findings), notes=notes)
