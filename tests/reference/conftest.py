"""Shared fixtures for the reference-server tests, on the one live router process of the session (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from conformance.reference import ReferenceServer

from ._support import V2023


@pytest.fixture(scope="session")
def api_key(reference_key: str) -> str:
    """The session's key (tests/conftest.py): a canary nobody can guess, so a leak into any artifact shows."""
    return reference_key


@pytest.fixture(scope="session")
def server(reference: ReferenceServer) -> ReferenceServer:
    """The session's reference server (tests/conftest.py), serving faults and variants by path."""
    return reference


@pytest.fixture(scope="session")
def base_url(server: ReferenceServer) -> str:
    """The faithful instance's base URL."""
    return server.base_url


@pytest.fixture
def headers(api_key: str) -> dict[str, str]:
    """Valid headers for API version 2023-06-01 with the legacy x-api-key."""
    return {"x-api-key": api_key, "anthropic-version": V2023}


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    """A plain httpx client on the faithful instance."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        yield client


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's ANTHROPIC_* variables out of the SDK clients under test."""
    for name in (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_BASE_URL",
        "ANTHROPIC_CUSTOM_HEADERS",
    ):
        monkeypatch.delenv(name, raising=False)
