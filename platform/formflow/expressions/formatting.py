"""The format codes TEXT understands: a small, predictable subset of Excel's.

Numbers: ``0``, ``0.00``, ``#,##0``, ``#,##0.00``, ``0%``, ``0.0%``, ``000`` (zero-padded),
``#.##`` (optional decimals), with literal text before or after (``¥#,##0.00``,
``0.0"万"``, ``#,##0元``). Dates: ``yyyy-mm-dd``, ``yyyy/mm/dd``, ``yyyy-mm-dd hh:mm``,
``yyyy年m月d日`` and the like, from the codes y, m, d, h, s (``m`` right after ``h`` or right
before ``s`` means minutes, as in Excel).
"""

from __future__ import annotations

import datetime
import re
from decimal import ROUND_HALF_UP, Context, Decimal, DecimalException
from typing import Any

from .errors import ExpressionError
from .limits import MAX_DECIMAL_EXPONENT, MAX_TEXT_LENGTH
from .values import DECIMAL_CONTEXT, describe, in_zone, power_of_ten, to_number, to_text

_NUMBER_FORMAT = re.compile(
    r"(?P<prefix>(?:\"[^\"]*\"|[^0#,.%\"])*?)"
    r"(?P<integer>[#,]*0[0,]*|#+)(?:\.(?P<fraction>0*#*))?"
    r"(?P<percent>%?)"
    r"(?P<suffix>(?:\"[^\"]*\"|[^0#,.%\"])*)"
)
_DATE_CODE = re.compile(r"y+|m+|d+|h+|s+|\"[^\"]*\"|.", re.IGNORECASE | re.DOTALL)
_MAX_DECIMALS = 30
_MAX_FORMAT_LENGTH = 255  # as in Excel
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def format_value(value: Any, code: str, zone: datetime.tzinfo) -> str:
    """``TEXT(value, code)``: text passes through; numbers and dates follow the code."""
    if isinstance(value, str):
        return value
    if len(code) > _MAX_FORMAT_LENGTH:
        raise ExpressionError(f"#VALUE!: a format may be at most {_MAX_FORMAT_LENGTH} characters")
    number_format = _NUMBER_FORMAT.fullmatch(code)
    if isinstance(value, datetime.date):
        if number_format:
            raise ExpressionError(f"#VALUE!: format {code!r} is for numbers, got a date")
        return _format_date(value, code, zone)
    if isinstance(value, bool):
        return to_text(value, zone)
    if value is None or isinstance(value, Decimal):
        if number_format:
            return _format_number(to_number(value), number_format)
        if value is None:
            _date_tokens(code)  # a blank date formats as "", but a bad format is still an error
            return ""
        raise ExpressionError(f"#VALUE!: unsupported number format {code!r}")
    raise ExpressionError(f"#VALUE!: TEXT cannot format {describe(value)}")


def _format_number(number: Decimal, spec: re.Match[str]) -> str:
    integer, fraction = spec["integer"], spec["fraction"] or ""
    fixed, optional = fraction.count("0"), fraction.count("#")
    if fixed + optional > _MAX_DECIMALS:
        raise ExpressionError(f"#VALUE!: at most {_MAX_DECIMALS} decimal places")
    if spec["percent"]:
        number = DECIMAL_CONTEXT.scaleb(number, 2)
    # A context wide enough to hold every integer digit plus the decimals asked for, so that
    # rounding to the format never loses digits the way the 34-digit working context would.
    context = Context(
        prec=max(number.adjusted(), 0) + fixed + optional + 2,
        Emax=MAX_DECIMAL_EXPONENT + 2,
        Emin=-MAX_DECIMAL_EXPONENT - 2,
    )
    try:
        rounded = number.quantize(power_of_ten(-(fixed + optional)), ROUND_HALF_UP, context)
    except DecimalException:
        raise ExpressionError("#NUM!: number too large to format") from None
    whole, _, decimals = format(rounded.copy_abs(), "f").partition(".")
    decimals = decimals[:fixed] + decimals[fixed:].rstrip("0")
    whole = whole.lstrip("0").rjust(integer.count("0"), "0")
    if "," in integer:
        whole = _group(whole)
    if not whole and not decimals:
        whole = "0"
    text = ("-" if rounded and rounded.is_signed() else "") + whole
    if decimals:
        text += "." + decimals
    result = _literal(spec["prefix"]) + text + spec["percent"] + _literal(spec["suffix"])
    if len(result) > MAX_TEXT_LENGTH:
        raise ExpressionError(f"#VALUE!: text longer than {MAX_TEXT_LENGTH} characters")
    return result


def _group(whole: str) -> str:
    head = len(whole) % 3 or 3
    return ",".join([whole[:head], *(whole[i : i + 3] for i in range(head, len(whole), 3))])


def _literal(text: str) -> str:
    return re.sub(r"\"([^\"]*)\"", r"\1", text)


def _format_date(value: datetime.date, code: str, zone: datetime.tzinfo) -> str:
    moment = in_zone(value, zone) if isinstance(value, datetime.datetime) else value
    tokens = _date_tokens(code)
    parts = []
    for index, token in enumerate(tokens):
        letter = token[0].lower()
        if letter == '"' and len(token) > 1:
            parts.append(token[1:-1])
        elif letter == "y":
            parts.append(f"{moment.year:04d}" if len(token) > 2 else f"{moment.year % 100:02d}")
        elif letter == "m":
            if _is_minute(tokens, index):
                minute = moment.minute if isinstance(moment, datetime.datetime) else 0
                parts.append(f"{minute:0{min(len(token), 2)}d}")
            else:
                parts.append(_month(moment.month, len(token)))
        elif letter == "d":
            parts.append(_day(moment, len(token)))
        elif letter == "h":
            hour = moment.hour if isinstance(moment, datetime.datetime) else 0
            parts.append(f"{hour:0{min(len(token), 2)}d}")
        elif letter == "s":
            second = moment.second if isinstance(moment, datetime.datetime) else 0
            parts.append(f"{second:0{min(len(token), 2)}d}")
        else:
            parts.append(token)
    return "".join(parts)


def _date_tokens(code: str) -> list[str]:
    tokens = _DATE_CODE.findall(code)
    for token in tokens:
        if token.isascii() and token.isalpha() and token[0].lower() not in "ymdhs":
            raise ExpressionError(f"#VALUE!: unsupported format code {token!r} in {code!r}")
    return tokens


def _is_minute(tokens: list[str], index: int) -> bool:
    # Excel reads m as minutes right after an hour code or right before a seconds code,
    # skipping the separators and literals in between ("hh:mm", "h时m分").
    if len(tokens[index]) > 2:
        return False
    for step in (-1, 1):
        other = index + step
        while 0 <= other < len(tokens) and tokens[other][0].lower() not in "ymdhs":
            other += step
        if 0 <= other < len(tokens):
            letter = tokens[other][0].lower()
            if (step == -1 and letter == "h") or (step == 1 and letter == "s"):
                return True
    return False


def _month(month: int, width: int) -> str:
    if width >= 4:
        return _MONTHS[month - 1]
    if width == 3:
        return _MONTHS[month - 1][:3]
    return f"{month:0{width}d}"


def _day(moment: datetime.date, width: int) -> str:
    if width >= 4:
        return _DAYS[moment.weekday()]
    if width == 3:
        return _DAYS[moment.weekday()][:3]
    return f"{moment.day:0{width}d}"
