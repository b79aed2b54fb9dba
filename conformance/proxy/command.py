"""``anthropic-conformance proxy``: options in, a foreground proxy session, the run folder and an exit code out.

Owns turning the command line into an ``Upstream`` (``--header 'Name: value'``, where ``${VAR}`` is
read from the environment so that no key has to sit on a command line) and a ``Session``, the
lines a user reads at start and at the end, and the exit code: 1 when a MUST rule was broken,
else 0 (2 for a bad option, as every command).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import replace
from urllib.parse import urlsplit

from ..contract.model import Contract
from ..engine import resolve_model
from ..errors import ConfigError
from ..redact import Redactor
from ..report import terminal
from ..versions import load_contracts
from .app import Upstream
from .server import serve_foreground
from .session import Session, Settings

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand(header: str, value: str) -> str:
    """``value`` with each ``${VAR}`` replaced by the environment variable (ConfigError naming a missing one)."""

    def one(match: re.Match[str]) -> str:
        found = os.environ.get(match.group(1))
        if found is None:
            raise ConfigError(f"--header {header}: environment variable {match.group(1)} is not set")
        return found

    return _VAR.sub(one, value)


def parse_headers(values: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """``Name: value`` pairs, each ``${VAR}`` replaced by the environment variable (ConfigError naming what is wrong)."""
    out: list[tuple[str, str]] = []
    for item in values:
        name, colon, value = item.partition(":")
        if not colon or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name.strip()):
            raise ConfigError(f"--header {item.split(':', 1)[0]!r}…: expected 'Name: value'")
        out.append((name.strip(), _expand(name.strip(), value.strip())))
    return tuple(out)


def check_upstream(url: str) -> str:
    """The upstream base URL, or ConfigError: an http(s) URL; a trailing /v1 is the most common mistake."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"--upstream {url!r}: expected an http:// or https:// base URL")
    if parts.path.rstrip("/").endswith("/v1"):
        raise ConfigError(f"--upstream {url!r} ends in /v1: give the base URL (clients append /v1/messages themselves)")
    return url.rstrip("/")


def contracts_for(profile: str, api_version: str, spec_dir: str | None) -> dict[str, Contract]:
    """Every live version's contract under the profile (a broken spec is a one-line exit 2 before anything listens)."""
    return load_contracts(api_version, profile, spec_dir=spec_dir)


def run(args: argparse.Namespace) -> int:
    """The ``proxy`` command."""
    upstream_url = check_upstream(str(args.upstream))
    headers = parse_headers(args.header or [])
    profile = str(args.profile or "anthropic")
    contracts = contracts_for(profile, str(args.api_version), args.spec_dir)
    primary = next(iter(contracts.values()))
    model = args.model or primary.profile.default_model or "claude-sonnet-4-5"
    resolve_model(primary, model)
    shown_upstream = Redactor([v for _, v in headers]).text(upstream_url)
    colour = terminal.fancy(sys.stderr)
    settings = Settings(upstream=shown_upstream, profile=profile, report_dir=str(args.report_dir), target_name=args.target_name, default_model=model)
    session = Session(contracts, settings, out=sys.stderr, colour=colour)
    upstream = Upstream(base_url=upstream_url, headers=headers)

    ready_url: list[str] = []

    def ready(url: str) -> None:
        ready_url.append(url)
        session.settings = replace(settings, listen=url)
        print(f"anthropic-conformance proxy: {url} → {shown_upstream} (profile {profile})", file=sys.stderr)
        print(f"  point a client at it: ANTHROPIC_BASE_URL={url}", file=sys.stderr)
        print(f"  every exchange is judged as it completes; Ctrl-C (or SIGTERM) writes the report to {session.run_dir}", file=sys.stderr, flush=True)

    host, port = str(args.host), int(args.port)
    try:
        serve_foreground(upstream, session, host=host, port=port, on_ready=ready)
    except SystemExit:  # uvicorn exits when it cannot listen (it has logged why)
        if ready_url:
            raise
    if not ready_url:
        session.discard()
        raise ConfigError(f"cannot listen on {host}:{port} (in use, or not an address of this machine)")
    published = session.close()
    report = published.run_dir / "report.html"
    print(terminal.summary(published.document, report_path=str(report), colour=terminal.fancy(sys.stdout)))
    return 1 if published.failed else 0
