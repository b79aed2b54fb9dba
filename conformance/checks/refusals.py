"""Stop reasons that end a turn early: refusal (with its stop_details) and pause_turn, kept as Anthropic sends them.

A gateway that maps stop reasons through a fixed table turns both into end_turn: a refused answer
then reads as a finished one (no stop_details for the client to show), a paused server-tool turn as
a finished one (the client never sends it back to continue). The refusal probe sends the test string
Anthropic documents for refusal handling, which triggers the classifier, not the model; pause_turn is
judged on every answer with server tool calls (and on the reference server's simulated pause).
Pure functions over recorded values.
"""

from __future__ import annotations

from .._types import JSONObject
from ..findings import Judgement, NotApplicable, Violation, judgement
from ._probes import answer_text, prompt_text
from .registry import check
from .server_tools import CUT_BEFORE_RESULT, blocks
from .subject import Subject, show

# "If you need to test refusal handling in your application, you can use this special test string as your prompt"
# (https://platform.claude.com/docs/en/test-and-evaluate/strengthen-guardrails/handle-streaming-refusals).
REFUSAL_TEST_STRING = "ANTHROPIC_MAGIC_STRING_TRIGGER_REFUSAL_1FAEFB6177B4672DEE07F9D3AFC62588CCD2631EDCF22E8CCC1FB35B501C9C86"
# RefusalStopDetails.category (anthropic/types/refusal_stop_details.py); null when the refusal maps to no named category.
_STRING_OR_NULL = (str, type(None))


def _where(s: Subject, key: str) -> str:
    return f"message_delta /delta/{key}" if s.reading is not None else f"/{key}"


def _reason(message: JSONObject, s: Subject) -> object:
    """The answer's stop_reason; NotApplicable when it has none (a missing one is another check's finding)."""
    reason = message.get("stop_reason")
    if reason is None:
        owner = "stream.message_delta_stop_reason" if s.reading is not None else "shape.message_schema"
        raise NotApplicable(f"no stop_reason (judged by {owner})")
    return reason


@check("stop_reason.refusal_reported")
def refusal_reported(s: Subject) -> Judgement:
    """Clients learn that the classifier stopped an answer only from stop_reason refusal; end_turn makes a refusal look like an answer."""
    if REFUSAL_TEST_STRING not in prompt_text(s.request_json()):
        raise NotApplicable("the prompt is not the documented refusal test string")
    message = s.message()
    reason = _reason(message, s)
    item = f"stop_reason {show(reason)} for the refusal test string"
    if reason != "refusal":
        return judgement(item, [Violation(
            f"Received: stop_reason {show(reason)} with text {show(answer_text(message)[:120])}\n"
            "Expected: \"refusal\" (the documented refusal test string triggers the streaming classifier)",
            at=_where(s, "stop_reason"),
        )])
    return judgement(item)


@check("stop_reason.refusal_details_present")
def refusal_details_present(s: Subject) -> Judgement:
    """The refusals guide says stop_details is always present on a refusal; clients show its explanation and pick a fallback by its category."""
    message = s.stopped_by("refusal")
    details = message.get("stop_details")
    at = _where(s, "stop_details")
    item = f"stop_details {show(details)} with stop_reason \"refusal\""
    if not isinstance(details, dict) or details.get("type") != "refusal":
        return judgement(item, [Violation(f"Received: stop_details {show(details)} with stop_reason \"refusal\"\nExpected: an object {{\"type\": \"refusal\", \"category\": …, \"explanation\": …}}", at=at)])
    wrong = [key for key in ("category", "explanation") if not isinstance(details.get(key), _STRING_OR_NULL)]
    if wrong:
        return judgement(item, [Violation(f"Received: stop_details {show(details)}\nExpected: {' and '.join(wrong)} a string or null", at=f"{at}/{wrong[0]}")])
    return judgement(item)


def _unanswered(message: JSONObject) -> tuple[list[str], list[str]]:
    """(names of answered server tool calls, names of calls with no result block naming them)."""
    found = blocks(message)
    answered_ids = {b.get("tool_use_id") for _, b in found if str(b.get("type")).endswith("_tool_result")}
    calls = [b for _, b in found if b.get("type") == "server_tool_use"]
    return [str(b.get("name")) for b in calls if b.get("id") in answered_ids], [str(b.get("name")) for b in calls if b.get("id") not in answered_ids]


@check("stop_reason.pause_turn_reported")
def pause_turn_reported(s: Subject) -> Judgement:
    """A paused server-tool turn must be sent back to continue (stop_reason pause_turn); reported as end_turn, the client takes the unfinished turn as final."""
    message = s.message()
    answered, pending = _unanswered(message)
    if not answered and not pending:
        raise NotApplicable("no server_tool_use block")
    reason = _reason(message, s)
    if not pending:
        return judgement(f"{len(answered)} server tool call(s), each answered by its result, stop_reason {show(reason)}")
    item = f"server_tool_use {show(pending[-1])} left without its result, stop_reason {show(reason)}"
    if isinstance(reason, str) and reason in CUT_BEFORE_RESULT:
        return judgement(item)
    return judgement(item, [Violation(
        f"Received: stop_reason {show(reason)} with {len(pending)} server_tool_use block(s) ({show(pending)}) left without a result\n"
        "Expected: \"pause_turn\" (the API paused the turn before running the call; the client sends the answer back as-is to continue)",
        at=_where(s, "stop_reason"),
    )])


@check("stop_reason.pause_turn_passed_through")
def pause_turn_passed_through(s: Subject) -> Judgement:
    """The target was made to pause this turn: the client must see pause_turn to send the turn back, not an ending."""
    message = s.message()
    reason = _reason(message, s)
    answered, pending = _unanswered(message)
    item = f"stop_reason {show(reason)} with {len(pending)} server tool call(s) pending"
    if reason == "pause_turn" and pending:
        return judgement(item)
    return judgement(item, [Violation(
        f"Received: stop_reason {show(reason)}, {len(answered)} server tool call(s) answered, {len(pending)} pending\n"
        "Expected: stop_reason \"pause_turn\" with the last server_tool_use left without its result (the turn was paused before the call ran)",
        at=_where(s, "stop_reason"),
    )])
