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


def reschedule(
    work: Work, kind: str, key: str, due_at: dt.datetime, payload: dict[str, Any]
) -> Reminder:
    """Make ``key`` due at ``due_at`` whatever became of it: a pending one moves, a
    delivered or cancelled one is due again (a date field changed after its reminder went
    out). A job already queued for the old time finds the row pending and does nothing."""
    reminder = work.session.scalar(select(Reminder).where(Reminder.key == key))
    if reminder is None:
        reminder = Reminder(kind=kind, key=key, created_at=work.now)
        work.session.add(reminder)
    elif reminder.due_at == due_at and reminder.state == ReminderState.PENDING:
        return reminder
    reminder.kind = kind
    reminder.due_at = due_at
    reminder.payload = payload
    reminder.state = ReminderState.PENDING.value
    reminder.attempts = 0
    reminder.queued_at = None
    reminder.done_at = None
    reminder.late = False
    reminder.error = None
    return reminder


def cancel_prefix(work: Work, prefix: str) -> int:
    """Cancel every reminder not yet delivered whose key starts with ``prefix`` (an
    automation's ticks when its schedule changes); how many."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    done = work.session.execute(
        update(Reminder)
        .where(
            Reminder.key.like(escaped + "%", escape="\\"),
            Reminder.state.in_([ReminderState.PENDING.value, ReminderState.QUEUED.value]),
        )
        .values(state=ReminderState.CANCELLED.value, done_at=work.now)
        .execution_options(synchronize_session=False)
    )
    return done.rowcount


def hand_over_after_commit(work: Work, reminder_id: int) -> None:
    """Once this unit of work commits, hand a reminder due now to the workers at once
    rather than at the next sweep (the sweep still finds it if this does not happen)."""
    from .sweep import hand_over

    pending: list[int] | None = work.memo.get("reminders_hand_over")
    if pending is None:
        pending = work.memo["reminders_hand_over"] = []
        runtime = work.runtime
        work.after_commit(lambda: hand_over(runtime, pending))
    pending.append(reminder_id)
