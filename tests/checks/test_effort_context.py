"""conformance/checks/effort.py and context.py: effort reaches the model, context edits are applied and reported.

Effort is judged where the API must refuse (capture 56; Haiku 4.5's "does not support the effort
parameter"), context management by the report the beta makes every answer carry (capture 19, DOC-CTXEDIT).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from conformance.checks.registry import registered
from conformance.findings import REFUSED_CLEANLY, Judgement, NotApplicable

from . import _events as ev
from ._build import error_body, message, request_json

HAIKU_REFUSAL = error_body(text="This model does not support the effort parameter.")
OPUS_46_REFUSAL = error_body(text="This model does not support effort level 'xhigh'. Supported levels: high, low, max, medium.")


def judge(check_id: str, subject) -> Judgement:
    result = registered()[check_id](subject)
    assert isinstance(result, Judgement)
    return result


def effort(build, level: str, *, status: int = 200, body: Any = None, levels: tuple[str, ...] | None = (), model: str = "claude-haiku-4-5"):
    request = request_json(max_tokens=16, output_config={"effort": level})
    exchange = build.exchange(status=status, body=message() if body is None else body, request=request, scenario=f"effort.{level}")
    subject = build.subject(exchange)
    return replace(subject, facts=replace(build.facts, effort=levels, model=model))


# ------------------------------------------------------------------------------ effort.level_honoured


def test_a_model_without_effort_refuses_it_naming_effort(build):
    result = judge("effort.level_honoured", effort(build, "low", status=400, body=HAIKU_REFUSAL))
    assert result.violations == ()
    assert result.judged == ("effort 'low', which claude-haiku-4-5 does not offer, refused as the model must: 400 invalid_request_error naming effort: \"This model does not support the effort parameter.\"",)
    assert REFUSED_CLEANLY not in result.judged[0]  # the model refusing a level it lacks is the feature working, not the target refusing it


def test_a_level_the_model_lacks_served_means_effort_was_dropped(build):
    # LiteLLM before PR 27074: output_config.effort never forwarded, so the refusal never came.
    [violation] = judge("effort.level_honoured", effort(build, "xhigh", levels=("low", "medium", "high", "max"), model="claude-opus-4-6")).violations
    assert violation.message == (
        "Received: status 200: the request was served\nExpected: status 400 invalid_request_error naming effort: claude-opus-4-6 offers "
        "effort low, medium, high, max (models.yaml), so the API refuses 'xhigh'; served, the field never reached the model"
    )
    assert violation.at == "/output_config/effort"


def test_capture_56_is_the_refusal_expected_of_opus_46(build):
    result = judge("effort.level_honoured", effort(build, "xhigh", status=400, body=OPUS_46_REFUSAL, levels=("low", "medium", "high", "max"), model="claude-opus-4-6"))
    assert result.violations == ()


def test_a_level_the_model_offers_is_accepted(build):
    result = judge("effort.level_honoured", effort(build, "low", levels=("low", "medium", "high", "max"), model="claude-opus-4-6"))
    assert result.judged == ("effort 'low' accepted (status 200): claude-opus-4-6 offers it (models.yaml)",)


def test_an_unknown_model_is_judged_on_acceptance_only(build):
    result = judge("effort.level_honoured", effort(build, "xhigh", levels=None, model="toy-claude"))
    assert result.judged == ("effort 'xhigh' accepted (status 200): the effort levels of toy-claude are unknown, so acceptance is all that is judged",)


def test_a_target_without_effort_may_refuse_it_cleanly(build):
    refused = error_body(text="output_config: Extra inputs are not permitted")
    result = judge("effort.level_honoured", effort(build, "low", status=400, body=refused, levels=("low", "high"), model="claude-sonnet-4-6"))
    assert result.violations == ()
    assert result.judged == (f'effort \'low\': {REFUSED_CLEANLY}: 400 invalid_request_error naming output_config: "output_config: Extra inputs are not permitted"',)


@pytest.mark.parametrize("levels", [(), ("low", "medium", "high", "max")])
def test_a_5xx_or_a_refusal_naming_another_field_fails(build, levels):
    # edutelligence#749: 500 "Unexpected reasoning effort high"; experiential#795: a refusal naming reasoning_effort.
    crashed = effort(build, "xhigh", status=500, body=error_body("api_error", "Unexpected reasoning effort xhigh."), levels=levels, model="claude-opus-4-6")
    [violation] = judge("effort.level_honoured", crashed).violations
    assert violation.message.startswith('Received: status 500 (api_error: "Unexpected reasoning effort xhigh.")\nExpected: ')
    assert violation.message.endswith("or a clean refusal: status 400 invalid_request_error whose message names effort or output_config.effort or output_config")
    renamed = effort(build, "low", status=400, body=error_body(text="Unsupported value (param: reasoning_effort)"), levels=("high",), model="claude-sonnet-4-6")
    assert len(judge("effort.level_honoured", renamed).violations) == 1


def test_a_request_without_effort_is_not_judged(build):
    with pytest.raises(NotApplicable, match=r"sends no output_config\.effort"):
        judge("effort.level_honoured", build.plain())


# ------------------------------------------------------------------------------ context.edits_applied

CLEAR = {"edits": [{"type": "clear_tool_uses_20250919", "trigger": {"type": "tool_uses", "value": 2}, "keep": {"type": "tool_uses", "value": 1}}]}


def history(rounds: int = 3) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = [{"role": "user", "content": "What is the weather in Paris, London and Tokyo?"}]
    for n in range(rounds):
        turns += [
            {"role": "assistant", "content": [{"type": "tool_use", "id": f"toolu_01Clear{n}", "name": "get_weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"toolu_01Clear{n}", "content": "18 °C and sunny"}]},
        ]
    turns[-1]["content"].append({"type": "text", "text": "Reply with exactly this text and nothing else: ok"})
    return turns


def context_events(report: Any, *, inside_delta: bool = False) -> list[dict[str, Any]]:
    closing = ev.message_delta("end_turn", output_tokens=1)
    if report is not None:
        if inside_delta:
            closing["delta"]["context_management"] = report
        else:
            closing["context_management"] = report
    return [ev.start(), ev.block_start(0), ev.PING, ev.text_delta("ok"), ev.block_stop(0), closing, ev.STOP]


def context(build, events=None, *, status: int = 200, body: Any = None, config: Any = CLEAR, rounds: int = 3):
    request = request_json(stream=True, max_tokens=16, messages=history(rounds), context_management=config)
    payload = ev.sse(events) if events is not None else body
    return build.subject(build.exchange(status=status, body=payload, request=request, scenario="context.clear_tool_uses"))


APPLIED = {"applied_edits": [{"type": "clear_tool_uses_20250919", "cleared_tool_uses": 2, "cleared_input_tokens": 24}]}


def test_the_applied_edit_reported_in_the_final_message_delta_passes(build):
    result = judge("context.edits_applied", context(build, context_events(APPLIED)))
    assert (result.judged, result.violations) == (("applied_edits clear_tool_uses_20250919 cleared_tool_uses 2",), ())


def test_no_report_means_the_beta_or_the_field_never_arrived(build):
    [violation] = judge("context.edits_applied", context(build, context_events(None))).violations
    assert violation.message.startswith("Received: context_management null in the final message_delta\nExpected: {applied_edits: [...]}")


def test_an_empty_report_means_the_edits_never_arrived(build):
    # Capture 19: the beta alone makes the answer carry an empty list; the edit itself was dropped.
    [violation] = judge("context.edits_applied", context(build, context_events({"applied_edits": []}))).violations
    assert violation.message.startswith(
        "Received: applied_edits []\nExpected: a clear_tool_uses_20250919 entry with cleared_tool_uses >= 1: the history holds 3 tool uses, more than the edit's trigger"
    )


def test_a_report_moved_into_delta_is_not_where_the_sdk_reads_it(build):
    [violation] = judge("context.edits_applied", context(build, context_events(APPLIED, inside_delta=True))).violations
    assert violation.message.startswith("Received: context_management null in the final message_delta")


def test_a_plain_answer_carries_the_report_at_its_top_level(build):
    request = request_json(max_tokens=16, messages=history(), context_management=CLEAR)
    subject = build.subject(build.exchange(body=message("ok", context_management=APPLIED), request=request, scenario="context.clear_tool_uses"))
    assert judge("context.edits_applied", subject).violations == ()


@pytest.mark.parametrize(
    ("text", "clean"),
    [("context_management: Extra inputs are not permitted", True), ("Unexpected value(s) `context-management-2025-06-27` for the `anthropic-beta` header.", True), ("Bad request", False)],
)
def test_refusals(build, text, clean):
    result = judge("context.edits_applied", context(build, status=400, body=error_body(text=text)))
    assert (result.violations == ()) is clean
    if clean:
        assert result.judged[0].startswith(f"{REFUSED_CLEANLY}: 400 invalid_request_error naming ")


def test_a_404_for_the_beta_query_fails(build):
    [violation] = judge("context.edits_applied", context(build, status=404, body=error_body("not_found_error", "Not Found"))).violations
    assert violation.message.startswith('Received: status 404 (not_found_error: "Not Found")\nExpected: the edits applied and reported, or a clean refusal')


def test_nothing_certainly_triggered_is_not_judged(build):
    with pytest.raises(NotApplicable, match="no edit whose trigger it certainly exceeds"):
        judge("context.edits_applied", context(build, context_events(APPLIED), rounds=2))
    tokens = {"edits": [{"type": "clear_tool_uses_20250919", "trigger": {"type": "input_tokens", "value": 30000}}]}
    with pytest.raises(NotApplicable, match="no edit whose trigger it certainly exceeds"):
        judge("context.edits_applied", context(build, context_events(APPLIED), config=tokens))


def test_a_stream_cut_before_its_message_delta_leaves_the_report_unjudged(build):
    # The cut is stream.ends_with_message_stop's finding (fault truncated-stream, stream-hung-up-after-message-start).
    with pytest.raises(NotApplicable, match="no message_delta to carry the report"):
        judge("context.edits_applied", context(build, [ev.start(), ev.block_start(0), ev.text_delta("ok")]))
