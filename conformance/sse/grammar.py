"""The Messages stream grammar: decoded events in, ordering violations out.

Rule 1: every ordering rule of the stream lives in this file, as much as possible in the tables
(``TRANSITIONS`` for event order, ``DELTA_BLOCKS`` and ``_BLOCK_RULES`` for per-block rules).
Rule 2: this file knows nothing of bytes, HTTP or pytest; it judges decoded events.

After the first violation the grammar goes silent (state ERROR): one broken order explains
everything after it, so cascades would only bury the finding. Two rules are judged whatever came
before, because a client meets them whatever came before: the stream must end (message_stop or an
error event), and nothing but what the end state's row accepts may follow that end. Both are read
off ``TRANSITIONS`` (the kinds that lead into an end state, and that state's row). ``progress``
says how far the table judged, so a check can tell "judged and fine" from "never judged".
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..findings import Violation


class StreamState(enum.Enum):
    """Where the stream is; ABORTED is the legal end by an ``error`` event, ERROR is ours after a violation."""

    BEFORE_START = "BEFORE_START"
    IN_MESSAGE = "IN_MESSAGE"
    IN_BLOCK = "IN_BLOCK"
    AFTER_DELTA = "AFTER_DELTA"
    DONE = "DONE"
    ABORTED = "ABORTED"
    ERROR = "ERROR"


class EventKind(enum.Enum):
    """The grammar's input alphabet; values are the wire names, UNKNOWN covers types Anthropic adds later."""

    MESSAGE_START = "message_start"
    CONTENT_BLOCK_START = "content_block_start"
    CONTENT_BLOCK_DELTA = "content_block_delta"
    CONTENT_BLOCK_STOP = "content_block_stop"
    MESSAGE_DELTA = "message_delta"
    MESSAGE_STOP = "message_stop"
    PING = "ping"
    ERROR = "error"
    UNKNOWN = "unknown"


class GrammarIssue(enum.Enum):
    """Violation kinds the grammar reports, so each can map to its own check."""

    START = "start"
    ORDER = "order"
    INDEX = "index"
    DELTA_KIND = "delta_kind"
    AFTER_END = "after_end"
    NO_END = "no_end"


_S = StreamState
_K = EventKind

# The event grammar (DOC-STR "Event types", "Basic streaming request"), its only copy. UNKNOWN (event
# types Anthropic adds) is tolerated; a missing pair is a violation.
TRANSITIONS: dict[StreamState, dict[EventKind, StreamState]] = {
    _S.BEFORE_START: {
        _K.MESSAGE_START: _S.IN_MESSAGE,
        _K.PING: _S.BEFORE_START,
        _K.UNKNOWN: _S.BEFORE_START,
        _K.ERROR: _S.ABORTED,
    },
    _S.IN_MESSAGE: {
        _K.CONTENT_BLOCK_START: _S.IN_BLOCK,
        _K.MESSAGE_DELTA: _S.AFTER_DELTA,
        _K.PING: _S.IN_MESSAGE,
        _K.UNKNOWN: _S.IN_MESSAGE,
        _K.ERROR: _S.ABORTED,
    },
    _S.IN_BLOCK: {
        _K.CONTENT_BLOCK_DELTA: _S.IN_BLOCK,
        _K.CONTENT_BLOCK_STOP: _S.IN_MESSAGE,
        _K.PING: _S.IN_BLOCK,
        _K.UNKNOWN: _S.IN_BLOCK,
        _K.ERROR: _S.ABORTED,
    },
    _S.AFTER_DELTA: {
        _K.MESSAGE_DELTA: _S.AFTER_DELTA,
        _K.MESSAGE_STOP: _S.DONE,
        _K.PING: _S.AFTER_DELTA,
        _K.UNKNOWN: _S.AFTER_DELTA,
        _K.ERROR: _S.ABORTED,
    },
    # A ping after message_stop ends nothing: pings may come anywhere (DOC-STR) and the SDK skips them.
    _S.DONE: {_K.PING: _S.DONE},
    _S.ABORTED: {},
    _S.ERROR: {},
}

# The delta types each content block type takes (DOC-STR, SDK-TYPES RawContentBlockDelta); unknown ones are tolerated.
DELTA_BLOCKS: dict[str, frozenset[str]] = {
    "text_delta": frozenset({"text"}),
    "citations_delta": frozenset({"text"}),
    "input_json_delta": frozenset({"tool_use", "server_tool_use", "mcp_tool_use"}),
    "thinking_delta": frozenset({"thinking"}),
    "signature_delta": frozenset({"thinking"}),
    "compaction_delta": frozenset({"compaction"}),
}

# What a missing (state, kind) pair is called: a second message_start is always START, then by state.
_ISSUE_BY_STATE: dict[StreamState, GrammarIssue] = {
    _S.BEFORE_START: GrammarIssue.START,
    _S.DONE: GrammarIssue.AFTER_END,
    _S.ABORTED: GrammarIssue.AFTER_END,
}

# The states a stream ends in, and the kinds that lead into them from a live state (message_stop,
# error): read off the table, so the end is judged by the same rules after the grammar went silent.
_END_STATES = frozenset({_S.DONE, _S.ABORTED})
_END_BY_KIND: dict[EventKind, StreamState] = {
    kind: after for state, row in TRANSITIONS.items() if state not in _END_STATES for kind, after in row.items() if after in _END_STATES
}
_BLOCK_KINDS = frozenset({_K.CONTENT_BLOCK_START, _K.CONTENT_BLOCK_DELTA, _K.CONTENT_BLOCK_STOP})

_KIND_BY_TYPE = {kind.value: kind for kind in EventKind if kind is not EventKind.UNKNOWN}
# TRANSITIONS again, each row keyed by the wire name (UNKNOWN under "unknown"): what ``feed`` looks up per event.
# Derived, never edited: an Enum hashes in Python, a str in C, and this is the per-event hot path.
_UNKNOWN_KEY = EventKind.UNKNOWN.value
# feed's fast path takes a delta in IN_BLOCK as staying IN_BLOCK: only while the table says so.
_DELTA_STAYS = TRANSITIONS[StreamState.IN_BLOCK].get(EventKind.CONTENT_BLOCK_DELTA) is StreamState.IN_BLOCK
_ROWS: dict[StreamState, dict[str, StreamState]] = {state: {kind.value: after for kind, after in row.items()} for state, row in TRANSITIONS.items()}


def kind_of(event: Mapping[str, object]) -> EventKind:
    """The event's kind from its ``type``; anything unrecognised is UNKNOWN because unknown events are legal."""
    name = event.get("type")
    return _KIND_BY_TYPE.get(name, EventKind.UNKNOWN) if isinstance(name, str) else EventKind.UNKNOWN


def _issue(state: StreamState, kind: EventKind) -> GrammarIssue:
    """Name a missing pair so each family of mistakes can map to its own check."""
    if kind is EventKind.MESSAGE_START:
        return GrammarIssue.START
    return _ISSUE_BY_STATE.get(state, GrammarIssue.ORDER)


def _wire_name(event: Mapping[str, object], kind: EventKind) -> str:
    name = event.get("type")
    return name if kind is EventKind.UNKNOWN and isinstance(name, str) and name else kind.value


def _show(value: object) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        return repr(value)


def _is_index(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_QUIET_KINDS = frozenset({EventKind.PING, EventKind.UNKNOWN, EventKind.ERROR})


def expected_after(state: StreamState) -> str:
    """What the table accepts in ``state``, for the Expected: line of a violation."""
    wanted = [kind.value for kind in TRANSITIONS[state] if kind not in _QUIET_KINDS]
    if not wanted:
        return "the end of the stream" if state is not StreamState.ERROR else "nothing (an earlier violation)"
    return " or ".join(wanted) + " (ping and error are accepted anywhere before the end)"


@dataclass(frozen=True, slots=True)
class Progress:
    """How far the grammar judged one stream: what each ordering check may claim to have looked at.

    Counts are of decoded events. ``judged`` events passed the table before it went silent;
    ``silenced_at``/``silenced_by`` name the event and the issue that silenced it. ``*_seen`` counts
    every event of a family, judged or not, so "none in the stream" differs from "none judged".
    """

    seen: int = 0
    judged: int = 0
    in_message: int = 0  # judged events after the first message_start: what an order between events rests on
    silenced_at: int | None = None
    silenced_by: GrammarIssue | None = None
    start_at: int | None = None  # the first message_start the table accepted
    starts_seen: int = 0
    block_events: int = 0  # content_block_start/delta/stop events whose index the table judged
    block_events_seen: int = 0
    deltas_judged: int = 0  # deltas of a known type in a block of a known type: those whose kind was judged
    deltas_seen: int = 0
    blocks: int = 0  # blocks started in order
    ended_by: EventKind | None = None  # message_stop or error: the first event that ended the stream
    ended_at: int | None = None
    state: StreamState = StreamState.BEFORE_START


class Grammar:
    """Judges one stream's events in order; feed every decoded event, then ``close()`` at end of stream."""

    __slots__ = (
        "_after_end", "_allowed", "_block_events", "_block_seen", "_blocks", "_delta_blocks", "_deltas", "_deltas_seen", "_end",
        "_hot", "_hot_fit", "_in_message", "_judged", "_known_blocks", "_open", "_row", "_seen", "_silenced", "_start_at", "_starts", "_state",
    )  # fmt: skip

    def __init__(self, delta_blocks: Mapping[str, frozenset[str]] | None = None) -> None:
        self._delta_blocks: Mapping[str, frozenset[str]] = dict(DELTA_BLOCKS if delta_blocks is None else delta_blocks)
        self._known_blocks = frozenset().union(*self._delta_blocks.values())
        self._state = StreamState.BEFORE_START
        self._row = _ROWS[self._state]
        self._blocks: list[tuple[int, str | None]] = []
        self._hot = self._hot_fit = 0  # deltas judged by feed's fast path (of them, of a checked kind), not yet in the counters
        self._open = -1  # the index of the last block started (the open one while IN_BLOCK)
        self._allowed: Mapping[str, bool] = {}  # delta type -> whether the open block's type takes it (empty: a block type we don't know)
        self._seen = self._judged = self._in_message = self._starts = self._block_events = self._block_seen = self._deltas = self._deltas_seen = 0
        self._start_at: int | None = None
        self._silenced: tuple[int, GrammarIssue] | None = None
        self._end: tuple[StreamState, EventKind, int] | None = None  # the end state reached, by which kind, at which event
        self._after_end = False  # something came after the end and was reported

    def _settle(self) -> None:
        """Fold the fast path's deltas into the counters: each was seen, judged, in the message, a block event, a delta."""
        hot, fit = self._hot, self._hot_fit
        if hot:
            self._hot = self._hot_fit = 0
            self._seen += hot
            self._judged += hot
            self._in_message += hot
            self._block_events += hot
            self._block_seen += hot
            self._deltas_seen += hot
            self._deltas += fit

    @property
    def progress(self) -> Progress:
        """How far the table judged, and where and why it went silent."""
        self._settle()
        return Progress(
            seen=self._seen,
            judged=self._judged,
            in_message=self._in_message,
            silenced_at=self._silenced[0] if self._silenced else None,
            silenced_by=self._silenced[1] if self._silenced else None,
            start_at=self._start_at,
            starts_seen=self._starts,
            block_events=self._block_events,
            block_events_seen=self._block_seen,
            deltas_judged=self._deltas,
            deltas_seen=self._deltas_seen,
            blocks=len(self._blocks),
            ended_by=self._end[1] if self._end else None,
            ended_at=self._end[2] if self._end else None,
            state=self._state,
        )

    @property
    def state(self) -> StreamState:
        """Current state, for checks that care how far the stream got."""
        return self._state

    @property
    def blocks(self) -> tuple[tuple[int, str | None], ...]:
        """Blocks started so far as (index, block type), in order."""
        return tuple(self._blocks)

    def feed(self, event: Mapping[str, object], i: int) -> list[Violation]:
        """Judge one event: one ordering violation per stream at most (later ones would be its echoes), plus the end rules."""
        name = event.get("type")
        if name == "content_block_delta" and self._state is StreamState.IN_BLOCK and _DELTA_STAYS:
            # The fast path of most events: a delta to the open block of a kind that fits it (or one we don't
            # know). The same verdict as the table's IN_BLOCK row and _on_block_delta; anything else goes the long way.
            index, delta = event.get("index"), event.get("delta")
            if index.__class__ is int and index == self._open and delta.__class__ is dict:
                kind_name = delta.get("type")
                fits = self._allowed.get(kind_name) if kind_name.__class__ is str else None
                if fits is not False:
                    self._hot += 1
                    self._hot_fit += fits is True
                    return []
        self._settle()
        if isinstance(name, str):
            kind = _KIND_BY_TYPE.get(name, _K.UNKNOWN)
            key = name if kind is not _K.UNKNOWN else _UNKNOWN_KEY
        else:
            kind, key = _K.UNKNOWN, _UNKNOWN_KEY
        self._seen += 1
        if kind is _K.CONTENT_BLOCK_DELTA:
            self._block_seen += 1
            self._deltas_seen += 1
        elif kind is _K.CONTENT_BLOCK_START or kind is _K.CONTENT_BLOCK_STOP:
            self._block_seen += 1
        elif kind is _K.MESSAGE_START:
            self._starts += 1
        state = self._state
        if state is StreamState.ERROR:
            return self._watch_end(event, kind, i)
        after = self._row.get(key)
        if after is None:
            wire = _wire_name(event, kind)
            issue = _issue(state, kind)
            self._after_end = issue is GrammarIssue.AFTER_END
            found = self._fail(
                Violation(
                    f"Received: can't accept {wire} in state {state.name} (event #{i})\nExpected: {expected_after(state)}",
                    at=f"event #{i} ({wire})",
                    kind=issue,
                    event_index=i,
                ),
                i,
            )
            # A second message_start after the end is START here, and still something after the end.
            return found + self._watch_end(event, kind, i)
        rule = _RULES_BY_KEY.get(key)
        if rule is not None:
            found_rule = rule(self, event, i)
            if found_rule is not None:
                return self._fail(found_rule, i)
        self._judged += 1
        if self._start_at is not None:
            self._in_message += 1
            if rule is not None:  # the block events are exactly those with a per-block rule
                self._block_events += 1
        elif kind is _K.MESSAGE_START:
            self._start_at = i
        if after is not state:
            self._state = after
            self._row = _ROWS[after]
            if after in _END_STATES:
                self._note_end(kind, i)
        return []

    def close(self) -> list[Violation]:
        """End of stream: anything short of message_stop or an error event is a truncated stream, judged even after silence."""
        self._settle()
        if self._end is not None:
            return []
        seen = self._seen
        if self._state is StreamState.ERROR:
            received = f"stream ended after {seen} events, none of them message_stop or an error event"
        else:
            received = f"stream ended in state {self._state.name} after {seen} events"
        return [Violation(f"Received: {received}\nExpected: message_stop (or an error event) as the last event", kind=GrammarIssue.NO_END)]

    def _count(self, kind: EventKind) -> None:
        self._seen += 1
        self._starts += kind is EventKind.MESSAGE_START
        self._block_seen += kind in _BLOCK_KINDS
        self._deltas_seen += kind is EventKind.CONTENT_BLOCK_DELTA

    def _note_end(self, kind: EventKind, i: int) -> None:
        """The first message_stop or error event ends the stream, whether or not the table accepted it there."""
        end = _END_BY_KIND.get(kind)
        if end is not None and self._end is None:
            self._end = (end, kind, i)

    def _watch_end(self, event: Mapping[str, object], kind: EventKind, i: int) -> list[Violation]:
        """After silence only the end is judged: the end state's row says what may still follow it."""
        if self._end is None:
            self._note_end(kind, i)
            return []
        state = self._end[0]
        if self._after_end or kind in TRANSITIONS[state]:
            return []
        self._after_end = True
        name = _wire_name(event, kind)
        return [
            Violation(
                f"Received: {name} after the stream ended with {self._end[1].value} (event #{self._end[2]}), as event #{i}\nExpected: {expected_after(state)}",
                at=f"event #{i} ({name})",
                kind=GrammarIssue.AFTER_END,
                event_index=i,
            )
        ]

    def _fail(self, violation: Violation, i: int) -> list[Violation]:
        self._state = StreamState.ERROR
        self._silenced = (i, violation.kind) if isinstance(violation.kind, GrammarIssue) else None
        return [violation]

    def _open_index(self) -> int:
        return self._open

    def _on_block_start(self, event: Mapping[str, object], i: int) -> Violation | None:
        index, expected = event.get("index"), len(self._blocks)
        if not _is_index(index) or index != expected:
            return _index_violation(
                "content_block_start",
                index,
                f"index {expected}: blocks are numbered 0, 1, 2… in the order they start",
                i,
            )
        block = event.get("content_block")
        kind = block.get("type") if isinstance(block, Mapping) else None
        block_type = kind if isinstance(kind, str) else None
        self._blocks.append((expected, block_type))
        self._open = expected
        known = block_type in self._known_blocks
        self._allowed = {delta: block_type in blocks for delta, blocks in self._delta_blocks.items()} if known else {}
        return None

    def _on_block_delta(self, event: Mapping[str, object], i: int) -> Violation | None:
        index = event.get("index")
        if index.__class__ is not int or index != self._open:
            return self._check_open_index("content_block_delta", event, i)
        delta = event.get("delta")
        delta_type = delta.get("type") if isinstance(delta, Mapping) else None
        fits = self._allowed.get(delta_type) if isinstance(delta_type, str) else None  # None: a delta or block type we don't know
        if fits is None:
            return None
        if fits:
            self._deltas += 1
            return None
        allowed = self._delta_blocks[str(delta_type)]
        return Violation(
            f"Received: {delta_type} in a {self._blocks[-1][1]} block (index {self._open_index()}, event #{i})"
            f"\nExpected: {delta_type} only in {' or '.join(sorted(allowed))} blocks",
            at=f"event #{i} (content_block_delta)",
            kind=GrammarIssue.DELTA_KIND,
            event_index=i,
        )

    def _on_block_stop(self, event: Mapping[str, object], i: int) -> Violation | None:
        return self._check_open_index("content_block_stop", event, i)

    def _check_open_index(self, name: str, event: Mapping[str, object], i: int) -> Violation | None:
        index, expected = event.get("index"), self._open_index()
        if _is_index(index) and index == expected:
            return None
        return _index_violation(name, index, f"index {expected}, the open block", i)


def _index_violation(name: str, index: object, expected: str, i: int) -> Violation:
    return Violation(
        f"Received: {name} with index {_show(index)} (event #{i})\nExpected: {expected}",
        at=f"event #{i} ({name})",
        kind=GrammarIssue.INDEX,
        event_index=i,
    )


# The per-block table: which extra rule each block event must pass once its order is legal.
_BLOCK_RULES: dict[EventKind, Callable[[Grammar, Mapping[str, object], int], Violation | None]] = {
    _K.CONTENT_BLOCK_START: Grammar._on_block_start,
    _K.CONTENT_BLOCK_DELTA: Grammar._on_block_delta,
    _K.CONTENT_BLOCK_STOP: Grammar._on_block_stop,
}
_RULES_BY_KEY = {kind.value: rule for kind, rule in _BLOCK_RULES.items()}  # the same table keyed by wire name, for ``feed``
