"""Choice field types: select, radio, multi-select, checkbox group, boolean.

Option values are stable strings kept in ``enum``; ``x-options`` adds labels (in both
languages) and colours, so renaming an option's label never touches stored data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import DisplayContext, FieldType, FieldValueError
from .text import clean_text

if TYPE_CHECKING:
    from ..definitions.spec import FieldSpec

OPTIONS_KEYWORD = {
    "type": "array",
    "maxItems": 500,
    "items": {
        "type": "object",
        "properties": {
            "value": {"type": "string", "minLength": 1, "maxLength": 200},
            "label": {"$ref": "#/$defs/i18nOrText"},
            "color": {"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$"},
            #: A number the option stands for (选项赋分): a stage's win probability, a
            #: rating's points; read by plugins and reports, never stored in records.
            "score": {"type": "number"},
        },
        "required": ["value"],
        "additionalProperties": False,
    },
}
ENUM_KEYWORD = {
    "type": "array",
    "minItems": 1,
    "maxItems": 500,
    "uniqueItems": True,
    "items": {"type": "string", "minLength": 1, "maxLength": 200},
}


def option_label(field: FieldSpec, value: str, language: str = "zh-CN") -> str:
    for option in field.schema.get("x-options", ()):
        if option["value"] == value:
            label = option.get("label", value)
            if isinstance(label, dict):
                return label.get(language) or next(iter(label.values()), value)
            return label
    return value


def _check_options(field: FieldSpec, values: list[str], base: str) -> list[tuple[str, str]]:
    problems = []
    for i, option in enumerate(field.schema.get("x-options", ())):
        if option.get("value") not in values:
            problems.append(
                (
                    f"{field.pointer}/x-options/{i}/value",
                    f"'{option.get('value')}' is not in {base}",
                )
            )
    return problems


class Select(FieldType):
    name = "select"
    label = {"en": "Drop-down", "zh-CN": "下拉框"}
    category = "choice"
    unique_allowed = True

    def keywords(self) -> dict[str, Any]:
        return {"enum": ENUM_KEYWORD, "x-options": OPTIONS_KEYWORD}

    def definition_schema(self) -> dict[str, Any]:
        schema = super().definition_schema()
        schema["required"] = [*schema["required"], "enum"]
        return schema

    def new_property(self) -> dict[str, Any]:
        return {**super().new_property(), "enum": ["option 1", "option 2"]}

    def check_definition(self, field: FieldSpec) -> list[tuple[str, str]]:
        return _check_options(field, field.schema.get("enum", []), "enum")

    def coerce(self, raw: Any, field: FieldSpec) -> Any:
        return clean_text(raw, 200)

    def display(self, stored: Any, field: FieldSpec, ctx: DisplayContext | None = None) -> str:
        if stored is None:
            return ""
        return option_label(field, stored, ctx.language if ctx else "zh-CN")


class Radio(Select):
    name = "radio"
    label = {"en": "Radio buttons", "zh-CN": "单选按钮组"}
    unique_allowed = False


class MultiSelect(FieldType):
    name = "multi-select"
    label = {"en": "Multi-select drop-down", "zh-CN": "下拉复选框"}
    category = "choice"
    json_type = "array"
    multiple = True
    sql_kind = "multi_text"

    def keywords(self) -> dict[str, Any]:
        return {
            "items": {
                "type": "object",
                "properties": {"type": {"const": "string"}, "enum": ENUM_KEYWORD},
                "required": ["type", "enum"],
                "additionalProperties": False,
            },
            "minItems": {"type": "integer", "minimum": 0, "maximum": 500},
            "maxItems": {"type": "integer", "minimum": 1, "maximum": 500},
            "uniqueItems": {"const": True},
            "x-options": OPTIONS_KEYWORD,
        }

    def definition_schema(self) -> dict[str, Any]:
        schema = super().definition_schema()
        schema["required"] = [*schema["required"], "items"]
        return schema

    def new_property(self) -> dict[str, Any]:
        return {
            **super().new_property(),
            "items": {"type": "string", "enum": ["option 1", "option 2"]},
            "uniqueItems": True,
        }

    def check_definition(self, field: FieldSpec) -> list[tuple[str, str]]:
        return _check_options(field, field.schema.get("items", {}).get("enum", []), "items/enum")

    def data_schema(self, field: FieldSpec) -> dict[str, Any]:
        return {**super().data_schema(field), "uniqueItems": True, "maxItems": 500}

    def coerce(self, raw: Any, field: FieldSpec) -> Any:
        if raw is None:
            return None
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list):
            raise FieldValueError("must be a list of options", "type", expected="array")
        values = [clean_text(item, 200) for item in raw]
        values = [v for v in values if v is not None]
        return values or None

    def display(self, stored: Any, field: FieldSpec, ctx: DisplayContext | None = None) -> str:
        language = ctx.language if ctx else "zh-CN"
        return ", ".join(option_label(field, v, language) for v in stored or ())


class Checkbox(MultiSelect):
    name = "checkbox"
    label = {"en": "Checkbox group", "zh-CN": "复选框组"}


class Boolean(FieldType):
    name = "boolean"
    label = {"en": "Yes / no", "zh-CN": "是/否"}
    category = "choice"
    json_type = "boolean"
    sql_kind = "boolean"

    TRUE = frozenset({"true", "1", "on", "yes", "y", "是"})
    FALSE = frozenset({"false", "0", "off", "no", "n", "否"})

    def coerce(self, raw: Any, field: FieldSpec) -> Any:
        if raw is None or isinstance(raw, bool):
            return raw
        if isinstance(raw, str):
            text = raw.strip().lower()
            if not text:
                return None
            if text in self.TRUE:
                return True
            if text in self.FALSE:
                return False
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        raise FieldValueError("must be true or false", "type", expected="boolean")

    def display(self, stored: Any, field: FieldSpec, ctx: DisplayContext | None = None) -> str:
        if stored is None:
            return ""
        english = ctx is not None and ctx.language == "en"
        if stored:
            return "Yes" if english else "是"
        return "No" if english else "否"
