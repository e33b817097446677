"""The meta-schema: what a form definition may say.

Built from the field type registry, so each type's keywords are checked against that type
alone (a ``maxLength`` on a money field is an unknown keyword, not silently ignored) and a
plugin's new type is checked like the built-in ones.
"""

from __future__ import annotations

from typing import Any

from ..fields import FieldType, FieldTypeRegistry
from .spec import LANGUAGES

FIELD_KEY = r"^[A-Za-z][A-Za-z0-9_]{0,31}$"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
MAX_FIELDS = 300
#: Types a subform row may not hold: no nested rows, no per-row serial numbers.
NOT_IN_ROWS = frozenset({"subform", "serial"})


def build_metaschema(registry: FieldTypeRegistry) -> dict[str, Any]:
    types = list(registry)
    defs: dict[str, Any] = {
        "fieldKey": {"type": "string", "pattern": FIELD_KEY},
        "fieldId": {"type": "string", "pattern": FIELD_KEY},
        "i18nText": {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"enum": list(LANGUAGES)},
            "additionalProperties": {"type": "string", "maxLength": 2000},
        },
        "i18nOrText": {
            "anyOf": [{"type": "string", "maxLength": 2000}, {"$ref": "#/$defs/i18nText"}]
        },
        "expression": {"type": "string", "minLength": 1, "maxLength": 4000},
        "field": _union(types),
        "subfield": _union([t for t in types if t.name not in NOT_IN_ROWS]),
    }
    for field_type in types:
        defs[f"type-{field_type.name}"] = field_type.definition_schema()
    return {
        "$schema": DRAFT,
        "$id": "https://formflow.dev/schemas/form-definition.json",
        "title": "Formflow form definition",
        "type": "object",
        "required": ["type", "title", "properties"],
        "properties": {
            "$schema": {"const": DRAFT},
            "$comment": {"type": "string"},
            "title": {"type": "string", "minLength": 1, "maxLength": 200},
            "description": {"type": "string", "maxLength": 2000},
            "x-label": {"$ref": "#/$defs/i18nText"},
            "x-description": {"$ref": "#/$defs/i18nText"},
            "type": {"const": "object"},
            "properties": {
                "type": "object",
                "maxProperties": MAX_FIELDS,
                "propertyNames": {"$ref": "#/$defs/fieldKey"},
                "additionalProperties": {"$ref": "#/$defs/field"},
            },
            "required": {
                "type": "array",
                "items": {"$ref": "#/$defs/fieldKey"},
                "uniqueItems": True,
            },
            "additionalProperties": {"const": False},
            "x-form": {
                "type": "object",
                "properties": {
                    "submit_text": {"$ref": "#/$defs/i18nOrText"},
                    "list_columns": {
                        "type": "array",
                        "items": {"$ref": "#/$defs/fieldKey"},
                        "uniqueItems": True,
                    },
                    "owner_field": {"$ref": "#/$defs/fieldKey"},
                    "title_field": {"$ref": "#/$defs/fieldKey"},
                    "icon": {"type": "string", "maxLength": 64},
                },
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
        "$defs": defs,
    }


def _union(types: list[FieldType]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["x-field"],
        "properties": {"x-field": {"enum": [t.name for t in types]}},
        "allOf": [
            {
                "if": {"properties": {"x-field": {"const": t.name}}, "required": ["x-field"]},
                "then": {"$ref": f"#/$defs/type-{t.name}"},
            }
            for t in types
        ],
    }
