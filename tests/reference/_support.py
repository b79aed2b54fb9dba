"""Constants and tiny builders the reference-server tests share (the suite's own prompts among them)."""

from __future__ import annotations

from typing import Any

V2023 = "2023-06-01"
V2026 = "2026-10-21"
HAIKU = "claude-haiku-4-5"
GRUSSE = "Reply with exactly this text and nothing else: Grüße ok"
COUNT = "Count from 1 to 200, separated by spaces."
XYZZY = "Reply with exactly this text and nothing else: one two three XYZZY four five"


def user(text: str) -> list[Any]:
    """A one-turn conversation (typed loosely so it also fits the SDK's MessageParam)."""
    return [{"role": "user", "content": text}]
