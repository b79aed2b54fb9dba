"""Rebuild: the final Message a client would hold, SDK semantics, and no exception on garbage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from capture_corpus import corpus
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.sse.reading import read_stream
from conformance.sse.rebuild import rebuild

STREAMS = corpus("*.sse")


def start(**message):
    body = {"id": "msg_1", "type": "message", "role": "assistant", "content": [], "model": "m"}
    body |= {"stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 1}}
    return {"type": "message_start", "message": body | message}


def block(index, **content_block):
    return {"type": "content_block_start", "index": index, "content_block": content_block}


def delta(index, **body):
    return {"type": "content_block_delta", "index": index, "delta": body}


def stop(index):
    return {"type": "content_block_stop", "index": index}


END = {
    "type": "message_delta",
    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
    "usage": {"output_tokens": 9},
}


def capture_message(captures: Path, prefix: str):
    (path,) = captures.glob(f"{prefix}-*.sse")
    return read_stream(path.read_bytes()).message


def test_capture_03_text_then_tool_use_has_parsed_input(captures):
    message = capture_message(captures, "03")
    assert [b["type"] for b in message["content"]] == ["text", "tool_use"]
    assert message["content"][0]["text"].startswith("<thinking>\nThe get_weather tool is relevant")
    assert message["content"][1]["input"] == {"location": "San Francisco, CA"}
    assert (message["stop_reason"], message["usage"]) == (
        "tool_use",
        {"input_tokens": 599, "output_tokens": 135},
    )


def test_capture_07_thinking_has_its_signature(captures):
    thinking, text = capture_message(captures, "07")["content"]
    assert thinking["type"] == "thinking"
    assert thinking["thinking"].startswith("The person is asking for two names for a pet pelican")
    assert thinking["signature"].startswith("EuYBCkQYAiJAZFFuoMD")
    assert text == {"type": "text", "text": "Scoop and Beaky"}


def test_capture_10_citations_are_collected(captures):
    content = capture_message(captures, "10")["content"]
    cited = [b for b in content if b.get("citations")]
    assert len(cited) == 5
    assert all(c["type"] == "web_search_result_location" for b in cited for c in b["citations"])


def test_capture_27_refusal_has_no_content_and_its_stop_details(captures):
    message = capture_message(captures, "27")
    assert (message["content"], message["stop_reason"]) == ([], "refusal")
    assert message["stop_details"]["category"] == "reasoning_extraction"
    assert message["usage"]["output_tokens_details"] == {"thinking_tokens": 0}
    assert message["usage"]["cache_creation"] == {
        "ephemeral_5m_input_tokens": 0,
        "ephemeral_1h_input_tokens": 0,
    }


def test_text_and_citations():
    citation = {"type": "char_location", "cited_text": "sky", "document_index": 0}
    message = rebuild(
        [
            start(),
            block(0, type="text", text=""),
            delta(0, type="text_delta", text="The sky"),
            delta(0, type="citations_delta", citation=citation),
            delta(0, type="text_delta", text=" is blue."),
            delta(0, type="citations_delta", citation={"n": 2}),
            stop(0),
            END,
            {"type": "message_stop"},
        ]
    )
    assert message["content"] == [
        {"type": "text", "text": "The sky is blue.", "citations": [citation, {"n": 2}]}
    ]
    assert message["stop_reason"] == "end_turn"


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [([], {"seed": 1}), ([""], {}), (["", '{"a": ', "[1]}"], {"a": [1]}), (['{"a": '], '{"a": ')],
    ids=["no-delta", "empty", "pieces", "unparseable"],
)
def test_tool_input_is_parsed_at_block_stop(pieces, expected):
    events = [start(), block(0, type="tool_use", id="t", name="f", input={"seed": 1})]
    events += [delta(0, type="input_json_delta", partial_json=piece) for piece in pieces]
    message = rebuild([*events, stop(0), END])
    assert message["content"][0]["input"] == expected


def test_tool_input_is_parsed_even_without_block_stop():
    message = rebuild(
        [start(), block(0, type="tool_use", input={}), delta(0, type="input_json_delta", partial_json="{}")]
    )
    assert message["content"][0]["input"] == {}


def test_thinking_signature_and_compaction():
    message = rebuild(
        [
            start(),
            block(0, type="thinking", thinking="", signature=""),
            delta(0, type="thinking_delta", thinking="a"),
            delta(0, type="thinking_delta", thinking="b"),
            delta(0, type="signature_delta", signature="sig"),
            stop(0),
            block(1, type="compaction", content=None),
            delta(1, type="compaction_delta", content="summary"),
            stop(1),
        ]
    )
    assert message["content"] == [
        {"type": "thinking", "thinking": "ab", "signature": "sig"},
        {"type": "compaction", "content": "summary"},
    ]


def test_message_delta_overwrites_present_usage_and_copies_extras():
    message = rebuild(
        [
            start(usage={"input_tokens": 5, "cache_read_input_tokens": 7, "output_tokens": 1}),
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use", "stop_sequence": None, "container": {"id": "c"}},
                "usage": {"output_tokens": 30, "input_tokens": 99, "cache_read_input_tokens": None},
                "context_management": {"applied_edits": []},
            },
            {"type": "message_delta", "delta": {}, "usage": {"output_tokens": 31}},
        ]
    )
    assert message["usage"] == {"input_tokens": 99, "cache_read_input_tokens": 7, "output_tokens": 31}
    assert message["container"] == {"id": "c"}
    assert message["stop_reason"] == "tool_use"
    assert message["context_management"] == {"applied_edits": []}


def test_unknown_deltas_and_malformed_events_are_skipped():
    message = rebuild(
        [
            {"type": "ping"},
            start(),
            block(0, type="text", text=""),
            delta(0, type="sparkle_delta", sparkle=1),
            delta(0, type="text_delta", text=5),
            delta(7, type="text_delta", text="nowhere"),
            {"type": "content_block_delta", "index": 0, "delta": "x"},
            {"type": "content_block_start", "index": "1", "content_block": {}},
            {"type": "message_delta", "delta": [], "usage": 3},
            "not an event",
            delta(0, type="text_delta", text="ok"),
        ]
    )
    assert message["content"] == [{"type": "text", "text": "ok"}]


def test_no_message_start_gives_none():
    assert rebuild([block(0, type="text"), stop(0), END]) is None
    assert rebuild([{"type": "message_start", "message": "nope"}]) is None


def test_events_are_left_untouched():
    events = [start(), block(0, type="text", text="a"), delta(0, type="text_delta", text="b"), END]
    before = json.dumps(events)
    message = rebuild(events)
    message["content"][0]["text"] = "changed"
    assert json.dumps(events) == before


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 3) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=3,
)
EVENT_TYPES = [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
]
EVENTS = st.fixed_dictionaries(
    {"type": st.sampled_from(EVENT_TYPES) | JSON},
    optional={
        "index": st.integers(-1, 2) | JSON,
        "message": st.fixed_dictionaries({}, optional={"content": JSON, "usage": JSON}) | JSON,
        "content_block": st.fixed_dictionaries({}, optional={"type": JSON, "text": JSON, "citations": JSON})
        | JSON,
        "delta": st.fixed_dictionaries(
            {},
            optional={
                "type": st.sampled_from(
                    ["text_delta", "citations_delta", "input_json_delta", "thinking_delta"]
                )
                | st.sampled_from(["signature_delta", "compaction_delta"])
                | JSON,
                "text": JSON,
                "partial_json": JSON,
                "citation": JSON,
                "thinking": JSON,
            },
        )
        | JSON,
        "usage": JSON,
    },
)


@settings(max_examples=200)
@given(st.lists(EVENTS, max_size=12))
def test_fuzz_rebuild_never_raises(events):
    message = rebuild(events)
    assert message is None or isinstance(message["content"], list)


@pytest.mark.parametrize("path", STREAMS, ids=lambda path: path.name[:2] if path else "none")
def test_agrees_with_the_official_sdk(path):
    """The SDK's own final message from the same bytes (None-valued keys ignored: the SDK fills defaults)."""
    anthropic = pytest.importorskip("anthropic")
    httpx2 = pytest.importorskip("httpx2")
    body = path.read_bytes()

    def answer(request):
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    with httpx2.Client(transport=httpx2.MockTransport(answer)) as http:
        client = anthropic.Anthropic(
            api_key="test", base_url="http://target.test", max_retries=0, http_client=http
        )
        with client.beta.messages.stream(
            model="m", max_tokens=1, messages=[{"role": "user", "content": "hi"}]
        ) as stream:
            final = json.loads(stream.get_final_message().model_dump_json())
    assert without_nulls(read_stream(body).message) == without_nulls(final)


def without_nulls(value):
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def test_many_pieces_join_in_order_in_linear_time():
    # Pieces are joined in runs (an object per piece would cost more than the text); the order and a restarted block survive it.
    pieces = [f"{i} " for i in range(1_000)]
    events = [{"type": "message_start", "message": {"content": []}}, {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ">"}}]
    events += [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}} for p in pieces]
    events += [{"type": "content_block_start", "index": 1, "content_block": {"type": "thinking", "thinking": ""}}]
    events += [{"type": "content_block_delta", "index": 1, "delta": {"type": "thinking_delta", "thinking": p}} for p in pieces[:300]]
    events += [{"type": "content_block_start", "index": 1, "content_block": {"type": "thinking", "thinking": "again"}}]
    message = rebuild(events)
    assert message is not None
    assert message["content"] == [{"type": "text", "text": ">" + "".join(pieces)}, {"type": "thinking", "thinking": "again"}]
