"""Text functions. Positions are 1-based and counted in characters, as in Excel.

Every function that can make text longer checks the result's size before building it, so no
argument can make the server allocate more than the sandbox allows.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..errors import ExpressionError
from ..evaluation import Evaluation
from ..formatting import format_value
from ..limits import MAX_TEXT_LENGTH
from ..patterns import cost as pattern_cost
from ..patterns import search as pattern_search
from ..values import ONE, ZERO, equal, to_number, to_text, to_whole
from .registry import function


def _too_long() -> ExpressionError:
    return ExpressionError(f"#VALUE!: text longer than {MAX_TEXT_LENGTH} characters")


def _joined(evaluation: Evaluation, values: tuple[Any, ...]) -> str:
    parts, length, zone = [], 0, evaluation.timezone
    for value in values:
        items = value if type(value) is list else [value]
        if type(value) is list:
            evaluation.charge(len(value))
        for item in items:
            text = to_text(item, zone)
            length += len(text)
            if length > MAX_TEXT_LENGTH:
                raise _too_long()
            parts.append(text)
    return "".join(parts)


@function(
    "CONCAT",
    "text",
    args=(1, None),
    signature="CONCAT(text1, [text2], …)",
    en="Joins its arguments into one text; a list joins all its items.",
    zh="将各参数连接成一个文本；列表会连接其中的所有项。",
)
def concat(evaluation: Evaluation, *values: Any) -> str:
    return _joined(evaluation, values)


@function(
    "CONCATENATE",
    "text",
    args=(1, None),
    signature="CONCATENATE(text1, [text2], …)",
    en="Joins its arguments into one text (the same as CONCAT).",
    zh="将各参数连接成一个文本（与 CONCAT 相同）。",
)
def concatenate(evaluation: Evaluation, *values: Any) -> str:
    return _joined(evaluation, values)


def _count(value: Any, name: str) -> int:
    count = to_whole(value)
    if count < 0:
        raise ExpressionError(f"#VALUE!: {name} cannot be negative")
    return count


@function(
    "LEFT",
    "text",
    args=(1, 2),
    signature="LEFT(text, [count])",
    en="The first count characters of the text (default 1).",
    zh="返回文本开头的 count 个字符（默认 1 个）。",
)
def left(evaluation: Evaluation, value: Any, count: Any = ONE) -> str:
    return to_text(value, evaluation.timezone)[: _count(count, "the count")]


@function(
    "RIGHT",
    "text",
    args=(1, 2),
    signature="RIGHT(text, [count])",
    en="The last count characters of the text (default 1).",
    zh="返回文本末尾的 count 个字符（默认 1 个）。",
)
def right(evaluation: Evaluation, value: Any, count: Any = ONE) -> str:
    text = to_text(value, evaluation.timezone)
    wanted = _count(count, "the count")
    return text[len(text) - min(wanted, len(text)) :]


@function(
    "MID",
    "text",
    args=3,
    signature="MID(text, start, count)",
    en="count characters of the text starting at position start (the first character is 1).",
    zh="从第 start 个字符（第一个字符为 1）开始，返回文本中的 count 个字符。",
)
def mid(evaluation: Evaluation, value: Any, start: Any, count: Any) -> str:
    text = to_text(value, evaluation.timezone)
    first = to_whole(start)
    if first < 1:
        raise ExpressionError("#VALUE!: MID start must be at least 1")
    return text[first - 1 : first - 1 + _count(count, "the count")]


@function(
    "LEN",
    "text",
    args=1,
    signature="LEN(text)",
    en="The number of characters in the text.",
    zh="返回文本的字符数。",
)
def len_(evaluation: Evaluation, value: Any) -> Decimal:
    return Decimal(len(to_text(value, evaluation.timezone)))


@function(
    "UPPER",
    "text",
    args=1,
    signature="UPPER(text)",
    en="The text in upper case.",
    zh="将文本转换为大写。",
)
def upper(evaluation: Evaluation, value: Any) -> str:
    return to_text(value, evaluation.timezone).upper()


@function(
    "LOWER",
    "text",
    args=1,
    signature="LOWER(text)",
    en="The text in lower case.",
    zh="将文本转换为小写。",
)
def lower(evaluation: Evaluation, value: Any) -> str:
    return to_text(value, evaluation.timezone).lower()


@function(
    "TRIM",
    "text",
    args=1,
    signature="TRIM(text)",
    en="Removes spaces from both ends of the text and reduces runs of spaces inside it to one.",
    zh="去除文本首尾的空格，并将文本中连续的多个空格合并为一个。",
)
def trim(evaluation: Evaluation, value: Any) -> str:
    return " ".join(filter(None, to_text(value, evaluation.timezone).strip().split(" ")))


@function(
    "SUBSTITUTE",
    "text",
    args=(3, 4),
    signature="SUBSTITUTE(text, old_text, new_text, [instance])",
    en="Replaces old_text with new_text in the text: every occurrence, or only the "
    "instance-th one. Case-sensitive.",
    zh="将文本中的 old_text 替换为 new_text：替换全部，或仅替换第 instance 次出现的。区分大小写。",
)
def substitute(evaluation: Evaluation, value: Any, old: Any, new: Any, instance: Any = None) -> str:
    zone = evaluation.timezone
    text, old_text, new_text = to_text(value, zone), to_text(old, zone), to_text(new, zone)
    if not old_text:
        return text
    occurrences = text.count(old_text)
    if instance is None:
        if len(text) + occurrences * (len(new_text) - len(old_text)) > MAX_TEXT_LENGTH:
            raise _too_long()
        return text.replace(old_text, new_text)
    wanted = to_whole(instance)
    if wanted < 1:
        raise ExpressionError("#VALUE!: SUBSTITUTE instance must be at least 1")
    if wanted > occurrences:
        return text
    if len(text) + len(new_text) - len(old_text) > MAX_TEXT_LENGTH:
        raise _too_long()
    position = -len(old_text)
    for _ in range(wanted):
        position = text.find(old_text, position + len(old_text))
    return text[:position] + new_text + text[position + len(old_text) :]


def _start(start: Any, within: str, name: str) -> int:
    first = 1 if start is None else to_whole(start)
    if not 1 <= first <= len(within) + 1:
        raise ExpressionError(f"#VALUE!: {name} start position {first} is out of range")
    return first - 1


@function(
    "FIND",
    "text",
    args=(2, 3),
    signature="FIND(find_text, within_text, [start])",
    en="The position of find_text in within_text (1 = first character), searching from start. "
    "Case-sensitive, no wildcards; #VALUE! if not found.",
    zh="返回 find_text 在 within_text 中的位置（第一个字符为 1），从 start 开始查找。"
    "区分大小写，不支持通配符；找不到时返回 #VALUE! 错误。",
)
def find(evaluation: Evaluation, needle: Any, haystack: Any, start: Any = None) -> Decimal:
    zone = evaluation.timezone
    text, within = to_text(needle, zone), to_text(haystack, zone)
    found = within.find(text, _start(start, within, "FIND"))
    if found < 0:
        raise ExpressionError("#VALUE!: FIND did not find the text")
    return Decimal(found + 1)


@function(
    "SEARCH",
    "text",
    args=(2, 3),
    signature="SEARCH(find_text, within_text, [start])",
    en="Like FIND but ignores case and allows the wildcards ? (one character) and "
    "* (any characters); ~ escapes them.",
    zh="与 FIND 类似，但不区分大小写，并支持通配符 ?（一个字符）和 *（任意多个字符）；"
    "用 ~ 转义通配符。",
)
def search(evaluation: Evaluation, needle: Any, haystack: Any, start: Any = None) -> Decimal:
    zone = evaluation.timezone
    text, within = to_text(needle, zone), to_text(haystack, zone)
    first = _start(start, within, "SEARCH")
    evaluation.charge(pattern_cost(text, len(within)))
    found = pattern_search(text, within, first)
    if found < 0:
        raise ExpressionError("#VALUE!: SEARCH did not find the text")
    return Decimal(found + 1)


@function(
    "REPT",
    "text",
    args=2,
    signature="REPT(text, times)",
    en="The text repeated the given number of times.",
    zh="将文本重复指定的次数。",
)
def rept(evaluation: Evaluation, value: Any, times: Any) -> str:
    text, count = to_text(value, evaluation.timezone), _count(times, "REPT times")
    if text and count > MAX_TEXT_LENGTH // len(text):
        raise _too_long()
    return text * count if text else ""


@function(
    "TEXT",
    "text",
    args=2,
    signature="TEXT(value, format)",
    en='Formats a number or date as text: "0", "0.00", "#,##0", "#,##0.00", "0%", "0.0%", '
    '"yyyy-mm-dd", "yyyy/mm/dd", "yyyy-mm-dd hh:mm", "yyyy年m月d日"…',
    zh='将数字或日期按格式转换为文本："0"、"0.00"、"#,##0"、"#,##0.00"、"0%"、"0.0%"、'
    '"yyyy-mm-dd"、"yyyy/mm/dd"、"yyyy-mm-dd hh:mm"、"yyyy年m月d日" 等。',
)
def text_(evaluation: Evaluation, value: Any, code: Any) -> str:
    zone = evaluation.timezone
    return format_value(value, to_text(code, zone), zone)


@function(
    "VALUE",
    "text",
    args=1,
    signature="VALUE(text)",
    en='Converts text that looks like a number ("12", "1,234.5", "15%") to a number.',
    zh='将形如数字的文本（"12"、"1,234.5"、"15%"）转换为数字。',
)
def value_(evaluation: Evaluation, value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ExpressionError("#VALUE!: VALUE expects text, got a logical value")
    return to_number(value) if value is not None else ZERO


@function(
    "CONTAINS",
    "text",
    args=2,
    signature="CONTAINS(text_or_list, value)",
    en="For text: TRUE if it contains value (ignoring case). For a list, such as a "
    "multi-select field: TRUE if one of its items equals value.",
    zh="对文本：包含 value（不区分大小写）时返回 TRUE。对列表（如多选字段）："
    "某一项等于 value 时返回 TRUE。",
)
def contains(evaluation: Evaluation, container: Any, value: Any) -> bool:
    zone = evaluation.timezone
    if type(container) is list:
        evaluation.charge(len(container))
        return any(equal(item, value, zone) for item in container)
    if container is None:
        return False
    return to_text(value, zone).casefold() in to_text(container, zone).casefold()
