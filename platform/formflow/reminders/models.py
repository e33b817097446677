"""A reminder: one thing due at one time, and how far its delivery got."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, BigId, Document, utcnow


class ReminderState(enum.StrEnum):
    PENDING = "pending"
    #: Claimed by a sweep and handed to RQ at ``queued_at``.
    QUEUED = "queued"
    DONE = "done"
    #: Gave up after the last attempt; ``error`` says why.
    FAILED = "failed"
    CANCELLED = "cancelled"


class Reminder(Base):
    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_state_due", "state", "due_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: What to do: a handler registered in reminders.delivery (``notify``, ``flow_timeout``).
    kind: Mapped[str] = mapped_column(String(32))
    #: One obligation, one row: scheduling the same key twice keeps the first.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    due_at: Mapped[dt.datetime]
    state: Mapped[str] = mapped_column(String(16), default=ReminderState.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    payload: Mapped[dict[str, Any]] = mapped_column(Document, default=dict)
    queued_at: Mapped[dt.datetime | None]
    done_at: Mapped[dt.datetime | None]
    #: Delivered well after it was due (the scheduler was down): said, not hidden.
    late: Mapped[bool] = mapped_column(default=False)
    error: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
