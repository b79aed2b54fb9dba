"""conformance/report/html.py: one self-contained, escaped page with every result, evidence once per exchange."""

from __future__ import annotations

import base64
import hashlib
import html
import re

from markupsafe import escape
from report_pages import parse, timed

from conformance.contract.model import Tier
from conformance.engine import RunSettings, run
from conformance.exchange import ErrorKind
from conformance.redact import MASK
from conformance.reference import ReferenceServer
from conformance.reference.router import fault_base_path
from conformance.report import html as report_html
from conformance.report import results as results_doc


def failing_document(build):
    """Two failures and a warning citing a shared JSON exchange and a stream, a skip and a pass."""
    xss = build.SCRIPT_PAYLOAD + " " + build.IMG_PAYLOAD
    exchanges = {
        "plain": build.exchange("plain", status=400, response=f'{{"error": "{xss}"}}'.encode()),
        "plain.stream": build.stream_exchange(),
    }
    results = [
        build.record("auth.x_api_key_accepted", exchanges=("plain",)),
        build.failed("errors.envelope_shape", "plain", f"Received: {xss}\nExpected: an envelope", at="/error"),
        build.record(
            "stream.event_order",
            "fail",
            message="[plain.stream] Received: ping in state IN_BLOCK",
            exchanges=("plain.stream",),
            violations=[build.violation("Received: ping in state IN_BLOCK\nExpected: a delta", "plain.stream", at="event #2 (ping)", event_index=2)],
        ),
        build.record(
            "stop_reason.known_value",
            "warn",
            level="SHOULD",
            message='[plain] Received: stop_reason "stop"',
            exchanges=("plain", "plain.stream"),
            violations=[build.violation('Received: stop_reason "stop"', "plain")],
            profile_override="profiles/gateway.yaml: level SHOULD (gateways rename stop reasons)",
            level_reason="Room: DOC-VER: Anthropic may 'add new variants to enum-like output values'",
        ),
        build.record("tools.tool_use_shape", "skip", message="the target has no tools", source="javascript:alert(1)"),
    ]
    return build.document(results), exchanges


def test_every_result_has_its_anchor_and_a_link_to_it(build) -> None:
    document, exchanges = failing_document(build)
    page = report_html.render(document, exchanges)
    tags = parse(page)
    ids = [a["id"] for _, a in tags.tags if "id" in a]
    hrefs = {a["href"] for t, a in tags.tags if t == "a" and a.get("href")}
    for r in document["results"]:
        assert ids.count(r["id"]) == 1, r["id"]
        assert f"#{r['id']}" in hrefs
    assert len(ids) == len(set(ids)), "ids are unique"


def test_target_text_is_escaped_everywhere(build) -> None:
    document, exchanges = failing_document(build)
    page = report_html.render(document, exchanges)
    assert build.SCRIPT_PAYLOAD not in page
    assert build.IMG_PAYLOAD not in page
    assert "<img" not in page
    assert str(escape(build.SCRIPT_PAYLOAD)) in page, "the payload is shown, as text"
    assert str(escape(build.IMG_PAYLOAD)) in page
    tags = parse(page)
    assert [t for t, _ in tags.tags if t == "script"] == ["script"], "exactly one script: ours"
    assert "data-pwned" not in tags.scripts[0]


def test_no_external_reference_but_rule_sources(build) -> None:
    document, exchanges = failing_document(build)
    page = report_html.render(document, exchanges)
    tags = parse(page)
    sources = {r["source"] for r in document["results"]}
    for tag, attrs in tags.tags:
        assert "src" not in attrs, (tag, attrs)
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        href = attrs.get("href")
        if href is not None and not href.startswith("#"):
            assert tag == "a"
            assert attrs.get("class") == "src"
            assert href in sources
            assert href.startswith("https://")
            assert attrs.get("target") == "_blank"
            assert "noopener" in (attrs.get("rel") or "")
    for url in re.findall(r"https?://[^\s\"'<>)]+", page):
        assert url in sources or url.startswith(document["run"]["target"]), url
    assert "url(" not in page
    assert "@import" not in page
    assert 'href="javascript:' not in page, "a source that is not a web link stays text"


def test_csp_pins_our_script_and_style(build) -> None:
    document, exchanges = failing_document(build)
    page = report_html.render(document, exchanges)
    tags = parse(page)
    csp = next(a["content"] for t, a in tags.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert csp is not None
    assert "default-src 'none'" in csp
    digest = base64.b64encode(hashlib.sha256(tags.scripts[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp
    assert "unsafe-inline" not in csp


def test_failure_evidence_is_complete(build) -> None:
    document, exchanges = failing_document(build)
    page = report_html.render(document, exchanges)
    section = page.split('id="errors.envelope_shape"', 1)[1].split("</section>", 1)[0]
    assert "<details class=\"ev\" open>" in section, "the first failures start open"
    assert '<span class="l-received">Received:' in section
    assert '<span class="l-at">At: /error</span>' in section
    assert '<div class="slot" data-ex="plain">' in section
    appendix = page.split('id="ex-plain"', 1)[1].split("</details>", 1)[0]
    assert f"POST {build.URL}" in appendix
    assert "x-api-key: $API_KEY" in html.unescape(appendix)
    assert "HTTP 400" in appendix
    assert MASK in appendix, "the recorded headers show the mask, never a key"


def test_stream_failure_shows_the_event_window(build) -> None:
    document, exchanges = failing_document(build)
    page = report_html.render(document, exchanges)
    section = page.split('id="stream.event_order"', 1)[1].split("</section>", 1)[0]
    assert '<table class="events">' in section
    assert re.search(r'<tr class="hit"><td>2 ◀ offending</td><td>ping</td>', section)
    assert section.count('class="hit"') == 1
    appendix = page.split('id="ex-plain.stream"', 1)[1].split('<details class="x"', 1)[0]
    assert "raw stream (" in appendix
    assert "--no-buffer" in appendix


def test_each_exchange_is_rendered_once(build) -> None:
    document, exchanges = failing_document(build)
    page = report_html.render(document, exchanges)
    assert page.count('id="ex-plain"') == 1
    assert page.count('id="ex-plain.stream"') == 1
    assert page.count("--data-binary") == 2, "one curl per exchange, not per citing result"
    assert page.count('data-ex="plain"') == 2, "the failure and the warning both point at it"


def test_profile_override_skip_reason_and_summary(build) -> None:
    document, exchanges = failing_document(build)
    page = report_html.render(document, exchanges)
    assert "Profile override: profiles/gateway.yaml: level SHOULD" in page
    assert "Why SHOULD: Room: DOC-VER: Anthropic may &#39;add new variants to enum-like output values&#39;" in page  # beside the rule
    assert page.count("Why MUST:") == 0  # records without a reason (older results.json) show none
    assert "the target has no tools" in page
    assert "FAILED: 2 MUST failures" in page
    for text in ("claude-haiku-4-5", "anthropic", "2023-06-01", "20261122-100000-abcd", "12.5 s", "50 (1 retried after 429/529)", "1,234 in / 567 out"):
        assert f"<dd>{text}</dd>" in page, text
    assert 'data-count="fail"' in page
    assert '<option value="stream">stream</option>' in page


def test_pass_and_skip_rows_carry_no_evidence(build) -> None:
    document, exchanges = failing_document(build)
    page = report_html.render(document, exchanges)
    passing = page.split('id="auth.x_api_key_accepted"', 1)[1].split("</section>", 1)[0]
    assert "<details" not in passing


def test_a_lost_exchange_shows_the_error(build) -> None:
    lost = build.exchange("auth.lost", status=None, error="read timeout: <nothing> for 60 s", error_kind=ErrorKind.TIMEOUT)
    document = build.document([build.record("auth.lost_check", "error", message="boom", exchanges=("auth.lost",))])
    page = report_html.render(document, {"auth.lost": lost})
    assert "No answer: timeout: read timeout: &lt;nothing&gt; for 60 s" in page


def test_write_report(tmp_path, build) -> None:
    document, exchanges = failing_document(build)
    path = report_html.write_report(tmp_path / "run", document, exchanges)
    assert path == tmp_path / "run" / "report.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_1500_results_render_fast_and_small(build, record_property) -> None:
    document, exchanges = build.synthetic(1500)
    page, seconds, size = timed(lambda: report_html.render(document, exchanges))
    record_property("report_bytes", size)
    record_property("render_seconds", round(seconds, 3))
    print(f"\n1,500 results, {len(exchanges)} exchanges: {size / 1e6:.2f} MB rendered in {seconds:.2f} s")
    assert page.count('<section class="r ') == 1500
    assert seconds < 3.0
    assert size < 8_000_000
    cited = {x for r in document["results"] if r["outcome"] in ("fail", "warn", "error") for x in r["exchanges"]}
    assert page.count('<details class="x"') == len(cited)


def test_a_real_faulty_run_renders_without_the_key(tmp_path, reference: ReferenceServer, reference_key: str) -> None:
    base = reference.base_url + fault_base_path("drop-message-stop+text-keepalive+malformed-json-500")
    result = run(RunSettings(base_url=base, api_key=reference_key, concurrency=8))
    document = results_doc.build(result, run_id="test-run", embedded=False)
    page = report_html.write_report(tmp_path, document, result.exchanges).read_text(encoding="utf-8")
    assert reference_key not in page
    assert "LEAKCANARY" not in page
    assert 'id="stream.ends_with_message_stop"' in page
    assert 'id="stream.data_is_json"' in page
    assert '<tr class="hit">' in page
    assert 'id="ex-body.malformed"' in page
    assert "--data-raw" in page


def test_lone_surrogates_and_unknown_exchanges_do_not_break_the_page(tmp_path, build) -> None:
    document = build.document(
        [build.record("errors.envelope_shape", "fail", message="Received: \ud800", exchanges=("gone",), violations=[build.violation("Received: \ud800", "gone")])]
    )
    page = report_html.write_report(tmp_path, document, {}).read_text(encoding="utf-8")
    assert "Received: \\ud800" in page
    assert "on exchange gone (not in the cassette)" in page
    assert 'href="#ex-gone"' not in page


def test_a_pass_shows_what_it_was_judged_on(build) -> None:
    items = ["plain.stream: 7 events after message_start in the documented order", f"plain: {build.SCRIPT_PAYLOAD}", "b: 1", "c: 2", "d: 3"]
    document = build.document([build.record("stream.event_order", judged=items), build.record("shape.id_prefix", "skip", message="not applicable", judged=["x"])])
    page = report_html.render(document, {})
    passing = page.split('id="stream.event_order"', 1)[1].split("</section>", 1)[0]
    assert '<p class="judged">Judged: plain.stream: 7 events after message_start in the documented order · plain: ' in passing
    assert "· … and 2 more</p>" in passing
    assert build.SCRIPT_PAYLOAD not in page  # target text in a judged item is escaped like any other
    skipped = page.split('id="shape.id_prefix"', 1)[1].split("</section>", 1)[0]
    assert "Judged:" not in skipped


def test_identical_evidence_is_one_block_listing_the_exchanges_that_share_it(build) -> None:
    exchanges = {f"ex{i}": build.exchange(f"ex{i}") for i in range(40)}
    same = 'Received: Content-Type "text/plain" (status 200)\nExpected: application/json'
    old_style = [build.violation(same, f"ex{i}", at="header content-type") for i in range(20)]  # results.json before grouping
    document = build.document(
        [
            build.record("headers.json_content_type", "fail", message=f"[ex0] {same}", exchanges=tuple(exchanges),
                         violations=[build.violation(same, "ex0", at="header content-type") | {"also": [f"ex{i}" for i in range(1, 40)]},
                                     build.violation("Received: no request-id", "ex7")]),
            build.record("headers.request_id_present", "warn", level="SHOULD", message=f"[ex0] {same}", exchanges=tuple(exchanges)[:20], violations=old_style),
        ]
    )
    page = report_html.render(document, exchanges)
    section = page.split('id="headers.json_content_type"', 1)[1].split("</section>", 1)[0]
    assert section.count('<div class="v">') == 2, "one block per distinct violation"
    assert section.count("Expected: application/json") == 1
    assert "the same on 40 exchanges: " in section
    assert all(f'<a href="#ex-ex{i}">ex{i}</a>' in section for i in range(40)), "every exchange that shares it is listed"
    assert "on exchange <a" in section
    assert re.findall(r'<div class="slot" data-ex="([^"]+)">', section) == ["ex0", "ex7"], "full evidence for the representatives only"
    warned = page.split('id="headers.request_id_present"', 1)[1].split("</section>", 1)[0]
    assert warned.count('<div class="v">') == 1
    assert "the same on 20 exchanges" in warned
    for i in range(40):
        assert page.count(f'id="ex-ex{i}"') == 1, "every listed exchange has its evidence once, below"


def test_a_check_with_more_distinct_violations_than_kept_says_so(build) -> None:
    exchanges = {"plain": build.exchange()}
    violations = [build.violation(f"Received: {i}", "plain") for i in range(20)]
    message = "[plain] Received: 0\n[plain] Received: 1\n[plain] Received: 2\n… and 27 more violation(s)"
    page = report_html.render(build.document([build.record("shape.message_schema", "fail", message=message, violations=violations)]), exchanges)
    assert "More distinct violations than the first 20 shown here (results.json keeps 20)." in page
    few = report_html.render(build.document([build.record("shape.message_schema", "fail", message=message, violations=violations[:3])]), exchanges)
    assert "More distinct violations" not in few


def test_credentials_in_the_base_url_reach_no_document(reference: ReferenceServer, reference_key: str) -> None:
    host = reference.base_url.split("://", 1)[1]
    result = run(RunSettings(base_url=f"http://alice:hunter2-secret@{host}", api_key=reference_key, concurrency=8, tier=Tier.SMOKE))
    document = results_doc.build(result, run_id="test-run", embedded=False)
    assert document["run"]["target"] == f"http://{MASK}@{host}"
    assert document["run"]["name"] == document["run"]["target"]
    assert "hunter2-secret" not in report_html.render(document, result.exchanges)
