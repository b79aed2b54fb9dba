"""The naive baseline: one plain, sequential pytest test per case, each sending the requests it needs itself.

This is the suite a straightforward implementation would be: nothing planned or shared between
tests (a request two checks could judge is sent twice), one request in flight at a time; only the
client is shared (a module fixture), as any sensible suite would share it. Requests go out through
conformance's own Transport (httpx) and the verdicts come from its Judge, so the only difference
from ``anthropic-conformance run`` is the scheduling. One case, recovery.retry_after_on_rate_limit,
judges every 429 of a run and so has nothing to judge alone: it skips. bench/run.py runs this with
``BENCH_BASE_URL``, ``BENCH_API_KEY`` and ``BENCH_TIER`` set and reads the request count from
``BENCH_TALLY``.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.contract.loader import load_contract
from conformance.contract.model import Tier
from conformance.engine import execute, resolve_model, select_cases
from conformance.findings import Outcome
from conformance.judge import Judge
from conformance.scenarios import Case, build_cases, plan_requests
from conformance.transport import Target, Transport, make_wrong_key

CONTRACT = load_contract("2023-06-01", "reference")
MODEL = resolve_model(CONTRACT, None)
CASES = select_cases(build_cases(CONTRACT, MODEL), tier=Tier(os.environ.get("BENCH_TIER", "full")))


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """One event loop for the module, so the client (bound to its loop) can be shared."""
    running = asyncio.new_event_loop()
    yield running
    running.close()


@pytest.fixture(scope="module")
def transport(loop: asyncio.AbstractEventLoop) -> Iterator[Transport]:
    """One client for every test, as a sensible suite would have; only requests are not shared."""
    target = Target(os.environ["BENCH_BASE_URL"], os.environ["BENCH_API_KEY"], wrong_key=make_wrong_key(CONTRACT.wrong_key_prefix, length=CONTRACT.wrong_key_length, suffix=CONTRACT.wrong_key_suffix))
    client = Transport(target, concurrency=1)
    yield client
    loop.run_until_complete(client.aclose())
    if "BENCH_TALLY" in os.environ:
        counts = {"tests": len(CASES), "requests": client.counters.requests}
        Path(os.environ["BENCH_TALLY"]).write_text(json.dumps(counts), encoding="utf-8")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case, loop: asyncio.AbstractEventLoop, transport: Transport) -> None:
    requests = plan_requests(CONTRACT, [case], model=MODEL)
    exchanges = loop.run_until_complete(execute(requests, transport, preflight=""))
    finding = Judge(CONTRACT, requests, exchanges, model=MODEL).judge(case)
    if finding.outcome is Outcome.SKIP:
        pytest.skip(finding.message)
    assert finding.outcome in (Outcome.PASS, Outcome.WARN), finding.message
