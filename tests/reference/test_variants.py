"""Every legal Variant through the router: the bytes differ as intended, the SDK's result does not."""

from __future__ import annotations

import json
import re
from typing import Any

import anthropic
import pytest

from conformance.reference.router import variant_base_path
from conformance.reference.variant import CANNED_MODELS, VARIANTS, LineEnding, Variant

from ._support import COUNT, GRUSSE, HAIKU, V2023, XYZZY, user

PROMPTS: list[dict[str, Any]] = [
    {"messages": user(GRUSSE)},
    {"messages": user(COUNT), "max_tokens": 5},
    {"messages": user(XYZZY), "stop_sequences": ["XYZZY"]},
]


def final_of(sdk: anthropic.Anthropic, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    with sdk.messages.stream(**{"model": HAIKU, "max_tokens": 32, **params}) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    dumped = final.model_dump(exclude={"id"})
    return text, dumped


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_sdk_parses_every_variant_identically(clean_env, server, api_key, name):
    faithful = anthropic.Anthropic(api_key=api_key, base_url=server.base_url, max_retries=0)
    varied = anthropic.Anthropic(
        api_key=api_key, base_url=server.base_url + variant_base_path(name), max_retries=0
    )
    with faithful, varied:
        for params in PROMPTS:
            expected_text, expected = final_of(faithful, params)
            text, final = final_of(varied, params)
            assert text == expected_text
            assert final == expected


@pytest.mark.parametrize("name", sorted(CANNED_MODELS))
def test_a_canned_model_answers_its_reply_to_every_prompt_on_the_faithful_wire(clean_env, server, api_key, name):
    reply = CANNED_MODELS[name].model_reply
    assert reply is not None
    sdk = anthropic.Anthropic(api_key=api_key, base_url=server.base_url + variant_base_path(name), max_retries=0)
    with sdk:
        for params in PROMPTS:
            text, final = final_of(sdk, params)
            limit = params.get("max_tokens", 32)
            assert text
            assert reply.startswith(text)
            assert final["stop_reason"] == ("end_turn" if text == reply else "max_tokens")
            assert final["usage"]["output_tokens"] <= limit


def split_events(raw: str, eol: str) -> list[list[str]]:
    return [block.split(eol) for block in raw.split(eol + eol) if block]


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_bytes_show_the_variation(http, api_key, name):
    variant: Variant = VARIANTS[name]
    payload = {"model": HAIKU, "max_tokens": 32, "stream": True, "messages": user(GRUSSE)}
    headers = {"x-api-key": api_key, "anthropic-version": V2023}
    raw = http.post(variant_base_path(name) + "/v1/messages", headers=headers, json=payload).content.decode()
    eol = variant.line_ending.value
    terminators = {LineEnding.LF: "\n", LineEnding.CRLF: "\r\n", LineEnding.CR: "\r"}
    others = raw.replace(terminators[variant.line_ending], "")
    assert "\r" not in others
    assert "\n" not in others
    blocks = split_events(raw, eol)
    names = [b[0].removeprefix("event: ") for b in blocks if b[0].startswith("event: ")]
    assert names.count("ping") == variant.pings
    assert ("future_event" in names) == variant.unknown_events
    assert any(b == [": keepalive"] for b in blocks) == variant.comments
    data = [
        json.loads(line.removeprefix("data: ")) for b in blocks for line in b if line.startswith("data: ")
    ]
    deltas = [d["delta"]["text"] for d in data if d["type"] == "content_block_delta"]
    assert "".join(deltas) == "Grüße ok"
    assert len(deltas) == -(-2 // variant.delta_chunk_tokens)
    padded = re.search(r" {2,}\}$", next(line for b in blocks for line in b if '"message_stop"' in line))
    assert bool(padded) == variant.padded_json


def test_blank_text_before_thinking_leads_the_answer_streamed_or_not(clean_env, server, api_key):
    # Capture 18 (claude-opus-4-6, adaptive): a text block of "\n\n" before the thinking block; the SDK keeps it.
    sdk = anthropic.Anthropic(api_key=api_key, base_url=server.base_url + variant_base_path("blank-text-before-thinking"), max_retries=0)
    params: dict[str, Any] = {"model": HAIKU, "max_tokens": 1100, "thinking": {"type": "enabled", "budget_tokens": 1024}, "messages": user(GRUSSE)}
    with sdk:
        plain = sdk.messages.create(**params)
        with sdk.messages.stream(**params) as stream:
            streamed = stream.get_final_message()
        without_thinking = sdk.messages.create(model=HAIKU, max_tokens=32, messages=user(GRUSSE))
    for message in (plain, streamed):
        assert [b.type for b in message.content] == ["text", "thinking", "text"]
        assert message.content[0].text == "\n\n"
    assert [b.type for b in without_thinking.content] == ["text"]  # no thinking block, nothing to lead


def test_unknown_variant_is_a_404_listing_the_known_ones(http):
    response = http.post(variant_base_path("nope") + "/v1/messages")
    assert response.status_code == 404
    assert response.json()["error"]["message"].startswith("unknown variant 'nope'; known variants: ")


def test_variant_rejects_nonsense_knobs():
    with pytest.raises(ValueError, match="pings"):
        Variant(pings=-1)
    with pytest.raises(ValueError, match="delta_chunk_tokens"):
        Variant(delta_chunk_tokens=0)


def test_a_canned_model_behind_faults(clean_env, server, api_key):
    # /_variant/<name>/_faults/<a>+<b>/: a canned mock behind a faulty gateway, the combination the canned-model gate test runs.
    base = server.base_url + variant_base_path("canned-greeting", "message-id-constant", "model-id-rewritten")
    sdk = anthropic.Anthropic(api_key=api_key, base_url=base, max_retries=0)
    with sdk:
        first = sdk.messages.create(model=HAIKU, max_tokens=32, messages=user(GRUSSE))
        second = sdk.messages.create(model=HAIKU, max_tokens=32, messages=user(GRUSSE))
    assert first.content[0].text == second.content[0].text == CANNED_MODELS["canned-greeting"].model_reply
    assert first.id == second.id == "msg_proxy_stream"
    assert first.model == "upstream-deployment-7b"


def test_unknown_fault_behind_a_variant_is_a_404(http):
    response = http.post(variant_base_path("canned-greeting", "nope") + "/v1/messages")
    assert response.status_code == 404
    assert response.json()["error"]["message"].startswith("unknown fault 'nope'; known faults: ")
