"""The LiteLLM harness says what it installs and that it is still at it (a silent two-minute pip looks like a hang)."""

from __future__ import annotations

import sys
from pathlib import Path

import litellm_harness
import pytest
from litellm_harness import Unavailable, _run, ensure_venv


def test_a_long_step_says_it_still_runs() -> None:
    said: list[str] = []
    _run([sys.executable, "-c", "import time; time.sleep(1.0)"], timeout=30, what="a slow step", say=said.append, every=0.3)
    assert said
    assert all(line.startswith("  ... still running: a slow step (") for line in said)


def test_a_failed_step_names_itself_with_its_output() -> None:
    with pytest.raises(Unavailable, match=r"a broken step exited 3:\nboom"):
        _run([sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"], timeout=30, what="a broken step", say=lambda _: None)


def test_a_first_install_announces_where_and_how_long(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    monkeypatch.setattr(litellm_harness.sys, "executable", "/bin/false")  # the venv step fails at once: no download in a unit test
    with pytest.raises(Unavailable):
        ensure_venv(tmp_path / "venv", say=said.append)
    assert said[0].startswith(f"LiteLLM: first use, installing litellm[proxy]=={litellm_harness.LITELLM_VERSION} prisma into {tmp_path / 'venv'}")
    assert litellm_harness.INSTALL_NOTE in said[0]


def test_a_ready_venv_is_reused_silently(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "litellm").write_text("", encoding="utf-8")
    (venv / ".anthropic-conformance-installed").write_text(" ".join(litellm_harness.REQUIREMENTS), encoding="utf-8")
    said: list[str] = []
    assert ensure_venv(venv, say=said.append) == venv / "bin" / "litellm"
    assert said == []
