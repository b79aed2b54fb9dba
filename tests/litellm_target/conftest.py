"""Fixtures for the LiteLLM target: its isolated venv and one backend + proxy pair per session.

An impossible install (no registry, pip failing) skips every test here with pip's own words; a proxy
that installed but will not start is an error, because that is a finding, not an environment gap.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from litellm_harness import Deployment, Unavailable, deployment, ensure_venv


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "litellm: runs the suite against a real LiteLLM proxy in its own venv (about a minute; deselect with -m 'not litellm')",
    )


@pytest.fixture(scope="session")
def litellm_exe(pytestconfig: pytest.Config) -> Path:
    """The `litellm` executable of the isolated venv (installed on first use, then reused), its install progress on the terminal."""
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")

    def say(line: str) -> None:  # past pytest's capture: a first install takes minutes and must not look like a hang
        with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
            print(line, file=sys.stderr, flush=True)

    try:
        return ensure_venv(say=say)
    except Unavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def litellm(litellm_exe: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """LiteLLM on 127.0.0.1 in front of the toy OpenAI backend, healthy, stopped after the session."""
    workdir = tmp_path_factory.mktemp("litellm")
    try:
        with deployment(litellm_exe, workdir) as running:
            yield running
    except Unavailable as exc:
        pytest.fail(f"LiteLLM installed but did not come up: {exc}", pytrace=False)
