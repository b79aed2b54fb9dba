"""The toy model's thinking: a short deterministic thought and the signature that lets it come back.

Owns the thought's wording and the signature scheme: an HMAC of the thought's text, so the server
recognises a thinking block it issued and refuses one that was changed or made up, as the
first-party API does ("Invalid `signature` in `thinking` block"). The signature is opaque to
clients, like the real one. Knows nothing about HTTP, validation order or streams.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

_KEY = b"anthropic-conformance reference server: thinking signatures"
_PREFIX = "Er"  # first-party signatures are base64 too; the prefix only makes ours easy to recognise


@dataclass(frozen=True, slots=True)
class Thought:
    """One thinking block: the text clients see and its signature."""

    text: str
    signature: str


def sign(text: str) -> str:
    """The signature of a thought's text."""
    digest = hmac.new(_KEY, text.encode("utf-8"), hashlib.sha256).digest()
    return _PREFIX + base64.b64encode(digest).decode("ascii")


def issued(text: object, signature: object) -> bool:
    """True when ``signature`` is the one this server gave ``text``."""
    if not isinstance(text, str) or not isinstance(signature, str):
        return False
    return hmac.compare_digest(sign(text), signature)


def think(plan: str) -> Thought:
    """A thought that states what the answer will do; short, because thinking tokens are billed as output."""
    text = f"Let me work out what is asked. {plan}"
    return Thought(text=text, signature=sign(text))
