"""GET /v1/models and /v1/models/{id}: ModelInfo objects and cursor pagination over the catalogue.

Owns the page shape `{data, has_more, first_id, last_id}` and the limit/after_id/before_id rules
(contract §6.2). Knows nothing about HTTP; the app turns results into responses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from conformance._types import JSONObject
from conformance.reference import shapes
from conformance.reference.api_error import ApiError, ErrorType, invalid
from conformance.reference.models import CATALOGUE, ModelFacts, lookup

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000


def model_info(facts: ModelFacts) -> JSONObject:
    """The classic ModelInfo object (capture 70)."""
    return {
        "type": "model",
        "id": facts.id,
        "display_name": facts.display_name,
        "created_at": facts.created_at,
    }


def retrieve(name: str) -> ApiError | JSONObject:
    """One model by id or alias; aliases resolve to the canonical entry as on the first-party API."""
    facts = lookup(name)
    if facts is None:
        return ApiError(ErrorType.NOT_FOUND, f"model: {name}")
    return model_info(facts)


def _limit(raw: str | None) -> ApiError | int:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except ValueError:
        return invalid(
            shapes.at("limit", "Input should be a valid integer, unable to parse string as an integer")
        )
    if value < 1:
        return invalid(shapes.at("limit", "Input should be greater than or equal to 1"))
    if value > MAX_LIMIT:
        return invalid(shapes.at("limit", f"Input should be less than or equal to {MAX_LIMIT}"))
    return value


def _position(name: str, cursor: str, items: Sequence[ModelFacts]) -> ApiError | int:
    ids = [facts.id for facts in items]
    facts = lookup(cursor)
    if facts is None or facts.id not in ids:
        return invalid(shapes.at(name, f"no model with id {cursor!r}"))
    return ids.index(facts.id)


def list_page(query: Mapping[str, str], *, catalogue: Sequence[ModelFacts] = CATALOGUE) -> ApiError | JSONObject:
    """One page of ``catalogue`` (most recent first); `after_id` pages forward, `before_id` pages back."""
    limit = _limit(query.get("limit"))
    if isinstance(limit, ApiError):
        return limit
    after, before = query.get("after_id"), query.get("before_id")
    if after is not None and before is not None:
        return invalid("Only one of `after_id` and `before_id` may be given.")
    items = list(catalogue)
    if after is not None:
        start = _position("after_id", after, items)
        if isinstance(start, ApiError):
            return start
        rest = items[start + 1 :]
        page, has_more = rest[:limit], len(rest) > limit
    elif before is not None:
        end = _position("before_id", before, items)
        if isinstance(end, ApiError):
            return end
        rest = items[:end]
        page, has_more = rest[-limit:], len(rest) > limit
    else:
        page, has_more = items[:limit], len(items) > limit
    return {
        "data": [model_info(facts) for facts in page],
        "has_more": has_more,
        "first_id": page[0].id if page else None,
        "last_id": page[-1].id if page else None,
    }
