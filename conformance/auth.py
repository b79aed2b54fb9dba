"""How a request carries the key: the closed sets of auth schemes and credential modes.

Specs, profiles and results.json name a mode by its string (``x-api-key``, ``wrong-bearer``), so
the members are strings too; every module past the loader reads the enum, so a new mode is one
member here and a branch in ``Auth.header``, not a string to find in five places. Knows no key:
the transport puts it in.
"""

from __future__ import annotations

import enum

# How each bearer mode spells the scheme: RFC 9110 §11.1 makes it case-insensitive, so both must work.
_BEARER_SPELLING = {"bearer": "Bearer", "bearer-lowercase": "bearer"}


class Scheme(enum.StrEnum):
    """How the key travels; a target may accept one and refuse the other, so the preflight tries both."""

    X_API_KEY = "x-api-key"
    BEARER = "bearer"

    @property
    def header(self) -> str:
        """The scheme as a person reads it in a message."""
        return "Authorization: Bearer" if self is Scheme.BEARER else "x-api-key"

    @property
    def other(self) -> Scheme:
        """The scheme to try when this one is refused."""
        return Scheme.BEARER if self is Scheme.X_API_KEY else Scheme.X_API_KEY


class Auth(enum.StrEnum):
    """The credential a request carries: the run's key, a wrong key of the same shape, none, or (proxy) the client's own."""

    X_API_KEY = "x-api-key"
    BEARER = "bearer"
    BEARER_LOWERCASE = "bearer-lowercase"
    NONE = "none"
    WRONG_X_API_KEY = "wrong-x-api-key"
    WRONG_BEARER = "wrong-bearer"
    UNVERIFIED = "unverified"  # the proxy saw the target refuse the client's key: maybe the client's mistake, so no rule blames the target

    @property
    def is_wrong(self) -> bool:
        """Carries a wrong key (a probe that the target refuses it), not the run's."""
        return self in (Auth.WRONG_X_API_KEY, Auth.WRONG_BEARER)

    @property
    def ordinary(self) -> bool:
        """Carries the run's key the ordinary way (not a probe of a missing, wrong or oddly spelled key)."""
        return self in (Auth.X_API_KEY, Auth.BEARER)

    @property
    def scheme(self) -> Scheme:
        """The scheme the key travels in (``bearer-lowercase`` and ``wrong-bearer`` are still Bearer)."""
        return Scheme.BEARER if self.value.removeprefix("wrong-").startswith("bearer") else Scheme.X_API_KEY

    def header(self, key: str) -> tuple[str, str] | None:
        """The header that carries ``key`` in this mode, or None when the mode sends no key."""
        spelled = self.value.removeprefix("wrong-")
        if spelled == "x-api-key":
            return ("x-api-key", key)
        if spelled in _BEARER_SPELLING:
            return ("authorization", f"{_BEARER_SPELLING[spelled]} {key}")
        return None
