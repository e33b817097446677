"""Subform: rows of sub-fields inside one record (line items of a quotation, say).

``{"type": "array", "x-field": "subform", "items": {"type": "object", "properties": {...},
"required": [...]}, "maxItems": 50}``. Sub-fields may be any type but a subform or a serial
number; formulas inside a row see that row's fields first, then the record's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import DisplayContext, FieldType, FieldValueError

if TYPE_CHECKING:
    from ..definitions.spec import FieldSpec

#: No subform holds more rows than this, whatever its definition says.
ROW_CAP = 500


class Subform(FieldType):
    name = "subform"
    label = {"en": "Subform", "zh-CN": "子表单"}
    category = "advanced"
    json_type = "array"
    multiple = True
    sql_kind = None
    has_rows = True

    def keywords(self) -> dict[str, Any]:
        return {
            "items": {
                "type": "object",
                "properties": {
                    "type": {"const": "object"},
                    "properties": {
                        "type": "object",
                        "propertyNames": {"$ref": "#/$defs/fieldKey"},
                        "additionalProperties": {"$ref": "#/$defs/subfield"},
                        "maxProperties": 50,
                    },
                    "required": {
                        "type": "array",
                        "items": {"$ref": "#/$defs/fieldKey"},
                        "uniqueItems": True,
                    },
                    "additionalProperties": {"const": False},
                },
                "required": ["type", "properties"],
                "additionalProperties": False,
            },
            "minItems": {"type": "integer", "minimum": 0, "maximum": ROW_CAP},
            "maxItems": {"type": "integer", "minimum": 1, "maximum": ROW_CAP},
        }

    def definition_schema(self) -> dict[str, Any]:
        schema = super().definition_schema()
        schema["required"] = [*schema["required"], "items"]
        return schema

    def new_property(self) -> dict[str, Any]:
        return {
            "x-field": self.name,
            "type": "array",
            "items": {"type": "object", "properties": {}, "required": []},
            "maxItems": 50,
        }

    def data_schema(self, field: FieldSpec) -> dict[str, Any]:
        properties = {
            child.key: child.type.data_schema(child) for child in field.children if child.stores
        }
        schema: dict[str, Any] = {
            "type": "array",
            "items": {"type": "object", "properties": properties, "additionalProperties": False},
            "maxItems": min(int(field.schema.get("maxItems", ROW_CAP)), ROW_CAP),
        }
        if "minItems" in field.schema:
            schema["minItems"] = field.schema["minItems"]
        return schema

    def coerce(self, raw: Any, field: FieldSpec) -> Any:
        """Checks the shape only; the record pipeline coerces each row's sub-fields."""
        if raw is None:
            return None
        if type(raw) is not list:
            raise FieldValueError("must be a list of rows", "type", expected="array")
        for row in raw:
            if type(row) is not dict:
                raise FieldValueError("must be a list of rows", "type", expected="array")
        limit = min(int(field.schema.get("maxItems", ROW_CAP)), ROW_CAP)
        if len(raw) > limit:
            raise FieldValueError(f"must have at most {limit} rows", "maxItems", limit=limit)
        return raw

    def convert(self, stored: Any, old: FieldSpec, field: FieldSpec) -> Any:
        if old.type.name == self.name:
            return stored
        raise FieldValueError("cannot become a subform", "type")

    def display(self, stored: Any, field: FieldSpec, ctx: DisplayContext | None = None) -> str:
        return f"{len(stored)} row(s)" if stored else ""
