"""count_tokens and the models endpoints: their bodies, the count against usage, and pagination.

A models page is judged against the run's full listing (the ``models.list`` exchange) and the
retrieved run model (``models.retrieve``), read through ``Subject.peer``. Status expectations
(404 for an unknown id, 400 for a missing field) live in the spec, not here.
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from .._types import JSONObject
from ..exchange import UNPARSED, Exchange
from ..findings import NotApplicable, Violation
from .registry import check
from .subject import Subject, is_int, show

LISTING = "models.list"
RETRIEVED = "models.retrieve"


def _schema_violations(s: Subject, schema: str, expected: str) -> list[Violation]:
    data = s.exchange.json
    if data is UNPARSED:
        return [Violation(f"Received: {s.exchange.not_json()}\nExpected: {expected}")]
    return [Violation(f"Received: {message}\nExpected: {expected}", at=pointer) for pointer, message in s.schemas.errors(schema, data)]


def _query(s: Subject) -> dict[str, str]:
    return {name: values[-1] for name, values in parse_qs(urlsplit(s.request.path).query).items()}


# ------------------------------------------------------------------------------ count_tokens


@check("count_tokens.response_schema")
def response_schema(s: Subject) -> list[Violation]:
    """SDKs read MessageTokensCount.input_tokens; another key (OpenAI's prompt_tokens) leaves them nothing."""
    return _schema_violations(s, "count_tokens", '{"input_tokens": <integer>}, as documented')


def _input_total(usage: JSONObject) -> int:
    total = 0
    for name in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"):
        value = usage.get(name)
        total += value if is_int(value) else 0
    return total


@check("count_tokens.matches_usage")
def matches_usage(s: Subject) -> list[Violation]:
    """Claude Code budgets context and decides compaction on the count; one far from real usage misleads it."""
    counted = s.body().get("input_tokens")
    if not is_int(counted):
        raise NotApplicable("no integer input_tokens (judged by count_tokens.response_schema)")
    usage = s.twin_message().get("usage")
    if not isinstance(usage, dict) or not is_int(usage.get("input_tokens")):
        raise NotApplicable("the messages answer has no integer usage.input_tokens (judged by the usage checks)")
    tolerance = s.contract.count_tokens_tolerance
    if tolerance is None:
        raise NotApplicable("the contract states no count_tokens_tolerance")
    used = _input_total(usage)
    absolute, relative = tolerance
    if abs(counted - used) <= max(absolute, relative * max(counted, used)):
        return []
    twin = s.twin.id if s.twin is not None else "?"
    return [
        Violation(
            f"Received: input_tokens={counted} counted, {used} input tokens (cache counters included) in the usage of the same request sent to /v1/messages ({twin})\n"
            f"Expected: equal within {absolute:g} tokens or {relative:.0%} (count_tokens is an estimate)",
            at="/input_tokens",
        )
    ]


# ------------------------------------------------------------------------------------ models


def _page(exchange: Exchange | None) -> JSONObject | None:
    """A successful page with a data list of objects with string ids, else None."""
    if exchange is None or not exchange.ok:
        return None
    data = exchange.json
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        return None
    if not all(isinstance(item, dict) and isinstance(item.get("id"), str) for item in data["data"]):
        return None
    return data


def _ids(page: JSONObject) -> list[str]:
    return [item["id"] for item in page["data"]]


def _own_page(s: Subject) -> JSONObject:
    page = _page(s.exchange)
    if page is None or s.schemas.errors("models_list", page):
        raise NotApplicable("the page is not a documented models page (judged by models.list_schema)")
    return page


def _listing(s: Subject) -> JSONObject:
    page = _page(s.peer(LISTING))
    if page is None:
        raise NotApplicable(f"no usable {LISTING} page (GET /v1/models) to compare with")
    return page


def _retrieved_id(s: Subject) -> str | None:
    """The model id a GET /v1/models/{model_id} asked for; None for a listing."""
    path = urlsplit(s.request.path).path
    return unquote(path.removeprefix("/v1/models/")) if path.startswith("/v1/models/") else None


@check("models.list_schema")
def list_schema(s: Subject) -> list[Violation]:
    """SDK pagination reads data, has_more and last_id; an OpenAI {object: list} page stops it cold."""
    if _retrieved_id(s) is not None:
        raise NotApplicable("one model, not a page (judged by models.retrieve_schema)")
    found = _schema_violations(s, "models_list", "a models page {data: [ModelInfo], has_more, first_id, last_id} as documented")
    data = s.exchange.json
    if found or not isinstance(data, dict):
        return found
    ids = _ids(data)
    for key, wanted in (("first_id", ids[0] if ids else None), ("last_id", ids[-1] if ids else None)):
        if data.get(key) != wanted:
            found.append(Violation(f"Received: {key} {show(data.get(key))} for data ids {show(ids)}\nExpected: {show(wanted)}", at=f"/{key}"))
    return found


@check("models.limit_respected")
def limit_respected(s: Subject) -> list[Violation]:
    """Clients page with limit; a target that ignores it or hides that more remain breaks their loops."""
    raw = _query(s).get("limit")
    if raw is None or not raw.isdigit():
        raise NotApplicable("the request sets no limit")
    limit = int(raw)
    page = _own_page(s)
    ids = _ids(page)
    found: list[Violation] = []
    if len(ids) > limit:
        found.append(Violation(f"Received: {len(ids)} models {show(ids)}\nExpected: at most limit={limit}", at="/data"))
    if "after_id" not in _query(s) and "before_id" not in _query(s) and page.get("has_more") is not True:
        listing = _page(s.peer(LISTING))
        if listing is not None and (len(_ids(listing)) > limit or listing.get("has_more") is True):
            found.append(
                Violation(
                    f"Received: has_more {show(page.get('has_more'))} on a first page of limit={limit}\nExpected: true ({LISTING} lists {len(_ids(listing))} models)",
                    at="/has_more",
                )
            )
    return found


def _position(s: Subject, cursor: str, ids: list[str]) -> int:
    """Where the cursor model sits in the listing; an alias is resolved through the retrieved model."""
    if cursor in ids:
        return ids.index(cursor)
    retrieved = s.peer(RETRIEVED)
    data = retrieved.json if retrieved is not None and retrieved.ok else None
    resolved = data.get("id") if isinstance(data, dict) else None
    if isinstance(resolved, str) and resolved in ids:
        return ids.index(resolved)
    raise NotApplicable(f"after_id {cursor!r} is not on the first page of GET /v1/models, so the model after it is unknown")


@check("models.after_id_pages")
def after_id_pages(s: Subject) -> list[Violation]:
    """The SDK pages with after_id=last_id; a cursor that is ignored repeats the first page forever."""
    cursor = _query(s).get("after_id")
    if cursor is None:
        raise NotApplicable("the request has no after_id")
    page = _own_page(s)
    listing = _listing(s)
    ids = _ids(listing)
    position = _position(s, cursor, ids)
    following = ids[position + 1] if position + 1 < len(ids) else None
    if following is None and listing.get("has_more") is True:
        raise NotApplicable(f"the model after {cursor!r} is on a later page of the listing")
    got = _ids(page)
    if (following is None and not got) or (following is not None and got[:1] == [following]):
        return []
    wanted = "an empty page (it is the last model)" if following is None else f"a page starting with {show(following)}"
    return [Violation(f"Received: data ids {show(got)} after_id={show(cursor)}\nExpected: {wanted}, as {LISTING} orders them: {show(ids)}", at="/data")]


@check("models.retrieve_schema")
def retrieve_schema(s: Subject) -> list[Violation]:
    """Clients read display_name and created_at of the model they run; another shape breaks that lookup."""
    requested = _retrieved_id(s)
    if requested is None:
        raise NotApplicable("a page of models, not one (judged by models.list_schema)")
    found = _schema_violations(s, "model_info", "one ModelInfo {type: model, id, display_name, created_at} as documented")
    data = s.exchange.json
    if found or not isinstance(data, dict):
        return found
    listing = _page(s.peer(LISTING))
    if listing is not None and requested in _ids(listing) and data.get("id") != requested:
        found.append(Violation(f"Received: id {show(data.get('id'))}\nExpected: {show(requested)}, the listed id that was asked for", at="/id"))
    return found
