"""conformance/jsontext.py: answers are read as strictly as Node, Go and browsers read them."""

from __future__ import annotations

import pytest

from conformance import jsontext


def test_plain_json_is_read():
    assert jsontext.loads(b'{"text": "Gr\xc3\xbc\xc3\x9fe", "n": 1.5}') == {"text": "Grüße", "n": 1.5}
    assert jsontext.loads('{"a": [1, 2]}') == {"a": [1, 2]}
    assert jsontext.problem(b"{}") is None


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b'\xef\xbb\xbf{"a": 1}', "starts with a byte order mark (RFC 8259 §8.1: JSON text must not)"),
        ('{"a": 1}'.encode("utf-16-le"), "holds NUL bytes: UTF-16 or UTF-32, not UTF-8 (RFC 8259 §8.1)"),
        ('{"a": "ü"}'.encode("utf-16-be"), "holds NUL bytes: UTF-16 or UTF-32, not UTF-8 (RFC 8259 §8.1)"),
        (b'{"a": "\xff"}', "not UTF-8 (byte 7: invalid start byte)"),
        (b'{"a": NaN}', "NaN is not JSON (RFC 8259 has no NaN or Infinity)"),
        (b'{"a": -Infinity}', "-Infinity is not JSON (RFC 8259 has no NaN or Infinity)"),
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper than a parser's stack"),
    ],
    ids=["bom", "utf-16-le", "utf-16-be", "latin-1", "nan", "infinity", "deep"],
)
def test_what_lenient_parsers_accept_is_refused_with_the_reason(data, why):
    with pytest.raises(ValueError, match=r"\S"):
        jsontext.loads(data)
    assert jsontext.problem(data) == why


def test_a_plain_syntax_error_needs_no_reason():
    with pytest.raises(ValueError, match="Expecting"):
        jsontext.loads(b"<html>")
    assert jsontext.problem(b"<html>") is None


def test_lone_surrogate_escapes_become_replacement_characters():
    # An emoji cut between its UTF-16 halves cannot be written as UTF-8: a client sees U+FFFD, and so does the suite.
    assert jsontext.loads(b'{"t": "a\\ud83d", "\\ude00k": ["\\ude00"]}') == {"t": "a\ufffd", "\ufffdk": ["\ufffd"]}
    assert jsontext.loads(b'{"t": "\\ud83d\\ude00"}') == {"t": "\U0001f600"}  # a whole pair is one character


def test_a_deep_body_with_a_lone_surrogate_is_read_or_refused_never_a_crash():
    deep = b"[" * 900 + b'"\\ud83d"' + b"]" * 900  # parseable, but deeper than a walk over it may go
    assert jsontext.problem(deep) in (None, "nested deeper than a parser's stack")
