"""conformance/clientrun: installing into the cache (with a stand-in npm), skipping with the reason, bounding a task.

No network: a fake ``npm`` on PATH plays the registry's part (a success that leaves a claude binary,
or the error npm prints offline), a fake ``claude`` plays a client that hangs or fails.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.clientrun import install, runner
from conformance.findings import Outcome

FAKE_CLAUDE = '#!/bin/sh\nif [ "$1" = "--version" ]; then echo "2.1.328 (Claude Code)"; exit 0; fi\necho "$@"\n'


def executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def fake_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    monkeypatch.setenv(install.DIR_ENV, str(tmp_path / "cache" / "claude-code"))
    return bin_dir


def test_installs_once_then_finds_it(fake_path: Path, tmp_path: Path) -> None:
    log = tmp_path / "npm-calls"
    # npm install --prefix ROOT ...: leaves ROOT/node_modules/.bin/claude, as the real one does.
    executable(fake_path / "npm", f'#!/bin/sh\necho "$@" >> {log}\nmkdir -p "$3/node_modules/.bin"\ncat > "$3/node_modules/.bin/claude" <<\'EOF\'\n{FAKE_CLAUDE}EOF\nchmod +x "$3/node_modules/.bin/claude"\necho "added 2 packages in 1s"\n')
    said: list[str] = []
    first = install.ensure(say=said.append)
    assert first == install.cache_dir() / "node_modules" / ".bin" / "claude"
    assert any("installing it into" in line and "370 MB" in line for line in said)
    assert any(line.startswith("  npm: added 2 packages") for line in said)
    assert install.ensure() == first
    assert len(log.read_text().splitlines()) == 1  # the second call found the cached install
    assert "@anthropic-ai/claude-code@2.1.328" in log.read_text()


def test_an_unreachable_registry_is_named(fake_path: Path) -> None:
    executable(fake_path / "npm", "#!/bin/sh\necho 'npm error code ENOTFOUND' >&2\necho 'npm error network request to https://registry.npmjs.org/@anthropic-ai%2fclaude-code failed' >&2\nexit 1\n")
    with pytest.raises(install.Unavailable) as caught:
        install.ensure()
    assert caught.value.offline
    assert str(caught.value).startswith("the npm registry is unreachable: ")
    assert not install.cache_dir().exists()  # nothing half-installed is left to be mistaken for an install


def test_a_package_without_a_working_binary_is_not_an_install(fake_path: Path) -> None:
    executable(fake_path / "npm", "#!/bin/sh\nexit 0\n")
    with pytest.raises(install.Unavailable, match="no claude binary there runs"):
        install.ensure()


def test_the_command_skips_and_says_why(fake_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """No npm at all: the client run says why and skips; it never crashes."""
    monkeypatch.setenv("PATH", str(fake_path))
    assert main(["clients", "--task", "plain"]) == 0
    err = capsys.readouterr().err
    assert "Claude Code 2.1.328 is not available, so no client ran: npm is not on PATH" in err
    assert "Traceback" not in err


def test_an_unknown_task_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["clients", "--task", "nope"]) == 2
    assert "unknown task(s) nope; known: plain, read-file, long-stream" in capsys.readouterr().err


def test_a_task_that_hangs_is_stopped_and_fails(tmp_path: Path) -> None:
    claude = executable(tmp_path / "claude", "#!/bin/sh\nsleep 30 &\nwait\n")  # a child of its own too: the whole group goes
    (task,) = runner.select(["plain"])
    code, seconds, out, _ = runner.run_task(claude, task, base_url="http://127.0.0.1:9", api_key="k", model="m", scratch=tmp_path / "s", timeout=1)
    assert code is None
    assert seconds < 10
    run = runner.TaskRun(task=task, client="claude-code", exit_code=code, seconds=seconds, stdout=out, stderr="", exchanges=["0001-messages"], broken=["stream.event_order"])
    _, finding = run.finding(runner.rule())
    assert finding.outcome is Outcome.FAIL
    assert finding.case_id == "clients.claude_code_completes:plain"
    assert "was killed after the task timeout" in finding.message
    assert "stream.event_order" in finding.message


def test_a_task_sees_only_its_scratch_folder_and_our_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_AUTH_TOKEN", "user-secret-token")
    claude = executable(tmp_path / "claude", "#!/bin/sh\npwd\nls\nenv | sort\n")
    (task,) = runner.select(["read-file"])
    code, _, out, _ = runner.run_task(claude, task, base_url="http://127.0.0.1:9", api_key="sk-k", model="m", scratch=tmp_path / "s", timeout=10)
    assert code == 0
    assert f"{tmp_path / 's' / 'work'}\nnotes.txt\n" in out
    assert f"HOME={tmp_path / 's' / 'home'}" in out
    assert "ANTHROPIC_BASE_URL=http://127.0.0.1:9" in out
    assert "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1" in out
    assert "user-secret-token" not in out
