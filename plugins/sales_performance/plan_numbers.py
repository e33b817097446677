"""The number columns of a plan's rows (a KPI metric's weight, an incentive rule's rate):
what each may hold, and reading one as a value or as the problem with it, in the admin's
language. Checked when a plan is saved, whatever the form's definition (which an admin may
republish) lets through."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from formflow.errors import FieldError

from .explanations import about, said
from .split import CENT, format_number, format_percent


@dataclass(frozen=True)
class Column:
    """What a number column may hold: at least ``least`` (None: any sign), at most
    ``most``; a ``whole`` number; whole ``cents``; shown as a percentage when the form types
    it as one. ``message`` says all of it, so one message fits whatever was wrong."""

    message: str
    least: Decimal | None = Decimal(0)
    most: Decimal | None = None
    whole: bool = False
    cents: bool = False
    percent: bool = False

    def fits(self, value: Decimal) -> bool:
        if (self.least is not None and value < self.least) or (
            self.most is not None and value > self.most
        ):
            return False
        try:
            if self.whole and value != value.to_integral_value():
                return False
            return not self.cents or value == value.quantize(CENT)
        except InvalidOperation:  # too many digits to round: no sensible amount
            return False


def number(raw: Any) -> Decimal | None:
    """``raw`` as a finite Decimal, or None when it is not a number."""
    if isinstance(raw, bool):
        return None
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def read(
    row: dict[str, Any], field: str, column: Column, where: str, key: str
) -> Decimal | FieldError | None:
    """Row ``where``'s (named ``key``) column ``field``: None when empty, its value, or the
    problem with it at ``where.field``."""
    raw = row.get(field)
    if raw is None or raw == "":
        return None
    value = number(raw)
    if value is not None and column.fits(value):
        return value
    shown = str(raw)
    if value is not None:
        with suppress(InvalidOperation):  # too many digits to round: shown as typed
            shown = format_percent(value) if column.percent else format_number(value)
    return FieldError(f"{where}.{field}", about(key, said(column.message, value=shown)))
