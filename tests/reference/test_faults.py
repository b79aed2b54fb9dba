"""Each named fault visibly changes what the server says, and only where the fault says so."""

from __future__ import annotations

import json

import httpx
import pytest

from conformance.reference.faults import FAULTS, build_app
from conformance.reference.router import fault_base_path

from ._support import COUNT, GRUSSE, HAIKU, V2023, Probe, user, wire_probe_tests

MESSAGE = {"model": HAIKU, "max_tokens": 32, "messages": user(GRUSSE)}
STREAM = {**MESSAGE, "stream": True}


def names(raw: bytes) -> list[str]:
    return [line[len("event: ") :] for line in raw.decode().split("\n") if line.startswith("event: ")]


def data_lines(raw: bytes) -> list[str]:
    return [line[len("data: ") :] for line in raw.decode().split("\n") if line.startswith("data: ")]


def drop_message_stop(http: httpx.Client, headers: dict[str, str]) -> None:
    raw = http.post("/v1/messages", headers=headers, json=STREAM).content
    assert names(raw)[-1] == "message_delta"
    assert "message_stop" not in names(raw)


def stop_reason_stop(http: httpx.Client, headers: dict[str, str]) -> None:
    assert http.post("/v1/messages", headers=headers, json=MESSAGE).json()["stop_reason"] == "stop"
    raw = http.post("/v1/messages", headers=headers, json=STREAM).content
    assert '"stop_reason":"stop"' in raw.decode()
    limited = {**MESSAGE, "messages": user(COUNT), "max_tokens": 5}
    assert http.post("/v1/messages", headers=headers, json=limited).json()["stop_reason"] == "max_tokens"


def openai_error_envelope(http: httpx.Client, headers: dict[str, str]) -> None:
    response = http.post("/v1/messages", headers=headers, json={**MESSAGE, "max_tokens": 0})
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "message": "max_tokens: Input should be greater than or equal to 1",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
    assert int(response.headers["content-length"]) == len(response.content)
    unauthorized = http.post("/v1/messages", headers={"anthropic-version": V2023}, json=MESSAGE)
    assert (unauthorized.status_code, unauthorized.json()["error"]["type"]) == (401, "invalid_request_error")
    assert http.post("/v1/messages", headers=headers, json=MESSAGE).json()["type"] == "message"


def data_only_events(http: httpx.Client, headers: dict[str, str]) -> None:
    raw = http.post("/v1/messages", headers=headers, json=STREAM).content
    assert names(raw) == []
    assert next(json.loads(d)["type"] for d in data_lines(raw)) == "message_start"


def done_sentinel(http: httpx.Client, headers: dict[str, str]) -> None:
    raw = http.post("/v1/messages", headers=headers, json=STREAM).content
    assert raw.endswith(b'event: message_stop\ndata: {"type":"message_stop"}\n\ndata: [DONE]\n\n')


def accepts_any_key(http: httpx.Client, headers: dict[str, str]) -> None:
    for auth in ({"x-api-key": "wrong"}, {"authorization": "Bearer wrong"}, {}):
        response = http.post("/v1/messages", headers={**auth, "anthropic-version": V2023}, json=MESSAGE)
        assert response.status_code == 200, response.text


def max_tokens_optional(http: httpx.Client, headers: dict[str, str]) -> None:
    body = {k: v for k, v in MESSAGE.items() if k != "max_tokens"}
    response = http.post("/v1/messages", headers=headers, json=body)
    assert response.status_code == 200
    assert response.json()["content"][0]["text"] == "Grüße ok"
    counted = http.post("/v1/messages/count_tokens", headers=headers, json=body)
    assert counted.status_code == 200


def validation_errors_as_422(http: httpx.Client, headers: dict[str, str]) -> None:
    response = http.post("/v1/messages", headers=headers, json={**MESSAGE, "max_tokens": 0})
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "value_error",
                "loc": ["body", "max_tokens"],
                "msg": "Input should be greater than or equal to 1",
            }
        ]
    }
    assert http.post("/v1/messages", headers={"anthropic-version": V2023}, json=MESSAGE).status_code == 401


def no_request_id(http: httpx.Client, headers: dict[str, str]) -> None:
    assert "request-id" not in http.post("/v1/messages", headers=headers, json=MESSAGE).headers
    assert "request-id" not in http.post("/v1/messages", headers=headers, json=STREAM).headers
    assert "request-id" not in http.get("/v1/models", headers=headers).headers


def lossy_utf8_chunks(http: httpx.Client, headers: dict[str, str]) -> None:
    raw = http.post("/v1/messages", headers=headers, json=STREAM).content
    text = "".join(json.loads(d)["delta"]["text"] for d in data_lines(raw) if '"text_delta"' in d)
    assert text == "Gr\ufffd\ufffdße ok"
    assert http.post("/v1/messages", headers=headers, json=MESSAGE).json()["content"][0]["text"] == "Grüße ok"


PROBES: dict[str, Probe] = {
    "drop-message-stop": drop_message_stop,
    "stop-reason-stop": stop_reason_stop,
    "openai-error-envelope": openai_error_envelope,
    "data-only-events": data_only_events,
    "done-sentinel": done_sentinel,
    "accepts-any-key": accepts_any_key,
    "max-tokens-optional": max_tokens_optional,
    "validation-errors-as-422": validation_errors_as_422,
    "no-request-id": no_request_id,
    "lossy-utf8-chunks": lossy_utf8_chunks,
}


test_every_probe_names_a_fault, test_fault_changes_the_response, test_faithful_server_does_not_show_the_fault = wire_probe_tests(PROBES)


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_metadata(name):
    fault = FAULTS[name]
    assert fault.name == name
    assert name == name.lower()
    assert " " not in name
    assert "_" not in name
    assert fault.source
    assert fault.description
    assert isinstance(fault.breaks, tuple)


def test_faults_combine(server, headers):
    with httpx.Client(
        base_url=server.base_url + fault_base_path("drop-message-stop", "done-sentinel"), timeout=30
    ) as http:
        raw = http.post("/v1/messages", headers=headers, json=STREAM).content
    assert "message_stop" not in names(raw)
    assert raw.endswith(b"}\n\ndata: [DONE]\n\n")  # inner fault adds [DONE], the outer one drops message_stop
    with httpx.Client(
        base_url=server.base_url + fault_base_path("accepts-any-key", "stop-reason-stop"), timeout=30
    ) as http:
        response = http.post("/v1/messages", headers={"anthropic-version": V2023}, json=MESSAGE)
    assert response.json()["stop_reason"] == "stop"


def test_unknown_fault_in_the_router_is_a_404(http):
    response = http.post(fault_base_path("drop-message-stop", "nope") + "/v1/messages")
    assert response.status_code == 404
    message = response.json()["error"]["message"]
    assert message.startswith("unknown fault 'nope'; known faults: ")
    assert "drop-message-stop" in message


def test_build_app_names_the_unknown_fault():
    with pytest.raises(ValueError, match=r"unknown fault 'nope'; known faults: .*accepts-any-key"):
        build_app(api_key="k", faults=["drop-message-stop", "nope"])


def test_registry_is_read_only():
    with pytest.raises(TypeError):
        FAULTS["new"] = FAULTS["drop-message-stop"]  # type: ignore[index]
