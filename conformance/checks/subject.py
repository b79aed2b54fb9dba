"""What a property check judges: one exchange, its request, its stream reading and its twin.

Built by the judge; checks only read it. Schema validation lives here so every check that needs
a schema uses the validators compiled once per run. ``Unjudgeable`` is how a subject says its
answer broke off (an error event mid-stream, a twin still 429/529 after retries) or was cut by a
limit of ours (``limit``: the body size cap, a timeout, the reader's caps): the judge turns that
into ``error``, never ``skip`` or ``fail``, unless other exchanges reach a verdict.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from jsonschema import Draft202012Validator, ValidationError, validators

from .._types import JSON, JSONObject
from ..contract.model import Contract, ModelFacts
from ..exchange import UNPARSED, ErrorKind, Exchange
from ..findings import NotApplicable
from ..scenarios import Request
from ..sse.frames import FrameIssue
from ..sse.reading import Event, StreamReading, read_stream

RETRIED_STATUSES = frozenset({429, 529})
_NO_ANSWER_KINDS = frozenset({ErrorKind.TIMEOUT, ErrorKind.UNREACHABLE, ErrorKind.PROTOCOL, ErrorKind.WITHHELD})
LENGTH_RULE = "stream.length_within_max_tokens"


class Unjudgeable(NotApplicable):
    """The answer is incomplete through infrastructure, not through anything a rule judges; the outcome is ``error``."""


def infrastructure_failure(exchange: Exchange) -> str | None:
    """Why ``exchange`` holds no answer to judge (no response, or 429/529 even after retries), else None."""
    if exchange.status is None:
        return f"no answer: {exchange.error}" if exchange.error_kind in _NO_ANSWER_KINDS else None
    if exchange.status in RETRIED_STATUSES and exchange.attempts > 1:
        return f"still {exchange.status} after {exchange.attempts} attempts (the target is rate limiting or overloaded)"
    return None


def error_event(reading: StreamReading) -> Event | None:
    """The stream's first error event, named so by its event: line (as the SDK reads it) or by its data's type (found by the reading)."""
    return reading.events[reading.error_at] if reading.error_at is not None else None


def describe_error(event: Event) -> str:
    """``error.type: error.message`` of an error event, or its raw data when it is not the envelope."""
    error = event.data.get("error") if event.data is not None else None
    if isinstance(error, dict) and isinstance(error.get("type"), str):
        return f"{error['type']}: {str(error.get('message'))[:120]}"
    return show(event.raw[:120])


class _Missing(ValidationError):
    """A ``required`` error that names its property as a value: a profile's tolerance matches the schema, not the wording."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name!r} is a required property")
        self.property = name


def _required(validator: Any, required: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    """jsonschema's ``required`` keyword (same errors, same order), each error a ``_Missing``."""
    if validator.is_type(instance, "object"):
        for name in required:
            if name not in instance:
                yield _Missing(name)


_Validator: Any = validators.extend(Draft202012Validator, {"required": _required})  # type: ignore[no-untyped-call]  # extend is untyped


class SchemaBook:
    """The contract's response schemas, compiled once, addressed by their logical names."""

    def __init__(self, contract: Contract) -> None:
        self._validators: dict[str, Any] = {}
        for name, ref in contract.schema_refs.items():
            file, _, pointer = ref.partition("#")
            schema: Any = contract.schemas[file]
            base = schema.get("$id", file)
            target = {"$ref": f"{base}#{pointer}"} if pointer else schema
            self._validators[name] = _Validator(target, registry=contract.schema_registry)

    def errors(self, name: str, instance: JSON, *, limit: int = 5, may_lack: Collection[str] = ()) -> list[tuple[str, str]]:
        """(JSON pointer, message) for each way ``instance`` breaks schema ``name``, most useful first.

        ``may_lack`` names top-level properties a profile documents as absent (``strictness.tolerate_missing``):
        among the first ``limit`` errors, their absence is dropped.
        """
        validator = self._validators[name]
        found = sorted(validator.iter_errors(instance), key=lambda e: (len(list(e.absolute_path)), str(list(e.absolute_path))))
        out: list[tuple[str, str]] = []
        for error in found[:limit]:
            leaf = _best_leaf(error)
            if isinstance(leaf, _Missing) and not leaf.absolute_path and leaf.property in may_lack:
                continue
            pointer = "/" + "/".join(str(p) for p in leaf.absolute_path)
            out.append((pointer, leaf.message))
        return out


def _best_leaf(error: Any) -> Any:
    from jsonschema.exceptions import best_match

    if error.context:
        return best_match(error.context) or error
    return error


@dataclass(frozen=True)
class Subject:
    """One exchange under judgement, with everything a check may need to read."""

    exchange: Exchange
    request: Request
    contract: Contract
    facts: ModelFacts
    schemas: SchemaBook
    reading: StreamReading | None = None
    twin: Exchange | None = None
    peers: Mapping[str, Exchange] = field(default_factory=dict)  # every exchange of the run, by scenario id
    reader: Callable[[Exchange], StreamReading | None] | None = None  # the judge's shared stream readings (None: read here)

    @property
    def scenario(self) -> str:
        """The scenario id (also the exchange id)."""
        return self.exchange.id

    def peer(self, scenario: str) -> Exchange | None:
        """Another exchange of the same run (a listing a page is compared with), or None when it was not sent."""
        return self.peers.get(scenario)

    def answer_of(self, exchange: Exchange) -> JSONObject | None:
        """Another exchange's final Message as a client holds it (a stream rebuilt from its events), None when it has no intact one."""
        if not exchange.ok:
            return None
        if not exchange.streamed:
            data = exchange.json
            return data if isinstance(data, dict) and data.get("type") == "message" else None
        if self.reader is not None:
            reading = self.reader(exchange)
        else:
            reading = read_stream(exchange.body, exchange.chunks, max_event_bytes=self.contract.max_event_bytes)
        if reading is None or reading.grammar or error_event(reading) is not None:
            return None
        return reading.message

    def body(self) -> JSONObject:
        """The non-stream JSON body as an object, or NotApplicable (the schema check reports it)."""
        data = self.exchange.json
        if data is UNPARSED:
            self.whole()
        if data is UNPARSED or not isinstance(data, dict):
            raise NotApplicable("the body is not a JSON object")
        return data

    def broken_off(self) -> str | None:
        """Why this stream stopped short of a final message through an error event, or None."""
        event = error_event(self.reading) if self.reading is not None else None
        if event is None:
            return None
        return f"the stream broke off with an error event ({describe_error(event)}) at {locate(self, event.index)}"

    def overran(self) -> NotApplicable | None:
        """The skip for a rule about a stream's end or whole when the stream ran past its max_tokens allowance and the suite stopped reading it, else None.

        That stop is the target's doing, judged by ``stream.length_within_max_tokens`` (a fail):
        what lies past it was never read, so the rules about the end skip and name that rule,
        as they do when the grammar went silent earlier.
        """
        if self.exchange.error_kind is not ErrorKind.OVERRAN:
            return None
        return NotApplicable(f"not judged: {self.exchange.error} (judged by {LENGTH_RULE})")

    def limit(self) -> str | None:
        """Which limit of ours cut this answer short (the body size cap, a timeout, a cap of the stream reader), or None.

        What lies past such a cut was never seen: a rule about the end of the answer, or about the
        whole of it, cannot be judged, and saying so is ``error``, never the target's ``fail``.
        """
        ex = self.exchange
        if ex.truncated:
            return f"the suite's size cap cut the answer after {len(ex.body):,} bytes"
        if ex.error_kind is ErrorKind.TIMEOUT and ex.status is not None:
            return f"the suite stopped waiting for the rest of the answer ({ex.error})"
        return self.reading.limit if self.reading is not None else None

    def _cut(self, consequence: str = "") -> NotApplicable | None:
        """The skip when the stream ran past its allowance, ``Unjudgeable`` when a limit of ours cut the answer (``consequence`` says what is lost), else None."""
        overran = self.overran()
        if overran is not None:
            return overran
        limit = self.limit()
        return Unjudgeable(f"not judged: {limit}{consequence}") if limit is not None else None

    def unjudged(self, reason: str) -> NotApplicable:
        """The exception for "nothing here to judge": ``Unjudgeable`` when a limit of ours cut the answer (the rest was never read), else a skip with ``reason``."""
        cut = self._cut()
        return cut if cut is not None else NotApplicable(reason)

    def whole(self) -> None:
        """Unjudgeable when a limit of ours cut the answer, a skip when the stream ran past its allowance: for rules about its end or its whole."""
        cut = self._cut()
        if cut is not None:
            raise cut

    def message(self) -> JSONObject:
        """The final message: the body, or for a stream the message rebuilt from its events."""
        if self.reading is not None:
            broken = self.broken_off()
            if broken is not None:
                raise Unjudgeable(f"{broken}, so there is no final message to judge")
            cut = self._cut(", so the final message is unknown")
            if cut is not None:
                raise cut
            if self.reading.message is None:
                raise NotApplicable("the stream has no message_start to rebuild a message from")
            if self.reading.grammar or any(v.kind is FrameIssue.EOF_MID_EVENT for v in self.reading.framing):
                raise NotApplicable("the stream is broken, so no final message can be rebuilt (judged by the stream.* checks)")
            return self.reading.message
        return self.body()

    def stopped_by(self, reason: str, judged_by: str = "") -> JSONObject:
        """The final message, for a rule about answers that stop for ``reason``: any other stop is a skip (naming where it is judged)."""
        message = self.message()
        if message.get("stop_reason") != reason:
            raise NotApplicable(f"stop_reason is not {reason}" + (f" (judged by {judged_by})" if judged_by else ""))
        return message

    def twin_message(self) -> JSONObject:
        """The final message of the non-stream twin, or NotApplicable when there is none usable."""
        if self.twin is not None and (failure := infrastructure_failure(self.twin)) is not None:
            raise Unjudgeable(f"the non-stream twin {self.twin.id} has nothing to compare with: {failure}")
        if self.twin is None:
            raise NotApplicable("no successful non-stream twin to compare with (none was sent)")
        if not self.twin.ok:
            raise NotApplicable(f"no successful non-stream twin to compare with: {self.twin.id} answered {self.twin.status} (judged by the rules on {self.twin.id})")
        data = self.twin.json
        if not isinstance(data, dict):
            raise NotApplicable("the twin's body is not a JSON object")
        return data

    def events(self) -> Iterator[tuple[int, JSONObject]]:
        """(event number, decoded data) for every JSON-object event of the stream, as an iterator (a long stream is never held whole)."""
        return ((e.index, e.data) for e in self.stream_events() if e.data is not None)

    def stream_events(self) -> Iterator[Event]:
        """Every event whose data is a JSON object, in order; NotApplicable when the answer is not a stream."""
        if self.reading is None:
            raise NotApplicable("not a stream")
        return (e for e in self.reading.events if e.data is not None)

    def request_json(self) -> Mapping[str, JSON]:
        """The request body as sent."""
        data = self.exchange.request.json
        return data if isinstance(data, dict) else {}


def is_int(value: JSON) -> TypeGuard[int]:
    """A JSON integer (``bool`` is not one, whatever Python thinks)."""
    return isinstance(value, int) and not isinstance(value, bool)


def show(value: JSON) -> str:
    """A value as the report prints it: JSON, cut when long."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 200 else text[:200] + "…"


def locate(subject: Subject, index: int) -> str:
    """An event locator for ``At:`` lines: ``event #7 (message_delta) @ byte 1432`` (a walk of the events: call it per violation, not per event)."""
    if subject.reading is None:
        return f"event #{index}"
    if 0 <= index < len(subject.reading.events):
        return locate_event(subject.reading.events[index])
    return f"event #{index}"


def locate_event(event: Event) -> str:
    """The locator of an event in hand."""
    kind = (event.data.get("type") if event.data else None) or event.name
    label = f" ({kind})" if isinstance(kind, str) and kind else ""  # data: [DONE] has neither
    return f"event #{event.index}{label} @ byte {event.frame.start}"


def counted(n: int, noun: str) -> str:
    """``1 event``, ``9 events``: judged items name how many things were looked at."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
