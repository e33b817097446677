"""Layout items that hold no data: a description text and a divider."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import FieldType, FieldValueError

if TYPE_CHECKING:
    from ..definitions.spec import FieldSpec


class Description(FieldType):
    name = "description"
    label = {"en": "Description text", "zh-CN": "描述说明"}
    category = "layout"
    json_type = None
    stores_data = False
    sql_kind = None

    def keywords(self) -> dict[str, Any]:
        return {"x-content": {"$ref": "#/$defs/i18nOrText"}}

    def data_schema(self, field: FieldSpec) -> dict[str, Any]:
        return {}

    def coerce(self, raw: Any, field: FieldSpec) -> Any:
        raise FieldValueError("is display-only and holds no value", "display_only")


class Divider(Description):
    name = "divider"
    label = {"en": "Divider", "zh-CN": "分割线"}

    def keywords(self) -> dict[str, Any]:
        return {}
