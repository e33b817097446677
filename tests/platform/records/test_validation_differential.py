"""The compiled validator (jsonschema-rs) agrees with the reference (jsonschema) on every
instance hypothesis can think of, for the schemas the engine generates."""

from __future__ import annotations

from decimal import Decimal

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from formflow.definitions.spec import compile_spec
from formflow.fields import field_types

DEFINITION = {
    "title": "Differential",
    "type": "object",
    "properties": {
        "name": {
            "x-field": "text",
            "type": "string",
            "minLength": 2,
            "maxLength": 8,
            "pattern": "^[A-Za-z][a-z]*$",
        },
        "amount": {"x-field": "money", "type": "number", "minimum": 0, "exclusiveMaximum": 1000},
        "qty": {
            "x-field": "number",
            "type": "integer",
            "minimum": 1,
            "maximum": 99,
            "multipleOf": 3,
        },
        "rate": {"x-field": "number", "type": "number", "multipleOf": Decimal("0.05")},
        "stage": {"x-field": "select", "type": "string", "enum": ["new", "won", "lost"]},
        "tags": {
            "x-field": "multi-select",
            "type": "array",
            "maxItems": 2,
            "items": {"type": "string", "enum": ["a", "b", "c"]},
        },
        "ok": {"x-field": "boolean", "type": "boolean"},
        "owner": {"x-field": "member", "type": "integer"},
        "where": {"x-field": "location", "type": "object"},
        "lines": {
            "x-field": "subform",
            "type": "array",
            "maxItems": 3,
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "price": {"x-field": "money", "type": "number", "minimum": 0},
                    "note": {"x-field": "text", "type": "string", "maxLength": 3},
                },
            },
        },
    },
}
SPEC = compile_spec(DEFINITION, field_types)


def _is_integer(checker, instance):
    # JSON Schema: an integer is any number with a zero fractional part (6.0 and
    # Decimal("6") included); jsonschema's default checker only knows Python ints and floats.
    if isinstance(instance, Decimal):
        return instance.is_finite() and instance == instance.to_integral_value()
    return jsonschema.Draft202012Validator.TYPE_CHECKER.is_type(instance, "integer")


Reference = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)
REFERENCE = Reference(SPEC.data_schema)

decimals = st.decimals(
    min_value=-2000, max_value=2000, places=2, allow_nan=False, allow_infinity=False
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-200, 200),
    decimals,
    st.text(max_size=10),
    st.sampled_from(["new", "won", "Abc", "a", "x"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(["lat", "lng", "price", "note", "x"]), inner, max_size=3),
    ),
    max_leaves=8,
)
instances = st.dictionaries(
    st.sampled_from([*list(DEFINITION["properties"]), "extra"]), values, max_size=6
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances)
def test_compiled_validator_agrees_with_the_reference(instance):
    expected = sorted(tuple(e.absolute_path) for e in REFERENCE.iter_errors(instance))
    actual = sorted(tuple(e.instance_path) for e in SPEC.validator.iter_errors(instance))
    assert REFERENCE.is_valid(instance) == SPEC.validator.is_valid(instance)
    assert {p for p in expected} == {p for p in actual}


def test_known_edge_cases_agree():
    for instance in (
        {"rate": Decimal("0.15")},
        {"rate": Decimal("0.151")},
        {"qty": Decimal("6")},
        {"qty": 6.0},
        {"amount": Decimal("999.99")},
        {"amount": 1000},
        {"lines": []},
        {"lines": [{"price": Decimal("-0.01")}]},
        {"name": "Ab"},
        {"name": "AB"},
    ):
        assert REFERENCE.is_valid(instance) == SPEC.validator.is_valid(instance), instance
