"""Executing runs, and turning schedule ticks and date reminders into runs.

A run is delivered as a reminder of kind ``automation``: its actions run in order in the
delivering unit of work, with the automation's owner as the acting user, so the run's
writes, its queued emails and webhooks, its log and its state commit together. An action
that fails rolls all of that back; the reminder is retried with backoff and the run shows
``retrying`` (then ``failed``) with the action and its error. Retrying from the run log
starts again from the first action — nothing of the failed attempt was kept.
"""

from __future__ import annotations

import time
from typing import Any

from ..definitions.service import LoadedForm, get_form_by_id
from ..errors import FormflowError
from ..records.models import Record
from ..records.prepare import from_document
from ..reminders.delivery import handler, on_failure
from ..reminders.models import Reminder
from ..runtime import Work
from . import runs, service, timing
from .actions import ACTIONS, Context
from .models import Automation, AutomationRun, RunState
from .triggers import holds


class ActionFailed(Exception):
    """Action ``index`` of a run failed; the run log names it."""

    def __init__(self, index: int, kind: str, error: Exception) -> None:
        self.index = index
        self.kind = kind
        self.error = error
        super().__init__(f"action {index + 1} ({kind}) failed: {_words(error)}")


@handler("automation")
def _run(work: Work, reminder: Reminder) -> None:
    run = work.session.get(AutomationRun, int(reminder.payload["run_id"]))
    if run is None or run.state not in (RunState.PENDING, RunState.RETRYING):
        return
    started = time.perf_counter()
    automation = work.session.get(Automation, run.automation_id)
    run.attempts = reminder.attempts + 1
    if automation is None or not automation.enabled:
        _finish(work, run, RunState.SKIPPED, started, error="the automation is disabled")
        return
    spec = service.spec_by_id(work, automation.id, run.version)
    loaded, values = _record_of(work, automation, run)
    if run.record_id is not None and loaded is not None and values is None:
        _finish(work, run, RunState.SKIPPED, started, error=f"record #{run.record_id} is gone")
        return
    if run.event.get("check_condition") and not holds(work, spec, loaded, values or {}):
        _finish(work, run, RunState.SKIPPED, started, error="its condition does not hold")
        return
    owner = _owner(work, automation)
    context = Context(
        work=work,
        run_id=run.id,
        automation_id=automation.id,
        automation=automation.name,
        title=spec.title,
        trigger=run.trigger,
        loaded=loaded,
        record_id=run.record_id,
        owner_id=_record_owner(work, run) or automation.owner_id,
        values=values or {},
        document=_document(work, run),
        event=dict(run.event or {}),
    )
    log: list[dict[str, Any]] = []
    with runs.acting(work, owner, run.depth):
        for index, action in enumerate(spec.actions):
            begun = time.perf_counter()
            try:
                result = ACTIONS[action["type"]](context, action, index)
                work.session.flush()
            except Exception as error:
                raise ActionFailed(index, action["type"], error) from error
            log.append(
                {
                    "action": index,
                    "type": action["type"],
                    "result": result,
                    "ms": round((time.perf_counter() - begun) * 1000, 1),
                }
            )
    run.log = log
    _finish(work, run, RunState.DONE, started)


@on_failure("automation")
def _run_failed(work: Work, reminder: Reminder, error: Exception, final: bool) -> None:
    run = work.session.get(AutomationRun, int(reminder.payload["run_id"]))
    if run is None:
        return
    run.attempts = reminder.attempts
    run.state = (RunState.FAILED if final else RunState.RETRYING).value
    run.error = str(error)[:2000]
    entry: dict[str, Any] = {"error": _words(error), "attempt": reminder.attempts}
    if isinstance(error, ActionFailed):
        entry.update(action=error.index, type=error.kind, error=_words(error.error))
    run.log = [entry]
    if final:
        run.finished_at = work.now


@handler("automation_tick")
def _tick(work: Work, reminder: Reminder) -> None:
    """A schedule's time came: start its run and schedule the next tick."""
    automation = work.session.get(Automation, int(reminder.payload["automation_id"]))
    if automation is None or not automation.enabled or automation.event != "schedule":
        return
    spec = service.spec(work, automation)
    if spec.trigger["cron"] != reminder.payload["cron"]:
        return  # the schedule changed; its new tick is already arranged
    runs.start_run(
        work,
        automation.id,
        automation.current_version,
        "schedule",
        event={"due": reminder.due_at.isoformat(), "late": reminder.late},
    )
    timing.schedule_tick(work, automation.id, spec.trigger["cron"], max(work.now, reminder.due_at))


@handler("automation_date")
def _date(work: Work, reminder: Reminder) -> None:
    """A record's date came: start a run if the record and its date still say so."""
    automation = work.session.get(Automation, int(reminder.payload["automation_id"]))
    if automation is None or not automation.enabled or automation.event != "date_field":
        return
    spec = service.spec(work, automation)
    record = work.session.get(Record, int(reminder.payload["record_id"]))
    if record is None or record.deleted_at is not None or automation.form_id is None:
        return
    loaded = get_form_by_id(work, automation.form_id)
    values = from_document(loaded.spec, record.data)
    due = timing.date_due(values.get(spec.trigger["field"]), spec.trigger, loaded.spec.timezone)
    if due is None or abs((due - reminder.due_at).total_seconds()) >= 1:
        return  # the date moved; its reminder was moved with it
    runs.start_run(
        work,
        automation.id,
        automation.current_version,
        "date_field",
        record_id=record.id,
        event={
            "field": spec.trigger["field"],
            "due": reminder.due_at.isoformat(),
            "late": reminder.late,
            "check_condition": True,
        },
    )


def _finish(
    work: Work, run: AutomationRun, state: RunState, started: float, *, error: str | None = None
) -> None:
    run.state = state.value
    run.error = error
    run.finished_at = work.now
    run.duration_ms = round((time.perf_counter() - started) * 1000)


def _record_of(
    work: Work, automation: Automation, run: AutomationRun
) -> tuple[LoadedForm | None, dict[str, Any] | None]:
    if automation.form_id is None:
        return None, None
    loaded = get_form_by_id(work, automation.form_id)
    if run.record_id is None:
        return loaded, None
    record = work.session.get(Record, run.record_id)
    if record is None:
        return loaded, None
    if record.deleted_at is not None and run.trigger != "record_deleted":
        return loaded, None
    return loaded, dict(from_document(loaded.spec, record.data))


def _document(work: Work, run: AutomationRun) -> dict[str, Any]:
    record = work.session.get(Record, run.record_id) if run.record_id is not None else None
    return dict(record.data) if record is not None else {}


def _record_owner(work: Work, run: AutomationRun) -> int | None:
    if run.record_id is None:
        return None
    record = work.session.get(Record, run.record_id)
    return record.owner_id if record is not None else None


def _owner(work: Work, automation: Automation) -> Any:
    from ..people.models import User

    if automation.owner_id is None:
        return None
    return work.session.get(User, automation.owner_id)


def _words(error: BaseException) -> str:
    if isinstance(error, FormflowError):
        return "; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in error.errors)
    return f"{type(error).__name__}: {error}"
