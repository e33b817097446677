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
