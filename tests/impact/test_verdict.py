"""Verdicts: a client's report held to what the bytes say, with the exact line a person reads."""

from __future__ import annotations

from conformance.exchange import Exchange, RecordedRequest
from conformance.impact.verdict import Impact, Reference, judge, outline, reference

MESSAGE = {
    "type": "message",
    "content": [{"type": "text", "text": "Hello there"}, {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}],
    "stop_reason": "tool_use",
    "usage": {"input_tokens": 5, "output_tokens": 7},
}
REF = Reference("plain", "message", 200, outline=outline(MESSAGE))


def returned(message: dict) -> dict:
    return {"id": "plain", "outcome": "returned", "result": message}


def test_same_message_is_ok():
    assert judge(REF, returned(MESSAGE)).impact is Impact.OK


def test_lost_text_says_how_much_and_what():
    cut = {**MESSAGE, "content": [{"type": "text", "text": "Hello"}, MESSAGE["content"][1]]}
    verdict = judge(REF, returned(cut))
    assert verdict.impact is Impact.WRONG
    assert verdict.summary == 'silently wrong: lost text: kept 5 of 11 characters (missing " there")'


def test_tool_call_without_input():
    empty = {**MESSAGE, "content": [MESSAGE["content"][0], {**MESSAGE["content"][1], "input": {}}]}
    assert judge(REF, returned(empty)).summary == """silently wrong: tool call 'get_weather' without its input (the bytes say "{\\"city\\": \\"Paris\\"}")"""


def test_wrong_stop_reason():
    verdict = judge(REF, returned({**MESSAGE, "stop_reason": "end_turn"}))
    assert verdict.summary == 'silently wrong: stop_reason "end_turn", the bytes say "tool_use"'


def test_a_raise_on_a_usable_answer_breaks_the_client():
    raised = {"id": "plain", "outcome": "raised", "error": {"type": "APIError", "message": "bad\n  input", "status": None}}
    verdict = judge(REF, raised)
    assert (verdict.impact, verdict.summary, verdict.exception) == (Impact.RAISED, "throws APIError: bad input", "APIError: bad input")


def test_an_error_event_must_surface():
    stream = Reference("s", "stream", 200, outline=outline(MESSAGE), stream_error="overloaded_error: Overloaded")
    assert judge(stream, returned(MESSAGE)).summary == "silently wrong: returned a result although the stream carried the error event overloaded_error: Overloaded"
    raised = {"outcome": "raised", "error": {"type": "APIError", "message": "Overloaded"}}
    assert judge(stream, raised).impact is Impact.OK


def test_error_status_expects_the_status_error_and_its_message():
    ref = Reference("e", "error", 400, error_message="max_tokens: field required")
    good = {"outcome": "raised", "error": {"type": "BadRequestError", "message": "Error code: 400 - {'error': {'message': 'max_tokens: field required'}}", "status": 400}}
    assert judge(ref, good).impact is Impact.OK
    lost = {"outcome": "raised", "error": {"type": "APICallError", "message": "Bad Request", "status": 400, "body": None}}
    assert judge(ref, lost).summary == 'silently wrong: error message lost: the client says "Bad Request", the body says "max_tokens: field required"'
    assert judge(ref, returned(MESSAGE)).summary == "silently wrong: returned a result for a status 400 answer"


def test_reference_of_a_stream_without_message_stop():
    body = (
        b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"m","stop_reason":null,"usage":{"input_tokens":1,"output_tokens":1}}}\n\n'
        b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}\n\n'
    )
    request = RecordedRequest("POST", "http://h/v1/messages", (), b'{"stream": true}')
    ref = reference(Exchange(id="s", request=request, status=200, headers=(("content-type", "text/event-stream"),), body=body))
    assert ref is not None
    assert (ref.kind, ref.ended) == ("stream", False)
    verdict = judge(ref, returned({"type": "message", "content": [], "stop_reason": "end_turn", "usage": {"output_tokens": 2}}))
    assert verdict.summary.endswith("although the stream ended without message_stop (a cut answer goes unnoticed)")
