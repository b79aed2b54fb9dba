"""conformance/report/summary.py: the CI job-page Markdown, escaped so a target cannot break or inject into it."""

from __future__ import annotations

import re

from conformance.report import summary


def sample(build):
    results = [
        build.record("auth.bearer_accepted", "fail", message="[auth.bearer] Received: status 401\nExpected: status 2xx",
                     violations=[build.violation("Received: status 401\nExpected: status 2xx", "auth.bearer")]),
        build.record("stream.data_is_json", "fail", message='[plain.stream] Received: data "keep-alive"\nExpected: one JSON object'),
        build.record("stream.ends_with_message_stop", "error", message="check crashed: KeyError 'x'"),
        build.record("stop_reason.known_value", "warn", level="SHOULD", message='[plain] Received: stop_reason "stop"'),
        build.record("auth.x_api_key_accepted"),
    ]
    return build.document(results)


def table_rows(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.startswith("| ") and not line.startswith("| Check")]


def cells(row: str) -> list[str]:
    """A GFM row's cells: split on pipes that are not backslash-escaped."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]


def test_structure(build) -> None:
    md = summary.markdown(sample(build))
    lines = md.split("\n")
    assert lines[0] == "## Messages API conformance: http://127.0.0.1:8080"
    assert "Profile **anthropic** · model **claude\\_haiku-4-5**" not in md
    assert "Profile **anthropic** · model **claude-haiku-4-5**" in md
    assert "**❌ 2 MUST failures** · 2 fail · 1 error · 1 warn · 0 skip · 1 pass" in md
    assert "50 requests (1 retried after 429/529) · 1,234 input + 567 output tokens · 12.5 s" in md
    assert "### Failures (3)" in md
    assert md.index("#### auth (1)") < md.index("#### stream (2)")
    auth = md.split("#### auth (1)", 1)[1].split("####", 1)[0]
    assert "| Check | Level | Rule | Received |" in auth
    assert "| `auth.bearer_accepted` | MUST | The rule of auth.bearer\\_accepted. | status 401 |" in auth
    stream = md.split("#### stream (2)", 1)[1].split("<details>", 1)[0]
    assert "| Check | Outcome | Level | Rule | Received |" in stream, "an area with a tool error names outcomes"
    assert "| `stream.ends_with_message_stop` | error | MUST |" in stream
    assert "check crashed: KeyError 'x'" in stream, "no Received line: the message's first line"
    warnings = md.split("<details><summary>Warnings (1)</summary>", 1)[1]
    assert warnings.rstrip().endswith("</details>")
    assert "| `stop_reason.known_value` | SHOULD |" in warnings
    assert "auth.x_api_key_accepted" not in md, "passes are counted, not listed"
    for row in table_rows(md):
        assert len(cells(row)) in (4, 5), row


def test_all_passing_run_has_no_tables(build) -> None:
    md = summary.markdown(build.document([build.record("auth.x_api_key_accepted")]))
    assert "**✅ no MUST failures**" in md
    assert "|" not in md
    assert "<details>" not in md


def test_target_text_cannot_break_the_table_or_inject_html(build) -> None:
    hostile = "a | b `code` <script>alert(1)</script> [x](javascript:alert(1)) *bold*"
    document = build.document(
        [build.record("errors.envelope_shape", "fail", message=f"[plain] Received: {hostile}\nExpected: x", rule="line one\r\nline two")],
        target="http://evil.test/<img src=x>|`",
    )
    document["run"]["model"] = "m**|<b>"
    md = summary.markdown(document)
    assert "<script>" not in md
    assert "<img" not in md
    assert "<b>" not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    (row,) = table_rows(md)
    assert len(cells(row)) == 4, "escaped pipes stay inside the cell"
    received = cells(row)[3]
    assert received == "a \\| b \\`code\\` &lt;script&gt;alert(1)&lt;/script&gt; \\[x\\](javascript:alert(1)) \\*bold\\*"
    assert cells(row)[2] == "line one line two", "a newline cannot end the row"
    assert md.split("\n")[0] == "## Messages API conformance: http://evil.test/&lt;img src=x&gt;\\|\\`"
    assert "model **m\\*\\*\\|&lt;b&gt;**" in md


def test_long_cells_are_cut(build) -> None:
    document = build.document([build.record("errors.envelope_shape", "fail", message="Received: " + "x" * 1000)])
    (row,) = table_rows(summary.markdown(document))
    assert cells(row)[3] == "x" * summary.CELL_LIMIT + "…"


def test_many_failures_are_capped(build) -> None:
    document = build.document([build.record(f"params.check_{i}", "fail", message="Received: 1") for i in range(summary.ROW_LIMIT + 5)])
    md = summary.markdown(document)
    assert len(table_rows(md)) == summary.ROW_LIMIT
    assert "… and 5 more; see report.html." in md


def test_code_falls_back_to_text_for_backticks() -> None:
    assert summary.code("auth.x") == "`auth.x`"
    assert summary.code("a`b") == "a\\`b"


def test_append_github_step_summary(tmp_path) -> None:
    path = tmp_path / "summary.md"
    path.write_text("earlier step\n", encoding="utf-8")
    environ = {"GITHUB_STEP_SUMMARY": str(path)}
    assert summary.append_github_step_summary("## one", environ) is True
    assert summary.append_github_step_summary("## two\n", environ) is True
    assert path.read_text(encoding="utf-8") == "earlier step\n## one\n## two\n"


def test_append_without_the_variable_writes_nothing(tmp_path) -> None:
    assert summary.append_github_step_summary("x", {}) is False
    assert summary.append_github_step_summary("x", {"GITHUB_STEP_SUMMARY": ""}) is False
    assert summary.append_github_step_summary("x", {"GITHUB_STEP_SUMMARY": str(tmp_path / "missing" / "f.md")}) is False
