"""Field types: one class per type, and the registry of them."""

from .base import DisplayContext, FieldType, FieldValueError
from .registry import BUILTIN_TYPES, FieldTypeRegistry, field_types

__all__ = [
    "BUILTIN_TYPES",
    "DisplayContext",
    "FieldType",
    "FieldTypeRegistry",
    "FieldValueError",
    "field_types",
]
