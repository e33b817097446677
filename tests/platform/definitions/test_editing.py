"""The builder's structural edits keep definitions valid and data attached."""

from __future__ import annotations

import pytest

from formflow.definitions import editing
from formflow.definitions.checks import check_definition
from formflow.errors import ValidationFailed
from formflow.fields import field_types


def empty():
    return {"title": "T", "type": "object", "properties": {}}


def test_every_type_can_be_added_and_the_result_is_valid_once_configured():
    definition = empty()
    for field_type in field_types:
        key = editing.add_field(definition, field_type.name, field_types)
        prop = definition["properties"][key]
        assert prop["x-id"].startswith("fld_")
        if field_type.name == "relation":
            prop["x-relation"]["form"] = "other"
        if field_type.name == "subform":
            editing.add_field(definition, "number", field_types, parent=key)
    assert check_definition(definition, field_types) == []


def test_subforms_refuse_nested_subforms_and_serials():
    definition = empty()
    lines = editing.add_field(definition, "subform", field_types)
    with pytest.raises(ValidationFailed):
        editing.add_field(definition, "subform", field_types, parent=lines)
    with pytest.raises(ValidationFailed):
        editing.add_field(definition, "serial", field_types, parent=lines)


def test_rename_keeps_the_id_required_and_settings():
    definition = {
        "title": "T",
        "type": "object",
        "required": ["name"],
        "x-form": {"title_field": "name", "list_columns": ["name"]},
        "properties": {"name": {"x-field": "text", "type": "string"}},
    }
    editing.rename_field(definition, "name", "company")
    assert definition["properties"] == {
        "company": {"x-field": "text", "type": "string", "x-id": "name"}
    }
    assert definition["required"] == ["company"]
    assert definition["x-form"] == {"title_field": "company", "list_columns": ["company"]}
    editing.add_field(definition, "text", field_types)
    with pytest.raises(ValidationFailed) as taken:
        editing.rename_field(definition, "text", "company")
    assert taken.value.errors[0].message == "another field already uses the key 'company'"
    with pytest.raises(ValidationFailed):
        editing.rename_field(definition, "text", "9lives")


def test_move_duplicate_remove_and_change_type():
    definition = empty()
    a = editing.add_field(definition, "text", field_types)
    b = editing.add_field(definition, "number", field_types)
    editing.set_required(definition, a, True)
    editing.move_field(definition, b, 0)
    assert list(definition["properties"]) == [b, a]
    copy = editing.duplicate_field(definition, a)
    assert list(definition["properties"]) == [b, a, copy]
    assert definition["properties"][copy]["x-id"] != definition["properties"][a]["x-id"]
    assert definition["required"] == [a, copy]
    editing.change_type(definition, a, "money", field_types)
    assert definition["properties"][a]["x-field"] == "money"
    editing.remove_field(definition, a)
    editing.remove_field(definition, copy)
    assert "required" not in definition and list(definition["properties"]) == [b]
    assert check_definition(definition, field_types) == []


def _quote():
    return {
        "title": "Quote",
        "type": "object",
        "properties": {
            "price": {"x-field": "number", "type": "number"},
            "stage": {"x-field": "text", "type": "string"},
            "lost_reason": {
                "x-field": "text",
                "type": "string",
                "x-visible-when": "AND(stage = 'lost', price > 0)",
            },
            "lines": {
                "x-field": "subform",
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "qty": {"x-field": "number", "type": "number"},
                        "line_total": {
                            "x-field": "formula",
                            "type": "number",
                            "x-formula": "qty * price",
                            "x-result": "number",
                        },
                    },
                },
            },
            "total": {
                "x-field": "formula",
                "type": "number",
                "x-formula": "SUM(lines.line_total) + price * 0  & 'price'",
                "x-result": "number",
            },
        },
    }


def test_a_rename_rewrites_every_formula_and_rule_that_names_the_field():
    definition = _quote()
    editing.rename_field(definition, "price", "unit_price")
    props = definition["properties"]
    assert props["lost_reason"]["x-visible-when"] == "AND(stage = 'lost', unit_price > 0)"
    assert props["lines"]["items"]["properties"]["line_total"]["x-formula"] == "qty * unit_price"
    assert props["total"]["x-formula"] == "SUM(lines.line_total) + unit_price * 0  & 'price'"
    assert check_definition(definition, field_types) == []


def test_renaming_a_subform_column_rewrites_row_formulas_and_dotted_references():
    definition = _quote()
    editing.rename_field(definition, "line_total", "amount", parent="lines")
    props = definition["properties"]
    assert props["total"]["x-formula"].startswith("SUM(lines.amount) +")
    editing.rename_field(definition, "qty", "quantity", parent="lines")
    assert props["lines"]["items"]["properties"]["amount"]["x-formula"] == "quantity * price"
    editing.rename_field(definition, "lines", "items_sold")
    assert definition["properties"]["total"]["x-formula"].startswith("SUM(items_sold.amount) +")
    assert check_definition(definition, field_types) == []


def test_a_row_field_shadows_a_record_field_of_the_same_name():
    definition = _quote()
    rows = definition["properties"]["lines"]["items"]["properties"]
    rows["price"] = {"x-field": "number", "type": "number"}
    editing.rename_field(definition, "price", "list_price")
    assert rows["line_total"]["x-formula"] == "qty * price"  # the row's own price
    assert definition["properties"]["lost_reason"]["x-visible-when"].endswith("list_price > 0)")


def test_a_formula_that_does_not_parse_is_left_as_written():
    definition = _quote()
    definition["properties"]["total"]["x-formula"] = "price * (1 +"
    editing.rename_field(definition, "price", "unit_price")
    assert definition["properties"]["total"]["x-formula"] == "price * (1 +"
