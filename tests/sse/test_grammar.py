"""Grammar: every (state, kind) pair, silence after the first violation, per-block rules, end of stream."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.sse.grammar import (
    DELTA_BLOCKS,
    TRANSITIONS,
    EventKind,
    Grammar,
    GrammarIssue,
    Progress,
    StreamState,
    expected_after,
    kind_of,
)

S, K = StreamState, EventKind

START = {"type": "message_start", "message": {"content": []}}
TEXT_BLOCK = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
TEXT = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "hi"}}
STOP_BLOCK = {"type": "content_block_stop", "index": 0}
DELTA = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 1}}
STOP = {"type": "message_stop"}
PING = {"type": "ping"}
ERROR = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
NEW = {"type": "brand_new_event"}

# A shortest event prefix reaching each state; ERROR is reached by a duplicate message_start.
PREFIX = {
    S.BEFORE_START: [],
    S.IN_MESSAGE: [START],
    S.IN_BLOCK: [START, TEXT_BLOCK],
    S.AFTER_DELTA: [START, DELTA],
    S.DONE: [START, DELTA, STOP],
    S.ABORTED: [START, ERROR],
    S.ERROR: [START, START],
}

# One event of each kind that passes the per-block rules in the state PREFIX reaches.
SAMPLE = {
    K.MESSAGE_START: START,
    K.CONTENT_BLOCK_START: TEXT_BLOCK,
    K.CONTENT_BLOCK_DELTA: TEXT,
    K.CONTENT_BLOCK_STOP: STOP_BLOCK,
    K.MESSAGE_DELTA: DELTA,
    K.MESSAGE_STOP: STOP,
    K.PING: PING,
    K.ERROR: ERROR,
    K.UNKNOWN: NEW,
}

def drive(state: StreamState) -> Grammar:
    grammar = Grammar()
    for i, event in enumerate(PREFIX[state]):
        grammar.feed(event, i)
    assert grammar.state is state
    return grammar


def expected_issue(state: StreamState, kind: EventKind) -> GrammarIssue:
    if kind is K.MESSAGE_START:
        return GrammarIssue.START
    if state is S.BEFORE_START:
        return GrammarIssue.START
    if state in (S.DONE, S.ABORTED):
        return GrammarIssue.AFTER_END
    return GrammarIssue.ORDER


@pytest.mark.parametrize(
    ("state", "kind"),
    list(itertools.product(StreamState, EventKind)),
    ids=lambda value: value.name,
)
def test_every_state_and_kind(state, kind):
    grammar = drive(state)
    i = len(PREFIX[state])
    event = SAMPLE[kind]
    violations = grammar.feed(event, i)
    if state is S.ERROR:
        assert (violations, grammar.state) == ([], S.ERROR)
    elif kind in TRANSITIONS[state]:
        assert (violations, grammar.state) == ([], TRANSITIONS[state][kind])
    else:
        name = event["type"]
        assert grammar.state is S.ERROR
        if state in (S.DONE, S.ABORTED) and kind is K.MESSAGE_START:  # a second message, and something after the end
            assert [v.kind for v in violations[1:]] == [GrammarIssue.AFTER_END]
            violations = violations[:1]
        assert [(v.message, v.at, v.kind, v.event_index) for v in violations] == [
            (
                f"Received: can't accept {name} in state {state.name} (event #{i})\nExpected: {expected_after(state)}",
                f"event #{i} ({name})",
                expected_issue(state, kind),
                i,
            )
        ]


def test_exact_message_for_a_delta_outside_a_block():
    grammar = Grammar()
    for i, event in enumerate([START, TEXT_BLOCK, TEXT, STOP_BLOCK]):
        assert grammar.feed(event, i) == []
    (violation,) = grammar.feed(TEXT, 4)
    assert violation.message == (
        "Received: can't accept content_block_delta in state IN_MESSAGE (event #4)\n"
        "Expected: content_block_start or message_delta (ping and error are accepted anywhere before the end)"
    )
    assert violation.at == "event #4 (content_block_delta)"


def test_silent_after_the_first_violation():
    grammar = Grammar()
    assert grammar.feed(TEXT, 0) != []
    for i, event in enumerate([START, TEXT_BLOCK, TEXT, DELTA, STOP, PING], start=1):
        assert grammar.feed(event, i) == []
    assert grammar.close() == []
    assert grammar.state is S.ERROR
    assert grammar.progress == Progress(
        seen=7, judged=0, silenced_at=0, silenced_by=GrammarIssue.START, starts_seen=1, block_events_seen=3, deltas_seen=2,
        ended_by=K.MESSAGE_STOP, ended_at=5, state=S.ERROR,
    )


def test_the_end_is_judged_after_silence():
    # message_delta … data: [DONE] with no message_start: silent from event #0, and still no end.
    violations, grammar = judge([TEXT_BLOCK, TEXT, STOP_BLOCK, DELTA])
    assert [v.kind for v in violations] == [GrammarIssue.START]
    (no_end,) = grammar.close()
    assert no_end.kind is GrammarIssue.NO_END
    assert no_end.message == (
        "Received: stream ended after 4 events, none of them message_stop or an error event\n"
        "Expected: message_stop (or an error event) as the last event"
    )


def test_misordered_and_unended_is_two_findings():
    violations, grammar = judge([START, TEXT_BLOCK, TEXT, DELTA, STOP_BLOCK])
    assert [v.kind for v in violations] == [GrammarIssue.ORDER]
    assert [v.kind for v in grammar.close()] == [GrammarIssue.NO_END]


def test_a_misplaced_message_stop_still_ends_the_stream():
    violations, grammar = judge([START, TEXT_BLOCK, STOP])
    assert [v.kind for v in violations] == [GrammarIssue.ORDER]
    assert grammar.close() == []
    assert (grammar.progress.ended_by, grammar.progress.ended_at) == (K.MESSAGE_STOP, 2)


def test_after_the_end_is_judged_after_silence():
    violations, grammar = judge([START, START, DELTA, STOP, PING, TEXT, STOP])
    assert [(v.kind, v.event_index) for v in violations] == [(GrammarIssue.START, 1), (GrammarIssue.AFTER_END, 5)]
    assert violations[1].message == (
        "Received: content_block_delta after the stream ended with message_stop (event #3), as event #5\nExpected: the end of the stream"
    )
    assert grammar.close() == []


def test_after_an_error_event_nothing_may_follow_even_after_silence():
    violations, _ = judge([TEXT, ERROR, PING])
    assert [(v.kind, v.event_index) for v in violations] == [(GrammarIssue.START, 0), (GrammarIssue.AFTER_END, 2)]


def test_progress_of_a_clean_stream():
    violations, grammar = judge([PING, START, TEXT_BLOCK, TEXT, TEXT, STOP_BLOCK, DELTA, STOP])
    assert violations == []
    assert grammar.progress == Progress(
        seen=8, judged=8, in_message=6, start_at=1, starts_seen=1, block_events=4, block_events_seen=4, deltas_judged=2, deltas_seen=2, blocks=1,
        ended_by=K.MESSAGE_STOP, ended_at=7, state=S.DONE,
    )


def test_progress_stops_where_the_grammar_went_silent():
    _, grammar = judge([START, TEXT_BLOCK, TEXT, delta(1), TEXT, STOP_BLOCK, DELTA, STOP])
    progress = grammar.progress
    assert (progress.judged, progress.silenced_at, progress.silenced_by) == (3, 3, GrammarIssue.INDEX)
    assert (progress.block_events, progress.block_events_seen, progress.deltas_judged, progress.deltas_seen) == (2, 5, 1, 3)


def test_a_full_stream_with_pings_and_unknown_events_everywhere():
    grammar = Grammar()
    events = [
        PING,
        START,
        PING,
        TEXT_BLOCK,
        PING,
        TEXT,
        NEW,
        TEXT,
        STOP_BLOCK,
        PING,
        DELTA,
        PING,
        DELTA,
        STOP,
    ]
    assert [v for i, event in enumerate(events) for v in grammar.feed(event, i)] == []
    assert grammar.state is S.DONE
    assert grammar.close() == []


def test_a_refusal_stream_without_blocks_is_legal():
    grammar = Grammar()
    assert [v for i, event in enumerate([START, DELTA, STOP]) for v in grammar.feed(event, i)] == []
    assert grammar.blocks == ()


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (S.BEFORE_START, "stream ended in state BEFORE_START after 0 events"),
        (S.IN_MESSAGE, "stream ended in state IN_MESSAGE after 1 events"),
        (S.IN_BLOCK, "stream ended in state IN_BLOCK after 2 events"),
        (S.AFTER_DELTA, "stream ended in state AFTER_DELTA after 2 events"),
    ],
)
def test_close_before_the_end_is_no_end(state, message):
    (violation,) = drive(state).close()
    assert violation.kind is GrammarIssue.NO_END
    assert (
        violation.message
        == f"Received: {message}\nExpected: message_stop (or an error event) as the last event"
    )


@pytest.mark.parametrize("state", [S.DONE, S.ABORTED])
def test_close_after_an_end_is_quiet(state):
    assert drive(state).close() == []


def test_close_after_silence_still_needs_an_end():
    assert [v.kind for v in drive(S.ERROR).close()] == [GrammarIssue.NO_END]


def block(index, kind="text"):
    return {"type": "content_block_start", "index": index, "content_block": {"type": kind}}


def delta(index, kind="text_delta"):
    return {"type": "content_block_delta", "index": index, "delta": {"type": kind}}


def stop(index):
    return {"type": "content_block_stop", "index": index}


def judge(events, grammar=None):
    grammar = grammar or Grammar()
    return [v for i, event in enumerate(events) for v in grammar.feed(event, i)], grammar


def test_blocks_are_numbered_in_order():
    violations, grammar = judge([START, block(0), stop(0), block(1, "tool_use"), stop(1), DELTA, STOP])
    assert violations == []
    assert grammar.blocks == ((0, "text"), (1, "tool_use"))


@pytest.mark.parametrize(
    ("events", "message"),
    [
        (
            [START, block(1)],
            "Received: content_block_start with index 1 (event #1)\nExpected: index 0: blocks are numbered 0, 1, 2… in the order they start",
        ),
        (
            [START, block(0), stop(0), block(0)],
            "Received: content_block_start with index 0 (event #3)\nExpected: index 1: blocks are numbered 0, 1, 2… in the order they start",
        ),
        (
            [START, block("0")],
            'Received: content_block_start with index "0" (event #1)\nExpected: index 0: blocks are numbered 0, 1, 2… in the order they start',
        ),
        (
            [START, {"type": "content_block_start"}],
            "Received: content_block_start with index null (event #1)\nExpected: index 0: blocks are numbered 0, 1, 2… in the order they start",
        ),
        (
            [START, block(True)],
            "Received: content_block_start with index true (event #1)\nExpected: index 0: blocks are numbered 0, 1, 2… in the order they start",
        ),
        (
            [START, block(0), delta(1)],
            "Received: content_block_delta with index 1 (event #2)\nExpected: index 0, the open block",
        ),
        (
            [START, block(0), stop(0), block(1), stop(0)],
            "Received: content_block_stop with index 0 (event #4)\nExpected: index 1, the open block",
        ),
    ],
    ids=["skips-0", "repeats-0", "string", "missing", "bool", "delta", "stop"],
)
def test_index_rules(events, message):
    violations, grammar = judge(events)
    assert [(v.kind, v.message, v.event_index) for v in violations] == [
        (GrammarIssue.INDEX, message, len(events) - 1)
    ]
    assert grammar.state is S.ERROR


def test_delta_kind_must_suit_the_block():
    violations, grammar = judge([START, block(0, "text"), delta(0, "thinking_delta"), delta(0)])
    assert [(v.kind, v.message, v.at) for v in violations] == [
        (
            GrammarIssue.DELTA_KIND,
            "Received: thinking_delta in a text block (index 0, event #2)\nExpected: thinking_delta only in thinking blocks",
            "event #2 (content_block_delta)",
        )
    ]
    assert grammar.state is S.ERROR


def test_input_json_delta_names_every_tool_block():
    violations, _ = judge([START, block(0, "thinking"), delta(0, "input_json_delta")])
    assert violations[0].message.endswith(
        "Expected: input_json_delta only in mcp_tool_use or server_tool_use or tool_use blocks"
    )


@pytest.mark.parametrize(
    ("block_type", "delta_type"),
    [
        ("text", "text_delta"),
        ("text", "citations_delta"),
        ("tool_use", "input_json_delta"),
        ("server_tool_use", "input_json_delta"),
        ("mcp_tool_use", "input_json_delta"),
        ("thinking", "thinking_delta"),
        ("thinking", "signature_delta"),
        ("compaction", "compaction_delta"),
        ("text", "sparkle_delta"),
        ("hologram", "text_delta"),
        ("text", None),
    ],
)
def test_tolerated_deltas(block_type, delta_type):
    violations, _ = judge([START, block(0, block_type), delta(0, delta_type), stop(0), DELTA, STOP])
    assert violations == []


def test_custom_delta_table():
    grammar = Grammar({"text_delta": frozenset({"text", "hologram"}), "beam_delta": frozenset({"hologram"})})
    assert judge([START, block(0, "hologram"), delta(0, "text_delta")], grammar)[0] == []
    violations, _ = judge([START, block(0, "text"), delta(0, "beam_delta")])
    assert violations == []
    violations, _ = judge(
        [START, block(0, "text"), delta(0, "beam_delta")],
        Grammar({"beam_delta": frozenset({"hologram"}), "text_delta": frozenset({"text"})}),
    )
    assert [v.kind for v in violations] == [GrammarIssue.DELTA_KIND]


def test_unknown_and_untyped_events_are_tolerated():
    assert kind_of({"type": 3}) is K.UNKNOWN
    assert kind_of({}) is K.UNKNOWN
    assert kind_of({"type": "unknown"}) is K.UNKNOWN
    assert judge([{}, START, {"type": None}, NEW, DELTA, STOP])[0] == []


def test_unknown_event_after_the_end_names_its_type():
    violations, _ = judge([START, DELTA, STOP, NEW])
    assert violations[0].message == "Received: can't accept brand_new_event in state DONE (event #3)\nExpected: the end of the stream"
    assert violations[0].kind is GrammarIssue.AFTER_END


def test_a_second_message_start_after_the_end_is_start():
    violations, _ = judge([START, DELTA, STOP, START])
    assert [v.kind for v in violations] == [GrammarIssue.START, GrammarIssue.AFTER_END]  # a second message, and something after the end


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2),
    max_leaves=4,
)
TYPES = st.sampled_from([kind.value for kind in EventKind] + ["other"]) | st.none() | st.integers()
INDEXES = st.integers(-1, 3) | JSON_VALUES
EVENTS = st.fixed_dictionaries(
    {"type": TYPES},
    optional={
        "index": INDEXES,
        "delta": st.fixed_dictionaries(
            {}, optional={"type": st.sampled_from(list(DELTA_BLOCKS)) | JSON_VALUES}
        )
        | JSON_VALUES,
        "content_block": st.fixed_dictionaries(
            {}, optional={"type": st.sampled_from(["text", "thinking", "tool_use", "x"]) | JSON_VALUES}
        )
        | JSON_VALUES,
    },
)


@settings(max_examples=300)
@given(st.lists(EVENTS, max_size=20))
def test_fuzz_grammar_never_raises_and_reports_once_per_rule_family(events):
    grammar = Grammar()
    violations = [v for i, event in enumerate(events) for v in grammar.feed(event, i)]
    violations += grammar.close()
    ordering = [v for v in violations if v.kind not in (GrammarIssue.AFTER_END, GrammarIssue.NO_END)]
    ending = [v for v in violations if v.kind in (GrammarIssue.AFTER_END, GrammarIssue.NO_END)]
    assert len(ordering) <= 1  # silent after the first ordering violation
    assert len(ending) <= 1  # the end is judged once: missing, or something after it
    assert len(violations) <= 2
    assert all(v.message for v in violations)
    progress = grammar.progress
    assert progress.seen == len(events)
    assert progress.judged + (progress.silenced_at is not None) <= progress.seen
    assert (progress.ended_by is None) == any(v.kind is GrammarIssue.NO_END for v in violations)


def _reachable(start: StreamState) -> set[StreamState]:
    seen, todo = {start}, [start]
    while todo:
        for after in TRANSITIONS[todo.pop()].values():
            if after not in seen:
                seen.add(after)
                todo.append(after)
    return seen


def test_every_state_of_the_table_is_reachable_and_every_live_one_can_end():
    # The table has one copy (grammar.py); this pins its shape, not its entries: no dead state, no trap.
    assert _reachable(S.BEFORE_START) == set(StreamState) - {S.ERROR}
    for state in _reachable(S.BEFORE_START) - {S.DONE, S.ABORTED}:
        assert {S.DONE, S.ABORTED} <= _reachable(state), state
