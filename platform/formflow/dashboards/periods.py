"""The dashboard's period filter as dates: ``this_month`` on 2026-11-22 is [2026-11-01,
2026-12-01), and the period before it (what a number card compares with) is October."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    """Days ``start`` (included) to ``end`` (excluded), in the organisation's time zone."""

    start: dt.date
    end: dt.date

    def previous(self) -> Range:
        """The range just before, of the same calendar shape: a month before a month, a
        quarter before a quarter, else as many days."""
        months = _months_between(self.start, self.end)
        if months:
            return Range(_add_months(self.start, -months), self.start)
        return Range(self.start - (self.end - self.start), self.start)

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _months_between(start: dt.date, end: dt.date) -> int:
    if start.day != 1 or end.day != 1:
        return 0
    return (end.year - start.year) * 12 + end.month - start.month


def resolve(period: str, today: dt.date, start: str = "", end: str = "") -> Range | None:
    """The range of a named period (None for ``all``); ``custom`` takes ISO dates, ``end``
    included as people say it ("to 30 November")."""
    month = today.replace(day=1)
    quarter = dt.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    year = dt.date(today.year, 1, 1)
    if period == "this_month":
        return Range(month, _add_months(month, 1))
    if period == "last_month":
        return Range(_add_months(month, -1), month)
    if period == "this_quarter":
        return Range(quarter, _add_months(quarter, 3))
    if period == "last_quarter":
        return Range(_add_months(quarter, -3), quarter)
    if period == "this_year":
        return Range(year, _add_months(year, 12))
    if period == "last_year":
        return Range(_add_months(year, -12), year)
    if period in ("last_30_days", "last_90_days"):
        days = 30 if period == "last_30_days" else 90
        return Range(today - dt.timedelta(days=days - 1), today + dt.timedelta(days=1))
    if period == "custom":
        try:
            first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
        except ValueError:
            return None
        if last < first:
            first, last = last, first
        return Range(first, last + dt.timedelta(days=1))
    return None
