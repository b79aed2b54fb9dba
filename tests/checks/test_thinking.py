"""conformance/checks/thinking.py: thinking blocks, their signatures and their stream form."""

from __future__ import annotations

import pytest
from capture_corpus import CAPTURES, answers

from conformance.findings import NotApplicable

from . import _events as ev
from ._build import judged, message, messages, request_json, run, violations

SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
THINKING = request_json(max_tokens=1100, thinking={"type": "enabled", "budget_tokens": 1024})
THOUGHT = {"type": "thinking", "thinking": "The user wants ok.", "signature": SIGNATURE}


def answer(*blocks: dict) -> dict:
    return message(content=list(blocks) or [THOUGHT, {"type": "text", "text": "ok"}])


def thinking_events(*, signature: str | None = SIGNATURE, thinking_pieces: tuple[str, ...] = ("The user", " wants ok.")) -> list[dict]:
    """A stream with a thinking block (signature_delta unless None) then a text block."""
    return ev.thinking_then_text(*([signature] if signature is not None else []), thinking=thinking_pieces)


# ------------------------------------------------------------------- thinking.block_present


def test_block_present_passes(build):
    assert run("thinking.block_present", build.plain(answer(), request=THINKING)) == []
    assert run("thinking.block_present", build.stream(thinking_events(), request=THINKING)) == []
    redacted = {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"}
    assert run("thinking.block_present", build.plain(answer(redacted, {"type": "text", "text": "ok"}), request=THINKING)) == []


def test_block_present_flags_reasoning_folded_into_text(build):
    # peers.md §4.6 #9 (LiteLLM #33224): the reasoning arrives as text.
    folded = answer({"type": "text", "text": "The user wants ok."}, {"type": "text", "text": "ok"})
    [violation] = run("thinking.block_present", build.plain(folded, request=THINKING))
    assert violation.message == 'Received: content types ["text", "text"]\nExpected: a thinking or redacted_thinking block (thinking is enabled)'
    assert violation.at == "/content"


def test_block_present_needs_enabled_thinking(build):
    for request in (request_json(), request_json(thinking={"type": "adaptive"}), request_json(thinking={"type": "disabled"})):
        with pytest.raises(NotApplicable, match="not enabled"):
            run("thinking.block_present", build.plain(message(), request=request))


def test_block_present_leaves_the_continuation_of_a_tool_turn(build):
    history = [
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "assistant", "content": [THOUGHT, {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01A", "content": "sunny"}]},
    ]
    with pytest.raises(NotApplicable, match="continues a tool-use turn"):
        run("thinking.block_present", build.plain(message("Sunny."), request={**THINKING, "messages": history}))


# --------------------------------------------------------------- thinking.signature_present


def test_signature_present_passes(build):
    assert run("thinking.signature_present", build.plain(answer(), request=THINKING)) == []
    assert run("thinking.signature_present", build.stream(thinking_events(), request=THINKING)) == []


def test_signature_present_flags_an_empty_signature(build):
    # peers.md §4.6 #20: Fireworks sends an empty signature; the next turn is refused.
    body = answer({**THOUGHT, "signature": ""}, {"type": "text", "text": "ok"})
    [violation] = run("thinking.signature_present", build.plain(body, request=THINKING))
    assert violation.message == 'Received: signature ""\nExpected: a non-empty signature string'
    assert violation.at == "/content/0/signature"


def test_signature_present_flags_a_stream_without_signature_delta(build):
    [violation] = run("thinking.signature_present", build.stream(thinking_events(signature=None), request=THINKING))
    assert violation.message == 'Received: signature ""\nExpected: a non-empty signature string'
    assert violation.at == "rebuilt message /content/0/signature"


def test_signature_present_flags_a_missing_signature(build):
    body = answer({"type": "thinking", "thinking": "hm"}, {"type": "text", "text": "ok"})
    assert messages("thinking.signature_present", build.plain(body, request=THINKING)) == ["Received: signature null\nExpected: a non-empty signature string"]


def test_signature_present_needs_a_thinking_block(build):
    with pytest.raises(NotApplicable, match="no thinking block"):
        run("thinking.signature_present", build.plain())


# ---------------------------------------------------------- thinking.stream_signature_delta


def test_stream_signature_delta_passes(build):
    assert run("thinking.stream_signature_delta", build.stream(thinking_events(), request=THINKING)) == []


def test_stream_signature_delta_accepts_display_omitted(build):
    # Opus 4.7+ default display "omitted": no thinking text, only the signature.
    assert run("thinking.stream_signature_delta", build.stream(thinking_events(thinking_pieces=()), request=THINKING)) == []


def test_stream_signature_delta_flags_a_missing_delta(build):
    # Ollama's compatibility doc lists no signature_delta; llama.cpp's tests require one.
    [violation] = run("thinking.stream_signature_delta", build.stream(thinking_events(signature=None), request=THINKING))
    assert violation.message == "Received: content_block_stop of thinking block 0 without a signature_delta\nExpected: a signature_delta before the block stops"
    assert violation.at.startswith("event #5 (content_block_stop) @ byte ")
    assert violation.event_index == 5


def test_stream_signature_delta_needs_a_thinking_stream(build):
    with pytest.raises(NotApplicable, match="no thinking block in the stream"):
        run("thinking.stream_signature_delta", build.stream())
    with pytest.raises(NotApplicable, match="not a stream"):
        run("thinking.stream_signature_delta", build.plain(answer(), request=THINKING))


def test_stream_signature_delta_leaves_broken_streams_to_the_grammar(build):
    events = thinking_events()
    del events[-1]  # no message_stop: the stream is broken
    with pytest.raises(NotApplicable, match="stream is broken"):
        run("thinking.stream_signature_delta", build.stream(events, request=THINKING))


# ------------------------------------------------------------------------------ captures

CHECKS = ["thinking.signature_present", "thinking.stream_signature_delta", "thinking.block_present"]


@pytest.mark.parametrize("path", answers(), ids=lambda p: p.stem)
def test_real_answers_raise_no_thinking_alarm(build, path):
    assert violations(build.real(path), CHECKS) == {}


@pytest.mark.parametrize("name", ["07-sonnet37-thinking-2025-02.sse", "18-opus46-adaptive-thinking-text-first-2026-02.sse", "23-haiku45-thinking-tool-use-2026-05.sse"])
def test_real_thinking_streams_are_judged_and_pass(build, name):
    subject = build.stream((CAPTURES / name).read_bytes(), request={**THINKING, "max_tokens": 64000})
    assert run("thinking.stream_signature_delta", subject) == []
    assert run("thinking.signature_present", subject) == []


def test_what_the_thinking_checks_judged(build):
    assert judged("thinking.block_present", build.plain(answer(), request=THINKING)) == ('content types ["thinking", "text"] with thinking enabled',)
    assert judged("thinking.signature_present", build.plain(answer(), request=THINKING)) == ("the signature of 1 thinking block",)
    assert judged("thinking.stream_signature_delta", build.stream(thinking_events(), request=THINKING)) == ("the signature_delta of 1 thinking block",)
