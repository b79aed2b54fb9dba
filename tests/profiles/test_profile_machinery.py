"""What the loader does with a profile's lines, beyond rule overrides (conformance/contract/loader.py, model.py).

Model facts merged by match, gateway model ids mapped to facts, case-only parameter entries keeping the
parameter's own source, rule variants replaced by a profile, a knob's change recorded on the rules it
gates, skip reasons naming the profile, and overrides of a rule another API version defines.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conformance.contract.loader import load_contract
from conformance.contract.model import Expect
from conformance.errors import SpecError
from conformance.scenarios import build_cases

from ._lines import MODEL, V2023, V2026


def _case(contract_profile: str, case_id: str, model: str = MODEL, version: str = V2023):
    return next(c for c in build_cases(load_contract(version, contract_profile), model) if c.id == case_id)


def test_a_profile_fact_changes_only_what_it_names() -> None:
    toapis, anthropic = load_contract(V2023, "toapis"), load_contract(V2023, "anthropic")
    opus, base = toapis.model_facts("claude-opus-4-6"), anthropic.model_facts("claude-opus-4-6")
    assert (opus.max_output_tokens, base.max_output_tokens) == (32000, 128000)
    assert (opus.prefill, opus.system_messages, opus.sampling_params, opus.thinking) == (base.prefill, base.system_messages, base.sampling_params, base.thinking)
    assert "toapis" in opus.source
    assert toapis.model_facts("claude-haiku-4-5") == anthropic.model_facts("claude-haiku-4-5")


@pytest.mark.parametrize(("model", "limit"), [("anthropic/claude-haiku-4.5", 64000), ("anthropic/claude-opus-4.8", 128000), ("claude-sonnet-4.5", 64000), ("claude-3.5-sonnet", None), ("qwen3-coder", None)])
def test_gateway_model_ids_map_to_anthropic_facts(model: str, limit: int | None) -> None:
    assert load_contract(V2023).model_facts(model).max_output_tokens == limit


def test_a_case_only_parameter_entry_keeps_the_parameter_s_source() -> None:
    llama = load_contract(V2023, "llama-cpp")
    assert llama.params["max_tokens"].source == load_contract(V2023).params["max_tokens"].source
    missing = _case("llama-cpp", "params.required_enforced:max_tokens.missing")
    assert missing.expect == Expect(("400", "2xx"))
    assert "llama.cpp" in missing.source
    assert "llama.cpp" not in _case("llama-cpp", "params.valid_value_accepted:max_tokens.at_min").source


def test_a_parameter_bound_cites_the_profile() -> None:
    at_max = _case("requesty", "params.valid_value_accepted:temperature.at_max")
    above = _case("requesty", "params.invalid_value_rejected:temperature.above_max")
    assert (at_max.expect, above.expect) == (Expect(("2xx", "400")), Expect(("400",)))
    assert "requesty" in at_max.source
    assert "requesty" in above.source


@pytest.mark.parametrize(("profile", "model", "statuses"), [
    ("anthropic", "my-gateway-alias", ("2xx", "400")),
    ("claude-code", "my-gateway-alias", ("2xx",)),
    ("claude-code", "claude-haiku-4-5", ("2xx", "400")),
    ("claude-code", "claude-opus-4-8", ("2xx",)),
    ("toapis", "claude-opus-4-8", ("2xx", "400")),
])
def test_a_profile_may_replace_a_rule_s_variants(profile: str, model: str, statuses: tuple[str, ...]) -> None:
    assert _case(profile, "roles.system_role_handled", model).expect == Expect(statuses)


def test_version_header_required_false_selects_the_rule_s_variant_and_says_why() -> None:
    rule = load_contract(V2023, "requesty").rules["headers.version_required"]
    assert _case("requesty", "headers.version_required").expect == Expect(("400", "2xx"))
    assert _case("anthropic", "headers.version_required").expect == Expect(("400",))
    assert rule.overridden_by.startswith("profile 'requesty' declares version_header_required=False (https://docs.requesty.ai/")


def test_a_knob_without_a_source_marks_nothing() -> None:
    assert not any(rule.overridden_by for rule in load_contract(V2023, "anthropic").rules.values())
    assert not any(rule.overridden_by for rule in load_contract(V2023, "reference").rules.values())


def test_an_auth_knob_is_recorded_on_the_rule_it_gates() -> None:
    rule = load_contract(V2023, "requesty").rules["auth.bearer_accepted"]
    assert rule.overridden_by.startswith("not applicable: profile 'requesty' declares auth_schemes=['x-api-key'] (https://docs.requesty.ai/")
    skip = _case("requesty", "auth.bearer_accepted").skip
    assert skip is not None
    assert skip.startswith("not applicable: profile 'requesty' declares auth_schemes=['x-api-key'], the rule needs 'bearer' (https://")


def test_a_skip_override_names_the_profile() -> None:
    skip = _case("vllm", "tools.parallel_disabled_respected").skip
    assert skip == "profile 'vllm': vLLM's tool_choice schema has no disable_parallel_tool_use (AnthropicToolChoice: type, name)"


def test_an_override_of_a_rule_only_another_version_has(tmp_path: Path) -> None:
    assert "content.user_citations_rejected" not in load_contract(V2023, "ollama").rules
    assert load_contract(V2026, "ollama").rules["content.user_citations_rejected"].expect == Expect(("400", "2xx"))
    doc = {"name": "typo", "extends": "anthropic", "description": "x", "rules": {"content.user_citation_rejected": {"skip": "x", "source": "https://x.example"}}}
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(SpecError, match=r"profile overrides unknown rule 'content\.user_citation_rejected'"):
        load_contract(V2023, str(path))


def test_a_profile_variant_is_checked_like_the_spec_s(tmp_path: Path) -> None:
    doc = {"name": "bad", "extends": "anthropic", "description": "x",
           "rules": {"roles.system_role_handled": {"variants": [{"when": {"model": {"colour": "blue"}}, "expect": {"status": ["2xx"]}}], "source": "https://x.example"}}}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    with pytest.raises(SpecError, match=r"unknown condition key\(s\) \['colour'\]"):
        load_contract(V2023, str(path))
