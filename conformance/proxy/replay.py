"""Re-judging a proxy session offline: its cassette through today's traffic rules, a fresh run folder, no request sent.

``anthropic-conformance replay`` hands a run folder here when its results.json has a ``proxy``
section (a proxy session or a client run): the exchanges are fed to a new ``Session`` in their
recorded order, exactly as the proxy fed them, so the verdicts are the ones a live session with the
current checks would reach. The result rows of a client run's tasks are carried over as they were
(what Claude Code did cannot be replayed from the traffic).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .. import cassette
from ..auth import Auth
from ..errors import CassetteError
from ..findings import Finding, Level, Outcome
from ..scenarios import Case, Request
from ..traffic import endpoint_of
from ..versions import load_contracts
from .session import Published, Session, Settings


def session_document(path: Path) -> dict[str, Any] | None:
    """The results document of a proxy session at ``path`` (a run folder or its cassette), None for any other run."""
    folder = path if path.is_dir() else path.parent
    results = folder / "results.json"
    if not results.is_file():
        return None
    try:
        document = json.loads(results.read_text(encoding="utf-8"))
    except ValueError:
        return None
    return document if isinstance(document, dict) and isinstance(document.get("proxy"), dict) else None


def _request(exchange: Any) -> Request:
    """The request as the proxy handed it to the judge, rebuilt from its record (the path from /v1/ on)."""
    url = exchange.request.url
    path = "/v1/" + url.split("/v1/", 1)[1] if "/v1/" in url else "/" + url.split("://", 1)[-1].split("/", 1)[-1]
    modes = {name for name, _ in exchange.request.headers}
    auth = Auth.X_API_KEY if "x-api-key" in modes else Auth.BEARER if "authorization" in modes else Auth.NONE
    return Request(
        scenario=exchange.id, endpoint=endpoint_of(path) or "other", method=exchange.request.method, path=path, headers=exchange.request.headers,
        auth=Auth.UNVERIFIED if exchange.status in (401, 403) else auth, body=exchange.request.body, stream=exchange.streamed, tags=frozenset(),
    )  # fmt: skip


def _carried(document: dict[str, Any]) -> list[tuple[Case, Finding]]:
    """A client run's task rows, as they were recorded."""
    from ..clientrun.runner import rule

    task_rule = rule()
    out = []
    for record in document.get("results", ()):
        if record.get("check") != task_rule.id:
            continue
        case = Case(id=str(record["id"]), rule=task_rule, variation=str(record.get("case", "")), scenarios=(), level=Level(record["level"]), source=task_rule.source)
        finding = Finding(
            check_id=task_rule.id, case=str(record.get("case", "")), outcome=Outcome(record["outcome"]), level=Level(record["level"]), message=str(record.get("message", "")),
            exchanges=tuple(record.get("exchanges", ())), notes=tuple(record.get("notes", ())), judged=tuple(record.get("judged", ())),
        )  # fmt: skip
        out.append((case, finding))
    return out


def replay_session(path: Path, document: dict[str, Any], *, report_dir: str, profile: str | None = None, api_version: str | None = None, model: str | None = None, spec_dir: str | None = None) -> Published:
    """Feed the recorded session to a fresh ``Session`` and publish it."""
    folder = path if path.is_dir() else path.parent
    tape = folder / "cassette.jsonl"
    if not tape.is_file():
        raise CassetteError(f"{folder}: no cassette.jsonl to replay")
    run, section = document.get("run", {}), document["proxy"]
    chosen_profile = profile or str(run.get("profile") or "anthropic")
    contracts = load_contracts(api_version or str(run.get("api_version") or "2023-06-01"), chosen_profile, spec_dir=spec_dir)
    default = model or str(run.get("model") or "").split(",")[0].strip() or "claude-sonnet-4-5"
    settings = Settings(upstream=str(section.get("upstream", "")), profile=chosen_profile, report_dir=report_dir, default_model=default, listen="replay of " + str(folder))
    session = Session(contracts, settings, out=None)
    for exchange in cassette.read(tape):
        while not session.offer(exchange, _request(exchange)):
            time.sleep(0.005)
    extra = {"clients": document["clients"]} if "clients" in document else {}
    return session.close(extra=extra, extra_findings=_carried(document))
