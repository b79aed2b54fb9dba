"""The invariants appended to conformance/checks/shape.py: the model an answer names, and message ids across the run."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conformance.exchange import RecordedRequest
from conformance.findings import NotApplicable

from . import _events as ev
from ._build import MODEL, MSG_ID, judged, message, messages, request_json, run

SNAPSHOT = "claude-haiku-4-5-20251001"


def _retrieve(build, answered_id: str, requested: str = MODEL):
    """The run's GET /v1/models/{requested}, answered with ``answered_id``."""
    exchange = build.exchange(body={"type": "model", "id": answered_id, "display_name": "Claude", "created_at": "2025-10-15T00:00:00Z"}, scenario="models.retrieve")
    request = RecordedRequest(method="GET", url=f"http://127.0.0.1:9/v1/models/{requested}", headers=())
    return replace(exchange, request=request)


# ------------------------------------------------------------------ shape.model_matches_request


def test_model_matches_request_passes_the_requested_id(build):
    subject = build.plain(message(model=MODEL))
    assert run("shape.model_matches_request", subject) == []
    assert judged("shape.model_matches_request", subject) == ('model "claude-haiku-4-5", as requested',)


def test_model_matches_request_passes_the_snapshot_of_an_alias(build):
    # DOC-MODELS: the alias claude-haiku-4-5 is the API id claude-haiku-4-5-20251001; Anthropic may answer with either.
    subject = build.plain(message(model=SNAPSHOT))
    assert run("shape.model_matches_request", subject) == []
    assert judged("shape.model_matches_request", subject) == ('model "claude-haiku-4-5-20251001", the dated snapshot of the alias "claude-haiku-4-5"',)


def test_model_matches_request_passes_what_the_target_itself_resolves(build):
    # A gateway alias ("fast") that its own GET /v1/models/fast resolves to another id is the target's word on it.
    request = request_json(model="fast")
    subject = build.subject(build.exchange(body=message(model="claude-haiku-4-5-20251001"), request=request), peers=[_retrieve(build, "claude-haiku-4-5-20251001", "fast")])
    assert run("shape.model_matches_request", subject) == []
    assert judged("shape.model_matches_request", subject) == ('model "claude-haiku-4-5-20251001", what GET /v1/models/fast resolves the requested id to',)


def test_model_matches_request_flags_another_model(build):
    # LiteLLM #38691, codex-proxy-rs #130: the answer names the upstream deployment, not the model asked for.
    assert messages("shape.model_matches_request", build.plain(message(model="upstream-deployment-7b"))) == [
        'Received: model "upstream-deployment-7b"\nExpected: the requested "claude-haiku-4-5" or its dated snapshot'
    ]
    subject = build.subject(build.exchange(body=message(model="gpt-4o")), peers=[_retrieve(build, SNAPSHOT)])
    assert messages("shape.model_matches_request", subject) == [
        'Received: model "gpt-4o"\nExpected: the requested "claude-haiku-4-5" or "claude-haiku-4-5-20251001" (what GET /v1/models/claude-haiku-4-5 resolves it to)'
    ]


def test_model_matches_request_reads_message_start_of_a_stream(build):
    events = ev.text_events()
    events[0]["message"]["model"] = "upstream-deployment-7b"
    [violation] = run("shape.model_matches_request", build.stream(events))
    assert violation.at == "message_start /message/model"


def test_model_matches_request_needs_a_requested_model(build):
    with pytest.raises(NotApplicable, match="names no model"):
        run("shape.model_matches_request", build.plain(request={}))


# ------------------------------------------------------------------- shape.message_ids_unique


def _answer(build, msg_id: str, scenario: str, *, stream: bool = False):
    if stream:
        events = ev.text_events()
        events[0] = ev.start(msg_id=msg_id)
        return build.exchange(body=ev.sse(events), request=request_json(stream=True), scenario=scenario)
    return build.exchange(body=message(id=msg_id), scenario=scenario)


def test_message_ids_unique_passes_distinct_ids(build):
    peers = [_answer(build, "msg_01B", "auth.bearer"), _answer(build, "msg_01C", "plain.stream", stream=True)]
    subject = build.subject(_answer(build, MSG_ID, "plain"), peers=peers)
    assert run("shape.message_ids_unique", subject) == []
    assert judged("shape.message_ids_unique", subject) == (f'id "{MSG_ID}" against 2 other answer(s)',)


def test_message_ids_unique_flags_an_id_another_answer_carries(build):
    # Accio-Lab/Dressage#39: a proxy sent msg_proxy_stream in every message_start; Claude Code merged the turns.
    peers = [_answer(build, "msg_proxy_stream", "plain"), _answer(build, "msg_01B", "auth.bearer")]
    stream = _answer(build, "msg_proxy_stream", "plain.stream", stream=True)
    subject = build.subject(stream, peers=peers)
    [violation] = run("shape.message_ids_unique", subject)
    assert violation.message == 'Received: id "msg_proxy_stream", also the id of the answer to plain\nExpected: an id no other answer carries'
    assert violation.at == "message_start /message/id"


def test_message_ids_unique_ignores_errors_and_needs_other_answers(build):
    error = build.exchange(status=401, body={"type": "error", "error": {"type": "authentication_error", "message": "x"}}, scenario="auth.missing")
    with pytest.raises(NotApplicable, match="the only answer of the run"):
        run("shape.message_ids_unique", build.subject(_answer(build, MSG_ID, "plain"), peers=[error]))
    with pytest.raises(NotApplicable, match="no string message id"):
        run("shape.message_ids_unique", build.plain(message(id=None)))
