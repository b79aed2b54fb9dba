"""conformance/checks/length.py and allowance.py: a stream ends within what its max_tokens allows.

The allowance (four events per token plus 64, pings aside) is derived from the first-party
captures: none has more events than its output_tokens plus 6. A stream past it fails; the rules
about the end of a stream the transport stopped there skip and name the length rule; a limit of
ours that stopped reading before the allowance leaves the length unknown (error, never fail).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from capture_corpus import corpus

from conformance import allowance
from conformance.checks.subject import Unjudgeable
from conformance.exchange import ErrorKind
from conformance.findings import NotApplicable
from conformance.sse.reading import read_stream

from . import _events as ev
from ._build import Build, judged, request_json, run


def _looping(count: int) -> list[dict]:
    """A text block whose piece repeats ``count`` times, then a proper end."""
    return [ev.start(), ev.block_start(), *[ev.text_delta("ok ")] * count, ev.block_stop(), ev.message_delta(), ev.STOP]


def test_the_allowance_is_four_events_per_token_plus_64() -> None:
    assert (allowance.events(1), allowance.events(32), allowance.events(1100)) == (68, 192, 4464)
    assert allowance.describe(32) == "at most 192 events (pings aside) for max_tokens 32: 4 per token plus 64"


@pytest.mark.parametrize("path", corpus("*.sse"), ids=lambda p: p.name)
def test_every_first_party_stream_stays_far_inside_the_allowance_of_its_own_output(path: Path) -> None:
    # The derivation of the constant: events (pings aside) <= output_tokens + 6 in every capture; the allowance
    # of the output alone (as if max_tokens had been exactly what was used) has room for ten times that excess.
    reading = read_stream(path.read_bytes())
    counted = sum(1 for e in reading.events if not allowance.is_ping(e.name, e.data))
    used = max((e.data.get("usage", {}).get("output_tokens", 0) for e in reading.events if e.data and e.data.get("type") == "message_delta"), default=0)
    assert counted <= used + 6, (counted, used)
    assert counted <= allowance.events(max(used, 1)) - 58


def test_a_plain_stream_is_judged_within_its_allowance(build: Build) -> None:
    assert judged("stream.length_within_max_tokens", build.stream()) == ("7 events within 192 for max_tokens 32",)


def test_pings_are_not_counted(build: Build) -> None:
    events = [ev.start(), *[ev.PING] * 500, ev.block_start(), ev.text_delta("ok"), ev.block_stop(), ev.message_delta(), ev.STOP]
    assert run("stream.length_within_max_tokens", build.stream(events)) == []


def test_a_stream_past_its_allowance_fails_even_when_it_ends(build: Build) -> None:
    subject = build.stream(_looping(200), request=request_json(max_tokens=8, stream=True))
    [violation] = run("stream.length_within_max_tokens", subject)
    assert violation.message == "Received: 205 events (pings aside)\nExpected: at most 96 events (pings aside) for max_tokens 8: 4 per token plus 64"
    assert violation.at == "event #204"


def test_a_stream_the_suite_stopped_past_its_allowance_fails_and_the_end_rules_skip_naming_it(build: Build) -> None:
    # What the transport records when it stops reading one event past the allowance (an endless stream).
    events = _looping(500)
    cut = len(ev.sse(events[:97]))
    body = ev.sse(events)[:cut]
    why = f"the stream sent more than {allowance.describe(8)}, with no end in sight; the suite stopped reading after event 97"
    subject = build.stream(body, request=request_json(max_tokens=8, stream=True), error=why, error_kind=ErrorKind.OVERRAN)
    [violation] = run("stream.length_within_max_tokens", subject)
    assert violation.message.startswith("Received: 97 events (pings aside); the suite stopped reading there, with no end in sight\nExpected: at most 96")
    for check_id in ("stream.ends_with_message_stop", "stream.framing_terminated", "stream.message_delta_stop_reason"):
        with pytest.raises(NotApplicable, match=re.escape(f"not judged: {why} (judged by stream.length_within_max_tokens)")) as info:
            run(check_id, subject)
        assert not isinstance(info.value, Unjudgeable)  # a skip naming the finding, not an error: the stop was the target's doing


def test_a_timeout_of_ours_before_the_allowance_leaves_the_length_unknown(build: Build) -> None:
    body = ev.sse([ev.start(), ev.block_start(), ev.text_delta("ok")])
    subject = build.stream(body, error="read timeout: nothing received for 60 s after 300 bytes", error_kind=ErrorKind.TIMEOUT)
    with pytest.raises(Unjudgeable, match="the suite stopped waiting for the rest of the answer"):
        run("stream.length_within_max_tokens", subject)


def test_a_request_without_max_tokens_has_no_allowance(build: Build) -> None:
    with pytest.raises(NotApplicable, match="no max_tokens"):
        run("stream.length_within_max_tokens", build.stream(request=request_json(max_tokens=None, stream=True)))


def test_a_json_answer_to_a_stream_request_is_left_to_the_content_type_check(build: Build) -> None:
    subject = build.stream(json.dumps({"type": "message"}).encode(), content_type="application/json")
    with pytest.raises(NotApplicable, match="one JSON document"):
        run("stream.length_within_max_tokens", subject)
