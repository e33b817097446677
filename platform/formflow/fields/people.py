"""People field types: member, members, department. Values are user / department ids."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import DisplayContext, FieldType, FieldValueError
from .numbers import parse_decimal

if TYPE_CHECKING:
    from ..definitions.spec import FieldSpec


def parse_id(raw: Any, what: str) -> int | None:
    """A positive integer id from a JSON number or text; None when empty."""
    if type(raw) is int and raw >= 1:
        return raw
    if raw is None or raw == "":
        return None
    if isinstance(raw, dict) and "id" in raw:
        raw = raw["id"]
    try:
        value = parse_decimal(raw)
    except FieldValueError:
        raise FieldValueError(f"must be a {what} id", "type", expected="id") from None
    if value is None:
        return None
    if value != value.to_integral_value() or value < 1:
        raise FieldValueError(f"must be a {what} id", "type", expected="id")
    return int(value)


def parse_ids(raw: Any, what: str) -> list[int] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raw = [raw]
    ids: list[int] = []
    for item in raw:
        value = parse_id(item, what)
        if value is not None and value not in ids:
            ids.append(value)
    return ids or None


_DEFAULT_USER = {"x-default": {"enum": ["current_user"]}}


class Member(FieldType):
    name = "member"
    label = {"en": "Member", "zh-CN": "成员单选"}
    category = "people"
    json_type = "integer"
    sql_kind = "integer"
    references = "user"

    def keywords(self) -> dict[str, Any]:
        return dict(_DEFAULT_USER)

    def data_schema(self, field: FieldSpec) -> dict[str, Any]:
        return {"type": "integer", "minimum": 1}

    def coerce(self, raw: Any, field: FieldSpec) -> Any:
        return parse_id(raw, "user")

    def display(self, stored: Any, field: FieldSpec, ctx: DisplayContext | None = None) -> str:
        if stored is None:
            return ""
        return (ctx or DisplayContext()).user_name(stored)


class Members(FieldType):
    name = "members"
    label = {"en": "Members", "zh-CN": "成员多选"}
    category = "people"
    json_type = "array"
    multiple = True
    sql_kind = "multi_integer"
    references = "user"

    def keywords(self) -> dict[str, Any]:
        return {
            **_DEFAULT_USER,
            "items": {"type": "object", "properties": {"type": {"const": "integer"}}},
            "minItems": {"type": "integer", "minimum": 0, "maximum": 1000},
            "maxItems": {"type": "integer", "minimum": 1, "maximum": 1000},
            "uniqueItems": {"const": True},
        }

    def data_schema(self, field: FieldSpec) -> dict[str, Any]:
        schema = super().data_schema(field)
        schema["items"] = {"type": "integer", "minimum": 1}
        schema.setdefault("maxItems", 1000)
        return schema

    def coerce(self, raw: Any, field: FieldSpec) -> Any:
        return parse_ids(raw, "user")

    def display(self, stored: Any, field: FieldSpec, ctx: DisplayContext | None = None) -> str:
        ctx = ctx or DisplayContext()
        return ", ".join(ctx.user_name(v) for v in stored or ())


class Department(FieldType):
    name = "department"
    label = {"en": "Department", "zh-CN": "部门单选"}
    category = "people"
    json_type = "integer"
    sql_kind = "integer"
    references = "department"

    def keywords(self) -> dict[str, Any]:
        return {"x-default": {"enum": ["current_department"]}}

    def data_schema(self, field: FieldSpec) -> dict[str, Any]:
        return {"type": "integer", "minimum": 1}

    def coerce(self, raw: Any, field: FieldSpec) -> Any:
        return parse_id(raw, "department")

    def display(self, stored: Any, field: FieldSpec, ctx: DisplayContext | None = None) -> str:
        if stored is None:
            return ""
        return (ctx or DisplayContext()).department_name(stored)
