"""Numeric field types: number, money, percent, rating. Values are exact ``Decimal``s."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from .base import DisplayContext, FieldType, FieldValueError, plain_number

if TYPE_CHECKING:
    from ..definitions.spec import FieldSpec

#: No value a form stores needs more than 18 digits before the point (int64 in SQL).
MAX_MAGNITUDE = Decimal("1e18")
MAX_DIGITS = 18
_INT_LIMIT = 10**18

_RANGE = {
    "minimum": {"type": "number"},
    "maximum": {"type": "number"},
    "exclusiveMinimum": {"type": "number"},
    "exclusiveMaximum": {"type": "number"},
}


_NOT_A_NUMBER = "must be a number"


def parse_decimal(raw: Any) -> Decimal | None:
    """A Decimal from JSON numbers or text as people type it ("1,234.50", " 12 ")."""
    kind = type(raw)
    if kind is Decimal:
        value = raw
    elif kind is str:
        if len(raw) > 60:
            raise FieldValueError(_NOT_A_NUMBER, "type", expected="number")
        try:
            value = Decimal(raw)  # accepts surrounding spaces; the common case
        except InvalidOperation:
            text = raw.strip().replace(",", "").replace("，", "")
            if not text:
                return None
            try:
                value = Decimal(text)
            except InvalidOperation:
                raise FieldValueError(_NOT_A_NUMBER, "type", expected="number") from None
    elif kind is int:
        value = Decimal(raw)
    elif raw is None:
        return None
    elif kind is float:
        value = Decimal(repr(raw))
    elif isinstance(raw, int) and not isinstance(raw, bool):
        value = Decimal(int(raw))
    else:
        raise FieldValueError(_NOT_A_NUMBER, "type", expected="number")
    if not value.is_finite():
        raise FieldValueError("must be a finite number", "type", expected="number")
    if value and value.adjusted() >= MAX_DIGITS:
        raise FieldValueError("is too large", "maximum", limit="1e18")
    return value


def decimals_of(value: Decimal) -> int:
    """Significant decimal places: 12.50 has 1, 12 has 0."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def fits_scale(value: Decimal, scale: int) -> bool:
    """True when ``value`` has at most ``scale`` significant decimal places."""
    # Decimal.as_tuple() costs 1.7 µs here; scaleb and to_integral_value a fraction of that.
    scaled = value.scaleb(scale) if scale else value
    return scaled == scaled.to_integral_value()


def to_json_number(value: Decimal) -> Decimal | int:
    """Whole numbers stored as JSON integers; others keep their exact decimals."""
    if value == value.to_integral_value():
        return int(value)
    return value


def group_thousands(value: Decimal, places: int | None) -> str:
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{value:,f}"


class Number(FieldType):
    name = "number"
    label = {"en": "Number", "zh-CN": "数字"}
    json_type = "number"
    sql_kind = "number"
    unique_allowed = True

    def keywords(self) -> dict[str, Any]:
        return {
            **_RANGE,
            "type": {"enum": ["number", "integer"]},
            "multipleOf": {"type": "number", "exclusiveMinimum": 0},
            "x-precision": {"type": "integer", "minimum": 0, "maximum": 10},
        }

    def coerce(self, raw: Any, field: FieldSpec) -> Any:
        if type(raw) is int and -_INT_LIMIT < raw < _INT_LIMIT:
            return raw  # a whole number fits any precision
        value = parse_decimal(raw)
        if value is None:
            return None
        precision = field.schema.get("x-precision")
        if field.schema.get("type") == "integer":
            precision = 0
        if precision is not None and not fits_scale(value, precision):
            if precision == 0:
                raise FieldValueError("must be a whole number", "integer")
            raise FieldValueError(
                f"must have at most {precision} decimal places", "precision", limit=precision
            )
        return to_json_number(value)

    def expression_value(self, stored: Any, field: FieldSpec) -> Any:
        return Decimal(stored) if type(stored) is int else stored

    def display(self, stored: Any, field: FieldSpec, ctx: DisplayContext | None = None) -> str:
        if stored is None:
            return ""
        return group_thousands(Decimal(stored), field.schema.get("x-precision"))


class Money(Number):
    """An amount of money with a fixed number of decimals (``x-scale``, default 2).

    More decimals than the scale is an error, never a silent rounding.
    """

    name = "money"
    label = {"en": "Amount", "zh-CN": "金额"}
    unique_allowed = False

    def keywords(self) -> dict[str, Any]:
        return {
            **_RANGE,
            "x-scale": {"type": "integer", "minimum": 0, "maximum": 6},
            "x-currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        }

    def new_property(self) -> dict[str, Any]:
        return {**super().new_property(), "x-currency": "CNY"}

    def scale(self, field: FieldSpec) -> int:
        scale = field.cache.get("scale")
        if scale is None:
            scale = field.cache["scale"] = int(field.schema.get("x-scale", 2))
        return scale

    def coerce(self, raw: Any, field: FieldSpec) -> Any:
        if isinstance(raw, str):
            raw = raw.strip().lstrip("¥$€£").strip()
        value = parse_decimal(raw)
        if value is None:
            return None
        scale = self.scale(field)
        if not fits_scale(value, scale):
            raise FieldValueError(
                f"must have at most {scale} decimal places", "precision", limit=scale
            )
        quantum = field.cache.get("quantum")
        if quantum is None:
            quantum = field.cache["quantum"] = Decimal(1).scaleb(-scale)
        return value.quantize(quantum)

    def display(self, stored: Any, field: FieldSpec, ctx: DisplayContext | None = None) -> str:
        if stored is None:
            return ""
        symbol = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}.get(
            field.schema.get("x-currency", "CNY"), ""
        )
        return symbol + group_thousands(Decimal(stored), self.scale(field))


class Percent(Number):
    """A share stored as a fraction (0.18), shown and typed as a percentage (18 %).

    Text input ending in ``%`` is read as a percentage; numbers are fractions.
    """

    name = "percent"
    label = {"en": "Percentage", "zh-CN": "百分比"}
    unique_allowed = False

    def keywords(self) -> dict[str, Any]:
        return {**_RANGE, "x-scale": {"type": "integer", "minimum": 0, "maximum": 10}}

    def coerce(self, raw: Any, field: FieldSpec) -> Any:
        percentage = type(raw) is str and raw.rstrip().endswith("%")
        value = parse_decimal(raw.strip()[:-1] if percentage else raw)
        if value is None:
            return None
        if percentage:
            value = value / 100
        scale = int(field.schema.get("x-scale", 4))
        if not fits_scale(value, scale):
            raise FieldValueError(
                f"must have at most {scale} decimal places", "precision", limit=scale
            )
        return to_json_number(value)

    def display(self, stored: Any, field: FieldSpec, ctx: DisplayContext | None = None) -> str:
        if stored is None:
            return ""
        return plain_number((Decimal(stored) * 100).normalize()) + "%"


class Rating(FieldType):
    name = "rating"
    label = {"en": "Rating", "zh-CN": "评分"}
    json_type = "integer"
    sql_kind = "integer"

    def keywords(self) -> dict[str, Any]:
        return {"x-max": {"type": "integer", "minimum": 1, "maximum": 10}}

    def data_schema(self, field: FieldSpec) -> dict[str, Any]:
        return {"type": "integer", "minimum": 1, "maximum": int(field.schema.get("x-max", 5))}

    def coerce(self, raw: Any, field: FieldSpec) -> Any:
        value = parse_decimal(raw)
        if value is None:
            return None
        if value != value.to_integral_value():
            raise FieldValueError("must be a whole number", "integer")
        return int(value)

    def display(self, stored: Any, field: FieldSpec, ctx: DisplayContext | None = None) -> str:
        if stored is None:
            return ""
        top = int(field.schema.get("x-max", 5))
        return "★" * int(stored) + "☆" * (top - int(stored))
