"""Relation: a link to a record of another form (``x-relation``).

``{"x-relation": {"form": "customer", "display": "name", "multiple": false}}`` names the
target form (in the same app, or ``app.form``), the target field shown for a linked record,
and whether several records may be linked. Stored values are record ids; every write checks
they are live records of that form.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import DisplayContext, FieldType
from .people import parse_id, parse_ids

if TYPE_CHECKING:
    from ..definitions.spec import FieldSpec


class Relation(FieldType):
    name = "relation"
    label = {"en": "Related record", "zh-CN": "关联数据"}
    category = "advanced"
    json_type = "integer"
    sql_kind = "integer"
    references = "record"

    def keywords(self) -> dict[str, Any]:
        return {
            "type": {"enum": ["integer", "array"]},
            "items": {"type": "object", "properties": {"type": {"const": "integer"}}},
            "maxItems": {"type": "integer", "minimum": 1, "maximum": 1000},
            "x-relation": {
                "type": "object",
                "properties": {
                    "form": {"type": "string", "pattern": r"^([a-z][a-z0-9_]*\.)?[a-z][a-z0-9_]*$"},
                    "display": {"$ref": "#/$defs/fieldKey"},
                    "multiple": {"type": "boolean"},
                },
                "required": ["form"],
                "additionalProperties": False,
            },
        }

    def definition_schema(self) -> dict[str, Any]:
        schema = super().definition_schema()
        schema["required"] = [*schema["required"], "x-relation"]
        return schema

    def new_property(self) -> dict[str, Any]:
        return {"x-field": self.name, "type": "integer", "x-relation": {"form": ""}}

    def is_multiple(self, field: FieldSpec) -> bool:
        return bool(field.schema.get("x-relation", {}).get("multiple"))

    def projection(self, field: FieldSpec) -> str | None:
        return "multi_integer" if self.is_multiple(field) else "integer"

    def check_definition(self, field: FieldSpec) -> list[tuple[str, str]]:
        expected = "array" if self.is_multiple(field) else "integer"
        if field.schema.get("type") != expected:
            return [
                (
                    f"{field.pointer}/type",
                    f"must be '{expected}' when x-relation/multiple is "
                    f"{str(self.is_multiple(field)).lower()}",
                )
            ]
        return []

    def target(self, field: FieldSpec) -> str:
        return field.schema["x-relation"]["form"]

    def data_schema(self, field: FieldSpec) -> dict[str, Any]:
        if self.is_multiple(field):
            return {
                "type": "array",
                "items": {"type": "integer", "minimum": 1},
                "uniqueItems": True,
                "maxItems": field.schema.get("maxItems", 1000),
            }
        return {"type": "integer", "minimum": 1}

    def coerce(self, raw: Any, field: FieldSpec) -> Any:
        if self.is_multiple(field):
            return parse_ids(raw, "record")
        return parse_id(raw, "record")

    def display(self, stored: Any, field: FieldSpec, ctx: DisplayContext | None = None) -> str:
        if stored is None:
            return ""
        ctx = ctx or DisplayContext()
        values = stored if isinstance(stored, list) else [stored]
        return ", ".join(ctx.record_title(self.target(field), v) for v in values)
