"""The sweep: claim what is due and hand it to the workers.

A row is claimed by a conditional update (pending → queued, or queued with an expired
lease → queued again), so two schedulers sweeping at once never both enqueue it; the job is
enqueued only after the claim committed. A row whose job vanished (Redis flushed, the worker
killed) is claimed again once its lease expires; delivery is idempotent, so a second job
for it does nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from redis.exceptions import RedisError
from sqlalchemy import and_, or_, select, update

from ..runtime import Runtime
from .models import Reminder, ReminderState

log = logging.getLogger(__name__)

#: Delivered more than this after it was due: flagged late.
LATE_AFTER = dt.timedelta(minutes=1)
BATCH = 1000
#: Reminders one job delivers (each in a transaction of its own): a job per reminder would
#: spend more on the queue than on the reminder.
CHUNK = 100


def sweep(runtime: Runtime, *, limit: int = BATCH, ids: list[int] | None = None) -> list[int]:
    """Claim due reminders and enqueue their delivery; the ids enqueued. With ``ids``, only
    those (a run just created is handed to the workers at once, not at the next sweep)."""
    config = runtime.config
    lease = dt.timedelta(seconds=config.reminder_lease_seconds)
    with runtime.write() as work:
        now = work.now
        due = and_(Reminder.state == ReminderState.PENDING.value, Reminder.due_at <= now)
        stale = and_(
            Reminder.state == ReminderState.QUEUED.value, Reminder.queued_at <= now - lease
        )
        query = select(Reminder.id, Reminder.state, Reminder.queued_at, Reminder.due_at).where(
            or_(due, stale)
        )
        if ids is not None:
            query = query.where(Reminder.id.in_(ids))
        candidates = work.session.execute(query.order_by(Reminder.due_at).limit(limit)).all()
        claimed = []
        for reminder_id, state, queued_at, due_at in candidates:
            condition = [Reminder.id == reminder_id, Reminder.state == state]
            if queued_at is not None:
                condition.append(Reminder.queued_at == queued_at)
            moved = work.session.execute(
                update(Reminder)
                .where(*condition)
                .values(
                    state=ReminderState.QUEUED.value,
                    queued_at=now,
                    late=now - due_at > LATE_AFTER,
                )
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount == 1:
                claimed.append(reminder_id)
    if claimed and config.redis_url:
        from ..jobs.queue import queue
        from .delivery import deliver_many

        try:
            target = queue(config.redis_url, config.reminder_queue)
            with target.connection.pipeline() as pipe:
                for start in range(0, len(claimed), CHUNK):
                    chunk = claimed[start : start + CHUNK]
                    target.enqueue_call(
                        deliver_many,
                        args=(chunk,),
                        description=f"{len(chunk)} reminders from #{chunk[0]}",
                        pipeline=pipe,
                    )
                pipe.execute()
        except RedisError:
            log.warning("%s reminders claimed but not enqueued; swept again later", len(claimed))
    return claimed


def hand_over(runtime: Runtime, ids: list[int]) -> None:
    """After a commit: enqueue these due reminders now rather than at the next sweep (when
    there is a queue; without one, or if this fails, the sweep still finds them)."""
    if not ids or not runtime.config.redis_url:
        return
    try:
        sweep(runtime, ids=ids)
    except Exception:
        log.exception("handing over %s reminders failed; the sweep will", len(ids))


def run_scheduler(runtime: Runtime, interval: float = 10.0, once: bool = False) -> None:
    """Sweep every ``interval`` seconds until stopped (``formflow scheduler``)."""
    while True:
        try:
            while len(sweep(runtime)) == BATCH:
                pass
        except Exception:
            log.exception("sweep failed; trying again")
        if once:
            return
        time.sleep(interval)
