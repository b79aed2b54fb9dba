"""Errors of the tool and of its infrastructure, never verdicts about a target.

A verdict is a value (``findings.Finding``); an exception means the suite itself could not do
its job. The tree::

    ConformanceError            anything the tool reports as one line and exits on
    ├── ConfigError             a bad option, a missing ``${VAR}``, an unknown profile or fault
    ├── SpecError               a spec file that is unreadable or breaks its own schema
    ├── CassetteError           a cassette or results file that cannot be read back
    └── TargetError             the target could not be used at all (infrastructure)
        ├── TargetUnreachable   connection refused, DNS failure, TLS failure
        ├── TargetTimeout       no answer within the configured timeouts
        ├── RateLimited         429/529 persisted after the bounded retries
        └── AuthRejected        the target refused the key the suite was given
"""

from __future__ import annotations


class ConformanceError(Exception):
    """Base class: printed as one line, never as a traceback."""


class ConfigError(ConformanceError):
    """A user-supplied option or file is unusable."""


class SpecError(ConformanceError):
    """A spec file is broken; names the file and the JSON pointer inside it."""

    def __init__(self, message: str, *, file: str, pointer: str = "") -> None:
        self.file = file
        self.pointer = pointer
        where = f"{file}{'#' + pointer if pointer else ''}"
        super().__init__(f"{where}: {message}")


class CassetteError(ConformanceError):
    """A recorded run cannot be read back."""


class TargetError(ConformanceError):
    """The target cannot be used; the run stops instead of reporting hundreds of failures."""

    def __init__(self, message: str, *, url: str = "") -> None:
        self.url = url
        super().__init__(message)


class TargetUnreachable(TargetError):
    """No connection could be made (refused, DNS, TLS)."""


class TargetTimeout(TargetError):
    """The target did not answer within the configured timeouts."""


class RateLimited(TargetError):
    """429 or 529 persisted after the bounded retries."""


class AuthRejected(TargetError):
    """The target refused the API key the suite was given."""
