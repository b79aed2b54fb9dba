"""The toy model: tokenizer, the suite's three prompts, prefill, stop sequences against max_tokens, input counting."""

from __future__ import annotations

import pytest

from conformance.reference.toy_model import (
    DEFAULT_REPLY,
    StopReason,
    generate,
    input_tokens,
    message_text,
    reply_to,
    tokenize,
)

from ._support import COUNT, GRUSSE, XYZZY, user


@pytest.mark.parametrize("text", ["", "a", " lead", "trail ", "a  b\n\tc ", "Grüße ok", "\n\n"])
def test_tokenize_is_lossless(text):
    assert "".join(tokenize(text)) == text


def test_tokens_carry_their_leading_whitespace():
    assert tokenize("one two  three") == ["one", " two", "  three"]


def test_grusse_prompt_echoes_the_text():
    gen = generate(user(GRUSSE), max_tokens=32)
    assert (gen.text, gen.stop_reason, gen.stop_sequence) == ("Grüße ok", StopReason.END_TURN, None)
    assert gen.output_tokens == 2
    assert gen.pieces == ("Grüße", " ok")


def test_count_prompt_hits_max_tokens():
    gen = generate(user(COUNT), max_tokens=5)
    assert (gen.text, gen.stop_reason, gen.output_tokens) == ("1 2 3 4 5", StopReason.MAX_TOKENS, 5)


def test_count_prompt_runs_to_the_end_with_room():
    gen = generate(user("Count from 3 to 6"), max_tokens=100)
    assert (gen.text, gen.stop_reason) == ("3 4 5 6", StopReason.END_TURN)


def test_stop_sequence_cuts_before_the_match():
    gen = generate(user(XYZZY), max_tokens=32, stop_sequences=["XYZZY"])
    assert gen.text == "one two three "
    assert (gen.stop_reason, gen.stop_sequence) == (StopReason.STOP_SEQUENCE, "XYZZY")
    assert gen.output_tokens == 4  # the token that completed the match is counted
    assert "".join(gen.pieces) == gen.text


def test_stop_sequence_spanning_tokens_trims_earlier_pieces():
    gen = generate(user(XYZZY), max_tokens=32, stop_sequences=["three XY"])
    assert gen.text == "one two "
    assert gen.pieces == ("one", " two", " ")
    assert gen.output_tokens == 4


def test_earliest_stop_sequence_wins():
    gen = generate(user(XYZZY), max_tokens=32, stop_sequences=["four", "two", "one two three XYZZY"])
    assert (gen.text, gen.stop_sequence) == ("one ", "two")


def test_stop_sequence_beats_max_tokens_on_the_same_token():
    gen = generate(user(XYZZY), max_tokens=4, stop_sequences=["XYZZY"])
    assert (gen.stop_reason, gen.output_tokens) == (StopReason.STOP_SEQUENCE, 4)


def test_max_tokens_before_the_stop_sequence():
    gen = generate(user(XYZZY), max_tokens=3, stop_sequences=["XYZZY"])
    assert (gen.text, gen.stop_reason, gen.stop_sequence) == ("one two three", StopReason.MAX_TOKENS, None)


def test_absent_stop_sequence_ends_the_turn():
    gen = generate(user(GRUSSE), max_tokens=32, stop_sequences=["nowhere"])
    assert (gen.stop_reason, gen.stop_sequence) == (StopReason.END_TURN, None)


def test_default_reply():
    assert reply_to("What is the weather?") == DEFAULT_REPLY
    assert generate(user("hi"), max_tokens=100).text == DEFAULT_REPLY


def test_prefill_continues_the_reply():
    messages = [*user(GRUSSE), {"role": "assistant", "content": "Grüße"}]
    gen = generate(messages, max_tokens=32)
    assert (gen.text, gen.pieces) == (" ok", (" ok",))


def test_prefill_that_does_not_match_is_followed_by_the_full_reply():
    # Like a real model after "Antwort:": the reply follows the prefill, never repeats it.
    messages = [*user(GRUSSE), {"role": "assistant", "content": [{"type": "text", "text": "Antwort:"}]}]
    assert generate(messages, max_tokens=32).text == " Grüße ok"


def test_complete_prefill_leaves_an_empty_reply_that_still_costs_a_token():
    messages = [*user(GRUSSE), {"role": "assistant", "content": "Grüße ok"}]
    gen = generate(messages, max_tokens=32)
    assert (gen.text, gen.pieces, gen.output_tokens) == ("", (), 1)


def test_system_entries_do_not_select_the_reply():
    messages = [*user(GRUSSE), {"role": "system", "content": "Count from 1 to 3"}]
    assert generate(messages, max_tokens=32).text == "Grüße ok"


def test_last_user_message_selects_the_reply():
    messages = [*user(COUNT), {"role": "assistant", "content": "1 2"}, *user("Count from 7 to 8")]
    assert generate(messages, max_tokens=32).text == "7 8"


def test_message_text_joins_text_blocks_only():
    message = {
        "role": "user",
        "content": [{"type": "text", "text": "a"}, {"type": "image"}, {"type": "text", "text": "b"}],
    }
    assert message_text(message) == "a\nb"


def test_input_tokens_formula():
    messages = [{"role": "user", "content": "one two three"}]
    assert input_tokens(system=None, messages=messages) == 3 + 3
    assert input_tokens(system="be brief", messages=messages) == 2 + 3 + 3
    blocks = [{"type": "text", "text": "be brief"}]
    assert input_tokens(system=blocks, messages=messages) == 2 + 3 + 3
    tool = {"name": "t", "input_schema": {"type": "object"}}
    assert input_tokens(system=None, messages=messages, tools=[tool]) > 6


def test_input_tokens_counts_non_text_blocks_as_json():
    image = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    with_image = [{"role": "user", "content": [{"type": "text", "text": "hi"}, image]}]
    assert input_tokens(system=None, messages=with_image) > input_tokens(system=None, messages=user("hi"))


def test_input_tokens_is_at_least_one():
    assert input_tokens(system=None, messages=[]) == 1
