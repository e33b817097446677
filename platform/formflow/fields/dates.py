"""Date and date-time field types.

Dates are stored as ``YYYY-MM-DD``; date-times in UTC as ``YYYY-MM-DDTHH:MM:SSZ``. Both
sort correctly as text, so SQL compares and indexes them as stored. A date-time typed
without an offset is read in the organisation's time zone.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from .base import DisplayContext, FieldType, FieldValueError

if TYPE_CHECKING:
    from ..definitions.spec import FieldSpec


def parse_date(raw: Any) -> dt.date | None:
    if raw is None:
        return None
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if not isinstance(raw, str):
        raise FieldValueError("must be a date like 2026-03-31", "format", format="date")
    text = raw.strip().replace("/", "-")
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10]) if len(text) <= 10 else _date_of_datetime(text)
    except ValueError:
        raise FieldValueError("must be a date like 2026-03-31", "format", format="date") from None


def _date_of_datetime(text: str) -> dt.date:
    return dt.datetime.fromisoformat(text).date()


def parse_datetime(raw: Any, zone: ZoneInfo) -> dt.datetime | None:
    """An aware UTC datetime (seconds precision) from ISO text or a datetime."""
    if raw is None:
        return None
    if isinstance(raw, dt.datetime):
        value = raw
    elif isinstance(raw, str):
        text = raw.strip()
        if not text:
            return None
        try:
            value = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
        except ValueError:
            raise FieldValueError(
                "must be a date and time like 2026-03-31T14:30:00+08:00",
                "format",
                format="date-time",
            ) from None
    else:
        raise FieldValueError(
            "must be a date and time like 2026-03-31T14:30:00+08:00", "format", format="date-time"
        )
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(dt.UTC).replace(microsecond=0)


def format_datetime(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Date(FieldType):
    name = "date"
    label = {"en": "Date", "zh-CN": "日期"}
    sql_kind = "text"

    def keywords(self) -> dict[str, Any]:
        return {"format": {"const": "date"}}

    def new_property(self) -> dict[str, Any]:
        return {**super().new_property(), "format": "date"}

    def data_schema(self, field: FieldSpec) -> dict[str, Any]:
        return {"type": "string", "format": "date"}

    def coerce(self, raw: Any, field: FieldSpec) -> Any:
        if type(raw) is str and len(raw) == 10 and raw[4] == "-":
            try:
                dt.date.fromisoformat(raw)
            except ValueError:
                pass
            else:
                return raw  # already the stored form
        if isinstance(raw, dt.datetime):
            raw = raw.astimezone(field.timezone) if raw.tzinfo else raw
        value = parse_date(raw)
        return value.isoformat() if value else None

    def expression_value(self, stored: Any, field: FieldSpec) -> Any:
        return dt.date.fromisoformat(stored) if stored else None


class DateTime(FieldType):
    name = "datetime"
    label = {"en": "Date and time", "zh-CN": "日期时间"}
    sql_kind = "text"

    def keywords(self) -> dict[str, Any]:
        return {"format": {"const": "date-time"}}

    def new_property(self) -> dict[str, Any]:
        return {**super().new_property(), "format": "date-time"}

    def data_schema(self, field: FieldSpec) -> dict[str, Any]:
        return {"type": "string", "format": "date-time"}

    def coerce(self, raw: Any, field: FieldSpec) -> Any:
        if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
            raw = dt.datetime.combine(raw, dt.time())
        value = parse_datetime(raw, field.timezone)
        return format_datetime(value) if value else None

    def expression_value(self, stored: Any, field: FieldSpec) -> Any:
        return dt.datetime.fromisoformat(stored.replace("Z", "+00:00")) if stored else None

    def display(self, stored: Any, field: FieldSpec, ctx: DisplayContext | None = None) -> str:
        if not stored:
            return ""
        local = self.expression_value(stored, field).astimezone(field.timezone)
        return local.strftime("%Y-%m-%d %H:%M")
