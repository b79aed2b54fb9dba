"""conformance/report/matrix.py: the side-by-side page and Markdown, escaped, linked to each target's report, usable at scale."""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import re
from typing import Any

from markupsafe import escape
from report_pages import driven, dump_dom, needs_chromium, parse, timed

from conformance import compare
from conformance.report import matrix

SCRIPT = "<script>document.body.setAttribute('data-pwned','1')</script>"
IMG = "</script><img src=x onerror=alert(1)>"
SOURCE = "https://platform.claude.com/docs/en/api/messages"
DEAD = "unusable: connection refused by http://127.0.0.1:9 (<b>down</b>)"

# (case id, level, {target: (outcome, message)}); "dead" never has cells.
CHECKS: list[tuple[str, str, dict[str, tuple[str, str]]]] = [
    ("auth.x_api_key_accepted", "MUST", {"clean": ("pass", ""), "broken": ("pass", "")}),
    ("errors.envelope_shape", "MUST", {"clean": ("pass", ""), "broken": ("fail", "Received: {\"detail\": \"nope\"}")}),
    ("headers.request_id", "SHOULD", {"clean": ("pass", "")}),
    ("stop_reason.known_value", "SHOULD", {"clean": ("warn", 'Received: "stop"'), "broken": ("warn", 'Received: "stop"')}),
    ("stream.data_is_json", "MUST", {"clean": ("pass", ""), "broken": ("error", "check crashed: KeyError 'x'")}),
    ("stream.message_stop_is_last:basic", "MUST", {"clean": ("pass", ""), "broken": ("fail", f"Received: {SCRIPT} {IMG}\nExpected: message_stop")}),
    ("tools.tool_use_shape", "MUST", {"clean": ("skip", "the target has no tools"), "broken": ("pass", "")}),
]


def target(name: str, *, base_url: str, declared: dict[str, Any], observed: dict[str, str], failures: int) -> dict[str, Any]:
    """A usable target's column, counts derived from CHECKS."""
    counts = dict.fromkeys(("pass", "fail", "warn", "skip", "error"), 0)
    scores: dict[str, dict[str, int]] = {}
    for case_id, _, cells in CHECKS:
        if name in cells:
            outcome = cells[name][0]
            counts[outcome] += 1
            if outcome not in ("skip", "error"):
                area = scores.setdefault(case_id.split(".", 1)[0], {"pass": 0, "judged": 0})
                area["judged"] += 1
                area["pass"] += outcome in ("pass", "warn")
    return {
        "name": name, "status": "ok", "error": None, "report": f"{name}/report.html",
        "base_url": base_url, "profile": "anthropic" if name == "clean" else "gateway", "model": "claude-haiku-4-5", "api_version": "2023-06-01",
        "counts": counts, "must_failures": failures, "gate_failed": failures > 0,
        "spend": {"requests": 40, "retries": 2, "input_tokens": 1234, "output_tokens": 567, "cost_usd": 0.0123 if name == "clean" else None},
        "declared": declared, "observed": observed, "scores": scores,
    }


def comparison(against: bool = False) -> dict[str, Any]:
    """Three targets: one clean, one with failures, one unusable."""
    targets = [
        target("clean", base_url="https://api.clean.example", failures=0,
               declared={"streaming": True, "tools": False, "vision": None},
               observed={"streaming": "works", "tools": "not judged", "vision": "not judged"}),
        target("broken", base_url="https://gateway.example/v1", failures=2,
               declared={"streaming": True, "tools": False, "vision": True},
               observed={"streaming": "fails 2 of 3", "tools": "works", "vision": "errors"}),
        {"name": "dead", "status": "unusable", "error": DEAD, "report": None},
    ]
    checks = []
    for case_id, level, cells in CHECKS:
        check_id = case_id.split(":", 1)[0]
        checks.append({
            "id": case_id, "check": check_id, "case": case_id.partition(":")[2], "area": check_id.split(".", 1)[0], "level": level,
            "rule": f"The rule of {check_id}.", "source": SOURCE,
            "cells": {name: {"outcome": o, "message": m.split("\n", 1)[0], "link": f"{name}/report.html#{case_id}"} for name, (o, m) in cells.items()},
        })
    checks[1]["cells"]["broken"]["baselined"] = "known gateway bug, fix due 2027-01"
    document = {"format": compare.FORMAT, "suite_version": "0.1.0", "created_at": "2026-11-22T10:00:00+00:00", "targets": targets, "checks": checks}
    if against:
        document["against"] = {"file": "reports/old/comparison.json", "targets": {
            "clean": {"better": [{"id": "tools.tool_use_shape", "before": "fail", "now": "skip"}], "worse": [], "new": ["headers.request_id"], "gone": []},
            "broken": {"better": [], "worse": [{"id": "stream.data_is_json", "before": "pass", "now": "error"}], "new": [], "gone": ["auth.gone_check"]},
        }}
    return document


def matrix_row(page: str, case_id: str) -> str:
    """The markup of one matrix row."""
    return page.split(f'id="{escape(case_id)}"', 1)[1].split("</tr>", 1)[0]


def cells_of(row: str) -> list[str]:
    return re.findall(r'<td class="c [^"]+"[^>]*>.*?</td>', row)


def test_every_case_is_a_row_with_a_cell_per_target() -> None:
    document = comparison()
    page = matrix.render(document)
    tags = parse(page)
    rows = [a for t, a in tags.tags if t == "tr" and (a.get("class") or "").startswith("row")]
    assert [r["id"] for r in rows] == [c["id"] for c in document["checks"]]
    for check in document["checks"]:
        assert len(cells_of(matrix_row(page, check["id"]))) == 3, check["id"]
    groups = [a["data-a"] for t, a in tags.tags if t == "tbody" and a.get("class") == "g"]
    assert groups == ["auth", "errors", "headers", "stop_reason", "stream", "tools"], "grouped by area, in order"
    assert page.count('<tr class="ah">') == 6
    stream = page.split('<tbody class="g" data-a="stream">', 1)[1].split("</tbody>", 1)[0]
    assert "stream <span class=\"dim\">(2)</span>" in stream


def test_cells_link_to_the_evidence_in_each_targets_report() -> None:
    page = matrix.render(comparison())
    row = matrix_row(page, "stream.message_stop_is_last:basic")
    clean, broken, dead = cells_of(row)
    assert clean == '<td class="c pass"><a href="clean/report.html#stream.message_stop_is_last:basic">PASS</a></td>'
    assert '<a href="broken/report.html#stream.message_stop_is_last:basic">FAIL</a>' in broken
    assert broken.startswith('<td class="c fail" title="Received: &lt;script&gt;'), "the first message line is the tooltip"
    assert "Expected: message_stop" not in broken, "only the first line"
    assert "href" not in dead
    assert re.search(r'<td class="c skip" title="the target has no tools"><a href="clean/report.html#tools.tool_use_shape">SKIP</a>', page)
    baselined = cells_of(matrix_row(page, "errors.envelope_shape"))[1]
    assert 'title="Received: {&#34;detail&#34;: &#34;nope&#34;}\nbaselined: known gateway bug, fix due 2027-01"' in baselined
    assert '<span class="bl">baselined</span>' in baselined
    for outcome in ("PASS", "FAIL", "WARN", "SKIP", "ERROR"):
        assert f">{outcome}</a>" in page, "every outcome is a word as well as a colour"


def test_a_target_that_did_not_run_a_case_shows_a_dash() -> None:
    page = matrix.render(comparison())
    clean, broken, _ = cells_of(matrix_row(page, "headers.request_id"))
    assert ">PASS</a>" in clean
    assert broken == '<td class="c none" title="not run on this target">—</td>'


def test_the_unusable_column_says_why_in_its_header_and_every_cell() -> None:
    document = comparison()
    page = matrix.render(document)
    why = str(escape(DEAD))
    header = page.split('<th scope="col" class="t unusable">', 1)[1].split("</th>", 1)[0]
    assert '<a href="#t-3">dead</a>' in header
    assert '<span class="badge fail">UNUSABLE</span>' in header
    assert f'<span class="why">{why}</span>' in header
    card = page.split('id="t-3"', 1)[1].split("</article>", 1)[0]
    assert f'<p class="why">{why}</p>' in card
    for check in document["checks"]:
        assert cells_of(matrix_row(page, check["id"]))[2] == f'<td class="c none" title="{why}">—</td>'
    assert "<b>down</b>" not in page


def test_target_headers_show_who_and_how_it_went() -> None:
    page = matrix.render(comparison())
    clean = page.split('id="t-1"', 1)[1].split("</article>", 1)[0]
    for text in ("https://api.clean.example", "anthropic", "claude-haiku-4-5", "2023-06-01", "passed", "40 (2 retried after 429/529)", "1,234 in / 567 out", "$0.0123"):
        assert f"<dd>{text}</dd>" in clean, text
    assert "PASSED: no MUST failures" in clean
    assert '<span class="badge must">MUST failures</span> 0' in clean
    assert "Score 6/6 (100%)" in clean, "warn counts as passed, skip is not judged"
    assert '<a href="clean/report.html">its report</a>' in clean
    broken = page.split('id="t-2"', 1)[1].split("</article>", 1)[0]
    assert 'class="card failed"' in page
    assert "FAILED: 2 MUST failures" in broken
    assert "<dd>failed</dd>" in broken
    assert "<dd>not priced</dd>" in broken
    assert '<li><span class="badge fail">FAIL</span> 2</li>' in broken
    assert "<a href=\"https://gateway.example" not in page, "a base URL is text, never a link"


def test_declared_vs_observed_highlights_mismatches() -> None:
    page = matrix.render(comparison())
    section = page.split('id="features"', 1)[1].split("</section>", 1)[0]
    rows = dict(re.findall(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', section))
    assert set(rows) == {"streaming", "tools", "vision"}
    assert cells_of_plain(rows["streaming"]) == [
        ("", "declared yes · observed works"),
        ("mismatch", "<strong>⚠ mismatch</strong> declared yes · observed fails 2 of 3"),
        ("", "—"),
    ]
    assert cells_of_plain(rows["tools"])[0] == ("", "declared no · observed not judged")
    assert cells_of_plain(rows["tools"])[1] == ("mismatch", "<strong>⚠ mismatch</strong> declared no · observed works")
    assert cells_of_plain(rows["vision"]) == [("", "declared — · observed not judged"), ("", "declared yes · observed errors"), ("", "—")]
    assert section.count('class="mismatch"') == 2


def cells_of_plain(row: str) -> list[tuple[str, str]]:
    return [(cls or "", text) for cls, text in re.findall(r'<td(?: class="(\w+)")?>(.*?)</td>', row)]


def test_scores_by_area_and_total() -> None:
    page = matrix.render(comparison())
    section = page.split('id="scores"', 1)[1].split("</section>", 1)[0]
    rows = dict(re.findall(r'<th scope="row">([^<]+)</th>(.*?)</tr>', section))
    assert list(rows) == ["auth", "errors", "headers", "stop_reason", "stream", "tools", "all areas"]
    assert re.findall(r"<td>(.*?)</td>", rows["stream"]) == ["2/2 (100%)", "0/1 (0%)", "—"]
    assert re.findall(r"<td>(.*?)</td>", rows["headers"]) == ["1/1 (100%)", "—", "—"]
    assert re.findall(r"<td>(.*?)</td>", rows["all areas"]) == ["6/6 (100%)", "3/5 (60%)", "—"]
    assert '<tr class="total">' in section


def test_filter_data_marks_rows_that_differ_and_fail() -> None:
    page = matrix.render(comparison())
    tags = parse(page)
    rows = {a["id"]: ("data-d" in a, "data-f" in a, a["data-a"]) for t, a in tags.tags if t == "tr" and a.get("id")}
    assert rows == {
        "auth.x_api_key_accepted": (False, False, "auth"),
        "errors.envelope_shape": (True, True, "errors"),
        "headers.request_id": (True, False, "headers"),
        "stop_reason.known_value": (False, False, "stop_reason"),
        "stream.data_is_json": (True, True, "stream"),
        "stream.message_stop_is_last:basic": (True, True, "stream"),
        "tools.tool_use_shape": (True, False, "tools"),
    }, "the unusable target never makes a row differ"
    assert "only rows where targets differ (5)" in page
    assert "only failures (3)" in page
    assert '<option value="stop_reason">stop_reason</option>' in page
    assert '<input id="f-q" type="search"' in page
    assert '<span id="f-shown">7 of 7</span>' in page
    summary = page.split('id="stop_reason.known_value"', 1)[1].split("</summary>", 1)[0]
    assert 'title="The rule of stop_reason.known_value."' in summary, "the rule on hover"
    assert '<span class="tag">SHOULD</span>' in summary
    assert f'<a class="src" href="{SOURCE}" target="_blank" rel="noopener noreferrer">source</a>' in page


def test_target_text_is_escaped_everywhere() -> None:
    document = comparison()
    evil = f"evil{SCRIPT}|x"
    broken = document["targets"][1]
    broken.update(name=evil, base_url=f"https://gw.example/{IMG}", model=SCRIPT, report=f"{evil}/report.html")
    for check in document["checks"]:
        if "broken" in check["cells"]:
            check["cells"][evil] = check["cells"].pop("broken")
    document["checks"][0]["rule"] = IMG
    document["targets"][2]["error"] = SCRIPT
    page = matrix.render(document)
    assert SCRIPT not in page
    assert IMG not in page
    assert "<img" not in page
    assert str(escape(SCRIPT)) in page, "shown, as text"
    assert f"<dd>https://gw.example/{escape(IMG)}</dd>" in page
    assert f'<a href="#t-2">{escape(evil)}</a>' in page
    tags = parse(page)
    assert [t for t, _ in tags.tags if t == "script"] == ["script"], "exactly one script: ours"
    assert "data-pwned" not in tags.scripts[0]
    assert [t for t, _ in tags.tags if t == "img"] == []
    for _, attrs in tags.tags:
        assert not any(name.startswith("on") for name in attrs), attrs


def test_only_relative_report_links_become_links() -> None:
    document = comparison()
    cells = document["checks"][0]["cells"]
    hostile = ["javascript:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)", "//evil.example/x", "\\\\evil.example\\x",
               "/etc/passwd", "https://evil.example/", "data:text/html,hi"]
    links: dict[str, str] = {}
    for link in hostile:
        cells["clean"]["link"] = link
        links[link] = cells_of(matrix_row(matrix.render(document), "auth.x_api_key_accepted"))[0]
    assert all("href" not in cell for cell in links.values()), links
    cells["clean"]["link"] = "..\\runs\\clean\\report.html#auth.x_api_key_accepted"
    cell = cells_of(matrix_row(matrix.render(document), "auth.x_api_key_accepted"))[0]
    assert 'href="../runs/clean/report.html#auth.x_api_key_accepted"' in cell, "a Windows relpath from merge still links"
    document["targets"][0]["report"] = "javascript:alert(1)"
    assert "its report" not in matrix.render(document).split('id="t-2"', 1)[0]


def test_no_external_reference_and_csp_pins_our_assets() -> None:
    page = matrix.render(comparison(against=True))
    tags = parse(page)
    for tag, attrs in tags.tags:
        assert "src" not in attrs, (tag, attrs)
        href = attrs.get("href")
        if href is not None:
            assert href.startswith("#") or re.match(r"^(clean|broken)/report\.html(#|$)", href) or href == SOURCE, href
    assert "url(" not in page
    assert "@import" not in page
    csp = next(a["content"] for t, a in tags.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert csp is not None
    assert "default-src 'none'" in csp
    assert "unsafe-inline" not in csp

    def pin(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"

    assert len(tags.styles) == 2, "the single-run report's stylesheet, then ours"
    assert f"style-src {pin(tags.styles[0])} {pin(tags.styles[1])};" in csp
    assert f"script-src {pin(tags.scripts[0])};" in csp


def test_changes_since_an_earlier_comparison() -> None:
    page = matrix.render(comparison(against=True))
    section = page.split('id="changes"', 1)[1].split("</section>", 1)[0]
    assert "<h2>Since reports/old/comparison.json</h2>" in section
    assert '1 better · 0 worse · 1 new · 0 gone' in section
    assert ('<li><code>stream.data_is_json</code> <span class="badge pass">PASS</span> → '
            '<span class="badge error">ERROR</span></li>') in section
    assert "<strong>Gone:</strong> <code>auth.gone_check</code>" in section
    assert "<strong>New:</strong> <code>headers.request_id</code>" in section
    assert 'id="changes"' not in matrix.render(comparison())


def test_write(tmp_path) -> None:
    path = matrix.write(tmp_path / "cmp", comparison())
    assert path == tmp_path / "cmp" / "compare.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_renders_what_compare_builds(build) -> None:
    """The document compare.comparison() makes from real results documents renders, links and all."""
    good = build.document([build.record("auth.x_api_key_accepted"), build.record("stream.data_is_json:basic", "fail", message="Received: x\nExpected: y")])
    bad = build.document([build.record("auth.x_api_key_accepted", "fail", message="Received: 401")], target="https://gw.example")
    document = compare.comparison([("a", good, None, "a/report.html"), ("b", bad, None, "b/report.html"), ("c", None, "unusable: timed out", None)])
    page = matrix.render(document)
    assert 'href="a/report.html#stream.data_is_json:basic"' in page
    assert 'href="b/report.html#auth.x_api_key_accepted"' in page
    assert '<td class="c none" title="not run on this target">—</td>' in page
    assert '<span class="why">unusable: timed out</span>' in page
    md = matrix.markdown(document)
    assert "- **c** ⛔ unusable: unusable: timed out" in md


# ------------------------------------------------------------------------------ markdown


def md_rows(text: str) -> list[list[str]]:
    """Every GFM table row's cells, split on pipes that are not backslash-escaped."""
    return [[c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]] for line in text.split("\n") if line.startswith("| ")]


def test_markdown_structure() -> None:
    md = matrix.markdown(comparison(against=True))
    lines = md.split("\n")
    assert lines[0] == "## Messages API conformance: 3 targets compared"
    assert ("- **clean** ✅ no MUST failures · profile **anthropic** · model **claude-haiku-4-5**"
            " · 0 fail · 0 error · 1 warn · 1 skip · 5 pass · score 6/6 (100%)") in lines
    assert ("- **broken** ❌ 2 MUST failures · gate failed · profile **gateway** · model **claude-haiku-4-5**"
            " · 2 fail · 1 error · 1 warn · 0 skip · 2 pass · score 3/5 (60%)") in lines
    assert f"- **dead** ⛔ unusable: {DEAD.replace('<', '&lt;').replace('>', '&gt;')}" in lines
    assert "### Checks where targets differ or fail (5 of 7)" in md
    assert md.index("#### errors (1)") < md.index("#### headers (1)") < md.index("#### stream (2)") < md.index("#### tools (1)")
    assert "#### auth" not in md, "rows that agree with no failure are counted, not listed"
    assert "#### stop_reason" not in md
    rows = md_rows(md)
    assert all(len(r) == 4 for r in rows), rows
    assert ["Case", "clean", "broken", "dead"] in rows
    assert ["`stream.message_stop_is_last:basic`", "✅ pass", "❌ fail", "—"] in rows
    assert ["`stream.data_is_json`", "✅ pass", "💥 error", "—"] in rows
    assert ["`headers.request_id`", "✅ pass", "—", "—"] in rows
    assert ["`tools.tool_use_shape`", "⏭️ skip", "✅ pass", "—"] in rows
    assert "1 checks pass on every usable target; 1 more agree everywhere (skip or warn)." in md
    assert "### Since reports/old/comparison.json" in md
    assert "- **broken**: 0 better · 1 worse · 0 new · 1 gone (worse: `stream.data_is_json`)" in md
    assert SCRIPT not in md, "messages stay in the page; the summary holds outcomes only"


def test_markdown_escapes_target_text() -> None:
    document = comparison()
    evil = f"ev|il*{SCRIPT}"
    document["targets"][1].update(name=evil, model=f"m|{IMG}", profile="[x](javascript:alert(1))")
    for check in document["checks"]:
        if "broken" in check["cells"]:
            check["cells"][evil] = check["cells"].pop("broken")
    document["targets"][2]["error"] = f"refused | {SCRIPT}\nsecond line"
    md = matrix.markdown(document)
    assert "<script" not in md
    assert "<img" not in md
    assert re.search(r"(?<!\\)\]\(javascript:", md) is None, "no live link"
    assert "\\[x\\]" in md
    assert "second line" in md, "flattened to one line"
    assert "refused \\| &lt;script&gt;" in md, "pipe and markup escaped"
    rows = md_rows(md)
    assert all(len(r) == 4 for r in rows), "an escaped pipe does not add a column"
    assert rows[0][2] == summary_escape(evil, 60)


def summary_escape(value: str, limit: int) -> str:
    from conformance.report import summary

    return summary.escape(value, limit=limit)


def test_markdown_when_everything_agrees() -> None:
    document = comparison()
    document["checks"] = [c for c in document["checks"] if c["id"] in ("auth.x_api_key_accepted", "stop_reason.known_value")]
    md = matrix.markdown(document)
    assert "|" not in md
    assert md.rstrip().endswith("1 checks pass on every usable target; 1 more agree everywhere (skip or warn).")


# ------------------------------------------------------------------------------ scale


def large(targets: int, cases: int) -> dict[str, Any]:
    """``targets`` usable targets by ``cases`` rows, outcomes varying so that about a third of rows differ."""
    cycle = ["pass"] * 12 + ["fail", "warn", "skip", "error"]
    areas = ("auth", "headers", "params", "stream", "usage", "errors", "tools", "content")
    base = comparison()
    column = base["targets"][1]
    document = {**base, "targets": [], "checks": []}
    for t in range(targets):
        document["targets"].append({**copy.deepcopy(column), "name": f"provider-{t}", "report": f"provider-{t}/report.html"})
    for i in range(cases):
        area = areas[i % len(areas)]
        case_id = f"{area}.property_number_{i}_holds:variant_{i % 7}"
        cells = {}
        for t in range(targets):
            outcome = cycle[(i * (t + 1)) % len(cycle)] if i % 3 == 0 else cycle[i % len(cycle)]
            cells[f"provider-{t}"] = {"outcome": outcome, "message": f"Received: status {400 + i % 30} from provider {t}" if outcome != "pass" else "",
                                      "link": f"provider-{t}/report.html#{case_id}"}
        document["checks"].append({"id": case_id, "check": case_id.split(":")[0], "case": f"variant_{i % 7}", "area": area, "level": "MUST",
                                   "rule": f"Rule {i}: a sentence of ordinary length that says what must hold for clients to work.",
                                   "source": SOURCE, "cells": cells})
    document["checks"].sort(key=lambda c: (c["area"], c["id"]))
    return document


def test_5_targets_by_400_cases_render_fast_and_small(record_property) -> None:
    document = large(5, 400)
    page, seconds, size = timed(lambda: matrix.render(document))
    _, md_seconds, md_size = timed(lambda: matrix.markdown(document))
    record_property("compare_bytes", size)
    record_property("compare_render_seconds", round(seconds, 3))
    print(f"\n5 targets by 400 cases: {size / 1e6:.2f} MB rendered in {seconds:.2f} s; Markdown {md_size / 1e3:.0f} kB in {md_seconds:.3f} s")
    assert page.count('<tr class="row') == 400
    assert page.count('<td class="c ') == 2000
    assert seconds < 2.0
    assert size < 2_000_000
    assert md_size < 200_000, "well inside GitHub's 1 MiB step-summary limit"


# ------------------------------------------------------------------------------ chromium

@needs_chromium
def test_matrix_in_chromium_renders_and_runs_no_target_script(tmp_path) -> None:
    document = comparison(against=True)
    evil = f"evil{SCRIPT}"
    document["targets"][1].update(name=evil, base_url=f"https://gw.example/{IMG}")
    for check in document["checks"]:
        if "broken" in check["cells"]:
            check["cells"][evil] = check["cells"].pop("broken")
    page = matrix.write(tmp_path / "cmp", document)
    dom = dump_dom(page, tmp_path / "chromium-profile")

    assert "side by side" in dom
    assert len(re.findall(r'<tr class="row[ d]*" id="', dom)) == len(document["checks"])
    assert 'href="clean/report.html#stream.message_stop_is_last:basic">PASS</a>' in dom
    assert re.search(r"<body[^>]*data-pwned", dom) is None, "the target's script did not run"
    assert "<img" not in dom, "the target's markup did not become elements"
    assert html.escape(SCRIPT, quote=False) in dom, "the payload is there, as text"
    assert '<form id="filters">' in dom, "our script ran: the filters are shown"
    assert 'id="f-shown">7 of 7<' in dom


@needs_chromium
def test_filters_hide_rows_and_empty_areas(tmp_path) -> None:
    """Drive the filters with a test-only script (the CSP that would block it is removed for this test)."""
    document = large(5, 400)
    dom = driven(matrix.render(document), 'document.getElementById("f-differ").click();', tmp_path)
    assert 'data-driven="1"' in dom
    rows = re.findall(r'<tr class="row( d)?" id="([^"]+)" data-a="(\w+)"[^>]*?( hidden(?:="")?)?>', dom)
    assert len(rows) == 400
    shown = [case_id for _, case_id, _, hidden in rows if not hidden]
    expected = [case_id for differ, case_id, area, _ in rows if differ and area == "stream"]
    assert shown == expected
    assert expected
    assert f'id="f-shown">{len(expected)} of 400<' in dom
    groups = dict(re.findall(r'<tbody class="g" data-a="(\w+)"( hidden(?:="")?)?>', dom))
    assert groups.pop("stream") == ""
    assert all(groups.values()), "areas with no row left are hidden whole"


def test_a_feature_declared_but_refused_is_a_mismatch_and_the_source_is_shown() -> None:
    """Issue 13: declared offered, observed refused cleanly: the profile is wrong about the target; each declaration cites its source."""
    doc = comparison()
    doc["targets"][0]["declared"]["prompt_caching"] = True
    doc["targets"][0]["observed"]["prompt_caching"] = "refused"
    doc["targets"][0]["declared_sources"] = {"prompt_caching": "https://docs.example/caching " + "x" * 300}
    doc["targets"][1]["declared"]["prompt_caching"] = False
    doc["targets"][1]["observed"]["prompt_caching"] = "refused"
    page = matrix.render(doc)
    section = page.split('id="features"', 1)[1].split("</section>", 1)[0]
    rows = dict(re.findall(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', section))
    first, second, _ = cells_of_plain(rows["prompt_caching"])
    assert first[0] == "mismatch"
    assert first[1].startswith("<strong>⚠ mismatch</strong> declared yes (source: https://docs.example/caching xxx")
    assert first[1].endswith("…) · observed refused")
    assert second == ("", "declared no · observed refused")
