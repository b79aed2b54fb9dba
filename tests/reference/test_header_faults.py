"""The wire effect of the credential and header faults (catalogue/auth.py, headers.py, errors.py), and that the faithful server shows none of them."""

from __future__ import annotations

import httpx

from conformance.reference.catalogue.auth import KEY_SHAPE
from conformance.reference.catalogue.headers import CONSTANT_ID
from conformance.reference.simulate import HEADER
from conformance.transport import make_wrong_key

from ._support import GRUSSE, HAIKU, Probe, user, wire_probe_tests

MESSAGE = {"model": HAIKU, "max_tokens": 32, "messages": user(GRUSSE)}
STREAM = {**MESSAGE, "stream": True}
COUNT = {"model": HAIKU, "messages": user(GRUSSE)}
WELL_FORMED = make_wrong_key("sk-ant-api03-conformance-invalid-", length=108, suffix="AA")


def without_key(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != "x-api-key"}


def bearer_token_unverified(http: httpx.Client, headers: dict[str, str]) -> None:
    version = without_key(headers)
    assert http.post("/v1/messages", headers={**version, "authorization": "Bearer not-a-key"}, json=MESSAGE).status_code == 200
    assert http.post("/v1/messages", headers={**version, "x-api-key": "not-a-key"}, json=MESSAGE).status_code == 401


def key_format_only(http: httpx.Client, headers: dict[str, str]) -> None:
    assert KEY_SHAPE.match(WELL_FORMED)
    version = without_key(headers)
    assert http.post("/v1/messages", headers={**version, "x-api-key": WELL_FORMED}, json=MESSAGE).status_code == 200
    assert http.post("/v1/messages", headers={**version, "authorization": f"Bearer {WELL_FORMED}"}, json=MESSAGE).status_code == 200
    assert http.post("/v1/messages", headers={**version, "x-api-key": "sk-ant-api03-short"}, json=MESSAGE).status_code == 401


def aux_endpoints_unauthenticated(http: httpx.Client, headers: dict[str, str]) -> None:
    version = without_key(headers)
    assert http.post("/v1/messages/count_tokens", headers=version, json=COUNT).status_code == 200
    assert http.get("/v1/models", headers=version).status_code == 200
    assert http.post("/v1/messages", headers=version, json=MESSAGE).status_code == 401


def bearer_scheme_case_sensitive(http: httpx.Client, headers: dict[str, str]) -> None:
    key, version = headers["x-api-key"], without_key(headers)
    assert http.post("/v1/messages", headers={**version, "authorization": f"bearer {key}"}, json=MESSAGE).status_code == 401
    assert http.post("/v1/messages", headers={**version, "authorization": f"Bearer {key}"}, json=MESSAGE).status_code == 200


def version_date_compare(http: httpx.Client, headers: dict[str, str]) -> None:
    assert http.post("/v1/messages", headers={**headers, "anthropic-version": "2023-10-01"}, json=MESSAGE).status_code == 200
    assert http.post("/v1/messages", headers={**headers, "anthropic-version": "1999-01-01"}, json=MESSAGE).status_code == 400
    assert http.post("/v1/messages", headers={**headers, "anthropic-version": "2023-06-01, 2023-06-01"}, json=MESSAGE).status_code == 400


def version_duplicate_first_wins(http: httpx.Client, headers: dict[str, str]) -> None:
    assert http.post("/v1/messages", headers={**headers, "anthropic-version": "2023-06-01, 2023-06-01"}, json=MESSAGE).status_code == 200
    assert http.post("/v1/messages", headers={**headers, "anthropic-version": "2023-10-01"}, json=MESSAGE).status_code == 400


def beta_list_read_as_one_name(http: httpx.Client, headers: dict[str, str]) -> None:
    listed = http.post("/v1/messages", headers={**headers, "anthropic-beta": "files-api-2025-04-14,token-counting-2024-11-01"}, json=MESSAGE)
    assert listed.status_code == 400
    assert listed.json()["error"]["message"] == "invalid beta flag: files-api-2025-04-14,token-counting-2024-11-01"
    assert http.post("/v1/messages", headers={**headers, "anthropic-beta": "files-api-2025-04-14"}, json=MESSAGE).status_code == 200


def beta_unknown_dropped(http: httpx.Client, headers: dict[str, str]) -> None:
    assert http.post("/v1/messages", headers={**headers, "anthropic-beta": "no-such-beta"}, json=MESSAGE).status_code == 200
    assert http.post("/v1/messages", headers={**headers, "anthropic-beta": "no-such-beta,files-api-2025-04-14"}, json=MESSAGE).status_code == 200


def content_type_charset_refused(http: httpx.Client, headers: dict[str, str]) -> None:
    labelled = {**headers, "content-type": "application/json; charset=utf-8"}
    refused = http.post("/v1/messages", headers=labelled, content=httpx.Request("POST", "/", json=MESSAGE).content)
    assert refused.status_code == 415
    assert refused.json()["request_id"] == refused.headers["request-id"]
    assert http.post("/v1/messages", headers=headers, json=MESSAGE).status_code == 200


def request_id_constant(http: httpx.Client, headers: dict[str, str]) -> None:
    ok, refused = http.post("/v1/messages", headers=headers, json=MESSAGE), http.post("/v1/messages", headers=without_key(headers), json=MESSAGE)
    assert ok.headers["request-id"] == refused.headers["request-id"] == refused.json()["request_id"] == CONSTANT_ID


def error_request_id_mismatch(http: httpx.Client, headers: dict[str, str]) -> None:
    refused = http.post("/v1/messages", headers=without_key(headers), json=MESSAGE)
    assert refused.json()["request_id"] != refused.headers["request-id"]
    assert refused.json()["request_id"].startswith("gw-")


def stream_errors_labelled_event_stream(http: httpx.Client, headers: dict[str, str]) -> None:
    for refused in (http.post("/v1/messages", headers=without_key(headers), json=STREAM), http.post("/v1/messages", headers={**headers, HEADER: "overloaded"}, json=STREAM)):
        assert refused.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert refused.json()["type"] == "error"  # the body is still the JSON envelope
    assert http.post("/v1/messages", headers=without_key(headers), json=MESSAGE).headers["content-type"] == "application/json"


PROBES: dict[str, Probe] = {
    "bearer-token-unverified": bearer_token_unverified,
    "key-format-only": key_format_only,
    "aux-endpoints-unauthenticated": aux_endpoints_unauthenticated,
    "bearer-scheme-case-sensitive": bearer_scheme_case_sensitive,
    "version-date-compare": version_date_compare,
    "version-duplicate-first-wins": version_duplicate_first_wins,
    "beta-list-read-as-one-name": beta_list_read_as_one_name,
    "beta-unknown-dropped": beta_unknown_dropped,
    "content-type-charset-refused": content_type_charset_refused,
    "request-id-constant": request_id_constant,
    "error-request-id-mismatch": error_request_id_mismatch,
    "stream-errors-labelled-event-stream": stream_errors_labelled_event_stream,
}


test_every_probe_names_a_fault, test_fault_changes_the_response, test_faithful_server_does_not_show_the_fault = wire_probe_tests(PROBES)
