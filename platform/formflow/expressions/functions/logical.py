"""Logical functions: conditions, choices and tests on a value's kind.

IF, IFS, AND, OR, IFERROR and SWITCH are lazy: an argument they do not need is never
evaluated, so ``IF(qty = 0, 0, total / qty)`` cannot divide by zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ..errors import ExpressionError, LimitError
from ..evaluation import Evaluation
from ..values import equal, is_blank, to_bool
from .registry import function

Arguments = Sequence[Any]  # compiled arguments of a lazy function: call each with the evaluation


@function(
    "IF",
    "logical",
    args=(2, 3),
    lazy=True,
    signature="IF(condition, value_if_true, [value_if_false])",
    en="Returns value_if_true when the condition is TRUE, otherwise value_if_false "
    "(FALSE if omitted). Only the chosen value is evaluated.",
    zh="条件为 TRUE 时返回 value_if_true，否则返回 value_if_false（省略时为 FALSE）。"
    "只计算被选中的值。",
)
def if_(evaluation: Evaluation, arguments: Arguments) -> Any:
    if to_bool(arguments[0](evaluation)):
        return arguments[1](evaluation)
    return arguments[2](evaluation) if len(arguments) > 2 else False


@function(
    "IFS",
    "logical",
    args=(2, None),
    lazy=True,
    paired=True,
    signature="IFS(condition1, value1, [condition2, value2], …)",
    en="Returns the value paired with the first TRUE condition; #N/A if none is TRUE.",
    zh="返回第一个为 TRUE 的条件所对应的值；都不成立时返回 #N/A 错误。",
)
def ifs(evaluation: Evaluation, arguments: Arguments) -> Any:
    for index in range(0, len(arguments), 2):
        if to_bool(arguments[index](evaluation)):
            return arguments[index + 1](evaluation)
    raise ExpressionError("#N/A: no condition of IFS is TRUE")


@function(
    "AND",
    "logical",
    args=(1, None),
    lazy=True,
    signature="AND(logical1, [logical2], …)",
    en="TRUE if every argument is TRUE; stops at the first FALSE. "
    "Blanks inside a list are ignored.",
    zh="所有参数都为 TRUE 时返回 TRUE；遇到第一个 FALSE 即停止计算。列表中的空值被忽略。",
)
def and_(evaluation: Evaluation, arguments: Arguments) -> bool:
    return all(all(_logicals(evaluation, argument(evaluation))) for argument in arguments)


@function(
    "OR",
    "logical",
    args=(1, None),
    lazy=True,
    signature="OR(logical1, [logical2], …)",
    en="TRUE if any argument is TRUE; stops at the first TRUE. Blanks inside a list are ignored.",
    zh="任一参数为 TRUE 时返回 TRUE；遇到第一个 TRUE 即停止计算。列表中的空值被忽略。",
)
def or_(evaluation: Evaluation, arguments: Arguments) -> bool:
    return any(any(_logicals(evaluation, argument(evaluation))) for argument in arguments)


@function(
    "XOR",
    "logical",
    args=(1, None),
    signature="XOR(logical1, [logical2], …)",
    en="TRUE if an odd number of the arguments are TRUE.",
    zh="为 TRUE 的参数个数为奇数时返回 TRUE。",
)
def xor(evaluation: Evaluation, *values: Any) -> bool:
    return sum(sum(_logicals(evaluation, value)) for value in values) % 2 == 1


@function(
    "NOT",
    "logical",
    args=1,
    signature="NOT(logical)",
    en="Reverses a logical value: TRUE becomes FALSE and FALSE becomes TRUE.",
    zh="对逻辑值取反：TRUE 变为 FALSE，FALSE 变为 TRUE。",
)
def not_(evaluation: Evaluation, value: Any) -> bool:
    return not to_bool(value)


@function(
    "IFERROR",
    "logical",
    args=2,
    lazy=True,
    signature="IFERROR(value, value_if_error)",
    en="Returns value, or value_if_error if evaluating value fails "
    "(for example a division by zero).",
    zh="返回 value；若计算 value 出错（例如除以零），则返回 value_if_error。",
)
def iferror(evaluation: Evaluation, arguments: Arguments) -> Any:
    try:
        return arguments[0](evaluation)
    except LimitError:
        raise
    except ExpressionError:
        return arguments[1](evaluation)


@function(
    "SWITCH",
    "logical",
    args=(3, None),
    lazy=True,
    signature="SWITCH(expression, value1, result1, [value2, result2], …, [default])",
    en="Compares expression with each value in turn and returns the result of the first match, "
    "or default; #N/A if nothing matches and there is no default.",
    zh="将表达式依次与各个值比较，返回第一个匹配值对应的结果；都不匹配时返回 default，"
    "没有 default 时返回 #N/A 错误。",
)
def switch(evaluation: Evaluation, arguments: Arguments) -> Any:
    subject = arguments[0](evaluation)
    zone = evaluation.timezone
    index = 1
    while index + 1 < len(arguments):
        if equal(subject, arguments[index](evaluation), zone):
            return arguments[index + 1](evaluation)
        index += 2
    if index < len(arguments):
        return arguments[index](evaluation)
    raise ExpressionError("#N/A: no value of SWITCH matches")


@function(
    "ISBLANK",
    "logical",
    args=1,
    signature="ISBLANK(value)",
    en="TRUE if the value is blank (the field was left empty).",
    zh="值为空（字段未填写）时返回 TRUE。",
)
def isblank(evaluation: Evaluation, value: Any) -> bool:
    return value is None


@function(
    "ISEMPTY",
    "logical",
    args=1,
    signature="ISEMPTY(value)",
    en='TRUE if the value is blank, empty text "" or an empty list.',
    zh='值为空、空文本 "" 或空列表时返回 TRUE。',
)
def isempty(evaluation: Evaluation, value: Any) -> bool:
    return is_blank(value)


@function(
    "ISNUMBER",
    "logical",
    args=1,
    signature="ISNUMBER(value)",
    en="TRUE if the value is a number.",
    zh="值为数字时返回 TRUE。",
)
def isnumber(evaluation: Evaluation, value: Any) -> bool:
    return type(value) is Decimal


@function(
    "ISTEXT",
    "logical",
    args=1,
    signature="ISTEXT(value)",
    en="TRUE if the value is text.",
    zh="值为文本时返回 TRUE。",
)
def istext(evaluation: Evaluation, value: Any) -> bool:
    return type(value) is str


@function(
    "TRUE",
    "logical",
    args=0,
    signature="TRUE()",
    en="The logical value TRUE (the same as writing TRUE).",
    zh="逻辑值 TRUE（与直接写 TRUE 相同）。",
)
def true(evaluation: Evaluation) -> bool:
    return True


@function(
    "FALSE",
    "logical",
    args=0,
    signature="FALSE()",
    en="The logical value FALSE (the same as writing FALSE).",
    zh="逻辑值 FALSE（与直接写 FALSE 相同）。",
)
def false(evaluation: Evaluation) -> bool:
    return False


def _logicals(evaluation: Evaluation, value: Any) -> list[bool]:
    # A list (a multi-value field, a subform column) counts element by element, blanks skipped.
    if type(value) is list:
        evaluation.charge(len(value))
        return [to_bool(item) for item in value if not is_blank(item)]
    return [to_bool(value)]
