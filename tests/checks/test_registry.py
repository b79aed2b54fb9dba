"""conformance/checks/registry.py: the catalogue, its id rules, and its agreement with the spec."""

from __future__ import annotations

import pytest

from conformance.checks.registry import check, registered
from conformance.contract.loader import available_versions, load_contract
from conformance.contract.model import RuleKind


@pytest.mark.parametrize("version", available_versions())
def test_spec_property_rule_ids_equal_registered_check_ids(version):
    contract = load_contract(version, "anthropic")
    spec = {rule.id for rule in contract.rules.values() if rule.kind is RuleKind.PROPERTY}
    checks = set(registered())
    assert sorted(spec - checks) == [], "property rules without a check function"
    assert sorted(checks - spec) == [], "check functions without a property rule"


def test_no_expectation_or_generated_rule_has_a_check_function():
    contract = load_contract()
    other = {rule.id for rule in contract.rules.values() if rule.kind is not RuleKind.PROPERTY}
    assert other & set(registered()) == set()


def test_every_check_is_named_after_its_id_and_says_why():
    for check_id, fn in registered().items():
        assert fn.__name__ == check_id.split(".", 1)[1]
        assert fn.__doc__, check_id
        assert "\n" not in fn.__doc__.strip(), check_id


def test_the_registry_is_read_only():
    with pytest.raises(TypeError):
        registered()["shape.extra"] = lambda s: []  # type: ignore[index]


@pytest.mark.parametrize("bad", ["shape", "Shape.id_prefix", "shape.id-prefix", "shape.id.prefix", "shape."])
def test_check_rejects_ids_not_of_the_form_area_property(bad):
    with pytest.raises(ValueError, match=r"must be area\.property_that_holds"):
        check(bad)


def test_check_requires_the_function_to_be_named_after_the_id():
    def something_else(s):
        return []

    with pytest.raises(ValueError, match="must be implemented by a function named 'brand_new'"):
        check("shape.brand_new")(something_else)
    assert "shape.brand_new" not in registered()


def test_check_refuses_a_second_registration():
    def id_prefix(s):
        return []

    with pytest.raises(ValueError, match="registered twice"):
        check("shape.id_prefix")(id_prefix)
    assert registered()["shape.id_prefix"] is not id_prefix
