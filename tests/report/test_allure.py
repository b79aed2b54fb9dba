"""Allure 3's analytics tag is removed and nothing external remains."""

from __future__ import annotations

from conformance.report.allure import external_references, strip_analytics

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
