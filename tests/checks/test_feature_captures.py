"""The real recordings of server tools, refusals and paused turns (issue 13) are judged, and judged conformant, by the new checks.

test_captures.py shows no check breaks on any capture; this shows the new checks actually judge the
captures that hold their feature, so a pass there is a verdict, not a skip.
"""

from __future__ import annotations

import pytest
from capture_corpus import capture

from conformance.findings import Outcome
from conformance.validate import validate

JUDGED = [
    ("10-sonnet35-web-search-citations-2025-05.sse", "server_tools.usage_counts_requests", "usage.server_tool_use.web_search_requests 1 for 1 web_search call(s), 1 with results"),
    ("12-sonnet4-web-search-no-ping-2025-08.sse", "server_tools.stream_results_whole", "2 result block(s) whole in content_block_start"),
    ("16-sonnet4-web-fetch-2025-11.sse", "server_tools.usage_counts_requests", "usage.server_tool_use.web_fetch_requests 1 for 1 web_fetch call(s), 1 with results"),
    ("22-sonnet46-code-execution-container-2026-04.sse", "server_tools.stream_results_whole", "1 result block(s) whole in content_block_start"),
    ("24-sonnet45-pause-turn-web-search-2026-07.sse", "stop_reason.pause_turn_reported", 'server_tool_use "web_search" left without its result, stop_reason "pause_turn"'),
    ("24-sonnet45-pause-turn-web-search-2026-07.sse", "server_tools.usage_counts_requests", "usage.server_tool_use.web_search_requests 10 for 11 web_search call(s), 10 with results"),
    ("27-fable51-refusal-2026-09.sse", "stop_reason.refusal_details_present", 'stop_details {"type": "refusal", "category": "reasoning_extraction"'),
    ("47-sonnet4-web-fetch-unavailable.json", "server_tools.usage_counts_requests", "usage.server_tool_use.web_fetch_requests 1 for 1 web_fetch call(s), 0 with results"),
]

@pytest.mark.parametrize(("name", "check_id", "item"), JUDGED, ids=[f"{n[:2]}-{c}" for n, c, _ in JUDGED])
def test_a_real_recording_is_judged_and_passes(name: str, check_id: str, item: str) -> None:
    findings = {f.check_id: f for f in validate(capture(name)).findings}
    finding = findings[check_id]
    assert finding.outcome is Outcome.PASS, finding.message
    assert any(judged.startswith(item) for judged in finding.judged), finding.judged
