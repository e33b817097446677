"""Date functions. TODAY() and NOW() read the evaluation's context, never the system clock;
a date-time is first converted to the context's zone, so "the day of" an instant is the day
the organisation saw. A blank date gives a blank result, so a rule on an empty date field is
quietly false rather than an error.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ..errors import ExpressionError
from ..evaluation import Evaluation
from ..values import ONE, to_date, to_datetime, to_text, to_whole
from .registry import function

# Excel's return_type codes for WEEKDAY and WEEKNUM → the weekday (Monday = 0) a week starts on.
_WEEK_STARTS = {1: 6, 2: 0, 11: 0, 12: 1, 13: 2, 14: 3, 15: 4, 16: 5, 17: 6}


def _date(year: int, month: int, day: int = 1) -> datetime.date:
    try:
        return datetime.date(year, month, day)
    except (ValueError, OverflowError):
        raise ExpressionError("#NUM!: date out of range") from None


def _shift_months(value: datetime.date, months: int) -> tuple[int, int]:
    year, month = divmod(value.year * 12 + value.month - 1 + months, 12)
    if not 1 <= year <= 9999:
        raise ExpressionError("#NUM!: date out of range")
    return year, month + 1


@function(
    "TODAY",
    "date",
    args=0,
    signature="TODAY()",
    en="Today's date in the organisation's time zone.",
    zh="返回组织所在时区的今天日期。",
)
def today(evaluation: Evaluation) -> datetime.date:
    return evaluation.context.today


@function(
    "NOW",
    "date",
    args=0,
    signature="NOW()",
    en="The current date and time.",
    zh="返回当前的日期和时间。",
)
def now(evaluation: Evaluation) -> datetime.datetime:
    return evaluation.context.now


@function(
    "DATE",
    "date",
    args=3,
    signature="DATE(year, month, day)",
    en="The date for a year, month and day; months and days past the end roll over, "
    "e.g. DATE(2024, 1, 32) is 2024-02-01.",
    zh="由年、月、日构造日期；超出范围的月和日会顺延，例如 DATE(2024, 1, 32) 为 2024-02-01。",
)
def date(evaluation: Evaluation, year: Any, month: Any, day: Any) -> datetime.date:
    y, m = to_whole(year), to_whole(month)
    if not 1 <= y <= 9999:
        raise ExpressionError("#NUM!: DATE year must be between 1 and 9999")
    first = _date(*_shift_months(_date(y, 1), m - 1))
    try:
        return first + datetime.timedelta(days=to_whole(day) - 1)
    except OverflowError:
        raise ExpressionError("#NUM!: date out of range") from None


def _part(
    evaluation: Evaluation, value: Any, part: Callable[[datetime.date], int]
) -> Decimal | None:
    found = to_date(value, evaluation.timezone)
    return None if found is None else Decimal(part(found))


@function(
    "YEAR",
    "date",
    args=1,
    signature="YEAR(date)",
    en="The year of a date.",
    zh="返回日期的年份。",
)
def year(evaluation: Evaluation, value: Any) -> Decimal | None:
    return _part(evaluation, value, lambda found: found.year)


@function(
    "MONTH",
    "date",
    args=1,
    signature="MONTH(date)",
    en="The month of a date, 1 to 12.",
    zh="返回日期的月份（1 到 12）。",
)
def month(evaluation: Evaluation, value: Any) -> Decimal | None:
    return _part(evaluation, value, lambda found: found.month)


@function(
    "DAY",
    "date",
    args=1,
    signature="DAY(date)",
    en="The day of the month of a date, 1 to 31.",
    zh="返回日期是当月的第几天（1 到 31）。",
)
def day(evaluation: Evaluation, value: Any) -> Decimal | None:
    return _part(evaluation, value, lambda found: found.day)


@function(
    "HOUR",
    "date",
    args=1,
    signature="HOUR(datetime)",
    en="The hour of a date-time, 0 to 23 (0 for a date).",
    zh="返回日期时间的小时数（0 到 23，日期为 0）。",
)
def hour(evaluation: Evaluation, value: Any) -> Decimal | None:
    moment = to_datetime(value, evaluation.timezone)
    return None if moment is None else Decimal(moment.hour)


@function(
    "MINUTE",
    "date",
    args=1,
    signature="MINUTE(datetime)",
    en="The minute of a date-time, 0 to 59 (0 for a date).",
    zh="返回日期时间的分钟数（0 到 59，日期为 0）。",
)
def minute(evaluation: Evaluation, value: Any) -> Decimal | None:
    moment = to_datetime(value, evaluation.timezone)
    return None if moment is None else Decimal(moment.minute)


def _week_start(kind: Any, name: str) -> int:
    code = to_whole(kind)
    if code not in _WEEK_STARTS:
        raise ExpressionError(f"#NUM!: unsupported {name} return type {code}")
    return _WEEK_STARTS[code]


@function(
    "WEEKDAY",
    "date",
    args=(1, 2),
    signature="WEEKDAY(date, [return_type])",
    en="The day of the week: return_type 1 (default) counts Sunday = 1 … Saturday = 7, "
    "2 counts Monday = 1 … Sunday = 7, 3 counts Monday = 0 … Sunday = 6.",
    zh="返回星期几：return_type 为 1（默认）时星期日 = 1 … 星期六 = 7；"
    "为 2 时星期一 = 1 … 星期日 = 7；为 3 时星期一 = 0 … 星期日 = 6。",
)
def weekday(evaluation: Evaluation, value: Any, kind: Any = ONE) -> Decimal | None:
    found = to_date(value, evaluation.timezone)
    if to_whole(kind) == 3:
        return None if found is None else Decimal(found.weekday())
    start = _week_start(kind, "WEEKDAY")
    return None if found is None else Decimal((found.weekday() - start) % 7 + 1)


@function(
    "WEEKNUM",
    "date",
    args=(1, 2),
    signature="WEEKNUM(date, [return_type])",
    en="The week of the year: the week containing 1 January is week 1; weeks start on Sunday "
    "(return_type 1, default) or Monday (2). return_type 21 gives the ISO week.",
    zh="返回一年中的第几周：包含 1 月 1 日的那一周为第 1 周；每周从星期日（return_type 为 1，默认）"
    "或星期一（为 2）开始。return_type 为 21 时返回 ISO 周数。",
)
def weeknum(evaluation: Evaluation, value: Any, kind: Any = ONE) -> Decimal | None:
    found = to_date(value, evaluation.timezone)
    if to_whole(kind) == 21:
        return None if found is None else Decimal(found.isocalendar().week)
    start = _week_start(kind, "WEEKNUM")
    if found is None:
        return None
    offset = (datetime.date(found.year, 1, 1).weekday() - start) % 7
    return Decimal((found.timetuple().tm_yday - 1 + offset) // 7 + 1)


@function(
    "ISOWEEKNUM",
    "date",
    args=1,
    signature="ISOWEEKNUM(date)",
    en="The ISO 8601 week number of the date (weeks start on Monday; "
    "week 1 contains the year's first Thursday).",
    zh="返回日期的 ISO 8601 周数（每周从星期一开始，第 1 周包含当年的第一个星期四）。",
)
def isoweeknum(evaluation: Evaluation, value: Any) -> Decimal | None:
    found = to_date(value, evaluation.timezone)
    return None if found is None else Decimal(found.isocalendar().week)


@function(
    "DATEDIF",
    "date",
    args=3,
    signature="DATEDIF(start_date, end_date, unit)",
    en='The difference between two dates in whole units: "Y" years, "M" months, "D" days, '
    '"MD" days ignoring months and years, "YM" months ignoring years, "YD" days ignoring years. '
    "#NUM! if start_date is after end_date.",
    zh='按单位返回两个日期之间的整数差："Y" 年、"M" 月、"D" 天、"MD" 忽略年和月的天数、'
    '"YM" 忽略年的月数、"YD" 忽略年的天数。start_date 晚于 end_date 时返回 #NUM! 错误。',
)
def datedif(evaluation: Evaluation, start: Any, end: Any, unit: Any) -> Decimal | None:
    zone = evaluation.timezone
    first, last = to_date(start, zone), to_date(end, zone)
    code = to_text(unit, zone).strip().upper()
    if code not in ("Y", "M", "D", "MD", "YM", "YD"):
        raise ExpressionError(f'#NUM!: unknown DATEDIF unit "{code}"')
    if first is None or last is None:
        return None
    if first > last:
        raise ExpressionError("#NUM!: DATEDIF start date is after the end date")
    months = (last.year - first.year) * 12 + last.month - first.month
    if last.day < first.day:
        months -= 1
    if code == "Y":
        return Decimal(months // 12)
    if code == "M":
        return Decimal(months)
    if code == "YM":
        return Decimal(months % 12)
    if code == "D":
        return Decimal((last - first).days)
    if code == "MD":
        if last.day >= first.day:
            return Decimal(last.day - first.day)
        # From the start's day-of-month in the month before the end, clamped to that month's
        # length (Excel's own MD can go negative here; this never does).
        year, month = _shift_months(last, -1)
        anchor = datetime.date(year, month, min(first.day, calendar.monthrange(year, month)[1]))
        return Decimal((last - anchor).days)
    anchor = _anniversary(first, last.year)
    if anchor > last:
        anchor = _anniversary(first, last.year - 1)
    return Decimal((last - anchor).days)


def _anniversary(value: datetime.date, year: int) -> datetime.date:
    # 29 February in a common year rolls over to 1 March, as Excel's DATE does.
    if value.month == 2 and value.day == 29 and not calendar.isleap(year):
        return datetime.date(year, 3, 1)
    return value.replace(year=year)


@function(
    "DAYS",
    "date",
    args=2,
    signature="DAYS(end_date, start_date)",
    en="The number of days from start_date to end_date (negative if end_date is earlier).",
    zh="返回从 start_date 到 end_date 的天数（end_date 较早时为负数）。",
)
def days(evaluation: Evaluation, end: Any, start: Any) -> Decimal | None:
    zone = evaluation.timezone
    last, first = to_date(end, zone), to_date(start, zone)
    if first is None or last is None:
        return None
    return Decimal((last - first).days)


@function(
    "EDATE",
    "date",
    args=2,
    signature="EDATE(start_date, months)",
    en="The date the given number of months before or after start_date; the day is kept, or "
    "moved back to the month's last day (EDATE(2024-01-31, 1) is 2024-02-29).",
    zh="返回 start_date 之前或之后指定月数的日期；日保持不变，若超出当月天数则取当月最后一天"
    "（EDATE(2024-01-31, 1) 为 2024-02-29）。",
)
def edate(evaluation: Evaluation, start: Any, months: Any) -> datetime.date | None:
    first = to_date(start, evaluation.timezone)
    count = to_whole(months)
    if first is None:
        return None
    year, month = _shift_months(first, count)
    return datetime.date(year, month, min(first.day, calendar.monthrange(year, month)[1]))


@function(
    "EOMONTH",
    "date",
    args=2,
    signature="EOMONTH(start_date, months)",
    en="The last day of the month the given number of months before or after start_date.",
    zh="返回 start_date 之前或之后指定月数的那个月的最后一天。",
)
def eomonth(evaluation: Evaluation, start: Any, months: Any) -> datetime.date | None:
    first = to_date(start, evaluation.timezone)
    count = to_whole(months)
    if first is None:
        return None
    year, month = _shift_months(first, count)
    return datetime.date(year, month, calendar.monthrange(year, month)[1])


@function(
    "DATEVALUE",
    "date",
    args=1,
    signature="DATEVALUE(text)",
    en='Converts text such as "2024-03-01", "2024/3/1" or "2024年3月1日" to a date.',
    zh='将 "2024-03-01"、"2024/3/1" 或 "2024年3月1日" 这样的文本转换为日期。',
)
def datevalue(evaluation: Evaluation, value: Any) -> datetime.date | None:
    return to_date(value, evaluation.timezone)
