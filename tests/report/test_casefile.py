"""conformance/report/casefile.py: report.html's evidence as text, for Allure attachments and JUnit failures."""

from __future__ import annotations

import json

from conformance.exchange import ErrorKind
from conformance.redact import MASK
from conformance.report import casefile


def grouped(build, n: int = 40):
    """One check failing identically on ``n`` exchanges, plus one distinct violation on a stream."""
    exchanges = {f"ex{i}": build.exchange(f"ex{i}", response_headers=(("content-type", "text/plain"), ("request-id", f"req_{i}"))) for i in range(n)}
    exchanges["plain.stream"] = build.stream_exchange()
    same = "Received: Content-Type \"text/plain\" (status 200)\nExpected: application/json"
    violations = [build.violation(same, "ex0", at="header content-type") | {"also": [f"ex{i}" for i in range(1, n)]}]
    violations.append(build.violation("Received: ping in state IN_BLOCK\nExpected: a delta", "plain.stream", at="event #2 (ping)", event_index=2))
    message = "\n".join([f"[ex{i}] {same}\nAt: header content-type" for i in range(3)] + [f"… and {n - 2} more violation(s)"])
    record = build.record("headers.json_content_type", "fail", message=message, exchanges=(*exchanges,), violations=violations)
    return record, exchanges


def test_message_text_reads_like_the_wire(build) -> None:
    exchange = build.exchange()
    request = casefile.message_text(casefile.evidence.request_view(exchange))
    lines = request.split("\n")
    assert lines[0] == f"POST {build.URL}"
    assert f"x-api-key: {MASK}" in lines
    assert lines[lines.index("") + 1 :] == json.dumps(build.BODY, indent=2).split("\n"), "the body as sent, laid out"
    empty = casefile.message_text(casefile.evidence.MessageView("HTTP 204", (), casefile.evidence.body_view(b"")))
    assert empty == "HTTP 204\n\n(empty body)"


def test_events_text_is_an_aligned_table_with_the_offending_event_marked(build) -> None:
    window = casefile.evidence.event_window(build.stream_exchange(), 2)
    table = casefile.events_text(window).split("\n")
    assert table[0].split() == ["#", "event", "data.type", "byte", "data"]
    hit = next(line for line in table if "◀" in line)
    assert hit.split()[:4] == ["2", "◀", "ping", "ping"]
    column = table[0].index("event")
    names = [name for name, _ in build.STREAM_EVENTS[:7]]
    assert [line[column:].split()[0] for line in table[1:]] == names, "columns line up"


def test_identical_violations_are_said_once_with_their_exchanges(build) -> None:
    record, _ = grouped(build)
    text = casefile.groups_text(casefile.record_groups(record), listed=5)
    assert text.count("Expected: application/json") == 1
    assert "  the same on 40 exchanges: ex0, ex1, ex2, ex3, ex4, … and 35 more" in text
    assert "At: event #2 (ping)\n  on exchange plain.stream" in text
    assert "ex39" in casefile.groups_text(casefile.record_groups(record))


def test_failure_text_has_the_rule_once_each_violation_once_and_one_line_per_exchange(build) -> None:
    record, exchanges = grouped(build)
    text = casefile.failure_text(record, exchanges, report="reports/r/report.html#headers.json_content_type")
    lines = text.split("\n")
    assert lines[0] == "headers.json_content_type [MUST] The rule of headers.json_content_type."
    assert lines[1] == f"Source: {build.SOURCE}"
    assert text.count("Expected: application/json") == 1
    assert text.count("Received:") == 2
    evidence = lines[lines.index("Evidence:") + 1 :]
    assert evidence[0] == f"  ex0: POST {build.URL} → HTTP 200, content-type text/plain, request-id req_0, 64 bytes"
    assert evidence[1].startswith(f"  plain.stream: POST {build.URL} → HTTP 200, content-type text/event-stream,")
    assert evidence[2] == "Request, response and curl: reports/r/report.html#headers.json_content_type"
    assert len(evidence) == 3, "only the representatives, not 40 lines"
    assert casefile.headline(record) == 'headers.json_content_type [MUST] Received: Content-Type "text/plain" (status 200) (on 40 exchanges); 1 other distinct violation(s)'


def test_attachments_carry_what_report_html_shows(build) -> None:
    record, exchanges = grouped(build)
    attached = {a.name: a.text for a in casefile.attachments(record, exchanges)}
    assert list(attached) == [
        "violations",
        "ex0 · request", "ex0 · response", "ex0 · curl",
        "plain.stream · request", "plain.stream · response", "plain.stream · events", "plain.stream · curl",
        "other exchanges",
    ]
    assert attached["violations"].count("Expected: application/json") == 1
    assert "ex39" in attached["violations"], "the attachment lists every exchange"
    assert f"x-api-key: {MASK}" in attached["ex0 · request"]
    assert attached["ex0 · response"].startswith("HTTP 200\ncontent-type: text/plain\nrequest-id: req_0\n\n")
    assert '"text": "ok"' in attached["ex0 · response"]
    assert "x-api-key: $API_KEY" in attached["ex0 · curl"]
    assert "2 ◀" in attached["plain.stream · events"]
    assert attached["other exchanges"].count("\n") == 39
    assert casefile.attachments(build.record("auth.x_api_key_accepted", exchanges=("ex0",)), exchanges) == [], "a pass carries no evidence"


def test_an_exchange_without_an_answer_says_why(build) -> None:
    exchange = build.exchange("lost", status=None, error="timed out after 60 s", error_kind=ErrorKind.TIMEOUT)
    attached = {a.name: a.text for a in casefile.exchange_attachments(exchange)}
    assert attached["lost · response"] == "No answer: timeout: timed out after 60 s"
    assert casefile.exchange_line(exchange) == f"lost: POST {build.URL} → no answer: timeout: timed out after 60 s"


def test_an_error_shows_its_message_and_the_exchanges_it_cites(build) -> None:
    exchanges = {"plain": build.exchange()}
    record = build.record("usage.stream_cumulative", "error", message="no complete answer: plain: cut short", exchanges=("plain",))
    attached = casefile.attachments(record, exchanges)
    assert attached[0].name == "message"
    assert attached[0].text == "no complete answer: plain: cut short"
    assert [a.name for a in attached[1:]] == ["plain · request", "plain · response", "plain · curl"]


def test_run_evidence_reads_a_run_folder(tmp_path, build) -> None:
    from conformance import cassette

    record, exchanges = grouped(build, 3)
    (tmp_path / "results.json").write_text(json.dumps(build.document([record])), encoding="utf-8")
    cassette.write(tmp_path / "cassette.jsonl", exchanges.values())
    run = casefile.RunEvidence(tmp_path)
    found, recorded = run.evidence_of("headers.json_content_type")
    assert found == record
    assert set(recorded) == set(exchanges)
    assert run.evidence_of("no.such") == (None, {})
    stream = recorded["plain.stream"]
    assert run.reading(stream) is run.reading(stream), "a stream is read once per process"
    with_reader = casefile.attachments(record, recorded, reader=run.reading)
    assert with_reader == casefile.attachments(record, recorded)
    empty = casefile.RunEvidence(tmp_path / "missing")
    assert empty.record("headers.json_content_type") is None
    assert empty.exchanges == {}


def test_a_flood_is_tabled_from_its_head_without_reading_it_whole(build) -> None:
    ping = ("ping", {"type": "ping", "pad": "x" * 500})
    flood = build.stream_exchange("flood.stream", events=[*build.STREAM_EVENTS[:2], *[ping] * 4_000])
    assert len(flood.body) > casefile.STREAM_HEAD

    def whole(exchange):
        raise AssertionError("the whole stream was read")

    tail = {a.name: a.text for a in casefile.exchange_attachments(flood, reader=whole)}["flood.stream · events"]
    assert tail.startswith(f"(events of the first {casefile.STREAM_HEAD:,} bytes of a {len(flood.body):,}-byte stream; report.html tables the window at its end)\n#")
    at = {a.name: a.text for a in casefile.exchange_attachments(flood, event_index=1, reader=whole)}["flood.stream · events"]
    assert at.startswith("#"), "an offending event in the head: its exact window"
    assert "1 ◀" in at
    read = []
    far = {a.name: a.text for a in casefile.exchange_attachments(flood, event_index=3_000, reader=lambda e: read.append(e) or casefile.read_stream(e.body))}
    assert read == [flood], "an event past the head is worth reading it whole, once"
    assert "3000 ◀" in far["flood.stream · events"]
