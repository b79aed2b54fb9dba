"""Follow-up scenarios (`follows:`): a request built from an earlier answer, planned, sent and judged.

scenarios.follow_up builds the turn; the engine sends it after the answer it continues, or records
it as not sent when that answer is missing; the judge skips what was not sent and holds() reads
list-valued model facts (thinking types) as membership.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from conformance.contract.loader import load_contract
from conformance.contract.model import Condition, ModelFacts
from conformance.engine import execute
from conformance.errors import SpecError
from conformance.exchange import ErrorKind, Exchange, RecordedRequest
from conformance.findings import Outcome
from conformance.judge import Judge
from conformance.scenarios import build_cases, follow_up, holds, plan_requests

MODEL = "claude-haiku-4-5"
SPECS = Path(__file__).resolve().parents[1] / "specs"
CALL = {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris"}}
THOUGHT = {"type": "thinking", "thinking": "I will call the tool.", "signature": "Er0"}


@pytest.fixture(scope="module")
def contract():
    return load_contract("2023-06-01", "reference")


@pytest.fixture(scope="module")
def planned(contract):
    return plan_requests(contract, build_cases(contract, MODEL), model=MODEL)


def answer(*content):
    return {"type": "message", "role": "assistant", "content": list(content), "stop_reason": "tool_use"}


def test_follow_ups_are_planned_with_what_they_continue(contract):
    cases = [c for c in build_cases(contract, MODEL) if c.id == "thinking.round_trip_accepted"]
    planned = plan_requests(contract, cases, model=MODEL)
    assert list(planned) == ["thinking.round_trip", "thinking.tool"]
    assert planned["thinking.round_trip"].follows == "thinking.tool"
    assert planned["thinking.round_trip"].reply == "18 °C and sunny"


def test_follow_up_answers_every_tool_call(planned):
    request = planned["thinking.round_trip"]
    sent = follow_up(request, answer(THOUGHT, CALL, {**CALL, "id": "toolu_01B"}))
    assert sent is not None
    body = json.loads(sent.body)
    original = json.loads(request.body)
    assert body["messages"][:-2] == original["messages"]
    assert body["messages"][-2] == {"role": "assistant", "content": [THOUGHT, CALL, {**CALL, "id": "toolu_01B"}]}
    assert body["messages"][-1] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01A", "content": "18 °C and sunny"},
            {"type": "tool_result", "tool_use_id": "toolu_01B", "content": "18 °C and sunny"},
        ],
    }
    assert body["thinking"] == original["thinking"]


def test_follow_up_without_calls_replies_in_text(planned):
    sent = follow_up(planned["thinking.round_trip"], answer(THOUGHT, {"type": "text", "text": "Hi"}))
    assert sent is not None
    assert json.loads(sent.body)["messages"][-1] == {"role": "user", "content": "18 °C and sunny"}


def test_follow_up_drops_blank_text_and_keeps_thinking_verbatim(planned):
    # Anthropic answers with whitespace-only text blocks (captures 17, 18) and refuses them in a request.
    blank, space = {"type": "text", "text": "\n\n"}, {"type": "text", "text": " "}
    sent = follow_up(planned["thinking.round_trip"], answer(blank, THOUGHT, space, CALL, {"type": "text", "text": ""}))
    assert sent is not None
    assert json.loads(sent.body)["messages"][-2] == {"role": "assistant", "content": [THOUGHT, CALL]}


def test_follow_up_of_an_answer_with_only_blank_text_is_not_sent(planned):
    assert follow_up(planned["thinking.round_trip"], answer({"type": "text", "text": " \n"})) is None


@pytest.mark.parametrize("bad", [None, {"type": "error"}, {"type": "message", "content": "text"}, []])
def test_follow_up_of_something_that_is_not_a_message(planned, bad):
    assert follow_up(planned["thinking.round_trip"], bad) is None


class _Target:
    base_url = "http://127.0.0.1:9"


class _Transport:
    """Answers from a table; records the bodies it was asked to send, in order."""

    target = _Target()

    def __init__(self, answers):
        self.answers = answers
        self.sent = []

    async def send(self, request):
        self.sent.append(request.scenario)
        status, payload = self.answers[request.scenario]
        recorded = RecordedRequest(method="POST", url=request.path, headers=(), body=request.body)
        return Exchange(id=request.scenario, request=recorded, status=status, headers=(("content-type", "application/json"),), body=json.dumps(payload).encode())


def _run(requests, answers):
    transport = _Transport(answers)
    exchanges = asyncio.run(execute(requests, transport, preflight="none"))  # type: ignore[arg-type]
    return transport, exchanges


def test_the_engine_sends_the_follow_up_after_its_answer(planned):
    requests = {sid: planned[sid] for sid in ("thinking.round_trip", "thinking.tool")}
    transport, exchanges = _run(requests, {"thinking.tool": (200, answer(THOUGHT, CALL)), "thinking.round_trip": (200, answer())})
    assert transport.sent == ["thinking.tool", "thinking.round_trip"]
    sent = exchanges["thinking.round_trip"].request.json
    assert sent["messages"][-1]["content"][0]["tool_use_id"] == "toolu_01A"


def test_a_follow_up_of_an_empty_answer_is_not_sent(planned):
    requests = {sid: planned[sid] for sid in ("thinking.round_trip", "thinking.tool")}
    transport, exchanges = _run(requests, {"thinking.tool": (200, answer({"type": "text", "text": "\n\n"}))})
    assert transport.sent == ["thinking.tool"]
    assert exchanges["thinking.round_trip"].error == "not sent: it continues thinking.tool, which got status 200 with no content to send back"


def test_a_follow_up_of_a_refused_request_is_not_sent_and_skipped(contract, planned):
    requests = {sid: planned[sid] for sid in ("thinking.round_trip", "thinking.tool")}
    error = {"type": "error", "error": {"type": "invalid_request_error", "message": "no thinking here"}}
    transport, exchanges = _run(requests, {"thinking.tool": (400, error)})
    assert transport.sent == ["thinking.tool"]
    skipped = exchanges["thinking.round_trip"]
    assert (skipped.status, skipped.error_kind) == (None, ErrorKind.NOT_SENT)
    assert skipped.error == "not sent: it continues thinking.tool, which got status 400"
    judge = Judge(contract, requests, exchanges, model=MODEL)
    [case] = [c for c in build_cases(contract, MODEL) if c.id == "thinking.round_trip_accepted"]
    finding = judge.judge(case)
    assert finding.outcome is Outcome.SKIP
    assert finding.message == "prerequisite failed: not sent: it continues thinking.tool, which got status 400"


def test_list_facts_hold_by_membership(contract):
    profile = contract.profile
    both = ModelFacts(model="m", thinking=("enabled", "adaptive"))
    only = ModelFacts(model="m", thinking=("adaptive",))
    assert holds(Condition(model={"thinking": "enabled"}), both, profile, "2023-06-01")
    assert not holds(Condition(model={"thinking": "enabled"}), only, profile, "2023-06-01")
    assert not holds(Condition(model={"thinking": "enabled"}), ModelFacts(model="m"), profile, "2023-06-01")


def test_model_facts_read_the_thinking_types(contract):
    assert contract.model_facts("claude-opus-4-7").thinking == ("adaptive",)
    assert contract.model_facts("claude-sonnet-4-6-20260217").thinking == ("enabled", "adaptive")
    assert contract.model_facts("anthropic/claude-haiku-4-5").thinking == ("enabled",)
    assert contract.model_facts("some-other-model").thinking is None


@pytest.mark.parametrize("target", ["no.such.scenario", "thinking.round_trip"], ids=["unknown", "a-follow-up"])
def test_a_follow_up_must_continue_a_plain_scenario(tmp_path, target):
    root = tmp_path / "specs"
    shutil.copytree(SPECS, root)
    extra = root / "messages" / "2023-06-01" / "scenarios" / "zz_follow.yaml"
    extra.write_text(f"scenarios:\n  zz.follow:\n    base: plain\n    follows: {target}\n", encoding="utf-8")
    with pytest.raises(SpecError, match=f"follows '{target}': not a scenario, or itself a follow-up") as caught:
        load_contract("2023-06-01", spec_dir=root)
    assert caught.value.pointer == "/scenarios/zz.follow/follows"
