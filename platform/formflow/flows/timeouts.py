"""A step's timeout policy, carried out through durable reminders.

When a task is waiting, its due times (``remind_at``, ``escalate_at``, ``auto_at``) become
reminder rows keyed by the task; when one comes due and the task still waits, the reminder
reminds the approver, escalates (adds the step's escalation people as approvers beside
them, and tells them) or decides for them (approve, or return to the submitter). A task
decided before its time leaves its reminders with nothing to do.
"""

from __future__ import annotations

from sqlalchemy import select

from ..notifications.service import notify
from ..notifications.wording import N_, language_of, said
from ..reminders.delivery import handler
from ..reminders.models import Reminder
from ..reminders.service import schedule
from ..runtime import Work
from . import approvers
from .models import Flow, FlowInstance, FlowTask, TaskState

WHATS = ("remind", "escalate", "auto")


def schedule_for(work: Work, instance_id: int) -> int:
    """Reminders for every waiting task of the instance that has due times; how many new."""
    work.session.flush()
    tasks = work.session.scalars(
        select(FlowTask).where(
            FlowTask.instance_id == instance_id, FlowTask.state == TaskState.PENDING.value
        )
    )
    made = 0
    for task in tasks:
        for what, due in (
            ("remind", task.remind_at),
            ("escalate", task.escalate_at),
            ("auto", task.auto_at),
        ):
            if due is not None and schedule(
                work, "flow_timeout", f"task:{task.id}:{what}", due, {"task": task.id, "what": what}
            ):
                made += 1
    return made


@handler("flow_timeout")
def _timeout(work: Work, reminder: Reminder) -> None:
    from . import actions
    from .actions import _spec  # the instance's pinned version

    task = work.session.get(FlowTask, int(reminder.payload["task"]))
    if task is None or task.state != TaskState.PENDING:
        return  # decided (or gone) before its time
    instance = work.session.get(FlowInstance, task.instance_id)
    flow = _spec(work, instance)
    title = work.session.get(Flow, instance.flow_id).title
    node = flow.nodes[task.node_id]
    what = reminder.payload["what"]

    def tell(person: int, message: str, link: str) -> None:
        notify(work, person, said(language_of(work, person), message, flow=title), None, link)

    if what == "remind":
        tell(
            task.assignee_id,
            N_("Waiting for your approval: %(flow)s"),
            f"/approvals/tasks/{task.id}",
        )
        actions.record_timeout(work, task, "reminded", people=[task.assignee_id])
    elif what == "escalate":
        rules = node.get("timeout", {}).get("escalate_to", [])
        people = approvers.resolve(work, rules, instance.initiator_id, {})
        for person in actions.escalate(work, task, people):
            tell(person, N_("Escalated to you: %(flow)s"), "/approvals/")
    elif what == "auto":
        action = node.get("timeout", {}).get("auto_action", "approve")
        actions.decide_on_timeout(work, task, action)
        message = (
            N_("Approved automatically after the time limit: %(flow)s")
            if action == "approve"
            else N_("Returned automatically after the time limit: %(flow)s")
        )
        tell(task.assignee_id, message, f"/approvals/instances/{instance.id}")
