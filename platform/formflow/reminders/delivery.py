"""Delivering one reminder: its effect and its state change in one transaction.

Handlers are registered by kind (``@handler("notify")``); each runs in the delivering unit
of work. A handler that raises leaves nothing behind: the reminder is retried with backoff
and, after the last attempt, marked failed with the error.

A kind whose effect is outside the database (an email, a webhook) registers with
``@handler(kind, outside=True)`` and is called with no transaction open — a slow SMTP or
HTTP server must not hold the database (SQLite has one writer). Its delivery takes two
short transactions: the check that it is still queued, the call, then done — only if no
sweep queued it again meanwhile (its lease expired) — together with whatever the handler
returns to record (a hook's counters). Such effects are at least once: a crash between the
call and the commit repeats the call, with the same reminder id for the receiver to dedupe;
so does a job that waited in the queue longer than the lease (FORMFLOW_REMINDER_LEASE,
5 minutes) and raced the copy the sweep queued again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from ..runtime import Runtime, Work
from .models import Reminder, ReminderState

log = logging.getLogger(__name__)

Handler = Callable[[Work, Reminder], None]
#: Called outside any transaction with a snapshot of the reminder; may return what to
#: record in the transaction that marks it done.
OutsideHandler = Callable[[Runtime, "Due"], Callable[[Work], None] | None]
#: Told of a failed attempt, in the transaction that records it: (work, reminder, error,
#: final) — final when no attempt follows.
FailureHandler = Callable[[Work, Reminder, Exception, bool], None]
HANDLERS: dict[str, Handler] = {}
OUTSIDE: dict[str, OutsideHandler] = {}
FAILURE_HANDLERS: dict[str, FailureHandler] = {}
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Due:
    """What an outside handler sees of its reminder (no session: none is open)."""

    id: int
    kind: str
    key: str
    payload: dict[str, Any]
    attempts: int
    late: bool
    due_at: dt.datetime


def handler(kind: str, *, outside: bool = False) -> Callable[[Any], Any]:
    def register(function: Any) -> Any:
        (OUTSIDE if outside else HANDLERS)[kind] = function
        return function

    return register


def on_failure(kind: str) -> Callable[[FailureHandler], FailureHandler]:
    """Register what else a failed attempt of ``kind`` records (a hook's failure count, an
    automation run's error)."""

    def register(function: FailureHandler) -> FailureHandler:
        FAILURE_HANDLERS[kind] = function
        return function

    return register


def deliver_many(reminder_ids: list[int]) -> str:
    """The RQ job: deliver each reminder in a transaction of its own. One that fails is
    recorded (retried later, or failed) and does not stop the others."""
    from ..jobs.queue import worker_runtime

    runtime = worker_runtime()
    delivered = failed = 0
    for reminder_id in reminder_ids:
        try:
            deliver_with(runtime, reminder_id)
        except Exception:
            failed += 1
        else:
            delivered += 1
    return f"{delivered} reminders handled, {failed} failed"


def deliver_with(runtime: Runtime, reminder_id: int) -> str:
    _load_handlers()
    try:
        with runtime.read() as work:
            kind = work.session.scalar(select(Reminder.kind).where(Reminder.id == reminder_id))
        if kind in OUTSIDE:
            return _deliver_outside(runtime, reminder_id)
    except Exception as error:
        log.exception("reminder #%s failed", reminder_id)
        _failed(runtime, reminder_id, error)
        raise
    try:
        with runtime.write() as work:
            reminder = work.session.scalar(
                select(Reminder).where(Reminder.id == reminder_id).with_for_update()
            )
            if reminder is None or reminder.state != ReminderState.QUEUED:
                return f"reminder #{reminder_id}: nothing to do"
            done = work.session.execute(
                update(Reminder)
                .where(Reminder.id == reminder_id, Reminder.state == ReminderState.QUEUED.value)
                .values(state=ReminderState.DONE.value, done_at=work.now)
                .execution_options(synchronize_session=False)
            )
            if done.rowcount != 1:
                return f"reminder #{reminder_id}: delivered by another job"
            HANDLERS[reminder.kind](work, reminder)
    except Exception as error:
        log.exception("reminder #%s failed", reminder_id)
        _failed(runtime, reminder_id, error)
        raise
    return f"reminder #{reminder_id}: delivered"


def _deliver_outside(runtime: Runtime, reminder_id: int) -> str:
    with runtime.write() as work:
        reminder = work.session.scalar(
            select(Reminder).where(Reminder.id == reminder_id).with_for_update()
        )
        if reminder is None or reminder.state != ReminderState.QUEUED:
            return f"reminder #{reminder_id}: nothing to do"
        claimed_at = reminder.queued_at
        due = Due(
            reminder.id,
            reminder.kind,
            reminder.key,
            dict(reminder.payload),
            reminder.attempts,
            reminder.late,
            reminder.due_at,
        )
    record = OUTSIDE[due.kind](runtime, due)
    with runtime.write() as work:
        done = work.session.execute(
            update(Reminder)
            .where(
                Reminder.id == reminder_id,
                Reminder.state == ReminderState.QUEUED.value,
                Reminder.queued_at == claimed_at,
            )
            .values(state=ReminderState.DONE.value, done_at=work.now)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:
            return f"reminder #{reminder_id}: delivered, but meanwhile claimed again"
        if record is not None:
            record(work)
    return f"reminder #{reminder_id}: delivered"


def _failed(runtime: Runtime, reminder_id: int, error: Exception) -> None:
    with runtime.write() as work:
        reminder = work.session.get(Reminder, reminder_id)
        if reminder is None:
            return
        reminder.attempts += 1
        reminder.error = f"{type(error).__name__}: {error}"[:2000]
        final = reminder.attempts >= int(reminder.payload.get("max_attempts", MAX_ATTEMPTS))
        if reminder.kind in FAILURE_HANDLERS:
            FAILURE_HANDLERS[reminder.kind](work, reminder, error, final)
        if final:
            reminder.state = ReminderState.FAILED.value
            reminder.done_at = work.now
        else:
            # Backoff from when the sweep handed it over (the scheduler's clock, which
            # decides what is due).
            since = reminder.queued_at or work.now
            reminder.state = ReminderState.PENDING.value
            reminder.due_at = since + dt.timedelta(minutes=2**reminder.attempts)


def _load_handlers() -> None:
    """The engine's handlers live beside what they act on; importing registers them."""
    from ..automations import runner  # noqa: F401
    from ..flows import timeouts  # noqa: F401
    from ..mail import kinds as mail_kinds  # noqa: F401
    from ..webhooks import delivery  # noqa: F401
    from . import kinds  # noqa: F401
