"""Definitions are checked before they are saved: every problem, at its JSON pointer."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from formflow import jsoncodec
from formflow.definitions.checks import check_definition
from formflow.definitions.metaschema import build_metaschema
from formflow.fields import field_types
from tests.platform.definitions_samples import QUOTE


def problems(definition):
    return [f"{e.field}: {e.message}" for e in check_definition(definition, field_types)]


def with_property(key, prop, **top):
    return {"title": "T", "type": "object", "properties": {key: prop}, **top}


def test_the_sample_quote_is_valid():
    assert problems(QUOTE) == []


def test_a_wrong_value_type_is_reported_at_its_pointer():
    definition = with_property(
        "discount", {"x-field": "number", "type": "number", "maximum": "lots"}
    )
    assert problems(definition) == ["/properties/discount/maximum: must be a number"]


def test_every_problem_is_listed_not_just_the_first():
    definition = {
        "title": "T",
        "type": "object",
        "properties": {
            "a": {"x-field": "money", "type": "number", "maxLength": 3},
            "b": {"x-field": "colour", "type": "string"},
            "c": {"x-field": "select", "type": "string"},
            "9bad": {"x-field": "text", "type": "string"},
            "d": {"x-field": "text", "type": "number"},
        },
        "required": ["a", "zzz"],
    }
    found = problems(definition)
    assert "/properties/a/maxLength: is not a known keyword here" in found
    assert "/properties/b/x-field: unknown field type 'colour'" in found
    assert "/properties/c: is missing 'enum'" in found
    assert any(p.startswith("/properties/9bad: is not a valid key") for p in found)
    assert "/properties/d/type: must be 'string'" in found


def test_semantic_problems_are_reported_after_the_shape_is_right():
    definition = with_property("a", {"x-field": "text", "type": "string"}, required=["a", "zzz"])
    assert problems(definition) == ["/required/1: unknown field 'zzz'"]


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("1 + * 2", "/properties/f/x-formula: "),
        ("nope + 1", "/properties/f/x-formula: refers to unknown field 'nope'"),
        ("FOO(1)", "/properties/f/x-formula: "),
    ],
)
def test_formula_errors_name_the_field_and_position(formula, message):
    definition = with_property("f", {"x-field": "formula", "type": "number", "x-formula": formula})
    found = problems(definition)
    assert len(found) == 1 and found[0].startswith(message), found
    if formula == "1 + * 2":
        assert "column 5" in found[0]


def test_circular_formulas_are_refused():
    definition = {
        "title": "T",
        "type": "object",
        "properties": {
            "a": {"x-field": "formula", "type": "number", "x-formula": "b + 1"},
            "b": {"x-field": "formula", "type": "number", "x-formula": "a + 1"},
        },
    }
    found = problems(definition)
    assert len(found) == 1
    assert "circular formula: a → b → a" in found[0]


def test_visibility_rule_must_refer_to_existing_fields():
    definition = with_property(
        "x", {"x-field": "text", "type": "string", "x-visible-when": "gone = 1"}
    )
    assert problems(definition) == ["/properties/x/x-visible-when: refers to unknown field 'gone'"]


def test_duplicate_field_ids_are_refused():
    definition = {
        "title": "T",
        "type": "object",
        "properties": {
            "a": {"x-field": "text", "type": "string", "x-id": "same"},
            "b": {"x-field": "text", "type": "string", "x-id": "same"},
        },
    }
    assert problems(definition) == ["/properties/b/x-id: duplicate field id 'same'"]


def test_options_must_match_enum_and_defaults_must_fit():
    definition = with_property(
        "s",
        {
            "x-field": "select",
            "type": "string",
            "enum": ["a", "b"],
            "x-options": [{"value": "c", "label": "C"}],
            "default": "z",
        },
    )
    assert problems(definition) == [
        "/properties/s/default: 'z' is not one of ['a', 'b']",
        "/properties/s/x-options/0/value: 'c' is not in enum",
    ]


def test_subform_rows_cannot_nest_subforms_or_be_unique():
    def rows(**children):
        return with_property(
            "lines",
            {
                "x-field": "subform",
                "type": "array",
                "items": {"type": "object", "properties": children},
            },
        )

    nested = rows(
        inner={"x-field": "subform", "type": "array", "items": {"type": "object", "properties": {}}}
    )
    assert problems(nested) == [
        "/properties/lines/items/properties/inner/x-field: "
        "a subform row cannot hold a subform field"
    ]
    unique = rows(code={"x-field": "text", "type": "string", "x-unique": True})
    assert problems(unique) == [
        "/properties/lines/items/properties/code/x-unique: unique is not possible inside a subform"
    ]


def test_relation_target_must_exist_when_a_resolver_is_given():
    definition = with_property(
        "c", {"x-field": "relation", "type": "integer", "x-relation": {"form": "customer"}}
    )
    found = check_definition(definition, field_types, resolve_form=lambda name: None)
    assert [f"{e.field}: {e.message}" for e in found] == [
        "/properties/c/x-relation/form: no form named 'customer'"
    ]


@pytest.mark.parametrize("kind", [{}, [], {"type": "text"}, ["text"]])
def test_a_field_type_that_is_not_a_name_is_reported_at_its_pointer(kind):
    """Found by the definition fuzzer: an object or a list as ``x-field`` (unhashable) made
    the checker raise TypeError instead of naming the field."""
    found = problems(with_property("a", {"x-field": kind, "type": "string"}))
    assert found and all(p.startswith("/properties/a/x-field: ") for p in found), found
    rows = {"x-field": "subform", "type": "array", "items": with_property("b", {"x-field": kind})}
    assert problems(with_property("lines", rows))


def test_not_an_object_at_all():
    assert problems([1, 2]) == [": a form definition must be a JSON object"]


def test_metaschema_is_itself_valid_json_schema():
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(build_metaschema(field_types))


def test_every_builtin_type_new_property_is_valid():
    for field_type in field_types:
        prop = field_type.new_property()
        if field_type.name == "relation":
            prop["x-relation"]["form"] = "other"
        if field_type.name == "subform":
            prop["items"]["properties"] = {"x": {"x-field": "text", "type": "string"}}
        assert problems(with_property("f", prop)) == [], field_type.name


def test_decimal_keywords_are_exact():
    definition = with_property(
        "m", {"x-field": "money", "type": "number", "maximum": Decimal("0.30")}
    )
    assert problems(definition) == []
    text = jsoncodec.dumps_pretty(definition)
    assert '"maximum": 0.30' in text


def test_refused_publish_saves_nothing(api, make_app):
    make_app("demo")
    bad = copy.deepcopy(QUOTE)
    bad["properties"]["discount"]["maximum"] = "one"
    response = api.put("/forms/demo.quote", bad)
    assert response.status_code == 422
    assert response.body["errors"] == [
        {
            "field": "/properties/discount/maximum",
            "message": "must be a number",
            "code": "definition",
        }
    ]
    assert api.get("/forms/demo.quote").status_code == 404
    assert api.get("/forms").body["forms"] == []
