"""The options of a run, declared once: the frozen ``Options`` whose fields carry their own flags.

Every field with a ``Flag`` is an option of ``anthropic-conformance run`` (argparse) and of
``pytest --pyargs conformance`` (``pytest_addoption``); both are generated from the fields, and
so is the argv the CLI hands to pytest (``pytest_argv``), so a new option is one field here.
A field without a ``Flag`` (``step_summary``, a targets file's ``headers``) is set by code only.
This module knows neither argparse's parser objects beyond ``add_argument`` nor pytest.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from . import extra_headers
from .arguments import count, seconds
from .errors import ConfigError

TIERS = ("smoke", "core", "full")
CLIENT_IMPACT_MODES = ("install", "installed", "off")
CLIENT_IMPACT_ENV = "CONFORMANCE_CLIENT_IMPACT"  # the default mode of --client-impact (the project's tests set it to off)
PYTEST_DEST = "conformance_"  # prefix of the pytest dest, so our names never clash with another plugin's


@dataclass(frozen=True, slots=True)
class Flag:
    """How one ``Options`` field is spelled on a command line; ``help`` names its default (a test checks)."""

    flag: str
    help: str
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    least: int | None = None  # an integer count that must be at least this
    seconds: bool = False  # a duration: finite and above 0
    repeat: bool = False  # may be given many times (a tuple of texts)
    cli: bool = True  # an option of ``anthropic-conformance run``
    pytest: bool = True  # an option of the pytest plugin
    secret: bool = False  # never written into an argv
    cli_default: Callable[[], object] | None = None  # where the CLI's default differs from the field's
    pytest_default: Callable[[], object] | None = None  # where the plugin's default differs from the field's
    pytest_help: str | None = None  # where the plugin's default needs other words


def _option(default: Any, flag: Flag, *, shown: bool = True) -> Any:
    return field(default=default, repr=shown, metadata={"flag": flag})


def _impact_default(fallback: str) -> Callable[[], object]:
    return lambda: os.environ.get(CLIENT_IMPACT_ENV) or fallback


@dataclass(frozen=True)
class Options:
    """What a user chose for one run, from the CLI, pytest options, a targets file or the Python API."""

    base_url: str | None = _option(None, Flag("--base-url", "target base URL; the suite appends /v1/messages (default: embedded reference server)", metavar="URL"))
    api_key: str | None = _option(None, Flag("--api-key", "API key for the target (default: $ANTHROPIC_API_KEY)", metavar="KEY", cli=False, secret=True), shown=False)
    api_key_env: str | None = _option(
        None, Flag("--api-key-env", "environment variable holding the target's API key (default: ANTHROPIC_API_KEY)", metavar="VAR", cli_default=lambda: "ANTHROPIC_API_KEY")
    )
    header_args: tuple[str, ...] = _option(
        (),
        Flag(
            "--header",
            "send this header on every request (repeatable), e.g. a gateway's routing header; VALUE may be ${VAR}, read from the environment and redacted like the key (default: none)",
            metavar="'NAME: VALUE'",
            repeat=True,
        ),
        shown=False,
    )
    run_id: str | None = _option(None, Flag("--run-id", "name of the run folder under --report-dir (default: a timestamp)", metavar="ID", cli=False))
    model: str | None = _option(None, Flag("--model", "model id to test (default: the profile's default model)", metavar="MODEL"))
    profile: str | None = _option(None, Flag("--profile", "provider profile: its documented deviations (default: anthropic; reference for the embedded server)", metavar="PROFILE"))
    api_version: str = _option(
        "2023-06-01", Flag("--api-version", "primary anthropic-version (default: 2023-06-01); version-dependent rules are judged under every live version", metavar="API_VERSION")
    )
    tier: str | None = _option(None, Flag("--tier", "run only this tier, smoke < core < full: each includes the ones before it (default: full)", choices=TIERS))
    concurrency: int | None = _option(None, Flag("--concurrency", "requests in flight at once (default: 4; 8 for the embedded server)", metavar="N", least=1))
    report_dir: str = _option("reports", Flag("--report-dir", "where reports/<run-id>/ is written (default: reports)", metavar="DIR"))
    target_name: str | None = _option(None, Flag("--target-name", "a name for the target in reports and baselines (default: its base URL)", metavar="NAME"))
    baseline: str | None = _option(
        None, Flag("--baseline", "YAML of expected MUST failures (with reasons, optional expiry): listed failures do not fail the run (default: none)", metavar="FILE")
    )
    strict_baseline: bool = _option(False, Flag("--strict-baseline", "a baseline entry that now passes (stale) fails the run, and a TODO reason is refused (default: off)"))
    write_baseline: str | None = _option(
        None, Flag("--write-baseline", "write this run's MUST failures as a starting baseline, each with a TODO reason to replace (default: not written)", metavar="FILE")
    )
    max_requests: int | None = _option(None, Flag("--max-requests", "refuse to start a run that could send more than N requests (default: no limit)", metavar="N", least=1))
    max_tokens_total: int | None = _option(None, Flag("--max-tokens-total", "refuse to start a run whose token upper bound exceeds N (default: no limit)", metavar="N", least=1))
    against: str | None = _option(
        None, Flag("--against", "compare with an earlier run's results.json: what got better, worse, what is new (default: none)", metavar="RESULTS_JSON")
    )
    behaviour_retries: int = _option(1, Flag("--behaviour-retries", "resend a failed behaviour probe up to N times; a late pass is a warning (default: 1)", metavar="N", least=0))
    spec_dir: str | None = _option(None, Flag("--spec-dir", "use spec files from DIR instead of the packaged ones (default: the packaged specs)", metavar="DIR"))
    request_timeout: float = _option(180.0, Flag("--request-timeout", "longest time one exchange may take (default: 180)", metavar="S", seconds=True))
    idle_timeout: float = _option(60.0, Flag("--idle-timeout", "longest silence tolerated while reading (default: 60)", metavar="S", seconds=True))
    client_impact: str = _option(
        "off",
        Flag(
            "--client-impact",
            "replay every exchange, offline, into the official Python, TypeScript and AI SDK clients; install: missing ones go into ~/.cache first (default)",
            choices=CLIENT_IMPACT_MODES,
            cli_default=_impact_default("install"),
            pytest_default=_impact_default("installed"),
            pytest_help="replay every exchange into the official clients offline: install (missing ones into the cache first), installed (only those present), off"
            " (default: installed, or $CONFORMANCE_CLIENT_IMPACT)",
        ),
    )
    step_summary: bool = True  # append summary.md to $GITHUB_STEP_SUMMARY (a comparison writes its own instead)
    headers: tuple[extra_headers.HeaderSpec, ...] = field(default=(), repr=False)  # a targets file's headers (--header wins)

    def check(self) -> None:
        """Counts and durations a run can work with (``ConfigError`` naming the option, before any request)."""
        for name, flag in flags():
            value = getattr(self, name)
            if flag.least is not None and value is not None and value < flag.least:
                raise ConfigError(f"{flag.flag} must be {_count_kind(flag.least)}, got {value}")
            if flag.seconds and not (value > 0 and math.isfinite(value)):
                raise ConfigError(f"{flag.flag} must be a number of seconds above 0, got {value}")

    @property
    def embedded(self) -> bool:
        """No URL: the run targets the embedded reference server."""
        return not self.base_url

    @property
    def names(self) -> list[str]:
        """Every name a baseline entry may use for this target."""
        from urllib.parse import urlsplit

        names = [self.target_name] if self.target_name else []
        if self.embedded:
            return [*names, "embedded", "reference"]
        return [*names, str(self.base_url), urlsplit(str(self.base_url)).netloc]

    @property
    def profile_name(self) -> str:
        """The chosen profile; by default ``reference`` for the embedded server and ``anthropic`` otherwise."""
        return self.profile or ("reference" if self.embedded else "anthropic")


def flags() -> Iterator[tuple[str, Flag]]:
    """Every option field with its flag, in declaration order (the order of ``--help``)."""
    for item in dataclasses.fields(Options):
        flag = item.metadata.get("flag")
        if isinstance(flag, Flag):
            yield item.name, flag


def _default(name: str, flag: Flag, which: Callable[[], object] | None) -> object:
    return which() if which is not None else next(f.default for f in dataclasses.fields(Options) if f.name == name)


def _count_kind(least: int) -> str:
    return "a positive integer" if least == 1 else f"an integer >= {least}"


# ------------------------------------------------------------------------------ argparse


def _kind(flag: Flag, *, strict: bool) -> dict[str, Any]:
    """The argparse keywords that give a value its type: strict types for the CLI, plain ones for pytest (``Options.check`` judges there)."""
    if flag.repeat:
        return {"action": "append"}
    if flag.least is not None:
        return {"type": count(flag.least) if strict else int}
    if flag.seconds:
        return {"type": seconds if strict else float}
    return {"choices": flag.choices} if flag.choices else {}


def add_arguments(parser: argparse.ArgumentParser, *only: str, helps: dict[str, str] | None = None) -> None:
    """Add the CLI's run options (or ``only`` these, with ``helps`` in place of the table's words) to an argparse parser."""
    for name, flag in flags():
        if not flag.cli or (only and name not in only):
            continue
        default = _default(name, flag, flag.cli_default)
        kwargs: dict[str, Any] = {"dest": name, "help": (helps or {}).get(name, flag.help)}
        if isinstance(default, bool):
            kwargs |= {"action": "store_true"}
        else:
            kwargs |= {"default": list(default) if isinstance(default, tuple) else default, "metavar": flag.metavar, **_kind(flag, strict=True)}
        parser.add_argument(flag.flag, **kwargs)


def from_namespace(args: argparse.Namespace, **more: Any) -> Options:
    """The frozen options of a parsed CLI command (options it does not have keep their defaults)."""
    values = {name: getattr(args, name) for name, flag in flags() if hasattr(args, name)}
    return Options(**_frozen(values), **more)


def _frozen(values: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}


# -------------------------------------------------------------------------------- pytest


def pytest_options() -> Iterator[tuple[str, dict[str, Any]]]:
    """(flag, ``addoption`` keywords) of every plugin option; ``--base-url`` comes first, to be claimed apart (see plugin.py)."""
    for name, flag in flags():
        if not flag.pytest:
            continue
        default = _default(name, flag, flag.pytest_default)
        kwargs: dict[str, Any] = {"dest": name if name == "base_url" else PYTEST_DEST + name, "help": flag.pytest_help or flag.help}
        if isinstance(default, bool):
            kwargs |= {"action": "store_true", "default": default}
        else:
            kwargs |= {"default": list(default) if isinstance(default, tuple) else default, "metavar": flag.metavar, **_kind(flag, strict=False)}
        yield flag.flag, kwargs


def from_pytest(getoption: Callable[[str], Any], base_url: str | None) -> Options:
    """The frozen options of a pytest run (``base_url`` is read apart: another plugin may own the flag)."""
    values = {name: getoption(PYTEST_DEST + name) for name, flag in flags() if flag.pytest and name != "base_url"}
    return Options(base_url=base_url, **_frozen(values))


def pytest_argv(options: Options) -> list[str]:
    """The plugin options that carry ``options`` into a pytest run: every value that differs from the plugin's default.

    ``--base-url`` is always given, empty for the embedded server (pytest-base-url would otherwise
    read $PYTEST_BASE_URL into it); a secret is never given (the key travels by variable name).
    """
    argv = [f"--base-url={options.base_url or ''}"]
    for name, flag in flags():
        value = getattr(options, name)
        if not flag.pytest or flag.secret or name == "base_url" or value == _default(name, flag, flag.pytest_default):
            continue
        if flag.repeat:
            argv += [f"{flag.flag}={text}" for text in value]  # ${VAR} travels unread: the value never enters an argv
        elif isinstance(value, bool):
            argv.append(flag.flag)
        elif value is not None:
            argv += [flag.flag, str(value)]
    return argv
