"""What a behaviour probe forced, judged from the answers themselves rather than from the model's obedience.

A probe forces behaviour through the request (a stop sequence that occurs in nearly any answer, a
max_tokens of 1, a forced tool_choice). Where the verdict also needs to know what the model would
have written (where a stop sequence had to cut, whether a stream lost text), these helpers find it
in the run itself: the target's own answers to the same request, when it gave the identical answer
at least twice (a canned mock, a temperature-0 backend: deterministic), or else the exact text the
prompt asks for, when the answer shows the model followed it. Without either, the rule was not put
to the test: ``NotForced``, which the judge reports as a warning with the evidence. Pure functions
over recorded values, like every check.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from .._types import JSON, JSONObject
from ..exchange import Exchange
from ..findings import NotForced
from .subject import Subject, is_int, show

MIN_SAMPLES = 2  # identical answers to one request that make a target deterministic for it


def text_blocks(message: JSONObject) -> list[tuple[int, str]]:
    """(position in content, text) of every text block."""
    content = message.get("content")
    if not isinstance(content, list):
        return []
    return [(i, b["text"]) for i, b in enumerate(content) if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)]


def answer_text(message: JSONObject) -> str:
    """The text of a message's text blocks, joined."""
    return "".join(text for _, text in text_blocks(message))


def stop_sequences(body: Mapping[str, JSON]) -> list[str]:
    """The request's non-empty stop sequences, in the order listed."""
    stops = body.get("stop_sequences")
    return [s for s in stops if isinstance(s, str) and s] if isinstance(stops, list) else []


def prompt_text(body: Mapping[str, JSON]) -> str:
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


# ------------------------------------------------------------------------------ determinism


@dataclass(frozen=True, slots=True)
class Reference:
    """The text the target writes for a request, and how the run knows it."""

    text: str
    stop_reason: JSON
    why: str


def _message_body(exchange: Exchange) -> JSONObject | None:
    data = exchange.json
    return data if exchange.ok and isinstance(data, dict) and data.get("type") == "message" else None


def _same_request(a: JSON, b: Mapping[str, JSON], ignore: Collection[str]) -> bool:
    if not isinstance(a, dict):
        return False
    return {k: v for k, v in a.items() if k not in ignore} == {k: v for k, v in b.items() if k not in ignore}


def deterministic(s: Subject, *, ignore: Collection[str] = ("stream",), without_stops: bool = False) -> Reference | None:
    """The answer the target gives this request every time: at least two non-streamed answers of the run to it, all with the same text and stop_reason.

    ``ignore`` names the request fields that may differ (a stream flag changes the framing, not what
    the model writes; stop sequences only cut it). With ``without_stops`` only requests without stop
    sequences count, so the reference is the whole text the stop sequences would cut.
    """
    own = s.request_json()
    found: list[tuple[str, JSONObject]] = []
    for sid, exchange in sorted(s.peers.items()):
        body = exchange.request.json
        if without_stops and isinstance(body, dict) and body.get("stop_sequences"):
            continue
        message = _message_body(exchange)
        if message is not None and _same_request(body, own, ignore):
            found.append((sid, message))
    if len(found) < MIN_SAMPLES:
        return None
    answers = {(answer_text(m), str(m.get("stop_reason"))) for _, m in found}
    if len(answers) != 1:
        return None
    first = found[0][1]
    ids = ", ".join(sid for sid, _ in found[:4]) + (" …" if len(found) > 4 else "")
    return Reference(answer_text(first), first.get("stop_reason"), f"the target answered the same request identically {len(found)} times ({ids})")


def comparable(s: Subject, streamed: JSONObject, plain: JSONObject, *, what: str) -> str:
    """Why a stream and its twin may be compared on ``what``: the same text, or a target that answers this request identically every time.

    Two samples of a model need not agree, so otherwise the rule was not put to the test (NotForced,
    with both texts as evidence). Whether text went missing on the way is stream.text_matches_twin's.
    """
    a, b = answer_text(streamed), answer_text(plain)
    if a == b:
        return "the same text both ways"
    reference = deterministic(s)
    if reference is not None:
        return reference.why
    raise NotForced(
        f"Received: text {show(a[:60])} streamed, {show(b[:60])} not streamed, from a target that does not answer this request identically every time\n"
        f"Expected: two answers that can be compared on their {what} (the same text, or a deterministic target)"
    )


# ---------------------------------------------------------------------------- stop sequences


def first_stop(text: str, stops: list[str]) -> tuple[int, str] | None:
    """Where the first stop sequence to complete in ``text`` starts, and which one (as a sampler checks after each piece: earliest end, then earliest start)."""
    best: tuple[tuple[int, int], str] | None = None
    for stop in stops:
        at = text.find(stop)
        if at >= 0 and (best is None or (at + len(stop), at) < best[0]):
            best = ((at + len(stop), at), stop)
    return None if best is None else (best[0][1], best[1])


@dataclass(frozen=True, slots=True)
class StopOutcome:
    """Where the request's stop sequences had to stop an answer, and whether they did.

    ``expected`` is the sequence that had to fire (None: none occurs in the text, so nothing had to
    stop it); ``cut`` tells whether the answer's text ends right before it (False: the text runs past it).
    """

    expected: str | None
    cut: bool
    text: str
    why: str


def stop_outcome(s: Subject, message: JSONObject) -> StopOutcome:
    """Where the stop sequences had to cut this answer, from the text itself, the target's deterministic answer to the same request, or the text the prompt asks for.

    Raises NotForced when none of those tells (a model that wrote none of the sequences, sampled anew).
    """
    stops = stop_sequences(s.request_json())
    text = answer_text(message)
    inside = first_stop(text, stops)
    if inside is not None:  # the answer itself shows a sequence the text had to stop at
        if text[inside[0] :] == inside[1]:  # stopped there, the sequence left in (stop_reason.stop_sequence_excluded's finding)
            return StopOutcome(inside[1], True, text, f"the answer's text ends with {show(inside[1])}")
        return StopOutcome(inside[1], False, text, f"the answer's own text holds {show(inside[1])} at character {inside[0]}")
    candidates: list[tuple[str, str]] = []
    reference = deterministic(s, ignore=("stream", "stop_sequences"), without_stops=True)
    if reference is not None:
        candidates.append((reference.text, reference.why))
    if s.request.expect_text:
        candidates.append((s.request.expect_text, f"the prompt asks for exactly {show(s.request.expect_text)}"))
    for full, why in candidates:
        hit = first_stop(full, stops)
        if hit is None:
            if text == full:
                raise NotForced(
                    f"Received: text {show(text[:120])}, which holds none of the stop sequences {show(stops)} ({why})\n"
                    "Expected: an answer in which one of them occurs, so that it has to stop the text (the model wrote none of them)"
                )
            continue
        before = full[: hit[0]]
        if text == before:
            return StopOutcome(hit[1], True, text, f"{why}; that text holds {show(hit[1])} right after {show(before[-20:])}")
    raise NotForced(
        f"Received: text {show(text[:120])}, which holds none of the stop sequences {show(stops)}, and no answer of the run shows what the model would have written\n"
        "Expected: a deterministic target (the same request answered identically twice) or an answer that follows the prompt, to tell where a stop sequence had to cut"
    )


# -------------------------------------------------------------------------- stop reasons


def _output_tokens(message: JSONObject) -> int | None:
    usage = message.get("usage")
    value = usage.get("output_tokens") if isinstance(usage, dict) else None
    return value if is_int(value) else None


def limit_not_reached(message: JSONObject, limit: JSON) -> None:
    """Raise NotForced when the model ended its answer on its own before max_tokens, by its usage and its words.

    Each whitespace-separated word costs at least one token, so an answer with at least ``limit`` words
    reached the limit whatever the usage says (a gateway that drops usage is not excused). An answer
    with no text at all that ends its turn ended it at once, whatever max_tokens was.
    """
    used = _output_tokens(message)
    text = answer_text(message)
    if not text and message.get("stop_reason") == "end_turn":
        raise NotForced(
            "Received: an empty answer that ends its turn at once\nExpected: an answer with at least one token of text, which max_tokens can cut (the model wrote nothing)"
        )
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
