"""What an evaluation may know about the world: the clock, the organisation's time zone."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from .limits import MAX_STEPS

DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True, slots=True)
class EvalContext:
    """The clock and zone an expression sees, and its step budget.

    TODAY() and NOW() read ``today`` and ``now`` rather than the system clock, so a caller can
    pin them (tests, recomputing a historical record, one consistent "now" for a batch).
    Date functions given an aware datetime first convert it to ``timezone``.
    """

    today: datetime.date
    now: datetime.datetime
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TIMEZONE))
    max_steps: int = MAX_STEPS

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ValueError("EvalContext.now must be timezone-aware")
        if type(self.today) is not datetime.date:
            raise TypeError("EvalContext.today must be a date, not a datetime")

    @classmethod
    def current(cls, timezone: str | ZoneInfo = DEFAULT_TIMEZONE) -> EvalContext:
        """A context whose today and now are read from the clock in ``timezone``."""
        zone = timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone)
        now = datetime.datetime.now(zone)
        return cls(today=now.date(), now=now, timezone=zone)
