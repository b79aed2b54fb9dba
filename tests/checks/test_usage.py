"""conformance/checks/usage.py: token counts, limits, cumulative streaming and agreement with the twin."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conformance.findings import NotApplicable

from . import _events as ev
from ._build import judged, message, message_without, messages, request_json, run
from ._events import at

LIMIT = request_json(max_tokens=5)


def usage(**counts):
    return {"input_tokens": 21, "output_tokens": 5, **counts}


# ---------------------------------------------------------------- usage.input_tokens_positive


def test_input_tokens_positive_passes(build):
    assert run("usage.input_tokens_positive", build.plain()) == []
    assert run("usage.input_tokens_positive", build.stream()) == []


def test_what_the_usage_checks_judged(build):
    plain, stream = build.plain(request=LIMIT), build.stream(twin=build.twin())
    assert judged("usage.input_tokens_positive", plain) == ("input_tokens 21",)
    assert judged("usage.output_tokens_nonnegative", plain) == ("output_tokens 5",)
    assert judged("usage.output_within_max_tokens", plain) == ("output_tokens 5 against max_tokens 5",)
    assert judged("usage.output_tokens_counted", plain) == ("output_tokens 5 for 1 content block",)
    assert judged("usage.stream_matches_twin", stream) == (
        "input_tokens 21 streamed, 21 not streamed",
        "output_tokens 5 streamed, 5 not streamed",
    )
    capped = build.plain(message(stop_reason="max_tokens"), request=LIMIT)
    assert judged("usage.output_reaches_max_tokens", capped) == ('output_tokens 5 with stop_reason "max_tokens" and max_tokens 5',)


def test_stream_cumulative_needs_two_counts_to_follow(build):
    events = [ev.start(), ev.block_start(), ev.text_delta("Grüße"), ev.block_stop(), {"type": "message_delta", "delta": {"stop_reason": "end_turn"}}, ev.STOP]
    with pytest.raises(NotApplicable, match="fewer than two integer output_tokens counts"):
        run("usage.stream_cumulative", build.stream(events))


def test_input_tokens_positive_counts_cached_tokens(build):
    # INDEX.md observation 20: cached prompt parts are excluded from input_tokens.
    body = message(usage=usage(input_tokens=0, cache_read_input_tokens=2055, cache_creation_input_tokens=None))
    assert run("usage.input_tokens_positive", build.plain(body)) == []


def test_input_tokens_positive_flags_zero_in_message_start(build):
    # peers.md §4.6 #6: message_start.usage.input_tokens == 0, the real value only at the end.
    events = ev.text_events()
    events[0] = ev.start(input_tokens=0)
    [violation] = run("usage.input_tokens_positive", build.stream(events))
    assert violation.message == "Received: input_tokens 0 (cache counters included: 0)\nExpected: >= 1 for a non-empty prompt"
    assert violation.at == "event #0 (message_start) @ byte 0 /message/usage/input_tokens"


@pytest.mark.parametrize(("value", "shown"), [("21", '"21"'), (None, "null"), (True, "true"), (2.0, "2.0")])
def test_input_tokens_positive_flags_non_integers(build, value, shown):
    [violation] = run("usage.input_tokens_positive", build.plain(message(usage=usage(input_tokens=value))))
    assert violation.message == f"Received: input_tokens {shown}\nExpected: an integer >= 1"
    assert violation.at == "/usage/input_tokens"


def test_input_tokens_positive_leaves_a_missing_usage_to_the_schema(build):
    with pytest.raises(NotApplicable, match="no usage object"):
        run("usage.input_tokens_positive", build.plain(message_without("usage")))


# ------------------------------------------------------------ usage.output_tokens_nonnegative


def test_output_tokens_nonnegative_passes_zero(build):
    # INDEX.md observation 19: a refusal reports output_tokens 0.
    assert run("usage.output_tokens_nonnegative", build.plain(message(content=[], stop_reason="refusal", usage=usage(output_tokens=0)))) == []
    assert run("usage.output_tokens_nonnegative", build.stream()) == []


def test_output_tokens_nonnegative_flags_a_negative_count(build):
    [violation] = run("usage.output_tokens_nonnegative", build.plain(message(usage=usage(output_tokens=-1))))
    assert violation.message == "Received: output_tokens -1\nExpected: an integer >= 0"
    assert violation.at == "/usage/output_tokens"


def test_output_tokens_nonnegative_flags_every_bad_stream_event(build):
    events = ev.text_events()
    events[0]["message"]["usage"]["output_tokens"] = "1"
    events[-2] = ev.message_delta(output_tokens=2.5)
    found = run("usage.output_tokens_nonnegative", build.stream(events))
    assert [v.message for v in found] == ['Received: output_tokens "1"\nExpected: an integer >= 0', "Received: output_tokens 2.5\nExpected: an integer >= 0"]
    assert [v.at for v in found] == [at(events, 0, "message_start"), at(events, 6, "message_delta")]
    assert [v.event_index for v in found] == [0, 6]


# ------------------------------------------------------------- usage.output_within_max_tokens


def test_output_within_max_tokens_passes_at_the_limit(build):
    # INDEX.md observation 19: on max_tokens, output_tokens equals the request's max_tokens exactly.
    assert run("usage.output_within_max_tokens", build.plain(message(stop_reason="max_tokens", usage=usage(output_tokens=5)), request=LIMIT)) == []


def test_output_within_max_tokens_flags_an_overshoot(build):
    [violation] = run("usage.output_within_max_tokens", build.plain(message(stop_reason="max_tokens", usage=usage(output_tokens=6)), request=LIMIT))
    assert violation.message == "Received: output_tokens=6\nExpected: <= max_tokens=5"
    assert violation.at == "/usage/output_tokens"


def test_output_within_max_tokens_reads_the_final_stream_usage(build):
    subject = build.stream(ev.text_events(stop_reason="max_tokens", output_tokens=9), request=LIMIT)
    [violation] = run("usage.output_within_max_tokens", subject)
    assert violation.message == "Received: output_tokens=9\nExpected: <= max_tokens=5"
    assert violation.at == "message_delta /usage/output_tokens"


def test_output_within_max_tokens_needs_an_integer_limit(build):
    with pytest.raises(NotApplicable, match="no integer max_tokens"):
        run("usage.output_within_max_tokens", build.plain(request=request_json(max_tokens=None)))


# ------------------------------------------------------------------- usage.stream_cumulative


def test_stream_cumulative_passes_a_large_message_start_count(build):
    # INDEX.md observation 6: message_start.output_tokens is not fixed at 0 or 1 (8, 88, even the total).
    events = ev.text_events(output_tokens=40)
    events[0]["message"]["usage"]["output_tokens"] = 40
    assert run("usage.stream_cumulative", build.stream(events)) == []


def test_stream_cumulative_passes_a_message_delta_repeating_input_tokens(build):
    # INDEX.md observation 17: later message_deltas repeat (and may enlarge) input_tokens and cache counters.
    events = ev.text_events()
    events[-2] = ev.message_delta(output_tokens=9, input_tokens=10387, cache_read_input_tokens=0)
    assert run("usage.stream_cumulative", build.stream(events)) == []


def test_stream_cumulative_flags_a_per_chunk_count(build):
    events = [ev.start(output_tokens=8), ev.block_start(), ev.text_delta("Grüße ok"), ev.block_stop(), ev.message_delta(output_tokens=3), ev.STOP]
    [violation] = run("usage.stream_cumulative", build.stream(events))
    assert violation.message == "Received: output_tokens 3 in message_delta, after 8 at event #0\nExpected: a running total that never decreases"
    assert violation.at == at(events, 4, "message_delta")
    assert violation.event_index == 4


def test_stream_cumulative_compares_successive_message_deltas(build):
    events = [ev.start(), ev.block_start(), ev.text_delta("ok"), ev.block_stop(), ev.message_delta(None, output_tokens=5), ev.PING, ev.message_delta(output_tokens=2), ev.STOP]
    assert messages("usage.stream_cumulative", build.stream(events)) == [
        "Received: output_tokens 2 in message_delta, after 5 at event #4\nExpected: a running total that never decreases"
    ]


def test_stream_cumulative_is_for_streams(build):
    with pytest.raises(NotApplicable, match="not a stream"):
        run("usage.stream_cumulative", build.plain())


# ----------------------------------------------------------------- usage.stream_matches_twin


def test_stream_matches_twin_passes_within_the_tolerance(build):
    twin = build.twin(message(usage=usage(output_tokens=7)))
    assert run("usage.stream_matches_twin", build.stream(ev.text_events(output_tokens=5), twin=twin)) == []


def test_stream_matches_twin_flags_zeroed_stream_input(build):
    # peers.md §4.6 #6: usage reported as zeros because closing events went out before usage arrived.
    events = ev.text_events()
    events[0] = ev.start(input_tokens=0)
    [violation] = run("usage.stream_matches_twin", build.stream(events, twin=build.twin()))
    assert violation.message == "Received: input_tokens=0 streamed, 21 not streamed (plain)\nExpected: equal within 0 tokens or 0%"
    assert violation.at == "final usage /input_tokens"


def test_stream_matches_twin_flags_output_beyond_the_tolerance(build):
    assert messages("usage.stream_matches_twin", build.stream(ev.text_events(output_tokens=40), twin=build.twin())) == [
        "Received: output_tokens=40 streamed, 5 not streamed (plain)\nExpected: equal within 2 tokens or 25%"
    ]


def test_stream_matches_twin_compares_total_input_across_cache_counters(build):
    # Caching moves tokens between the counters of two requests; the sum is what the request cost.
    events = ev.text_events()
    events[0] = ev.start(input_tokens=4)
    events[-2] = ev.message_delta(output_tokens=5, input_tokens=4, cache_read_input_tokens=17)
    assert run("usage.stream_matches_twin", build.stream(events, twin=build.twin())) == []
    events[-2] = ev.message_delta(output_tokens=5, input_tokens=21, cache_read_input_tokens=13, cache_creation_input_tokens=7)
    assert messages("usage.stream_matches_twin", build.stream(events, twin=build.twin())) == [
        "Received: input_tokens=41 streamed, 21 not streamed (plain, cache reads and writes included)\nExpected: equal within 0 tokens or 0%"
    ]


def test_stream_matches_twin_compares_output_of_the_same_answer_only(build):
    # A sampling model: another text, another length; both ran to max_tokens, or not comparable.
    events = ev.text_events("Lorem ipsum dolor", output_tokens=40)
    assert run("usage.stream_matches_twin", build.stream(events, twin=build.twin())) == []
    events = ev.text_events("Lorem ipsum dolor", output_tokens=64, stop_reason="max_tokens")
    twin = build.twin(message("Sit amet", stop_reason="max_tokens", usage=usage(output_tokens=32)))
    assert len(run("usage.stream_matches_twin", build.stream(events, twin=twin))) == 1


def test_stream_matches_twin_takes_message_delta_input_over_message_start(build):
    # The SDK accumulator overwrites message_start's counters with the ones message_delta repeats.
    events = ev.text_events()
    events[0] = ev.start(input_tokens=0)
    events[-2] = ev.message_delta(output_tokens=5, input_tokens=21)
    assert run("usage.stream_matches_twin", build.stream(events, twin=build.twin())) == []


def test_stream_matches_twin_needs_a_successful_twin(build):
    with pytest.raises(NotApplicable, match="no successful non-stream twin"):
        run("usage.stream_matches_twin", build.stream())
    with pytest.raises(NotApplicable, match="no successful non-stream twin"):
        run("usage.stream_matches_twin", build.stream(twin=build.twin(status=529)))


def test_stream_matches_twin_needs_output_tokens_in_the_final_message_delta(build):
    events = ev.text_events()
    events[-2] = {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}}
    with pytest.raises(NotApplicable, match=r"stream\.event_schema"):
        run("usage.stream_matches_twin", build.stream(events, twin=build.twin()))


# ---------------------------------------------------------------- usage.output_tokens_counted


def test_output_tokens_counted_passes_any_positive_count(build):
    assert run("usage.output_tokens_counted", build.plain()) == []
    assert run("usage.output_tokens_counted", build.stream()) == []


def test_output_tokens_counted_flags_a_free_answer(build):
    assert messages("usage.output_tokens_counted", build.plain(message(usage=usage(output_tokens=0)))) == [
        'Received: output_tokens=0 for an answer with content ["text"]\nExpected: >= 1 (every generated token is counted)'
    ]
    [violation] = run("usage.output_tokens_counted", build.stream(ev.text_events(output_tokens=0)))
    assert violation.at == "message_delta /usage/output_tokens"


def test_output_tokens_counted_leaves_empty_answers_alone(build):
    with pytest.raises(NotApplicable, match="no content blocks"):
        run("usage.output_tokens_counted", build.plain(message(content=[], usage=usage(output_tokens=0))))


# ---------------------------------------------------------------- usage.output_reaches_max_tokens


LIMIT = request_json(max_tokens=5, messages=[{"role": "user", "content": "Count from 1 to 200, separated by spaces."}])


def test_output_reaches_max_tokens_passes_a_full_count(build):
    assert run("usage.output_reaches_max_tokens", build.plain(message("1 2 3 4 5", stop_reason="max_tokens"), request=LIMIT)) == []


def test_output_reaches_max_tokens_flags_an_undercount(build):
    body = message("1 2 3 4 5", stop_reason="max_tokens", usage=usage(output_tokens=3))
    assert messages("usage.output_reaches_max_tokens", build.plain(body, request=LIMIT)) == [
        'Received: output_tokens=3 with stop_reason "max_tokens"\nExpected: output_tokens=5, the request\'s max_tokens'
    ]


def test_output_reaches_max_tokens_needs_a_max_tokens_stop(build):
    with pytest.raises(NotApplicable, match="not max_tokens"):
        run("usage.output_reaches_max_tokens", build.plain(request=LIMIT))


# ---------------------------------------------------------------- usage.system_prompt_counted

SYSTEM = "You are a terse assistant."


def with_system(build, *, used: dict, plain_used: dict | None = None, plain_status: int = 200, plain_request: dict | None = None, request: dict | None = None):
    """system.string's answer, with plain's answer as the peer it is compared with."""
    own = build.exchange(body=message(usage=used), request=request or request_json(system=SYSTEM), scenario="system.string")
    plain = build.exchange(status=plain_status, body=message(usage=plain_used or usage(input_tokens=13)), request=plain_request or request_json(), scenario="plain")
    subject = build.subject(own)
    return replace(subject, peers={"system.string": own, "plain": plain})


def test_system_prompt_counted_passes_when_the_system_prompt_adds_input(build):
    assert run("usage.system_prompt_counted", with_system(build, used=usage(input_tokens=33))) == []


def test_system_prompt_counted_adds_cache_counters_back(build):
    # a cached system prompt moves tokens from input_tokens to cache_read_input_tokens, not out of the prompt
    assert run("usage.system_prompt_counted", with_system(build, used=usage(input_tokens=3, cache_read_input_tokens=30))) == []


def test_system_prompt_counted_flags_usage_that_leaves_the_system_prompt_out(build):
    [violation] = run("usage.system_prompt_counted", with_system(build, used=usage(input_tokens=13)))
    assert violation.message == (
        "Received: 13 input tokens (cache counters included) with a system prompt, 13 for the same request without it (plain)\n"
        "Expected: more than 13: input usage counts the system prompt"
    )
    assert violation.at == "/usage/input_tokens"


def test_system_prompt_counted_compares_only_plain_plus_a_system_prompt(build):
    with pytest.raises(NotApplicable, match="not plain's body plus a system prompt"):
        run("usage.system_prompt_counted", with_system(build, used=usage(input_tokens=13), request=request_json(system=SYSTEM, max_tokens=8)))
    with pytest.raises(NotApplicable, match="not plain's body plus a system prompt"):
        run("usage.system_prompt_counted", with_system(build, used=usage(input_tokens=13), request=request_json()))


def test_system_prompt_counted_needs_both_answers_with_counts(build):
    with pytest.raises(NotApplicable, match=r"^nothing to compare with: plain answered 529$"):
        run("usage.system_prompt_counted", with_system(build, used=usage(input_tokens=33), plain_status=529))
    with pytest.raises(NotApplicable, match=r"^nothing to compare with: plain was not sent$"):
        run("usage.system_prompt_counted", build.subject(build.exchange(body=message(), request=request_json(system=SYSTEM), scenario="system.string")))
    with pytest.raises(NotApplicable, match="no integer input_tokens"):
        run("usage.system_prompt_counted", with_system(build, used={"input_tokens": "33", "output_tokens": 5}))
