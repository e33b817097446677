"""Structural edits of a definition, as the form builder makes them.

Pure functions over the definition dict: add a field of a type (with a fresh stable id, so a
later field with the same key never inherits an old one's data), remove, duplicate, move,
rename (the id stays, so records keep their values), change type, mark required. Field order
is the order of ``properties`` (and of a subform's ``items.properties``).
"""

from __future__ import annotations

import copy
import re
import secrets
from typing import Any

from ..errors import FieldError, ValidationFailed
from ..expressions import rename_reference
from ..fields import FieldTypeRegistry
from .metaschema import FIELD_KEY, NOT_IN_ROWS

_KEY = re.compile(FIELD_KEY)


def container(
    definition: dict[str, Any], parent: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the properties holding a field, the object whose ``required`` lists them)."""
    if parent is None:
        definition.setdefault("properties", {})
        return definition["properties"], definition
    subform = definition.get("properties", {}).get(parent)
    if subform is None or subform.get("x-field") != "subform":
        raise ValidationFailed([FieldError(parent, "is not a subform of this form", "unknown")])
    items = subform.setdefault("items", {"type": "object", "properties": {}})
    items.setdefault("properties", {})
    return items["properties"], items


def _fresh_key(properties: dict[str, Any], base: str) -> str:
    base = re.sub(r"[^A-Za-z0-9_]", "_", base).strip("_") or "field"
    if not base[0].isalpha():
        base = "f_" + base
    base = base[:28]
    if base not in properties:
        return base
    n = 2
    while f"{base}_{n}" in properties:
        n += 1
    return f"{base}_{n}"


def fresh_id() -> str:
    return "fld_" + secrets.token_hex(4)


def add_field(
    definition: dict[str, Any],
    type_name: str,
    registry: FieldTypeRegistry,
    *,
    parent: str | None = None,
    index: int | None = None,
    title: str = "",
) -> str:
    """Add a new field of ``type_name``; returns its key."""
    if type_name not in registry:
        raise ValidationFailed([FieldError("type", f"unknown field type '{type_name}'", "unknown")])
    if parent is not None and type_name in NOT_IN_ROWS:
        raise ValidationFailed(
            [FieldError("type", f"a subform cannot hold a {type_name} field", "type")]
        )
    properties, _ = container(definition, parent)
    field_type = registry.get(type_name)
    key = _fresh_key(properties, type_name.replace("-", "_"))
    prop = {**field_type.new_property(), "x-id": fresh_id()}
    prop["title"] = title or str(field_type.label.get("zh-CN", type_name))
    _insert(properties, key, prop, index)
    return key


def _insert(properties: dict[str, Any], key: str, prop: dict[str, Any], index: int | None) -> None:
    items = list(properties.items())
    position = len(items) if index is None else max(0, min(index, len(items)))
    items.insert(position, (key, prop))
    properties.clear()
    properties.update(items)


def _field(
    definition: dict[str, Any], key: str, parent: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    properties, holder = container(definition, parent)
    if key not in properties:
        raise ValidationFailed([FieldError(key, "is not a field of this form", "unknown")])
    return properties, holder


def remove_field(definition: dict[str, Any], key: str, parent: str | None = None) -> None:
    """Remove a field; stored values stay in the records and return if it is restored."""
    properties, holder = _field(definition, key, parent)
    del properties[key]
    if key in holder.get("required", []):
        holder["required"] = [k for k in holder["required"] if k != key]
        if not holder["required"]:
            holder.pop("required")


def duplicate_field(definition: dict[str, Any], key: str, parent: str | None = None) -> str:
    properties, holder = _field(definition, key, parent)
    copied = copy.deepcopy(properties[key])
    copied["x-id"] = fresh_id()
    for child in (copied.get("items") or {}).get("properties", {}).values():
        if isinstance(child, dict):
            child["x-id"] = fresh_id()
    new_key = _fresh_key(properties, key)
    _insert(properties, new_key, copied, list(properties).index(key) + 1)
    if key in holder.get("required", []):
        holder["required"].append(new_key)
    return new_key


def move_field(definition: dict[str, Any], key: str, index: int, parent: str | None = None) -> None:
    properties, _ = _field(definition, key, parent)
    prop = properties.pop(key)
    _insert(properties, key, prop, index)


def rename_field(
    definition: dict[str, Any], key: str, new_key: str, parent: str | None = None
) -> None:
    """Change a field's key; its stable id stays, so stored values follow the new key."""
    properties, holder = _field(definition, key, parent)
    if new_key == key:
        return
    if not _KEY.match(new_key or ""):
        raise ValidationFailed(
            [
                FieldError(
                    "key", "start with a letter, then letters, digits or _ (at most 32)", "pattern"
                )
            ]
        )
    if new_key in properties:
        raise ValidationFailed(
            [FieldError("key", f"another field already uses the key '{new_key}'", "unique")]
        )
    prop = properties[key]
    prop.setdefault("x-id", key)
    items = [(new_key if k == key else k, v) for k, v in properties.items()]
    properties.clear()
    properties.update(items)
    if key in holder.get("required", []):
        holder["required"] = [new_key if k == key else k for k in holder["required"]]
    _rename_references(definition, key, new_key, parent)
    settings = definition.get("x-form", {})
    if parent is None:
        for name in ("owner_field", "title_field"):
            if settings.get(name) == key:
                settings[name] = new_key
        if key in settings.get("list_columns", []):
            settings["list_columns"] = [
                new_key if k == key else k for k in settings["list_columns"]
            ]


def change_type(
    definition: dict[str, Any],
    key: str,
    type_name: str,
    registry: FieldTypeRegistry,
    parent: str | None = None,
) -> None:
    """Give a field another type: labels, id, layout and rules of visibility stay; the
    keywords of the old type go (the publish check converts or refuses stored values)."""
    properties, _ = _field(definition, key, parent)
    if type_name not in registry:
        raise ValidationFailed([FieldError("type", f"unknown field type '{type_name}'", "unknown")])
    old = properties[key]
    kept = {
        k: v
        for k, v in old.items()
        if k
        in (
            "title",
            "x-label",
            "description",
            "x-description",
            "x-id",
            "x-layout",
            "x-visible-when",
            "x-placeholder",
        )
    }
    new = {**registry.get(type_name).new_property(), **kept}
    new.setdefault("x-id", key)
    properties[key] = new


def set_required(
    definition: dict[str, Any], key: str, required: bool, parent: str | None = None
) -> None:
    _, holder = _field(definition, key, parent)
    listed = list(holder.get("required", []))
    if required and key not in listed:
        listed.append(key)
    if not required and key in listed:
        listed.remove(key)
    if listed:
        holder["required"] = listed
    else:
        holder.pop("required", None)


#: The keywords whose value is an expression naming other fields.
EXPRESSION_KEYWORDS = ("x-formula", "x-visible-when")


def _rename_references(
    definition: dict[str, Any], key: str, new_key: str, parent: str | None
) -> None:
    """Point every formula and rule that named the field at its new key. In a subform's
    row, a bare name is a sibling first, so a record field a sibling shadows is left alone."""
    for top_key, prop in definition.get("properties", {}).items():
        if parent is None:
            _rewrite(prop, key, new_key)
        else:
            _rewrite(prop, f"{parent}.{key}", f"{parent}.{new_key}")
        rows = (
            prop.get("items", {}).get("properties", {}) if prop.get("x-field") == "subform" else {}
        )
        for child in rows.values():
            shadowed = parent is None and key in rows  # the row's own field of that name
            if (parent is None and not shadowed) or parent == top_key:
                _rewrite(child, key, new_key)


def _rewrite(prop: dict[str, Any], old: str, new: str) -> None:
    for keyword in EXPRESSION_KEYWORDS:
        if isinstance(prop.get(keyword), str):
            prop[keyword] = rename_reference(prop[keyword], old, new)
