"""conformance/reference/structured.py: the instance constrained decoding writes for a schema."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from conformance.reference.structured import instance, output_config_problem

SCHEMAS = [
    {"type": "object", "properties": {"colour": {"enum": ["blue"]}, "count": {"enum": [3]}}, "required": ["colour", "count"], "additionalProperties": False},
    {"type": "object", "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1}}, "required": ["name", "tags"]},
    {"type": "object", "properties": {"kind": {"const": "point"}, "x": {"type": "number"}, "ok": {"type": "boolean"}, "note": {"type": ["string", "null"]}}, "required": ["kind", "x", "ok", "note"]},
    {"anyOf": [{"type": "integer"}, {"type": "string"}]},
    {"type": "object", "properties": {"inner": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}}, "required": ["inner"]},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_the_instance_is_valid_against_its_schema(schema):
    assert list(Draft202012Validator(schema).iter_errors(instance(schema))) == []


def test_a_schema_with_one_valid_instance_gets_exactly_it():
    assert instance(SCHEMAS[0]) == {"colour": "blue", "count": 3}


@pytest.mark.parametrize(("config", "problem"), [
    (None, None),
    ({"effort": "low"}, None),
    ({"format": {"type": "json_schema", "schema": {"type": "object"}}}, None),
    ({"format": {"type": "json_object"}}, "output_config.format.type: Input should be 'json_schema'"),
    ({"format": {"type": "json_schema"}}, "output_config.format.schema: Field required"),
    ({"format": {"type": "json_schema", "schema": "object"}}, "output_config.format.schema: Input should be a valid dictionary"),
])
def test_output_config_format_is_checked_as_the_api_words_it(config, problem):
    assert output_config_problem(config) == problem
