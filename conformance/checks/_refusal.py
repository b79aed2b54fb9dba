"""A feature refused cleanly, issue 13's legal "no": a 400 invalid_request_error whose message names the field.

A target that does not offer a feature may say so (Anthropic itself refuses what a model lacks, capture 56),
and a client can act on it: Claude Code drops a field once a 400 names it (its capability_rejected classes,
/work/notes/missing-rules.md). What no client can act on is a 400 that names nothing, a 404 or a 5xx, and
what no client even notices is a 200 that ignored the field: the checks report both. Pure helpers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..exchange import Exchange
from ..findings import REFUSED_CLEANLY, Violation
from .subject import show


def error_of(exchange: Exchange) -> tuple[str, str] | None:
    """(error.type, error.message) of an Anthropic error envelope, None for any other body."""
    data = exchange.json
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and isinstance(error.get("type"), str) and isinstance(error.get("message"), str):
        return error["type"], error["message"]
    return None


def names(message: str, fields: Sequence[str]) -> str | None:
    """The first of ``fields`` the message names as a word of its own (``reasoning_effort`` does not name ``effort``)."""
    for field in fields:
        if re.search(rf"(?<![A-Za-z0-9_-]){re.escape(field)}(?![A-Za-z0-9_])", message, re.IGNORECASE):
            return field
    return None


def refusal_naming(exchange: Exchange, fields: Sequence[str]) -> str | None:
    """``400 invalid_request_error naming <field>: "<message>"`` when the answer is such a refusal, else None."""
    found = error_of(exchange) if exchange.status == 400 else None
    if found is None or found[0] != "invalid_request_error":
        return None
    field = names(found[1], fields)
    return f"400 invalid_request_error naming {field}: {show(found[1][:160])}" if field else None


def clean_refusal(exchange: Exchange, fields: Sequence[str]) -> str | None:
    """The judged item of a target that refused the feature cleanly, else None."""
    refusal = refusal_naming(exchange, fields)
    return f"{REFUSED_CLEANLY}: {refusal}" if refusal else None


def said(exchange: Exchange) -> str:
    """What a refusal said, for a Received: line."""
    found = error_of(exchange)
    if found is not None:
        return f"status {exchange.status} ({found[0]}: {show(found[1][:160])})"
    text = exchange.text(160).strip() if exchange.body else ""
    return f"status {exchange.status}" + (f" ({show(text)})" if text else "")


def unclean(exchange: Exchange, fields: Sequence[str], *, honoured: str) -> Violation:
    """A refusal no client can act on: not a 400 invalid_request_error naming the field."""
    return Violation(
        f"Received: {said(exchange)}\nExpected: {honoured}, or a clean refusal: status 400 invalid_request_error whose message names {' or '.join(fields)}",
        at=f"{exchange.request.method} {exchange.request.url}",
    )
