"""Client impact: every recorded exchange replayed offline into the official clients, per finding.

The proofs run real clients (installed into the user's cache on first use; .ci/run pre-installs
them) against runs of the reference server: a fault that crashes a client (the TypeScript SDK on a
stream without message_stop), one that only the AI SDK gets wrong (an OpenAI-shaped error body),
one no client notices (no request-id), and the faithful server, where no client may break. They skip
only when a client cannot be installed (no registry), and say so.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from conformance.contract.model import Tier
from conformance.impact import clients as impact_clients
from conformance.impact.replay import assess
from conformance.options import Options
from conformance.report.results import SCHEMA_PATH
from conformance.runstate import RunState


@pytest.fixture(scope="module")
def installed_clients() -> None:
    """Every official client ready in the cache, or a skip naming what could not be installed and why."""
    lines: list[str] = []
    reasons = impact_clients.ensure_all(log=lines.append)
    missing = {cid: why for cid, why in reasons.items() if why is not None}
    if missing:
        pytest.skip("official clients could not be installed (is the PyPI or npm registry unreachable?): " + "; ".join(f"{cid}: {why}" for cid, why in missing.items()))


def _run(reference, key: str, tmp_path: Path, path: str = "") -> dict:
    """A core-tier run through RunState (as the CLI and plugin drive it) with client impact on; its results.json."""
    state = RunState(
        Options(base_url=reference.base_url + path, api_key=key, profile="reference", tier=Tier.CORE.value, report_dir=str(tmp_path), run_id="run", client_impact="installed", step_summary=False)
    )
    state.execute(None)
    document = json.loads((tmp_path / "run" / "results.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    return document


def _impact(document: dict, check: str) -> dict[str, dict]:
    records = [r for r in document["results"] if r["check"] == check and r["outcome"] in ("fail", "warn")]
    assert records, f"{check} did not fail"
    return {c["client"]: c for c in records[0]["client_impact"]}


@pytest.mark.usefixtures("installed_clients")
def test_missing_message_stop_crashes_the_typescript_sdk_and_slips_past_the_others(reference, reference_key, tmp_path):
    document = _run(reference, reference_key, tmp_path, "/_faults/drop-message-stop")
    impact = _impact(document, "stream.ends_with_message_stop")
    assert impact["typescript"]["outcome"] == "raised"
    assert impact["typescript"]["summary"] == "throws AnthropicError: stream ended without producing a Message with role=assistant"
    for python in ("python-1", "python-2"):
        assert impact[python]["outcome"] == "wrong"
        assert "ended without message_stop" in impact[python]["summary"]
    assert impact["ai-sdk"]["outcome"] == "wrong"
    assert 'stop_reason null, the bytes say "end_turn"' in impact["ai-sdk"]["summary"]
    assert document["client_impact"]["requests_sent"] == 0
    assert {c["status"] for c in document["client_impact"]["clients"]} == {"checked"}
    page = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert "stream ended without producing a Message with role=assistant" in page
    assert "every exchange replayed offline into" in page


@pytest.mark.usefixtures("installed_clients")
def test_openai_error_body_loses_the_message_in_the_ai_sdk(reference, reference_key, tmp_path):
    document = _run(reference, reference_key, tmp_path, "/_faults/openai-error-envelope")
    impact = _impact(document, "errors.envelope_shape")
    assert impact["ai-sdk"]["outcome"] == "wrong"
    assert impact["ai-sdk"]["summary"].startswith("silently wrong: error message lost")
    for sdk in ("python-1", "python-2", "typescript"):
        assert impact[sdk]["outcome"] == "ok", impact[sdk]


@pytest.mark.usefixtures("installed_clients")
def test_a_missing_request_id_breaks_no_client(reference, reference_key, tmp_path):
    document = _run(reference, reference_key, tmp_path, "/_faults/no-request-id")
    impact = _impact(document, "headers.request_id_present")
    assert {c: v["outcome"] for c, v in impact.items()} == {"python-1": "ok", "python-2": "ok", "typescript": "ok", "ai-sdk": "ok"}


@pytest.mark.usefixtures("installed_clients")
def test_no_client_breaks_on_the_faithful_server(reference, reference_key, tmp_path):
    document = _run(reference, reference_key, tmp_path)
    verdicts = document["client_impact"]["exchanges"]
    assert verdicts
    broken = {(eid, cid): v["summary"] for eid, per in verdicts.items() for cid, v in per.items() if v["outcome"] not in ("ok", "n/a")}
    assert broken == {}


def test_clients_not_installed_are_named_as_not_checked(monkeypatch, tmp_path, reference, reference_key):
    monkeypatch.setenv(impact_clients.CACHE_ENV, str(tmp_path / "empty-cache"))
    state = RunState(Options(base_url=reference.base_url, api_key=reference_key, profile="reference", tier=Tier.SMOKE.value, report_dir=str(tmp_path), run_id="run", step_summary=False))
    result = state.execute(None).result
    report = assess(result.exchanges.values(), install=False, log=lambda line: None)
    assert [(r.client.id, r.checked) for r in report.clients] == [("python-1", False), ("python-2", False), ("typescript", False), ("ai-sdk", False)]
    assert all("not installed" in r.note for r in report.clients)
    first = next(iter(report.verdicts))
    assert {cid: v.impact.value for cid, v in report.on(first).items()} == dict.fromkeys(["python-1", "python-2", "typescript", "ai-sdk"], "not checked")
