"""conformance/cassette.py: exchanges ↔ JSON Lines, byte-exact, and unreadable cassettes are CassetteError."""

from __future__ import annotations

import dataclasses
import json

import pytest

from conformance import cassette
from conformance.errors import CassetteError
from conformance.exchange import Attempt, Chunk, ErrorKind, Exchange, RecordedRequest

REQUEST = RecordedRequest(
    method="POST",
    url="http://127.0.0.1:8080/v1/messages",
    headers=(("content-type", "application/json"), ("x-api-key", "[REDACTED]"), ("anthropic-version", "2023-06-01")),
    body='{"model": "claude-haiku-4-5", "max_tokens": 32, "messages": [{"role": "user", "content": "Grüße"}]}'.encode(),
)
TEXT = Exchange(
    id="plain",
    request=REQUEST,
    status=200,
    headers=(("content-type", "application/json"), ("request-id", "req_01"), ("set-cookie", "a=1"), ("set-cookie", "b=2")),
    body='{"type": "message", "content": [{"type": "text", "text": "Grüße ok"}]}'.encode(),
    chunks=(Chunk(0, 10, 0.0123), Chunk(10, 50, 0.5)),
    elapsed=0.51,
    started_at="2026-11-22T10:00:00.000+00:00",
    attempts=2,
    notes=("attempt 1: 429, retried after 0.0 s",),
)
STREAM = Exchange(
    id="plain.stream",
    request=RecordedRequest("POST", "http://127.0.0.1:8080/v1/messages", (), b'{"stream": true}'),
    status=200,
    headers=(("content-type", "text/event-stream"),),
    body=b'event: ping\ndata: {"type": "ping"}\n\nevent: content_block_delta\ndata: {"text": "\xc3',  # cut inside a character
    chunks=(Chunk(0, 37, 0.1), Chunk(37, 51, 0.2)),
    truncated=True,
    error="read timeout: nothing received for 60 s",
    error_kind=ErrorKind.TIMEOUT,
)
LOST = Exchange(
    id="auth.missing",
    request=RecordedRequest("POST", "http://127.0.0.1:1/v1/messages", (), b"\xff\xfe not utf-8"),
    status=None,
    error="connection failed: [Errno 111] Connection refused",
    error_kind=ErrorKind.UNREACHABLE,
)
SEPARATORS = Exchange(
    id="roles.system",
    request=REQUEST,
    status=200,
    body='{"text": "line\u2028separator\u2029paragraph\u0085next\r\nend"}'.encode(),
)


def test_round_trip_keeps_every_field_byte_exact(tmp_path):
    path = tmp_path / "run" / "cassette.jsonl"
    cassette.write(path, [TEXT, STREAM, LOST, SEPARATORS])
    assert list(cassette.read(path)) == [TEXT, STREAM, LOST, SEPARATORS]


def test_one_line_per_exchange_and_readable_text(tmp_path):
    path = tmp_path / "c.jsonl"
    cassette.write(path, [TEXT, STREAM, LOST, SEPARATORS])
    lines = path.read_text(encoding="utf-8").split("\n")
    assert len(lines) == 5
    assert lines[-1] == ""
    assert "Grüße ok" in lines[0]  # UTF-8 text, not escapes
    records = [json.loads(line) for line in lines[:-1]]
    assert records[0]["format"] == cassette.FORMAT
    assert records[0]["response"]["body"] == {"text": TEXT.body.decode()}
    assert set(records[1]["response"]["body"]) == {"base64"}
    assert records[2]["response"] is None
    assert records[2]["error"] == {"kind": "unreachable", "message": "connection failed: [Errno 111] Connection refused"}
    assert set(records[2]["request"]["body"]) == {"base64"}


def test_a_line_separator_inside_a_body_survives(tmp_path):
    path = tmp_path / "c.jsonl"
    cassette.write(path, [SEPARATORS])
    assert "\u2028" in path.read_text(encoding="utf-8")  # written raw, so a splitlines() reader would break it
    [back] = cassette.read(path)
    assert back.body == SEPARATORS.body
    assert back.body.decode().split("\u2028") == ['{"text": "line', 'separator\u2029paragraph\u0085next\r\nend"}']


def test_blank_lines_are_ignored(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text("\n" + json.dumps(cassette.to_record(TEXT)) + "\n\n   \n", encoding="utf-8")
    assert list(cassette.read(path)) == [TEXT]


def test_a_line_that_is_not_json(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(cassette.to_record(TEXT)) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(CassetteError, match=rf"^{path}:2: not JSON \(Expecting property name enclosed in double quotes"):
        list(cassette.read(path))


def test_a_line_that_is_not_a_record(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text("[1, 2]\n", encoding="utf-8")
    with pytest.raises(CassetteError, match=rf"^{path}:1: not a record$"):
        list(cassette.read(path))


@pytest.mark.parametrize(
    ("damage", "detail"),
    [
        (lambda r: r.pop("request"), "'request'"),
        (lambda r: r["request"].pop("url"), "'url'"),
        (lambda r: r["response"].update(chunks=[[0, 1]]), "not enough values to unpack"),
        (lambda r: r["response"].update(body={"base64": "@@@"}), "Only base64 data is allowed|Non-base64 digit found"),
        (lambda r: r["response"].update(body="Grüße"), "has no attribute 'get'"),
        (lambda r: r.update(response=[200]), "has no attribute 'get'"),
        (lambda r: r.update(attempts="many"), "invalid literal for int"),
        (lambda r: r["request"].update(headers=5), "not iterable"),
    ],
)
def test_a_malformed_record(tmp_path, damage, detail):
    record = cassette.to_record(TEXT)
    damage(record)
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    with pytest.raises(CassetteError, match=rf"^malformed cassette record 'plain': .*({detail})"):
        list(cassette.read(path))


def test_a_missing_file(tmp_path):
    with pytest.raises(CassetteError, match="cannot read"):
        list(cassette.read(tmp_path / "nope.jsonl"))


def test_a_behaviour_retry_keeps_what_it_repeats_and_an_older_cassette_says_it_in_the_id(tmp_path):
    retry = dataclasses.replace(TEXT, id="plain#attempt2", attempt=Attempt(of="plain", number=2))
    path = tmp_path / "cassette.jsonl"
    cassette.write(path, [TEXT, retry])
    assert list(cassette.read(path)) == [TEXT, retry]
    older = {k: v for k, v in cassette.to_record(retry).items() if k != "attempt"}  # written before the field existed
    assert cassette.from_record(older).attempt == Attempt(of="plain", number=2)
    assert cassette.from_record(cassette.to_record(TEXT)).attempt is None
