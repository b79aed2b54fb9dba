"""Fixtures shared by the project's tests: one reference server process (with the fault router)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from conformance.reference import ReferenceServer

# Fuzz tests run on shared 2-core CI machines: generation speed is not what they test.
settings.register_profile("project", deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("project")

DISTINCTIVE = "sk-ant-api03-LEAKCANARY-"
# Runs made by the project's tests replay nothing into the official clients (seconds per run); tests/impact turns it on.
os.environ.setdefault("CONFORMANCE_CLIENT_IMPACT", "off")


@pytest.fixture(scope="session")
def reference_key() -> str:
    """A distinctive key: any artifact that contains it leaked a secret."""
    return DISTINCTIVE + secrets.token_hex(16)


@pytest.fixture(scope="session")
def reference(reference_key: str) -> Iterator[ReferenceServer]:
    """The reference server in a child process; /_faults/<name> and /_variant/<name> select misbehaviour."""
    with ReferenceServer(reference_key, router=True) as running:
        yield running
        log = running.stderr_tail()
    assert "Traceback" not in log, f"the reference server logged an exception:\n{log}"
