"""conformance/exchange.py: header lookup, JSON decoding and evidence text of a recorded exchange."""

from __future__ import annotations

import pytest

from conformance.exchange import UNPARSED, Exchange, RecordedRequest


def exchange(body=b"", headers=(), status=200, request_body=b'{"model": "m", "stream": true}') -> Exchange:
    return Exchange(id="plain", request=RecordedRequest("POST", "http://h/v1/messages", (("x-api-key", "[REDACTED]"),), request_body), status=status, headers=headers, body=body)


def test_headers_are_found_by_lower_case_name_in_order():
    ex = exchange(headers=(("set-cookie", "a=1"), ("content-type", "Text/Event-Stream; charset=utf-8"), ("set-cookie", "b=2")))
    assert ex.header("Set-Cookie") == "a=1"
    assert ex.header_all("set-cookie") == ["a=1", "b=2"]
    assert ex.header("request-id") is None
    assert ex.media_type == "text/event-stream"
    assert exchange().media_type == ""
    assert ex.request.header("X-API-Key") == "[REDACTED]"


@pytest.mark.parametrize(("status", "ok"), [(200, True), (299, True), (301, False), (429, False), (None, False)])
def test_ok_means_a_2xx_answer(status, ok):
    assert exchange(status=status).ok is ok


@pytest.mark.parametrize(("body", "streamed"), [(b'{"stream": true}', True), (b'{"stream": "true"}', False), (b"{}", False), (b'{"stream": tr', False), (b"", False)])
def test_streamed_reads_the_request_body(body, streamed):
    assert exchange(request_body=body).streamed is streamed


@pytest.mark.parametrize("body", [b"", b"<html>", b"[" * 100_000 + b"]" * 100_000])
def test_json_is_unparsed_for_empty_broken_or_too_deep_bodies(body):
    assert exchange(body).json is UNPARSED
    assert exchange(request_body=body).request.json is UNPARSED


def test_json_null_is_not_unparsed():
    assert exchange(b"null").json is None
    assert exchange(b' {"a": [1]} ').json == {"a": [1]}


def test_text_replaces_bad_bytes_and_cuts_long_bodies():
    assert exchange(b"ok \xff").text() == "ok \ufffd"
    assert exchange(b"abcdef").text(4) == "abcd… [2 more characters]"
    assert exchange(b"abcd").text(4) == "abcd"
