"""conformance/checks/thinking.py, thinking.signature_single_delta: one signature_delta per streamed thinking block."""

from __future__ import annotations

import pytest
from capture_corpus import corpus

from conformance.checks.registry import registered
from conformance.findings import Judgement, NotApplicable

from . import _events as ev
from ._build import message, request_json

SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
THINKING = request_json(max_tokens=1100, thinking={"type": "enabled", "budget_tokens": 1024})


def judge(subject) -> Judgement:
    result = registered()["thinking.signature_single_delta"](subject)
    assert isinstance(result, Judgement)
    return result


def events(*signatures: str) -> list[dict]:
    return ev.thinking_then_text(*signatures, thinking=("The user wants ok.",))


def test_signature_single_delta_passes(build):
    result = judge(build.stream(events(SIGNATURE), request=THINKING))
    assert (result.judged, result.violations) == (("thinking block 0: 1 signature_delta",), ())


def test_signature_single_delta_flags_a_split_signature(build):
    # A proxy that re-chunks every delta: the SDK keeps the last piece, and the next turn is refused ("Invalid `signature`").
    [violation] = judge(build.stream(events(SIGNATURE[:20], SIGNATURE[20:]), request=THINKING)).violations
    assert violation.message == (
        "Received: 2 signature_delta events for thinking block 0 (events #4, #5)\n"
        "Expected: exactly one, carrying the whole signature (clients keep only the last one they receive)"
    )
    assert violation.at.startswith("event #5 (content_block_delta) @ byte ")


def test_signature_single_delta_leaves_what_it_cannot_judge(build):
    with pytest.raises(NotApplicable, match="not a stream"):
        judge(build.plain(message(), request=THINKING))
    with pytest.raises(NotApplicable, match="no thinking block in the stream"):
        judge(build.stream())
    with pytest.raises(NotApplicable, match=r"judged by thinking\.stream_signature_delta"):
        judge(build.stream(events(), request=THINKING))


@pytest.mark.parametrize("path", corpus("*.sse"), ids=lambda p: p.stem)
def test_signature_single_delta_holds_on_every_capture(build, path):
    try:
        result = judge(build.stream(path.read_bytes(), request={**THINKING, "max_tokens": 64000, "stream": True}))
    except NotApplicable:
        return
    assert result.violations == ()
    assert result.judged
