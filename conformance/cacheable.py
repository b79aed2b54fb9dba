"""The cacheable prefix the prompt-caching probes send: long enough for the model, new in every run.

A prefix shorter than the model's minimum cacheable length is processed without caching and without
an error (DOC-CACHE), so the probe's prefix is sized from the model's ``cache_min_tokens`` fact
(models.yaml), or from the largest documented minimum when the model is unknown. It is made of
whole words, and a word after a space is at least one token for a BPE tokenizer (a token never
spans the space before a word), so N words are at least N tokens: the first-party capture 41 cached
2,056 tokens for about as many repeated words. The run's nonce opens the prefix, so no earlier run
left it in the cache: the first request of each run writes it, its TTL breakdown is judged every
run, and the repeat reads it. Pure: the nonce comes from the planner.
"""

from __future__ import annotations

import secrets

from ._types import JSON

PLACEHOLDER = "{cacheable_prefix}"
LARGEST_DOCUMENTED_MINIMUM = 4096  # DOC-CACHE: Haiku 4.5, Opus 4.5-4.7 (models.yaml); the size for a model with unknown facts
MARGIN = 64  # words beyond the minimum: the header line and any rounding never leave it short
_WORDS = (
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima", "mike",
    "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu",
)  # fmt: skip


def fresh_nonce() -> str:
    """A new run's nonce: twelve hex digits, enough that two runs never share a prefix."""
    return secrets.token_hex(6)


def prefix_text(minimum: int | None, nonce: str) -> str:
    """The prefix: a line naming the run, then ``minimum`` + ``MARGIN`` words of the spelling alphabet."""
    count = (minimum or LARGEST_DOCUMENTED_MINIMUM) + MARGIN
    head = f"Reference material {nonce} for a prompt caching probe; it needs no answer of its own." if nonce else "Reference material for a prompt caching probe; it needs no answer of its own."
    body = " ".join(_WORDS[i % len(_WORDS)] for i in range(count))
    return f"{head}\n{body}"


def expand(value: JSON, text: str) -> JSON:
    """``value`` with every string equal to the placeholder replaced by ``text``."""
    if isinstance(value, str):
        return text if value == PLACEHOLDER else value
    if isinstance(value, list):
        return [expand(item, text) for item in value]
    if isinstance(value, dict):
        return {key: expand(item, text) for key, item in value.items()}
    return value


def mentions(value: JSON) -> bool:
    """Whether ``value`` holds the placeholder anywhere (only those requests pay for a prefix)."""
    if isinstance(value, str):
        return value == PLACEHOLDER
    if isinstance(value, list):
        return any(mentions(item) for item in value)
    if isinstance(value, dict):
        return any(mentions(item) for item in value.values())
    return False
