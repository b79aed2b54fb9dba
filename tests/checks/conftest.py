"""Fixtures for the check tests: one loaded contract and a builder of the values checks read."""

from __future__ import annotations

import pytest

from conformance.contract.loader import load_contract

from ._build import Build


@pytest.fixture(scope="session")
def build() -> Build:
    """A builder bound to the shipped 2023-06-01 contract under the anthropic profile."""
    return Build(load_contract("2023-06-01", "anthropic"))
