"""conformance/options.py: one table makes the CLI's options, the plugin's, and the argv between them."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from conformance import options
from conformance.cli import _parser
from conformance.errors import ConfigError
from conformance.options import Options


def _plugin_parser() -> argparse.ArgumentParser:
    """What pytest_addoption builds, on a bare argparse parser (pytest's addoption takes the same keywords)."""
    parser = argparse.ArgumentParser()
    for flag, kwargs in options.pytest_options():
        parser.add_argument(flag, **kwargs)
    return parser


def _from_plugin(argv: list[str]) -> Options:
    parsed = vars(_plugin_parser().parse_args(argv))
    return options.from_pytest(lambda dest: parsed[dest], parsed["base_url"] or None)


def test_the_cli_hands_every_option_to_pytest_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GW", "secret")
    monkeypatch.delenv(options.CLIENT_IMPACT_ENV, raising=False)
    argv = ["run", "--base-url", "https://gw.example", "--api-key-env", "GW", "--header", "x-route: a", "--header", "x-key: ${GW}", "--model", "m",
            "--profile", "litellm", "--api-version", "2026-10-21", "--tier", "core", "--concurrency", "3", "--report-dir", "out", "--target-name", "gw",
            "--baseline", "b.yaml", "--strict-baseline", "--write-baseline", "w.yaml", "--max-requests", "9", "--max-tokens-total", "999", "--against", "r.json",
            "--behaviour-retries", "0", "--spec-dir", "specs", "--request-timeout", "12.5", "--idle-timeout", "3", "--client-impact", "off"]
    chosen = options.from_namespace(_parser().parse_args(argv), run_id="run-1")
    handed = options.pytest_argv(chosen)
    assert "secret" not in " ".join(handed)  # ${VAR} travels unread
    assert _from_plugin(handed) == chosen
    assert chosen.header_args == ("x-route: a", "x-key: ${GW}")


def test_defaults_travel_as_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(options.CLIENT_IMPACT_ENV, raising=False)
    chosen = options.from_namespace(_parser().parse_args(["run"]))
    assert options.pytest_argv(chosen) == ["--base-url=", "--api-key-env", "ANTHROPIC_API_KEY", "--client-impact", "install"]
    assert _from_plugin(options.pytest_argv(chosen)) == chosen
    assert _from_plugin([]) == dataclasses.replace(Options(), api_key_env=None, client_impact="installed")


def test_a_key_given_to_the_plugin_never_enters_an_argv() -> None:
    assert "--api-key" not in options.pytest_argv(Options(base_url="https://x", api_key="sk-secret"))
    assert "sk-secret" not in repr(Options(api_key="sk-secret"))


def test_every_field_is_an_option_or_set_by_code_only() -> None:
    flagged = {name for name, _ in options.flags()}
    assert {f.name for f in dataclasses.fields(Options)} - flagged == {"step_summary", "headers"}
    cli_only = {name for name, flag in options.flags() if not flag.pytest}
    plugin_only = {name for name, flag in options.flags() if not flag.cli}
    assert (cli_only, plugin_only) == (set(), {"api_key", "run_id"})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"concurrency": 0}, "--concurrency must be a positive integer, got 0"),
        ({"behaviour_retries": -1}, "--behaviour-retries must be an integer >= 0, got -1"),
        ({"request_timeout": float("nan")}, "--request-timeout must be a number of seconds above 0, got nan"),
        ({"idle_timeout": 0.0}, "--idle-timeout must be a number of seconds above 0, got 0.0"),
    ],
)
def test_check_names_the_option(change: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        dataclasses.replace(Options(), **change).check()  # type: ignore[arg-type]
    assert str(raised.value) == message
