"""Math functions: aggregates over values and lists, rounding, and the usual arithmetic.

Aggregates (SUM, AVERAGE, MIN, MAX, COUNT, COUNTA, SUMPRODUCT, COUNTIF) flatten list
arguments one level, as Excel does with ranges: inside a list only numbers count (blanks, text
and logical values are skipped), while a value given directly is converted (``SUM("3", TRUE)``
is 4) and text that is not a number is an error.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
)
from typing import Any

from ..errors import ExpressionError
from ..evaluation import Evaluation
from ..limits import DECIMAL_PRECISION, MAX_DECIMAL_EXPONENT
from ..operators import power as power_operator
from ..patterns import cost as pattern_cost
from ..patterns import has_wildcards, matches
from ..values import (
    DECIMAL_CONTEXT,
    ONE,
    ZERO,
    decimal_add,
    decimal_divide,
    decimal_multiply,
    equal,
    is_blank,
    order,
    parse_date,
    parse_number,
    power_of_ten,
    to_datetime,
    to_number,
    to_whole,
)
from .registry import function

_ctx = DECIMAL_CONTEXT
_CRITERIA = re.compile(r"(<=|>=|<>|!=|<|>|=)?(.*)", re.DOTALL)


def _items(evaluation: Evaluation, values: tuple[Any, ...]) -> list[tuple[Any, bool]]:
    """Every argument value as (value, given_directly), lists flattened one level."""
    items: list[tuple[Any, bool]] = []
    for value in values:
        if type(value) is list:
            evaluation.charge(len(value))
            items.extend((item, False) for item in value)
        else:
            items.append((value, True))
    return items


def _numbers(evaluation: Evaluation, values: tuple[Any, ...]) -> list[Decimal]:
    numbers = []
    for value, direct in _items(evaluation, values):
        if type(value) is Decimal:
            numbers.append(value)
        elif direct and value is not None:
            numbers.append(to_number(value))
    return numbers


def _total(numbers: list[Decimal]) -> Decimal:
    total = ZERO
    for number in numbers:
        total = decimal_add(total, number)
    return total


@function(
    "SUM",
    "math",
    args=(1, None),
    signature="SUM(number1, [number2], …)",
    en="Adds its arguments; a list (such as a subform column) adds its numbers, "
    "skipping blanks and text.",
    zh="求和；列表（如子表单的某列）只累加其中的数字，忽略空值和文本。",
)
def sum_(evaluation: Evaluation, *values: Any) -> Decimal:
    return _total(_numbers(evaluation, values))


@function(
    "AVERAGE",
    "math",
    args=(1, None),
    signature="AVERAGE(number1, [number2], …)",
    en="The arithmetic mean of the numbers given, skipping blanks in lists; "
    "#DIV/0! if there are none.",
    zh="求算术平均值，忽略列表中的空值；没有任何数字时返回 #DIV/0! 错误。",
)
def average(evaluation: Evaluation, *values: Any) -> Decimal:
    numbers = _numbers(evaluation, values)
    if not numbers:
        raise ExpressionError("#DIV/0!: AVERAGE of no numbers")
    return decimal_divide(_total(numbers), Decimal(len(numbers)))


def _extreme(evaluation: Evaluation, values: tuple[Any, ...], pick: Callable[..., Any]) -> Any:
    numbers: list[Decimal] = []
    dates: list[datetime.date] = []
    for value, direct in _items(evaluation, values):
        if type(value) is Decimal:
            numbers.append(value)
        elif isinstance(value, datetime.date):
            dates.append(value)
        elif direct and value is not None:
            numbers.append(to_number(value))
    if numbers and dates:
        raise ExpressionError("#VALUE!: cannot mix numbers and dates")
    if dates:
        if all(type(date) is datetime.date for date in dates):
            return pick(dates)
        zone = evaluation.timezone
        return pick(dates, key=lambda date: to_datetime(date, zone))
    return pick(numbers) if numbers else ZERO


@function(
    "MIN",
    "math",
    args=(1, None),
    signature="MIN(value1, [value2], …)",
    en="The smallest of the numbers (or of the dates) given; 0 if there are none.",
    zh="返回最小的数字（或最早的日期）；没有任何值时返回 0。",
)
def min_(evaluation: Evaluation, *values: Any) -> Any:
    return _extreme(evaluation, values, min)


@function(
    "MAX",
    "math",
    args=(1, None),
    signature="MAX(value1, [value2], …)",
    en="The largest of the numbers (or of the dates) given; 0 if there are none.",
    zh="返回最大的数字（或最晚的日期）；没有任何值时返回 0。",
)
def max_(evaluation: Evaluation, *values: Any) -> Any:
    return _extreme(evaluation, values, max)


@function(
    "COUNT",
    "math",
    args=(1, None),
    signature="COUNT(value1, [value2], …)",
    en="Counts the numbers and dates among its arguments and in lists.",
    zh="统计参数及列表中数字和日期的个数。",
)
def count(evaluation: Evaluation, *values: Any) -> Decimal:
    return Decimal(sum(1 for value, direct in _items(evaluation, values) if _counts(value, direct)))


def _counts(value: Any, direct: bool) -> bool:
    # Numbers and dates always count; given directly, so do logical values and numeric text.
    if type(value) is Decimal or isinstance(value, datetime.date):
        return True
    return direct and (
        type(value) is bool or (type(value) is str and parse_number(value) is not None)
    )


@function(
    "COUNTA",
    "math",
    args=(1, None),
    signature="COUNTA(value1, [value2], …)",
    en='Counts the values that are not empty (blank, "" or an empty list); '
    "COUNTA(subform) counts its rows.",
    zh='统计非空值（空值、空文本 "" 和空列表除外）的个数；COUNTA(子表单) 统计其行数。',
)
def counta(evaluation: Evaluation, *values: Any) -> Decimal:
    return Decimal(sum(1 for value, _ in _items(evaluation, values) if not is_blank(value)))


@function(
    "SUMPRODUCT",
    "math",
    args=(1, None),
    signature="SUMPRODUCT(list1, [list2], …)",
    en="Multiplies the lists element by element and adds the products, e.g. "
    "SUMPRODUCT(lines.price, lines.quantity). Non-numbers count as 0; "
    "the lists must be the same length.",
    zh="将各列表对应位置的元素相乘后求和，如 SUMPRODUCT(lines.price, lines.quantity)。"
    "非数字按 0 计算；各列表长度必须相同。",
)
def sumproduct(evaluation: Evaluation, *values: Any) -> Decimal:
    lists = [value if type(value) is list else [value] for value in values]
    length = len(lists[0])
    if any(len(items) != length for items in lists):
        raise ExpressionError("#VALUE!: SUMPRODUCT lists must have the same length")
    evaluation.charge(length * len(lists))
    total = ZERO
    for row in zip(*lists, strict=True):
        product = ONE
        for item in row:
            product = decimal_multiply(product, item if type(item) is Decimal else ZERO)
        total = decimal_add(total, product)
    return total


@function(
    "COUNTIF",
    "math",
    args=2,
    signature="COUNTIF(list, criteria)",
    en='Counts the items of the list that meet the criteria: a value, or text such as ">5", '
    '"<>closed", "=a*" (with * and ? wildcards), ">=2024-01-01". Text matching ignores case.',
    zh='统计列表中满足条件的项数。条件可以是一个值，或如 ">5"、"<>closed"、"=a*"（支持 * 和 ? '
    '通配符）、">=2024-01-01" 的文本。文本比较不区分大小写。',
)
def countif(evaluation: Evaluation, values: Any, criteria: Any) -> Decimal:
    items = values if type(values) is list else [values]
    evaluation.charge(len(items))
    test = _criteria_test(criteria, evaluation)
    return Decimal(sum(1 for item in items if test(item)))


def _criteria_test(criteria: Any, evaluation: Evaluation) -> Callable[[Any], bool]:
    """COUNTIF's criteria as a predicate on one item."""
    zone = evaluation.timezone
    if criteria is None:
        return is_blank
    if type(criteria) is not str:
        return lambda item: not is_blank(item) and equal(item, criteria, zone)
    operator, operand_text = _CRITERIA.fullmatch(criteria).groups()  # type: ignore[union-attr]
    operator = {"!=": "<>", None: "="}.get(operator, operator)
    operand: Any = _criteria_operand(operand_text, zone)
    if operator in ("=", "<>"):
        if type(operand) is str and has_wildcards(operand):
            pattern = operand

            def same(item: Any) -> bool:
                if type(item) is not str:
                    return False
                evaluation.charge(pattern_cost(pattern, len(item)))
                return matches(pattern, item)

        elif operand == "":

            def same(item: Any) -> bool:
                return is_blank(item)

        else:

            def same(item: Any) -> bool:
                return not is_blank(item) and equal(item, operand, zone)

        return same if operator == "=" else (lambda item: not same(item))
    wanted = {"<": (-1,), "<=": (-1, 0), ">": (1,), ">=": (0, 1)}[operator]

    def ordered(item: Any) -> bool:
        # Only items of the operand's own kind can be ordered against it; the rest never match.
        if is_blank(item) or type(item) is list:
            return False
        try:
            return order(item, operand, zone) in wanted
        except ExpressionError:
            return False

    return ordered


def _criteria_operand(text: str, zone: datetime.tzinfo) -> Any:
    number = parse_number(text) if text.strip() else None
    if number is not None:
        return number
    if text.strip().upper() in ("TRUE", "FALSE"):
        return text.strip().upper() == "TRUE"
    date = parse_date(text, zone) if text[:1].isdigit() else None
    return date if date is not None else text


def _round(value: Any, digits: Any, rounding: str) -> Decimal:
    """Round to ``digits`` decimal places (negative: to tens, hundreds…) in a given direction."""
    number = to_number(value)
    places = max(-MAX_DECIMAL_EXPONENT, min(to_whole(digits), MAX_DECIMAL_EXPONENT))
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -places:
        return number
    rounded = number.quantize(power_of_ten(-places), rounding, _ctx)
    if places < 0 and rounded.adjusted() < DECIMAL_PRECISION:
        rounded = rounded.quantize(ONE, context=_ctx)
    return rounded if rounded else ZERO


@function(
    "ROUND",
    "math",
    args=(1, 2),
    signature="ROUND(number, [digits])",
    en="Rounds to the given number of decimal places (default 0), halves away from zero: "
    "ROUND(2.5) is 3, ROUND(-2.5) is -3. Negative digits round to tens, hundreds…",
    zh="四舍五入到指定的小数位数（默认 0），0.5 远离零进位：ROUND(2.5) 为 3，ROUND(-2.5) 为 -3。"
    "位数为负时舍入到十位、百位……",
)
def round_(evaluation: Evaluation, number: Any, digits: Any = ZERO) -> Decimal:
    return _round(number, digits, ROUND_HALF_UP)


@function(
    "ROUNDUP",
    "math",
    args=(1, 2),
    signature="ROUNDUP(number, [digits])",
    en="Rounds away from zero to the given number of decimal places (default 0).",
    zh="向远离零的方向舍入到指定的小数位数（默认 0）。",
)
def roundup(evaluation: Evaluation, number: Any, digits: Any = ZERO) -> Decimal:
    return _round(number, digits, ROUND_UP)


@function(
    "ROUNDDOWN",
    "math",
    args=(1, 2),
    signature="ROUNDDOWN(number, [digits])",
    en="Rounds toward zero to the given number of decimal places (default 0).",
    zh="向零的方向舍入（截断）到指定的小数位数（默认 0）。",
)
def rounddown(evaluation: Evaluation, number: Any, digits: Any = ZERO) -> Decimal:
    return _round(number, digits, ROUND_DOWN)


@function(
    "TRUNC",
    "math",
    args=(1, 2),
    signature="TRUNC(number, [digits])",
    en="Cuts the number off after the given number of decimal places (default 0).",
    zh="截去指定小数位数（默认 0）之后的部分。",
)
def trunc(evaluation: Evaluation, number: Any, digits: Any = ZERO) -> Decimal:
    return _round(number, digits, ROUND_DOWN)


@function(
    "INT",
    "math",
    args=1,
    signature="INT(number)",
    en="Rounds down to the nearest whole number: INT(-2.5) is -3.",
    zh="向下取整到最接近的整数：INT(-2.5) 为 -3。",
)
def int_(evaluation: Evaluation, number: Any) -> Decimal:
    return _ctx.plus(to_number(number).to_integral_value(ROUND_FLOOR, _ctx)) or ZERO


@function(
    "ABS",
    "math",
    args=1,
    signature="ABS(number)",
    en="The absolute value of a number.",
    zh="返回数字的绝对值。",
)
def abs_(evaluation: Evaluation, number: Any) -> Decimal:
    return _ctx.abs(to_number(number))


@function(
    "SIGN",
    "math",
    args=1,
    signature="SIGN(number)",
    en="1 for a positive number, -1 for a negative one, 0 for zero.",
    zh="正数返回 1，负数返回 -1，零返回 0。",
)
def sign(evaluation: Evaluation, number: Any) -> Decimal:
    value = to_number(number)
    return Decimal((value > 0) - (value < 0))


@function(
    "MOD",
    "math",
    args=2,
    signature="MOD(number, divisor)",
    en="The remainder after division, with the sign of the divisor: MOD(-3, 2) is 1.",
    zh="返回两数相除的余数，符号与除数相同：MOD(-3, 2) 为 1。",
)
def mod(evaluation: Evaluation, number: Any, divisor: Any) -> Decimal:
    dividend, by = to_number(number), to_number(divisor)
    if not by:
        raise ExpressionError("#DIV/0!: division by zero")
    remainder = _ctx.remainder(dividend, by)
    if remainder and (remainder < 0) != (by < 0):
        remainder = decimal_add(remainder, by)
    return remainder if remainder else ZERO


@function(
    "POWER",
    "math",
    args=2,
    signature="POWER(number, power)",
    en="A number raised to a power, the same as number ^ power.",
    zh="返回数字的乘幂，与 number ^ power 相同。",
)
def power(evaluation: Evaluation, number: Any, exponent: Any) -> Decimal:
    return power_operator(number, exponent, evaluation.timezone)


@function(
    "SQRT",
    "math",
    args=1,
    signature="SQRT(number)",
    en="The square root of a number; #NUM! for a negative number.",
    zh="返回数字的平方根；负数返回 #NUM! 错误。",
)
def sqrt(evaluation: Evaluation, number: Any) -> Decimal:
    value = to_number(number)
    if value < 0:
        raise ExpressionError("#NUM!: square root of a negative number")
    return value.sqrt(_ctx)


@function(
    "CEILING",
    "math",
    args=(1, 2),
    signature="CEILING(number, [significance])",
    en="Rounds up to the nearest multiple of significance (default 1). A negative number "
    "with a negative significance rounds away from zero.",
    zh="向上舍入到 significance（默认 1）的最接近倍数。"
    "负数配合负的 significance 时向远离零的方向舍入。",
)
def ceiling(evaluation: Evaluation, number: Any, significance: Any = ONE) -> Decimal:
    return _to_multiple(number, significance, ROUND_CEILING, "CEILING")


@function(
    "FLOOR",
    "math",
    args=(1, 2),
    signature="FLOOR(number, [significance])",
    en="Rounds down to the nearest multiple of significance (default 1). A negative number "
    "with a negative significance rounds toward zero.",
    zh="向下舍入到 significance（默认 1）的最接近倍数。"
    "负数配合负的 significance 时向零的方向舍入。",
)
def floor(evaluation: Evaluation, number: Any, significance: Any = ONE) -> Decimal:
    return _to_multiple(number, significance, ROUND_FLOOR, "FLOOR")


def _to_multiple(number: Any, significance: Any, rounding: str, name: str) -> Decimal:
    value, step = to_number(number), to_number(significance)
    if not step:
        if name == "FLOOR":
            raise ExpressionError("#DIV/0!: FLOOR with a significance of 0")
        return ZERO
    if value > 0 and step < 0:
        raise ExpressionError(f"#NUM!: {name} of a positive number needs a positive significance")
    quotient = decimal_divide(value, step).to_integral_value(rounding, _ctx)
    result = decimal_multiply(quotient, step)
    return result if result else ZERO
