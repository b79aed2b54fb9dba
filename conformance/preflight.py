"""The preflight: one basic request decides whether the target can be tested, and how.

A target that refuses the basic request may still be usable: one that accepts only
``Authorization: Bearer`` (or only ``x-api-key``), or only one of the live API versions, answers
everything else. Before the run gives up (``TargetError``, exit 3), the preflight tries the other
auth scheme and the other live version — at most three more requests, and only after a refusal
(400, 401, 403, 422) — and the run goes on with the first way that works. What was refused stays a
finding: the run still sends the auth and version cases, which then fail on their own answers, and
the result says which ways were tried. Knows nothing of httpx (the transport's job) or judging.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from ._types import JSONObject
from .auth import Scheme
from .errors import AuthRejected, RateLimited, TargetError, TargetTimeout, TargetUnreachable
from .exchange import ErrorKind, Exchange
from .scenarios import Request
from .transport import Transport

PREFLIGHT = "plain"
# Refusals of the request as sent, which another scheme or version may cure. Not 404 (a wrong base
# URL or model), 429/529 (busy), 5xx or no answer at all: no other way of asking fixes those.
FALLBACK_STATUSES = frozenset({400, 401, 403, 422})
MAX_FALLBACKS = 3  # the other scheme, the other version, and both


@dataclass(frozen=True, slots=True)
class Way:
    """One way of sending the basic request: the auth scheme and the anthropic-version."""

    scheme: Scheme
    version: str

    def describe(self) -> str:
        """``x-api-key with 2023-06-01``."""
        return f"{self.scheme.header} with {self.version}"


@dataclass(frozen=True)
class Attempt:
    """One preflight request: the way it was sent and what came back."""

    way: Way
    exchange: Exchange

    def said(self) -> str:
        """The answer in one line: the status and the error's type and message, or why none came."""
        problem = preflight_problem(self.exchange, "")
        if problem is None:
            return f"{self.exchange.status}"
        return _answer(self.exchange)


@dataclass(frozen=True)
class Preflight:
    """What the preflight found: the way asked for, the way the run uses, and every request sent on the way."""

    asked: Way
    used: Way
    attempts: tuple[Attempt, ...]

    @property
    def fell_back(self) -> bool:
        """The target refused the way asked for, and the run uses another."""
        return self.used != self.asked

    def refused(self) -> list[Attempt]:
        """The attempts the target did not accept."""
        return [a for a in self.attempts if a.way != self.used]

    def summary(self) -> str:
        """One line for the run's summary: what was refused and what the run used instead."""
        if not self.fell_back:
            return f"{self.used.describe()} accepted"
        refused = "; ".join(f"{a.way.describe()} → {a.said()}" for a in self.refused())
        return f"refused: {refused}; the run used {self.used.describe()} instead, and judges the refused ways in their own cases"

    def record(self) -> JSONObject:
        """results.json's ``run.preflight``."""
        return {
            "asked": {"auth": self.asked.scheme.value, "api_version": self.asked.version},
            "used": {"auth": self.used.scheme.value, "api_version": self.used.version},
            "fell_back": self.fell_back,
            "attempts": [{"auth": a.way.scheme.value, "api_version": a.way.version, "status": a.exchange.status, "said": a.said()} for a in self.attempts],
            "summary": self.summary(),
        }

    def refused_exchanges(self) -> list[Exchange]:
        """The refused attempts as exchanges for the cassette, each under its own id (replay ignores them)."""
        return [replace(a.exchange, id=f"preflight:{a.way.scheme.value}:{a.way.version}") for a in self.refused()]


def alternatives(asked: Way, versions: Sequence[str], status: int | None) -> list[Way]:
    """The ways to try after ``asked`` was refused with ``status``: what a 401/403 points at first, then the rest."""
    other_versions = [v for v in versions if v != asked.version][:1]
    by_scheme = [Way(asked.scheme.other, asked.version)]
    by_version = [Way(asked.scheme, v) for v in other_versions]
    both = [Way(asked.scheme.other, v) for v in other_versions]
    first, second = (by_scheme, by_version) if status in (401, 403) else (by_version, by_scheme)
    return [*first, *second, *both]


async def settle(
    transport: Transport, asked: Way, request_for: Callable[[Way], Request], *, versions: Sequence[str], allowed: int = MAX_FALLBACKS
) -> tuple[Exchange, Preflight]:
    """Send the preflight the way asked; after a refusal, up to ``allowed`` other ways. Raises ``TargetError`` when none works."""
    first = await transport.send(request_for(asked))
    problem = preflight_problem(first, transport.target.base_url)
    attempts = [Attempt(asked, first)]
    if problem is None:
        return first, Preflight(asked, asked, tuple(attempts))
    if first.status not in FALLBACK_STATUSES:
        raise problem
    for way in alternatives(asked, versions, first.status)[: max(allowed, 0)]:
        exchange = await transport.send(request_for(way))
        attempts.append(Attempt(way, exchange))
        if preflight_problem(exchange, transport.target.base_url) is None:
            return exchange, Preflight(asked, way, tuple(attempts))
    tried = "; ".join(f"{a.way.describe()} → {a.said()}" for a in attempts[1:])
    also = f"; also tried {tried}" if tried else "; no other way tried (--max-requests leaves no room)"
    raise type(problem)(f"{problem}{also}", url=problem.url)


# ------------------------------------------------------------------- why a target cannot be tested


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def one_line(text: str, limit: int = 300) -> str:
    """Target text fit for the run's one-line verdict: whitespace collapsed, control characters as ``\\xNN``, cut."""
    flat = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", " ".join(text.split()))
    return flat if len(flat) <= limit else flat[:limit] + "…"


def _said(value: object) -> str:
    """A field of the target's error envelope as text; a structure where a string belongs is named, not printed (it may nest 10,000 deep)."""
    if isinstance(value, str):
        return value
    return str(value) if value is None or isinstance(value, int | float) else f"<{type(value).__name__}>"


def _detail(exchange: Exchange) -> str:
    data = exchange.json
    error = data.get("error") if isinstance(data, dict) else None
    return one_line(f"{_said(error.get('type'))}: {_said(error.get('message'))}" if isinstance(error, dict) else exchange.text(400), 160)


def _answer(exchange: Exchange) -> str:
    """``401 authentication_error: invalid x-api-key``, or the transport's error when no status came."""
    if exchange.status is None:
        return one_line(str(exchange.error), 160)
    return f"{exchange.status} {_detail(exchange)}"


def preflight_problem(exchange: Exchange, base_url: str) -> TargetError | None:
    """Why the target cannot be tested at all, or None when the basic request worked."""
    where = f"{exchange.request.method} {exchange.request.url}"
    if exchange.status is None:
        kind = TargetTimeout if exchange.error_kind is ErrorKind.TIMEOUT else TargetUnreachable
        return kind(f"target unreachable: {where}: {one_line(str(exchange.error))}", url=exchange.request.url)
    if exchange.ok and exchange.error is not None:  # a status came, then the body never completed: every request would hang the same way
        broke: type[TargetError] = TargetTimeout if exchange.error_kind is ErrorKind.TIMEOUT else TargetError
        return broke(f"the target's answer to a basic request broke off: {where} → {exchange.status}, then after {len(exchange.body)} bytes: {one_line(exchange.error)}", url=exchange.request.url)
    if exchange.ok:
        return None
    detail = _detail(exchange)
    if exchange.status in (401, 403):
        scheme = "Authorization: Bearer" if exchange.request.header("authorization") else "x-api-key"
        return AuthRejected(f"the target refused the API key sent as {scheme}: {exchange.status} {detail} (check the key, and the profile's auth schemes)", url=exchange.request.url)
    if exchange.status in (429, 529):
        return RateLimited(f"the target is rate limiting or overloaded: {where} → {exchange.status} {detail} after {exchange.attempts} attempts", url=exchange.request.url)
    hint = ""
    if exchange.status == 404 and base_url.rstrip("/").endswith("/v1"):
        hint = " — the base URL ends in /v1, but the suite appends /v1/messages itself; drop the /v1"
    elif 300 <= exchange.status < 400:
        hint = f" — redirect to {one_line(str(exchange.header('location')))} (not followed to another origin, so the key stays private)"
    return TargetError(f"the target cannot answer a basic request: {where} → {exchange.status} {detail}{hint}", url=exchange.request.url)
