"""httpx's exceptions as the recorded ``ErrorKind`` and one line naming what the target did.

One table decides the kind of every exception httpx exposes, so the transport and the proxy record
the same kind for the same failure and nothing downstream matches on an exception's name. A test
holds the table complete: an httpx upgrade that adds an exception fails it until the exception is
placed. The messages never carry a secret: every target text goes through ``redact``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import httpx

from .exchange import ErrorKind

_TIMEOUT, _UNREACHABLE, _PROTOCOL = ErrorKind.TIMEOUT, ErrorKind.UNREACHABLE, ErrorKind.PROTOCOL

# Every exception httpx can raise while a target answers, by class (a subclass httpx adds later
# takes its nearest listed base). Most are the target breaking HTTP; only a deadline and a refused
# connection are told apart, because the preflight and the breaker act on them.
HTTPX_KINDS: Mapping[type[Exception], ErrorKind] = {
    httpx.TimeoutException: _TIMEOUT,
    httpx.ConnectTimeout: _TIMEOUT,
    httpx.ReadTimeout: _TIMEOUT,
    httpx.WriteTimeout: _TIMEOUT,
    httpx.PoolTimeout: _TIMEOUT,
    httpx.ConnectError: _UNREACHABLE,
    httpx.HTTPError: _PROTOCOL,
    httpx.RequestError: _PROTOCOL,
    httpx.TransportError: _PROTOCOL,
    httpx.NetworkError: _PROTOCOL,
    httpx.ReadError: _PROTOCOL,
    httpx.WriteError: _PROTOCOL,
    httpx.CloseError: _PROTOCOL,
    httpx.ProtocolError: _PROTOCOL,
    httpx.LocalProtocolError: _PROTOCOL,
    httpx.RemoteProtocolError: _PROTOCOL,
    httpx.ProxyError: _PROTOCOL,
    httpx.UnsupportedProtocol: _PROTOCOL,
    httpx.DecodingError: _PROTOCOL,
    httpx.TooManyRedirects: _PROTOCOL,
    httpx.HTTPStatusError: _PROTOCOL,
    httpx.InvalidURL: _PROTOCOL,  # a redirect's Location the target made up
}
# Raised only when our code misuses httpx (a consumed stream, a cookie clash): a bug of ours that
# must surface as one, never be recorded as the target's failure, so nothing catches them.
HTTPX_MISUSE: frozenset[type[Exception]] = frozenset(
    {httpx.CookieConflict, httpx.StreamError, httpx.StreamConsumed, httpx.StreamClosed, httpx.ResponseNotRead, httpx.RequestNotRead}
)
CAUGHT = (httpx.HTTPError, httpx.InvalidURL)  # what the table's keys have in common: the except clause of a send


def kind_of(exc: BaseException) -> ErrorKind:
    """The recorded kind of an httpx exception (its nearest class in ``HTTPX_KINDS``)."""
    return next((HTTPX_KINDS[cls] for cls in type(exc).__mro__ if cls in HTTPX_KINDS), _PROTOCOL)


def describe(exc: BaseException, redact: Callable[[str], str], *, connect: float, read: float) -> str:
    """The transport's one line for an httpx failure: which deadline ran out, what refused the connection, or what broke."""
    kind = kind_of(exc)
    if kind is _TIMEOUT:
        phase = {"ConnectTimeout": "connect", "ReadTimeout": "read", "WriteTimeout": "write", "PoolTimeout": "pool"}.get(type(exc).__name__, "")
        return f"{phase} timeout: nothing received for {connect if phase == 'connect' else read:g} s"
    if kind is _UNREACHABLE:
        return f"connection failed: {redact(_root_cause(exc))}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"protocol error: {redact(str(exc)) or type(exc).__name__}"
    return f"{type(exc).__name__}: {redact(str(exc))}"


def os_error_in(exc: BaseException) -> bool:
    """Whether an exception chain holds an OSError (a reset, a broken pipe) somewhere down."""
    return any(isinstance(link, OSError) for link in _chain(exc))


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what caused it, outermost first, each once (a chain may loop)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _root_cause(exc: BaseException) -> str:
    """The most specific reason in an exception chain (httpx hides 'Connection refused' two levels down)."""
    for candidate in reversed(_chain(exc)):
        if isinstance(candidate, ConnectionRefusedError):
            return "connection refused"
        if isinstance(candidate, OSError) and candidate.strerror:
            return candidate.strerror
        if str(candidate):
            return str(candidate)
    return type(exc).__name__
