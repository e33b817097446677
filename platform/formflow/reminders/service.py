"""Scheduling reminders and cancelling them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update

from ..runtime import Work
from .models import Reminder, ReminderState


def schedule(
    work: Work, kind: str, key: str, due_at: dt.datetime, payload: dict[str, Any]
) -> Reminder | None:
    """Schedule ``kind`` at ``due_at`` under ``key``; a key already scheduled is kept as it
    is (None is returned), so callers may schedule the same obligation again safely."""
    if work.session.scalar(select(Reminder.id).where(Reminder.key == key)) is not None:
        return None
    reminder = Reminder(
        kind=kind,
        key=key,
        due_at=due_at,
        state=ReminderState.PENDING.value,
        attempts=0,
        payload=payload,
        created_at=work.now,
    )
    work.session.add(reminder)
    return reminder


def cancel(work: Work, key: str) -> bool:
    """Cancel a reminder not yet delivered; whether one was."""
    done = work.session.execute(
        update(Reminder)
        .where(
            Reminder.key == key,
            Reminder.state.in_([ReminderState.PENDING.value, ReminderState.QUEUED.value]),
        )
        .values(state=ReminderState.CANCELLED.value, done_at=work.now)
        .execution_options(synchronize_session=False)
    )
    return done.rowcount == 1
