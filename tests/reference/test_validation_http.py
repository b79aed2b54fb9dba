"""Every validation path of the faithful server over a real socket: status, error type and exact message."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from conformance.reference import thoughts

from ._support import HAIKU, V2023, V2026, user

BETA_HINT = "Please consult our documentation at docs.claude.com or try again without the header."


def body(**fields: Any) -> dict[str, Any]:
    """A valid Messages body with fields overridden (None removes one)."""
    base: dict[str, Any] = {"model": HAIKU, "max_tokens": 16, "messages": user("hi")}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def assert_error(response: httpx.Response, status: int, kind: str, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    payload = response.json()
    assert payload == {
        "type": "error",
        "error": {"type": kind, "message": message},
        "request_id": payload["request_id"],
    }
    assert payload["request_id"] == response.headers["request-id"]


# ---------------------------------------------------------------------------- routing


def test_unknown_path_is_404(http, headers):
    assert_error(http.get("/v1/nothing", headers=headers), 404, "not_found_error", "Not Found")


def test_unknown_path_wins_over_missing_auth(http):
    assert_error(http.post("/v2/messages"), 404, "not_found_error", "Not Found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/v1/messages", "POST"),
        ("POST", "/v1/models", "GET"),
        ("DELETE", "/v1/messages/count_tokens", "POST"),
    ],
)
def test_wrong_method_is_405_with_an_anthropic_envelope(http, method, path, allowed):
    response = http.request(method, path)
    assert_error(response, 405, "invalid_request_error", "Method Not Allowed")
    assert response.headers["allow"] == allowed


def test_beta_query_is_accepted(http, headers):
    assert http.post("/v1/messages?beta=true", headers=headers, json=body()).status_code == 200
    assert (
        http.post(
            "/v1/messages/count_tokens?beta=true", headers=headers, json=body(max_tokens=None)
        ).status_code
        == 200
    )


# ---------------------------------------------------------------------------- auth


def test_missing_key_is_401(http):
    response = http.post("/v1/messages", headers={"anthropic-version": V2023}, json=body())
    assert_error(response, 401, "authentication_error", "x-api-key header is required")


@pytest.mark.parametrize(
    "auth",
    [
        {"x-api-key": "wrong"},
        {"authorization": "Bearer wrong"},
        {"authorization": "Basic abc"},
        {"authorization": "Bearer"},
    ],
)
def test_wrong_key_is_401(http, auth):
    response = http.post("/v1/messages", headers={**auth, "anthropic-version": V2023}, json=body())
    assert_error(response, 401, "authentication_error", "invalid x-api-key")


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_bearer_key_is_accepted_whatever_the_scheme_case(http, api_key, scheme):
    # RFC 9110 §11.1: the authentication scheme is case-insensitive.
    headers = {"authorization": f"{scheme} {api_key}", "anthropic-version": V2026}
    assert http.post("/v1/messages", headers=headers, json=body()).status_code == 200


@pytest.mark.parametrize("request_args", [{"method": "POST", "url": "/v1/messages"}, {"method": "GET", "url": "/v1/models"}])
def test_a_refused_key_tells_clients_not_to_retry(http, headers, request_args):
    # Capture 52: Anthropic's 401 carries x-should-retry: false (other refusals: no capture, no header).
    response = http.request(**request_args, headers={"anthropic-version": V2023, "x-api-key": "wrong"}, json=body())
    assert (response.status_code, response.headers["x-should-retry"]) == (401, "false")
    assert "x-should-retry" not in http.post("/v1/messages", headers=headers, json=body(max_tokens=0)).headers


def test_count_tokens_and_models_need_the_key(http):
    # Contract §6.1: count_tokens takes the same headers; §1.1: the key is required on every request.
    counted = http.post("/v1/messages/count_tokens", headers={"anthropic-version": V2023}, json=body(max_tokens=None))
    assert_error(counted, 401, "authentication_error", "x-api-key header is required")
    assert_error(http.get("/v1/models", headers={"anthropic-version": V2023}), 401, "authentication_error", "x-api-key header is required")


def test_request_ids_differ_between_answers(http, headers):
    answers = [http.post("/v1/messages", headers=headers, json=body()), http.post("/v1/messages", headers={"anthropic-version": V2023}, json=body())]
    answers.append(http.get("/v1/models", headers=headers))
    ids = [a.headers["request-id"] for a in answers]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"req_[0-9A-Za-z]{24}", rid) for rid in ids)


@pytest.mark.parametrize("label", ["application/json", "application/json; charset=utf-8", "application/json;charset=UTF-8"])
def test_json_labelled_with_a_charset_is_accepted(http, headers, label):
    response = http.post("/v1/messages", headers={**headers, "content-type": label}, content=json.dumps(body()).encode())
    assert response.status_code == 200, response.text


def test_x_api_key_wins_over_bearer(http, api_key):
    good_key = {"x-api-key": api_key, "authorization": "Bearer wrong", "anthropic-version": V2023}
    assert http.post("/v1/messages", headers=good_key, json=body()).status_code == 200
    bad_key = {"x-api-key": "wrong", "authorization": f"Bearer {api_key}", "anthropic-version": V2023}
    assert_error(
        http.post("/v1/messages", headers=bad_key, json=body()),
        401,
        "authentication_error",
        "invalid x-api-key",
    )


def test_auth_is_checked_before_the_version(http):
    assert_error(http.get("/v1/models"), 401, "authentication_error", "x-api-key header is required")


# ---------------------------------------------------------------------------- anthropic-version


def test_missing_version_is_400(http, api_key):
    response = http.post("/v1/messages", headers={"x-api-key": api_key}, json=body())
    assert_error(response, 400, "invalid_request_error", "anthropic-version: header is required")


@pytest.mark.parametrize("version", ["2023-10-01", "2023-06-01, 2023-06-01", "latest"])
def test_unknown_version_is_400(http, api_key, version):
    response = http.post(
        "/v1/messages", headers={"x-api-key": api_key, "anthropic-version": version}, json=body()
    )
    assert_error(
        response, 400, "invalid_request_error", f'anthropic-version: "{version}" is not a valid version'
    )


def test_repeated_version_header_is_400(http, api_key):
    headers = [("x-api-key", api_key), ("anthropic-version", V2023), ("anthropic-version", V2023)]
    response = http.post("/v1/messages", headers=headers, json=body())
    assert_error(
        response,
        400,
        "invalid_request_error",
        'anthropic-version: "2023-06-01, 2023-06-01" is not a valid version',
    )


@pytest.mark.parametrize("version", ["2023-01-01", V2023, V2026])
def test_known_versions_are_accepted(http, api_key, version):
    response = http.post(
        "/v1/messages", headers={"x-api-key": api_key, "anthropic-version": version}, json=body()
    )
    assert response.status_code == 200


# ---------------------------------------------------------------------------- anthropic-beta


@pytest.mark.parametrize(
    "values",
    [
        ["files-api-2025-04-14"],
        ["interleaved-thinking-2025-05-14,claude-code-20250219"],
        ["fine-grained-tool-streaming-2025-05-14", "context-management-2025-06-27, effort-2025-11-24"],
    ],
)
def test_known_betas_are_accepted(http, headers, values):
    response = http.post(
        "/v1/messages", headers=[*headers.items(), *(("anthropic-beta", v) for v in values)], json=body()
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("value", "listed"),
    [("not-a-beta", "`not-a-beta`"), ("", "``"), ("files-api-2025-04-14,", "``"), ("a,b", "`a`, `b`")],
)
def test_unknown_or_empty_beta_is_400(http, headers, value, listed):
    response = http.post("/v1/messages", headers={**headers, "anthropic-beta": value}, json=body())
    assert_error(
        response,
        400,
        "invalid_request_error",
        f"Unexpected value(s) {listed} for the `anthropic-beta` header. {BETA_HINT}",
    )


def test_version_is_checked_before_beta(http, api_key):
    response = http.post(
        "/v1/messages", headers={"x-api-key": api_key, "anthropic-beta": "nope"}, json=body()
    )
    assert_error(response, 400, "invalid_request_error", "anthropic-version: header is required")


# ---------------------------------------------------------------------------- body


@pytest.mark.parametrize("payload", [b"{not json", b"", b'{"max_tokens": NaN}', b"\xff\xfe"])
def test_body_that_is_not_json(http, headers, payload):
    response = http.post("/v1/messages", headers=headers, content=payload)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("The request body is not valid JSON: ")


@pytest.mark.parametrize("payload", [b"[]", b'"text"', b"3"])
def test_body_that_is_not_an_object(http, headers, payload):
    response = http.post("/v1/messages", headers=headers, content=payload)
    assert_error(response, 400, "invalid_request_error", "The request body must be a JSON object.")


TOO_LARGE = ("request_too_large", "Request exceeds the maximum allowed number of bytes.")


def test_declared_oversized_body_is_413(http, headers):
    padding = "x" * (32 * 1024 * 1024)
    response = http.post(
        "/v1/messages", headers=headers, content=json.dumps(body(metadata={"user_id": padding}))
    )
    assert_error(response, 413, *TOO_LARGE)


def test_chunked_oversized_body_is_413(http, headers):
    def chunks():
        for _ in range(33):
            yield b" " * (1024 * 1024)

    assert_error(http.post("/v1/messages", headers=headers, content=chunks()), 413, *TOO_LARGE)


def test_count_tokens_has_the_same_size_limit(http, headers):
    response = http.post("/v1/messages/count_tokens", headers=headers, content=b" " * (32 * 1024 * 1024 + 1))
    assert_error(response, 413, *TOO_LARGE)


def test_body_just_under_the_limit_is_read(http, headers):
    raw = json.dumps(body()).encode()
    padded = raw + b" " * (32 * 1024 * 1024 - len(raw))
    assert http.post("/v1/messages", headers=headers, content=padded).status_code == 200


FIELD_ERRORS = [
    ("missing-model", body(model=None), "model: Field required"),
    ("missing-max-tokens", body(max_tokens=None), "max_tokens: Field required"),
    ("missing-messages", body(messages=None), "messages: Field required"),
    ("model-type", body(model=3), "model: Input should be a valid string"),
    ("model-empty", body(model=""), "model: String should have at least 1 character"),
    ("model-long", body(model="m" * 257), "model: String should have at most 256 characters"),
    ("max-tokens-type", body(max_tokens="5"), "max_tokens: Input should be a valid integer"),
    ("max-tokens-bool", body(max_tokens=True), "max_tokens: Input should be a valid integer"),
    ("max-tokens-float", body(max_tokens=5.5), "max_tokens: Input should be a valid integer"),
    ("max-tokens-zero", body(max_tokens=0), "max_tokens: Input should be greater than or equal to 1"),
    ("max-tokens-negative", body(max_tokens=-1), "max_tokens: Input should be greater than or equal to 1"),
    ("messages-type", body(messages="hi"), "messages: Input should be a valid list"),
    ("messages-empty", body(messages=[]), "messages: at least one message is required"),
    ("extra-field", body(foo=1), "foo: Extra inputs are not permitted"),
    ("system-type", body(system=3), "system: Input should be a valid list"),
    (
        "system-block-type",
        body(system=[{"type": "image", "text": "x"}]),
        "system.0.type: Input should be 'text'",
    ),
    ("system-block-text", body(system=[{"type": "text"}]), "system.0.text: Field required"),
    ("metadata-type", body(metadata="x"), "metadata: Input should be a valid dictionary"),
    ("metadata-extra", body(metadata={"x": 1}), "metadata.x: Extra inputs are not permitted"),
    ("metadata-user-id", body(metadata={"user_id": 3}), "metadata.user_id: Input should be a valid string"),
    ("stop-sequences-type", body(stop_sequences="STOP"), "stop_sequences: Input should be a valid list"),
    ("stop-sequences-item", body(stop_sequences=[1]), "stop_sequences.0: Input should be a valid string"),
    ("stream-type", body(stream="yes"), "stream: Input should be a valid boolean"),
    ("temperature-high", body(temperature=1.5), "temperature: Input should be less than or equal to 1"),
    ("temperature-low", body(temperature=-0.1), "temperature: Input should be greater than or equal to 0"),
    ("temperature-type", body(temperature="hot"), "temperature: Input should be a valid number"),
    ("top-p-high", body(top_p=2), "top_p: Input should be less than or equal to 1"),
    ("top-k-negative", body(top_k=-1), "top_k: Input should be greater than or equal to 0"),
    ("top-k-float", body(top_k=1.5), "top_k: Input should be a valid integer"),
    ("tools-type", body(tools={}), "tools: Input should be a valid list"),
    (
        "tool-choice-type",
        body(tool_choice={"type": "sometimes"}),
        "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'",
    ),
    (
        "thinking-budget",
        body(thinking={"type": "enabled", "budget_tokens": 10}),
        "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
    ),
    ("service-tier", body(service_tier="gold"), "service_tier: Input should be 'auto' or 'standard_only'"),
    ("speed", body(speed="ludicrous"), "speed: Input should be 'standard' or 'fast'"),
    ("message-type", body(messages=["hi"]), "messages.0: Input should be a valid dictionary"),
    ("message-role-missing", body(messages=[{"content": "hi"}]), "messages.0.role: Field required"),
    ("message-content-missing", body(messages=[{"role": "user"}]), "messages.0.content: Field required"),
    (
        "message-extra",
        body(messages=[{"role": "user", "content": "hi", "name": "x"}]),
        "messages.0.name: Extra inputs are not permitted",
    ),
    (
        "message-role",
        body(messages=[{"role": "tool", "content": "hi"}]),
        "messages.0.role: Input should be 'user' or 'assistant'",
    ),
    (
        "content-type",
        body(messages=[{"role": "user", "content": 3}]),
        "messages.0.content: Input should be a valid string or a list of content blocks",
    ),
    (
        "block-no-type",
        body(messages=[{"role": "user", "content": [{"text": "x"}]}]),
        "messages.0.content.0: Unable to extract tag using discriminator 'type'",
    ),
    (
        "block-text-missing",
        body(messages=[{"role": "user", "content": [{"type": "text"}]}]),
        "messages.0.content.0.text: Field required",
    ),
    (
        "block-tool-use-input",
        body(
            messages=[
                *user("a"),
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "n", "input": []}]},
            ]
        ),
        "messages.1.content.0.input: Input should be a valid dictionary",
    ),
    (
        "block-image-source",
        body(messages=[{"role": "user", "content": [{"type": "image", "source": {"type": "ftp"}}]}]),
        "messages.0.content.0.source.type: Input should be 'base64', 'url' or 'file'",
    ),
    (
        "empty-text-block",
        body(messages=[{"role": "user", "content": [{"type": "text", "text": ""}]}]),
        "messages: text content blocks must be non-empty",
    ),
    (
        "blank-text-block",
        body(messages=[{"role": "user", "content": [{"type": "text", "text": "  "}]}]),
        "messages: text content blocks must contain non-whitespace text",
    ),
    (
        "empty-user-content",
        body(messages=[{"role": "user", "content": ""}]),
        "messages.0: all messages must have non-empty content except for the optional final assistant message",
    ),
    (
        "empty-user-blocks",
        body(messages=[{"role": "user", "content": []}, *user("hi")]),
        "messages.0: all messages must have non-empty content except for the optional final assistant message",
    ),
    (
        "empty-middle-assistant",
        body(messages=[*user("a"), {"role": "assistant", "content": ""}, *user("b")]),
        "messages.1: all messages must have non-empty content except for the optional final assistant message",
    ),
    (
        "prefill-trailing-space",
        body(messages=[*user("a"), {"role": "assistant", "content": "Sure "}]),
        "messages: final assistant content cannot end with trailing whitespace",
    ),
    (
        "prefill-trailing-newline",
        body(messages=[*user("a"), {"role": "assistant", "content": [{"type": "text", "text": "Sure\n"}]}]),
        "messages: final assistant content cannot end with trailing whitespace",
    ),
    (
        "prefill-unsupported",
        body(model="claude-sonnet-4-6", messages=[*user("a"), {"role": "assistant", "content": "Sure"}]),
        "Prefilling assistant messages is not supported for this model.",
    ),
    (
        "system-role-unsupported",
        body(messages=[*user("a"), {"role": "system", "content": "be brief"}]),
        "messages.1.role: role 'system' is not supported on this model",
    ),
    (
        "system-role-first",
        body(model="claude-opus-4-8", messages=[{"role": "system", "content": "x"}, *user("a")]),
        "messages.0: system messages must immediately follow a user message",
    ),
    (
        "system-role-after-assistant",
        body(
            model="claude-opus-4-8",
            messages=[*user("a"), {"role": "assistant", "content": "b"}, {"role": "system", "content": "x"}],
        ),
        "messages.2: system messages must immediately follow a user message",
    ),
    (
        "system-role-image",
        body(
            model="claude-opus-4-8",
            messages=[
                *user("a"),
                {"role": "system", "content": [{"type": "image", "source": {"type": "url", "url": "u"}}]},
            ],
        ),
        "messages.1.content.0: system messages may only contain text blocks",
    ),
    (
        "max-tokens-over-model",
        body(max_tokens=64001),
        "max_tokens: 64001 > 64000, which is the maximum allowed number of output tokens for claude-haiku-4-5-20251001",
    ),
    (
        "opus-47-temperature",
        body(model="claude-opus-4-7", temperature=0.5),
        "`temperature` is deprecated for this model.",
    ),
    ("opus-48-top-p", body(model="claude-opus-4-8", top_p=0.9), "`top_p` is deprecated for this model."),
    ("opus-47-top-k", body(model="claude-opus-4-7", top_k=5), "`top_k` is deprecated for this model."),
]


@pytest.mark.parametrize(("payload", "message"), [pytest.param(p, m, id=i) for i, p, m in FIELD_ERRORS])
def test_body_rules(http, headers, payload, message):
    assert_error(
        http.post("/v1/messages", headers=headers, json=payload), 400, "invalid_request_error", message
    )


def test_unknown_model_is_404(http, headers):
    response = http.post("/v1/messages", headers=headers, json=body(model="claude-sonet-4-5"))
    assert_error(response, 404, "not_found_error", "model: claude-sonet-4-5")


def test_shape_errors_come_before_model_lookup(http, headers):
    response = http.post("/v1/messages", headers=headers, json=body(model="nope", max_tokens=0))
    assert_error(
        response, 400, "invalid_request_error", "max_tokens: Input should be greater than or equal to 1"
    )


ACCEPTED = [
    ("alias", body(model="claude-haiku-4-5-20251001")),
    (
        "every-optional-field",
        body(
            system="s",
            metadata={"user_id": None},
            stop_sequences=["x"],
            stream=False,
            temperature=0,
            top_p=0.5,
            top_k=0,
            tools=[{"name": "t", "input_schema": {"type": "object"}}],
            tool_choice={"type": "auto"},
            thinking={"type": "disabled"},
            service_tier="auto",
            container=None,
            output_config={},  # effort is model-gated: Haiku 4.5 refuses it (effort cases below)
            context_management=None,
            cache_control={"type": "ephemeral"},
            inference_geo=None,
            speed="standard",
            mcp_servers=[],
            diagnostics=None,
        ),
    ),
    ("system-blocks", body(system=[{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}])),
    ("consecutive-user-turns", body(messages=[*user("a"), *user("b")])),
    ("leading-assistant", body(messages=[{"role": "assistant", "content": "hello"}, *user("b")])),
    ("final-assistant-empty", body(messages=[*user("a"), {"role": "assistant", "content": ""}])),
    ("prefill-on-haiku", body(messages=[*user("a"), {"role": "assistant", "content": "Sure"}])),
    ("opus-47-default-temperature", body(model="claude-opus-4-7", temperature=1.0)),
    ("effort-on-opus-46", body(model="claude-opus-4-6", output_config={"effort": "low"})),
    ("xhigh-on-opus-47", body(model="claude-opus-4-7", output_config={"effort": "xhigh"})),
    (
        "system-role-on-opus-48",
        body(
            model="claude-opus-4-8",
            messages=[*user("a"), {"role": "system", "content": "be brief"}, *user("b")],
        ),
    ),
    (
        "tool-round-trip",
        body(
            messages=[
                *user("a"),
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "toolu_1", "name": "t", "input": {}}],
                },
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}],
                },
            ],
            tools=[{"name": "t", "input_schema": {"type": "object"}}],  # tool blocks need tools
        ),
    ),
    (
        "thinking-round-trip",
        body(
            messages=[
                *user("a"),
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "hm", "signature": thoughts.sign("hm")},  # a signature this server issued
                        {"type": "redacted_thinking", "data": "d"},
                        {"type": "text", "text": "b"},
                    ],
                },
                *user("c"),
            ]
        ),
    ),
    (
        "document-in-assistant-2023",
        body(
            messages=[
                *user("a"),
                {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "document",
                            "source": {"type": "text", "media_type": "text/plain", "data": "d"},
                        }
                    ],
                },
                *user("c"),
            ]
        ),
    ),
    (
        "citations-in-user-2023",
        body(
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "text", "text": "a", "citations": [{"type": "char_location"}]}],
                }
            ]
        ),
    ),
    ("max-tokens-at-model-limit", body(model="claude-opus-4-8", max_tokens=128000)),
]


@pytest.mark.parametrize("payload", [pytest.param(p, id=i) for i, p in ACCEPTED])
def test_accepted_bodies(http, headers, payload):
    response = http.post("/v1/messages", headers=headers, json=payload)
    assert response.status_code == 200, response.text


# ---------------------------------------------------------------------------- 2026-10-21


@pytest.fixture
def headers_2026(api_key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {api_key}", "anthropic-version": V2026}


@pytest.mark.parametrize(
    ("field", "value"), [("temperature", 1.0), ("temperature", 0.2), ("top_p", 0.9), ("top_k", 5)]
)
def test_2026_removes_sampling_params_even_at_defaults(http, headers_2026, field, value):
    response = http.post("/v1/messages", headers=headers_2026, json=body(**{field: value}))
    assert_error(response, 400, "invalid_request_error", f"{field}: Extra inputs are not permitted")


def test_2026_rejects_documents_in_assistant_messages(http, headers_2026):
    document = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "d"}}
    payload = body(messages=[*user("a"), {"role": "assistant", "content": [document]}, *user("c")])
    response = http.post("/v1/messages", headers=headers_2026, json=payload)
    assert_error(
        response,
        400,
        "invalid_request_error",
        "messages.1.content.0: document blocks are not supported in assistant messages",
    )


@pytest.mark.parametrize(
    "block",
    [
        {"type": "text", "text": "a", "citations": [{"type": "char_location"}]},
        {
            "type": "search_result",
            "source": "s",
            "title": "t",
            "content": [{"type": "text", "text": "a", "citations": [{"type": "x"}]}],
        },
    ],
)
def test_2026_rejects_citations_in_user_messages(http, headers_2026, block):
    response = http.post(
        "/v1/messages", headers=headers_2026, json=body(messages=[{"role": "user", "content": [block]}])
    )
    assert_error(
        response,
        400,
        "invalid_request_error",
        "messages.0.content.0.citations: citations are not supported in user messages",
    )


def test_2026_accepts_empty_citations(http, headers_2026):
    payload = body(messages=[{"role": "user", "content": [{"type": "text", "text": "a", "citations": []}]}])
    assert http.post("/v1/messages", headers=headers_2026, json=payload).status_code == 200


# ---------------------------------------------------------------------------- count_tokens


@pytest.mark.parametrize(
    "field", ["max_tokens", "stream", "stop_sequences", "metadata", "temperature", "top_p", "top_k"]
)
def test_count_tokens_refuses_generation_fields(http, headers, field):
    payload = {
        "model": HAIKU,
        "messages": user("hi"),
        field: body(stream=True, stop_sequences=["x"], metadata={}, temperature=1, top_p=1, top_k=1)[field],
    }
    response = http.post("/v1/messages/count_tokens", headers=headers, json=payload)
    assert_error(response, 400, "invalid_request_error", f"{field}: Extra inputs are not permitted")


def test_count_tokens_requires_model_and_messages(http, headers):
    response = http.post("/v1/messages/count_tokens", headers=headers, json={"messages": user("hi")})
    assert_error(response, 400, "invalid_request_error", "model: Field required")
    response = http.post("/v1/messages/count_tokens", headers=headers, json={"model": HAIKU})
    assert_error(response, 400, "invalid_request_error", "messages: Field required")


def test_count_tokens_unknown_model_is_404(http, headers):
    response = http.post(
        "/v1/messages/count_tokens", headers=headers, json={"model": "nope", "messages": user("hi")}
    )
    assert_error(response, 404, "not_found_error", "model: nope")


@pytest.mark.parametrize(
    "changes",
    [
        {"messages": [{"role": "tool", "content": "hi"}]},
        {"tools": [{"name": "weather.get", "input_schema": {"type": "object", "properties": {}}}]},
    ],
    ids=["unknown-role", "bad-tool-name"],
)
def test_count_tokens_validates_the_body_as_messages_does(http, headers, changes):
    payload = {"model": HAIKU, "messages": user("hi"), **changes}
    counted = http.post("/v1/messages/count_tokens", headers=headers, json=payload)
    answered = http.post("/v1/messages", headers=headers, json={**payload, "max_tokens": 16})
    assert counted.status_code == answered.status_code == 400
    assert counted.json()["error"] == answered.json()["error"]


def test_count_tokens_matches_usage(http, headers):
    request = {
        "model": HAIKU,
        "system": "Be brief.",
        "messages": user("Count from 1 to 3"),
        "tools": [{"name": "t", "input_schema": {"type": "object"}}],
    }
    counted = http.post("/v1/messages/count_tokens", headers=headers, json=request)
    assert counted.status_code == 200
    assert list(counted.json()) == ["input_tokens"]
    used = http.post("/v1/messages", headers=headers, json={**request, "max_tokens": 16}).json()["usage"][
        "input_tokens"
    ]
    assert counted.json()["input_tokens"] == used


# ---------------------------------------------------------------------------- models


def test_models_list_first_page(http, headers):
    page = http.get("/v1/models", headers=headers).json()
    ids = [m["id"] for m in page["data"]]
    assert ids[0] == "claude-opus-4-8"
    assert "claude-haiku-4-5-20251001" in ids
    assert page["has_more"] is False
    assert (page["first_id"], page["last_id"]) == (ids[0], ids[-1])
    for info in page["data"]:
        assert list(info) == ["type", "id", "display_name", "created_at"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info["created_at"])


def test_models_list_is_most_recent_first(http, headers):
    dates = [m["created_at"] for m in http.get("/v1/models", headers=headers).json()["data"]]
    assert dates == sorted(dates, reverse=True)


def test_models_pagination_walks_both_ways(http, headers):
    everything = [m["id"] for m in http.get("/v1/models", headers=headers).json()["data"]]
    first = http.get("/v1/models", headers=headers, params={"limit": 2}).json()
    assert [m["id"] for m in first["data"]] == everything[:2]
    assert first["has_more"] is True
    second = http.get("/v1/models", headers=headers, params={"limit": 2, "after_id": first["last_id"]}).json()
    assert [m["id"] for m in second["data"]] == everything[2:4]
    back = http.get(
        "/v1/models", headers=headers, params={"limit": 1, "before_id": second["first_id"]}
    ).json()
    assert [m["id"] for m in back["data"]] == [everything[1]]
    assert back["has_more"] is True
    end = http.get("/v1/models", headers=headers, params={"after_id": everything[-1]}).json()
    assert end == {"data": [], "has_more": False, "first_id": None, "last_id": None}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": 0}, "limit: Input should be greater than or equal to 1"),
        ({"limit": 1001}, "limit: Input should be less than or equal to 1000"),
        ({"limit": "x"}, "limit: Input should be a valid integer, unable to parse string as an integer"),
        ({"after_id": "a", "before_id": "b"}, "Only one of `after_id` and `before_id` may be given."),
        ({"after_id": "nope"}, "after_id: no model with id 'nope'"),
    ],
)
def test_models_list_rejects_bad_queries(http, headers, params, message):
    assert_error(
        http.get("/v1/models", headers=headers, params=params), 400, "invalid_request_error", message
    )


def test_models_list_accepts_limit_bounds(http, headers):
    assert len(http.get("/v1/models", headers=headers, params={"limit": 1}).json()["data"]) == 1
    assert http.get("/v1/models", headers=headers, params={"limit": 1000}).status_code == 200


def test_model_retrieve_resolves_aliases(http, headers):
    info = http.get("/v1/models/claude-haiku-4-5", headers=headers).json()
    assert info == {
        "type": "model",
        "id": "claude-haiku-4-5-20251001",
        "display_name": "Claude Haiku 4.5",
        "created_at": "2025-10-15T00:00:00Z",
    }


def test_model_retrieve_unknown_is_404(http, headers):
    assert_error(
        http.get("/v1/models/claude-nope", headers=headers), 404, "not_found_error", "model: claude-nope"
    )


def test_models_need_auth_and_version(http, api_key):
    assert_error(
        http.get("/v1/models/claude-opus-4-8"), 401, "authentication_error", "x-api-key header is required"
    )
    response = http.get("/v1/models", headers={"x-api-key": api_key})
    assert_error(response, 400, "invalid_request_error", "anthropic-version: header is required")
