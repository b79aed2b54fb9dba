"""conformance/report/allure.py: a case's Allure view (title, labels, source link, evidence); Allure 3's analytics tag removed."""

from __future__ import annotations

from conformance.report.allure import allure_case, external_references, strip_analytics

PAGE = (
    '<html><head><script async src="https://www.googletagmanager.com/gtag/js?id=G-LNDJ3J7WT0"></script>\n'
    "<script>window.dataLayer = window.dataLayer || [];function gtag(){dataLayer.push(arguments);}"
    "gtag('js', new Date());gtag('config', 'G-LNDJ3J7WT0');</script>"
    '<script>var app = 1;</script></head><body><a href="#x">x</a></body></html>'
)


def test_the_gtag_and_its_config_are_removed() -> None:
    assert external_references(PAGE) == 1
    cleaned, removed = strip_analytics(PAGE)
    assert removed == 1
    assert "googletagmanager" not in cleaned
    assert "gtag(" not in cleaned
    assert "<script>var app = 1;</script>" in cleaned
    assert external_references(cleaned) == 0


def test_a_page_without_analytics_is_unchanged() -> None:
    page = "<html><script>var x = '</scr' + 'ipt>';</script></html>"
    assert strip_analytics(page) == (page, 0)


def test_a_case_has_its_id_as_title_labels_source_link_and_evidence(build) -> None:
    exchanges = {"plain": build.exchange("plain", status=400)}
    record = build.failed(
        "errors.envelope_shape:plain@2026-10-21", "plain", "Received: x\nExpected: y", at="/error", api_version="2026-10-21", level_reason="Client: the SDK reads error.type"
    )
    run = build.document([record])["run"] | {"name": "https://user:hunter22@gw.example/anthropic"}
    case = allure_case(record, run, exchanges)
    assert case.title == "errors.envelope_shape:plain@2026-10-21"
    labels = dict(case.labels)
    assert labels | {"tier": "core"} == {
        "feature": "errors", "story": "errors.envelope_shape", "area": "errors", "check": "errors.envelope_shape", "level": "MUST",
        "severity": "critical", "case": "plain@2026-10-21", "tier": "core", "outcome": "fail", "api_version": "2026-10-21",
        "target": "https://[REDACTED]@gw.example/anthropic", "profile": "anthropic", "model": "claude-haiku-4-5",
    }
    assert case.links == ((build.SOURCE, "source"),)
    assert case.description.startswith("The rule of errors.envelope_shape.\n\nWhy MUST: Client: the SDK reads error.type\n\nFAIL:\n\n    Received: x")
    assert [a.name for a in case.attachments] == ["violations", "plain · request", "plain · response", "plain · curl"]


def test_a_warning_is_tagged_a_pass_lists_what_it_judged_a_script_source_is_no_link(build) -> None:
    run = build.document([])["run"]
    warn = allure_case(build.record("stop_reason.known_value", "warn", level="SHOULD", message="m", source="javascript:alert(1)"), run, {})
    assert ("tag", "warned") in warn.labels
    assert ("severity", "normal") in warn.labels
    assert warn.links == ()
    passed = allure_case(build.record("auth.x_api_key_accepted", judged=["plain: status 200", "plain: usage"]), run, {})
    assert passed.description.endswith("Judged:\n- plain: status 200\n- plain: usage")
    assert passed.attachments == ()
    assert ("api_version", "2023-06-01") in passed.labels, "the run's version when the case has none of its own"
