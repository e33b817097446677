"""The operations page (admins): queues, workers, failed jobs with their traceback and a
retry, and the reminder backlog (due, late, failed)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..reminders.models import Reminder, ReminderState
from .session import admin_required, read, runtime

bp = Blueprint("operations", __name__, url_prefix="/admin/jobs")


def _connection() -> Any:
    from ..jobs.queue import connect

    url = runtime().config.redis_url
    return connect(url) if url else None


@bp.get("/")
@admin_required
def index() -> str:
    from redis.exceptions import RedisError
    from rq import Queue, Worker
    from rq.job import Job
    from rq.registry import FailedJobRegistry

    queues: list[dict[str, Any]] = []
    workers: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    problem = None
    connection = _connection()
    if connection is None:
        problem = _("No Redis is configured (REDIS_URL): background work cannot run.")
    else:
        try:
            for queue in Queue.all(connection=connection):
                registry = FailedJobRegistry(queue=queue)
                queues.append(
                    {"name": queue.name, "waiting": queue.count, "failed": registry.count}
                )
                for job_id in registry.get_job_ids(0, 49):
                    job = Job.fetch(job_id, connection=connection)
                    result = job.latest_result()
                    failed.append(
                        {
                            "id": job_id,
                            "queue": queue.name,
                            "description": job.description,
                            "ended_at": job.ended_at,
                            "error": ((result.exc_string if result else "") or "").strip(),
                        }
                    )
            for worker in Worker.all(connection=connection):
                current = worker.get_current_job()
                workers.append(
                    {
                        "name": worker.name,
                        "state": worker.get_state(),
                        "queues": ", ".join(worker.queue_names()),
                        "job": current.description if current else "",
                    }
                )
        except RedisError as error:
            problem = _("Redis cannot be reached: %(error)s", error=str(error))
    with read() as work:
        rows = work.session.execute(
            select(Reminder.state, func.count(), func.min(Reminder.due_at)).group_by(Reminder.state)
        ).all()
        backlog = {state: (count, oldest) for state, count, oldest in rows}
        late = work.session.scalar(
            select(func.count()).where(Reminder.late, Reminder.state == ReminderState.DONE.value)
        )
        overdue = work.session.scalar(
            select(func.count()).where(
                Reminder.state == ReminderState.PENDING.value, Reminder.due_at <= work.now
            )
        )
        failures = list(
            work.session.execute(
                select(Reminder.id, Reminder.kind, Reminder.key, Reminder.error)
                .where(Reminder.state == ReminderState.FAILED.value)
                .order_by(Reminder.id.desc())
                .limit(20)
            )
        )
    return render_template(
        "operations/index.html",
        queues=queues,
        workers=workers,
        failed=failed,
        problem=problem,
        backlog=backlog,
        late=late,
        overdue=overdue,
        failures=failures,
    )


@bp.post("/failed/<job_id>/retry")
@admin_required
def retry(job_id: str) -> Any:
    from rq import Queue
    from rq.exceptions import InvalidJobOperation, NoSuchJobError
    from rq.registry import FailedJobRegistry

    connection = _connection()
    if connection is None:
        abort(404)
    for queue in Queue.all(connection=connection):
        registry = FailedJobRegistry(queue=queue)
        if job_id in registry.get_job_ids():
            try:
                registry.requeue(job_id)
            except (InvalidJobOperation, NoSuchJobError):
                abort(404)
            flash(_("The job was queued again."))
            return redirect(url_for("operations.index"))
    abort(404)


@bp.post("/reminders/<int:reminder_id>/retry")
@admin_required
def retry_reminder(reminder_id: int) -> Any:
    from .session import write

    with write() as work:
        reminder = work.session.get(Reminder, reminder_id)
        if reminder is None or reminder.state != ReminderState.FAILED:
            abort(404)
        reminder.state = ReminderState.PENDING.value
        reminder.attempts = 0
        reminder.due_at = work.now
        reminder.error = None
    flash(_("The reminder will be sent with the next sweep."))
    return redirect(url_for("operations.index"))
