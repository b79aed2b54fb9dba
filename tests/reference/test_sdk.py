"""The official `anthropic` SDK (a client nobody here wrote) against the live server, under both API versions."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any, cast

import anthropic
import pytest

from conformance import media

from ._support import COUNT, GRUSSE, HAIKU, V2023, WEATHER_ASK, WEATHER_TOOL, XYZZY, user


def text_of(message: Any) -> str:
    """The text of a message's only block (the reference model answers with one text block)."""
    (block,) = message.content
    assert block.type == "text"
    return cast(str, block.text)


def error_of(caught: pytest.ExceptionInfo[anthropic.APIStatusError]) -> dict[str, Any]:
    """The `error` object of a decoded error body."""
    return cast(dict[str, Any], cast(dict[str, Any], caught.value.body)["error"])


CLIENT_STYLES = ["bearer-2026-10-21", "bearer-2023-06-01", "x-api-key-2023-06-01"]


def make_client(style: str, base_url: str, api_key: str) -> anthropic.Anthropic:
    """SDK 2.x defaults to Bearer + 2026-10-21; the others pin 2023-06-01 and the legacy header."""
    if style == "bearer-2026-10-21":
        return anthropic.Anthropic(api_key=api_key, base_url=base_url, max_retries=0)
    if style == "bearer-2023-06-01":
        return anthropic.Anthropic(
            api_key=api_key, base_url=base_url, max_retries=0, default_headers={"anthropic-version": V2023}
        )
    return anthropic.Anthropic(
        api_key=None,
        auth_token=None,
        base_url=base_url,
        max_retries=0,
        default_headers={"x-api-key": api_key, "anthropic-version": V2023},
    )


@pytest.fixture(params=CLIENT_STYLES)
def client(request, clean_env, base_url, api_key) -> Iterator[anthropic.Anthropic]:
    with make_client(request.param, base_url, api_key) as sdk:
        yield sdk


def test_create(client):
    message = client.messages.create(model=HAIKU, max_tokens=32, messages=user(GRUSSE))
    assert message.content[0].type == "text"
    assert text_of(message) == "Grüße ok"
    assert (message.stop_reason, message.stop_sequence, message.model) == ("end_turn", None, HAIKU)
    assert message.id.startswith("msg_")
    assert message.usage.output_tokens == 2
    assert message._request_id is not None
    assert message._request_id.startswith("req_")


@pytest.mark.parametrize(
    ("prompt", "extra", "text", "stop_reason"),
    [
        (GRUSSE, {}, "Grüße ok", "end_turn"),
        (COUNT, {"max_tokens": 5}, "1 2 3 4 5", "max_tokens"),
        (XYZZY, {"stop_sequences": ["XYZZY"]}, "one two three ", "stop_sequence"),
    ],
    ids=["end_turn", "max_tokens", "stop_sequence"],
)
def test_stream_matches_create(client, prompt, extra, text, stop_reason):
    params = {"model": HAIKU, "max_tokens": 32, "messages": user(prompt), **extra}
    with client.messages.stream(**params) as stream:
        deltas = list(stream.text_stream)
        final = stream.get_final_message()
    created = client.messages.create(**params)
    assert "".join(deltas) == text_of(final) == text_of(created) == text
    assert final.stop_reason == created.stop_reason == stop_reason
    assert final.stop_sequence == created.stop_sequence
    assert final.usage.model_dump() == created.usage.model_dump()
    assert [b.type for b in final.content] == [b.type for b in created.content]
    assert final.model == created.model


def test_raw_stream_events(client):
    events = list(client.messages.create(model=HAIKU, max_tokens=32, messages=user(GRUSSE), stream=True))
    assert [e.type for e in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]


def test_prefill_continues(client):
    messages = [*user(GRUSSE), {"role": "assistant", "content": "Grüße"}]
    assert text_of(client.messages.create(model=HAIKU, max_tokens=32, messages=messages)) == " ok"


def test_count_tokens_matches_usage(client):
    counted = client.messages.count_tokens(model=HAIKU, system="Be brief.", messages=user(GRUSSE))
    created = client.messages.create(model=HAIKU, max_tokens=32, system="Be brief.", messages=user(GRUSSE))
    assert counted.input_tokens == created.usage.input_tokens


def test_models(client):
    listed = list(client.models.list(limit=2))
    assert [m.id for m in listed][:1] == ["claude-opus-4-8"]
    assert len(listed) == 6  # the SDK follows after_id pages to the end
    retrieved = client.models.retrieve("claude-haiku-4-5")
    assert (retrieved.id, retrieved.display_name, retrieved.type) == (
        "claude-haiku-4-5-20251001",
        "Claude Haiku 4.5",
        "model",
    )
    assert retrieved.created_at.year == 2025


def test_beta_count_tokens_route(client):
    """The beta resource sends the token-counting beta; the TypeScript SDK (Claude Code) also adds ?beta=true."""
    plain = client.messages.count_tokens(model=HAIKU, system="Be brief.", messages=user(GRUSSE)).input_tokens
    raw = client.beta.messages.with_raw_response.count_tokens(model=HAIKU, system="Be brief.", messages=user(GRUSSE))
    assert "token-counting-2024-11-01" in raw.http_request.headers["anthropic-beta"]
    assert raw.parse().input_tokens == plain
    as_claude_code = client.beta.messages.with_raw_response.count_tokens(
        model=HAIKU, system="Be brief.", messages=user(GRUSSE), extra_query={"beta": "true"}
    )
    assert as_claude_code.http_request.url.params["beta"] == "true"
    assert as_claude_code.parse().input_tokens == plain


def test_models_pages_by_hand(client):
    first = client.models.list(limit=1)
    assert [m.id for m in first.data] == ["claude-opus-4-8"]
    assert (first.has_more, first.first_id, first.last_id) == (True, "claude-opus-4-8", "claude-opus-4-8")
    assert [m.id for m in client.models.list(limit=1, after_id=first.last_id).data] == ["claude-opus-4-7"]


ECHO = "Reply with exactly this text and nothing else: ok"


def ask(*blocks: dict[str, Any]) -> list[Any]:
    """One user turn: the attachments, then the cheap echo prompt."""
    return [{"role": "user", "content": [*blocks, {"type": "text", "text": ECHO}]}]


@pytest.mark.parametrize("media_type", ["image/jpeg", "image/png", "image/gif", "image/webp"])
def test_image_of_each_media_type(client, media_type):
    image = {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": media.base64_of(media_type)}}
    assert text_of(client.messages.create(model=HAIKU, max_tokens=8, messages=ask(image))) == "ok"


def test_image_url_and_documents(client):
    url = {"type": "image", "source": {"type": "url", "url": "https://www.google.com/images/branding/googlelogo/1x/googlelogo_color_272x92dp.png"}}
    pdf = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": media.base64_of("application/pdf")}}
    text = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "The sky is blue."}, "title": "Sky"}
    assert text_of(client.messages.create(model=HAIKU, max_tokens=8, messages=ask(url, pdf, text))) == "ok"
    assert client.messages.count_tokens(model=HAIKU, messages=ask(url, pdf, text)).input_tokens > 0


def test_mislabelled_image_raises_bad_request(client):
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": media.base64_of("image/png")}}
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model=HAIKU, max_tokens=8, messages=ask(image))
    assert error_of(caught)["message"].endswith("but the image appears to be a image/png image")


def test_request_extras(client):
    system = [{"type": "text", "text": "You are terse."}, {"type": "text", "text": "Answer briefly.", "cache_control": {"type": "ephemeral"}}]
    message = client.messages.create(
        model=HAIKU,
        max_tokens=32,
        system=system,
        metadata={"user_id": "5f0c6bc2-conformance-suite-user"},
        service_tier="standard_only",
        stop_sequences=["QQQQ", "XYZZY"],
        messages=user(XYZZY),
    )
    assert (message.stop_reason, message.stop_sequence, text_of(message)) == ("stop_sequence", "XYZZY", "one two three ")


def test_beta_messages_route(client):
    message = client.beta.messages.create(
        model=HAIKU, max_tokens=32, messages=user(GRUSSE), betas=["files-api-2025-04-14"]
    )
    assert text_of(message) == "Grüße ok"


def test_bad_request(client):
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model=HAIKU, max_tokens=32, messages=[])
    assert caught.value.status_code == 400
    assert error_of(caught)["type"] == "invalid_request_error"
    assert caught.value.request_id is not None


def test_not_found(client):
    with pytest.raises(anthropic.NotFoundError):
        client.messages.create(model="claude-nope", max_tokens=32, messages=user("hi"))
    with pytest.raises(anthropic.NotFoundError):
        client.models.retrieve("claude-nope")


def test_authentication_error(clean_env, base_url):
    with (
        anthropic.Anthropic(api_key="wrong", base_url=base_url, max_retries=0) as sdk,
        pytest.raises(anthropic.AuthenticationError) as caught,
    ):
        sdk.messages.create(model=HAIKU, max_tokens=32, messages=user("hi"))
    assert error_of(caught)["message"] == "invalid x-api-key"


def test_request_too_large(client):
    with pytest.raises(anthropic.ContentTooLargeError) as caught:
        client.messages.create(model=HAIKU, max_tokens=32, messages=user("x" * (32 * 1024 * 1024)))
    assert caught.value.status_code == 413
    assert error_of(caught)["type"] == "request_too_large"


def test_2026_rejects_temperature_through_extra_body(clean_env, base_url, api_key):
    with (
        make_client("bearer-2026-10-21", base_url, api_key) as sdk,
        pytest.raises(anthropic.BadRequestError) as caught,
    ):
        sdk.messages.create(model=HAIKU, max_tokens=32, messages=user("hi"), extra_body={"temperature": 1.0})
    assert error_of(caught)["message"] == "temperature: Extra inputs are not permitted"


def test_2023_accepts_temperature_through_extra_body(clean_env, base_url, api_key):
    with make_client("bearer-2023-06-01", base_url, api_key) as sdk:
        message = sdk.messages.create(
            model=HAIKU, max_tokens=32, messages=user(GRUSSE), extra_body={"temperature": 0.0}
        )
    assert text_of(message) == "Grüße ok"


def test_system_role_on_opus_48(client):
    messages = [*user(GRUSSE), {"role": "system", "content": "Answer in English."}, *user(GRUSSE)]
    message = client.messages.create(model="claude-opus-4-8", max_tokens=32, messages=messages)
    assert text_of(message) == "Grüße ok"


def test_sdk_sends_what_we_think(clean_env, base_url, api_key):
    """Pin the SDK behaviour the fixtures rely on: Bearer + 2026-10-21 by default."""
    with anthropic.Anthropic(api_key=api_key, base_url=base_url, max_retries=0) as sdk:
        sent = sdk.models.with_raw_response.list().http_request.headers
    assert sent["anthropic-version"] == "2026-10-21"
    assert sent["authorization"] == f"Bearer {api_key}"
    assert "x-api-key" not in sent


# ------------------------------------------------- simulated failures (conformance/reference/simulate.py)

SIMULATE = "anthropic-conformance-simulate"


@pytest.mark.parametrize(
    ("what", "error_class", "status", "kind"),
    [
        ("rate_limited", anthropic.RateLimitError, 429, "rate_limit_error"),
        ("overloaded", anthropic.OverloadedError, 529, "overloaded_error"),
        ("too_large", anthropic.ContentTooLargeError, 413, "request_too_large"),
    ],
)
def test_simulated_refusals_raise_the_sdk_class_clients_branch_on(client, what, error_class, status, kind):
    with pytest.raises(error_class) as caught:
        client.messages.create(model=HAIKU, max_tokens=32, messages=user(GRUSSE), extra_headers={SIMULATE: what})
    assert (caught.value.status_code, error_of(caught)["type"]) == (status, kind)
    assert caught.value.request_id is not None
    if what == "rate_limited":
        assert caught.value.response.headers["retry-after"] == "1"


def test_a_stream_refused_before_it_starts_raises_before_any_event(client):
    with pytest.raises(anthropic.OverloadedError), client.messages.stream(model=HAIKU, max_tokens=32, messages=user(GRUSSE), extra_headers={SIMULATE: "overloaded"}) as stream:
        list(stream.text_stream)


def test_a_midstream_error_event_raises_after_the_text_that_arrived(client):
    received: list[str] = []
    with pytest.raises(anthropic.APIStatusError) as caught, client.messages.stream(model=HAIKU, max_tokens=32, messages=user(GRUSSE), extra_headers={SIMULATE: "midstream_error"}) as stream:
        received.extend(stream.text_stream)
    assert received == ["Grüße"]
    assert error_of(caught) == {"details": None, "type": "overloaded_error", "message": "Overloaded"}


def test_the_sdk_waits_what_retry_after_says(clean_env, base_url, api_key):
    with anthropic.Anthropic(api_key=api_key, base_url=base_url, max_retries=1) as sdk:
        started = time.monotonic()
        with pytest.raises(anthropic.RateLimitError):
            sdk.messages.create(model=HAIKU, max_tokens=32, messages=user(GRUSSE), extra_headers={SIMULATE: "rate_limited"})
    assert time.monotonic() - started >= 1.0  # one retry, after the 1 s the simulated 429 asks for


# ------------------------------------------------------------------ tool use and thinking

FORCED_CHOICE: Any = {"type": "tool", "name": "get_weather"}
ENABLED: Any = {"type": "enabled", "budget_tokens": 1024}


def test_sdk_parses_a_forced_tool_call_streamed_or_not(client):
    params: dict[str, Any] = {"model": HAIKU, "max_tokens": 128, "tools": [WEATHER_TOOL], "tool_choice": FORCED_CHOICE, "messages": user(WEATHER_ASK)}
    created = client.messages.create(**params)
    with client.messages.stream(**params) as stream:
        partial = [e.partial_json for e in stream if e.type == "input_json"]
        final = stream.get_final_message()
    for message in (created, final):
        (block,) = message.content
        assert isinstance(block, anthropic.types.ToolUseBlock)
        assert (block.name, block.input, message.stop_reason) == ("get_weather", {"city": "Paris"}, "tool_use")
        assert block.id.startswith("toolu_")
    assert json.loads("".join(partial)) == {"city": "Paris"}


def test_sdk_sends_a_tool_result_round_trip(client):
    first = client.messages.create(model=HAIKU, max_tokens=128, tools=[WEATHER_TOOL], tool_choice=FORCED_CHOICE, messages=user(WEATHER_ASK))
    (call,) = first.content
    messages: Any = [
        *user(WEATHER_ASK),
        {"role": "assistant", "content": first.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "timed out", "is_error": True}]},
    ]
    second = client.messages.create(model=HAIKU, max_tokens=128, tools=[WEATHER_TOOL], messages=messages)
    assert second.stop_reason == "end_turn"


def test_sdk_parses_thinking_and_sends_it_back(client):
    params: dict[str, Any] = {"model": HAIKU, "max_tokens": 1100, "thinking": ENABLED, "tools": [WEATHER_TOOL], "messages": user(WEATHER_ASK)}
    created = client.messages.create(**params)
    with client.messages.stream(**params) as stream:
        kinds = [e.type for e in stream]
        final = stream.get_final_message()
    assert {"thinking", "signature"} <= set(kinds)
    for message in (created, final):
        thought, call = message.content
        assert isinstance(thought, anthropic.types.ThinkingBlock)
        assert thought.signature
        assert thought.thinking
        assert isinstance(call, anthropic.types.ToolUseBlock)
    assert final.content[0].signature == created.content[0].signature  # the toy model thinks deterministically
    follow: Any = [
        *user(WEATHER_ASK),
        {"role": "assistant", "content": final.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": final.content[1].id, "content": "18 °C and sunny"}]},
    ]
    assert client.messages.create(**{**params, "messages": follow}).type == "message"
    tampered = [{**follow[1], "content": [{"type": "thinking", "thinking": "changed", "signature": thought.signature}, final.content[1]]}]
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(**{**params, "messages": [follow[0], *tampered, follow[2]]})
    assert error_of(caught)["message"] == "messages.1.content.0: Invalid `signature` in `thinking` block"
