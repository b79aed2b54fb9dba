"""conformance/contract/loader.py and the modules it runs (files, build, schemas, references): the shipped specs
load; a broken spec is one SpecError naming file and pointer. Profiles: test_profiles.py.

Broken trees are copies of specs/ in tmp_path with one edit each, so every test breaks exactly
one thing and the error must point at it.
"""

from __future__ import annotations

import pytest

from conformance.contract.loader import (
    available_profiles,
    available_versions,
    deep_merge,
    default_spec_dir,
    load_contract,
)
from conformance.contract.model import EVERY_NEED, CountTolerance, Expect, Need, RuleKind
from conformance.errors import SpecError
from conformance.findings import Level

from ._trees import SPECS, V2023, V2026, edit, spec_error

# ---------------------------------------------------------------------------- shipped specs


def test_the_shipped_specs_are_found():
    assert default_spec_dir() == SPECS
    assert available_versions() == [V2023, V2026]
    assert {"anthropic", "reference"} <= set(available_profiles())


@pytest.mark.parametrize("version", [V2023, V2026])
def test_both_api_versions_load_under_the_anthropic_profile(version):
    contract = load_contract(version, "anthropic")
    assert contract.api_version == version
    assert contract.profile.name == "anthropic"
    assert contract.profile.auth_schemes == ("x-api-key", "bearer")
    assert contract.profile.api_versions == (V2023, V2026)
    assert contract.profile.default_model == "claude-haiku-4-5"
    assert contract.endpoints["messages"] == ("POST", "/v1/messages")
    assert contract.status_types[529] == ("overloaded_error",)
    assert contract.twin_tolerance == {"input_tokens": (0.0, 0.0), "output_tokens": (2.0, 0.25)}
    assert set(contract.schema_refs) == {"message", "start_message", "error", "stream_event", "usage", "count_tokens", "models_list", "model_info"}
    assert contract.url("DOC-ERR") == "https://platform.claude.com/docs/en/api/errors"
    assert contract.url("https://example.com/x") == "https://example.com/x"


def test_rules_are_typed_by_how_they_are_exercised():
    rules = load_contract().rules
    assert rules["auth.missing_key_rejected"].kind is RuleKind.EXPECTATION
    assert rules["auth.missing_key_rejected"].expect == Expect(("401",))
    assert rules["shape.message_schema"].kind is RuleKind.PROPERTY
    assert rules["shape.message_schema"].on is not None
    assert rules["shape.message_schema"].on.stream is False
    assert rules["params.required_enforced"].kind is RuleKind.GENERATED
    assert rules["params.required_enforced"].generated is not None
    assert rules["params.required_enforced"].generated.cases == ("missing",)
    assert rules["headers.request_id_present"].level is Level.SHOULD


def test_what_a_rule_reads_is_declared_and_its_need_of_the_plan_derived():
    rules = load_contract().rules
    assert rules["headers.request_id_present"].wants == {Need.HEADERS}
    assert rules["stream.event_order"].wants == {Need.STREAM_START}
    assert rules["stream.text_matches_twin"].wants == {Need.TWIN, Need.PLAN}
    assert rules["auth.missing_key_rejected"].wants == {Need.PLAN}  # a status expectation judges a request the suite composed
    assert rules["stream.text_intact"].wants == {Need.TWIN, Need.PLAN}
    assert rules["shape.message_schema"].judgeable_from(frozenset())
    assert not rules["stream.event_order"].judgeable_from(frozenset())
    assert rules["stream.event_order"].judgeable_from(EVERY_NEED)


def test_stream_twins_are_added_for_scenarios_that_ask_for_one():
    scenarios = load_contract().scenarios
    twin = scenarios["plain.stream"]
    assert (twin.base, twin.stream, twin.body, twin.twin_of) == ("plain", True, None, "plain")
    assert {"max_tokens_limit.stream", "stop_sequence.stream"} <= set(scenarios)
    assert "auth.missing.stream" not in scenarios


def test_2026_extends_2023_and_removes_the_sampling_parameters():
    old, new = load_contract(V2023), load_contract(V2026)
    assert new.title != old.title
    # 2026-10-21 keeps every 2023-06-01 rule and scenario, and adds its own content refusals (DOC-MIG)
    assert set(new.rules) - set(old.rules) == {"content.document_in_assistant_rejected", "content.user_citations_rejected"}
    assert set(old.rules) <= set(new.rules)
    assert new.rules["stream.event_order"] == old.rules["stream.event_order"]
    assert set(new.scenarios) - set(old.scenarios) == {"document.in_assistant", "citations.in_user"}
    assert set(old.scenarios) <= set(new.scenarios)
    assert new.sources == old.sources
    for name in ("temperature", "top_p", "top_k"):
        removed, before = new.params[name], old.params[name]
        assert removed.removed
        assert not before.removed
        assert (removed.minimum, removed.maximum, removed.gated_by) == (None, None, None)
        assert removed.source == "DOC-MIG"
        assert removed.types == before.types  # inherited, not restated
    assert new.params["temperature"].removed_value == 1.0
    assert new.params["top_k"].removed_value == 5
    assert new.params["max_tokens"] == old.params["max_tokens"]


def test_model_facts_come_from_models_yaml():
    contract = load_contract()
    facts = contract.model_facts("claude-opus-4-7-20260301")
    assert (facts.max_output_tokens, facts.prefill, facts.sampling_params, facts.source) == (128000, False, "default_only", "DOC-ERR")
    assert contract.model_facts("anthropic/claude-haiku-4-5").max_output_tokens == 64000  # gateway prefix
    unknown = contract.model_facts("llama-3-70b")
    assert (unknown.max_output_tokens, unknown.prefill, unknown.sampling_params) == (None, None, None)


def test_deep_merge_merges_mappings_replaces_lists_and_deletes_on_null():
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 2, "c": 3}
    assert deep_merge(base, {"a": {"y": [3], "z": 4}, "b": None}) == {"a": {"x": 1, "y": [3], "z": 4}, "c": 3}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 2, "c": 3}


# ------------------------------------------------------------------------- broken spec trees


# One edit in one file of a copy of the shipped tree, and the one error it must give: "<file>#<pointer>: <what>".
ONE_EDIT = {
    "a bad level": (V2023, "rules.yaml", "  headers.request_id_present:\n    area: headers\n    level: SHOULD", "  headers.request_id_present:\n    area: headers\n    level: MAYBE", "/rules/headers.request_id_present/level: 'MAYBE' is not one of ['MUST', 'SHOULD']"),
    "an unknown key in a rule": (V2023, "rules.yaml", "    scenario: auth.missing\n", "    scenario: auth.missing\n    colour: red\n", "/rules/auth.missing_key_rejected: Additional properties are not allowed ('colour' was unexpected)"),
    "an unknown scenario": (V2023, "rules.yaml", "scenario: auth.missing\n", "scenario: auth.nope\n", "/rules/auth.missing_key_rejected: unknown scenario 'auth.nope'"),
    "an unknown further scenario": (V2023, "rules.yaml", "also: [roles.developer, roles.unknown.stream]\n", "also: [roles.developer, roles.nope]\n", "/rules/roles.unknown_role_rejected: unknown scenario 'roles.nope'"),
    "an unknown needed scenario": (V2023, "rules.yaml", "needs: [plain.stream]\n", "needs: [plain.streamed]\n", "/rules/headers.stream_content_type: unknown scenario 'plain.streamed'"),
    "a rule source": (V2023, "rules.yaml", "source: DOC-BETA", "source: NOT-A-KEY", "/rules/headers.beta_accepted/source: source 'NOT-A-KEY' is neither a key of sources nor a URL"),
    "a param source": (V2023, "params.yaml", "  stream:\n    type: boolean\n    source: OAS25", "  stream:\n    type: boolean\n    source: the docs", "/params/stream/source: source 'the docs' is neither a key of sources nor a URL"),
    "an unknown base scenario": (V2023, "scenarios.yaml", "  auth.wrong:\n    base: plain", "  auth.wrong:\n    base: plian", "/scenarios/auth.wrong/base: unknown base scenario 'plian'"),
    "the overlay blamed": (V2026, "params.yaml", "    removed_value: 5\n", "    removed_value: 5\n    level: MAYBE\n", "/params/top_k/level: 'MAYBE' is not one of ['MUST', 'SHOULD']"),
}


@pytest.mark.parametrize(("version", "name", "old", "new", "expected"), list(ONE_EDIT.values()), ids=list(ONE_EDIT))
def test_one_broken_entry_is_one_error_naming_its_file_and_pointer(specs, version, name, old, new, expected):
    path = edit(specs / "messages" / version / name, old, new)
    assert str(spec_error(specs, version)) == f"{path}#{expected}"


def test_a_yaml_syntax_error_names_the_line(specs):
    scenarios = specs / "messages" / V2023 / "scenarios.yaml"
    text = scenarios.read_text(encoding="utf-8")
    line = text[: text.index("    auth: none\n")].count("\n") + 1
    edit(scenarios, "    auth: none\n", "    auth: none: nested\n")
    error = spec_error(specs)
    assert (error.file, error.pointer) == (str(scenarios), f"line {line}, column 15")
    assert str(error) == f"{scenarios}#line {line}, column 15: invalid YAML (mapping values are not allowed here)"


def test_further_scenarios_belong_to_expectation_rules_only(specs):
    rules = specs / "messages" / V2023 / "rules.yaml"
    edit(rules, "    needs: [plain.stream]\n", "    needs: [plain.stream]\n    also: [plain]\n")
    error = spec_error(specs)
    assert (error.file, error.pointer) == (str(rules), "/rules/headers.stream_content_type")


def test_an_error_in_the_base_blames_the_base_file_when_loading_the_overlay(specs):
    rules = specs / "messages" / V2023 / "rules.yaml"
    edit(rules, "    tier: smoke\n", "    tier: huge\n")
    assert spec_error(specs, V2026).file == str(rules)


def test_an_extends_cycle(specs):
    edit(specs / "messages" / V2023 / "contract.yaml", 'api_version: "2023-06-01"', 'extends: ../2026-10-21\napi_version: "2023-06-01"')
    error = spec_error(specs, V2026)
    assert (error.pointer, str(error).rsplit(": ", 1)[-1]) == ("/extends", "extends forms a cycle")


def test_a_missing_schema_file(specs):
    (specs / "messages" / V2023 / "schemas" / "error.json").unlink()
    error = spec_error(specs)
    assert str(error) == f"{specs / 'messages' / V2023 / 'contract.yaml'}#/schemas: schema file(s) not found: ['error.json']"


def test_an_unknown_api_version(specs):
    error = spec_error(specs, "2099-01-01")
    assert str(error) == f"{specs / 'messages' / '2099-01-01'}: no contract for API version '2099-01-01' (known: 2023-06-01, 2026-10-21)"


def test_a_missing_spec_folder(tmp_path):
    with pytest.raises(SpecError, match="spec folder not found"):
        load_contract(spec_dir=tmp_path / "nowhere")


def test_a_cycle_of_base_scenarios(specs):
    scenarios = specs / "messages" / V2023 / "scenarios.yaml"
    edit(scenarios, "  auth.missing:\n    base: plain", "  auth.missing:\n    base: auth.wrong")
    edit(scenarios, "  auth.wrong:\n    base: plain", "  auth.wrong:\n    base: auth.missing")
    assert str(spec_error(specs)) == f"{scenarios}#/scenarios/auth.missing/base: base chain of 'auth.missing' forms a cycle"


def test_a_schema_ref_that_does_not_resolve_is_a_spec_error(specs):
    (specs / "messages" / V2023 / "schemas" / "content_block.json").unlink()
    error = spec_error(specs)
    assert str(error).endswith("schemas/message.json#/properties/content/items/$ref: $ref 'content_block.json' does not resolve (Unresolvable)")


# ------------------------------------------------------------- contract fragments and selectors


def test_contract_fragments_add_sources_and_the_count_tokens_tolerance():
    contract = load_contract(V2023)
    translated = CountTolerance(below=(8.0, 0.67), above=(64.0, 2.0))
    assert contract.count_tokens_tolerance == CountTolerance(below=(2.0, 0.02), above=(32.0, 0.1), translated=translated)
    assert translated.margins(36) == (24, 72)  # a tokenizer's difference: a third to three times usage
    assert contract.count_tokens_tolerance.margins(19) == (2, 32)  # short prompts: the absolute parts
    assert contract.count_tokens_tolerance.margins(1234) == (24, 123)  # long ones: the fractions, rounded down
    assert contract.url("DOC-VISION") == "https://platform.claude.com/docs/en/build-with-claude/vision"
    assert contract.sources["DOC-OVW"] == "https://platform.claude.com/docs/en/api/overview"  # contract.yaml's own keys stay


def test_selectors_default_to_messages_and_any_picks_every_endpoint(specs):
    assert load_contract(V2023).rules["count_tokens.response_schema"].on.endpoint == "count_tokens"
    assert load_contract(V2023).rules["shape.message_schema"].on.endpoint == "messages"
    rules = specs / "messages" / V2023 / "rules" / "endpoints.yaml"
    edit(rules, "select: {endpoint: count_tokens, status: ok}", "select: {endpoint: any, status: ok}")
    assert load_contract(V2023, spec_dir=specs).rules["count_tokens.response_schema"].on.endpoint is None


def test_a_bad_count_tokens_tolerance_names_the_fragment(specs):
    fragment = specs / "messages" / V2023 / "contract" / "endpoints.yaml"
    edit(fragment, "above: {absolute: 32, relative: 0.1}", "above: {absolute: 32}")
    assert str(spec_error(specs)) == f"{fragment}#/usage/count_tokens_tolerance/above: 'relative' is a required property"
    edit(fragment, "above: {absolute: 32}", "above: {absolute: 32, relative: 0.1}")
    edit(fragment, "    below: {absolute: 2, relative: 0.02}\n", "")
    assert str(spec_error(specs)) == f"{fragment}#/usage/count_tokens_tolerance: 'below' is a required property"
