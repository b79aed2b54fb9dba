"""Did a behaviour probe force what it asked for? Shared by the checks that judge forced behaviour.

A probe forces a stop reason through the request: a marker the prompt asks the model to print and a
stop sequence equal to it, a tiny max_tokens under a prompt that asks for a long answer, a short
answer well within max_tokens. A faithful gateway in front of a model that ignores the prompt (a mock
backend, a weak local model) never reaches the forced state, and its answer shows it. These helpers
read that from the answer and raise ``NotForced``; anything the answer cannot explain stays a
violation for the check to report. Pure functions over recorded values, like every check.
"""

from __future__ import annotations

from collections.abc import Mapping

from .._types import JSON, JSONObject
from ..findings import NotApplicable, NotForced
from .subject import Subject, is_int, show


def answer_text(message: JSONObject) -> str:
    """The text of a message's text blocks, joined."""
    content = message.get("content")
    if not isinstance(content, list):
        return ""
    return "".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str))


def different_samples(streamed: JSONObject, plain: JSONObject, *, what: str) -> None:
    """Raise NotApplicable when a stream and its twin answered with different text: two samples of a model need not agree.

    Nothing documents that two requests produce the same output; only answers with the same text can
    be compared for ``what``. Whether text went missing on the way is stream.text_matches_twin's to judge.
    """
    a, b = answer_text(streamed), answer_text(plain)
    if a != b:
        raise NotApplicable(f"the two answers are different samples (text {show(a[:60])} streamed, {show(b[:60])} not), so their {what} are not compared")


def _prompt(body: Mapping[str, JSON]) -> str:
    """The last user turn's text (string content or its text blocks)."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return ""
    for turn in reversed(messages):
        if isinstance(turn, dict) and turn.get("role") == "user":
            content = turn.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "".join(b.get("text", "") for b in content if isinstance(b, dict) and isinstance(b.get("text"), str))
    return ""


def _output_tokens(message: JSONObject) -> int | None:
    usage = message.get("usage")
    value = usage.get("output_tokens") if isinstance(usage, dict) else None
    return value if is_int(value) else None


def stop_sequence_not_forced(s: Subject, message: JSONObject, marker: str) -> None:
    """Raise NotForced when the answer shows the model never printed the marker, so no stop sequence could match.

    The answer explains itself in two ways that stay violations: the marker is in the text (the stop
    sequence was not applied), or the text ends with the word the prompt puts right before the marker
    (it was applied and cut there). Only an answer with neither is the model's doing.
    """
    text = answer_text(message)
    if marker in text:
        return
    before, found, _ = _prompt(s.request_json()).partition(marker)
    words = before.split()
    if not found or not words:
        return  # the prompt does not say what comes before the marker: judge strictly
    if text.rstrip().endswith(words[-1]):
        return
    raise NotForced(
        f"Received: text {show(text[:120])}, with neither the marker {show(marker)} nor {show(words[-1])}, the word the prompt puts before it\n"
        f"Expected: an answer that prints the marker, so the stop sequence can match (the model did not follow the prompt)"
    )


def limit_not_reached(message: JSONObject, limit: JSON) -> None:
    """Raise NotForced when the model ended its answer on its own before max_tokens, by its usage and its words.

    Each whitespace-separated word costs at least one token, so an answer with at least ``limit`` words
    reached the limit whatever the usage says (a gateway that drops usage is not excused).
    """
    used = _output_tokens(message)
    text = answer_text(message)
    if not is_int(limit) or used is None or used >= limit or len(text.split()) >= limit:
        return
    raise NotForced(
        f"Received: text {show(text[:120])}, ended by the model on its own after {used} output token(s)\n"
        f"Expected: an answer that reaches max_tokens={limit} (the prompt asks for far more; the model did not follow it)"
    )


def ran_to_limit(message: JSONObject, limit: JSON) -> None:
    """Raise NotForced when an answer meant to end on its own ran to max_tokens (output_tokens reached it)."""
    used = _output_tokens(message)
    if message.get("stop_reason") != "max_tokens" or not is_int(limit) or used is None or used < limit:
        return
    raise NotForced(
        f"Received: text {show(answer_text(message)[:120])}, cut at max_tokens={limit} ({used} output tokens)\n"
        f"Expected: the short reply the prompt asks for, ending on its own (the model did not follow the prompt)"
    )
