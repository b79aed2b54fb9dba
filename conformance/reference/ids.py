"""Random ids in the alphabet first-party ids use, so every id the reference server mints looks like Anthropic's."""

from __future__ import annotations

import secrets
import string

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def base62(length: int) -> str:
    """``length`` random base62 characters (the tail of req_…, msg_01…, toolu_01…, srvtoolu_01… ids)."""
    return "".join(secrets.choice(_BASE62) for _ in range(length))
