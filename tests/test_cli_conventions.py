"""Command-line conventions a user expects: -q/-v, NO_COLOR/FORCE_COLOR, progress, suggestions, defaults in
--help, registered markers, what --against changed, and honest words about baselines."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cli import _parser
from conformance.reference import ReferenceServer
from conformance.report import terminal


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "GITHUB_STEP_SUMMARY", "NO_COLOR", "FORCE_COLOR")}
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "conformance", *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=300, check=False)


def test_quiet_prints_the_verdict_alone_and_verbose_every_case(tmp_path: Path) -> None:
    quiet = cli("run", "--tier", "smoke", "-q", cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    lines = quiet.stdout.strip().splitlines()
    assert lines[0].startswith("0 fail · 0 warn · 0 error · 0 skip · ")
    assert lines[-1].startswith("report reports/")
    assert len(lines) == 2
    loud = cli("run", "--tier", "smoke", "--verbose", cwd=tmp_path)
    assert "\nPassed (" in loud.stdout
    assert "    ✓ auth.missing_key_rejected — auth.missing: status 401\n" in loud.stdout  # with the first item it judged
    normal = cli("run", "--tier", "smoke", cwd=tmp_path)
    assert "Passed (" not in normal.stdout
    assert "requests " in normal.stderr


def test_quiet_and_verbose_exclude_each_other(tmp_path: Path) -> None:
    both = cli("run", "-q", "-v", cwd=tmp_path)
    assert both.returncode == 2
    assert both.stderr.strip().splitlines() == ["anthropic-conformance run: argument -v/--verbose: not allowed with argument -q/--quiet (see anthropic-conformance run --help)"]


def test_colour_follows_no_color_and_force_color() -> None:
    class Pipe:
        def isatty(self) -> bool:
            return False

    class Tty(Pipe):
        def isatty(self) -> bool:
            return True

    assert terminal.colour(Tty(), {}) is True  # type: ignore[arg-type]
    assert terminal.colour(Pipe(), {}) is False  # type: ignore[arg-type]
    assert terminal.colour(Pipe(), {"FORCE_COLOR": "1"}) is True  # type: ignore[arg-type]
    assert terminal.colour(Tty(), {"NO_COLOR": "1"}) is False  # type: ignore[arg-type]
    assert terminal.colour(Pipe(), {"FORCE_COLOR": "1", "NO_COLOR": "1"}) is False  # type: ignore[arg-type]
    assert terminal.colour(Pipe(), {"FORCE_COLOR": ""}) is False  # type: ignore[arg-type]  # set but empty counts as unset
    assert terminal.colour(Tty(), {"CI": "true", "FORCE_COLOR": "1"}) is True  # type: ignore[arg-type]


def test_force_color_paints_a_piped_summary_and_no_color_wins(tmp_path: Path) -> None:
    forced = cli("run", "--tier", "smoke", cwd=tmp_path, env={"FORCE_COLOR": "1"})
    assert "\x1b[32m" in forced.stdout
    assert "\r" not in forced.stderr  # colour, but never an updating line in a log
    both = cli("run", "--tier", "smoke", cwd=tmp_path, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert "\x1b[" not in both.stdout + both.stderr


def test_a_mistyped_profile_gets_a_suggestion_and_the_list(tmp_path: Path) -> None:
    result = cli("run", "--profile", "antropic", cwd=tmp_path)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("anthropic-conformance: unknown profile 'antropic': did you mean 'anthropic'? Shipped profiles: anthropic, ")
    assert "litellm" in line
    assert "reference" in line


def _options(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.Action]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += [(f"{name} {opt}", act) for opt, act in _options(sub)]
        elif action.option_strings and not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            found.append((action.option_strings[-1], action))
    return found


def test_help_names_every_default() -> None:
    missing = [name for name, action in _options(_parser()) if "default" not in (action.help or "")]
    assert missing == []
    assert "(default: full)" in _parser()._subparsers._group_actions[0].choices["run"].format_help()  # type: ignore[union-attr]


def test_the_area_markers_are_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--markers", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["@pytest.mark.stream: conformance checks of the stream area", "@pytest.mark.tools: conformance checks of the tools area"])
    strict = pytester.runpytest_subprocess("--pyargs", "conformance", "-p", "no:cacheprovider", "--strict-markers", "--tier", "smoke", "-m", "auth")
    assert strict.ret == 0, strict.stdout.str()


def _targets(tmp_path: Path, url: str, name: str = "faithful") -> Path:
    path = tmp_path / "targets.toml"
    path.write_text(f'[[target]]\nname = "{name}"\nbase_url = "{url}"\napi_key = "${{KEY}}"\nprofile = "reference"\n', encoding="utf-8")
    return path


def test_compare_shows_progress_and_prints_what_changed(tmp_path: Path, reference: ReferenceServer, reference_key: str) -> None:
    _targets(tmp_path, reference.base_url)
    env = {"KEY": reference_key}
    first = cli("compare", "targets.toml", "--tier", "core", "--report-dir", "first", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    assert "  faithful: requests 1/" in first.stderr
    earlier = next((tmp_path / "first").glob("compare-*")) / "comparison.json"
    _targets(tmp_path, reference.base_url + "/_faults/stop-reason-stop")
    second = cli("compare", "targets.toml", "--tier", "core", "--against", str(earlier), cwd=tmp_path, env=env)
    assert second.returncode == 1
    assert f"  against {earlier}:\n    faithful: 0 better, 2 worse, 0 new, 0 gone\n" in second.stdout
    assert "      worse: stop_reason.end_turn_on_natural_stop pass → fail\n      worse: stop_reason.known_value pass → warn\n" in second.stdout
    quiet = cli("compare", "targets.toml", "--tier", "core", "-q", cwd=tmp_path, env=env)
    assert quiet.stderr == ""


def test_a_skip_a_smaller_tier_explains_is_not_worse(tmp_path: Path) -> None:
    full = cli("run", "--report-dir", "full", cwd=tmp_path)
    assert full.returncode == 0, full.stderr
    earlier = next((tmp_path / "full").glob("2*")) / "results.json"
    assert json.loads(earlier.read_text(encoding="utf-8"))["run"]["tier"] == "full"
    core = cli("run", "--tier", "core", "--against", str(earlier), cwd=tmp_path)
    assert core.returncode == 0, core.stderr
    against = json.loads((tmp_path / "reports" / "latest" / "results.json").read_text(encoding="utf-8"))["against"]
    assert against["worse"] == []
    assert {"id": "recovery.stream_not_buffered", "before": "pass", "now": "skip"} in against["tier"]
    assert f"Against {earlier}: 0 better, 0 worse, 0 new, " in core.stdout
    assert "to or from skip, not counted as worse: tier full then, core now" in core.stdout


def test_write_baseline_says_its_reasons_are_todo_and_strict_refuses_them(tmp_path: Path, reference: ReferenceServer, reference_key: str) -> None:
    faulty = reference.base_url + "/_faults/stop-reason-stop"
    common = ("--base-url", faulty, "--api-key-env", "K", "--profile", "reference", "-k", "stop_reason")
    env = {"K": reference_key}
    written = cli("run", *common, "--write-baseline", "known.yaml", cwd=tmp_path, env=env)
    assert written.returncode == 1
    assert (
        "anthropic-conformance: wrote 1 baseline entry to known.yaml, each with a TODO reason: replace it with why the deviation is tolerated"
        " (--strict-baseline refuses TODO reasons)"
    ) in written.stderr
    lenient = cli("run", *common, "--baseline", "known.yaml", cwd=tmp_path, env=env)
    assert lenient.returncode == 0, lenient.stdout
    strict = cli("run", *common, "--baseline", "known.yaml", "--strict-baseline", cwd=tmp_path, env=env)
    assert strict.returncode == 2
    (line,) = strict.stderr.strip().splitlines()
    assert line == (
        "anthropic-conformance: baseline known.yaml: expected_failures[0] (stop_reason.end_turn_on_natural_stop):"
        " the reason is still the TODO --write-baseline left; --strict-baseline needs why the failure is tolerated"
    )
    text = (tmp_path / "known.yaml").read_text(encoding="utf-8").replace("TODO: why this deviation is tolerated (link the vendor ticket)", "vendor ticket GW-12")
    (tmp_path / "known.yaml").write_text(text, encoding="utf-8")
    assert cli("run", *common, "--baseline", "known.yaml", "--strict-baseline", cwd=tmp_path, env=env).returncode == 0
