"""conformance/checks/endpoints.py: count_tokens bodies and counts, model pages, pagination and retrieval.

The real captures (65, 66: count_tokens; 70: a models page) must pass every check that can judge them.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import replace
from typing import Any

import pytest
from capture_corpus import CAPTURES

from conformance.auth import Auth
from conformance.checks.registry import registered
from conformance.checks.subject import Subject, Unjudgeable
from conformance.exchange import Exchange, RecordedRequest
from conformance.findings import Judgement, NotApplicable
from conformance.scenarios import Request

from ._build import Build, judged, message, messages, request_json, run

COUNTED = request_json(max_tokens=None, system="You are a terse assistant.")
IDS = ["claude-opus-4-8", "claude-sonnet-4-6", "claude-haiku-4-5-20251001", "claude-sonnet-4-5-20250929"]


def info(model_id: str) -> dict[str, Any]:
    return {"type": "model", "id": model_id, "display_name": model_id.title(), "created_at": "2025-10-15T00:00:00Z"}


def page(ids: list[str], *, has_more: bool = False, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"data": [info(i) for i in ids], "has_more": has_more, "first_id": ids[0] if ids else None, "last_id": ids[-1] if ids else None}
    body.update(changes)
    return body


def exchange(scenario: str, path: str, body: Any, *, status: int = 200, method: str = "GET", request: dict[str, Any] | None = None) -> Exchange:
    sent = json.dumps(request).encode() if request is not None else b""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Exchange(
        id=scenario,
        request=RecordedRequest(method=method, url="http://127.0.0.1:9" + path, headers=(("x-api-key", "[REDACTED]"),), body=sent),
        status=status,
        headers=(("content-type", "application/json"), ("request-id", "req_011CSHoEeqs5C35K2UUqR7Fy")),
        body=raw,
    )


def subject(build, ex: Exchange, *, endpoint: str, twin: Exchange | None = None, peers: tuple[Exchange, ...] = (), auth: Auth = Auth.X_API_KEY) -> Subject:
    path = ex.request.url.removeprefix("http://127.0.0.1:9")
    request = Request(
        scenario=ex.id,
        endpoint=endpoint,
        method=ex.request.method,
        path=path,
        headers=(),
        auth=auth,
        body=ex.request.body,
        stream=False,
        tags=frozenset(),
        twin=twin.id if twin is not None else None,
    )
    return Subject(exchange=ex, request=request, contract=build.contract, facts=build.facts, schemas=build.schemas, twin=twin, peers={p.id: p for p in (ex, *peers)})


def counted(build, body: Any, *, twin_usage: dict[str, Any] | None = None, twin_status: int = 200) -> Subject:
    ex = exchange("count_tokens.system", "/v1/messages/count_tokens", body, method="POST", request=COUNTED)
    usage = twin_usage if twin_usage is not None else {"input_tokens": 19, "output_tokens": 2}
    twin = build.exchange(status=twin_status, body=message(usage=usage), scenario="system.string")
    return subject(build, ex, endpoint="count_tokens", twin=twin)


def listing(ids: list[str] = IDS, **changes: Any) -> Exchange:
    return exchange("models.list", "/v1/models", page(ids, **changes))


def models(build, scenario: str, path: str, body: Any, *, peers: tuple[Exchange, ...] = (), status: int = 200, auth: Auth = Auth.X_API_KEY) -> Subject:
    return subject(build, exchange(scenario, path, body, status=status), endpoint="models", peers=peers, auth=auth)


# ------------------------------------------------------------------ count_tokens.response_schema


@pytest.mark.parametrize("name", ["65-count-tokens-2026-09.json", "66-count-tokens-beta-2026-06.json"])
def test_response_schema_passes_real_counts(build, name):
    assert run("count_tokens.response_schema", counted(build, json.loads((CAPTURES / name).read_text()))) == []


def test_response_schema_allows_extra_keys(build):
    assert run("count_tokens.response_schema", counted(build, {"input_tokens": 19, "context_management": None})) == []


def test_response_schema_flags_openai_prompt_tokens(build):
    [violation] = run("count_tokens.response_schema", counted(build, {"prompt_tokens": 19}))
    assert violation.message == "Received: 'input_tokens' is a required property\nExpected: {\"input_tokens\": <integer>}, as documented"
    assert violation.at == "/"


def test_response_schema_flags_a_string_count(build):
    [violation] = run("count_tokens.response_schema", counted(build, {"input_tokens": "19"}))
    assert violation.message == "Received: '19' is not of type 'integer'\nExpected: {\"input_tokens\": <integer>}, as documented"
    assert violation.at == "/input_tokens"


def test_response_schema_flags_a_body_that_is_not_json(build):
    assert messages("count_tokens.response_schema", counted(build, b"19")) == ["Received: 19 is not of type 'object'\nExpected: {\"input_tokens\": <integer>}, as documented"]
    [violation] = run("count_tokens.response_schema", counted(build, b"<html>"))
    assert violation.message == 'Received: a body that is not JSON: "<html>"\nExpected: {"input_tokens": <integer>}, as documented'


# -------------------------------------------------------------------- count_tokens.matches_usage


def usage_verdict(subject: Subject) -> Judgement:
    verdict = registered()["count_tokens.matches_usage"](subject)
    assert isinstance(verdict, Judgement)
    return verdict


def flagged(subject: Subject) -> list[str]:
    verdict = usage_verdict(subject)
    assert verdict.judged, "a verdict names what it judged"
    return [v.message for v in verdict.violations]


def translating(build, translates: bool | None) -> Build:
    """The build under a profile that declares strictness.translates (None: undeclared, the answer decides)."""
    contract = build.contract
    strictness = {**contract.profile.strictness, "translates": translates} if translates is not None else dict(contract.profile.strictness)
    return Build(replace(contract, profile=replace(contract.profile, name="translating", strictness=strictness)))


def test_matches_usage_passes_on_equal_counts(build):
    verdict = usage_verdict(counted(build, {"input_tokens": 19}))
    assert verdict.violations == ()
    assert verdict.judged == ("input_tokens=19 counted against 19 used by system.string, judged in the native band",)


def test_matches_usage_adds_cache_counters_back(build):
    # capture-like pair from a real cache read: 1114 counted = 3 uncached + 1111 read from the cache
    usage = {"input_tokens": 3, "cache_read_input_tokens": 1111, "cache_creation_input_tokens": 0, "output_tokens": 414}
    assert flagged(counted(build, {"input_tokens": 1114}, twin_usage=usage)) == []


@pytest.mark.parametrize(("count", "used"), [(19, 19), (28, 19), (51, 19), (17, 19), (1100, 1000), (980, 1000)])
def test_matches_usage_tolerates_system_added_tokens_and_rounding(build, count, used):
    # above: 32 tokens or 10% of usage (+9 on 19 is the audit's system-added tokens); below: 2 tokens or 2%
    assert flagged(counted(build, {"input_tokens": count}, twin_usage={"input_tokens": used, "output_tokens": 1})) == []


def test_matches_usage_flags_a_count_that_leaves_the_system_out(build):
    [violation] = usage_verdict(counted(build, {"input_tokens": 0})).violations
    assert violation.message == (
        "Received: input_tokens=0 counted, 19 input tokens (cache counters included) in the usage of the same request sent to /v1/messages (system.string)\n"
        "Expected: 17 to 51, the native band: at most 2 below usage and 32 above it (an estimate's rounding, and the system-added tokens the count may include)"
    )
    assert violation.at == "/input_tokens"


@pytest.mark.parametrize(("count", "used"), [(16, 19), (52, 19), (979, 1000), (1101, 1000)])
def test_matches_usage_flags_just_beyond_either_bound(build, count, used):
    assert flagged(counted(build, {"input_tokens": count}, twin_usage={"input_tokens": used, "output_tokens": 1}))


def test_matches_usage_flags_a_gateway_prompt_counted_on_top(build):
    # CLIProxyAPI#4103: ~2k tokens of the gateway's own system prompt in every count
    [message_] = flagged(counted(build, {"input_tokens": 2019}))
    assert message_.endswith("Expected: 17 to 51, the native band: at most 2 below usage and 32 above it (an estimate's rounding, and the system-added tokens the count may include)")


def test_matches_usage_compares_a_count_with_tools_with_its_own_twin(build):
    body = request_json(max_tokens=None, tools=[{"name": "get_weather", "input_schema": {"type": "object"}}], tool_choice={"type": "tool", "name": "get_weather"})
    ex = exchange("count_tokens.tools", "/v1/messages/count_tokens", {"input_tokens": 13}, method="POST", request=body)
    twin = build.exchange(body=message(usage={"input_tokens": 44, "output_tokens": 9}), scenario="tools.forced")
    [message_] = flagged(subject(build, ex, endpoint="count_tokens", twin=twin))
    assert message_.startswith("Received: input_tokens=13 counted, 44 input tokens (cache counters included) in the usage of the same request sent to /v1/messages (tools.forced)\nExpected: 42 to 76,")


# A translating gateway: its count comes from another tokenizer than the backend's usage (issue 9).
LITELLM_TOOLS = ({"input_tokens": 77}, {"input_tokens": 36, "output_tokens": 3})  # LiteLLM 1.106.2, tests/litellm_target: tiktoken count vs billed


def test_matches_usage_takes_a_tokenizer_difference_under_a_declared_translation(build):
    count, usage = LITELLM_TOOLS
    verdict = usage_verdict(counted(translating(build, True), count, twin_usage=usage))
    assert verdict.violations == ()
    assert verdict.judged == ("input_tokens=77 counted against 36 used by system.string, judged in the translated band (profile 'translating' declares translates: true)",)


def test_matches_usage_flags_the_same_difference_where_count_and_usage_share_a_tokenizer(build):
    count, usage = LITELLM_TOOLS
    for b in (build, translating(build, False)):  # Anthropic's answer (msg_ id, claude model), or a profile that declares no translation
        [message_] = flagged(counted(b, count, twin_usage=usage))
        assert "Expected: 34 to 68, the native band" in message_


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"id": "chatcmpl-x06GNyO7IprDb7x03hvhugUMwO8XO", "model": "toy-claude"}, 'the answer\'s id "chatcmpl-x06GNyO7IprDb7x03hvhugUMwO8XO" is not an Anthropic msg_ id'),
        ({"model": "qwen3-coder"}, 'the answer\'s model "qwen3-coder" is not a Claude model'),
    ],
)
def test_matches_usage_reads_a_translation_from_an_answer_that_is_not_anthropics(build, changes, why):
    count, usage = LITELLM_TOOLS
    ex = exchange("count_tokens.tools", "/v1/messages/count_tokens", count, method="POST", request=COUNTED)
    twin = build.exchange(body=message(usage=usage, **changes), scenario="tools.forced")
    verdict = usage_verdict(subject(build, ex, endpoint="count_tokens", twin=twin))
    assert verdict.violations == ()
    assert verdict.judged == (f"input_tokens=77 counted against 36 used by tools.forced, judged in the translated band ({why})",)
    # a declared profile wins over the answer: translates false keeps the native band
    assert usage_verdict(subject(translating(build, False), ex, endpoint="count_tokens", twin=twin)).violations


@pytest.mark.parametrize(("count", "used"), [(0, 36), (11, 36), (109, 36), (2036, 36), (48, 728)])
def test_matches_usage_still_flags_what_no_tokenizer_explains(build, count, used):
    # the translated band is a third to three times usage (+64 on short prompts): a stub zero, a gateway's own
    # ~2k-token prompt (CLIProxyAPI#4103) or a long system prompt left out (48 vs 728, CLIProxyAPI#679) stay outside
    [message_] = flagged(counted(translating(build, True), {"input_tokens": count}, twin_usage={"input_tokens": used, "output_tokens": 1}))
    assert "the translated band (profile 'translating' declares translates: true)" in message_
    assert message_.endswith("(a tokenizer's difference)")


def test_matches_usage_needs_an_integer_count(build):
    with pytest.raises(NotApplicable, match=r"judged by count_tokens\.response_schema"):
        run("count_tokens.matches_usage", counted(build, {"prompt_tokens": 19}))


def test_matches_usage_needs_a_successful_twin(build):
    with pytest.raises(NotApplicable, match="twin"):
        run("count_tokens.matches_usage", counted(build, {"input_tokens": 19}, twin_status=400))


def test_matches_usage_needs_twin_usage(build):
    with pytest.raises(NotApplicable, match=r"usage\.input_tokens"):
        run("count_tokens.matches_usage", counted(build, {"input_tokens": 19}, twin_usage={"output_tokens": 2}))


# ------------------------------------------------------------------------- models.list_schema


def test_list_schema_passes_the_real_page(build):
    body = json.loads((CAPTURES / "70-models-list-2025-04.json").read_text())
    assert run("models.list_schema", models(build, "models.list", "/v1/models", body)) == []


def test_list_schema_passes_an_empty_page(build):
    assert run("models.list_schema", models(build, "models.after", "/v1/models?limit=1&after_id=x", page([]))) == []


def test_list_schema_flags_openai_pages(build):
    body = {"object": "list", "data": [{"id": "claude-opus-4-8", "object": "model", "created": 1759276800, "owned_by": "anthropic"}]}
    found = messages("models.list_schema", models(build, "models.list", "/v1/models", body))
    assert found[:3] == [
        "Received: 'has_more' is a required property\nExpected: a models page {data: [ModelInfo], has_more, first_id, last_id} as documented",
        "Received: 'first_id' is a required property\nExpected: a models page {data: [ModelInfo], has_more, first_id, last_id} as documented",
        "Received: 'last_id' is a required property\nExpected: a models page {data: [ModelInfo], has_more, first_id, last_id} as documented",
    ]


def test_list_schema_flags_null_cursor_ids(build):
    body = page(IDS[:2], has_more=True, first_id=None, last_id=None)
    found = run("models.list_schema", models(build, "models.list", "/v1/models", body))
    assert [v.message for v in found] == [
        'Received: first_id null for data ids ["claude-opus-4-8", "claude-sonnet-4-6"]\nExpected: "claude-opus-4-8"',
        'Received: last_id null for data ids ["claude-opus-4-8", "claude-sonnet-4-6"]\nExpected: "claude-sonnet-4-6"',
    ]
    assert [v.at for v in found] == ["/first_id", "/last_id"]


# ---------------------------------------------------------------------- models.limit_respected


def test_limit_respected_passes(build):
    first = models(build, "models.first", "/v1/models?limit=1", page(IDS[:1], has_more=True), peers=(listing(),))
    assert run("models.limit_respected", first) == []


def test_limit_respected_flags_too_many_models(build):
    first = models(build, "models.first", "/v1/models?limit=1", page(IDS, has_more=True), peers=(listing(),))
    [violation] = run("models.limit_respected", first)
    assert violation.message == f"Received: 4 models {json.dumps(IDS)}\nExpected: at most limit=1"
    assert violation.at == "/data"


def test_limit_respected_flags_a_first_page_that_hides_more(build):
    first = models(build, "models.first", "/v1/models?limit=1", page(IDS[:1], has_more=False), peers=(listing(),))
    assert messages("models.limit_respected", first) == ["Received: has_more false on a first page of limit=1\nExpected: true (models.list lists 4 models)"]


def test_limit_respected_leaves_has_more_alone_without_a_listing_or_after_a_cursor(build):
    alone = models(build, "models.first", "/v1/models?limit=1", page(IDS[:1], has_more=False))
    assert run("models.limit_respected", alone) == []
    after = models(build, "models.after", "/v1/models?limit=1&after_id=claude-opus-4-8", page(IDS[1:2], has_more=False), peers=(listing(),))
    assert run("models.limit_respected", after) == []


def test_limit_respected_leaves_pages_of_another_shape_to_the_schema_check(build):
    with pytest.raises(NotApplicable, match=r"judged by models\.list_schema"):
        run("models.limit_respected", models(build, "models.first", "/v1/models?limit=1", {"object": "list", "data": []}))
    with pytest.raises(NotApplicable, match="no limit"):
        run("models.limit_respected", models(build, "models.list", "/v1/models", page(IDS)))


# ----------------------------------------------------------------------- models.after_id_pages


def retrieved(model_id: str) -> Exchange:
    return exchange("models.retrieve", "/v1/models/claude-haiku-4-5", info(model_id))


def test_after_id_pages_passes_for_a_listed_cursor(build):
    after = models(build, "models.after", "/v1/models?limit=1&after_id=claude-sonnet-4-6", page(IDS[2:3], has_more=True), peers=(listing(),))
    assert run("models.after_id_pages", after) == []


def test_after_id_pages_resolves_an_alias_through_the_retrieved_model(build):
    after = models(build, "models.after", "/v1/models?limit=1&after_id=claude-haiku-4-5", page(IDS[3:]), peers=(listing(), retrieved(IDS[2])))
    assert run("models.after_id_pages", after) == []


def test_after_id_pages_passes_an_empty_page_after_the_last_model(build):
    after = models(build, "models.after", "/v1/models?limit=1&after_id=claude-sonnet-4-5-20250929", page([]), peers=(listing(),))
    assert run("models.after_id_pages", after) == []


@pytest.mark.parametrize(
    ("direction", "cursor", "retrieves", "expected"),
    [
        ("after", "claude-sonnet-4-6", (), 'a page starting with "claude-haiku-4-5-20251001"'),
        ("before", "claude-haiku-4-5", (IDS[2],), 'a page ending with "claude-sonnet-4-6"'),
    ],
)
def test_paging_flags_an_ignored_cursor(build, direction, cursor, retrieves, expected):
    subject = models(build, f"models.{direction}", f"/v1/models?limit=1&{direction}_id={cursor}", page(IDS[:1], has_more=True), peers=(listing(), *map(retrieved, retrieves)))
    [violation] = run(f"models.{direction}_id_pages", subject)
    assert violation.message == (
        f'Received: data ids ["claude-opus-4-8"] {direction}_id="{cursor}"\n'
        f"Expected: {expected}, as models.list orders them: "
        '["claude-opus-4-8", "claude-sonnet-4-6", "claude-haiku-4-5-20251001", "claude-sonnet-4-5-20250929"]'
    )
    assert violation.at == "/data"


def test_after_id_pages_flags_models_after_the_last_one(build):
    after = models(build, "models.after", "/v1/models?limit=1&after_id=claude-sonnet-4-5-20250929", page(IDS[:1]), peers=(listing(),))
    assert messages("models.after_id_pages", after)[0].startswith('Received: data ids ["claude-opus-4-8"] after_id="claude-sonnet-4-5-20250929"\nExpected: an empty page (it is the last model)')


def test_after_id_pages_does_not_place_an_alias_through_a_retrieve_that_names_another_model(build):
    # the retrieve says opus-4-8 for claude-haiku-4-5: models.retrieve_schema fails it, paging is not blamed
    after = models(build, "models.after", "/v1/models?limit=1&after_id=claude-haiku-4-5", page(IDS[3:]), peers=(listing(), retrieved(IDS[0])))
    with pytest.raises(NotApplicable, match=r"answered 'claude-opus-4-8', which is not a model 'claude-haiku-4-5' names \(judged by models\.retrieve_schema\)"):
        run("models.after_id_pages", after)


def test_after_id_pages_cannot_judge_an_unknown_cursor(build):
    after = models(build, "models.after", "/v1/models?limit=1&after_id=claude-haiku-4-5", page(IDS[3:]), peers=(listing(),))
    with pytest.raises(NotApplicable, match="not on the first page"):
        run("models.after_id_pages", after)


def test_after_id_pages_cannot_judge_a_cursor_whose_successor_is_on_a_later_page(build):
    after = models(build, "models.after", "/v1/models?limit=1&after_id=claude-sonnet-4-5-20250929", page([]), peers=(listing(has_more=True),))
    with pytest.raises(NotApplicable, match="later page"):
        run("models.after_id_pages", after)


def test_after_id_pages_needs_a_listing_and_a_cursor(build):
    with pytest.raises(NotApplicable, match=r"no usable models\.list"):
        run("models.after_id_pages", models(build, "models.after", "/v1/models?limit=1&after_id=claude-opus-4-8", page(IDS[1:2])))
    with pytest.raises(NotApplicable, match="no after_id"):
        run("models.after_id_pages", models(build, "models.first", "/v1/models?limit=1", page(IDS[:1])))


# ---------------------------------------------------------------------- models.before_id_pages


def test_before_id_pages_passes_for_a_listed_cursor(build):
    before = models(build, "models.before", "/v1/models?limit=1&before_id=claude-haiku-4-5-20251001", page(IDS[1:2], has_more=True), peers=(listing(),))
    assert run("models.before_id_pages", before) == []


def test_before_id_pages_resolves_an_alias_through_the_retrieved_model(build):
    before = models(build, "models.before", "/v1/models?limit=2&before_id=claude-haiku-4-5", page(IDS[:2]), peers=(listing(), retrieved(IDS[2])))
    assert run("models.before_id_pages", before) == []


def test_before_id_pages_passes_an_empty_page_before_the_first_model(build):
    before = models(build, "models.before", "/v1/models?limit=1&before_id=claude-opus-4-8", page([]), peers=(listing(),))
    assert run("models.before_id_pages", before) == []


def test_before_id_pages_flags_models_before_the_first_one(build):
    before = models(build, "models.before", "/v1/models?limit=1&before_id=claude-opus-4-8", page(IDS[:1]), peers=(listing(),))
    assert messages("models.before_id_pages", before)[0].startswith('Received: data ids ["claude-opus-4-8"] before_id="claude-opus-4-8"\nExpected: an empty page (it is the first model)')


def test_before_id_pages_needs_a_cursor_it_can_place(build):
    with pytest.raises(NotApplicable, match="no before_id"):
        run("models.before_id_pages", models(build, "models.first", "/v1/models?limit=1", page(IDS[:1]), peers=(listing(),)))
    unknown = models(build, "models.before", "/v1/models?limit=1&before_id=claude-haiku-4-5", page(IDS[1:2]), peers=(listing(),))
    with pytest.raises(NotApplicable, match="before_id 'claude-haiku-4-5' is not on the first page"):
        run("models.before_id_pages", unknown)


# ------------------------------------------------------------- models.has_more_false_on_short_page


def test_has_more_false_on_short_page_passes_last_pages_and_leaves_full_ones(build):
    assert run("models.has_more_false_on_short_page", models(build, "models.list", "/v1/models", page(IDS))) == []
    assert run("models.has_more_false_on_short_page", models(build, "models.after", "/v1/models?limit=1&after_id=claude-sonnet-4-5-20250929", page([]))) == []
    with pytest.raises(NotApplicable, match=r"^a full page \(1 model, limit=1\): more may follow$"):
        run("models.has_more_false_on_short_page", models(build, "models.first", "/v1/models?limit=1", page(IDS[:1], has_more=True)))


def test_has_more_false_on_short_page_flags_a_short_default_page_that_says_more(build):
    [violation] = run("models.has_more_false_on_short_page", models(build, "models.list", "/v1/models", page(IDS, has_more=True)))
    assert violation.message == "Received: has_more true on a page of 4 models (no limit, so the default 20)\nExpected: false: a page shorter than its limit is the last one"
    assert violation.at == "/has_more"


def test_has_more_false_on_short_page_flags_an_empty_page_that_says_more(build):
    after = models(build, "models.after", "/v1/models?limit=1&after_id=claude-sonnet-4-5-20250929", page([], has_more=True))
    assert messages("models.has_more_false_on_short_page", after) == ["Received: has_more true on a page of 0 models (limit=1)\nExpected: false: a page shorter than its limit is the last one"]


def test_has_more_false_on_short_page_leaves_models_and_out_of_range_limits_to_other_checks(build):
    with pytest.raises(NotApplicable, match=r"judged by models\.retrieve_schema"):
        run("models.has_more_false_on_short_page", models(build, "models.retrieve", "/v1/models/claude-opus-4-8", info("claude-opus-4-8")))
    with pytest.raises(NotApplicable, match=r"limit=0 is outside the documented 1-1000 \(a refusal is judged by models\.limit_zero_rejected\)"):
        run("models.has_more_false_on_short_page", models(build, "models.limit_zero", "/v1/models?limit=0", page(IDS, has_more=True)))
    with pytest.raises(NotApplicable, match="limit=0 is outside"):
        run("models.limit_respected", models(build, "models.limit_zero", "/v1/models?limit=0", page(IDS)))


# ------------------------------------------------------------------------ models.most_recent_first


def dated(*pairs: tuple[str, str]) -> dict[str, Any]:
    ids = [model_id for model_id, _ in pairs]
    body = page(ids)
    for item, (_, created_at) in zip(body["data"], pairs, strict=True):
        item["created_at"] = created_at
    return body


def test_most_recent_first_passes_the_real_page(build):
    body = json.loads((CAPTURES / "70-models-list-2025-04.json").read_text())
    assert run("models.most_recent_first", models(build, "models.list", "/v1/models", body)) == []


def test_most_recent_first_flags_an_older_model_listed_first(build):
    body = dated(("claude-sonnet-4-5-20250929", "2025-09-29T00:00:00Z"), ("claude-haiku-4-5-20251001", "2025-10-15T00:00:00Z"), ("claude-opus-4-8", "2026-05-28T00:00:00+00:00"))
    found = run("models.most_recent_first", models(build, "models.list", "/v1/models", body))
    assert [v.message for v in found] == [
        'Received: "claude-haiku-4-5-20251001" (created_at "2025-10-15T00:00:00Z") listed after "claude-sonnet-4-5-20250929" (created_at "2025-09-29T00:00:00Z")\n'
        "Expected: the most recent models first",
        'Received: "claude-opus-4-8" (created_at "2026-05-28T00:00:00+00:00") listed after "claude-haiku-4-5-20251001" (created_at "2025-10-15T00:00:00Z")\n'
        "Expected: the most recent models first",
    ]
    assert [v.at for v in found] == ["/data/1/created_at", "/data/2/created_at"]


def test_most_recent_first_compares_instants_across_offsets(build):
    # 2025-10-15T01:00:00+02:00 is 2025-10-14T23:00Z: older than the one before it, so in order
    body = dated(("a", "2025-10-15T00:00:00Z"), ("b", "2025-10-15T01:00:00+02:00"), ("c", "2025-10-14T23:00:00Z"))
    assert run("models.most_recent_first", models(build, "models.list", "/v1/models", body)) == []


def test_most_recent_first_leaves_bad_dates_to_the_schema_check(build):
    body = dated(("a", "2025-10-15T00:00:00Z"), ("b", "yesterday"))
    with pytest.raises(NotApplicable, match=r"judged by models\.list_schema"):
        run("models.most_recent_first", models(build, "models.list", "/v1/models", body))


# ---------------------------------------------------------------------- models.retrieve_schema


def test_retrieve_schema_passes_an_alias_resolved_to_its_dated_id(build):
    body = info("claude-haiku-4-5-20251001")
    assert run("models.retrieve_schema", models(build, "models.retrieve", "/v1/models/claude-haiku-4-5", body, peers=(listing(),))) == []


def test_retrieve_schema_passes_newer_fields(build):
    body = {**info("claude-opus-4-8"), "max_input_tokens": 1000000, "capabilities": {"image_input": {"supported": True}}}
    assert run("models.retrieve_schema", models(build, "models.retrieve", "/v1/models/claude-opus-4-8", body, peers=(listing(),))) == []


def test_retrieve_schema_flags_an_openai_model_object(build):
    body = {"id": "claude-opus-4-8", "object": "model", "created": 1759276800, "owned_by": "anthropic"}
    found = messages("models.retrieve_schema", models(build, "models.retrieve", "/v1/models/claude-opus-4-8", body))
    assert "Received: 'type' is a required property\nExpected: one ModelInfo {type: model, id, display_name, created_at} as documented" in found


def test_retrieve_schema_flags_another_model_for_a_listed_id(build):
    body = info("claude-sonnet-4-6")
    [violation] = run("models.retrieve_schema", models(build, "models.retrieve", "/v1/models/claude-opus-4-8", body, peers=(listing(),)))
    assert violation.message == 'Received: id "claude-sonnet-4-6" for GET /v1/models/claude-opus-4-8\nExpected: "claude-opus-4-8", the listed id that was asked for'
    assert violation.at == "/id"


def test_retrieve_schema_flags_an_alias_resolved_to_a_model_it_does_not_name(build):
    # the red team's gateway: every alias answers the newest listed model
    retrieve = models(build, "models.retrieve", "/v1/models/claude-haiku-4-5", info("claude-opus-4-8"), peers=(listing(),))
    [violation] = run("models.retrieve_schema", retrieve)
    assert violation.message == 'Received: id "claude-opus-4-8" for GET /v1/models/claude-haiku-4-5\nExpected: one of ["claude-haiku-4-5-20251001"]: the alias names those listed ids'
    assert violation.at == "/id"


def test_retrieve_schema_flags_an_unlisted_dated_id_of_a_complete_listing(build):
    retrieve = models(build, "models.retrieve", "/v1/models/claude-haiku-4-5", info("claude-haiku-4-5-20990101"), peers=(listing(),))
    assert messages("models.retrieve_schema", retrieve) == ['Received: id "claude-haiku-4-5-20990101" for GET /v1/models/claude-haiku-4-5\nExpected: one of ["claude-haiku-4-5-20251001"]: the alias names those listed ids']


def test_retrieve_schema_accepts_a_dated_id_of_the_alias_on_a_later_page(build):
    retrieve = models(build, "models.retrieve", "/v1/models/claude-haiku-4-5", info("claude-haiku-4-5-20990101"), peers=(listing(has_more=True),))
    assert run("models.retrieve_schema", retrieve) == []


@pytest.mark.parametrize("name", ["fast", "claude-3-5-haiku-latest", "anthropic/claude-haiku-4-5"])
def test_retrieve_schema_judges_only_the_shape_of_a_name_that_is_no_alias_of_listed_ids(build, name):
    # a gateway's own alias, a -latest alias: nothing in the listing says which model they name
    retrieve = models(build, "models.retrieve", f"/v1/models/{name}", info("claude-opus-4-8"), peers=(listing(),))
    assert run("models.retrieve_schema", retrieve) == []


@pytest.mark.parametrize("created_at", ["2025-10-15T00:00:00", "2025-10-15 00:00", "2025-10-15", "1760486400"])
def test_retrieve_schema_flags_a_created_at_that_is_not_rfc_3339(build, created_at):
    body = {**info("claude-opus-4-8"), "created_at": created_at}
    [violation] = run("models.retrieve_schema", models(build, "models.retrieve", "/v1/models/claude-opus-4-8", body, peers=(listing(),)))
    assert violation.message.startswith(f"Received: {created_at!r} does not match ")
    assert violation.at == "/created_at"


@pytest.mark.parametrize("created_at", ["2025-10-15T00:00:00Z", "2025-10-15t00:00:00z", "2025-10-15T02:00:00.125+02:00", "1970-01-01T00:00:00Z"])
def test_retrieve_schema_accepts_rfc_3339_date_times(build, created_at):
    body = {**info("claude-opus-4-8"), "created_at": created_at}
    assert run("models.retrieve_schema", models(build, "models.retrieve", "/v1/models/claude-opus-4-8", body, peers=(listing(),))) == []


def test_pages_and_single_models_are_left_to_their_own_checks(build):
    with pytest.raises(NotApplicable, match=r"judged by models\.retrieve_schema"):
        run("models.list_schema", models(build, "models.retrieve", "/v1/models/claude-opus-4-8", info("claude-opus-4-8")))
    with pytest.raises(NotApplicable, match=r"judged by models\.list_schema"):
        run("models.retrieve_schema", models(build, "models.list", "/v1/models", page(IDS)))


# ------------------------------------------------- a refusal where the contract promises an answer


NOT_FOUND = {"type": "error", "error": {"type": "not_found_error", "message": "model: claude-opus-4-8"}}


def test_retrieve_schema_fails_a_404_for_a_listed_model(build):
    # Issue 9: the listing names the model, and the retrieve says it does not exist: that was a skip.
    retrieve = models(build, "models.retrieve", "/v1/models/claude-opus-4-8", NOT_FOUND, status=404, peers=(listing(),))
    [violation] = run("models.retrieve_schema", retrieve)
    assert violation.message == (
        "Received: status 404 (not_found_error: model: claude-opus-4-8) for GET /v1/models/claude-opus-4-8\n"
        'Expected: 200 with its ModelInfo: models.list lists "claude-opus-4-8"'
    )
    assert judged("models.retrieve_schema", retrieve) == ('status 404 for the listed model "claude-opus-4-8"',)
    alias = models(build, "models.retrieve", "/v1/models/claude-haiku-4-5", NOT_FOUND, status=404, peers=(listing(),))
    assert messages("models.retrieve_schema", alias)[0].endswith('Expected: 200 with its ModelInfo: models.list lists ["claude-haiku-4-5-20251001"], which the alias "claude-haiku-4-5" names')


def test_retrieve_schema_leaves_a_refusal_of_an_unlisted_id_or_a_keyless_probe(build):
    unknown = models(build, "models.unknown", "/v1/models/claude-conformance-no-such-model", NOT_FOUND, status=404, peers=(listing(),))
    with pytest.raises(NotApplicable, match=r"which the listing does not name \(an unknown id is judged by models.unknown_id_not_found\)$"):
        run("models.retrieve_schema", unknown)
    with pytest.raises(NotApplicable, match="which the listing does not name"):
        run("models.retrieve_schema", models(build, "models.retrieve", "/v1/models/claude-opus-4-8", NOT_FOUND, status=404))
    keyless = models(build, "models.retrieve", "/v1/models/claude-opus-4-8", NOT_FOUND, status=401, peers=(listing(),), auth=Auth.NONE)
    with pytest.raises(NotApplicable):
        run("models.retrieve_schema", keyless)


def test_retrieve_schema_still_rate_limited_after_retries_is_no_verdict(build):
    ex = dataclasses.replace(exchange("models.retrieve", "/v1/models/claude-opus-4-8", NOT_FOUND, status=429), attempts=3)
    with pytest.raises(Unjudgeable, match="still 429 after 3 attempts"):
        run("models.retrieve_schema", subject(build, ex, endpoint="models", peers=(listing(),)))


def test_list_schema_fails_a_refused_listing(build):
    refused = models(build, "models.list", "/v1/models", {"type": "error", "error": {"type": "not_found_error", "message": "Not Found"}}, status=404)
    assert messages("models.list_schema", refused) == [
        "Received: status 404 (not_found_error: Not Found) for GET /v1/models\nExpected: 200 with a models page: the listing is documented for every key (profile: features.models)"
    ]
    for path, auth in [("/v1/models?limit=0", Auth.X_API_KEY), ("/v1/models?limit=1&after_id=claude-haiku-4-5", Auth.X_API_KEY), ("/v1/models", Auth.NONE)]:
        with pytest.raises(NotApplicable):
            run("models.list_schema", models(build, "models.first", path, {"type": "error", "error": {"type": "invalid_request_error", "message": "no"}}, status=400, auth=auth))


def test_what_the_models_checks_judged(build):
    assert judged("models.list_schema", models(build, "models.list", "/v1/models", page(IDS))) == ("a page of 4 models against the models-list schema, first_id and last_id",)
    first = models(build, "models.first", "/v1/models?limit=1", page(IDS[:1], has_more=True), peers=(listing(),))
    assert judged("models.limit_respected", first) == ("1 model on a page of limit=1",)
    hiding = models(build, "models.first", "/v1/models?limit=1", page(IDS[:1], has_more=False), peers=(listing(),))
    assert judged("models.limit_respected", hiding) == ("1 model on a page of limit=1", "has_more false against the 4 models of models.list")
    assert judged("models.most_recent_first", models(build, "models.list", "/v1/models", page(IDS))) == ("the created_at order of 4 models",)
    retrieve = models(build, "models.retrieve", "/v1/models/claude-opus-4-8", info("claude-opus-4-8"), peers=(listing(),))
    assert judged("models.retrieve_schema", retrieve) == ('the answer for "claude-opus-4-8" against the ModelInfo schema', 'id "claude-opus-4-8" against the ids of models.list')
