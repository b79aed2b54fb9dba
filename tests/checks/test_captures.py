"""Every check on real Anthropic responses (tests/fixtures/captures): zero false alarms.

A capture is what api.anthropic.com actually sent, so any violation here is a bug in a check (or
in a schema), never in the capture. Checks that judge behaviour a specific prompt forced (end_turn,
max_tokens, stop sequences, the twin) or headers the captures did not keep are left out.
"""

from __future__ import annotations

import json
import re

import pytest
from capture_corpus import corpus

from ._build import request_json, violations

STREAMS = corpus("*.sse")
MESSAGES = corpus("*.json", keep=lambda p: int(p.name[:2]) < 50)
ERRORS = corpus("*.json", keep=lambda p: 50 <= int(p.name[:2]) < 65)

ON_EVERY_ANSWER = [
    "shape.id_prefix",
    "stop_reason.known_value",
    "stop_reason.stop_sequence_null_otherwise",
    "stop_reason.stop_sequence_set_on_match",
    "stop_reason.stop_sequence_excluded",
    "usage.input_tokens_positive",
    "usage.output_tokens_nonnegative",
    "server_tools.usage_counts_requests",
    "stop_reason.pause_turn_reported",
    "stop_reason.refusal_details_present",
]
STREAM_CHECKS = [
    "stream.event_name_matches_type",
    "stream.data_is_json",
    "stream.no_done_sentinel",
    "stream.utf8_valid",
    "stream.framing_terminated",
    "stream.message_start_first",
    "stream.event_order",
    "stream.block_indices_sequential",
    "stream.delta_matches_block",
    "stream.message_delta_stop_reason",
    "stream.ends_with_message_stop",
    "stream.event_schema",
    "usage.stream_cumulative",
    "server_tools.stream_results_whole",
    *ON_EVERY_ANSWER,
]
MESSAGE_CHECKS = ["shape.message_schema", *ON_EVERY_ANSWER]
ERROR_CHECKS = ["errors.envelope_shape", "errors.type_matches_status"]
BIG = request_json(max_tokens=64000)

def request_for(raw: bytes) -> dict:
    """BIG, with the stop sequence the answer reports among its stop_sequences: the API names only one the request listed."""
    fired = re.search(rb'"stop_sequence"\s*:\s*("(?:[^"\\]|\\.)*")', raw)
    return {**BIG, "stop_sequences": [json.loads(fired.group(1))]} if fired else BIG


@pytest.mark.parametrize("path", STREAMS, ids=lambda p: p.stem)
def test_real_streams_break_no_check(build, path):
    raw = path.read_bytes()
    subject = build.stream(raw, request={**request_for(raw), "stream": True})
    assert violations(subject, STREAM_CHECKS, located=True) == {}


@pytest.mark.parametrize("path", MESSAGES, ids=lambda p: p.stem)
def test_real_messages_break_no_check(build, path):
    raw = path.read_bytes()
    assert json.loads(raw)["type"] == "message", "captures 00-49 are Message bodies (INDEX.md)"
    assert violations(build.plain(raw, request=request_for(raw)), MESSAGE_CHECKS, located=True) == {}


@pytest.mark.parametrize("path", ERRORS, ids=lambda p: p.stem)
def test_real_errors_break_no_check(build, path):
    status = int(path.name.split("-")[2])
    assert violations(build.error(path.read_bytes(), status=status), ERROR_CHECKS, located=True) == {}
