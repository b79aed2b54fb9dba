"""conformance/report/evidence.py: curl lines that reproduce the request without a key, readable bodies, event windows."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from conformance.exchange import ErrorKind
from conformance.redact import MASK
from conformance.report import evidence

# A stand-in curl that prints each argument on its own line and then what it read on stdin.
FAKE_CURL = 'curl() { for a in "$@"; do printf "<%s>\\n" "$a"; done; printf "STDIN<"; cat; printf ">"; }\nAPI_KEY=sk-test-123\n'


def shell(command: str) -> str:
    """What bash makes of a curl line: its arguments and its stdin, as the fake curl prints them."""
    bash = shutil.which("bash")
    assert bash is not None
    done = subprocess.run([bash, "-c", FAKE_CURL + command], capture_output=True, check=True, timeout=10)
    return done.stdout.decode()


def test_curl_x_api_key_request_reads_key_from_env(build) -> None:
    ex = build.exchange()
    line = evidence.curl(ex)
    assert '-H "x-api-key: $API_KEY"' in line
    assert MASK not in line
    assert "--data-binary @- <<'JSON'" in line
    assert "--no-buffer" not in line
    out = shell(line)
    assert "<x-api-key: sk-test-123>" in out
    assert f"<{build.URL}>" in out
    assert "<anthropic-version: 2023-06-01>" in out
    assert "<-X>" not in out, "POST with a body is curl's default"
    body = out.split("STDIN<", 1)[1].rsplit(">", 1)[0]
    assert json.loads(body) == build.BODY, "the heredoc delivers the body unchanged (quotes, $HOME, backticks)"


def test_curl_bearer_request_keeps_the_scheme(build) -> None:
    ex = build.exchange(headers=(*build.BASE_HEADERS, ("authorization", f"Bearer {MASK}")))
    line = evidence.curl(ex)
    assert '-H "Authorization: Bearer $API_KEY"' in line
    assert "x-api-key" not in line
    assert MASK not in line
    assert "<Authorization: Bearer sk-test-123>" in shell(line)


def test_curl_malformed_json_body_is_sent_byte_exact(build) -> None:
    raw = b'{"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "it\'s $HOME"'
    ex = build.exchange("body.malformed", body=raw)
    line = evidence.curl(ex)
    assert "--data-raw '" in line
    assert "<<" not in line
    out = shell(line)
    assert f"<{raw.decode()}>" in out, "single quotes, $ and the missing brace survive the shell"


def test_curl_binary_body_goes_through_base64(build) -> None:
    raw = b"\xff\xfe\x00 not utf-8 '\n"
    line = evidence.curl(build.exchange("body.binary", body=raw))
    assert "base64 -d" in line
    bash = shutil.which("bash")
    assert bash is not None
    done = subprocess.run([bash, "-c", FAKE_CURL + line], capture_output=True, check=True, timeout=10)
    assert done.stdout.split(b"STDIN<", 1)[1][:-1] == raw


def test_curl_stream_request_does_not_buffer(build) -> None:
    line = evidence.curl(build.stream_exchange())
    assert line.startswith("curl -sS -i --no-buffer ")


def test_curl_without_a_key_has_no_credential_and_skips_length(build) -> None:
    ex = build.exchange("auth.missing", headers=(*build.BASE_HEADERS, ("content-length", "99")))
    line = evidence.curl(ex)
    assert "API_KEY" not in line
    assert "content-length" not in line, "curl computes the length of what it sends"


def test_curl_never_contains_a_key_even_in_odd_headers(build) -> None:
    headers = (*build.BASE_HEADERS, ("x-api-key", MASK), ("authorization", MASK), ("cookie", MASK))
    line = evidence.curl(build.exchange(headers=headers))
    assert "sk-" not in line
    assert '"x-api-key: $API_KEY"' in line
    assert '"Authorization: Bearer $API_KEY"' in line


def test_get_request_has_no_data_and_no_method_flag(build) -> None:
    ex = build.exchange(body=b"")
    ex = type(ex)(id=ex.id, request=type(ex.request)("GET", build.URL + "?x='1'", ex.request.headers), status=200)
    line = evidence.curl(ex)
    assert "-X" not in line
    assert "--data" not in line
    assert f"<{build.URL}?x='1'>" in shell(line)


def test_body_view_pretty_prints_json() -> None:
    view = evidence.body_view(b'{"a":1,"b":[true]}')
    assert view.kind == "json"
    assert view.text == '{\n  "a": 1,\n  "b": [\n    true\n  ]\n}'
    assert view.note == ""


def test_body_view_keeps_every_json_token_verbatim() -> None:
    raw = b'{"n": 1.0, "e": 1E2, "big": 12345678901234567890.50, "s": "\\ud800 \\u00e9 \\/", "k": 1, "k": 2, "o": {}, "a": [ ]}'
    view = evidence.body_view(raw)
    assert view.kind == "json"
    assert view.text == (
        '{\n  "n": 1.0,\n  "e": 1E2,\n  "big": 12345678901234567890.50,\n  "s": "\\ud800 \\u00e9 \\/",'
        '\n  "k": 1,\n  "k": 2,\n  "o": {},\n  "a": []\n}'
    ), "pretty-printing changes whitespace only: numbers, escapes and duplicate keys are evidence"


def test_body_view_shows_deep_json_as_sent() -> None:
    raw = b"[" * 40 + b"]" * 40
    view = evidence.body_view(raw)
    assert (view.kind, view.text) == ("text", raw.decode())


def test_body_view_cuts_long_json_with_a_note() -> None:
    view = evidence.body_view(b'{"a": "' + b"x" * 100 + b'"}', limit=20)
    assert view.text == '{\n  "a": "xxxxxxxxxx'[:20]
    assert view.note == "cut at 20 characters of a 109-byte body"


def test_body_view_cuts_long_bodies_with_a_note() -> None:
    view = evidence.body_view(b"x" * 50, limit=10)
    assert view.text == "x" * 10
    assert view.note == "cut at 10 of 50 characters"


def test_body_view_shows_binary_as_base64() -> None:
    view = evidence.body_view(b"\x00\x01\xff\xfe" * 4)
    assert view.kind == "base64"
    assert view.note == "binary body (16 bytes) shown as base64"


def test_body_view_escapes_a_few_bad_bytes_and_control_characters() -> None:
    data = b"data: caf\xc3 ok" + b" pad" * 30 + b"\x1b[31m\r\n"
    view = evidence.body_view(data)
    assert view.kind == "text"
    assert "caf\\xc3 ok" in view.text
    assert "\\x1b[31m\r\n" in view.text
    assert view.note.startswith("not valid UTF-8: 1 byte(s)")


def test_request_and_response_views(build) -> None:
    ex = build.exchange(status=500, response=b"oops")
    request = evidence.request_view(ex)
    assert request.start_line == f"POST {build.URL}"
    assert ("x-api-key", MASK) in request.headers
    response = evidence.response_view(ex)
    assert response is not None
    assert response.start_line == "HTTP 500"
    assert response.body.text == "oops"


def test_no_answer_has_no_response_view_and_says_why(build) -> None:
    ex = build.exchange("auth.lost", status=None, error="connection failed: [Errno 111] Connection refused", error_kind=ErrorKind.UNREACHABLE)
    assert evidence.response_view(ex) is None
    assert evidence.failure_text(ex) == "unreachable: connection failed: [Errno 111] Connection refused"
    assert evidence.failure_text(build.exchange()) is None


@pytest.mark.parametrize(("index", "expected"), [(0, [0, 1, 2, 3, 4]), (3, [0, 1, 2, 3, 4, 5, 6, 7]), (7, [3, 4, 5, 6, 7])])
def test_event_window_marks_the_offending_event(build, index, expected) -> None:
    window = evidence.event_window(build.stream_exchange(), index)
    assert [e.index for e in window] == expected
    assert [e.index for e in window if e.offending] == [index]
    hit = next(e for e in window if e.offending)
    assert hit.name == hit.type == build.STREAM_EVENTS[index][0]


def test_event_window_names_and_types(build) -> None:
    window = evidence.event_window(build.stream_exchange(), 2, context=1)
    assert [(e.index, e.name, e.type, e.offending) for e in window] == [
        (1, "content_block_start", "content_block_start", False),
        (2, "ping", "ping", True),
        (3, "content_block_delta", "content_block_delta", False),
    ]
    assert window[1].data == '{"type": "ping"}'
    body = build.stream_exchange().body
    assert window[1].offset == body.index(b"event: ping")


def test_event_window_of_a_non_json_event(build) -> None:
    ex = build.stream_exchange(events=[("message_start", {"type": "message_start"}), ("ping", "keep-alive"), ("x", "y" * 500)])
    window = evidence.event_window(ex, 1)
    assert [(e.name, e.type, e.offending) for e in window] == [("message_start", "message_start", False), ("ping", None, True), ("x", None, False)]
    assert window[2].data == "y" * 200 + "… [300 more]"


def test_event_window_without_an_index_shows_the_tail_unmarked(build) -> None:
    window = evidence.event_window(build.stream_exchange(), None, context=2)
    assert [e.index for e in window] == [3, 4, 5, 6, 7], "2 * context + 1 events, ending with the last"
    assert not any(e.offending for e in window)
    assert evidence.event_window(build.stream_exchange(), 99, context=1)[-1].index == 7


def test_event_window_of_an_empty_body_is_empty(build) -> None:
    assert evidence.event_window(build.exchange(response=b""), 0) == ()
