"""Every check on real Anthropic responses (tests/fixtures/captures): zero false alarms.

A capture is what api.anthropic.com actually sent, so any violation here is a bug in a check (or
in a schema), never in the capture. Every rule a saved answer can put to the test runs, chosen the
way ``validate`` chooses (the spec says what each rule reads): rules on behaviour a prompt of the
suite forced, on the twin, or on headers the captures did not keep are left out. The request is
rebuilt from the answer (its model, the stop sequence it reports) with a generous max_tokens.
"""

from __future__ import annotations

import json
import re

import pytest
from capture_corpus import corpus

from conformance.contract.model import RuleKind
from conformance.judge import Judge
from conformance.validate import SAVED

from ._build import found_by, request_json

STREAMS = corpus("*.sse")
MESSAGES = corpus("*.json", keep=lambda p: int(p.name[:2]) < 50)
ERRORS = corpus("*.json", keep=lambda p: 50 <= int(p.name[:2]) < 65)

BIG = request_json(max_tokens=64000)

def judgeable(subject) -> list[str]:
    """Every rule a saved answer of this kind can put to the test (what validate offers), read from the spec: no list of ids here."""
    sid = subject.exchange.id
    judge = Judge(subject.contract, {sid: subject.request}, {sid: subject.exchange}, model=subject.facts.model)
    rules = subject.contract.rules.values()
    return [r.id for r in rules if r.kind is RuleKind.PROPERTY and r.on is not None and r.judgeable_from(SAVED) and judge.select(r.on)]


def verdicts(subject):
    return {cid: [f"{v.message} (at {v.at})" for v in found] for cid, found in found_by(judgeable(subject), subject).items()}


def request_for(raw: bytes) -> dict:
    """BIG for the model that answered, with the stop sequence the answer reports among its stop_sequences: the API names only one the request listed."""
    model = re.search(rb'"model"\s*:\s*("(?:[^"\\]|\\.)*")', raw)
    fired = re.search(rb'"stop_sequence"\s*:\s*("(?:[^"\\]|\\.)*")', raw)
    request = {**BIG, "model": json.loads(model.group(1))} if model else BIG
    return {**request, "stop_sequences": [json.loads(fired.group(1))]} if fired else request


@pytest.mark.parametrize("path", STREAMS, ids=lambda p: p.stem)
def test_real_streams_break_no_check(build, path):
    raw = path.read_bytes()
    subject = build.stream(raw, request={**request_for(raw), "stream": True})
    assert verdicts(subject) == {}


@pytest.mark.parametrize("path", MESSAGES, ids=lambda p: p.stem)
def test_real_messages_break_no_check(build, path):
    raw = path.read_bytes()
    assert json.loads(raw)["type"] == "message", "captures 00-49 are Message bodies (INDEX.md)"
    assert verdicts(build.plain(raw, request=request_for(raw))) == {}


@pytest.mark.parametrize("path", ERRORS, ids=lambda p: p.stem)
def test_real_errors_break_no_check(build, path):
    status = int(path.name.split("-")[2])
    assert verdicts(build.error(path.read_bytes(), status=status)) == {}
