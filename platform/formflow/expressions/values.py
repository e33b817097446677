"""Run-time values and the Excel-like rules for converting and comparing them.

An expression works on a small set of value kinds: numbers (``Decimal``), text (``str``),
logical values (``bool``), dates (``datetime.date``), date-times (aware ``datetime.datetime``),
blank (``None``) and lists of those. Everything that enters from a record passes through
:func:`normalize`, so the rest of the package can rely on those kinds and on the sandbox bounds.

Numbers are only ever combined through :data:`DECIMAL_CONTEXT` (never the thread's global decimal
context, which belongs to the caller).
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Mapping
from decimal import (
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DecimalException,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from typing import Any

from .errors import ExpressionError
from .limits import DECIMAL_PRECISION, MAX_DECIMAL_EXPONENT, MAX_LIST_LENGTH, MAX_TEXT_LENGTH

DECIMAL_CONTEXT = Context(
    prec=DECIMAL_PRECISION,
    rounding=ROUND_HALF_EVEN,
    Emax=MAX_DECIMAL_EXPONENT,
    Emin=-MAX_DECIMAL_EXPONENT,
    capitals=1,
    clamp=0,
    flags=[],
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
"""The one decimal context all arithmetic runs in: 34 digits, exponents within ±9999."""

ZERO = Decimal(0)
ONE = Decimal(1)

# Looking a method up on a Context costs more than the arithmetic itself, so the operations on
# hot paths are bound once here.
decimal_add = DECIMAL_CONTEXT.add
decimal_subtract = DECIMAL_CONTEXT.subtract
decimal_multiply = DECIMAL_CONTEXT.multiply
decimal_divide = DECIMAL_CONTEXT.divide

BLANK = "blank"
NUMBER = "number"
TEXT = "text"
LOGICAL = "logical value"
DATE = "date"
LIST = "list"
OTHER = "value"

_KINDS: dict[type, str] = {
    Decimal: NUMBER,
    str: TEXT,
    bool: LOGICAL,
    datetime.date: DATE,
    datetime.datetime: DATE,
    list: LIST,
    type(None): BLANK,
}

_NUMBER_TEXT = re.compile(
    r"[+-]?(?:\d{1,3}(?:,\d{3})+(?:\.\d*)?|\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,9})?%?"
)
_ISO_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_MIN_ADJUSTED, _MAX_ADJUSTED = -MAX_DECIMAL_EXPONENT, MAX_DECIMAL_EXPONENT
_MAX_DATE_TEXT = 64
_MAX_LIST_NESTING = 2
_MAX_WHOLE, _MIN_WHOLE = Decimal(10**15), Decimal(-(10**15))
_UTC = datetime.UTC


def kind(value: Any) -> str:
    """The kind of a run-time value, as named in error messages."""
    found = _KINDS.get(type(value))
    if found is not None:
        return found
    if isinstance(value, datetime.date):
        return DATE
    return OTHER


def describe(value: Any) -> str:
    """A short description of a value for an error message."""
    if isinstance(value, str):
        shown = value if len(value) <= 20 else value[:20] + "…"
        return f'text "{shown}"'
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, Decimal):
        return f"number {number_text(value)[:24]}"
    found = kind(value)
    return "a blank" if found == BLANK else f"a {found}"


def normalize(value: Any, *, level: int = 0) -> Any:
    """Turn a value from a record into a run-time value, enforcing the sandbox bounds.

    Decimals in range are kept exactly as stored, others go through :func:`checked_number`;
    ints and floats become Decimals, tuples become lists, naive datetimes are kept (they are
    read in the context's zone). Mappings (a location, a subform row) are kept as they are: only
    dotted names, blank tests and counting look at them. Lists may hold lists (a subform column
    of a multi-value field) but nest no deeper; ``level`` is how deep inside lists we are.
    """
    cls = type(value)
    if cls is Decimal:
        if value.is_finite() and _MIN_ADJUSTED <= value.adjusted() <= _MAX_ADJUSTED:
            return value
        return checked_number(value)
    if cls is str:
        return checked_text(value)
    if value is None or cls is bool or cls is datetime.date or cls is datetime.datetime:
        return value
    if cls is list or cls is tuple:
        if level >= _MAX_LIST_NESTING:
            raise ExpressionError("#VALUE!: lists may not be nested more than two levels")
        checked_list(value)
        return [normalize(item, level=level + 1) for item in value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ExpressionError("#NUM!: not a finite number")
        try:
            number = DECIMAL_CONTEXT.create_decimal(
                int(value) if isinstance(value, int) else repr(float(value))
            )
        except DecimalException:
            raise ExpressionError("#NUM!: number out of range") from None
        return checked_number(number)
    if isinstance(value, Decimal):
        return checked_number(Decimal(value))
    if isinstance(value, str):
        return checked_text(str(value))
    if isinstance(value, datetime.date | Mapping):
        return value
    raise ExpressionError(f"#VALUE!: unsupported value of type {cls.__name__}")


def checked_number(value: Decimal) -> Decimal:
    """Round a Decimal into the working precision and range; reject NaN, infinities and
    numbers too large (too small ones become 0)."""
    try:
        value = DECIMAL_CONTEXT.plus(value)
    except DecimalException:
        raise ExpressionError("#NUM!: number out of range") from None
    if not value.is_finite():
        raise ExpressionError("#NUM!: not a finite number")
    return value


def checked_text(value: str) -> str:
    """Reject text longer than the sandbox allows."""
    if len(value) > MAX_TEXT_LENGTH:
        raise ExpressionError(f"#VALUE!: text longer than {MAX_TEXT_LENGTH} characters")
    return value


def checked_list(value: list[Any] | tuple[Any, ...]) -> None:
    """Reject lists longer than the sandbox allows."""
    if len(value) > MAX_LIST_LENGTH:
        raise ExpressionError(f"#VALUE!: list longer than {MAX_LIST_LENGTH} items")


def is_blank(value: Any) -> bool:
    """True for the values an empty field holds: blank, empty text, an empty list."""
    return value is None or ((type(value) is str or type(value) is list) and not value)


# --- conversions ---------------------------------------------------------------------------


def to_number(value: Any) -> Decimal:
    """Coerce for arithmetic: blank and "" are 0, logical values 1/0, numeric text converts."""
    cls = type(value)
    if cls is Decimal:
        return value
    if value is None:
        return ZERO
    if cls is bool:
        return ONE if value else ZERO
    if cls is str:
        if not value:
            return ZERO
        number = parse_number(value)
        if number is not None:
            return number
    raise ExpressionError(f"#VALUE!: expected a number, got {describe(value)}")


def parse_number(text: str) -> Decimal | None:
    """The number a text spells ("12", " -1.5e3 ", "1,234.50", "15%"), or None if it is not one."""
    text = text.strip()
    if not _NUMBER_TEXT.fullmatch(text):
        return None
    percent = text.endswith("%")
    text = text.rstrip("%").replace(",", "")
    try:
        number = DECIMAL_CONTEXT.create_decimal(text)
        if percent:
            number = DECIMAL_CONTEXT.scaleb(number, -2)
    except DecimalException:
        raise ExpressionError("#NUM!: number out of range") from None
    return number


def to_whole(value: Any) -> int:
    """Coerce to a whole number (truncated toward zero), clamped to ±10^15 for safe indexing."""
    number = to_number(value)
    if number > _MAX_WHOLE:
        return int(_MAX_WHOLE)
    if number < _MIN_WHOLE:
        return -int(_MAX_WHOLE)
    return int(number.to_integral_value(ROUND_DOWN, context=DECIMAL_CONTEXT))


def floor_whole(value: Decimal) -> int:
    """The largest whole number not above ``value``, clamped to ±10^15."""
    if value > _MAX_WHOLE:
        return int(_MAX_WHOLE)
    if value < _MIN_WHOLE:
        return -int(_MAX_WHOLE)
    return int(value.to_integral_value(ROUND_FLOOR, context=DECIMAL_CONTEXT))


def to_text(value: Any, zone: datetime.tzinfo) -> str:
    """Coerce for ``&`` and text functions: blank is "", numbers print plainly, dates as ISO."""
    cls = type(value)
    if cls is str:
        return value
    if value is None:
        return ""
    if cls is Decimal:
        return number_text(value)
    if cls is bool:
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime.datetime):
        local = in_zone(value, zone)
        return local.replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise ExpressionError(f"#VALUE!: expected text, got {describe(value)}")


def power_of_ten(exponent: int) -> Decimal:
    """10^exponent, built without consulting any decimal context (for quantize)."""
    return Decimal((0, (1,), exponent))


def number_text(value: Decimal) -> str:
    """A number as plain digits, without exponent or trailing zeros: 1E+3 prints as 1000."""
    if not value:
        return "0"
    return format(value.normalize(DECIMAL_CONTEXT), "f")


def to_bool(value: Any) -> bool:
    """Coerce for conditions: numbers are TRUE unless 0, blank and "" are FALSE."""
    cls = type(value)
    if cls is bool:
        return value
    if value is None:
        return False
    if cls is Decimal:
        return bool(value)
    if cls is str:
        word = value.strip().upper()
        if word in ("TRUE", "FALSE"):
            return word == "TRUE"
        if not word:
            return False
    raise ExpressionError(f"#VALUE!: expected a logical value, got {describe(value)}")


def in_zone(value: datetime.datetime, zone: datetime.tzinfo) -> datetime.datetime:
    """An aware datetime in ``zone``; a naive one is taken to be in that zone already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value.astimezone(zone)


def to_date(value: Any, zone: datetime.tzinfo) -> datetime.date | None:
    """Coerce for date functions: a datetime gives its date in ``zone``; ISO text parses."""
    if value is None or (type(value) is str and not value):
        return None
    if isinstance(value, datetime.datetime):
        return in_zone(value, zone).date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        parsed = parse_date(value, zone)
        if parsed is not None:
            return parsed if type(parsed) is datetime.date else parsed.date()
    raise ExpressionError(f"#VALUE!: expected a date, got {describe(value)}")


def to_datetime(value: Any, zone: datetime.tzinfo) -> datetime.datetime | None:
    """Coerce for time functions: an aware datetime in ``zone``; a date is its midnight."""
    if value is None or (type(value) is str and not value):
        return None
    if isinstance(value, datetime.datetime):
        return in_zone(value, zone)
    if isinstance(value, datetime.date):
        return datetime.datetime.combine(value, datetime.time(), zone)
    if isinstance(value, str):
        parsed = parse_date(value, zone)
        if parsed is not None:
            return to_datetime(parsed, zone)
    raise ExpressionError(f"#VALUE!: expected a date and time, got {describe(value)}")


def parse_date(text: str, zone: datetime.tzinfo) -> datetime.date | datetime.datetime | None:
    """A date ("2024-03-01", "2024/3/1", "2024年3月1日") or ISO date-time in text, else None.

    A date-time with an offset is converted to ``zone``; one without is read in ``zone``.
    """
    text = text.strip()
    if len(text) > _MAX_DATE_TEXT:
        return None
    match = _ISO_DATE.fullmatch(text)
    try:
        if match:
            year, month, day = (int(part) for part in match.groups())
            return datetime.date(year, month, day)
        if len(text) < 10 or not text[:4].isdigit():
            return None
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    return in_zone(parsed, zone)


# --- comparison ----------------------------------------------------------------------------


def equal(left: Any, right: Any, zone: datetime.tzinfo) -> bool:
    """Excel's ``=``: text ignores case, blank (or an empty list) equals "" and 0, and values of
    different kinds are unequal."""
    left_kind, right_kind = _comparison_kind(left), _comparison_kind(right)
    if left_kind == BLANK or right_kind == BLANK:
        other, other_kind = (right, right_kind) if left_kind == BLANK else (left, left_kind)
        return _is_zero_of_kind(other, other_kind)
    if left_kind != right_kind:
        return False
    if left_kind in (NUMBER, LOGICAL):
        return left == right
    if left_kind == TEXT:
        return left == right or left.casefold() == right.casefold()
    if left_kind == DATE:
        return _date_key(left, right, zone) == _date_key(right, left, zone)
    if left_kind == LIST:
        return len(left) == len(right) and all(
            equal(a, b, zone) for a, b in zip(left, right, strict=True)
        )
    return left is right


def order(left: Any, right: Any, zone: datetime.tzinfo) -> int:
    """Excel's ordering for ``< <= > >=``: -1, 0 or 1; an error between different kinds.

    Blank sorts as the zero of the other side's kind (0, "", FALSE) and before every date.
    """
    left_kind, right_kind = _comparison_kind(left), _comparison_kind(right)
    if left_kind == BLANK or right_kind == BLANK:
        if left_kind == right_kind:
            return 0
        if DATE in (left_kind, right_kind):
            return -1 if left_kind == BLANK else 1
        if left_kind == BLANK:
            left, left_kind = _zero_of_kind(right_kind), right_kind
        else:
            right, right_kind = _zero_of_kind(left_kind), left_kind
    if left_kind != right_kind:
        raise ExpressionError(f"#VALUE!: cannot compare a {left_kind} with a {right_kind}")
    if left_kind == TEXT:
        left, right = left.casefold(), right.casefold()
    elif left_kind == DATE:
        left, right = _date_key(left, right, zone), _date_key(right, left, zone)
    elif left_kind not in (NUMBER, LOGICAL):
        raise ExpressionError(f"#VALUE!: cannot order a {left_kind}")
    return (left > right) - (left < right)


def _comparison_kind(value: Any) -> str:
    # An empty multi-value field is as empty as a blank one.
    found = kind(value)
    return BLANK if found == LIST and not value else found


def _is_zero_of_kind(value: Any, value_kind: str) -> bool:
    if value_kind == BLANK:
        return True
    if value_kind == NUMBER:
        return not value
    if value_kind in (TEXT, LIST):
        return not value
    if value_kind == LOGICAL:
        return value is False
    return False


def _zero_of_kind(value_kind: str) -> Any:
    if value_kind == NUMBER:
        return ZERO
    if value_kind == TEXT:
        return ""
    if value_kind == LOGICAL:
        return False
    raise ExpressionError(f"#VALUE!: cannot order a {value_kind}")


def _date_key(value: datetime.date, other: datetime.date, zone: datetime.tzinfo) -> Any:
    # Two plain dates compare as dates; as soon as one side has a time, both become instants
    # (a date meaning its midnight in the organisation's zone).
    if type(value) is datetime.date and not isinstance(other, datetime.datetime):
        return value
    if isinstance(value, datetime.datetime):
        return in_zone(value, zone).astimezone(_UTC)
    return datetime.datetime.combine(value, datetime.time(), zone).astimezone(_UTC)
