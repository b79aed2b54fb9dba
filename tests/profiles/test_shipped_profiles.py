"""Every shipped profile loads, names a source for each line that differs from Anthropic, and lists it.

Also: a feature declared not offered skips every rule gated on it, with a reason naming the profile and
the feature; and `list-checks --profile X` shows what a profile changes.
"""

from __future__ import annotations

import json
import re

import pytest

from conformance.cli import main
from conformance.contract.loader import load_contract
from conformance.engine import resolve_model
from conformance.errors import ConfigError
from conformance.scenarios import build_cases

from ._lines import ANTHROPIC, MODEL, SHIPPED, V2023, V2026, Line, profile_lines, read

REQUIRED = {"anthropic", "requesty", "seed-001-gateway", "toapis", "openrouter", "litellm", "vllm", "llama-cpp", "ollama", "generic-gateway", "claude-code"}
SOURCE = re.compile(r"https?://|seed 00\d|peers\.md|conformance/")


def test_the_issue_s_profiles_are_shipped() -> None:
    assert set(SHIPPED) >= REQUIRED


@pytest.mark.parametrize("version", [V2023, V2026])
@pytest.mark.parametrize("name", SHIPPED)
def test_every_profile_loads_under_both_versions(name: str, version: str) -> None:
    contract = load_contract(version, name)
    assert contract.profile.name == name
    assert read(name)["name"] == name
    assert contract.profile.description


def _features_differing(doc: dict) -> dict:
    out = {}
    for feature, value in doc.get("features", {}).items():
        offered = value["offered"] if isinstance(value, dict) else value
        base = ANTHROPIC["features"].get(feature, False)
        if offered != (base["offered"] if isinstance(base, dict) else base):
            out[feature] = value
    return out


@pytest.mark.parametrize("name", [n for n in SHIPPED if n != "anthropic"])
def test_every_line_that_differs_from_anthropic_names_its_source(name: str) -> None:
    doc = read(name)
    sources: dict[str, str | None] = {}
    auth = doc.get("auth", {})
    if set(auth.get("schemes", ANTHROPIC["auth"]["schemes"])) != set(ANTHROPIC["auth"]["schemes"]) or auth.get("primary"):
        sources["auth"] = auth.get("source")
    if doc.get("version_header_required", True) is not True:
        sources["version_header_required"] = doc.get("version_header_source")
    if doc.get("api_versions", ANTHROPIC["api_versions"]) != ANTHROPIC["api_versions"]:
        sources["api_versions"] = doc.get("api_versions_source")
    for feature, value in _features_differing(doc).items():
        sources[f"features.{feature}"] = value.get("source") if isinstance(value, dict) else None
    strictness = doc.get("strictness", {})
    assert "max_stream_silence_s" not in strictness, "a shipped profile's silence limit needs a source field first"
    if strictness.get("tolerate_missing"):
        sources["strictness.tolerate_missing"] = strictness.get("tolerate_missing_source")
    models = doc.get("models", {})
    if models.get("default") not in (None, ANTHROPIC["models"]["default"]):
        sources["models.default"] = models.get("source")
    for rule_id, override in doc.get("rules", {}).items():
        sources[f"rules.{rule_id}"] = override.get("source")
    for param, entry in doc.get("params", {}).items():
        sources[f"params.{param}"] = entry.get("source")
    for entry in models.get("facts", ()):
        sources[f"models.facts[{entry['match']}]"] = entry.get("source")
    if "headers" in doc:
        sources["headers"] = doc["headers"].get("source")
    unsourced = sorted(line for line, source in sources.items() if not (source and SOURCE.search(source)))
    assert unsourced == []


def _deviation_prefix(line: Line) -> str:
    kind = line.id.split(".", 1)[0]
    if kind == "params":
        return "params." + line.id.split(".")[1] + ":"
    if kind == "strictness":
        return "strictness.translates:" if line.id == "strictness.translates" else "strictness.tolerate_missing:"
    if kind.startswith("models"):
        return line.id.rsplit(".", 1)[0] + ":"
    return line.id + ":"


@pytest.mark.parametrize("name", SHIPPED)
def test_every_line_is_listed_among_the_profile_s_deviations(name: str) -> None:
    deviations = load_contract(V2023, name).profile.deviations
    missing = [str(line) for line in profile_lines(name) if not any(d.startswith(_deviation_prefix(line)) for d in deviations)]
    assert missing == []
    assert all(SOURCE.search(d) for d in deviations), deviations


def test_the_strict_profiles_list_no_deviation() -> None:
    assert load_contract(V2023, "anthropic").profile.deviations == ()
    assert load_contract(V2023, "generic-gateway").profile.deviations == ()


def test_generic_gateway_is_anthropic_without_a_default_model() -> None:
    generic, anthropic = load_contract(V2023, "generic-gateway"), load_contract(V2023, "anthropic")
    assert generic.rules == anthropic.rules
    assert generic.params == anthropic.params
    assert (generic.profile.auth_schemes, generic.profile.api_versions, generic.profile.features) == (anthropic.profile.auth_schemes, anthropic.profile.api_versions, anthropic.profile.features)
    assert generic.profile.default_model is None
    assert generic.profile.prices == {}
    with pytest.raises(ConfigError, match="no --model given and profile 'generic-gateway' declares no default model"):
        resolve_model(generic, None)
    assert generic.model_facts("anthropic/claude-sonnet-4-5").max_output_tokens == 64000  # a gateway id still maps to facts


@pytest.mark.parametrize(("name", "facts"), [("requesty", True), ("openrouter", True), ("toapis", True), ("claude-code", True), ("ollama", False), ("seed-001-gateway", False)])
def test_a_default_model_maps_to_facts_when_it_names_a_claude_model_the_suite_knows(name: str, facts: bool) -> None:
    contract = load_contract(V2023, name)
    model = contract.profile.default_model
    assert model
    assert (contract.model_facts(model).max_output_tokens is not None) is facts


# ------------------------------------------------------------------ features declared not offered


def _off_features() -> list[tuple[str, str]]:
    out = []
    for name in SHIPPED:
        for feature, value in read(name).get("features", {}).items():
            if not (value["offered"] if isinstance(value, dict) else value):
                out.append((name, feature))
    return out


@pytest.mark.parametrize("version", [V2023, V2026])
@pytest.mark.parametrize(("name", "feature"), _off_features())
def test_a_feature_not_offered_skips_every_rule_gated_on_it(name: str, feature: str, version: str) -> None:
    contract = load_contract(version, name)
    knob = f"features.{feature}"
    gated = {rule.id for rule in contract.rules.values() if rule.requires is not None and knob in rule.requires.profile}
    assert gated, f"{knob} gates no rule: declaring it changes nothing"
    cases = [case for case in build_cases(contract, MODEL) if case.check_id in gated]
    assert {case.check_id for case in cases} == gated
    for case in cases:
        assert case.skip is not None, case.id
        assert f"profile {name!r}" in case.skip, case.skip
        assert knob in case.skip, case.skip
    source = contract.profile.knob_sources.get(knob)
    if source:  # a documented feature: its source is in the reason, and list-checks shows the change
        assert all(source in case.skip for case in cases if case.skip)
        # list-checks names a knob change only where every knob keeping the rule off has a source: a rule that also
        # needs a hook the profile lacks without saying so (pause_turn_passed_through: error_simulation) is not shown
        shown = [r for r in gated if all(k in contract.profile.knob_sources for k in contract.profile.denies(contract.rules[r].requires.profile))]
        assert shown
        assert all(source in contract.rules[rule_id].overridden_by for rule_id in shown)


def test_every_feature_a_profile_declares_gates_some_rule() -> None:
    gating = {name for version in (V2023, V2026) for rule in load_contract(version).rules.values() if rule.requires for name in rule.requires.profile}
    declared = {f"features.{feature}" for name in SHIPPED for feature in read(name).get("features", {}) if name != "anthropic"}
    assert sorted(declared - gating) == []


# ---------------------------------------------------------------------------------- list-checks


def test_list_checks_shows_what_the_ollama_profile_changes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list-checks", "--profile", "ollama"]) == 0
    out = capsys.readouterr().out
    assert "· profile ollama" in out.splitlines()[0]
    blocks = {block.split("  [", 1)[0]: block for block in out.split("\n\n")[1:]}
    assert "profile ollama: not applicable: profile 'ollama' declares features.count_tokens=False (https://docs.ollama.com/api/anthropic-compatibility (Not supported: /v1/messages/count_tokens))" in blocks["count_tokens.max_tokens_not_required"]
    assert "profile ollama: a local Ollama takes any key or none (https://docs.ollama.com/api/anthropic-compatibility" in blocks["auth.missing_key_rejected"]
    assert "profile ollama: profile 'ollama' declares version_header_required=False" in blocks["headers.version_required"]
    assert "profile ollama:" not in blocks["stream.event_order"]


def test_list_checks_json_shows_what_the_claude_code_profile_tightens(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list-checks", "--profile", "claude-code", "--format", "json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    rows = {row["id"]: row for row in listing["checks"]}
    changed = {rule_id for rule_id, row in rows.items() if row["profile_change"]}
    assert changed == {"recovery.stream_silence_bounded", "recovery.retry_after_on_rate_limit", "roles.system_role_handled"}
    assert {rows[r]["level"] for r in changed} == {"MUST"}
    # a level the profile raises carries the profile's own reason, naming the client that breaks
    assert rows["recovery.stream_silence_bounded"]["level_reason"].startswith("profile 'claude-code': Client: Claude Code shows 'Waiting for API response'")
    assert rows["count_tokens.matches_usage"]["level"] == rows["count_tokens.beta_query_accepted"]["level"] == "MUST"  # the contract's own since issue 9
    assert any(d.startswith("headers.beta_probe: claude-code-20250219,") for d in listing["deviations"])
    assert main(["list-checks", "--format", "json"]) == 0
    assert not any(row["profile_change"] for row in json.loads(capsys.readouterr().out)["checks"])
