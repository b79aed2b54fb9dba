"""report.html in a real browser: opened from file://, the page works, and a target's script never runs."""

from __future__ import annotations

import re

from markupsafe import escape
from report_pages import driven, dump_dom, needs_chromium

from conformance.report import html as report_html

pytestmark = needs_chromium


def test_report_in_chromium_shows_evidence_and_runs_no_target_script(tmp_path, build) -> None:
    payload = build.SCRIPT_PAYLOAD + " " + build.IMG_PAYLOAD
    exchanges = {"plain": build.exchange("plain", status=400, response=payload.encode(), response_headers=(("content-type", "text/html"),))}
    document = build.document(
        [
            build.record("auth.x_api_key_accepted", exchanges=("plain",)),
            build.failed("errors.envelope_shape", "plain", f"Received: {payload}\nExpected: an error envelope", at="/"),
        ]
    )
    page = report_html.write_report(tmp_path / "run", document, exchanges)
    dom = dump_dom(page, tmp_path / "chromium-profile")

    assert "Messages API conformance" in dom
    assert "<dd>claude-haiku-4-5</dd>" in dom
    assert 'id="errors.envelope_shape"' in dom
    assert 'id="auth.x_api_key_accepted"' in dom
    assert str(escape("Received: ")) in dom
    escaped = str(escape(build.SCRIPT_PAYLOAD)).replace("&#39;", "'")  # Chromium serialises quotes in text unescaped
    assert escaped in dom, "the payload is there, as text"
    assert re.search(r"<body[^>]*data-pwned", dom) is None, "the target's script did not run"
    assert "<img" not in dom, "the target's markup did not become elements"

    failure = dom.split('id="errors.envelope_shape"', 1)[1].split("</section>", 1)[0]
    assert '<div class="xb">' in failure, "our script copied the exchange's evidence into the open failure"
    assert "x-api-key: $API_KEY" in failure
    assert "HTTP 400" in failure
    assert "<form id=\"filters\">" in dom, "our script ran: the filters are shown"
    assert re.search(r'data-count="fail">1<', dom), "and counted"
    assert re.search(r'id="f-shown">2 of 2<', dom)


def test_filters_hide_rows_and_update_counts(tmp_path, build) -> None:
    """Drive the filters with a test-only script (the CSP that would block it is removed for this test)."""
    document, exchanges = build.synthetic(105)
    dom = driven(report_html.render(document, exchanges), """document.querySelector('#filters input[value="pass"]').click();""", tmp_path)
    assert 'data-driven="1"' in dom
    rows = re.findall(r'<section class="r (\w+)" id="([^"]+)" data-o="\w+" data-a="(\w+)"[^>]*?( hidden(?:="")?)?>', dom)
    assert len(rows) == 105
    shown = [(outcome, area) for outcome, _, area, hidden in rows if not hidden]
    stream = [(outcome, area) for outcome, _, area, _ in rows if area == "stream"]
    assert shown == [(o, a) for o, a in stream if o != "pass"]
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', dom))
    assert counts == {o: str(sum(1 for x, _ in stream if x == o)) for o in ("fail", "error", "warn", "skip", "pass")}
    assert f'id="f-shown">{len(shown)} of 105<' in dom


def test_grouped_evidence_opens_with_the_representatives_exchange(tmp_path, build) -> None:
    """One check failing identically on 40 exchanges: one block lists them all, the opened failure shows the first one's evidence."""
    exchanges = {f"ex{i}": build.exchange(f"ex{i}", response_headers=(("content-type", "text/plain"),)) for i in range(40)}
    same = 'Received: Content-Type "text/plain" (status 200)\nExpected: application/json'
    document = build.document(
        [
            build.record(
                "headers.json_content_type", "fail", message=f"[ex0] {same}", exchanges=tuple(exchanges),
                violations=[build.violation(same, "ex0", at="header content-type") | {"also": [f"ex{i}" for i in range(1, 40)]}],
            )
        ]
    )
    dom = dump_dom(report_html.write_report(tmp_path / "run", document, exchanges), tmp_path / "chromium-profile")
    failure = dom.split('id="headers.json_content_type"', 1)[1].split("</section>", 1)[0]
    assert failure.count('<div class="v">') == 1
    assert "the same on 40 exchanges:" in failure
    assert failure.count('<div class="xb">') == 1, "the representative's evidence, copied in once"
    assert "x-api-key: $API_KEY" in failure
    assert re.search(r'id="f-shown">1 of 1<', dom), "our script ran"
