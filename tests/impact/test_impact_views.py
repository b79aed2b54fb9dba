"""Client impact in the comparison matrix and report.html, from documents alone (no client runs)."""

from __future__ import annotations

from conformance import compare
from conformance.report import html, matrix

BROKEN = [
    {"client": "typescript", "name": "@anthropic-ai/sdk 1.17.0", "exchange": "plain.stream", "outcome": "raised", "summary": "throws AnthropicError: stream ended without producing a Message with role=assistant"},
    {"client": "python-2", "name": "anthropic (Python) 2.17.0", "exchange": "plain.stream", "outcome": "ok", "summary": "ok"},
]


def document() -> dict:
    record = {
        "id": "stream.ends_with_message_stop", "check": "stream.ends_with_message_stop", "case": "", "area": "stream", "tier": "core", "level": "MUST",
        "outcome": "fail", "rule": "r", "source": "s", "message": "Received: no message_stop", "exchanges": ["plain.stream"], "violations": [], "notes": [],
        "client_impact": BROKEN,
    }
    return {
        "run": {"target": "http://gw", "profile": "reference", "model": "m", "api_version": "2023-06-01", "id": "r1"},
        "counts": {"pass": 0, "fail": 1, "warn": 0, "skip": 0, "error": 0}, "must_failures": 1, "gate": {"failed": True, "reasons": []},
        "spend": {"requests": 1, "retries": 0, "input_tokens": 1, "output_tokens": 1},
        "results": [record],
        "client_impact": {"requests_sent": 0, "clients": [{"id": "typescript", "name": "@anthropic-ai/sdk 1.17.0", "status": "checked", "note": "@anthropic-ai/sdk 1.17.0"}], "exchanges": {}},
    }


def test_the_matrix_cell_names_the_clients_that_break():
    doc = compare.comparison([("gw", document(), None, "gw/report.html")])
    (check,) = doc["checks"]
    assert check["cells"]["gw"]["clients"] == [{"name": "@anthropic-ai/sdk 1.17.0", "outcome": "raised", "summary": BROKEN[0]["summary"]}]
    columns = [matrix.column(t) for t in doc["targets"]]
    (cell,) = matrix.row(check, columns).cells
    assert cell.clients == "breaks 1 client"
    assert "@anthropic-ai/sdk 1.17.0: throws AnthropicError: stream ended without producing a Message with role=assistant" in cell.title


def test_report_rows_show_each_client_and_the_run_lists_them():
    page = html.render(document(), {})
    assert "throws AnthropicError: stream ended without producing a Message with role=assistant" in page
    assert "BREAKS" in page
    assert "every exchange replayed offline into @anthropic-ai/sdk 1.17.0; no request sent" in page
