"""The field type registry: every type the engine and its plugins know, by name."""

from __future__ import annotations

from collections.abc import Iterator

from .base import FieldType
from .choices import Boolean, Checkbox, MultiSelect, Radio, Select
from .computed import Formula, Serial
from .dates import Date, DateTime
from .layout import Description, Divider
from .media import Attachment, Image, Signature
from .numbers import Money, Number, Percent, Rating
from .people import Department, Member, Members
from .places import Address, Location
from .relation import Relation
from .subform import Subform
from .text import Email, Phone, Text, Textarea, Url

BUILTIN_TYPES: tuple[type[FieldType], ...] = (
    Text,
    Textarea,
    Number,
    Money,
    Percent,
    Date,
    DateTime,
    Select,
    MultiSelect,
    Radio,
    Checkbox,
    Boolean,
    Phone,
    Email,
    Url,
    Address,
    Location,
    Image,
    Attachment,
    Signature,
    Rating,
    Member,
    Members,
    Department,
    Relation,
    Subform,
    Formula,
    Serial,
    Description,
    Divider,
)


class FieldTypeRegistry:
    """Field types by name; the meta-schema is built from whatever is registered."""

    def __init__(self) -> None:
        self._types: dict[str, FieldType] = {}
        self.version = 0

    def register(self, field_type: type[FieldType] | FieldType) -> None:
        instance = field_type() if isinstance(field_type, type) else field_type
        if instance.name in self._types and type(self._types[instance.name]) is not type(instance):
            raise ValueError(f"field type '{instance.name}' is already registered")
        self._types[instance.name] = instance
        self.version += 1

    def get(self, name: str) -> FieldType:
        return self._types[name]

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def __iter__(self) -> Iterator[FieldType]:
        return iter(self._types.values())

    def names(self) -> list[str]:
        return list(self._types)


field_types = FieldTypeRegistry()
for _type in BUILTIN_TYPES:
    field_types.register(_type)
