"""Calendar periods for targets, scorecards and statements: years, quarters, months and ISO
weeks, written as keys people can read and type — ``2026``, ``2026-Q1``, ``2026-03``,
``2026-W05``.

A period is a half-open range of days ``[start, end)``. Weeks are ISO weeks: they start on
Monday, and week 1 is the week holding the year's first Thursday, so a week can straddle a
month, a quarter or even a year. A week *belongs* to the month, quarter and year of its
Thursday (that is how ISO numbers it), but when a month is broken into weeks every week
that overlaps it is listed, and :meth:`Period.overlap_days` says how much of it falls
inside — the caller weighs straddling weeks by those days.

Also here: how far a period has run (:func:`elapsed_share`), the period "now" in the
organisation's time zone (:func:`current`), and prorating an amount for someone who joined
or left during a period (:func:`prorate`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from sales_performance.split import format_number, format_percent

KINDS = ("year", "quarter", "month", "week")  # coarsest first
ACCEPTED = "2026 (year), 2026-Q1 (quarter), 2026-03 (month) or 2026-W05 (ISO week)"
_KEY = re.compile(r"(\d{4})(?:-Q(\d)|-(\d{2})|-W(\d{2}))?", re.IGNORECASE | re.ASCII)
_DAY = dt.timedelta(days=1)
_WEEK = dt.timedelta(days=7)


@dataclass(frozen=True)
class Period:
    """One year, quarter, month or ISO week: the days from ``start`` up to, not including,
    ``end``. Build one with :meth:`parse` or :meth:`containing`."""

    kind: str  # "year" | "quarter" | "month" | "week"
    start: dt.date
    end: dt.date  # exclusive

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown period kind {self.kind!r}; use one of {', '.join(KINDS)}")
        if (self.start, self.end) != _bounds(self.kind, self.start):
            raise ValueError(
                f"{self.start}–{self.end} is not a calendar {self.kind}; "
                "build periods with Period.parse or Period.containing"
            )

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def parse(cls, key: str) -> Period:
        """The period a key names: ``2026``, ``2026-Q1``, ``2026-03`` or ``2026-W05``."""
        match = _KEY.fullmatch(key.strip()) if isinstance(key, str) else None
        if not match:
            raise ValueError(f"{key!r} is not a period; write it as {ACCEPTED}")
        year, quarter, month, week = match.groups()
        y = int(year)
        if not 1 <= y <= 9998:  # Python's calendar ends in 9999, and a year needs its end
            raise ValueError(f"{key!r}: the year must be between 0001 and 9998")
        if quarter is not None:
            if not 1 <= int(quarter) <= 4:
                raise ValueError(f"{key!r}: a quarter is Q1 to Q4; write it as {ACCEPTED}")
            return cls.containing("quarter", dt.date(y, 3 * int(quarter) - 2, 1))
        if month is not None:
            if not 1 <= int(month) <= 12:
                raise ValueError(f"{key!r}: a month is 01 to 12; write it as {ACCEPTED}")
            return cls.containing("month", dt.date(y, int(month), 1))
        if week is not None:
            if not 1 <= int(week) <= _weeks_in(y):
                raise ValueError(
                    f"{key!r}: ISO year {y} has weeks W01 to W{_weeks_in(y)}; "
                    f"write it as {ACCEPTED}"
                )
            return cls.containing("week", dt.date.fromisocalendar(y, int(week), 1))
        return cls.containing("year", dt.date(y, 1, 1))

    @classmethod
    def containing(cls, kind: str, day: dt.date) -> Period:
        """The period of ``kind`` that holds ``day`` (for weeks: its ISO week)."""
        if kind not in KINDS:
            raise ValueError(f"unknown period kind {kind!r}; use one of {', '.join(KINDS)}")
        start, end = _bounds(kind, day)
        return cls(kind, start, end)

    # -- reading ----------------------------------------------------------------------------

    @property
    def key(self) -> str:
        """The canonical key, which :meth:`parse` reads back: ``2026-W05`` etc."""
        if self.kind == "year":
            return f"{self.start.year:04d}"
        if self.kind == "quarter":
            return f"{self.start.year:04d}-Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "month":
            return f"{self.start.year:04d}-{self.start.month:02d}"
        iso = self.start.isocalendar()
        return f"{iso.year:04d}-W{iso.week:02d}"

    @property
    def days(self) -> int:
        """How many days the period has."""
        return (self.end - self.start).days

    def contains(self, day: dt.date) -> bool:
        return self.start <= day < self.end

    def overlap_days(self, other: Period) -> int:
        """How many days this period shares with ``other`` (0 when they don't meet)."""
        return max(0, (min(self.end, other.end) - max(self.start, other.start)).days)

    def __str__(self) -> str:
        return self.key

    # -- moving -----------------------------------------------------------------------------

    def previous(self) -> Period:
        """The period of the same kind just before this one."""
        return Period.containing(self.kind, self.start - _DAY)

    def next(self) -> Period:
        """The period of the same kind just after this one."""
        return Period.containing(self.kind, self.end)

    def same_last_year(self) -> Period:
        """The same period a year earlier: same quarter, month or ISO week number. A week
        53 maps to the last week of a previous year that has only 52."""
        if self.kind == "week":
            iso = self.start.isocalendar()
            year = iso.year - 1
            week = min(iso.week, _weeks_in(year))
            return Period.containing("week", dt.date.fromisocalendar(year, week, 1))
        return Period.containing(self.kind, self.start.replace(year=self.start.year - 1))

    def parent(self, kind: str) -> Period:
        """The enclosing period of a coarser ``kind``. For a week that is the month, quarter
        or year holding its Thursday, as ISO numbers weeks."""
        if kind not in KINDS or KINDS.index(kind) >= KINDS.index(self.kind):
            raise ValueError(
                _said("period.no_parent", kind=self.kind, of=kind, hint=_coarser(self.kind))
            )
        anchor = self.start + dt.timedelta(days=3) if self.kind == "week" else self.start
        return Period.containing(kind, anchor)

    def children(self, kind: str) -> list[Period]:
        """The periods of a finer ``kind`` inside this one, in order: the quarters or months
        of a year, the months of a quarter. For weeks, every ISO week that overlaps the
        period — the first and last may straddle its edges; weigh them by
        :meth:`overlap_days`."""
        if kind not in KINDS or KINDS.index(kind) <= KINDS.index(self.kind):
            raise ValueError(
                _said("period.no_children", kind=self.kind, into=kind, hint=_finer(self.kind))
            )
        found = []
        child = Period.containing(kind, self.start)
        while child.start < self.end:
            found.append(child)
            child = child.next()
        return found


def elapsed_share(period: Period, today: dt.date) -> Decimal:
    """How much of ``period`` has passed by the end of ``today``: days elapsed, today
    included, over the period's days — 0 before it starts, 1 once it is over."""
    return elapsed_share_explained(period, today)[0]


def elapsed_share_explained(period: Period, today: dt.date) -> tuple[Decimal, str]:
    """:func:`elapsed_share` and a sentence saying how it was counted (an explanation
    that reads in either language, English as a ``str``)."""
    from .explanations import said

    if today < period.start:
        return Decimal(0), said("elapsed.before", period=str(period), today=str(today))
    if today >= period.end:
        return Decimal(1), said("elapsed.after", period=str(period), today=str(today))
    elapsed = (today - period.start).days + 1
    share = Decimal(elapsed) / Decimal(period.days)
    return share, said(
        "elapsed.during", today=str(today), day=elapsed, days=period.days, period=str(period),
        share=format_percent(share),
    )  # fmt: skip


def current(kind: str, now: dt.datetime, tz: str = "Asia/Shanghai") -> Period:
    """The period of ``kind`` that ``now`` falls in, on the calendar of time zone ``tz``
    (so 23:30 UTC on 31 March is already April in Shanghai)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must carry a time zone, got the naive {now.isoformat()}")
    return Period.containing(kind, now.astimezone(ZoneInfo(tz)).date())


def prorate(
    amount: Decimal,
    period: Period,
    active_from: dt.date | None,
    active_to: dt.date | None,
) -> Decimal:
    """The share of ``amount`` for the days someone was active in ``period``:
    ``amount × active days / period days``, unrounded. ``active_from`` and ``active_to``
    are the first and last active days (both inclusive); ``None`` means no limit on that
    side. A rep joining on 17 June (30-day month) with a 30,000 target gets 14/30 of it,
    14,000."""
    return prorate_explained(amount, period, active_from, active_to)[0]


def prorate_explained(
    amount: Decimal,
    period: Period,
    active_from: dt.date | None,
    active_to: dt.date | None,
) -> tuple[Decimal, str]:
    """:func:`prorate` and a sentence saying which days counted and the arithmetic."""
    first = max(period.start, active_from) if active_from else period.start
    end = min(period.end, active_to + _DAY) if active_to else period.end
    active = max(0, (end - first).days)
    if active == period.days:
        return amount, f"active all {period.days} days of {period}: {format_number(amount)}"
    if active == 0:
        return Decimal(0), f"not active in {period}: 0"
    share = amount * active / period.days
    return share, (
        f"active {first} – {end - _DAY}, {active} of {period.days} days of {period}: "
        f"{format_number(amount)} × {active} / {period.days} = {format_number(share)}"
    )


def _bounds(kind: str, day: dt.date) -> tuple[dt.date, dt.date]:
    if kind == "year":
        return dt.date(day.year, 1, 1), dt.date(day.year + 1, 1, 1)
    if kind == "quarter":
        first = 3 * ((day.month - 1) // 3) + 1
        return dt.date(day.year, first, 1), _add_months(day.year, first, 3)
    if kind == "month":
        return dt.date(day.year, day.month, 1), _add_months(day.year, day.month, 1)
    monday = day - dt.timedelta(days=day.weekday())
    return monday, monday + _WEEK


def _add_months(year: int, month: int, months: int) -> dt.date:
    index = year * 12 + month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _weeks_in(iso_year: int) -> int:
    return dt.date(iso_year, 12, 28).isocalendar().week  # 28 December is always in the last


def _coarser(kind: str) -> str:
    above = KINDS[: KINDS.index(kind)]
    return (
        _said("period.use_one_of", choices=", ".join(above)) if above else _said("period.largest")
    )


def _finer(kind: str) -> str:
    below = KINDS[KINDS.index(kind) + 1 :]
    return (
        _said("period.use_one_of", choices=", ".join(below)) if below else _said("period.smallest")
    )


def _said(key: str, **params: object) -> str:
    """A message in either language (:func:`explanations.said`, imported late as
    :func:`elapsed_share_explained` does)."""
    from .explanations import said

    return said(key, **params)
