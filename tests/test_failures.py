"""Every httpx exception has exactly one recorded kind, and the messages name the target's failure without a secret."""

from __future__ import annotations

import httpx
import pytest

from conformance.exchange import ErrorKind
from conformance.failures import CAUGHT, HTTPX_KINDS, HTTPX_MISUSE, describe, kind_of, os_error_in

EXPOSED = sorted((value for value in vars(httpx).values() if isinstance(value, type) and issubclass(value, Exception)), key=lambda cls: cls.__name__)


def test_every_exception_httpx_exposes_is_placed_exactly_once():
    """An httpx upgrade that adds an exception fails here until it is given a kind or named a misuse of ours."""
    unplaced = [cls.__name__ for cls in EXPOSED if cls not in HTTPX_KINDS and cls not in HTTPX_MISUSE]
    twice = [cls.__name__ for cls in EXPOSED if cls in HTTPX_KINDS and cls in HTTPX_MISUSE]
    assert (unplaced, twice) == ([], [])
    assert set(HTTPX_KINDS) | HTTPX_MISUSE == set(EXPOSED), "the table names nothing httpx does not expose"


@pytest.mark.parametrize("cls", sorted(HTTPX_KINDS, key=lambda cls: cls.__name__), ids=lambda cls: cls.__name__)
def test_a_kind_is_caught_by_the_send_and_a_misuse_is_not(cls):
    assert issubclass(cls, CAUGHT)


@pytest.mark.parametrize("cls", sorted(HTTPX_MISUSE, key=lambda cls: cls.__name__), ids=lambda cls: cls.__name__)
def test_a_misuse_of_httpx_escapes_the_send(cls):
    assert not issubclass(cls, CAUGHT), "our bug must surface, not be recorded as the target's failure"


def test_only_deadlines_and_refused_connections_are_told_apart():
    timeouts = {cls for cls, kind in HTTPX_KINDS.items() if kind is ErrorKind.TIMEOUT}
    assert timeouts == {cls for cls in HTTPX_KINDS if issubclass(cls, httpx.TimeoutException)}
    assert [cls for cls, kind in HTTPX_KINDS.items() if kind is ErrorKind.UNREACHABLE] == [httpx.ConnectError]


def test_a_subclass_httpx_adds_later_takes_its_nearest_listed_base():
    class NewReadTimeout(httpx.ReadTimeout):
        pass

    assert kind_of(NewReadTimeout("slow")) is ErrorKind.TIMEOUT
    assert kind_of(httpx.ConnectError("refused")) is ErrorKind.UNREACHABLE
    assert kind_of(httpx.RemoteProtocolError("bad")) is ErrorKind.PROTOCOL


def _refused() -> httpx.ConnectError:
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except OSError as inner:
            raise httpx.ConnectError("All connection attempts failed") from inner
    except httpx.ConnectError as exc:
        return exc


@pytest.mark.parametrize(
    ("exc", "line"),
    [
        (httpx.ConnectTimeout("x"), "connect timeout: nothing received for 10 s"),
        (httpx.ReadTimeout("x"), "read timeout: nothing received for 60 s"),
        (_refused(), "connection failed: connection refused"),
        (httpx.RemoteProtocolError("illegal header sk-SECRET"), "protocol error: illegal header [REDACTED]"),
        (httpx.RemoteProtocolError(""), "protocol error: RemoteProtocolError"),
        (httpx.InvalidURL("bad sk-SECRET"), "InvalidURL: bad [REDACTED]"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else "",
)
def test_describe_names_the_failure_with_target_text_redacted(exc, line):
    assert describe(exc, lambda text: text.replace("sk-SECRET", "[REDACTED]"), connect=10.0, read=60.0) == line


def test_an_os_error_anywhere_down_the_chain_is_found():
    assert os_error_in(_refused())
    assert not os_error_in(httpx.RemoteProtocolError("bad"))
