"""What a field type is.

A field type (text, money, relation, subform…) is one class that knows everything the
engine needs about its values:

* ``keywords()`` — the definition keywords it accepts; the engine's meta-schema is built
  from these, so a definition using a keyword the type does not know is refused;
* ``data_schema(field)`` — the JSON Schema its stored values must satisfy, beyond what the
  admin wrote (e.g. a money value has at most ``x-scale`` decimals);
* ``coerce(raw, field)`` — input (API JSON or a posted form string) → the stored JSON value;
* ``expression_value`` — the stored value as the expression language sees it;
* ``sql_kind`` — how the value projects into SQL for filters, sorts and indexes;
* ``display(value, field, ctx)`` — the text a person reads.

Plugins register more types through the ``formflow_field_types`` hook.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from ..definitions.spec import FieldSpec

#: Filter operators of the record query language, by SQL kind.
SCALAR_OPERATORS = frozenset({"eq", "ne", "lt", "lte", "gt", "gte", "in", "between", "is_empty"})
TEXT_OPERATORS = SCALAR_OPERATORS | {"contains"}
MULTI_OPERATORS = frozenset({"contains", "in", "is_empty"})
EMPTY_ONLY = frozenset({"is_empty"})


class FieldValueError(ValueError):
    """A value a field cannot accept; ``code`` and ``params`` let a UI translate it."""

    def __init__(self, message: str, code: str = "invalid", **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.params = params


# Keywords every field type accepts in its property schema.
COMMON_KEYWORDS: dict[str, Any] = {
    "x-field": {"type": "string"},
    "x-id": {"$ref": "#/$defs/fieldId"},
    "title": {"type": "string", "maxLength": 200},
    "description": {"type": "string", "maxLength": 2000},
    "x-label": {"$ref": "#/$defs/i18nText"},
    "x-description": {"$ref": "#/$defs/i18nText"},
    "x-placeholder": {"$ref": "#/$defs/i18nOrText"},
    "x-visible-when": {"$ref": "#/$defs/expression"},
    "x-default-formula": {"$ref": "#/$defs/expression"},
    "x-layout": {
        "type": "object",
        "properties": {"width": {"enum": ["full", "half", "third"]}},
        "additionalProperties": False,
    },
    "x-index": {"type": "boolean"},
    #: A composite index: this field, then these (top-level field keys), e.g. a follow-up's
    #: customer then its visit time (``formflow.records.indexes``).
    "x-index-with": {
        "type": "array",
        "items": {"type": "string"},
        "minItems": 1,
        "maxItems": 3,
        "uniqueItems": True,
    },
    "x-readonly": {"type": "boolean"},
}


class FieldType(ABC):
    """Base class of every field type; subclasses set the class attributes and override."""

    name: ClassVar[str]
    label: ClassVar[Mapping[str, str]]
    category: ClassVar[str] = "basic"
    #: The JSON Schema ``type`` of stored values (None for layout-only types).
    json_type: ClassVar[str | None] = "string"
    #: False for layout items (description, divider) that hold no data.
    stores_data: ClassVar[bool] = True
    #: True when the server computes the value (formula, serial); clients cannot set it.
    computed: ClassVar[bool] = False
    #: True when the value is a list (multi-select, members, attachments…).
    multiple: ClassVar[bool] = False
    #: How values project into SQL: "text", "number", "integer", "boolean",
    #: "multi_text", "multi_integer", or None (only is_empty filters).
    sql_kind: ClassVar[str | None] = "text"
    #: True when ``x-unique`` is allowed on this type.
    unique_allowed: ClassVar[bool] = False
    #: What the stored ids point at, checked on every write: "user", "department",
    #: "record" or "file" (None for plain values).
    references: ClassVar[str | None] = None

    def projection(self, field: FieldSpec) -> str | None:
        """The SQL kind of this field's values (see ``sql_kind``)."""
        return self.sql_kind

    # -- definitions -------------------------------------------------------------------
    def keywords(self) -> dict[str, Any]:
        """Meta-schema for the keywords specific to this type (merged with the common ones)."""
        return {}

    def definition_schema(self) -> dict[str, Any]:
        """The meta-schema a property of this type must satisfy."""
        properties = dict(COMMON_KEYWORDS)
        if self.json_type is not None:
            properties["type"] = {"const": self.json_type}
            properties["default"] = {}
        if self.unique_allowed:
            properties["x-unique"] = {"type": "boolean"}
        properties.update(self.keywords())
        required = ["x-field"] + (["type"] if self.json_type is not None else [])
        return {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }

    def new_property(self) -> dict[str, Any]:
        """The property a form builder inserts for a new field of this type."""
        prop: dict[str, Any] = {"x-field": self.name}
        if self.json_type is not None:
            prop["type"] = self.json_type
        return prop

    def check_definition(self, field: FieldSpec) -> list[tuple[str, str]]:
        """Problems the meta-schema cannot see, as (JSON pointer, message) pairs."""
        return []

    # -- values ------------------------------------------------------------------------
    def data_schema(self, field: FieldSpec) -> dict[str, Any]:
        """JSON Schema for stored values: the admin's keywords plus the type's own rules."""
        schema = {k: v for k, v in field.schema.items() if _is_data_keyword(k)}
        schema.pop("default", None)
        return schema

    @abstractmethod
    def coerce(self, raw: Any, field: FieldSpec) -> Any:
        """Turn input into the stored JSON value, or raise :class:`FieldValueError`.

        Returns None for an empty value (which is then not stored).
        """

    def expression_value(self, stored: Any, field: FieldSpec) -> Any:
        """The stored value as expressions see it (dates become ``datetime.date``…)."""
        return stored

    def display(self, stored: Any, field: FieldSpec, ctx: DisplayContext | None = None) -> str:
        if stored is None:
            return ""
        if isinstance(stored, list):
            return ", ".join(str(v) for v in stored)
        return str(stored)

    def convert(self, stored: Any, old: FieldSpec, field: FieldSpec) -> Any:
        """A value stored under another type, made valid for this one (type changes).

        Raises :class:`FieldValueError` when the value cannot convert; the type change is
        then refused with a report, never silently lossy.
        """
        try:
            return self.coerce(stored, field)
        except FieldValueError:
            text = old.type.display(stored, old)
            if text == stored:
                raise
            return self.coerce(text, field)


class DisplayContext:
    """Lookups ``display`` may need (user names, record titles); the UI supplies one."""

    language: str = "zh-CN"

    def user_name(self, user_id: int) -> str:
        return f"#{user_id}"

    def department_name(self, department_id: int) -> str:
        return f"#{department_id}"

    def record_title(self, form: str, record_id: int) -> str:
        return f"#{record_id}"


def _is_data_keyword(key: str) -> bool:
    return not key.startswith("x-") and key not in ("title", "description", "$comment")


def plain_number(value: Decimal) -> str:
    """A Decimal as people write it: no exponent, no trailing zeros beyond its scale."""
    return format(value, "f")
