"""conformance/scenarios.py: contract → cases and requests, including cases generated from params.yaml."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from conformance import media
from conformance.contract.loader import load_contract
from conformance.contract.model import Condition, Expect, ScenarioSpec
from conformance.findings import Level
from conformance.scenarios import (
    USER_AGENT,
    build_cases,
    build_request,
    explain,
    holds,
    param_variations,
    plan_requests,
    scenario_specs,
)

SPECS = Path(__file__).resolve().parents[1] / "specs"
HAIKU, OPUS47, OPUS48, UNKNOWN = "claude-haiku-4-5", "claude-opus-4-7", "claude-opus-4-8", "llama-3-70b"
OAS25 = "https://github.com/wavetermdev/waveterm/blob/main/aiprompts/anthropic-messages-api.md"


@pytest.fixture(scope="module")
def c2023():
    return load_contract("2023-06-01")


@pytest.fixture(scope="module")
def c2026():
    return load_contract("2026-10-21")


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    root = tmp_path / "specs"
    shutil.copytree(SPECS, root)
    return root


def cases_by_id(contract, model=HAIKU):
    return {case.id: case for case in build_cases(contract, model)}


def request(contract, sid, model=HAIKU):
    return build_request(contract, scenario_specs(contract, model), sid, model=model)


def body(contract, sid, model=HAIKU):
    return json.loads(request(contract, sid, model).body)


def param_ids(contract, name, model=HAIKU):
    return [cid for cid in cases_by_id(contract, model) if cid.split(":", 1)[-1].startswith(f"{name}.")]


# --------------------------------------------------------------------------- generated cases


def test_2023_generates_boundary_cases_for_temperature(c2023):
    assert param_ids(c2023, "temperature") == [
        "params.valid_value_accepted:temperature.at_min",
        "params.valid_value_accepted:temperature.at_max",
        "params.invalid_value_rejected:temperature.below_min",
        "params.invalid_value_rejected:temperature.above_max",
        "params.wrong_type_rejected:temperature.wrong_type",
    ]
    values = {v: body(c2023, f"param.temperature.{v}")["temperature"] for v in ("at_min", "at_max", "below_min", "above_max", "wrong_type")}
    assert values == {"at_min": 0, "at_max": 1, "below_min": -0.01, "above_max": 1.01, "wrong_type": "warm"}


def test_2023_generates_boundary_and_missing_cases_for_max_tokens(c2023):
    assert param_ids(c2023, "max_tokens") == [
        "params.required_enforced:max_tokens.missing",
        "params.valid_value_accepted:max_tokens.at_min",
        "params.valid_value_accepted:max_tokens.at_max",
        "params.invalid_value_rejected:max_tokens.below_min",
        "params.invalid_value_rejected:max_tokens.above_max",
        "params.wrong_type_rejected:max_tokens.wrong_type",
        "params.wrong_type_rejected:max_tokens.not_integer",
    ]
    values = {v: body(c2023, f"param.max_tokens.{v}").get("max_tokens", "absent") for v in ("missing", "at_min", "at_max", "below_min", "above_max", "wrong_type", "not_integer")}
    assert values == {"missing": "absent", "at_min": 1, "at_max": 64000, "below_min": 0, "above_max": 64001, "wrong_type": "warm", "not_integer": 2.5}


def test_2023_generates_type_cases_for_stop_sequences(c2023):
    assert param_ids(c2023, "stop_sequences") == [
        "params.wrong_type_rejected:stop_sequences.wrong_type",
        "params.wrong_type_rejected:stop_sequences.item_wrong_type",
    ]
    assert body(c2023, "param.stop_sequences.wrong_type")["stop_sequences"] == "warm"
    assert body(c2023, "param.stop_sequences.item_wrong_type")["stop_sequences"] == [123]


def test_wrong_type_values_are_never_coercible(c2023):
    assert body(c2023, "param.system.wrong_type")["system"] == 123  # string|array: a number
    assert body(c2023, "param.model.wrong_type")["model"] == 123
    assert body(c2023, "param.top_k.wrong_type")["top_k"] == "warm"  # never 123.0 for an integer
    assert body(c2023, "param.metadata.wrong_type")["metadata"] == "warm"
    assert body(c2023, "param.stream.wrong_type")["stream"] == "warm"


def test_generated_cases_carry_the_rule_expectation_and_level(c2023):
    cases = cases_by_id(c2023)
    missing = cases["params.required_enforced:max_tokens.missing"]
    assert (missing.expect, missing.level, missing.variation) == (Expect(("400",)), Level.MUST, "max_tokens.missing")
    assert missing.scenarios == ("param.max_tokens.missing",)  # accept_probe: true in params.yaml (streamed, closed after message_start)
    assert missing.check_id == "params.required_enforced"
    assert cases["params.valid_value_accepted:max_tokens.at_min"].expect == Expect(("2xx",))
    assert cases["params.valid_value_accepted:max_tokens.at_min"].source == OAS25


def test_a_case_override_in_params_yaml_changes_one_case(c2023):
    case = cases_by_id(c2023)["params.invalid_value_rejected:max_tokens.below_min"]
    assert case.expect == Expect(("2xx", "400"))
    assert case.note == "OAS25 minimum is 1, but the SDK docstring documents max_tokens=0 for cache pre-warming"
    assert case.source == "https://github.com/anthropics/anthropic-sdk-python/blob/main/src/anthropic/types/message_create_params.py"
    above = cases_by_id(c2023)["params.invalid_value_rejected:max_tokens.above_max"]
    assert above.expect == Expect(("400",))
    assert above.source == "https://platform.claude.com/docs/en/about-claude/models/overview"


def test_a_stream_twin_case_sends_the_same_body_streamed(c2023):
    case = cases_by_id(c2023)["params.invalid_value_rejected:temperature.above_max"]
    assert case.scenarios == ("param.temperature.above_max", "param.temperature.above_max.stream")
    plain, streamed = request(c2023, case.scenarios[0]), request(c2023, case.scenarios[1])
    assert (plain.stream, streamed.stream, streamed.twin) == (False, True, "param.temperature.above_max")
    assert json.loads(streamed.body) == {**json.loads(plain.body), "stream": True}


@pytest.mark.parametrize("variation", ["at_max", "above_max", "missing"])
def test_a_max_tokens_boundary_is_a_probe_of_acceptance(c2023, variation):
    # Only whether the value is accepted matters: streamed and closed after message_start, so 64,000 costs what the probe reads.
    case = cases_by_id(c2023)[f"params.{'valid_value_accepted' if variation == 'at_max' else 'invalid_value_rejected' if variation == 'above_max' else 'required_enforced'}:max_tokens.{variation}"]
    assert case.scenarios == (f"param.max_tokens.{variation}",)
    probe = request(c2023, case.scenarios[0])
    assert (probe.stream, probe.start_only, probe.twin) == (True, True, None)
    assert json.loads(probe.body)["stream"] is True
    assert {k: v for k, v in json.loads(probe.body).items() if k not in ("stream", "max_tokens")} == {k: v for k, v in json.loads(request(c2023, "plain").body).items() if k != "max_tokens"}


def test_a_case_given_a_value_is_generated_without_a_constraint_for_it(c2023):
    # tool_choice has no enum, yet params/tools.yaml gives its not_in_enum probe a value.
    assert param_ids(c2023, "tool_choice") == [
        "params.invalid_value_rejected:tool_choice.not_in_enum",
        "params.wrong_type_rejected:tool_choice.wrong_type",
    ]
    assert param_variations(c2023.params["tool_choice"]) == ["not_in_enum", "wrong_type"]
    assert body(c2023, "param.tool_choice.not_in_enum")["tool_choice"] == {"type": "required"}
    sent = body(c2023, "param.tool_choice.wrong_type")
    assert sent["tool_choice"] == "auto"  # OpenAI's string, which permissive gateways take
    assert [t["name"] for t in sent["tools"]] == ["get_weather"]  # sent with a tool, so "no tools" is never the reason for a 400


def test_an_expectation_rule_judges_every_scenario_it_names(c2023):
    case = cases_by_id(c2023)["roles.unknown_role_rejected"]
    assert case.scenarios == ("roles.unknown", "roles.developer", "roles.unknown.stream")
    assert [m["role"] for m in body(c2023, "roles.developer")["messages"]] == ["developer", "user"]
    assert body(c2023, "roles.unknown.stream")["stream"] is True
    planned = plan_requests(c2023, [case], model=HAIKU)
    assert list(planned) == ["roles.unknown", "roles.developer", "roles.unknown.stream"]


def test_2026_generates_present_cases_for_removed_sampling_parameters(c2026):
    for name, value in (("temperature", 1.0), ("top_p", 1.0), ("top_k", 5)):
        assert param_ids(c2026, name) == [f"params.removed_rejected:{name}.present"]
        case = cases_by_id(c2026)[f"params.removed_rejected:{name}.present"]
        assert case.expect == Expect(("400",))
        assert case.source == "https://platform.claude.com/docs/en/api/migration-2026-10-21"
        assert body(c2026, f"param.{name}.present")[name] == value
    assert param_ids(c2026, "max_tokens") == param_ids(load_contract("2023-06-01"), "max_tokens")


def test_version_cases_use_plain_for_the_run_version(c2023, c2026):
    for contract, other in ((c2023, "2026-10-21"), (c2026, "2023-06-01")):
        cases = cases_by_id(contract)
        assert cases[f"headers.known_versions_accepted:{contract.api_version}"].scenarios == ("plain",)
        assert cases[f"headers.known_versions_accepted:{other}"].scenarios == (f"version.{other}",)
        assert request(contract, f"version.{other}").headers[-1] == ("anthropic-version", other)


def test_case_ids_do_not_depend_on_the_model(c2023):
    ids = [case.id for case in build_cases(c2023, HAIKU)]
    assert ids == [case.id for case in build_cases(c2023, UNKNOWN)] == [case.id for case in build_cases(c2023, OPUS47)]
    assert len(ids) == len(set(ids))


# ----------------------------------------------------------------------- model-aware cases


def test_unknown_max_output_tokens_skips_the_upper_bound_cases(c2023):
    cases = cases_by_id(c2023, UNKNOWN)
    reason = f"the bound of max_tokens comes from the model's max_output_tokens, unknown for model {UNKNOWN!r}; declare it in the profile's models.facts"
    assert cases["params.valid_value_accepted:max_tokens.at_max"].skip == reason
    assert cases["params.invalid_value_rejected:max_tokens.above_max"].skip == reason
    assert cases["params.valid_value_accepted:max_tokens.at_min"].skip is None
    specs = scenario_specs(c2023, UNKNOWN)
    assert "param.max_tokens.at_max" not in specs
    assert "param.max_tokens.at_min" in specs
    assert "param.max_tokens.above_max" not in plan_requests(c2023, cases.values(), model=UNKNOWN)


def test_default_only_sampling_accepts_a_refusal_at_the_edges(c2023):
    case = cases_by_id(c2023, OPUS47)["params.valid_value_accepted:temperature.at_min"]
    assert case.expect == Expect(("2xx", "400"))
    assert case.note == "model 'claude-opus-4-7' accepts temperature only at its default (sampling_params=default_only)"
    assert cases_by_id(c2023, OPUS47)["params.invalid_value_rejected:temperature.below_min"].expect == Expect(("400",))
    assert cases_by_id(c2023, HAIKU)["params.valid_value_accepted:temperature.at_min"].expect == Expect(("2xx",))
    unknown = cases_by_id(c2023, UNKNOWN)["params.valid_value_accepted:top_p.at_max"]
    assert unknown.expect == Expect(("2xx", "400"))
    assert unknown.note == f"model {UNKNOWN!r}: sampling_params unknown, so a refusal is also accepted"


@pytest.mark.parametrize(("model", "status"), [(HAIKU, ("2xx",)), (OPUS47, ("400",)), (UNKNOWN, ("2xx", "400"))])
def test_prefill_expectation_follows_the_model_fact(c2023, model, status):
    assert cases_by_id(c2023, model)["roles.prefill_handled"].expect == Expect(status)


@pytest.mark.parametrize(("model", "status"), [(OPUS48, ("2xx",)), (HAIKU, ("2xx", "400")), (UNKNOWN, ("2xx", "400"))])
def test_system_role_expectation_follows_the_model_fact(c2023, model, status):
    assert cases_by_id(c2023, model)["roles.system_role_handled"].expect == Expect(status)


def test_requires_skips_a_rule_the_profile_rules_out(specs):
    (specs / "profiles" / "bearer.yaml").write_text(
        'name: bearer\nextends: anthropic\ndescription: "bearer only"\nauth:\n  schemes: [bearer]\napi_versions: ["2023-06-01"]\n', encoding="utf-8"
    )
    contract = load_contract("2023-06-01", "bearer", spec_dir=specs)
    cases = cases_by_id(contract)
    assert cases["auth.x_api_key_accepted"].skip == "not applicable: profile 'bearer' declares auth_schemes=['bearer'], the rule needs 'x-api-key'"
    assert cases["auth.bearer_accepted"].skip is None
    assert list(c.id for c in build_cases(contract, HAIKU) if c.id.startswith("headers.known_versions")) == ["headers.known_versions_accepted:2023-06-01"]
    assert request(contract, "plain").auth == "bearer"
    assert request(contract, "auth.wrong").auth == "wrong-bearer"
    assert "auth.x_api_key" not in plan_requests(contract, build_cases(contract, HAIKU), model=HAIKU)


def test_holds_and_explain():
    contract = load_contract()
    facts = contract.model_facts(HAIKU)
    profile = contract.profile
    assert holds(Condition(model={"prefill": True}), facts, profile, "2023-06-01")
    assert not holds(Condition(model={"prefill": False}), facts, profile, "2023-06-01")
    assert not holds(Condition(model={"prefill": True}), contract.model_facts(UNKNOWN), profile, "2023-06-01")  # unknown never satisfies
    assert holds(Condition(profile={"auth_schemes": "bearer"}), facts, profile, "2023-06-01")
    assert holds(Condition(profile={"version_header_required": True, "features.streaming": True}), facts, profile, "2023-06-01")
    assert not holds(Condition(api_version="2026-10-21"), facts, profile, "2023-06-01")
    cond = Condition(model={"prefill": False}, profile={"version_header_required": False}, api_version="2026-10-21")
    assert explain(cond, facts, profile) == (
        "profile 'anthropic' declares version_header_required=True, the rule needs False; "
        "model 'claude-haiku-4-5' has prefill=True, the rule needs False; the rule applies to API version 2026-10-21"
    )


def test_param_variations_order(c2023):
    assert param_variations(c2023.params["max_tokens"]) == ["missing", "at_min", "below_min", "at_max", "above_max", "wrong_type", "not_integer"]
    assert param_variations(load_contract("2026-10-21").params["top_k"]) == ["present"]


# ------------------------------------------------------------------------------- requests


def test_plain_request_fills_in_the_model_and_default_headers(c2023):
    req = request(c2023, "plain")
    assert (req.method, req.path, req.endpoint, req.auth, req.stream, req.twin, req.retry) == ("POST", "/v1/messages", "messages", "x-api-key", False, None, True)
    assert req.headers == (("user-agent", USER_AGENT), ("content-type", "application/json"), ("anthropic-version", "2023-06-01"))
    assert req.tags == frozenset({"natural_stop"})
    data = req.json_body()
    assert list(data) == ["model", "max_tokens", "messages"]
    assert data["model"] == HAIKU
    assert data["max_tokens"] == 32
    assert "Grüße".encode() in req.body  # UTF-8 on the wire, not \u escapes


def test_set_and_unset(c2023):
    assert body(c2023, "model.unknown")["model"] == "claude-conformance-no-such-model"
    assert "model" not in body(c2023, "param.model.missing")
    assert "messages" not in body(c2023, "param.messages.missing")
    assert [m["role"] for m in body(c2023, "roles.system")["messages"]] == ["user", "system", "user"]


def test_stream_twins(c2023):
    for sid in ("plain", "max_tokens_limit", "stop_sequence"):
        plain, twin = request(c2023, sid), request(c2023, f"{sid}.stream")
        assert twin.stream
        assert twin.twin == sid
        assert not plain.stream
        assert twin.json_body() == {**plain.json_body(), "stream": True}
        assert twin.tags == plain.tags
        assert twin.marker == plain.marker
        assert twin.expect_text == plain.expect_text
    # The stop-sequence probe is plain's prompt with four one-letter sequences: the text it asks for tells where "e" cuts it.
    assert request(c2023, "stop_sequence.stream").expect_text == "Grüße ok"
    assert request(c2023, "stop_sequence").json_body()["stop_sequences"] == ["o", "a", "e", "i"]
    assert request(c2023, "max_tokens_limit.stream").tags == frozenset({"limit_stop"})


@pytest.mark.parametrize(("sid", "auth"), [("plain", "x-api-key"), ("auth.x_api_key", "x-api-key"), ("auth.bearer", "bearer"), ("auth.missing", "none"), ("auth.wrong", "wrong-x-api-key")])
def test_auth_modes(c2023, sid, auth):
    assert request(c2023, sid).auth == auth


@pytest.mark.parametrize(
    ("sid", "version"),
    [("plain", "2023-06-01"), ("version.missing", None), ("version.unknown", "2023-10-01"), ("version.2026-10-21", "2026-10-21"), ("version.duplicated", "2023-06-01, 2023-06-01")],
)
def test_version_modes(c2023, sid, version):
    assert dict(request(c2023, sid).headers).get("anthropic-version") == version


def test_the_unknown_version_is_later_than_every_live_one_and_the_duplicate_follows_the_run(c2023, c2026):
    # Contract §1.1 quotes the refusal of "2023-10-01": a version check by date comparison accepts it.
    assert c2023.unknown_version == c2026.unknown_version == "2023-10-01"
    assert c2023.unknown_version not in c2023.known_versions
    assert c2023.unknown_version > "2023-06-01"
    assert dict(request(c2026, "version.duplicated").headers)["anthropic-version"] == "2026-10-21, 2026-10-21"


@pytest.mark.parametrize(("sid", "auth"), [("auth.wrong_bearer", "wrong-bearer"), ("auth.bearer_lowercase", "bearer-lowercase"), ("auth.count_tokens_missing", "none"), ("auth.models_missing", "none")])
def test_explicit_auth_modes_do_not_follow_the_primary_scheme(c2023, c2026, sid, auth):
    assert request(c2023, sid).auth == request(c2026, sid).auth == auth


def test_keyless_probes_of_the_other_endpoints(c2023):
    counted, listed, stream = request(c2023, "auth.count_tokens_missing"), request(c2023, "auth.models_missing"), request(c2023, "auth.missing_stream")
    assert (counted.endpoint, counted.method, counted.path) == ("count_tokens", "POST", "/v1/messages/count_tokens")
    assert "max_tokens" not in counted.json_body()
    assert (listed.endpoint, listed.method, listed.path, listed.body) == ("models", "GET", "/v1/models", b"")
    assert (stream.auth, stream.stream, stream.json_body()["stream"]) == ("none", True, True)


def test_a_scenario_header_replaces_the_default_of_the_same_name(c2023):
    headers = request(c2023, "content_type.charset").headers
    assert [v for k, v in headers if k == "content-type"] == ["application/json; charset=utf-8"]
    assert [v for k, v in request(c2023, "plain").headers if k == "content-type"] == ["application/json"]


def test_version_default_follows_the_contract(c2026):
    assert dict(request(c2026, "plain").headers)["anthropic-version"] == "2026-10-21"


def test_beta_placeholder_is_filled_from_the_contract(c2023):
    # Two documented betas in one comma-separated value, as Claude Code sends its list.
    assert dict(request(c2023, "beta").headers)["anthropic-beta"] == "files-api-2025-04-14,token-counting-2024-11-01"
    assert dict(request(c2023, "beta.unknown").headers)["anthropic-beta"] == "conformance-no-such-beta-2025-01-01"


def test_raw_malformed_body_is_sent_verbatim_with_the_model(c2023):
    req = request(c2023, "body.malformed")
    assert req.body == b'{"model": "claude-haiku-4-5", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"'
    assert req.json_body() is None
    assert dict(req.headers)["content-type"] == "application/json"


def test_a_body_free_scenario_sends_no_content_type(c2023):
    specs = {**scenario_specs(c2023, HAIKU), "models.list": ScenarioSpec(id="models.list", endpoint="models", retry=False)}
    req = build_request(c2023, specs, "models.list", model=HAIKU)
    assert (req.method, req.path, req.body, req.retry) == ("GET", "/v1/models", b"", False)
    assert "content-type" not in dict(req.headers)


def test_plan_requests_skips_skipped_cases_and_adds_stream_bases(c2023):
    cases = [c for c in build_cases(c2023, HAIKU) if c.id in ("headers.stream_content_type", "auth.missing_key_rejected")]
    assert list(plan_requests(c2023, cases, model=HAIKU)) == ["auth.missing", "plain.stream", "plain"]
    skipped = [c for c in build_cases(c2023, UNKNOWN) if c.id == "params.valid_value_accepted:max_tokens.at_max"]
    assert plan_requests(c2023, skipped, model=UNKNOWN) == {}


# ------------------------------------------------- a new parameter is new tests, no code change


NEW_PARAMS = """\
  verbosity:
    type: string
    enum: [low, high]
    source: OAS25
  top_n:
    type: integer
    minimum: 1
    maximum: 8
    source: OAS25
"""


def test_adding_a_parameter_to_the_spec_adds_its_tests(specs, c2023):
    params = specs / "messages" / "2023-06-01" / "params.yaml"
    params.write_text(params.read_text(encoding="utf-8") + NEW_PARAMS, encoding="utf-8")
    contract = load_contract("2023-06-01", spec_dir=specs)
    cases = cases_by_id(contract)
    added = {cid: case for cid, case in cases.items() if cid not in cases_by_id(c2023)}
    expected = {
        "params.valid_value_accepted:verbosity.enum_low": ("2xx", "low"),
        "params.valid_value_accepted:verbosity.enum_high": ("2xx", "high"),
        "params.invalid_value_rejected:verbosity.not_in_enum": ("400", "not-a-documented-value"),
        "params.wrong_type_rejected:verbosity.wrong_type": ("400", 123),
        "params.valid_value_accepted:top_n.at_min": ("2xx", 1),
        "params.valid_value_accepted:top_n.at_max": ("2xx", 8),
        "params.invalid_value_rejected:top_n.below_min": ("400", 0),
        "params.invalid_value_rejected:top_n.above_max": ("400", 9),
        "params.wrong_type_rejected:top_n.wrong_type": ("400", "warm"),
        "params.wrong_type_rejected:top_n.not_integer": ("400", 2.5),
    }
    assert set(added) == set(expected)
    requests = plan_requests(contract, added.values(), model=HAIKU)
    plain = request(contract, "plain").json_body()
    for cid, (status, value) in expected.items():
        case = added[cid]
        name = case.variation.split(".", 1)[0]
        assert case.expect == Expect((status,))
        assert case.source == OAS25
        assert case.skip is None
        [sid] = case.scenarios
        sent = requests[sid].json_body()
        assert sent[name] == value, cid
        assert {k: v for k, v in sent.items() if k != name} == plain


def test_2026_requests_authenticate_as_sdk_2_does(c2026):
    # anthropic-contract.md §0.2: SDK >= 2.0 sends Authorization: Bearer with anthropic-version 2026-10-21.
    assert request(c2026, "plain").auth == "bearer"
    assert request(c2026, "auth.wrong").auth == "wrong-bearer"
    assert request(c2026, "auth.x_api_key").auth == "x-api-key"


def test_a_profile_primary_scheme_wins(specs):
    edit = specs / "profiles" / "anthropic.yaml"
    edit.write_text(edit.read_text(encoding="utf-8").replace("  schemes: [x-api-key, bearer]", "  schemes: [x-api-key, bearer]\n  primary: x-api-key"), encoding="utf-8")
    contract = load_contract("2026-10-21", spec_dir=specs)
    assert request(contract, "plain").auth == "x-api-key"
    assert request(contract, "auth.wrong").auth == "wrong-x-api-key"


# ------------------------------------------------------ media, endpoints and the count's twin


def test_media_placeholders_become_base64_of_the_generated_file(c2023):
    sent = request(c2023, "vision.webp").json_body()
    source = sent["messages"][0]["content"][0]["source"]
    assert base64.b64decode(source["data"]) == media.webp()
    assert source["media_type"] == "image/webp"
    assert "{media:" not in request(c2023, "document.pdf").body.decode()


def test_model_placeholders_in_a_path_are_the_run_model(c2023):
    assert request(c2023, "models.retrieve").path == "/v1/models/claude-haiku-4-5"
    assert request(c2023, "models.after").path == "/v1/models?limit=1&after_id=claude-haiku-4-5"
    specs = scenario_specs(c2023, "anthropic/claude haiku")
    assert build_request(c2023, specs, "models.retrieve", model="anthropic/claude haiku").path == "/v1/models/anthropic/claude%20haiku"


def test_models_requests_are_body_free_gets(c2023):
    assert request(c2023, "models.before").path == "/v1/models?limit=1&before_id=claude-haiku-4-5"
    for sid in ("models.list", "models.first", "models.after", "models.before", "models.limit_zero", "models.retrieve", "models.unknown"):
        req = request(c2023, sid)
        assert (req.endpoint, req.method, req.body) == ("models", "GET", b""), sid
        assert "content-type" not in dict(req.headers)


def test_a_count_is_its_messages_request_without_max_tokens_and_has_it_as_twin(c2023):
    answered, counted, beta = request(c2023, "system.string"), request(c2023, "count_tokens.system"), request(c2023, "count_tokens.beta")
    assert (counted.endpoint, counted.method, counted.path) == ("count_tokens", "POST", "/v1/messages/count_tokens")
    assert beta.path == "/v1/messages/count_tokens?beta=true"
    assert {k: v for k, v in answered.json_body().items() if k != "max_tokens"} == counted.json_body() == beta.json_body()
    assert counted.twin == beta.twin == "system.string"
    assert counted.tags == frozenset()
    assert "model" not in request(c2023, "count_tokens.no_model").json_body()
    assert "messages" not in request(c2023, "count_tokens.no_messages").json_body()


def test_a_count_with_tools_is_tools_forced_without_max_tokens(c2023):
    answered, counted = request(c2023, "tools.forced"), request(c2023, "count_tokens.tools")
    assert {k: v for k, v in answered.json_body().items() if k != "max_tokens"} == counted.json_body()
    assert {"tools", "tool_choice"} <= set(counted.json_body())
    assert counted.twin == "tools.forced"


def test_count_refusal_probes_change_one_part_of_the_system_count_and_reuse_its_twin(c2023):
    base = request(c2023, "count_tokens.system").json_body()
    changed = {
        "count_tokens.unknown_model": {"model": "claude-conformance-no-such-model"},
        "count_tokens.messages_fields": {"max_tokens": 16, "temperature": 1.0, "stop_sequences": ["END"], "stream": False},
        "count_tokens.unknown_role": {"messages": [{"role": "tool", "content": "Reply with exactly this text and nothing else: ok"}]},
        "count_tokens.bad_tool_name": {"tools": [{"name": "weather.get", "description": "Get the current weather.", "input_schema": {"type": "object", "properties": {}}}]},
    }
    for sid, fields in changed.items():
        probe = request(c2023, sid)
        assert probe.json_body() == {**base, **fields}, sid
        assert (probe.endpoint, probe.twin, probe.stream) == ("count_tokens", "system.string", False), sid


def test_plan_requests_adds_the_messages_twin_of_a_count(c2023):
    cases = [c for c in build_cases(c2023, HAIKU) if c.id == "count_tokens.response_schema"]
    assert list(plan_requests(c2023, cases, model=HAIKU)) == ["count_tokens.system", "count_tokens.beta", "system.string"]
