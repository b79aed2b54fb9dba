"""Token usage: types, limits, cumulative streaming, agreement between a stream and its twin, the system prompt in input usage."""

from __future__ import annotations

from collections.abc import Iterator

from .. import media
from .._types import JSON, JSONObject
from ..findings import Judgement, NotApplicable, Violation, judgement
from ._probes import answer_text
from .registry import check
from .subject import Subject, Unjudgeable, counted, infrastructure_failure, is_int, locate, show

KEPT = 10  # violations of a per-event rule shown in full; a long broken stream is not listed event by event


def _usage(message: JSONObject) -> JSONObject:
    usage = message.get("usage")
    if not isinstance(usage, dict):
        raise NotApplicable("no usage object (judged by the schema checks)")
    return usage


def _start_usage(s: Subject) -> tuple[int, JSONObject]:
    for index, data in s.events():
        if data.get("type") == "message_start":
            message = data.get("message")
            if isinstance(message, dict) and isinstance(message.get("usage"), dict):
                return index, message["usage"]
            raise NotApplicable("message_start has no usage (judged by stream.event_schema)")
    raise s.unjudged("no message_start (judged by stream.message_start_first)")


def _output_counts(s: Subject) -> Iterator[tuple[int, str, JSON]]:
    """(event number, event type, output_tokens) for message_start and every message_delta, in order."""
    for index, data in s.events():
        kind = data.get("type")
        if kind == "message_start":
            message = data.get("message")
            usage = message.get("usage") if isinstance(message, dict) else None
        elif kind == "message_delta":
            usage = data.get("usage")
        else:
            continue
        yield index, str(kind), usage.get("output_tokens") if isinstance(usage, dict) else None


def _counted_events(starts: int, deltas: int) -> str:
    parts = ([counted(starts, "message_start")] if starts != 1 else ["message_start"]) if starts else []
    return "output_tokens of " + " and ".join([*parts, counted(deltas, "message_delta")] if deltas or not parts else parts)


def _count(value: JSON) -> int:
    return value if is_int(value) else 0


def input_total(usage: JSONObject) -> int | None:
    """All input the request cost, None without an integer input_tokens: caching moves tokens between the three counters, never changes their sum."""
    total = usage.get("input_tokens")
    if not is_int(total):
        return None
    return total + _count(usage.get("cache_creation_input_tokens")) + _count(usage.get("cache_read_input_tokens"))


@check("usage.input_tokens_positive")
def input_tokens_positive(s: Subject) -> Judgement:
    """Billing and context tracking read input_tokens; zero for a non-empty prompt means usage is lost."""
    if s.reading is not None:
        index, usage = _start_usage(s)
        at, where = f"{locate(s, index)} /message/usage/input_tokens", " in message_start"
    else:
        usage, at, where = _usage(s.body()), "/usage/input_tokens", ""
    value = usage.get("input_tokens")
    item = f"input_tokens {show(value)}{where}"
    if not is_int(value):
        return judgement(item, [Violation(f"Received: input_tokens {show(value)}\nExpected: an integer >= 1", at=at)])
    total = input_total(usage)
    if total is not None and total < 1:
        return judgement(item, [Violation(f"Received: input_tokens {value} (cache counters included: {total})\nExpected: >= 1 for a non-empty prompt", at=at)])
    return judgement(item)


@check("usage.output_tokens_nonnegative")
def output_tokens_nonnegative(s: Subject) -> Judgement:
    """output_tokens feeds cost accounting; a negative or non-integer count corrupts it."""
    found: list[Violation] = []
    if s.reading is None:
        value = _usage(s.body()).get("output_tokens")
        if value is None:
            raise NotApplicable("no output_tokens (judged by shape.message_schema)")
        if not (is_int(value) and value >= 0):
            found.append(Violation(f"Received: output_tokens {show(value)}\nExpected: an integer >= 0", at="/usage/output_tokens"))
        return judgement(f"output_tokens {show(value)}", found)
    seen = {"message_start": 0, "message_delta": 0}
    for index, kind, value in _output_counts(s):
        if value is None:
            continue
        seen[kind] += 1
        if not (is_int(value) and value >= 0) and len(found) < KEPT:
            found.append(Violation(f"Received: output_tokens {show(value)}\nExpected: an integer >= 0", at=locate(s, index), event_index=index))
    if not any(seen.values()):
        raise s.unjudged("no output_tokens in message_start or message_delta (judged by stream.event_schema)")
    return judgement(_counted_events(seen["message_start"], seen["message_delta"]), found)


@check("usage.output_within_max_tokens")
def output_within_max_tokens(s: Subject) -> Judgement:
    """Clients budget on max_tokens; a target that overshoots it breaks them."""
    limit = s.request_json().get("max_tokens")
    if not is_int(limit):
        raise NotApplicable("the request has no integer max_tokens")
    used = _usage(s.message()).get("output_tokens")
    if not is_int(used):
        raise NotApplicable("no integer output_tokens (judged by usage.output_tokens_nonnegative)")
    item = f"output_tokens {used} against max_tokens {limit}"
    if used > limit:
        at = "message_delta /usage/output_tokens" if s.reading is not None else "/usage/output_tokens"
        return judgement(item, [Violation(f"Received: output_tokens={used}\nExpected: <= max_tokens={limit}", at=at)])
    return judgement(item)


@check("usage.output_tokens_counted")
def output_tokens_counted(s: Subject) -> Judgement:
    """Billing and context tracking add output_tokens up; an answer that produced content never costs nothing."""
    message = s.message()
    content = message.get("content")
    if not (isinstance(content, list) and content):
        raise NotApplicable("the answer has no content blocks")
    used = _usage(message).get("output_tokens")
    if not is_int(used):
        raise NotApplicable("no integer output_tokens (judged by usage.output_tokens_nonnegative)")
    item = f"output_tokens {used} for {counted(len(content), 'content block')}"
    if used < 1:
        at = "message_delta /usage/output_tokens" if s.reading is not None else "/usage/output_tokens"
        kinds = [b.get("type") for b in content if isinstance(b, dict)]
        return judgement(item, [Violation(f"Received: output_tokens={used} for an answer with content {show(kinds)}\nExpected: >= 1 (every generated token is counted)", at=at)])
    return judgement(item)


@check("usage.output_reaches_max_tokens")
def output_reaches_max_tokens(s: Subject) -> Judgement:
    """An answer cut at max_tokens used all of them; a smaller count is an undercount clients pay for blind."""
    message = s.stopped_by("max_tokens", "stop_reason.max_tokens_on_limit")
    limit, used = s.request_json().get("max_tokens"), _usage(message).get("output_tokens")
    if not (is_int(limit) and is_int(used)):
        raise NotApplicable("no integer max_tokens and output_tokens to compare")
    item = f'output_tokens {used} with stop_reason "max_tokens" and max_tokens {limit}'
    if used < limit:
        at = "message_delta /usage/output_tokens" if s.reading is not None else "/usage/output_tokens"
        return judgement(item, [Violation(f"Received: output_tokens={used} with stop_reason \"max_tokens\"\nExpected: output_tokens={limit}, the request's max_tokens", at=at)])
    return judgement(item)


@check("usage.stream_cumulative")
def stream_cumulative(s: Subject) -> Judgement:
    """message_delta usage is a running total (DOC-STR); clients overwrite, so a per-chunk count loses tokens."""
    previous: tuple[int, int] | None = None
    found: list[Violation] = []
    seen = {"message_start": 0, "message_delta": 0}
    for index, kind, value in _output_counts(s):
        if not is_int(value):
            continue
        seen[kind] += 1
        if previous is not None and value < previous[1] and len(found) < KEPT:
            found.append(
                Violation(
                    f"Received: output_tokens {value} in {kind}, after {previous[1]} at event #{previous[0]}\nExpected: a running total that never decreases",
                    at=locate(s, index),
                    event_index=index,
                )
            )
        previous = (index, value)
    if sum(seen.values()) < 2:
        raise s.unjudged("fewer than two integer output_tokens counts in the stream, so no running total to follow")
    return judgement(_counted_events(seen["message_start"], seen["message_delta"]), found)


def _within(a: int, b: int, tolerance: tuple[float, float]) -> bool:
    absolute, relative = tolerance
    return abs(a - b) <= max(absolute, relative * max(a, b))


@check("usage.stream_matches_twin")
def stream_matches_twin(s: Subject) -> Judgement:
    """Cost dashboards sum streamed usage; it must agree with what the same request reports unstreamed."""
    twin_usage = _usage(s.twin_message())
    usage = _usage(s.message())
    deltas = [d for _, d in s.events() if d.get("type") == "message_delta"]
    final = deltas[-1].get("usage") if deltas else None
    if not isinstance(final, dict) or not is_int(final.get("output_tokens")):
        raise NotApplicable("the final message_delta carries no output_tokens (judged by stream.event_schema)")
    message, twin = s.message(), s.twin_message()
    # Output depends on the text sampled: two different answers are only compared when both ran to max_tokens.
    same_output = answer_text(message) == answer_text(twin) or message.get("stop_reason") == twin.get("stop_reason") == "max_tokens"
    found: list[Violation] = []
    compared: list[str] = []
    for name, tolerance in s.contract.twin_tolerance.items():
        if name == "output_tokens" and not same_output:
            continue
        streamed, plain = (input_total(usage), input_total(twin_usage)) if name == "input_tokens" else (usage.get(name), twin_usage.get(name))
        if not (is_int(streamed) and is_int(plain)):
            continue
        compared.append(f"{name} {streamed} streamed, {plain} not streamed")
        if not _within(streamed, plain, tolerance):
            cached = name == "input_tokens" and (streamed, plain) != (usage.get(name), twin_usage.get(name))
            counted = ", cache reads and writes included" if cached else ""
            found.append(
                Violation(
                    f"Received: {name}={streamed} streamed, {plain} not streamed ({s.twin.id if s.twin else '?'}{counted})\n"
                    f"Expected: equal within {tolerance[0]:g} tokens or {tolerance[1]:.0%}",
                    at=f"final usage /{name}",
                )
            )
    if not compared:
        raise NotApplicable("no integer usage counter both answers report that can be compared")
    return judgement(compared, found)


PLAIN = "plain"  # the request system.string adds a system prompt to


@check("usage.system_prompt_counted")
def system_prompt_counted(s: Subject) -> Judgement:
    """Billing and context budgets rest on input usage; one that leaves the system prompt out under-reports every agent turn."""
    plain = s.peer(PLAIN)
    failure = infrastructure_failure(plain) if plain is not None else None
    if failure is not None:
        raise Unjudgeable(f"nothing to compare with: {PLAIN} has no answer ({failure})")
    if plain is None or not plain.ok or not isinstance(plain.json, dict):
        got = "was not sent" if plain is None else f"answered {plain.status}" if not plain.ok else "answered no JSON object"
        raise NotApplicable(f"nothing to compare with: {PLAIN} {got}")
    own, base = s.request_json(), plain.request.json
    if "system" not in own or not isinstance(base, dict) or {k: v for k, v in own.items() if k != "system"} != base:
        raise NotApplicable(f"the request is not {PLAIN}'s body plus a system prompt, so their usage cannot be compared")
    with_system, without = input_total(_usage(s.body())), input_total(_usage(plain.json))
    if with_system is None or without is None:
        raise NotApplicable("no integer input_tokens to compare (judged by the schema checks)")
    item = f"{with_system} input tokens with a system prompt, {without} without ({PLAIN})"
    if with_system > without:
        return judgement(item)
    return judgement(item, [
        Violation(
            f"Received: {with_system} input tokens (cache counters included) with a system prompt, {without} for the same request without it ({PLAIN})\n"
            f"Expected: more than {without}: input usage counts the system prompt",
            at="/usage/input_tokens",
        )
    ])


ROUND_TRIP = "tools.round_trip"  # the request tools.round_trip_image adds an image to


def _tool_result_images(body: JSON) -> tuple[JSON, list[JSONObject]]:
    """``body`` with every image inside a tool_result's content removed, and those images."""
    images: list[JSONObject] = []

    def strip(value: JSON, inside: bool) -> JSON:
        if isinstance(value, list):
            kept = [strip(item, inside) for item in value if not (inside and isinstance(item, dict) and item.get("type") == "image")]
            images.extend(item for item in value if inside and isinstance(item, dict) and item.get("type") == "image")
            return kept
        if isinstance(value, dict):
            return {key: strip(item, inside or value.get("type") == "tool_result") for key, item in value.items()}
        return value

    return strip(body, False), images


def _image_estimate(image: JSONObject) -> tuple[str, int] | None:
    """An image block's size and its cost by the vision doc's estimate, None when the size cannot be read."""
    size = media.block_image_size(image)
    return (f"{size[0]}x{size[1]}", media.image_tokens(*size)) if size is not None else None


@check("usage.tool_result_image_counted")
def tool_result_image_counted(s: Subject) -> Judgement:
    """Agents that read screenshots through a tool budget context on input usage; an image missing from it was dropped on the way, unseen by the model."""
    base = s.peer(ROUND_TRIP)
    if base is None or not base.ok or not isinstance(base.json, dict):
        raise NotApplicable(f"no successful {ROUND_TRIP} answer to compare with")
    stripped, images = _tool_result_images(dict(s.request_json()))
    if not images:
        raise NotApplicable("the request has no image in a tool_result")
    if stripped != base.request.json:
        raise NotApplicable(f"the request is not {ROUND_TRIP}'s body plus images in a tool_result, so their usage cannot be compared")
    estimates = [_image_estimate(image) for image in images]
    if any(e is None for e in estimates):
        raise NotApplicable("an image's size cannot be read from its base64 data, so its cost is unknown")
    sizes = ", ".join(e[0] for e in estimates if e is not None)
    cost = sum(e[1] for e in estimates if e is not None)
    with_images, without = input_total(_usage(s.message())), input_total(_usage(base.json))
    if with_images is None or without is None:
        raise NotApplicable("no integer input_tokens to compare (judged by the schema checks)")
    judged = f"input usage {with_images} with a {sizes} image in a tool_result, {without} without it ({ROUND_TRIP})"
    wanted = without + cost // 2
    if with_images >= wanted:
        return judgement(judged)
    return judgement(
        judged,
        [
            Violation(
                f"Received: {with_images} input tokens (cache counters included) with a {sizes} image in a tool_result, {without} for the same request without it ({ROUND_TRIP})\n"
                f"Expected: at least {wanted}: the image costs about {cost} tokens (width x height / 750, vision doc), and input usage counts it",
                at="/usage/input_tokens",
            )
        ],
    )
