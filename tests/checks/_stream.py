"""Helpers shared by the stream check tests: which checks a stream is judged by, and what they say.

The checks are read from the spec, never listed: the stream area's rules and the usage rules a run
judges on any streamed answer.
"""

from __future__ import annotations

import json

from conformance.contract.loader import load_contract
from conformance.contract.model import RuleKind

from ._build import found_by
from ._events import sse

ANYWHERE = " (ping and error are accepted anywhere before the end)"


def _stream_checks() -> list[str]:
    """The stream area's rules, and the usage rules a run judges on any streamed answer: read from the spec, no list of ids."""
    rules = load_contract("2023-06-01", "anthropic").rules.values()
    usage = [r for r in rules if r.area == "usage" and r.kind is RuleKind.PROPERTY and r.on is not None and r.on.stream is not False and r.needs_plan is None]
    return sorted(r.id for r in [*(r for r in rules if r.area == "stream"), *usage])


STREAM_CHECKS = _stream_checks()


def at(events, index: int, kind: str) -> str:
    """The locator a check prints for event ``index`` of a stream built from ``events``."""
    return f"event #{index} ({kind}) @ byte {len(sse(events[:index]))}"


def findings(subject) -> dict[str, list[str]]:
    """Every stream check's violation messages, for the checks that found any."""
    return {cid: [v.message for v in found] for cid, found in found_by(STREAM_CHECKS, subject).items()}


def padded(event: dict, spaces: int = 7) -> bytes:
    """Anthropic's wire form since mid-2024: spaces before the final ``}`` of the data line."""
    text = json.dumps(event, separators=(",", ":"))
    return f"event: {event['type']}\ndata: {text[:-1]}{' ' * spaces}}}\n\n".encode()
