"""Shared fixtures for the SSE layer tests: where the real Anthropic captures live."""

from __future__ import annotations

from pathlib import Path

import pytest

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"
"""A copy of the known-good corpus (see its INDEX.md), kept in the repo so CI has it."""

MISSING = f"capture corpus not found at {CAPTURES} (copy /work/shared/captures there)"


@pytest.fixture
def captures() -> Path:
    """The capture folder, or a skip that says where it was expected."""
    if not CAPTURES.is_dir():
        pytest.skip(MISSING)
    return CAPTURES
