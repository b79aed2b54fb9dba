"""Judge one captured answer on its own: a Message body, an error body, or a raw SSE stream.

For the body a user saved with curl while debugging a client. There is no request, no twin and
no response header, so only the checks that can be judged from the body alone run: schemas,
framing, the stream grammar, usage types, the error envelope. A stream that does not begin with
message_start is a fragment (a captured tail) and is judged event by event only.

A stream is read from the file in slices (``sse.reading.read_file``): a recording of any length
is judged whole, in flat memory, with no cap on its events. A file has no arrival times, so no
silence is judged. A check a limit of ours stopped (an event over the size cap) is ``error``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .checks.registry import registered
from .checks.subject import SchemaBook, Subject, Unjudgeable
from .contract.loader import load_contract
from .contract.model import Contract, RuleKind
from .errors import ConfigError
from .exchange import Chunk, Exchange, RecordedRequest
from .findings import Finding, Level, NotApplicable, Outcome
from .scenarios import Request
from .sse.reading import StreamReading, read_file

_HEAD = 64 * 1024  # bytes read to tell a JSON document from a stream without reading a long stream whole

# Checks that need the stream from its first event: a fragment (saved from the middle) cannot be judged by them.
ORDER_CHECKS = frozenset(
    {
        "stream.message_start_first", "stream.event_order", "stream.block_indices_sequential", "stream.delta_matches_block",
        "stream.ends_with_message_stop", "stream.message_delta_stop_reason", "recovery.pre_stream_error_is_status",
    }
)
# Checks of response headers outside headers.*: a saved body has none, so a missing one is no finding.
HEADER_CHECKS = frozenset({"errors.request_id_matches_header", "recovery.retry_after_on_rate_limit", "recovery.should_retry_consistent", "recovery.ratelimit_headers_wellformed"})


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
    request = Request(scenario="validate", endpoint=endpoint, method="POST", path="", headers=(), auth="none", body=body, stream=stream, tags=frozenset())
    reading = read_file(path, max_event_bytes=contract.max_event_bytes) if stream and code < 300 else None
    fragment = _fragment(reading)
    subject = Subject(exchange=exchange, request=request, contract=contract, facts=contract.model_facts(""), schemas=SchemaBook(contract), reading=reading)
    checks = registered()
    findings: list[Finding] = []
    for rule in contract.rules.values():
        selector = rule.on
        if rule.kind is not RuleKind.PROPERTY or selector is None or selector.tags or selector.scenarios or rule.id.startswith("headers.") or rule.id in HEADER_CHECKS:
            continue
        if selector.endpoint not in (None, endpoint) or (selector.stream is not None and selector.stream != stream):
            continue
        if (selector.status == "ok" and code >= 300) or (selector.status == "error" and code < 400):
            continue
        if fragment and rule.id in ORDER_CHECKS:
            continue
        fn = checks.get(rule.id)
        if fn is None:
            continue
        try:
            result = fn(subject)
        except Unjudgeable as exc:
            if subject.limit() is not None:  # a limit of ours stopped the rule: an error naming it, never the file's fault
                findings.append(Finding(check_id=rule.id, case="", outcome=Outcome.ERROR, level=rule.level, message=str(exc)))
            continue  # else the recording broke off with an error event: nothing there to judge
        except NotApplicable:
            continue
        violations = list(result.violations)
        if not result.judged and not violations:
            continue
        outcome = Outcome.PASS if not violations else (Outcome.FAIL if rule.level is Level.MUST else Outcome.WARN)
        message = "\n".join(v.message + (f"\nAt: {v.at}" if v.at else "") for v in violations[:3])
        findings.append(Finding(check_id=rule.id, case="", outcome=outcome, level=rule.level, message=message, violations=tuple(violations), judged=result.judged))
    notes = ("a fragment: the stream does not start with message_start, so only per-event checks ran",) if fragment else ()
    return Judged(kind=kind, findings=tuple(findings), notes=notes)
