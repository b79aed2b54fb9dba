"""count_tokens and the models endpoints: their bodies, the count against usage, order and pagination.

A models page is judged against the run's full listing (the ``models.list`` exchange) and the
retrieved run model (``models.retrieve``), read through ``Subject.peer``; the retrieved model
places an alias cursor only when it is a model the alias names. Status expectations (404 for an
unknown id, 400 for a missing field or a limit out of range) live in the spec, not here; the
schema rules judge every answer they select, so a refusal of a documented listing or of a listed
model fails there instead of leaving the rule unjudged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote, urlsplit

from .._types import JSON, JSONObject
from ..exchange import UNPARSED, Exchange
from ..findings import Judgement, NotApplicable, Violation, judgement
from .registry import check
from .subject import Subject, Unjudgeable, counted, infrastructure_failure, is_int, show
from .usage import input_total

LISTING = "models.list"
RETRIEVED = "models.retrieve"
# The models-list doc's page sizes: limit defaults to 20 and ranges over 1-1000 (DOC-MODELS-LIST).
DEFAULT_LIMIT, MIN_LIMIT, MAX_LIMIT = 20, 1, 1000


def _schema_violations(s: Subject, schema: str, expected: str) -> list[Violation]:
    data = s.exchange.json
    if data is UNPARSED:
        s.whole()  # a body a limit of ours cut is no JSON through our doing
        return [Violation(f"Received: {s.exchange.not_json()}\nExpected: {expected}")]
    return [Violation(f"Received: {message}\nExpected: {expected}", at=pointer) for pointer, message in s.schemas.errors(schema, data)]


def _refused(s: Subject, expected: str) -> Violation:
    """A refusal where the contract promises an answer: the status, and what the target said."""
    ex = s.exchange
    failure = infrastructure_failure(ex)
    if failure is not None:
        raise Unjudgeable(f"no answer to judge: {failure}")
    data = ex.json
    error = data.get("error") if isinstance(data, dict) else None
    said = f" ({error.get('type')}: {str(error.get('message'))[:120]})" if isinstance(error, dict) else ""
    return Violation(f"Received: status {ex.status}{said} for {ex.request.method} {s.request.path}\nExpected: {expected}", at="status")


def _ordinary_auth(s: Subject) -> bool:
    """The request carried the run's key the ordinary way (not a probe of a missing or wrong key)."""
    return s.request.auth.ordinary


def _query(s: Subject) -> dict[str, str]:
    return {name: values[-1] for name, values in parse_qs(urlsplit(s.request.path).query).items()}


# ------------------------------------------------------------------------------ count_tokens


@check("count_tokens.response_schema")
def response_schema(s: Subject) -> Judgement:
    """SDKs read MessageTokensCount.input_tokens; another key (OpenAI's prompt_tokens) leaves them nothing."""
    return judgement("the count body against its schema", _schema_violations(s, "count_tokens", '{"input_tokens": <integer>}, as documented'))


@check("count_tokens.matches_usage")
def matches_usage(s: Subject) -> Judgement:
    """Claude Code budgets context and decides compaction on the count; one below real usage overfills it, one far above compacts early."""
    count = s.body().get("input_tokens")
    if not is_int(count):
        raise NotApplicable("no integer input_tokens (judged by count_tokens.response_schema)")
    answer = s.twin_message()
    usage = answer.get("usage")
    used = input_total(usage) if isinstance(usage, dict) else None
    if used is None:
        raise NotApplicable("the messages answer has no integer usage.input_tokens (judged by the usage checks)")
    native = s.contract.count_tokens_tolerance
    if native is None:
        raise NotApplicable("the contract states no count_tokens_tolerance")
    translation = _translation(s, answer)
    tolerance = native.translated if translation and native.translated is not None else native
    band = f"the translated band ({translation})" if tolerance is not native else "the native band"
    below, above = tolerance.margins(used)
    twin = s.twin.id if s.twin is not None else "?"
    judged = f"input_tokens={count} counted against {used} used by {twin}, judged in {band}"
    if used - below <= count <= used + above:
        return judgement(judged)
    allowed = "a tokenizer's difference" if tolerance is not native else "an estimate's rounding, and the system-added tokens the count may include"
    return judgement(
        judged,
        [
            Violation(
                f"Received: input_tokens={count} counted, {used} input tokens (cache counters included) in the usage of the same request sent to /v1/messages ({twin})\n"
                f"Expected: {used - below} to {used + above}, {band}: at most {below} below usage and {above} above it ({allowed})",
                at="/input_tokens",
            )
        ],
    )


def _translation(s: Subject, answer: JSONObject) -> str:
    """Why the count may come from another tokenizer than the usage ("" when it may not): the profile says so, or the answer is not Anthropic's."""
    declared = s.contract.profile.knob("translates")
    if isinstance(declared, bool):
        return f"profile {s.contract.profile.name!r} declares translates: true" if declared else ""
    message_id, model = answer.get("id"), answer.get("model")
    if isinstance(message_id, str) and not message_id.startswith("msg_"):
        return f"the answer's id {show(message_id)} is not an Anthropic msg_ id"
    if isinstance(model, str) and "claude" not in model.rsplit("/", 1)[-1].lower():
        return f"the answer's model {show(model)} is not a Claude model"
    return ""


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
    listing = s.peer(LISTING)
    page = _page(listing)
    if page is None:
        why = "it was not sent" if listing is None else f"it answered {listing.status}" if not listing.ok else "it is no page of models"
        raise NotApplicable(f"no usable {LISTING} page (GET /v1/models) to compare with: {why} (judged by models.list_schema)")
    return page


def _retrieved_id(s: Subject) -> str | None:
    """The model id a GET /v1/models/{model_id} asked for; None for a listing."""
    path = urlsplit(s.request.path).path
    return unquote(path.removeprefix("/v1/models/")) if path.startswith("/v1/models/") else None


@check("models.list_schema")
def list_schema(s: Subject) -> Judgement:
    """SDK pagination reads data, has_more and last_id; an OpenAI {object: list} page stops it cold."""
    if _retrieved_id(s) is not None:
        raise NotApplicable("one model, not a page (judged by models.retrieve_schema)")
    if not s.exchange.ok:
        query = _query(s)
        if not _ordinary_auth(s) or "after_id" in query or "before_id" in query:
            raise NotApplicable(f"status {s.exchange.status} to a request this rule does not promise a page for (a missing key, or a cursor that may be refused)")
        _limit(s)  # a limit outside the documented range may be refused (models.limit_zero_rejected)
        return judgement(f"status {s.exchange.status} to GET {s.request.path}", [_refused(s, "200 with a models page: the listing is documented for every key (profile: features.models)")])
    found = _schema_violations(s, "models_list", "a models page {data: [ModelInfo], has_more, first_id, last_id} as documented")
    data = s.exchange.json
    if found or not isinstance(data, dict):
        return judgement("the page against the models-list schema", found)
    ids = _ids(data)
    for key, wanted in (("first_id", ids[0] if ids else None), ("last_id", ids[-1] if ids else None)):
        if data.get(key) != wanted:
            found.append(Violation(f"Received: {key} {show(data.get(key))} for data ids {show(ids)}\nExpected: {show(wanted)}", at=f"/{key}"))
    return judgement(f"a page of {counted(len(ids), 'model')} against the models-list schema, first_id and last_id", found)


def _limit(s: Subject) -> int | None:
    """The request's limit (None when unset); NotApplicable outside the documented range, which models.limit_zero_rejected judges."""
    raw = _query(s).get("limit")
    if raw is None:
        return None
    if not raw.isdigit() or not MIN_LIMIT <= int(raw) <= MAX_LIMIT:
        raise NotApplicable(f"limit={raw} is outside the documented {MIN_LIMIT}-{MAX_LIMIT} (a refusal is judged by models.limit_zero_rejected)")
    return int(raw)


@check("models.limit_respected")
def limit_respected(s: Subject) -> Judgement:
    """Clients page with limit; a target that ignores it or hides that more remain breaks their loops."""
    limit = _limit(s)
    if limit is None:
        raise NotApplicable("the request sets no limit")
    page = _own_page(s)
    ids = _ids(page)
    found: list[Violation] = []
    items = [f"{counted(len(ids), 'model')} on a page of limit={limit}"]
    if len(ids) > limit:
        found.append(Violation(f"Received: {len(ids)} models {show(ids)}\nExpected: at most limit={limit}", at="/data"))
    if "after_id" not in _query(s) and "before_id" not in _query(s) and page.get("has_more") is not True:
        listing = _page(s.peer(LISTING))
        if listing is not None:
            items.append(f"has_more {show(page.get('has_more'))} against the {counted(len(_ids(listing)), 'model')} of {LISTING}")
        if listing is not None and (len(_ids(listing)) > limit or listing.get("has_more") is True):
            found.append(
                Violation(
                    f"Received: has_more {show(page.get('has_more'))} on a first page of limit={limit}\nExpected: true ({LISTING} lists {len(_ids(listing))} models)",
                    at="/has_more",
                )
            )
    return judgement(items, found)


@check("models.has_more_false_on_short_page")
def has_more_false_on_short_page(s: Subject) -> Judgement:
    """SDK auto-pagination asks for another page while has_more is true; a short page that says so never ends the walk."""
    if _retrieved_id(s) is not None:
        raise NotApplicable("one model, not a page (judged by models.retrieve_schema)")
    limit = _limit(s)
    page = _own_page(s)
    size = len(_ids(page))
    wanted = DEFAULT_LIMIT if limit is None else limit
    asked = f"limit={limit}" if limit is not None else f"no limit, so the default {DEFAULT_LIMIT}"
    if size >= wanted:
        raise NotApplicable(f"a full page ({counted(size, 'model')}, {asked}): more may follow")
    item = f"has_more {show(page.get('has_more'))} on a page of {counted(size, 'model')} ({asked})"
    if page.get("has_more") is True:
        return judgement(item, [Violation(f"Received: has_more true on a page of {size} models ({asked})\nExpected: false: a page shorter than its limit is the last one", at="/has_more")])
    return judgement(item)


def _created(item: JSONObject) -> datetime | None:
    value = item.get("created_at")
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


@check("models.most_recent_first")
def most_recent_first(s: Subject) -> Judgement:
    """Model pickers show the listing as it comes, newest first as documented; another order buries the newest models."""
    page = _own_page(s)
    found: list[Violation] = []
    previous: tuple[str, str, datetime] | None = None
    dated = 0
    for index, item in enumerate(page["data"]):
        moment = _created(item)
        if moment is None:
            continue  # not a date (judged by models.list_schema)
        dated += 1
        if previous is not None and moment > previous[2]:
            found.append(
                Violation(
                    f"Received: {show(item['id'])} (created_at {show(item['created_at'])}) listed after {show(previous[0])} (created_at {show(previous[1])})\n"
                    "Expected: the most recent models first",
                    at=f"/data/{index}/created_at",
                )
            )
        previous = (item["id"], item["created_at"], moment)
    if dated < 2:
        raise NotApplicable(f"{counted(dated, 'model')} with a created_at date on the page: no order to judge")
    return judgement(f"the created_at order of {counted(dated, 'model')}", found)


def _alias_of(requested: str, ids: list[str]) -> list[str]:
    """The listed ids ``requested`` is an alias of (claude-haiku-4-5 of claude-haiku-4-5-20251001)."""
    return [i for i in ids if i.startswith(requested + "-")]


def _retrieve_problem(requested: str, answered: JSON, listing: JSONObject | None) -> str | None:
    """What is wrong with the id GET /v1/models/{requested} answered, judged against the listing; None when nothing contradicts it."""
    if listing is None:
        return None
    ids = _ids(listing)
    if requested in ids:
        return None if answered == requested else f"{show(requested)}, the listed id that was asked for"
    named = _alias_of(requested, ids)
    if not named or answered in named:
        return None  # not an alias of listed ids (a gateway's own name), or one of those it names
    if listing.get("has_more") is True and isinstance(answered, str) and answered.startswith(requested + "-"):
        return None  # a dated id of the alias on a later page
    return f"one of {show(named)}: the alias names those listed ids"


def _cursor(s: Subject, param: str) -> str:
    """The paging cursor the request sent in ``param``; a request without one is not about paging that way."""
    cursor = _query(s).get(param)
    if cursor is None:
        raise NotApplicable(f"the request has no {param}")
    return cursor


def _position(s: Subject, cursor: str, ids: list[str], *, param: str) -> int:
    """Where the cursor model sits in the listing; an alias is placed through the retrieved model, when that answer holds up."""
    if cursor in ids:
        return ids.index(cursor)
    retrieved = s.peer(RETRIEVED)
    data = retrieved.json if retrieved is not None and retrieved.ok else None
    resolved = data.get("id") if isinstance(data, dict) else None
    if isinstance(resolved, str) and resolved in ids:
        if _retrieve_problem(cursor, resolved, _page(s.peer(LISTING))) is not None:
            raise NotApplicable(f"GET /v1/models/{cursor} answered {resolved!r}, which is not a model {cursor!r} names (judged by models.retrieve_schema), so {param}'s place is unknown")
        return ids.index(resolved)
    raise NotApplicable(f"{param} {cursor!r} is not on the first page of GET /v1/models, so the model next to it is unknown")


@check("models.after_id_pages")
def after_id_pages(s: Subject) -> Judgement:
    """The SDK pages with after_id=last_id; a cursor that is ignored repeats the first page forever."""
    cursor = _cursor(s, "after_id")
    page = _own_page(s)
    listing = _listing(s)
    ids = _ids(listing)
    position = _position(s, cursor, ids, param="after_id")
    following = ids[position + 1] if position + 1 < len(ids) else None
    if following is None and listing.get("has_more") is True:
        raise NotApplicable(f"the model after {cursor!r} is on a later page of the listing")
    got = _ids(page)
    item = f"the page after {show(cursor)} against the order of {LISTING}"
    if (following is None and not got) or (following is not None and got[:1] == [following]):
        return judgement(item)
    wanted = "an empty page (it is the last model)" if following is None else f"a page starting with {show(following)}"
    return judgement(item, [Violation(f"Received: data ids {show(got)} after_id={show(cursor)}\nExpected: {wanted}, as {LISTING} orders them: {show(ids)}", at="/data")])


@check("models.before_id_pages")
def before_id_pages(s: Subject) -> Judgement:
    """Clients walk back with before_id=first_id; a cursor that is ignored answers the first page instead."""
    cursor = _cursor(s, "before_id")
    page = _own_page(s)
    ids = _ids(_listing(s))
    position = _position(s, cursor, ids, param="before_id")
    preceding = ids[position - 1] if position > 0 else None
    got = _ids(page)
    item = f"the page before {show(cursor)} against the order of {LISTING}"
    if (preceding is None and not got) or (preceding is not None and got[-1:] == [preceding]):
        return judgement(item)
    wanted = "an empty page (it is the first model)" if preceding is None else f"a page ending with {show(preceding)}"
    return judgement(item, [Violation(f"Received: data ids {show(got)} before_id={show(cursor)}\nExpected: {wanted}, as {LISTING} orders them: {show(ids)}", at="/data")])


def _listed(requested: str, listing: JSONObject | None) -> str | None:
    """How the listing names ``requested`` (the id itself, or the dated ids of an alias), or None when it does not."""
    if listing is None:
        return None
    ids = _ids(listing)
    if requested in ids:
        return f"{LISTING} lists {show(requested)}"
    named = _alias_of(requested, ids)
    return f"{LISTING} lists {show(named)}, which the alias {show(requested)} names" if named else None


@check("models.retrieve_schema")
def retrieve_schema(s: Subject) -> Judgement:
    """Clients read display_name and created_at of the model they run; another shape, or another model, misleads that lookup."""
    requested = _retrieved_id(s)
    if requested is None:
        raise NotApplicable("a page of models, not one (judged by models.list_schema)")
    listing = _page(s.peer(LISTING))
    if not s.exchange.ok:
        listed = _listed(requested, listing) if _ordinary_auth(s) else None
        if listed is None:
            raise NotApplicable(f"status {s.exchange.status} for {show(requested)}, which the listing does not name (an unknown id is judged by models.unknown_id_not_found)")
        return judgement(f"status {s.exchange.status} for the listed model {show(requested)}", [_refused(s, f"200 with its ModelInfo: {listed}")])
    found = _schema_violations(s, "model_info", "one ModelInfo {type: model, id, display_name, created_at} as documented")
    data = s.exchange.json
    if found or not isinstance(data, dict):
        return judgement(f"the answer for {show(requested)} against the ModelInfo schema", found)
    problem = _retrieve_problem(requested, data.get("id"), listing)
    if problem is not None:
        found.append(Violation(f"Received: id {show(data.get('id'))} for GET /v1/models/{requested}\nExpected: {problem}", at="/id"))
    items = [f"the answer for {show(requested)} against the ModelInfo schema"]
    if listing is not None:
        items.append(f"id {show(data.get('id'))} against the ids of {LISTING}")
    return judgement(items, found)
