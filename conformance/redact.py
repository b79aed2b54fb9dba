"""The one place that knows which strings are secret, and replaces them in everything recorded.

Every value that leaves the transport (headers, URLs, bodies, error texts) passes through a
``Redactor`` first, so cassettes, reports, JUnit and logs can only ever contain the mask.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "[REDACTED]"
_SECRET_HEADERS = frozenset({"x-api-key", "authorization", "proxy-authorization", "cookie", "set-cookie", "api-key", "x-goog-api-key"})
_CREDENTIALS = frozenset({"x-api-key", "authorization"})
# Words of a header name (split at - _ .) that mark its value as a credential: x-portkey-api-key,
# x-auth-token, cf-aig-authorization, x-client-secret, x-session-id (but not x-portkey-provider).
# Broad on purpose: it only decides which headers a user adds are masked, and masking a value the
# user typed costs no evidence.
_CREDENTIAL_WORDS = frozenset({"key", "apikey", "token", "secret", "password", "passwd", "cookie", "session", "signature", "credential", "credentials", "jwt", "bearer"})
_WORD = re.compile(r"[-_.]")
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def public_form(probe: str) -> str:
    """How records show the invalid probe key: readable and still an invalid key, but no longer the shape of a real one."""
    return f"{probe[:34]}…{probe[-2:]}" if len(probe) >= 48 else probe  # a short probe looks like no key at all


def is_credential_name(name: str) -> bool:
    """Whether a header of this name carries a credential (its value is then never recorded)."""
    lowered = name.lower()
    return lowered in _SECRET_HEADERS or any(word in _CREDENTIAL_WORDS or word.startswith("auth") for word in _WORD.split(lowered))


class Redactor:
    """Replaces each secret (and credentials in URLs) by ``[REDACTED]``."""

    def __init__(self, secrets: Iterable[str], *, public: Iterable[str] = (), secret_headers: Iterable[str] = ()) -> None:
        # Longest first so a secret that contains another is masked whole; ignore trivially
        # short strings that would shred unrelated text.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True)
        self._bytes = [s.encode() for s in self._secrets]
        self._public = [p for p in public if p]  # values safe to show, e.g. the suite's own invalid probe key
        # Headers masked whatever they hold: the usual credential headers, and the extra headers a user
        # marked secret (named like a credential or given through ${VAR}), however short their value.
        self._secret_headers = _SECRET_HEADERS | {name.lower() for name in secret_headers}

    def text(self, value: str) -> str:
        """``value`` with every secret and URL userinfo masked."""
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return _USERINFO.sub(MASK + "@", value) if "://" in value else value

    def data(self, value: bytes) -> bytes:
        """``value`` with every secret masked (byte-level, so invalid UTF-8 stays untouched)."""
        for secret in self._bytes:
            if secret in value:
                value = value.replace(secret, MASK.encode())
        return value

    def contains_secret(self, value: bytes) -> bool:
        """True when ``value`` holds a secret (callers then drop chunk boundaries they cannot keep)."""
        return any(secret in value for secret in self._bytes)

    def header(self, name: str, value: str) -> str:
        """A header value fit for a record: credential headers are masked whatever they hold."""
        lowered = name.lower()
        if lowered in _CREDENTIALS and any(p in value for p in self._public) and not any(s in value for s in self._secrets):
            # The suite's deliberately invalid probe key is evidence, not a secret; its random middle is
            # elided so that secret scanners (gitleaks, GitHub push protection) do not take artifacts for leaks.
            for probe in self._public:
                value = value.replace(probe, public_form(probe))
            return value
        if lowered in self._secret_headers:
            scheme, _, rest = value.partition(" ")
            if lowered in ("authorization", "proxy-authorization") and rest:
                return f"{scheme} {MASK}"
            return MASK
        return self.text(value)
