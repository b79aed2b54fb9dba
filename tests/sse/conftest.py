"""Shared fixtures for the SSE layer tests: where the real Anthropic captures live."""

from __future__ import annotations

from pathlib import Path

import pytest
from capture_corpus import CAPTURES, corpus


@pytest.fixture
def captures() -> Path:
    """The capture folder; a missing corpus fails the test that needs it (a skip would pass a run that read no capture)."""
    corpus("*.sse")
    return CAPTURES
