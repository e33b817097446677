"""What must hold in the database after a load run, faults or not (issue 10).

Each check reads the database as it stands and returns the problems it found, as sentences
naming the rows, so a report says exactly what broke. Only what happened since ``since``
(and records after ``first_record``) is judged: bulk-loaded history has no flows, runs or
revisions to check.

* **flows** — a finished instance has no open task (a *dangling* task) and no active node;
  a running one waits on someone (each active node has a pending task, each pending task
  is at an active node); an instance finished at most once; each node of each round was
  entered once (an *advanced twice* instance opens a node twice, or acts twice), an
  ``any`` node approved by at most one person, a task acted on at most once; one live
  instance of a flow per record.
* **reminders** — nothing that fell due is still waiting once the system has drained
  (*lost*), nothing failed; every automation run finished; a trigger fired one run per
  record and event (*twice* otherwise); no person has more notifications about a record
  than the runs' logs say they sent (a run's effect delivered twice); with a
  mail folder, every email sent exactly once (its ``Message-ID`` is stable per reminder).
* **revisions** — every record created has revisions 1…n, every record changed has the
  revision it is at.
"""

from __future__ import annotations

import datetime as dt
import email
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, select

from formflow.automations.models import AutomationRun, RunState
from formflow.flows.models import (
    FINISHED,
    OPEN_TASKS,
    FlowEvent,
    FlowInstance,
    FlowTask,
    InstanceState,
    TaskState,
)
from formflow.mail.kinds import message_id
from formflow.notifications.models import Notification
from formflow.records.models import Record, Revision
from formflow.reminders.models import Reminder, ReminderState
from formflow.runtime import Runtime

#: Problems listed per check (the count is always complete).
SHOWN = 20


def _cap(problems: list[str]) -> dict[str, Any]:
    return {"count": len(problems), "examples": problems[:SHOWN]}


def check_flows(runtime: Runtime, since: dt.datetime) -> dict[str, dict[str, Any]]:
    finished = {state.value for state in FINISHED}
    dangling: list[str] = []
    stuck: list[str] = []
    twice: list[str] = []
    with runtime.read() as work:
        session = work.session
        instances = {
            row.id: row
            for row in session.execute(
                select(
                    FlowInstance.id,
                    FlowInstance.flow_id,
                    FlowInstance.record_id,
                    FlowInstance.state,
                    FlowInstance.position,
                    FlowInstance.finished_at,
                ).where(FlowInstance.started_at >= since)
            )
        }
        ids = list(instances)
        tasks: dict[int, list[Any]] = {i: [] for i in ids}
        events: dict[int, list[Any]] = {i: [] for i in ids}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            for task in session.execute(
                select(
                    FlowTask.id,
                    FlowTask.instance_id,
                    FlowTask.node_id,
                    FlowTask.round,
                    FlowTask.state,
                    FlowTask.assignee_id,
                ).where(FlowTask.instance_id.in_(chunk))
            ):
                tasks[task.instance_id].append(task)
            for event in session.execute(
                select(
                    FlowEvent.instance_id, FlowEvent.task_id, FlowEvent.node_id, FlowEvent.action
                ).where(FlowEvent.instance_id.in_(chunk))
            ):
                events[event.instance_id].append(event)
    live: Counter[tuple[int, int]] = Counter()
    for instance_id, instance in instances.items():
        mine, history = tasks[instance_id], events[instance_id]
        open_tasks = [t for t in mine if t.state in OPEN_TASKS]
        active = list((instance.position or {}).get("active", []))
        ends = sum(1 for e in history if e.action == "finished")
        if instance.state in finished:
            if open_tasks:
                dangling.append(
                    f"instance #{instance_id} is {instance.state} but task(s) "
                    + ", ".join(f"#{t.id} ({t.node_id}, {t.state})" for t in open_tasks)
                    + " are still open"
                )
            if active:
                dangling.append(f"instance #{instance_id} is {instance.state} at nodes {active}")
            if ends != 1:
                twice.append(f"instance #{instance_id} finished {ends} times")
        else:
            if ends:
                twice.append(f"instance #{instance_id} is {instance.state} after finishing")
            if instance.state == InstanceState.RUNNING:
                if not active:
                    stuck.append(f"instance #{instance_id} runs with no active node")
                for node in active:
                    latest = max((t.round for t in mine if t.node_id == node), default=None)
                    if not any(
                        t.node_id == node and t.round == latest and t.state == TaskState.PENDING
                        for t in mine
                    ):
                        stuck.append(
                            f"instance #{instance_id} waits at '{node}' with no pending task"
                        )
            for task in open_tasks:
                if task.state == TaskState.PENDING and task.node_id not in active:
                    dangling.append(
                        f"task #{task.id} of instance #{instance_id} is pending at "
                        f"'{task.node_id}', which is not active"
                    )
        if instance.state not in (InstanceState.REJECTED, InstanceState.WITHDRAWN):
            live[(instance.flow_id, instance.record_id)] += 1
        # each node of each round entered once; an ``any`` node decided by one person
        rounds: dict[str, set[int]] = {}
        for task in mine:
            if task.state != TaskState.CC:
                rounds.setdefault(task.node_id, set()).add(task.round)
        entered = Counter(
            e.node_id for e in history if e.action == "assigned" and e.task_id is None
        )
        for node, count in entered.items():
            if count > len(rounds.get(node, ())):
                twice.append(
                    f"instance #{instance_id} entered '{node}' {count} times in "
                    f"{len(rounds.get(node, ()))} round(s)"
                )
        again = 1 + sum(1 for e in history if e.action in ("returned", "resubmitted"))
        for node, count in Counter(e.node_id for e in history if e.action == "acted").items():
            if count > again:
                twice.append(f"instance #{instance_id} ran action node '{node}' {count} times")
        decisions = Counter(
            e.task_id for e in history if e.task_id is not None and e.action == "approved"
        )
        for task_id, count in decisions.items():
            if count > 1:
                twice.append(f"task #{task_id} of instance #{instance_id} approved {count} times")
        approved = Counter(
            (t.node_id, t.round, t.assignee_id) for t in mine if t.state == TaskState.APPROVED
        )
        for (node, round_, person), count in approved.items():
            if count > 1:
                twice.append(
                    f"instance #{instance_id}: '{node}' round {round_} approved {count} times "
                    f"by user #{person}"
                )
    for (flow_id, record_id), count in live.items():
        if count > 1:
            twice.append(f"record #{record_id} has {count} live instances of flow #{flow_id}")
    return {
        "instances": {"count": len(instances)},
        "dangling_tasks": _cap(dangling),
        "stuck_instances": _cap(stuck),
        "advanced_twice": _cap(twice),
    }


def check_reminders(
    runtime: Runtime,
    since: dt.datetime,
    *,
    settled_at: dt.datetime | None = None,
    mail_folder: Path | None = None,
) -> dict[str, dict[str, Any]]:
    """``settled_at``: when the system was left to drain; whatever fell due before it must
    be delivered by now."""
    with runtime.read() as work:
        session = work.session
        settled = settled_at or work.now
        waiting = session.execute(
            select(Reminder.id, Reminder.kind, Reminder.key, Reminder.state, Reminder.due_at).where(
                Reminder.created_at >= since,
                Reminder.state.in_([ReminderState.PENDING.value, ReminderState.QUEUED.value]),
                Reminder.due_at <= settled,
            )
        ).all()
        failed = session.execute(
            select(Reminder.id, Reminder.kind, Reminder.error).where(
                Reminder.created_at >= since, Reminder.state == ReminderState.FAILED.value
            )
        ).all()
        runs = session.execute(
            select(
                AutomationRun.id,
                AutomationRun.automation_id,
                AutomationRun.record_id,
                AutomationRun.trigger,
                AutomationRun.event,
                AutomationRun.state,
            ).where(AutomationRun.created_at >= since)
        ).all()
        notes = session.execute(
            select(Notification.user_id, Notification.link, func.count())
            .where(Notification.created_at >= since, Notification.link.is_not(None))
            .group_by(Notification.user_id, Notification.link)
        ).all()
        done_runs = session.execute(
            select(AutomationRun.record_id, AutomationRun.log).where(
                AutomationRun.created_at >= since,
                AutomationRun.state == RunState.DONE.value,
                AutomationRun.record_id.is_not(None),
            )
        ).all()
        emails = session.execute(
            select(Reminder).where(
                Reminder.created_at >= since,
                Reminder.kind == "email",
                Reminder.state == ReminderState.DONE.value,
            )
        ).scalars()
        expected_mail = {message_id(r): r.id for r in emails}
    lost = [
        f"reminder #{r.id} ({r.kind}, {r.key}) due {r.due_at:%H:%M:%S} is still {r.state}"
        for r in waiting
    ]
    failures = [f"reminder #{r.id} ({r.kind}) failed: {r.error}" for r in failed]
    unfinished = [
        f"automation run #{r.id} is {r.state}"
        for r in runs
        if r.state not in (RunState.DONE, RunState.SKIPPED)
    ]
    # an update may fire again on the next update; a creation, a finished instance or a
    # date falling due fire once
    fired = Counter(
        (r.automation_id, r.record_id, r.trigger, (r.event or {}).get("due"))
        for r in runs
        if r.trigger in ("record_created", "flow_finished", "date_field")
    )
    twice = [
        f"automation #{automation} ran {count} times for record #{record} ({trigger}"
        + (f", due {due}" if due else "")
        + ")"
        for (automation, record, trigger, due), count in fired.items()
        if count > 1
    ]
    # each inbox notification a run put there is in its log; more in an inbox than the
    # runs say they sent is a run's effect delivered twice
    told: Counter[tuple[int, int]] = Counter()
    for record_id, entries in done_runs:
        for entry in entries or []:
            if entry.get("type") == "notify":
                for person in (entry.get("result") or {}).get("notified", []):
                    told[(person, record_id)] += 1
    for user, link, count in notes:
        tail = link.rsplit("/", 1)[-1]
        expected = told.get((user, int(tail)), 0) if tail.isdigit() else 0
        if expected and count > expected:
            twice.append(
                f"user #{user} got {count} notifications about {link}; its runs sent {expected}"
            )
    result = {
        "lost": _cap(lost),
        "failed": _cap(failures),
        "runs_unfinished": _cap(unfinished),
        "delivered_twice": _cap(twice),
        "runs": {"count": len(runs)},
    }
    if mail_folder is not None:
        sent: Counter[str] = Counter()
        for path in mail_folder.glob("*.eml"):
            with path.open("rb") as handle:
                sent[email.message_from_binary_file(handle)["Message-ID"]] += 1
        result["emails_lost"] = _cap(
            [
                f"email of reminder #{i} was never received"
                for m, i in expected_mail.items()
                if not sent[m]
            ]
        )
        result["emails_twice"] = _cap(
            [
                f"email of reminder #{i} was received {sent[m]} times"
                for m, i in expected_mail.items()
                if sent[m] > 1
            ]
        )
        result["emails"] = {"count": len(expected_mail)}
    return result


def check_revisions(runtime: Runtime, since: dt.datetime, first_record: int) -> dict[str, Any]:
    """Records created (id ≥ ``first_record``) have revisions 1…n; records changed since
    ``since`` have the revision they are at."""
    problems: list[str] = []
    with runtime.read() as work:
        counts = (
            select(
                Revision.record_id,
                func.count().label("n"),
                func.max(Revision.revision).label("last"),
            )
            .group_by(Revision.record_id)
            .subquery()
        )
        created = work.session.execute(
            select(Record.id, Record.revision, counts.c.n, counts.c.last)
            .outerjoin(counts, counts.c.record_id == Record.id)
            .where(Record.id >= first_record)
        ).all()
        changed = work.session.execute(
            select(Record.id, Record.revision)
            .outerjoin(
                Revision,
                and_(Revision.record_id == Record.id, Revision.revision == Record.revision),
            )
            .where(
                Record.id < first_record,
                Record.updated_at >= since,
                Record.revision > 1,  # bulk-loaded history has no revision rows
                Revision.id.is_(None),
            )
        ).all()
    for record_id, revision, n, last in created:
        if n != revision or last != revision:
            problems.append(
                f"record #{record_id} is at revision {revision} with {n or 0} revision rows"
            )
    for record_id, revision in changed:
        problems.append(f"record #{record_id} changed to revision {revision} without its row")
    return {
        "records_created": {"count": len(created)},
        "missing_revisions": _cap(problems),
    }


def check_all(
    runtime: Runtime,
    since: dt.datetime,
    first_record: int,
    *,
    settled_at: dt.datetime | None = None,
    mail_folder: Path | None = None,
) -> dict[str, Any]:
    """Every check; ``ok`` when none found a problem."""
    result = {
        "flows": check_flows(runtime, since),
        "reminders": check_reminders(
            runtime, since, settled_at=settled_at, mail_folder=mail_folder
        ),
        "revisions": check_revisions(runtime, since, first_record),
    }
    result["ok"] = not any(
        entry.get("examples")
        for group in result.values()
        if isinstance(group, dict)
        for entry in group.values()
    )
    return result
