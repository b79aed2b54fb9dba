"""conformance/contract/profiles.py: a profile's deviations are applied with their source; a broken profile is one clear error."""

from __future__ import annotations

import pytest

from conformance.contract.loader import load_contract
from conformance.contract.model import Expect
from conformance.errors import ConfigError
from conformance.findings import Level

from ._trees import V2023, edit, spec_error


def test_an_unknown_profile_lists_the_shipped_ones(specs):
    with pytest.raises(ConfigError) as caught:
        load_contract(V2023, "acme", spec_dir=specs)
    assert str(caught.value).startswith("unknown profile 'acme'. Shipped profiles: anthropic, ")


def test_a_mistyped_profile_gets_a_suggestion(specs):
    with pytest.raises(ConfigError) as caught:
        load_contract(V2023, "antropic", spec_dir=specs)
    assert str(caught.value).startswith("unknown profile 'antropic': did you mean 'anthropic'? Shipped profiles: anthropic, ")


GATEWAY = """\
name: gateway
extends: anthropic
description: "A gateway with documented deviations."
auth:
  schemes: [bearer]
api_versions: ["2023-06-01"]
version_header_required: false
rules:
  headers.request_id_present:
    level: MUST
    level_reason: "Client: the gateway's own client files support tickets by it"
    note: "the gateway promises a request id"
    source: https://gateway.example/docs/ids
  auth.x_api_key_accepted:
    skip: "bearer only"
    source: https://gateway.example/docs/auth
  request.unknown_model_not_found:
    expect: {status: ["400", "404"]}
    source: https://gateway.example/docs/errors
  params.required_enforced:
    expect: {status: ["422"]}
    source: https://gateway.example/docs/validation
params:
  top_k:
    maximum: 500
    source: https://gateway.example/docs/params
"""


def test_a_profile_override_changes_the_rule_and_records_why(specs):
    (specs / "profiles" / "gateway.yaml").write_text(GATEWAY, encoding="utf-8")
    contract = load_contract(V2023, "gateway", spec_dir=specs)
    rules, base = contract.rules, load_contract(V2023, "anthropic", spec_dir=specs).rules

    level = rules["headers.request_id_present"]
    assert level.level is Level.MUST
    assert base["headers.request_id_present"].level is Level.SHOULD
    assert level.overridden_by == "the gateway promises a request id (https://gateway.example/docs/ids)"
    assert level.level_reason == "profile 'gateway': Client: the gateway's own client files support tickets by it"
    assert base["headers.request_id_present"].level_reason.startswith("Room: ")

    skipped = rules["auth.x_api_key_accepted"]
    assert (skipped.skip, skipped.overridden_by) == ("profile 'gateway': bearer only", "changed by profile (https://gateway.example/docs/auth)")

    expect = rules["request.unknown_model_not_found"]
    assert expect.expect == Expect(("400", "404"))
    generated = rules["params.required_enforced"].generated
    assert generated is not None
    assert generated.expect == Expect(("422",))
    assert generated.cases == ("missing",)

    untouched = rules["stream.event_order"]
    assert untouched == base["stream.event_order"]
    assert untouched.overridden_by == ""


def test_a_profile_extends_another_and_adjusts_params(specs):
    (specs / "profiles" / "gateway.yaml").write_text(GATEWAY, encoding="utf-8")
    contract = load_contract(V2023, "gateway", spec_dir=specs)
    profile = contract.profile
    assert (profile.name, profile.auth_schemes, profile.api_versions, profile.version_header_required) == ("gateway", ("bearer",), (V2023,), False)
    assert profile.default_model == "claude-haiku-4-5"  # inherited from anthropic
    assert profile.features["streaming"] is True
    assert contract.params["top_k"].maximum == 500.0
    assert contract.params["top_k"].minimum == 0.0
    assert "rules.headers.request_id_present: the gateway promises a request id (https://gateway.example/docs/ids)" in profile.deviations
    assert "params.top_k: overridden (https://gateway.example/docs/params)" in profile.deviations


def test_a_profile_overriding_an_unknown_rule(specs):
    profile = specs / "profiles" / "anthropic.yaml"
    edit(profile, "features:", 'rules:\n  auth.no_such_rule: {source: "https://x.example", level: SHOULD, level_reason: "Room: a test of an unknown rule"}\nfeatures:')
    error = spec_error(specs)
    assert str(error) == f"{profile}#/rules/auth.no_such_rule: profile overrides unknown rule 'auth.no_such_rule'"


def test_a_profile_override_without_a_source(specs):
    profile = specs / "profiles" / "anthropic.yaml"
    edit(profile, "features:", "rules:\n  auth.wrong_key_rejected: {level: SHOULD}\nfeatures:")
    error = spec_error(specs)
    assert str(error) == f"{profile}#/rules/auth.wrong_key_rejected: 'source' is a required property"


def test_a_profile_may_be_given_as_a_file(specs, tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(GATEWAY.replace("name: gateway\n", "name: mine\n").replace("extends: anthropic\n", ""), encoding="utf-8")
    assert load_contract(V2023, str(path), spec_dir=specs).profile.name == "mine"


def test_a_profile_that_changes_a_level_must_say_why(specs):
    profile = specs / "profiles" / "anthropic.yaml"
    edit(profile, "features:", 'rules:\n  auth.wrong_key_rejected: {source: "https://x.example", level: SHOULD}\nfeatures:')
    error = spec_error(specs)
    assert str(error) == f"{profile}#/rules/auth.wrong_key_rejected: 'level_reason' is a dependency of 'level'"
