"""Text-like field types: text, textarea, phone, email, url."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .base import FieldType, FieldValueError, plain_number

if TYPE_CHECKING:
    from ..definitions.spec import FieldSpec

#: Hard caps whatever a definition says: a record is a document, not a file store.
TEXT_CAP = 10_000
TEXTAREA_CAP = 100_000


def clean_text(raw: Any, cap: int = TEXTAREA_CAP) -> str | None:
    """Trimmed text, None when empty; numbers are accepted as their plain text."""
    if type(raw) is str:  # the common case first
        value = raw.strip()
        if len(value) > cap:
            raise FieldValueError(f"must be at most {cap} characters", "maxLength", limit=cap)
        return value or None
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise FieldValueError("must be text", "type", expected="text")
    if isinstance(raw, int | Decimal):
        raw = plain_number(Decimal(raw))
    if not isinstance(raw, str):
        raise FieldValueError("must be text", "type", expected="text")
    value = raw.strip()
    if len(value) > cap:
        raise FieldValueError(f"must be at most {cap} characters", "maxLength", limit=cap)
    return value or None


def _length_keywords(cap: int) -> dict[str, Any]:
    return {
        "minLength": {"type": "integer", "minimum": 0, "maximum": cap},
        "maxLength": {"type": "integer", "minimum": 1, "maximum": cap},
    }


class Text(FieldType):
    name = "text"
    label = {"en": "Single-line text", "zh-CN": "单行文本"}
    unique_allowed = True
    cap = TEXT_CAP

    def keywords(self) -> dict[str, Any]:
        return {
            **_length_keywords(self.cap),
            "pattern": {"type": "string", "maxLength": 500, "format": "regex"},
            "x-pattern-message": {"$ref": "#/$defs/i18nOrText"},
        }

    def new_property(self) -> dict[str, Any]:
        return {**super().new_property(), "maxLength": 200}

    def data_schema(self, field: FieldSpec) -> dict[str, Any]:
        schema = super().data_schema(field)
        schema.setdefault("maxLength", self.cap)
        return schema

    def coerce(self, raw: Any, field: FieldSpec) -> Any:
        return clean_text(raw, self.cap)


class Textarea(Text):
    name = "textarea"
    label = {"en": "Multi-line text", "zh-CN": "多行文本"}
    unique_allowed = False
    cap = TEXTAREA_CAP
    sql_kind = "text"

    def keywords(self) -> dict[str, Any]:
        return _length_keywords(self.cap)

    def new_property(self) -> dict[str, Any]:
        return {"x-field": self.name, "type": "string", "maxLength": 2000}


class Phone(Text):
    name = "phone"
    label = {"en": "Phone", "zh-CN": "手机号"}
    cap = 40
    #: Digits with an optional leading + and separators, as people type numbers.
    PATTERN = r"^\+?[0-9][0-9 ()\-]{4,38}[0-9]$"

    def keywords(self) -> dict[str, Any]:
        return {"pattern": {"type": "string", "maxLength": 500, "format": "regex"}}

    def new_property(self) -> dict[str, Any]:
        return {"x-field": self.name, "type": "string"}

    def data_schema(self, field: FieldSpec) -> dict[str, Any]:
        schema = super().data_schema(field)
        schema.setdefault("pattern", self.PATTERN)
        return schema


class Email(Text):
    name = "email"
    label = {"en": "Email", "zh-CN": "邮箱"}
    cap = 254

    def keywords(self) -> dict[str, Any]:
        return {}

    def new_property(self) -> dict[str, Any]:
        return {"x-field": self.name, "type": "string"}

    def data_schema(self, field: FieldSpec) -> dict[str, Any]:
        return {**super().data_schema(field), "format": "email"}


class Url(Text):
    name = "url"
    label = {"en": "Link", "zh-CN": "链接"}
    cap = 2000
    unique_allowed = False

    def keywords(self) -> dict[str, Any]:
        return {}

    def new_property(self) -> dict[str, Any]:
        return {"x-field": self.name, "type": "string"}

    def data_schema(self, field: FieldSpec) -> dict[str, Any]:
        return {
            **super().data_schema(field),
            "format": "uri",
            "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://",
        }
