"""Field types whose value the server computes: formula and serial number."""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from .base import DisplayContext, FieldType, FieldValueError, plain_number
from .numbers import MAX_MAGNITUDE, group_thousands, to_json_number

if TYPE_CHECKING:
    from ..definitions.spec import FieldSpec

RESULT_TYPES = {
    "number": "number",
    "money": "number",
    "percent": "number",
    "text": "string",
    "date": "string",
    "boolean": "boolean",
}


class Formula(FieldType):
    """``x-formula`` in the expression language; ``x-result`` says what it yields.

    Recomputed on the server on every write, in dependency order; a run-time error
    (a division by zero, say) leaves the value empty rather than refusing the record.
    """

    name = "formula"
    label = {"en": "Formula", "zh-CN": "公式"}
    category = "advanced"
    computed = True

    def definition_schema(self) -> dict[str, Any]:
        schema = super().definition_schema()
        schema["properties"]["type"] = {"enum": sorted(set(RESULT_TYPES.values()))}
        schema["properties"]["x-formula"] = {"$ref": "#/$defs/expression"}
        schema["properties"]["x-result"] = {"enum": list(RESULT_TYPES)}
        schema["properties"]["x-scale"] = {"type": "integer", "minimum": 0, "maximum": 10}
        schema["required"] = [*schema["required"], "x-formula"]
        schema["properties"].pop("default", None)
        return schema

    def new_property(self) -> dict[str, Any]:
        return {"x-field": self.name, "type": "number", "x-formula": "0"}

    def result(self, field: FieldSpec) -> str:
        result = field.cache.get("result")
        if result is None:
            result = field.cache["result"] = field.schema.get("x-result", "number")
        return result

    def projection(self, field: FieldSpec) -> str | None:
        return {
            "number": "number",
            "money": "number",
            "percent": "number",
            "boolean": "boolean",
        }.get(self.result(field), "text")

    def check_definition(self, field: FieldSpec) -> list[tuple[str, str]]:
        expected = RESULT_TYPES[self.result(field)]
        if field.schema.get("type") != expected:
            return [
                (
                    f"{field.pointer}/type",
                    f"must be '{expected}' for x-result '{self.result(field)}'",
                )
            ]
        return []

    def data_schema(self, field: FieldSpec) -> dict[str, Any]:
        return {"type": RESULT_TYPES[self.result(field)]}

    def store(self, value: Any, field: FieldSpec) -> Any:
        """The evaluator's result as this formula stores it; None when it does not fit."""
        if value is None:
            return None
        result = self.result(field)
        if result in ("number", "money", "percent"):
            if type(value) is not Decimal:
                if isinstance(value, bool) or not isinstance(value, Decimal | int):
                    return None
                value = Decimal(value)
            if not value.is_finite() or value.copy_abs() >= MAX_MAGNITUDE:
                return None
            quantum = field.cache.get("quantum", False)
            if quantum is False:
                scale = field.schema.get("x-scale", {"money": 2, "percent": 4}.get(result))
                quantum = field.cache["quantum"] = (
                    None if scale is None else Decimal(1).scaleb(-int(scale))
                )
            if quantum is not None:
                value = value.quantize(quantum, rounding=ROUND_HALF_UP)
                return value if result == "money" else to_json_number(value)
            return to_json_number(value)
        if value == "":
            return None
        if result == "boolean":
            return value if isinstance(value, bool) else None
        if result == "date":
            if isinstance(value, dt.datetime):
                value = value.astimezone(field.timezone).date()
            return value.isoformat() if isinstance(value, dt.date) else None
        if isinstance(value, Decimal):
            return plain_number(value)
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, dt.date):
            return value.isoformat()
        text = str(value) if not isinstance(value, list) else ", ".join(map(str, value))
        return text[:10_000]

    def coerce(self, raw: Any, field: FieldSpec) -> Any:
        raise FieldValueError("is computed by the server and cannot be set", "computed")

    def convert(self, stored: Any, old: FieldSpec, field: FieldSpec) -> Any:
        return None  # recomputed from its formula on the record's next write

    def expression_value(self, stored: Any, field: FieldSpec) -> Any:
        if stored is not None and self.result(field) == "date":
            return dt.date.fromisoformat(stored)
        return stored

    def display(self, stored: Any, field: FieldSpec, ctx: DisplayContext | None = None) -> str:
        if stored is None:
            return ""
        result = self.result(field)
        if result == "money":
            return "¥" + group_thousands(Decimal(stored), int(field.schema.get("x-scale", 2)))
        if result == "percent":
            return plain_number((Decimal(stored) * 100).normalize()) + "%"
        if result == "number":
            return group_thousands(Decimal(stored), field.schema.get("x-scale"))
        return super().display(stored, field, ctx)


_SERIAL_TOKEN = re.compile(r"\{(YYYY|YY|MM|DD|0+)\}")


def parse_serial_pattern(pattern: str) -> list[str]:
    """The pattern split into literal text and tokens; raises ValueError when malformed."""
    parts = _SERIAL_TOKEN.split(pattern)
    tokens = parts[1::2]
    counters = [t for t in tokens if t.startswith("0")]
    if len(counters) != 1:
        raise ValueError("needs exactly one number token like {0000}")
    if len(counters[0]) > 12:
        raise ValueError("the number token may have at most 12 digits")
    if any("{" in text or "}" in text for text in parts[0::2]):
        raise ValueError("unknown token; use {YYYY}, {YY}, {MM}, {DD} and one {000…}")
    return parts


def render_serial(pattern: str, today: dt.date, number: int | None) -> str:
    """The serial text for a day and number (None renders the number as ``#``: the scope)."""
    out = []
    for i, part in enumerate(parse_serial_pattern(pattern)):
        if i % 2 == 0:
            out.append(part)
        elif part == "YYYY":
            out.append(f"{today.year:04d}")
        elif part == "YY":
            out.append(f"{today.year % 100:02d}")
        elif part == "MM":
            out.append(f"{today.month:02d}")
        elif part == "DD":
            out.append(f"{today.day:02d}")
        else:
            out.append("#" if number is None else str(number).zfill(len(part)))
    return "".join(out)


class Serial(FieldType):
    """``x-serial.pattern`` like ``QT-{YYYY}{MM}-{0000}``: numbered per period, gap-free.

    The period is what the date tokens make it: ``{YYYY}{MM}`` restarts every month.
    """

    name = "serial"
    label = {"en": "Serial number", "zh-CN": "流水号"}
    category = "advanced"
    computed = True
    unique_allowed = True

    def keywords(self) -> dict[str, Any]:
        return {
            "x-serial": {
                "type": "object",
                "properties": {"pattern": {"type": "string", "minLength": 1, "maxLength": 60}},
                "required": ["pattern"],
                "additionalProperties": False,
            }
        }

    def definition_schema(self) -> dict[str, Any]:
        schema = super().definition_schema()
        schema["required"] = [*schema["required"], "x-serial"]
        schema["properties"].pop("default", None)
        return schema

    def new_property(self) -> dict[str, Any]:
        return {
            "x-field": self.name,
            "type": "string",
            "x-serial": {"pattern": "NO-{YYYY}{MM}-{0000}"},
        }

    def check_definition(self, field: FieldSpec) -> list[tuple[str, str]]:
        try:
            parse_serial_pattern(field.schema["x-serial"]["pattern"])
        except ValueError as error:
            return [(f"{field.pointer}/x-serial/pattern", str(error))]
        return []

    def data_schema(self, field: FieldSpec) -> dict[str, Any]:
        return {"type": "string", "maxLength": 100}

    def coerce(self, raw: Any, field: FieldSpec) -> Any:
        raise FieldValueError("is numbered by the server and cannot be set", "computed")

    def convert(self, stored: Any, old: FieldSpec, field: FieldSpec) -> Any:
        if isinstance(stored, str | int):
            return str(stored)
        raise FieldValueError("cannot become a serial number", "type")
