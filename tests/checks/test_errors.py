"""conformance/checks/errors.py: the error envelope and the status → error.type map."""

from __future__ import annotations

import pytest

from conformance.findings import NotApplicable

from ._build import error_body, judged, messages, run

ENVELOPE = 'Expected: {"type": "error", "error": {"type": …, "message": …}}'


# ---------------------------------------------------------------------- errors.envelope_shape


def test_envelope_shape_passes_anthropics_envelope(build):
    assert run("errors.envelope_shape", build.error()) == []


def test_envelope_shape_passes_old_and_new_variants(build):
    # INDEX.md observations 22, 23: request_id absent before 2025; error.details null in in-stream errors.
    old = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    new = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded", "details": None}, "request_id": None}
    assert run("errors.envelope_shape", build.error(old, status=529)) == []
    assert run("errors.envelope_shape", build.error(new, status=529)) == []


def test_envelope_shape_flags_a_fastapi_validation_dump(build):
    # peers.md §4.6 #22: framework 422 {"detail": [...]} instead of the envelope.
    body = {"detail": [{"loc": ["body", "max_tokens"], "msg": "field required", "type": "value_error.missing"}]}
    shown = '{"detail": [{"loc": ["body", "max_tokens"], "msg": "field required", "type": "value_error.missing"}]}'
    found = run("errors.envelope_shape", build.error(body, status=422))
    assert [v.message for v in found] == [
        f"Received: 'type' is a required property in {shown}\n{ENVELOPE}",
        f"Received: 'error' is a required property in {shown}\n{ENVELOPE}",
    ]
    assert [v.at for v in found] == ["/", "/"]


def test_envelope_shape_flags_an_openai_error(build):
    body = {"error": {"message": "bad", "type": "invalid_request_error", "param": None, "code": None}}
    assert messages("errors.envelope_shape", build.error(body)) == [
        f"Received: 'type' is a required property in {{\"error\": {{\"message\": \"bad\", \"type\": \"invalid_request_error\", \"param\": null, \"code\": null}}}}\n{ENVELOPE}"
    ]


def test_envelope_shape_flags_a_missing_message(build):
    [violation] = run("errors.envelope_shape", build.error({"type": "error", "error": {"type": "invalid_request_error"}}))
    assert violation.message == f"Received: 'message' is a required property in {{\"type\": \"error\", \"error\": {{\"type\": \"invalid_request_error\"}}}}\n{ENVELOPE}"
    assert violation.at == "/error"


def test_envelope_shape_flags_a_body_that_is_not_json(build):
    [violation] = run("errors.envelope_shape", build.error("Internal Server Error", status=500))
    assert violation.message == f'Received: status 500 with a body that is not JSON: "Internal Server Error"\n{ENVELOPE}'
    assert violation.at is None


# ------------------------------------------------------------------ errors.type_matches_status


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, "invalid_request_error"), (401, "authentication_error"), (404, "not_found_error"), (413, "request_too_large"), (429, "rate_limit_error"), (529, "overloaded_error")],
)
def test_type_matches_status_passes_the_documented_pairs(build, status, kind):
    assert run("errors.type_matches_status", build.error(error_body(kind, "x"), status=status)) == []


def test_type_matches_status_flags_overload_as_api_error(build):
    # peers.md §4.6 #23: 529 mapped to api_error, so clients do not retry.
    [violation] = run("errors.type_matches_status", build.error(error_body("api_error", "Overloaded"), status=529))
    assert violation.message == 'Received: status 529 with error.type "api_error"\nExpected: error.type overloaded_error'
    assert violation.at == "/error/type"


def test_type_matches_status_flags_an_auth_failure_called_invalid_request(build):
    assert messages("errors.type_matches_status", build.error(error_body("invalid_request_error", "bad key"), status=401)) == [
        'Received: status 401 with error.type "invalid_request_error"\nExpected: error.type authentication_error'
    ]


def test_type_matches_status_skips_undocumented_statuses(build):
    # DOC-ERR: invalid_request_error is "also used for other 4XX status codes not listed".
    with pytest.raises(NotApplicable, match="status 422 has no documented error type"):
        run("errors.type_matches_status", build.error(error_body("invalid_request_error", "x"), status=422))


def test_type_matches_status_leaves_a_broken_envelope_to_envelope_shape(build):
    with pytest.raises(NotApplicable, match=r"errors\.envelope_shape"):
        run("errors.type_matches_status", build.error({"detail": "Not Found"}, status=404))


# ------------------------------------------------------------ errors.request_id_matches_header


def test_request_id_matches_header_passes_when_body_and_header_agree(build):
    # Capture 52: the 401's body request_id and its request-id header are the same id.
    body = {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}, "request_id": "req_011CVa2kcigwBtMFroktdQ2q"}
    headers = [("content-type", "application/json"), ("request-id", "req_011CVa2kcigwBtMFroktdQ2q")]
    assert run("errors.request_id_matches_header", build.error(body, status=401, headers=headers)) == []


def test_request_id_matches_header_flags_two_ids(build):
    body = {**error_body(), "request_id": "gw-7f3c2a9e-0b1d-4c55-8e2f-3a9d1c0b7e64"}
    [violation] = run("errors.request_id_matches_header", build.error(body))
    assert violation.message == (
        'Received: request_id "gw-7f3c2a9e-0b1d-4c55-8e2f-3a9d1c0b7e64" in the body, request-id "req_011CSHoEeqs5C35K2UUqR7Fy" in the header\n'
        "Expected: the same id in both"
    )
    assert violation.at == "/request_id"


@pytest.mark.parametrize("request_id", [None, 12, "absent"])
def test_request_id_matches_header_needs_an_id_in_the_body(build, request_id):
    # request_id is optional (absent before 2025, null allowed); a non-string is the envelope check's.
    body = {k: v for k, v in {**error_body(), "request_id": request_id}.items() if v != "absent"}
    with pytest.raises(NotApplicable, match="no request_id"):
        run("errors.request_id_matches_header", build.error(body))
    with pytest.raises(NotApplicable, match="no request_id"):
        run("errors.request_id_matches_header", build.error(b"<html>502</html>", status=502))


def test_request_id_matches_header_needs_the_header(build):
    with pytest.raises(NotApplicable, match=r"judged by headers\.request_id_present"):
        run("errors.request_id_matches_header", build.error(headers=[("content-type", "application/json")]))


def test_what_the_error_checks_judged(build):
    refused = build.error(error_body("authentication_error", "invalid x-api-key"), status=401, headers=[("content-type", "application/json"), ("request-id", "req_011CSHoEeqs5C35K2UUqR7Fy")])
    assert judged("errors.envelope_shape", refused) == ("the status 401 envelope",)
    assert judged("errors.type_matches_status", refused) == ('error.type "authentication_error" with status 401',)
    assert judged("errors.request_id_matches_header", refused) == ('request_id "req_011CSHoEeqs5C35K2UUqR7Fy" against the request-id header',)
