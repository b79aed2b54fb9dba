"""conformance/checks/headers.py: content types and request-id, on hand-built exchanges."""

from __future__ import annotations

import pytest

from conformance.findings import NotApplicable

from ._build import error_body, judged, messages, request_json, run

REQUEST_ID = ("request-id", "req_011CSHoEeqs5C35K2UUqR7Fy")


# ------------------------------------------------------------------ headers.json_content_type


@pytest.mark.parametrize("value", ["application/json", "application/json; charset=utf-8", "Application/JSON"])
def test_json_content_type_accepts_json_with_or_without_parameters(build, value):
    assert run("headers.json_content_type", build.plain(headers=[("content-type", value), REQUEST_ID])) == []


def test_json_content_type_judges_errors_too(build):
    assert run("headers.json_content_type", build.error(status=401)) == []


def test_json_content_type_accepts_a_json_error_to_a_stream_request(build):
    # INDEX.md observation 22: a streaming request that fails before the stream starts gets plain JSON.
    subject = build.subject(build.exchange(status=400, body=error_body(), request=request_json(stream=True)))
    assert run("headers.json_content_type", subject) == []


def test_json_content_type_flags_html(build):
    subject = build.plain(headers=[("content-type", "text/html; charset=utf-8"), REQUEST_ID])
    [violation] = run("headers.json_content_type", subject)
    assert violation.message == 'Received: Content-Type "text/html; charset=utf-8" (status 200)\nExpected: application/json'
    assert violation.at == "header content-type"


def test_json_content_type_flags_a_missing_header_on_an_error(build):
    subject = build.error(status=401, headers=[REQUEST_ID])
    assert messages("headers.json_content_type", subject) == ["Received: Content-Type null (status 401)\nExpected: application/json"]


@pytest.mark.parametrize(("status", "kind"), [(500, "api_error"), (529, "overloaded_error"), (401, "authentication_error")])
def test_json_content_type_flags_an_error_to_a_stream_request_sent_as_event_stream(build, status, kind):
    # The JSON body is kept, but an SDK that trusts the label reads it as an event stream and finds no event.
    exchange = build.exchange(status=status, body=error_body(kind, "boom"), request=request_json(stream=True), content_type="text/event-stream; charset=utf-8")
    [violation] = run("headers.json_content_type", build.subject(exchange))
    assert violation.message == f'Received: Content-Type "text/event-stream; charset=utf-8" (status {status}, to a stream request)\nExpected: application/json'
    assert violation.at == "header content-type"


@pytest.mark.parametrize("flag", ["warm", 1, "true"])
def test_json_content_type_leaves_an_answer_to_a_malformed_stream_flag_to_its_parameter_rule(build, flag):
    # params.wrong_type_rejected:stream.wrong_type sends stream "warm": a 2xx event stream is that rule's failure, not this one's.
    subject = build.subject(build.exchange(status=200, body="event: ping\ndata: {}\n\n", request=request_json(stream=flag), content_type="text/event-stream"))
    with pytest.raises(NotApplicable, match="not a boolean"):
        run("headers.json_content_type", subject)
    refused = build.subject(build.exchange(status=400, body=error_body(), request=request_json(stream=flag)))
    assert run("headers.json_content_type", refused) == []


def test_json_content_type_leaves_successful_streams_to_the_stream_check(build):
    with pytest.raises(NotApplicable, match=r"headers\.stream_content_type"):
        run("headers.json_content_type", build.stream())


def test_json_content_type_needs_an_answer(build):
    subject = build.subject(build.exchange(status=None, error="connection failed"))
    with pytest.raises(NotApplicable, match="no answer"):
        run("headers.json_content_type", subject)


# ---------------------------------------------------------------- headers.stream_content_type


@pytest.mark.parametrize("value", ["text/event-stream", "text/event-stream; charset=utf-8", "Text/Event-Stream"])
def test_stream_content_type_accepts_event_stream(build, value):
    assert run("headers.stream_content_type", build.stream(headers=[("content-type", value), REQUEST_ID])) == []


def test_stream_content_type_flags_json(build):
    [violation] = run("headers.stream_content_type", build.stream(content_type="application/json"))
    assert violation.message == 'Received: Content-Type "application/json"\nExpected: text/event-stream'
    assert violation.at == "header content-type"


def test_stream_content_type_flags_a_missing_header(build):
    assert messages("headers.stream_content_type", build.stream(headers=[REQUEST_ID])) == [
        "Received: Content-Type null\nExpected: text/event-stream"
    ]


# ------------------------------------------------------------------ headers.request_id_present


def test_request_id_present_passes_with_the_header(build):
    assert run("headers.request_id_present", build.plain()) == []
    assert run("headers.request_id_present", build.error(status=401)) == []


@pytest.mark.parametrize("headers", [[("content-type", "application/json")], [("content-type", "application/json"), ("request-id", "  ")]])
def test_request_id_present_flags_a_missing_or_blank_header(build, headers):
    [violation] = run("headers.request_id_present", build.error(status=401, headers=headers))
    assert violation.message == "Received: no request-id header (status 401)\nExpected: a request-id header, e.g. req_018EeWyXxfu5pfWkrYcMdjWG"
    assert violation.at == "header request-id"


def test_request_id_present_needs_an_answer(build):
    with pytest.raises(NotApplicable, match="no answer"):
        run("headers.request_id_present", build.subject(build.exchange(status=None)))


# ------------------------------------------------------------------- headers.request_id_unique


def test_request_id_unique_passes_when_every_answer_has_its_own(build):
    plain = build.exchange(headers=[("content-type", "application/json"), ("request-id", "req_011CVa2kcigwBtMFroktdQ2q")])
    refused = build.exchange(status=401, body=error_body("authentication_error", "invalid x-api-key"), scenario="auth.missing")
    assert run("headers.request_id_unique", build.subject(plain, peers=[refused])) == []
    assert run("headers.request_id_unique", build.subject(refused, peers=[plain])) == []


def test_request_id_unique_flags_an_id_other_answers_share(build):
    def answer(scenario: str, value: str = "req_011CSHoEeqs5C35K2UUqR7Fy"):
        return build.exchange(headers=[("content-type", "application/json"), ("request-id", value)], scenario=scenario)

    same = [answer(f"scenario.{i}") for i in range(7)]
    [violation] = run("headers.request_id_unique", build.subject(answer("plain", " req_011CSHoEeqs5C35K2UUqR7Fy "), peers=same))
    assert violation.message == (
        'Received: request-id "req_011CSHoEeqs5C35K2UUqR7Fy", also on the answer to scenario.0, scenario.1, scenario.2, scenario.3, scenario.4 and 2 more\n'
        "Expected: a request-id no other answer of the run carries"
    )
    assert violation.at == "header request-id"
    assert messages("headers.request_id_unique", build.subject(answer("plain"), peers=[same[0], answer("other", "req_other")])) == [
        'Received: request-id "req_011CSHoEeqs5C35K2UUqR7Fy", also on the answer to scenario.0\nExpected: a request-id no other answer of the run carries'
    ]


def test_request_id_unique_needs_an_id_and_an_answer(build):
    with pytest.raises(NotApplicable, match=r"judged by headers\.request_id_present"):
        run("headers.request_id_unique", build.error(status=401, headers=[("content-type", "application/json")]))
    with pytest.raises(NotApplicable, match="no answer"):
        run("headers.request_id_unique", build.subject(build.exchange(status=None)))
    with pytest.raises(NotApplicable, match=r"^no other answer in the run to compare the request-id with$"):
        run("headers.request_id_unique", build.plain())


def test_what_the_header_checks_judged(build):
    plain = build.exchange(headers=[("content-type", "application/json"), ("request-id", "req_011CVa2kcigwBtMFroktdQ2q")])
    refused = build.exchange(status=401, body=error_body("authentication_error", "invalid x-api-key"), scenario="auth.missing")
    assert judged("headers.request_id_unique", build.subject(plain, peers=[refused])) == ('request-id "req_011CVa2kcigwBtMFroktdQ2q" against 1 other answer of the run',)
    assert judged("headers.request_id_present", build.subject(refused)) == ("the request-id header of a status 401 answer",)
    assert judged("headers.json_content_type", build.subject(refused)) == ('Content-Type "application/json" of a status 401 answer',)
    assert judged("headers.stream_content_type", build.stream()) == ('Content-Type "text/event-stream; charset=utf-8" of a stream',)

