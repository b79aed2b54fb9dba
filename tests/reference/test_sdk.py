"""The official `anthropic` SDK (a client nobody here wrote) against the live server, under both API versions."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, cast

import anthropic
import pytest

from ._support import COUNT, GRUSSE, HAIKU, V2023, XYZZY, user


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
