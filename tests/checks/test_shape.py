"""conformance/checks/shape.py: the Message schema and the msg_ id prefix."""

from __future__ import annotations

import pytest

from conformance.checks.subject import Unjudgeable
from conformance.contract.loader import load_contract
from conformance.findings import NotApplicable

from . import _events as ev
from ._build import Build, judged, message, message_without, messages, run


def test_message_schema_passes_a_message(build):
    assert run("shape.message_schema", build.plain()) == []


def test_message_schema_tolerates_newer_fields_and_empty_content(build):
    # INDEX.md observations 7, 10, 18, 21: stop_details, context_management, refusal with no content.
    body = message(content=[], stop_reason="refusal", stop_details={"type": "refusal"}, context_management={"applied_edits": []})
    body["usage"] |= {"service_tier": "standard", "inference_geo": "not_available", "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}}
    assert run("shape.message_schema", build.plain(body)) == []


def test_message_schema_tolerates_any_key_order_and_whitespace(build):
    raw = '{ "usage": {"output_tokens": 5, "input_tokens": 21},\n "stop_sequence": null, "content": [], "stop_reason": "end_turn",\n "model": "claude-2.1", "role": "assistant", "type": "message", "id": "msg_01" }'
    assert run("shape.message_schema", build.plain(raw)) == []


def test_message_schema_flags_a_missing_stop_sequence_key(build):
    [violation] = run("shape.message_schema", build.plain(message_without("stop_sequence")))
    assert violation.message == "Received: 'stop_sequence' is a required property\nExpected: a Message as documented"
    assert violation.at == "/"


def test_a_profile_that_documents_a_missing_field_tolerates_its_absence_and_nothing_else():
    """vllm's strictness.tolerate_missing names stop_sequence: matched by the schema's property, not jsonschema's wording."""
    vllm = Build(load_contract("2023-06-01", "vllm"))
    lacking = {key: value for key, value in message().items() if key != "stop_sequence"}
    assert run("shape.message_schema", vllm.plain(lacking)) == []
    assert messages("shape.message_schema", vllm.plain({key: value for key, value in lacking.items() if key != "model"})) == [
        "Received: 'model' is a required property\nExpected: a Message as documented"
    ]
    assert messages("shape.message_schema", vllm.plain(message(stop_sequence=7))) == ["Received: 7 is not of type 'string', 'null'\nExpected: a Message as documented"]


def test_message_schema_flags_a_null_stop_reason(build):
    [violation] = run("shape.message_schema", build.plain(message(stop_reason=None)))
    assert violation.message == "Received: None is not of type 'string'\nExpected: a Message as documented"
    assert violation.at == "/stop_reason"


def test_message_schema_flags_a_string_token_count(build):
    body = message()
    body["usage"]["input_tokens"] = "12"
    [violation] = run("shape.message_schema", build.plain(body))
    assert violation.message == "Received: '12' is not of type 'integer'\nExpected: a Message as documented"
    assert violation.at == "/usage/input_tokens"


def test_message_schema_flags_an_openai_completion(build):
    body = {"id": "chatcmpl-9", "object": "chat.completion", "choices": [{"message": {"role": "assistant", "content": "ok"}}]}
    assert messages("shape.message_schema", build.plain(body)) == [
        f"Received: '{name}' is a required property\nExpected: a Message as documented" for name in ("type", "role", "content", "model", "stop_reason")
    ]


def test_message_schema_flags_a_body_that_is_not_json(build):
    assert messages("shape.message_schema", build.plain("<html>Bad Gateway</html>")) == [
        'Received: a body that is not JSON: "<html>Bad Gateway</html>"\nExpected: a Message object'
    ]


# --------------------------------------------------------------------------- shape.id_prefix


@pytest.mark.parametrize("value", ["msg_01XFDUDYJgAACzvnptvVoYEL", "msg_011CSHoEeqs5C35K2UUqR7Fy", "msg_bdrk_01Tbyc5J2VnQgAqc9L7d1Z8h"])
def test_id_prefix_accepts_every_real_id_shape(build, value):
    # INDEX.md observation 9: msg_01…, msg_011C…, msg_bdrk_… on Bedrock.
    assert run("shape.id_prefix", build.plain(message(id=value))) == []


def test_id_prefix_flags_an_openai_id(build):
    [violation] = run("shape.id_prefix", build.plain(message(id="chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT")))
    assert violation.message == 'Received: id "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"\nExpected: an id starting with msg_'
    assert violation.at == "/id"


def test_id_prefix_reads_a_stream_from_message_start(build):
    assert run("shape.id_prefix", build.stream()) == []
    events = ev.text_events()
    events[0] = ev.start(msg_id="2f5d7c1e-uuid")
    [violation] = run("shape.id_prefix", build.stream(events))
    assert violation.message == 'Received: id "2f5d7c1e-uuid"\nExpected: an id starting with msg_'
    assert violation.at == "message_start /message/id"


def test_id_prefix_leaves_missing_ids_to_the_schema(build):
    with pytest.raises(NotApplicable, match="no string id"):
        run("shape.id_prefix", build.plain(message_without("id")))


def test_id_prefix_needs_a_message_start_in_a_stream(build):
    with pytest.raises(NotApplicable, match="no message_start"):
        run("shape.id_prefix", build.stream(ev.text_events()[1:]))


# ---------------------------------------------------------------- shape.status_is_200


def test_status_is_200_passes_200(build):
    assert run("shape.status_is_200", build.plain()) == []


def test_status_is_200_flags_another_success(build):
    [violation] = run("shape.status_is_200", build.plain(status=201))
    assert violation.message == "Received: status 201\nExpected: 200"


# ---------------------------------------------------------------- shape.no_openai_fields


def test_no_openai_fields_passes_anthropic_fields_new_and_old(build):
    body = message(container=None, stop_details=None, context_management=None, usage={"input_tokens": 21, "output_tokens": 5, "service_tier": "standard", "inference_geo": "not_available"})
    assert run("shape.no_openai_fields", build.plain(body)) == []


def test_no_openai_fields_flags_a_leaked_chat_completion(build):
    body = message(object="chat.completion", created=1764662400, usage={"input_tokens": 21, "output_tokens": 5, "prompt_tokens": 21, "total_tokens": 26})
    body["content"].append({"type": "output_text", "text": "Grüße ok"})
    [violation] = run("shape.no_openai_fields", build.plain(body))
    assert violation.message == (
        'Received: OpenAI fields in the message: /object, /created, /usage/prompt_tokens, /usage/total_tokens, /content/1/type "output_text"\n'
        "Expected: Anthropic's Message fields and content block types only"
    )
    assert violation.at == "/object"


def test_what_the_shape_checks_judged(build):
    assert judged("shape.message_schema", build.plain()) == ("the body against the Message schema",)
    assert judged("shape.id_prefix", build.plain()) == ('id "msg_01XFDUDYJgAACzvnptvVoYEL"',)
    assert judged("shape.id_prefix", build.stream()) == ('id "msg_01XFDUDYJgAACzvnptvVoYEL"',)
    assert judged("shape.status_is_200", build.plain()) == ("status 200",)
    assert judged("shape.no_openai_fields", build.stream()) == ("the fields, usage keys and 1 block type of the message rebuilt from the stream",)


def test_a_body_our_size_cap_cut_is_no_schema_verdict(build):
    subject = build.subject(build.exchange(body='{"id": "msg_01", "type": "mess', truncated=True))
    with pytest.raises(Unjudgeable, match=r"^not judged: the suite's size cap cut the answer after 30 bytes$"):
        run("shape.message_schema", subject)
