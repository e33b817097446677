"""Place field types: address (province/city/district/detail) and location (a GPS fix)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .base import DisplayContext, FieldType, FieldValueError
from .numbers import parse_decimal, to_json_number
from .text import clean_text

if TYPE_CHECKING:
    from ..definitions.spec import FieldSpec

ADDRESS_PARTS = ("province", "city", "district", "detail")


class Address(FieldType):
    name = "address"
    label = {"en": "Address", "zh-CN": "地址"}
    category = "advanced"
    json_type = "object"
    sql_kind = None

    def data_schema(self, field: FieldSpec) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                part: {"type": "string", "maxLength": 500 if part == "detail" else 100}
                for part in ADDRESS_PARTS
            },
            "additionalProperties": False,
        }

    def coerce(self, raw: Any, field: FieldSpec) -> Any:
        if raw is None:
            return None
        if isinstance(raw, str):
            raw = {"detail": raw}
        if not isinstance(raw, dict):
            raise FieldValueError("must be an address object", "type", expected="object")
        unknown = set(raw) - set(ADDRESS_PARTS)
        if unknown:
            raise FieldValueError(
                f"unknown address part '{sorted(unknown)[0]}'", "additionalProperties"
            )
        value = {part: clean_text(raw.get(part), 500) for part in ADDRESS_PARTS}
        value = {k: v for k, v in value.items() if v is not None}
        return value or None

    def display(self, stored: Any, field: FieldSpec, ctx: DisplayContext | None = None) -> str:
        return " ".join(stored[p] for p in ADDRESS_PARTS if stored and stored.get(p))


class Location(FieldType):
    """A position captured on the phone: latitude, longitude, accuracy in metres, and the
    address text the device or a geocoder gave for it."""

    name = "location"
    label = {"en": "Location", "zh-CN": "定位"}
    category = "advanced"
    json_type = "object"
    sql_kind = None

    def keywords(self) -> dict[str, Any]:
        return {"x-max-accuracy": {"type": "number", "exclusiveMinimum": 0}}

    def data_schema(self, field: FieldSpec) -> dict[str, Any]:
        accuracy: dict[str, Any] = {"type": "number", "minimum": 0}
        if "x-max-accuracy" in field.schema:
            accuracy["maximum"] = field.schema["x-max-accuracy"]
        return {
            "type": "object",
            "properties": {
                "lat": {"type": "number", "minimum": -90, "maximum": 90},
                "lng": {"type": "number", "minimum": -180, "maximum": 180},
                "accuracy": accuracy,
                "address": {"type": "string", "maxLength": 500},
            },
            "required": ["lat", "lng"],
            "additionalProperties": False,
        }

    def coerce(self, raw: Any, field: FieldSpec) -> Any:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise FieldValueError("must be a location with lat and lng", "type", expected="object")
        unknown = set(raw) - {"lat", "lng", "accuracy", "address"}
        if unknown:
            raise FieldValueError(
                f"unknown location part '{sorted(unknown)[0]}'", "additionalProperties"
            )
        value: dict[str, Any] = {}
        for part in ("lat", "lng", "accuracy"):
            number = parse_decimal(raw.get(part))
            if number is not None:
                value[part] = to_json_number(number)
        address = clean_text(raw.get("address"), 500)
        if address:
            value["address"] = address
        if not value:
            return None
        if "lat" not in value or "lng" not in value:
            raise FieldValueError("needs both lat and lng", "required")
        return value

    def display(self, stored: Any, field: FieldSpec, ctx: DisplayContext | None = None) -> str:
        if not stored:
            return ""
        return stored.get("address") or f"{stored['lat']}, {stored['lng']}"
