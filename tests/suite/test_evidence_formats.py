"""Evidence in every format, from real pytest runs: Allure results and JUnit carry what report.html shows, redacted.

One fault labels every JSON answer text/plain (one check fails on ~140 exchanges with a handful of
distinct messages), another drops message_stop (a stream failure, with its event table).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from conformance.redact import MASK
from conformance.reference import ReferenceServer

SUITE = ("--pyargs", "conformance", "-p", "no:cacheprovider")
FAULTS = "/_faults/json-as-text-plain+drop-message-stop"
CONTENT_TYPE = "headers.json_content_type"
MESSAGE_STOP = "stream.ends_with_message_stop"


def allure_results(folder: Path) -> dict[str, dict[str, Any]]:
    """Every Allure test result by name (the case id), each name once."""
    results = [json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*-result.json")]
    by_name = {r["name"]: r for r in results}
    assert len(by_name) == len(results), "each case is one result, named by its id"
    return by_name


def attachment(folder: Path, result: dict[str, Any], name: str) -> str:
    source = next(a["source"] for a in result.get("attachments", ()) if a["name"] == name)
    return (folder / source).read_text(encoding="utf-8")


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["one-process", "xdist"])
def test_every_format_carries_the_evidence(
    workers: tuple[str, ...], pytester: pytest.Pytester, reference: ReferenceServer, reference_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One run per mode (xdist workers read the run folder, one process has the exchanges in memory), every format checked."""
    monkeypatch.setenv("COLUMNS", "400")  # the short summary line is not cut
    result = pytester.runpytest_subprocess(
        *SUITE, "--base-url", reference.base_url + FAULTS, "--api-key", reference_key, "--junitxml=junit.xml", "--alluredir=allure-results", *workers
    )
    assert result.ret == 1, result.stdout.str()
    check_allure(pytester.path, reference_key)
    check_junit(pytester.path, result)
    check_report(pytester.path)


def check_allure(path: Path, reference_key: str) -> None:
    """Names, labels, the source link and the evidence as attachments; the key nowhere."""
    folder = path / "allure-results"
    document = json.loads((path / "reports" / "latest" / "results.json").read_text(encoding="utf-8"))
    records = {r["id"]: r for r in document["results"]}
    results = allure_results(folder)
    assert set(results) == set(records), "the case id is the name"

    failed = results[CONTENT_TYPE]
    assert failed["status"] == "failed"
    labels = {label["name"]: label["value"] for label in failed["labels"] if label["name"] != "tag"}
    assert {k: labels[k] for k in ("area", "check", "level", "severity", "feature", "story")} == {
        "area": "headers", "check": CONTENT_TYPE, "level": "MUST", "severity": "critical", "feature": "headers", "story": CONTENT_TYPE
    }
    run_info = document["run"]
    assert (labels["target"], labels["profile"], labels["model"], labels["api_version"]) == (run_info["name"], run_info["profile"], run_info["model"], run_info["api_version"])
    assert failed["links"] == [{"type": "link", "url": records[CONTENT_TYPE]["source"], "name": "source"}]
    assert failed["description"].startswith(records[CONTENT_TYPE]["rule"])

    names = [a["name"] for a in failed["attachments"]]
    assert names[0] == "violations"
    assert {"plain · request", "plain · response", "plain · curl"} <= set(names)
    assert len(names) <= 2 + 3 * 6, "evidence of the representatives, not of 140 exchanges"
    violations = attachment(folder, failed, "violations")
    assert violations.count('Received: Content-Type "text/plain; charset=utf-8" (status 200)') == 1
    assert re.search(r"the same on \d{2,} exchanges: plain, ", violations)
    request = attachment(folder, failed, "plain · request")
    assert request.startswith("POST http://127.0.0.1:")
    assert f"x-api-key: {MASK}" in request
    assert "content-type: text/plain" in attachment(folder, failed, "plain · response")
    assert 'x-api-key: $API_KEY"' in attachment(folder, failed, "plain · curl")

    stream = results[MESSAGE_STOP]
    events = next(a for a in stream["attachments"] if a["name"].endswith(" · events"))
    table = (folder / events["source"]).read_text(encoding="utf-8")
    assert table.split("\n")[0].split() == ["#", "event", "data.type", "byte", "data"]
    assert "message_delta" in table

    versioned = [r for name, r in results.items() if name.endswith("@2026-10-21")]
    assert versioned, "the run judges version-dependent cases under both versions"
    for r in versioned:
        assert {"name": "api_version", "value": "2026-10-21"} in r["labels"]
    passed = results["auth.x_api_key_accepted"]
    assert passed["status"] == "passed"
    assert "attachments" not in passed or passed["attachments"] == [], "a pass carries no evidence, as in report.html"

    leaks = [p.name for p in path.rglob("*") if p.is_file() and reference_key.encode() in p.read_bytes()]
    assert leaks == [], "the key reaches no artifact"


def check_junit(path: Path, run: pytest.RunResult) -> None:
    """A one-line message, then the rule once, each distinct violation once, one line per exchange shown."""
    tree = ET.parse(path / "junit.xml")
    failures = {tc.get("name"): tc.find("failure") for tc in tree.iter("testcase") if tc.find("failure") is not None}
    failure = failures[f"test_check[{CONTENT_TYPE}]"]
    assert failure is not None
    message = failure.get("message") or ""
    assert "\n" not in message
    assert re.fullmatch(rf'{CONTENT_TYPE} \[MUST\] Received: Content-Type "text/plain; charset=utf-8" \(status 200\) \(on \d+ exchanges\); \d+ other distinct violation\(s\)', message), message
    text = failure.text or ""
    assert text.count("Every answer but a successful stream is Content-Type application/json") == 1, "the rule once"
    assert text.count("Source: ") == 1
    received = re.findall(r"^Received: .*$", text, flags=re.M)
    assert len(received) == len(set(received)), "each distinct violation once"
    assert text.count("Expected: application/json") == len(received)
    assert "[plain]" not in text
    assert re.search(r"^  plain: POST http://127\.0\.0\.1:\d+/_faults/[^ ]+/v1/messages → HTTP 200, content-type text/plain; charset=utf-8", text, flags=re.M)
    assert re.search(rf"^Request, response and curl: reports/[^/]+/report\.html#{re.escape(CONTENT_TYPE)}$", text, flags=re.M)
    run.stdout.fnmatch_lines([f"FAILED *test_check?{CONTENT_TYPE}? - {CONTENT_TYPE} [[]MUST[]] Received: Content-Type*"])


def check_report(path: Path) -> None:
    """report.html: one block per distinct violation, listing every exchange that shows it."""
    page = (path / "reports" / "latest" / "report.html").read_text(encoding="utf-8")
    section = page.split(f'id="{CONTENT_TYPE}"', 1)[1].split("</section>", 1)[0]
    document = json.loads((path / "reports" / "latest" / "results.json").read_text(encoding="utf-8"))
    record = next(r for r in document["results"] if r["id"] == CONTENT_TYPE)
    exchanges = {x for v in record["violations"] for x in [v["exchange"], *v.get("also", ())]}
    assert len(exchanges) > 100, "the fault breaks the check on nearly every exchange"
    assert section.count('<div class="v">') == len(record["violations"]) < 12, "one block per distinct violation, not one per exchange"
    assert section.count("Expected: application/json") == len(record["violations"])
    for x in exchanges:
        assert f'<a href="#ex-{x}">{x}</a>' in section
