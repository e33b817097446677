"""Runs: created where their trigger happened, listed for the run log, retried by an admin.

A run is created in the unit of work of what triggered it, with a reminder (kind
``automation``) that delivers it: both commit with the trigger or neither does. Right after
the commit the reminder is handed to the workers (the sweep would find it anyway). A run an
automation's own action caused is one level deeper; past the configured depth it is stored
``stopped``, with the reason, and never executed — so two automations updating each other's
records end in the run log, not in a loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select

from ..errors import Conflict, NotFound
from ..reminders.models import Reminder, ReminderState
from ..reminders.service import hand_over_after_commit, reschedule, schedule
from ..runtime import Work
from .models import AutomationRun, RunState

#: work.memo key: the depth of the run whose actions are executing in this unit of work.
DEPTH = "automation_depth"


@contextmanager
def acting(work: Work, actor: Any, depth: int | None) -> Iterator[None]:
    """Within the block, ``actor`` acts (None: the system) at run ``depth`` (None keeps the
    current one): what a run's actions, or work done on a run's behalf, write is theirs,
    and the runs it starts are one level deeper. Both are restored afterwards."""
    before_actor, before_depth = work.actor, work.memo.get(DEPTH)
    work.actor = actor
    if depth is not None:
        work.memo[DEPTH] = depth
    try:
        yield
    finally:
        work.actor = before_actor
        if before_depth is None:
            work.memo.pop(DEPTH, None)
        else:
            work.memo[DEPTH] = before_depth


def run_key(run_id: int) -> str:
    return f"automation-run:{run_id}"


def start_run(
    work: Work,
    automation_id: int,
    version: int,
    trigger: str,
    *,
    record_id: int | None = None,
    event: dict[str, Any] | None = None,
) -> AutomationRun:
    """Create a run and the reminder that delivers it (or a stopped run past the depth)."""
    depth = work.memo.get(DEPTH, -1) + 1
    limit = work.config.automation_depth_limit
    run = AutomationRun(
        automation_id=automation_id,
        version=version,
        trigger=trigger,
        record_id=record_id,
        event=event or {},
        depth=depth,
        state=RunState.PENDING.value,
        attempts=0,
        log=[],
        created_at=work.now,
    )
    if depth > limit:
        run.state = RunState.STOPPED.value
        run.error = (
            f"stopped: automations triggered one another {depth} levels deep "
            f"(the limit is {limit}); this run was not executed"
        )
        run.finished_at = work.now
    work.session.add(run)
    work.session.flush()
    if run.state == RunState.PENDING:
        reminder = schedule(work, "automation", run_key(run.id), work.now, {"run_id": run.id})
        assert reminder is not None
        work.session.flush()
        hand_over_after_commit(work, reminder.id)
    return run


def retry(work: Work, run_id: int) -> AutomationRun:
    """Run a failed (or stopped) run again, from its first action, with fresh attempts."""
    run = get_run(work, run_id)
    if run.state not in (RunState.FAILED, RunState.STOPPED):
        raise Conflict(f"run #{run_id} is {run.state}; only a failed or stopped run is retried")
    run.state = RunState.PENDING.value
    run.error = None
    run.attempts = 0
    run.finished_at = None
    reminder = reschedule(work, "automation", run_key(run.id), work.now, {"run_id": run.id})
    work.session.flush()
    hand_over_after_commit(work, reminder.id)
    return run


def get_run(work: Work, run_id: int) -> AutomationRun:
    run = work.session.get(AutomationRun, run_id)
    if run is None:
        raise NotFound(f"no automation run #{run_id}")
    return run


def runs_of(
    work: Work,
    automation_id: int,
    *,
    state: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[AutomationRun]:
    """The newest runs first (``before``: older than that run id)."""
    query = select(AutomationRun).where(AutomationRun.automation_id == automation_id)
    if state:
        query = query.where(AutomationRun.state == state)
    if before:
        query = query.where(AutomationRun.id < before)
    return list(
        work.session.scalars(query.order_by(AutomationRun.id.desc()).limit(max(1, min(limit, 200))))
    )


def next_attempt(work: Work, run: AutomationRun) -> Any:
    """When a retrying run is tried next (its reminder's due time)."""
    return work.session.scalar(
        select(Reminder.due_at).where(
            Reminder.key == run_key(run.id), Reminder.state == ReminderState.PENDING.value
        )
    )
