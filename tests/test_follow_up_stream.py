"""A follow-up of a streamed answer (thinking.stream_round_trip): it continues the message a client rebuilt from the events."""

from __future__ import annotations

import asyncio
import json

import pytest

from conformance.contract.loader import load_contract
from conformance.engine import answer_held, execute
from conformance.exchange import Chunk, Exchange, RecordedRequest
from conformance.scenarios import build_cases, plan_requests

MODEL = "claude-haiku-4-5"
SIGNATURE = "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"


def sse(*events: dict) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


START = {"type": "message_start", "message": {"id": "msg_01", "type": "message", "role": "assistant", "model": MODEL, "content": [], "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 9, "output_tokens": 1}}}
THINKING_AND_CALL = sse(
    START,
    {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "I will call "}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "the tool."}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": SIGNATURE}},
    {"type": "content_block_stop", "index": 0},
    {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {}}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"city": "Paris"}'}},
    {"type": "content_block_stop", "index": 1},
    {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None}, "usage": {"output_tokens": 30}},
    {"type": "message_stop"},
)


def streamed(body: bytes) -> Exchange:
    request = RecordedRequest(method="POST", url="/v1/messages", headers=(), body=json.dumps({"stream": True}).encode())
    return Exchange(id="thinking.streamed", request=request, status=200, headers=(("content-type", "text/event-stream"),), body=body, chunks=(Chunk(0, len(body), 0.0),))


def test_a_streamed_answer_is_held_as_the_client_rebuilt_it():
    held = answer_held(streamed(THINKING_AND_CALL))
    assert isinstance(held, dict)
    assert held["content"] == [
        {"type": "thinking", "thinking": "I will call the tool.", "signature": SIGNATURE},
        {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris"}},
    ]


def test_a_stream_that_broke_off_holds_nothing_to_send_back():
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    assert answer_held(streamed(sse(START, error))) is None
    assert answer_held(streamed(b"data: [DONE]\n\n")) is None


class _Transport:
    class target:
        base_url = "http://127.0.0.1:9"

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    async def send(self, request):
        self.sent.append((request.scenario, request.body))
        body = THINKING_AND_CALL if request.scenario == "thinking.streamed" else sse(START, {"type": "message_stop"})
        recorded = RecordedRequest(method="POST", url=request.path, headers=(), body=request.body)
        return Exchange(id=request.scenario, request=recorded, status=200, headers=(("content-type", "text/event-stream"),), body=body, chunks=(Chunk(0, len(body), 0.0),))


@pytest.fixture(scope="module")
def planned():
    contract = load_contract("2023-06-01", "reference")
    cases = [c for c in build_cases(contract, MODEL) if c.id == "thinking.stream_round_trip_accepted"]
    return plan_requests(contract, cases, model=MODEL)


def test_the_stream_round_trip_continues_the_rebuilt_answer(planned):
    assert list(planned) == ["thinking.stream_round_trip", "thinking.streamed"]
    transport = _Transport()
    asyncio.run(execute(planned, transport, preflight="none"))  # type: ignore[arg-type]
    assert [sid for sid, _ in transport.sent] == ["thinking.streamed", "thinking.stream_round_trip"]
    body = json.loads(transport.sent[1][1])
    assert body["stream"] is True
    assert body["messages"][-2]["content"][0] == {"type": "thinking", "thinking": "I will call the tool.", "signature": SIGNATURE}
    assert body["messages"][-1] == {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01A", "content": "18 °C and sunny"}]}
