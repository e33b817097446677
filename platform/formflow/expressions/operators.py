"""What the operators mean: arithmetic, date arithmetic, ``&``, ``%`` and comparisons.

Each binary operator is a function ``(left, right, zone) -> value`` that raises
:class:`ExpressionError` without a position; the compiler adds the operator's position. Numbers
are combined only through :data:`DECIMAL_CONTEXT`, whose traps (division by zero, overflow,
invalid operation) surface as :class:`decimal.DecimalException` and are turned into readable
errors by :func:`arithmetic_error`.
"""

from __future__ import annotations

import datetime
import operator
from collections.abc import Callable
from decimal import (
    ROUND_HALF_EVEN,
    Decimal,
    DivisionByZero,
    DivisionUndefined,
    InvalidOperation,
    Overflow,
)
from typing import Any

from .errors import ExpressionError
from .limits import MAX_POWER_EXPONENT, MAX_TEXT_LENGTH
from .values import (
    DECIMAL_CONTEXT,
    ZERO,
    decimal_add,
    decimal_divide,
    decimal_multiply,
    decimal_subtract,
    describe,
    equal,
    floor_whole,
    in_zone,
    order,
    to_number,
    to_text,
)

BinaryOperator = Callable[[Any, Any, datetime.tzinfo], Any]

_ctx = DECIMAL_CONTEXT
_MAX_POWER, _MIN_POWER = Decimal(MAX_POWER_EXPONENT), Decimal(-MAX_POWER_EXPONENT)
_MICROSECONDS_PER_DAY = Decimal(86_400_000_000)
_MAX_DAY_SHIFT = 3_700_000  # the whole range of datetime.date, in days
_UTC = datetime.UTC


def add(left: Any, right: Any, zone: datetime.tzinfo) -> Any:
    """``+``: numbers, or a date shifted by a number of days."""
    if isinstance(left, datetime.date):
        return shift_date(left, _days_operand(right))
    if isinstance(right, datetime.date):
        return shift_date(right, _days_operand(left))
    return decimal_add(to_number(left), to_number(right))


def subtract(left: Any, right: Any, zone: datetime.tzinfo) -> Any:
    """``-``: numbers, a date shifted back, or the days between two dates."""
    if isinstance(left, datetime.date):
        if isinstance(right, datetime.date):
            return days_between(left, right, zone)
        return shift_date(left, _ctx.minus(_days_operand(right)))
    if isinstance(right, datetime.date):
        raise ExpressionError("#VALUE!: cannot subtract a date from a number")
    return decimal_subtract(to_number(left), to_number(right))


def multiply(left: Any, right: Any, zone: datetime.tzinfo) -> Decimal:
    """``*``."""
    return decimal_multiply(to_number(left), to_number(right))


def divide(left: Any, right: Any, zone: datetime.tzinfo) -> Decimal:
    """``/``; dividing by zero (or blank) is #DIV/0!."""
    divisor = to_number(right)
    if not divisor:
        raise ExpressionError("#DIV/0!: division by zero")
    return decimal_divide(to_number(left), divisor)


def power(left: Any, right: Any, zone: datetime.tzinfo) -> Decimal:
    """``^`` and POWER, with the exponent bounded so a huge power fails fast."""
    base, exponent = to_number(left), to_number(right)
    if not _MIN_POWER <= exponent <= _MAX_POWER:
        raise ExpressionError(f"#NUM!: exponent must be between {_MIN_POWER} and {_MAX_POWER}")
    if not base:
        if not exponent:
            raise ExpressionError("#NUM!: 0^0 is undefined")
        if exponent < 0:
            raise ExpressionError("#DIV/0!: division by zero")
    return _ctx.power(base, exponent)


def concat(left: Any, right: Any, zone: datetime.tzinfo) -> str:
    """``&``: joins two values as text."""
    left_text, right_text = to_text(left, zone), to_text(right, zone)
    if len(left_text) + len(right_text) > MAX_TEXT_LENGTH:
        raise ExpressionError(f"#VALUE!: text longer than {MAX_TEXT_LENGTH} characters")
    return left_text + right_text


def negate(value: Any) -> Decimal:
    """Prefix ``-``."""
    number = to_number(value)
    return _ctx.minus(number) if number else ZERO


def identity(value: Any) -> Decimal:
    """Prefix ``+``: like ``-``, it insists on a number."""
    return to_number(value)


def percent(value: Any) -> Decimal:
    """Postfix ``%``: divides by 100 exactly."""
    return _ctx.scaleb(to_number(value), -2)


def shift_date(value: datetime.date, days: Decimal) -> datetime.date:
    """A date moved by ``days``: whole days (floored, as Excel shows a date) for a date,
    fractions too for a date-time."""
    if not -_MAX_DAY_SHIFT <= days <= _MAX_DAY_SHIFT:
        raise ExpressionError("#NUM!: date out of range")
    try:
        if isinstance(value, datetime.datetime):
            microseconds = _ctx.multiply(days, _MICROSECONDS_PER_DAY)
            microseconds = microseconds.to_integral_value(ROUND_HALF_EVEN, context=_ctx)
            return value + datetime.timedelta(microseconds=int(microseconds))
        return value + datetime.timedelta(days=floor_whole(days))
    except OverflowError:
        raise ExpressionError("#NUM!: date out of range") from None


def days_between(end: datetime.date, start: datetime.date, zone: datetime.tzinfo) -> Decimal:
    """``end - start`` in days: whole for two dates, fractional once either has a time."""
    if not isinstance(end, datetime.datetime) and not isinstance(start, datetime.datetime):
        return Decimal((end - start).days)
    delta = _instant(end, zone) - _instant(start, zone)
    microseconds = Decimal((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)
    return _ctx.divide(microseconds, _MICROSECONDS_PER_DAY)


def _instant(value: datetime.date, zone: datetime.tzinfo) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return in_zone(value, zone).astimezone(_UTC)
    return datetime.datetime.combine(value, datetime.time(), zone).astimezone(_UTC)


def _days_operand(value: Any) -> Decimal:
    if isinstance(value, datetime.date):
        raise ExpressionError("#VALUE!: cannot add two dates")
    try:
        return to_number(value)
    except ExpressionError:
        raise ExpressionError(
            f"#VALUE!: expected a number of days, got {describe(value)}"
        ) from None


def _equal(left: Any, right: Any, zone: datetime.tzinfo) -> bool:
    return equal(left, right, zone)


def _not_equal(left: Any, right: Any, zone: datetime.tzinfo) -> bool:
    return not _equal(left, right, zone)


def _less(left: Any, right: Any, zone: datetime.tzinfo) -> bool:
    return order(left, right, zone) < 0


def _less_or_equal(left: Any, right: Any, zone: datetime.tzinfo) -> bool:
    return order(left, right, zone) <= 0


def _greater(left: Any, right: Any, zone: datetime.tzinfo) -> bool:
    return order(left, right, zone) > 0


def _greater_or_equal(left: Any, right: Any, zone: datetime.tzinfo) -> bool:
    return order(left, right, zone) >= 0


BINARY: dict[str, BinaryOperator] = {
    "+": add,
    "-": subtract,
    "*": multiply,
    "/": divide,
    "^": power,
    "&": concat,
    "=": _equal,
    "<>": _not_equal,
    "!=": _not_equal,
    "<": _less,
    "<=": _less_or_equal,
    ">": _greater,
    ">=": _greater_or_equal,
}
"""Every infix operator by its symbol."""

UNARY: dict[str, Callable[[Any], Decimal]] = {"-": negate, "+": identity}
"""Every prefix operator by its symbol."""

DECIMAL_FAST_PATHS: dict[str, Callable[[Decimal, Decimal], Any]] = {
    "+": decimal_add,
    "-": decimal_subtract,
    "*": decimal_multiply,
    "=": operator.eq,
    "<>": operator.ne,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
"""The operators whose meaning on two numbers needs no coercion and no checks, by symbol.

The compiler calls these directly when both operands are Decimals, the common case in
formulas, and falls back to :data:`BINARY` otherwise.
"""


def arithmetic_error(error: ArithmeticError) -> ExpressionError:
    """A readable error for a trapped decimal signal or a date overflow."""
    signals = error.args[0] if error.args and isinstance(error.args[0], list) else []
    if isinstance(error, DivisionByZero | ZeroDivisionError) or DivisionUndefined in signals:
        return ExpressionError("#DIV/0!: division by zero")
    if isinstance(error, Overflow) or Overflow in signals:
        return ExpressionError("#NUM!: number too large")
    if isinstance(error, InvalidOperation):
        return ExpressionError("#NUM!: invalid numeric operation")
    if isinstance(error, OverflowError):
        return ExpressionError("#NUM!: value out of range")
    return ExpressionError(f"#NUM!: {type(error).__name__}")
