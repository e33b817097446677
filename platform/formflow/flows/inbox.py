"""What a person sees of flows: their pending tasks, what they handled, copies sent to them,
the approvals they started — newest first, a page at a time — and one instance in full.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import and_, func, select

from ..definitions.models import App, Form
from ..runtime import Work
from .actions import can_see
from .models import Flow, FlowEvent, FlowInstance, FlowTask, TaskState


class Box(enum.StrEnum):
    PENDING = "pending"
    HANDLED = "handled"
    CC = "cc"


HANDLED_STATES = (
    TaskState.APPROVED.value,
    TaskState.REJECTED.value,
    TaskState.RETURNED.value,
    TaskState.TRANSFERRED.value,
)
_BOX_STATES = {
    Box.PENDING: (TaskState.PENDING.value,),
    Box.HANDLED: HANDLED_STATES,
    Box.CC: (TaskState.CC.value,),
}


@dataclass(frozen=True)
class TaskItem:
    task: FlowTask
    instance: FlowInstance
    flow_name: str
    flow_title: str
    form_name: str


def tasks(
    work: Work,
    box: Box,
    *,
    form: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[TaskItem]:
    """The acting user's tasks in ``box``, newest first, ids below ``before``."""
    query = (
        select(FlowTask, FlowInstance, Flow.name, Flow.title, App.name, Form.name)
        .join(FlowInstance, FlowInstance.id == FlowTask.instance_id)
        .join(Flow, Flow.id == FlowInstance.flow_id)
        .join(Form, Form.id == FlowInstance.form_id)
        .join(App, App.id == Form.app_id)
        .where(FlowTask.assignee_id == work.actor_id, FlowTask.state.in_(_BOX_STATES[box]))
        .order_by(FlowTask.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(FlowTask.id < before)
    if form:
        app, _, name = form.partition(".")
        query = query.where(and_(App.name == app, Form.name == name))
    return [
        TaskItem(task, instance, flow, title, f"{app}.{name}")
        for task, instance, flow, title, app, name in work.session.execute(query)
    ]


def counts(work: Work) -> dict[str, int]:
    """How many tasks the acting user has in each box (the badge on every page)."""
    rows = work.session.execute(
        select(FlowTask.state, func.count())
        .where(FlowTask.assignee_id == work.actor_id)
        .group_by(FlowTask.state)
    )
    by_state = dict(rows.all())
    return {box.value: sum(by_state.get(s, 0) for s in _BOX_STATES[box]) for box in Box}


def started(
    work: Work, *, before: int | None = None, limit: int = 50
) -> list[tuple[FlowInstance, str]]:
    """Approvals the acting user started, newest first, with their flow's name."""
    query = (
        select(FlowInstance, Flow.name)
        .join(Flow, Flow.id == FlowInstance.flow_id)
        .where(FlowInstance.initiator_id == work.actor_id)
        .order_by(FlowInstance.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(FlowInstance.id < before)
    return [(row[0], row[1]) for row in work.session.execute(query)]


@dataclass(frozen=True)
class InstanceView:
    instance: FlowInstance
    flow: Flow
    form_name: str
    tasks: list[FlowTask]
    events: list[FlowEvent]


def instance_view(work: Work, instance_id: int) -> InstanceView | None:
    """One instance with its tasks and history, if the acting user may see it."""
    instance = work.session.get(FlowInstance, instance_id)
    if instance is None or not can_see(work, instance):
        return None
    flow = work.session.get(Flow, instance.flow_id)
    assert flow is not None
    form = work.session.execute(
        select(App.name, Form.name)
        .join(Form, Form.app_id == App.id)
        .where(Form.id == instance.form_id)
    ).one()
    tasks_ = list(
        work.session.scalars(
            select(FlowTask).where(FlowTask.instance_id == instance.id).order_by(FlowTask.id)
        )
    )
    events = list(
        work.session.scalars(
            select(FlowEvent).where(FlowEvent.instance_id == instance.id).order_by(FlowEvent.id)
        )
    )
    return InstanceView(instance, flow, f"{form[0]}.{form[1]}", tasks_, events)


def instances_of_record(work: Work, record_id: int) -> list[FlowInstance]:
    return list(
        work.session.scalars(
            select(FlowInstance)
            .where(FlowInstance.record_id == record_id)
            .order_by(FlowInstance.id)
        )
    )


def hidden_for_viewer(work: Work, view: InstanceView) -> set[str]:
    """Field keys whose values the acting user may not see in this instance's history: an
    approver sees what their steps show (a node's ``hidden`` fields stay hidden), anyone
    else what their permissions on the record show."""
    from ..definitions.service import get_form_by_id
    from ..records.service import hidden_fields
    from .service import spec

    loaded = get_form_by_id(work, view.instance.form_id)
    if work.actor is not None and work.actor.is_admin:
        return set()
    mine = {t.node_id for t in view.tasks if t.assignee_id == work.actor_id}
    if mine:
        nodes = spec(work, view.flow, view.instance.version).nodes
        return {
            key
            for node_id in mine
            for key, level in nodes[node_id].get("fields", {}).items()
            if level == "hidden"
        }
    return hidden_fields(work, loaded, [view.instance.record_id])[view.instance.record_id]
